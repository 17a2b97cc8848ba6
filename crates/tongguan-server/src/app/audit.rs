//! The audit view (审计): verification of the chain and reading of rows.

use serde::{Deserialize, Serialize};
use tongguan_domain::audit::AuditRecord;
use tongguan_domain::identity::Role;

use super::identity::require_role;
use super::{App, AppResult, Ctx};

/// Result of walking the whole chain.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainReport {
    pub ok: bool,
    /// Rows verified before the first break (all rows when ok).
    pub checked: u64,
    /// The first broken link's sequence number.
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
}

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
    pub async fn audit_rows(&self, ctx: &Ctx, after: i64, limit: i64) -> AppResult<Vec<AuditRecord>> {
        require_role(ctx, &[Role::Admin, Role::Officer])?;
        Ok(self.store.audit_page(after, limit).await?)
    }
}
