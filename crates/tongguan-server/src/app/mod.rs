//! App services (应用服务): one module per bounded context. Each call authorises the actor,
//! loads state, asks the pure domain to decide, and commits state, audit and the call's
//! idempotency record in one changeset. The HTTP edge never touches SQL.

pub mod audit;
pub mod clearance;
pub mod clock;
pub mod demo;
pub mod enterprises;
pub mod identity;
pub mod nats;
pub mod origin;
pub mod outbox;
pub mod ports;
pub mod refdata;
pub mod taxes;
pub mod webhooks;

use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tongguan_domain::audit::AuditDraft;
use tongguan_domain::identity::Actor;
use tongguan_domain::{Violation, Violations};
use tongguan_refdata::Catalog;
use tongguan_store::{Changeset, IdempotencyRecord, Store, StoreError};
use uuid::Uuid;

use crate::config::Config;

/// Where time comes from; tests pin it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The date in China (UTC+8), which decides which rules and code lists are in force.
pub fn china_date(t: DateTime<Utc>) -> NaiveDate {
    (t + chrono::Duration::hours(8)).date_naive()
}

/// Errors of app services; the HTTP edge turns each into problem+json.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request breaks {} rule(s)", .0.0.len())]
    Invalid(Violations),
    #[error("malformed request: {0}")]
    Malformed(Violation),
    #[error("authentication required")]
    Unauthenticated,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(Violation),
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyMismatch,
    #[error("storage failure")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Violations> for AppError {
    fn from(v: Violations) -> Self {
        AppError::Invalid(v)
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// One violation as a 422.
/// A container number from a query or request field `container_no`, checked by its ISO 6346
/// check digit and normalised (upper case, no spaces).
pub fn container_no(raw: &str) -> AppResult<String> {
    tongguan_domain::codes::ContainerNumber::parse(raw)
        .map(String::from)
        .map_err(|e| invalid("container_no", &e.rule, e.message))
}

pub fn invalid(path: &str, rule: &str, message: impl Into<String>) -> AppError {
    let mut v = Violations::new();
    v.push(path, rule, message);
    AppError::Invalid(v)
}

/// The idempotency part of a mutating call.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    /// SHA-256 of method, path and body.
    pub request_hash: String,
}

/// Who is calling, and under which request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub request_id: String,
    pub idempotency: Option<IdempotencyKey>,
}

impl Ctx {
    pub fn actor_label(&self) -> String {
        format!("{} ({})", self.actor.username, self.actor.user_id)
    }
}

/// The answer of a mutating call: a status and a JSON body, stored for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// True when this is the stored answer to an earlier call with the same key.
    pub replayed: bool,
}

/// Shared state of the running product.
pub struct App {
    pub store: Store,
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    catalog: RwLock<Arc<Catalog>>,
    pub clearance: clearance::Clearance,
    pub taxes: taxes::TaxTables,
    /// Bumped after every commit: wakes the server-sent-event streams to read what is new.
    pub feed: tokio::sync::watch::Sender<u64>,
    /// Set at shutdown: open streams end so the graceful shutdown does not wait on them.
    pub stopping: std::sync::atomic::AtomicBool,
    /// Webhook subscriptions' delivery state (M15).
    pub webhooks: webhooks::Webhooks,
    /// Rules of origin in force (M11).
    pub origin: origin::OriginState,
    /// How the server's time is set (development servers only; see [`clock`]).
    pub server_clock: clock::ServerClock,
}

impl App {
    /// Opens the app over a migrated store: loads shipped reference data the store lacks and
    /// builds the in-memory catalog.
    pub async fn start(store: Store, config: Config, clock: Arc<dyn Clock>) -> AppResult<Arc<App>> {
        let setting =
            clock::ClockSetting::from_config(&config.clock).map_err(AppError::Internal)?;
        if setting != clock::ClockSetting::System
            && config.mode != crate::config::RunMode::Development
        {
            return Err(AppError::Internal(
                "[clock] is set, but only a server run with mode = \"development\" may have its clock set; remove [clock] or set mode".into(),
            ));
        }
        let app = Arc::new(App {
            server_clock: clock::ServerClock::new(setting),
            store,
            clearance: clearance::Clearance::new(config.clearance.random_selection.clone()),
            taxes: taxes::TaxTables::default(),
            feed: tokio::sync::watch::Sender::new(0),
            stopping: std::sync::atomic::AtomicBool::new(false),
            webhooks: webhooks::Webhooks::new(&config.webhooks).map_err(AppError::Internal)?,
            origin: origin::OriginState::new(config.origin.general.clone()),
            config,
            clock,
            catalog: RwLock::new(Arc::new(Catalog::build(Vec::new(), NaiveDate::MIN))),
        });
        app.load_shipped_reference_data().await?;
        app.rebuild_catalog().await?;
        app.start_clearance().await?;
        app.load_terminals().await?;
        app.start_taxes().await?;
        app.start_webhooks().await?;
        app.start_origin().await?;
        Ok(app)
    }

    /// The time every rule uses: the underlying clock, as an admin set it on a development
    /// server.
    pub fn now(&self) -> DateTime<Utc> {
        self.server_clock.setting().apply(self.clock.now())
    }

    pub fn today(&self) -> NaiveDate {
        china_date(self.now())
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        match self.catalog.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_catalog(&self, c: Catalog) {
        let c = Arc::new(c);
        match self.catalog.write() {
            Ok(mut g) => *g = c,
            Err(poisoned) => *poisoned.into_inner() = c,
        }
    }

    pub fn audit_draft(&self, ctx: &Ctx, action: &str, object: &str, reason: &str) -> AuditDraft {
        AuditDraft {
            at: self.now(),
            actor: ctx.actor_label(),
            action: action.to_string(),
            object: object.to_string(),
            reason: reason.to_string(),
            request_id: ctx.request_id.clone(),
        }
    }

    /// Replays the stored answer when this actor already used the key for the same request;
    /// refuses a reused key with another request.
    pub async fn replay(&self, ctx: &Ctx) -> AppResult<Option<Reply>> {
        let Some(idem) = &ctx.idempotency else {
            return Ok(None);
        };
        match self.store.idempotency(ctx.actor.user_id, &idem.key).await? {
            None => Ok(None),
            Some(rec) if rec.request_hash == idem.request_hash => Ok(Some(Reply {
                status: rec.status,
                body: rec.body,
                replayed: true,
            })),
            Some(_) => Err(AppError::IdempotencyMismatch),
        }
    }

    /// Commits a changeset with the call's answer, exactly once per idempotency key.
    /// `stored_body` is what a replay returns (secrets removed); `body` is returned now.
    /// Ends every open event stream (server shutdown).
    pub fn stop_feeds(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.feed.send_modify(|n| *n = n.wrapping_add(1));
        self.webhooks.nudge();
    }

    pub async fn commit_reply<T: Serialize>(
        &self,
        ctx: &Ctx,
        changeset: Changeset,
        status: u16,
        body: &T,
        stored_body: Option<String>,
    ) -> AppResult<Reply> {
        let body = serde_json::to_string(body).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut changeset = changeset;
        outbox::announce(&mut changeset.ops, self.now());
        let record = ctx.idempotency.as_ref().map(|i| IdempotencyRecord {
            actor_id: ctx.actor.user_id,
            key: i.key.clone(),
            request_hash: i.request_hash.clone(),
            status,
            body: stored_body.unwrap_or_else(|| body.clone()),
            created_at: self.now(),
        });
        match self.store.commit(changeset.with_idempotency(record)).await {
            Ok(_) => {
                self.feed.send_modify(|n| *n = n.wrapping_add(1));
                Ok(Reply {
                    status,
                    body,
                    replayed: false,
                })
            }
            // A concurrent call with the same key won the race: answer as it did.
            Err(StoreError::IdempotencyKeyUsed) => match self.replay(ctx).await? {
                Some(r) => Ok(r),
                None => Err(AppError::Internal("idempotency record vanished".into())),
            },
            Err(e) => Err(map_store_error(e)),
        }
    }
}

/// Turns unique-constraint failures into a 409 naming the field.
pub fn map_store_error(e: StoreError) -> AppError {
    match e {
        StoreError::Duplicate { constraint } => {
            let field = constraint
                .split_once('.')
                .map(|(_, c)| c.to_string())
                .unwrap_or(constraint.clone());
            AppError::Conflict(Violation {
                path: field.clone(),
                rule: format!("{field}.unique"),
                message: format!("another record already has this {field}"),
            })
        }
        StoreError::VersionMismatch { what } => AppError::Conflict(Violation {
            path: String::new(),
            rule: "version.stale".into(),
            message: format!("{what} was changed by someone else; reload and try again"),
        }),
        StoreError::NotFound { what } => AppError::NotFound(what),
        StoreError::Precondition { what } => AppError::Conflict(Violation {
            path: String::new(),
            rule: "arrival.changed".into(),
            message: format!("{what}; try again"),
        }),
        other => AppError::Store(other),
    }
}

/// New ids: UUIDv7, time-ordered.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Logs an attempt to reach another enterprise's data (answered 404 to the caller).
pub fn security_denied(ctx: &Ctx, what: &str) {
    tracing::warn!(
        target: "security",
        actor = %ctx.actor_label(),
        role = ctx.actor.role.as_str(),
        request_id = %ctx.request_id,
        object = what,
        "access outside the actor's scope refused"
    );
    metrics::counter!("tongguan_security_denied_total").increment(1);
}
