//! The server's clock (issue 19, point 7). Deadlines, late fees and which rules are in force
//! all follow `App::now`; on a development server an admin (or `[clock]`) may set it, so a
//! statement's late-payment fee or an overdue complete declaration can be tried through the
//! API without waiting for it. A production server refuses: its time is the system's.

use std::sync::RwLock;

use chrono::{DateTime, Duration, Utc};
pub use tongguan_api::{ClockInput, ClockView};
use tongguan_domain::identity::Role;
use tongguan_store::Changeset;

use super::identity::require_role;
use super::{App, AppError, AppResult, Ctx, Reply, invalid};
use crate::config::{ClockConfig, RunMode};

/// How the server's time relates to the underlying clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockSetting {
    /// The underlying clock (the system's, or a test's).
    #[default]
    System,
    /// Stands still at this instant.
    Fixed(DateTime<Utc>),
    /// The underlying clock shifted by this much.
    Offset(Duration),
}

impl ClockSetting {
    /// The setting a configuration asks for; both kinds at once are refused.
    pub fn from_config(c: &ClockConfig) -> Result<ClockSetting, String> {
        match (c.fixed_at, c.offset_seconds) {
            (None, 0) => Ok(ClockSetting::System),
            (Some(t), 0) => Ok(ClockSetting::Fixed(t.with_timezone(&Utc))),
            (None, s) => Duration::try_seconds(s)
                .map(ClockSetting::Offset)
                .ok_or_else(|| format!("[clock] offset_seconds {s} is out of range")),
            (Some(_), _) => Err("[clock] sets fixed_at or offset_seconds, not both".into()),
        }
    }

    pub fn apply(self, base: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            ClockSetting::System => base,
            ClockSetting::Fixed(t) => t,
            ClockSetting::Offset(d) => base.checked_add_signed(d).unwrap_or(base),
        }
    }

    fn name(self) -> &'static str {
        match self {
            ClockSetting::System => "system",
            ClockSetting::Fixed(_) => "fixed",
            ClockSetting::Offset(_) => "offset",
        }
    }
}

/// The setting in force, changed by an admin on a development server.
#[derive(Debug, Default)]
pub struct ServerClock(RwLock<ClockSetting>);

impl ServerClock {
    pub fn new(setting: ClockSetting) -> ServerClock {
        ServerClock(RwLock::new(setting))
    }

    pub fn setting(&self) -> ClockSetting {
        match self.0.read() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        }
    }

    fn set(&self, s: ClockSetting) {
        match self.0.write() {
            Ok(mut g) => *g = s,
            Err(p) => *p.into_inner() = s,
        }
    }
}

/// The furthest an admin may move the clock from the real one: a century either way keeps
/// every date inside what the calendars and the date checks handle.
const MAX_SHIFT_DAYS: i64 = 36_525;

impl App {
    fn clock_view(&self) -> ClockView {
        let setting = self.server_clock.setting();
        ClockView {
            now: self.now(),
            system_now: self.clock.now(),
            setting: setting.name().into(),
            fixed_at: match setting {
                ClockSetting::Fixed(t) => Some(t),
                _ => None,
            },
            offset_seconds: match setting {
                ClockSetting::Offset(d) => d.num_seconds(),
                _ => 0,
            },
            settable: self.config.mode == RunMode::Development,
        }
    }

    /// Admins (and officers, who see deadlines) read the server's time and its setting.
    pub fn server_time(&self, ctx: &Ctx) -> AppResult<ClockView> {
        require_role(ctx, &[Role::Admin, Role::Officer])?;
        Ok(self.clock_view())
    }

    /// Admin, development servers only: sets the clock (fixed, shifted or back to the
    /// system's) and rebuilds what depends on the date (reference data and rules in force).
    pub async fn set_server_time(&self, ctx: &Ctx, input: &ClockInput) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin])?;
        if self.config.mode != RunMode::Development {
            return Err(AppError::Forbidden(
                "the clock of a production server is the system's; only a server run with mode = \"development\" lets an admin set it".into(),
            ));
        }
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        let system = self.clock.now();
        let setting = match (input.fixed_at, input.offset_seconds) {
            (None, None) => ClockSetting::System,
            (Some(t), None) => {
                if (t - system).num_days().abs() > MAX_SHIFT_DAYS {
                    return Err(invalid(
                        "fixed_at",
                        "clock.range",
                        format!("at most {MAX_SHIFT_DAYS} days from the system clock"),
                    ));
                }
                ClockSetting::Fixed(t)
            }
            (None, Some(s)) => match Duration::try_seconds(s) {
                Some(d) if d.num_days().abs() <= MAX_SHIFT_DAYS => ClockSetting::Offset(d),
                _ => {
                    return Err(invalid(
                        "offset_seconds",
                        "clock.range",
                        format!("at most {MAX_SHIFT_DAYS} days either way"),
                    ));
                }
            },
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "fixed_at",
                    "clock.one_setting",
                    "give fixed_at or offset_seconds, not both (neither: back to the system clock)",
                ));
            }
        };
        let before = self.now();
        self.server_clock.set(setting);
        let after = self.now();
        let audit = self.audit_draft(
            ctx,
            "clock.set",
            "server/clock",
            &format!(
                "{} → {} ({}): {}",
                before.to_rfc3339(),
                after.to_rfc3339(),
                setting.name(),
                input.reason.trim()
            ),
        );
        let view = self.clock_view();
        let reply = self
            .commit_reply(ctx, Changeset::new(Vec::new(), audit), 200, &view, None)
            .await;
        if reply.is_err() {
            // Not recorded: the clock goes back to what it was.
            self.server_clock
                .set(ClockSetting::from_instant(before, system));
        }
        self.date_changed().await?;
        reply
    }

    /// Rebuilds what is chosen by the date in force: reference data versions, tariff
    /// versions and the rules of origin.
    pub(super) async fn date_changed(&self) -> AppResult<()> {
        self.rebuild_catalog().await?;
        self.rebuild_calendar();
        self.reload_tariff().await?;
        Ok(())
    }
}

impl ClockSetting {
    /// A setting that gives `at` now (used to undo a change that was not recorded).
    fn from_instant(at: DateTime<Utc>, system: DateTime<Utc>) -> ClockSetting {
        if at == system {
            ClockSetting::System
        } else {
            ClockSetting::Offset(at - system)
        }
    }
}

/// How often the server looks whether the date in China changed.
const DATE_CHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// Rebuilds what the date chooses (reference data, tariff versions in force) when the day
/// in China changes, or an admin moved the clock: a version valid from tomorrow comes into
/// force at midnight, not at the next restart.
pub async fn follow_the_date(app: std::sync::Arc<App>) {
    let mut last = app.today();
    loop {
        tokio::time::sleep(DATE_CHECK).await;
        if app.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let today = app.today();
        if today != last {
            match app.date_changed().await {
                Ok(()) => last = today,
                Err(e) => tracing::error!(error = %e, "rebuilding what the new date puts in force"),
            }
        }
    }
}
