//! Test kit: starts the real Tongguan server on port 0 with a fresh database — SQLite in a
//! temporary directory, or a fresh PostgreSQL schema when `TONGGUAN_TEST_DATABASE_URL` is
//! set and the test asks for it — and hands out typed clients for each role.
#![forbid(unsafe_code)]

pub mod receiver;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use tongguan_api::{Enterprise, NewEnterpriseInput, NewUser};
use tongguan_client::Client;
use tongguan_domain::identity::system_actor;
use tongguan_server::Application;
use tongguan_server::app::{App, Clock, Ctx, SystemClock};
use tongguan_server::config::{Config, PasswordConfig};
use tongguan_store::{Store, StoreOptions};
use uuid::Uuid;

/// Which database a test runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres(String),
}

/// The PostgreSQL URL for storage tests, when CI (or you) set one.
pub fn postgres_url() -> Option<String> {
    std::env::var("TONGGUAN_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// Runs `$scenario(db)` as two tests: `<name>_sqlite` always and `<name>_postgres` when
/// `TONGGUAN_TEST_DATABASE_URL` is set (it passes, saying so, when not).
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident => $scenario:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario($crate::Db::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $crate::postgres_url() {
                        Some(url) => super::$scenario($crate::Db::Postgres(url)).await,
                        None => eprintln!("TONGGUAN_TEST_DATABASE_URL not set: PostgreSQL run skipped"),
                    }
                }
            }
        )*
    };
}

/// A clock tests can set.
#[derive(Debug)]
pub struct TestClock(Mutex<Option<DateTime<Utc>>>);

impl TestClock {
    pub fn set(&self, t: DateTime<Utc>) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(t);
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .lock()
            .ok()
            .and_then(|g| *g)
            .unwrap_or_else(|| SystemClock.now())
    }
}

/// A running server for one test.
pub struct TestApp {
    pub app: Arc<App>,
    pub base: String,
    pub db: Db,
    pub clock: Arc<TestClock>,
    /// Unauthenticated client.
    pub client: Client,
    admin_token: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Database URL (SQLite path or PostgreSQL) and schema, to reopen the same data.
    pub database_url: String,
    pub schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

/// Configuration for tests: cheap password hashing so suites stay fast, and no random
/// selection at the base rate (declaration ids are random, so a 2% draw would make tests
/// flaky); the credit-level floors (dishonest 80%, seriously dishonest 100%) still apply.
pub fn test_config() -> Config {
    let mut clearance = tongguan_server::config::ClearanceConfig::default();
    clearance.random_selection.base_rate = rust_decimal::Decimal::ZERO;
    // Retries in milliseconds, not seconds, and without jitter, so tests see them.
    let webhooks = tongguan_server::config::WebhookConfig {
        retry_initial_ms: 50,
        retry_max_interval_ms: 200,
        jitter: 0.0,
        timeout_ms: 5_000,
        ..Default::default()
    };
    Config {
        clearance,
        webhooks,
        listen: "127.0.0.1:0".into(),
        password: PasswordConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            min_length: 8,
        },
        ..Config::default()
    }
}

pub async fn open_store(db: &Db, dir: &std::path::Path, schema: &str) -> (Store, String) {
    match db {
        Db::Sqlite => {
            let url = format!("sqlite://{}", dir.join("tongguan.sqlite3").display());
            (
                Store::open(&url, StoreOptions::default())
                    .await
                    .expect("open sqlite"),
                url,
            )
        }
        Db::Postgres(url) => (
            Store::open_postgres_schema(url, schema, StoreOptions::default())
                .await
                .expect("open postgres schema"),
            url.clone(),
        ),
    }
}

/// A fresh, isolated schema name.
pub fn fresh_schema() -> String {
    format!("t_{}", Uuid::new_v4().simple())
}

impl TestApp {
    /// Starts a server on a fresh database and creates an admin.
    pub async fn spawn(db: Db) -> TestApp {
        Self::spawn_with(db, test_config()).await
    }

    pub async fn spawn_with(db: Db, config: Config) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let schema = fresh_schema();
        let (store, url) = open_store(&db, dir.path(), &schema).await;
        let mut t = Self::start(db.clone(), config, store, url, Some(dir)).await;
        if matches!(db, Db::Postgres(_)) {
            t.schema = Some(schema);
        }
        t
    }

    async fn start(
        db: Db,
        config: Config,
        store: Store,
        url: String,
        dir: Option<tempfile::TempDir>,
    ) -> TestApp {
        let clock = Arc::new(TestClock(Mutex::new(None)));
        let application = Application::build_with(config, store, clock.clone())
            .await
            .expect("build application");
        let base = format!("http://{}", application.addr());
        let app = application.app.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(application.run_until(async {
            let _ = rx.await;
        }));
        let ctx = Ctx {
            actor: system_actor(),
            request_id: "testkit".into(),
            idempotency: None,
        };
        let admin_token = match app
            .store
            .user_by_username("admin")
            .await
            .expect("read admin")
        {
            Some(u) => app
                .issue_token_for(&ctx, &u, "testkit")
                .await
                .expect("token"),
            None => {
                app.provision_user(
                    &ctx,
                    &NewUser {
                        username: "admin".into(),
                        display_name: "Test admin".into(),
                        password: "admin-password".into(),
                        role: "admin".into(),
                        enterprise_id: None,
                        district: None,
                        terminals: vec![],
                    },
                    "testkit",
                )
                .await
                .expect("create admin")
                .1
            }
        };
        TestApp {
            app,
            client: Client::new(&base),
            base,
            db,
            clock,
            admin_token,
            shutdown: Some(tx),
            server: Some(server),
            database_url: url,
            schema: None,
            _dir: dir,
        }
    }

    /// The admin's API token (for raw HTTP in tests).
    pub fn admin_token_for_tests(&self) -> &str {
        &self.admin_token
    }

    pub fn admin(&self) -> Client {
        self.client.with_token(&self.admin_token)
    }

    /// Sends one HTTP/1.1 request written out by hand — `head` is the request line and
    /// headers without `Host`, `Content-Length` and `Connection` — for what the typed
    /// client never sends (a missing header, a browser's `Origin`). Returns the status and
    /// the whole response text.
    pub async fn raw_http(&self, head: &str, body: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
        let req = format!(
            "{line}\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        let status = out
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, out)
    }

    /// Stops the server (committed data stays) and returns the database to reopen.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
    }

    /// Starts a new server on the same database (after [`TestApp::stop`]).
    pub async fn reopen(mut self) -> TestApp {
        self.stop().await;
        let store = match (&self.db, &self.schema) {
            (Db::Postgres(url), Some(schema)) => {
                Store::open_postgres_schema(url, schema, StoreOptions::default())
                    .await
                    .expect("reopen postgres")
            }
            _ => Store::open(&self.database_url, StoreOptions::default())
                .await
                .expect("reopen sqlite"),
        };
        let dir = self._dir.take();
        let mut t = Self::start(
            self.db.clone(),
            test_config(),
            store,
            self.database_url.clone(),
            dir,
        )
        .await;
        t.schema = self.schema.clone();
        t
    }

    /// Registers an enterprise as admin. `n` picks one of the valid demo-style codes.
    pub async fn enterprise(
        &self,
        name: &str,
        n: u32,
        credit_level: &str,
        tags: &[&str],
    ) -> Enterprise {
        self.admin()
            .create_enterprise(&NewEnterpriseInput {
                name: name.into(),
                uscc: valid_uscc(n),
                customs_code: format!("440396{n:04}"),
                credit_level: credit_level.into(),
                tags: tags.iter().map(|t| t.to_string()).collect(),
                address: None,
                contact_phone: None,
            })
            .await
            .expect("create enterprise")
    }

    /// Creates a user through the API and returns a client acting as it (logged in with
    /// its password, so sessions are exercised too).
    pub async fn user(
        &self,
        username: &str,
        role: &str,
        enterprise: Option<Uuid>,
        district: Option<&str>,
        terminals: &[&str],
    ) -> Client {
        let password = format!("{username}-password");
        self.admin()
            .create_user(&NewUser {
                username: username.into(),
                display_name: username.into(),
                password: password.clone(),
                role: role.into(),
                enterprise_id: enterprise,
                district: district.map(str::to_string),
                terminals: terminals.iter().map(|t| t.to_string()).collect(),
            })
            .await
            .expect("create user");
        let session = self.client.login(username, &password).await.expect("login");
        self.client
            .with_token(session.secret.as_deref().unwrap_or_default())
    }
}

/// A valid unified social credit code (GB 32100 and GB 11714 check characters right),
/// different for each `n` < 10000.
pub fn valid_uscc(n: u32) -> String {
    let org_body = format!("MA5G{n:04}");
    let org_check =
        tongguan_domain::codes::organisation_code_check(org_body.as_bytes()).unwrap_or('0');
    let body = format!("91440300{org_body}{org_check}");
    let check = tongguan_domain::codes::uscc_check_character(body.as_bytes()).unwrap_or('0');
    format!("{body}{check}")
}

/// The same code with a wrong final check character.
pub fn wrong_check_uscc(n: u32) -> String {
    let good = valid_uscc(n);
    let last = good.chars().last().unwrap_or('0');
    let wrong = if last == '0' { '1' } else { '0' };
    format!("{}{wrong}", &good[..17])
}
