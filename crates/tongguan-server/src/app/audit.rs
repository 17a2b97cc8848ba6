//! The audit view (审计): verification of the chain and reading of rows.

pub use tongguan_api::ChainReport;
use tongguan_domain::audit::AuditRecord;
use tongguan_domain::identity::Role;

use super::identity::require_role;
use super::{App, AppResult, Ctx};

impl App {
    pub async fn verify_audit(&self) -> AppResult<ChainReport> {
        Ok(match self.store.verify_audit_chain().await? {
            Ok(checked) => ChainReport {
                ok: true,
                checked,
                broken_at: None,
                reason: None,
            },
            Err(b) => ChainReport {
                ok: false,
                checked: u64::try_from(b.seq - 1).unwrap_or(0),
                broken_at: Some(b.seq),
                reason: Some(b.reason),
            },
        })
    }

    /// Officers and admins read the audit log.
    pub async fn audit_rows(
        &self,
        ctx: &Ctx,
        after: i64,
        limit: i64,
    ) -> AppResult<Vec<AuditRecord>> {
        require_role(ctx, &[Role::Admin, Role::Officer])?;
        Ok(self.store.audit_page(after, limit).await?)
    }
}
