//! Server configuration. Defaults are the real values; the CLI layers a TOML file,
//! `TONGGUAN_*` environment variables and flags over them (see `tongguan.example.toml`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Directory for the embedded SQLite database and other state.
    pub data_dir: String,
    /// `postgres://…` to use PostgreSQL; empty for SQLite in `data_dir`.
    pub database_url: String,
    /// Seed the demo data set at start (idempotent).
    pub demo: bool,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Browser session lifetime in hours.
    pub session_hours: i64,
    pub password: PasswordConfig,
    pub store: StoreConfig,
    pub clearance: ClearanceConfig,
    pub taxes: TaxConfig,
    pub webhooks: WebhookConfig,
    pub nats: NatsConfig,
    pub origin: OriginConfig,
    /// `production` (the default) or `development`: only a development server lets its
    /// clock be set (`[clock]`, `PUT /api/v1/admin/clock`).
    pub mode: RunMode,
    /// The server's clock: the system clock unless set (development mode only).
    pub clock: ClockConfig,
}

/// What the server is run for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Real clearance: the clock is the system's, nothing may move it.
    #[default]
    Production,
    /// Tests, training and demonstrations: the clock may be set, so deadlines, late fees
    /// and historical due dates can be exercised through the API.
    Development,
}

/// A set clock (development mode only), so a statement's late-payment fee, an overdue
/// complete declaration's late-declaration fee and past due dates can be tried without
/// waiting for them. At most one of the two.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockConfig {
    /// The clock stands still at this instant (RFC 3339, e.g. `2027-01-11T09:00:00+08:00`);
    /// background retries wait until it is moved.
    pub fixed_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The clock runs at the system's rate, this many seconds ahead (negative: behind).
    pub offset_seconds: i64,
}

/// Certificates of origin (M11).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OriginConfig {
    /// The party this installation issues certificates for (ISO alpha-3).
    pub home_party: String,
    /// A proof of origin is valid for one year from the date of issue (RCEP Art. 3.16).
    pub certificate_validity_days: i64,
    /// RCEP Chapter 3 figures: de minimis (Art. 3.7) and the minimal operations (Art. 3.6).
    pub general: tongguan_origin::GeneralRules,
}

impl Default for OriginConfig {
    fn default() -> Self {
        Self {
            home_party: "CHN".into(),
            certificate_validity_days: 365,
            general: Default::default(),
        }
    }
}

/// Webhook delivery (M15), following the Standard Webhooks specification
/// (https://www.standardwebhooks.com, spec v1): at least once, retried with exponential
/// backoff and jitter for about three days, then the endpoint is disabled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Run the delivery worker in this process (one per database).
    pub enabled: bool,
    /// A receiver answering slower than this counts as failed (Standard Webhooks advises
    /// short timeouts; 15 s as common providers use).
    pub timeout_ms: u64,
    /// Delay before the first retry; each further retry doubles it.
    pub retry_initial_ms: u64,
    /// The longest delay between two attempts.
    pub retry_max_interval_ms: u64,
    /// Give a delivery up (and disable its endpoint) when its next attempt would fall later
    /// than this after it was scheduled (fan-out, redelivery or recovery): 72 h, "about
    /// three days".
    pub give_up_after_ms: u64,
    /// Each delay is spread by up to this fraction either way, so retries of many
    /// endpoints do not arrive in waves.
    pub jitter: f64,
    /// Most requests in flight at once.
    pub max_in_flight: usize,
    /// After a secret rotation the old secret keeps signing this long, so receivers can
    /// switch without losing messages.
    pub rotation_grace_hours: i64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            timeout_ms: 15_000,
            retry_initial_ms: 5_000,
            retry_max_interval_ms: 6 * 3_600_000,
            give_up_after_ms: 72 * 3_600_000,
            jitter: 0.2,
            max_in_flight: 64,
            rotation_grace_hours: 24,
        }
    }
}

/// Optional publication of the outbox to NATS JetStream (M15).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsConfig {
    /// Off unless set: a customs site may not run NATS.
    pub enabled: bool,
    /// e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// The JetStream stream, created when missing over `{subject_prefix}.>`.
    pub stream: String,
    /// Messages are published to `{subject_prefix}.{type}`, e.g.
    /// `tongguan.declaration.status`.
    pub subject_prefix: String,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            url: "nats://127.0.0.1:4222".into(),
            stream: "TONGGUAN".into(),
            subject_prefix: "tongguan".into(),
        }
    }
}

/// Tax rules (M1 汇总征税), with the real values as defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaxConfig {
    /// Waiver threshold, insurance when unknown, origins taxed at the general rate.
    pub rules: tongguan_tax::compute::TaxRules,
    /// Consolidated tax: a month's statement is due by the end of this working day of the
    /// next month (Customs Tariff Law 2024 Art. 43 "次月第五个工作日结束前").
    pub statement_due_working_day: u32,
    /// Late-payment surcharge (滞纳金) per day on unpaid tax: 0.05 % (Tariff Law Art. 43).
    #[serde(with = "rust_decimal::serde::str")]
    pub late_payment_rate_per_day: rust_decimal::Decimal,
    /// A statement's late-payment surcharge below this amount in CNY is not levied
    /// (滞纳金起征额 50 元; RULES.md §5, a secondary source: the surcharge "< CNY 50 waived").
    #[serde(with = "rust_decimal::serde::str")]
    pub late_payment_fee_minimum_cny: rust_decimal::Decimal,
    /// Officers are warned of a year's missing holiday notice this many days before the
    /// year begins: a December statement falls due in January, and the State Council
    /// publishes the next year's notice in November or December (2026's on 2025-11-04).
    pub calendar_warning_days: i64,
}

impl Default for TaxConfig {
    fn default() -> Self {
        Self {
            rules: Default::default(),
            statement_due_working_day: 5,
            late_payment_rate_per_day: rust_decimal::Decimal::new(5, 4),
            late_payment_fee_minimum_cny: rust_decimal::Decimal::new(50, 0),
            calendar_warning_days: 62,
        }
    }
}

/// Rules of the clearance modes (M1), with the real values as defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClearanceConfig {
    /// Export advance declaration: at most this many days before the goods arrive at the
    /// supervised area (GACC Ann. 2014 No. 74; RULES.md §3).
    pub export_advance_days: i64,
    /// Two-step: the complete declaration is due this many days after the transport means'
    /// declared arrival (Ann. 2019 No. 127; Customs Law Art. 24; RULES.md §2).
    pub complete_declaration_days: i64,
    /// Late-declaration fee (滞报金) per day: 0.5‰ of the customs value (Order 273; RULES.md §5).
    #[serde(with = "rust_decimal::serde::str")]
    pub late_declaration_fee_per_day: rust_decimal::Decimal,
    /// The late-declaration fee is not levied below this amount in CNY (Order 273).
    #[serde(with = "rust_decimal::serde::str")]
    pub late_declaration_fee_minimum_cny: rust_decimal::Decimal,
    /// Declaration form limits (50 items, total tolerance).
    pub declaration: tongguan_domain::declaration::DeclarationRules,
    /// Random selection by credit level (M16).
    pub random_selection: tongguan_risk::RandomPolicy,
    /// Seed of the deterministic risk draws; change it to re-draw.
    pub risk_seed: u64,
}

impl Default for ClearanceConfig {
    fn default() -> Self {
        Self {
            export_advance_days: 3,
            complete_declaration_days: 14,
            late_declaration_fee_per_day: rust_decimal::Decimal::new(5, 4),
            late_declaration_fee_minimum_cny: rust_decimal::Decimal::new(50, 0),
            declaration: Default::default(),
            random_selection: Default::default(),
            risk_seed: 0x7467_7561_6e5f_7269,
        }
    }
}

/// Argon2id cost. Defaults: OWASP Password Storage Cheat Sheet (2023+) minimum for
/// argon2id, m=19 MiB, t=2, p=1.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Minimum password length (NIST SP 800-63B §5.1.1.2: at least 8).
    pub min_length: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Most changesets per group commit.
    pub max_batch: usize,
    /// SQLite: fsync at every commit (true) or only at checkpoints.
    pub sqlite_synchronous_full: bool,
    pub readers: usize,
    /// SQLite: WAL size in bytes past which it is started over (the file keeps up to four
    /// times this while the server runs).
    pub sqlite_wal_limit_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: "./tongguan-data".into(),
            database_url: String::new(),
            demo: false,
            max_body_bytes: 2 * 1024 * 1024,
            session_hours: 12,
            password: PasswordConfig::default(),
            store: StoreConfig::default(),
            clearance: ClearanceConfig::default(),
            taxes: TaxConfig::default(),
            webhooks: WebhookConfig::default(),
            nats: NatsConfig::default(),
            origin: OriginConfig::default(),
            mode: RunMode::default(),
            clock: ClockConfig::default(),
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            min_length: 8,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        let d = tongguan_store::StoreOptions::default();
        Self {
            max_batch: d.max_batch,
            sqlite_synchronous_full: d.sqlite_synchronous_full,
            readers: d.readers,
            sqlite_wal_limit_bytes: d.sqlite_wal_limit_bytes,
        }
    }
}

impl Config {
    /// The database URL in use: the configured one, or SQLite inside `data_dir`.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite://{}",
                std::path::Path::new(&self.data_dir)
                    .join("tongguan.sqlite3")
                    .display()
            )
        } else {
            self.database_url.clone()
        }
    }

    pub fn store_options(&self) -> tongguan_store::StoreOptions {
        tongguan_store::StoreOptions {
            max_batch: self.store.max_batch.max(1),
            sqlite_synchronous_full: self.store.sqlite_synchronous_full,
            readers: self.store.readers.max(1),
            sqlite_wal_limit_bytes: self.store.sqlite_wal_limit_bytes,
            ..Default::default()
        }
    }
}
