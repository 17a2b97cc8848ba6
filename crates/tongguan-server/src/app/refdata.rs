//! Reference data (参数代码): shipped versions loaded at first start, newer ones loaded by
//! admins; lookups and search are answered from the in-memory catalog, never the database.

pub use tongguan_api::{EntryPage, NewVersionParams};
use tongguan_domain::identity::{Role, system_actor};
use tongguan_refdata::{Catalog, DatasetId, DatasetVersion, RefEntry, VersionInfo};
use tongguan_store::{Changeset, Op, StoredVersion};

use super::identity::require_role;
use super::{App, AppError, AppResult, Ctx, Reply, invalid, new_id};

impl App {
    /// Stores every shipped version the database does not hold yet (first start, or a new
    /// binary shipping newer data).
    pub(super) async fn load_shipped_reference_data(&self) -> AppResult<()> {
        let stored = self.store.ref_versions().await?;
        let shipped = tongguan_refdata::shipped()
            .map_err(|e| AppError::Internal(format!("shipped reference data: {e}")))?;
        let mut seq = stored.iter().map(|v| v.seq).max().unwrap_or(0);
        let now = self.now();
        let mut ops = Vec::new();
        for v in shipped {
            let present = stored
                .iter()
                .any(|s| s.shipped && s.version.dataset == v.dataset && s.version.label == v.label);
            if !present {
                seq += 1;
                ops.push(Op::InsertRefVersion(Box::new(StoredVersion {
                    id: new_id(),
                    seq,
                    version: v,
                    shipped: true,
                    loaded_at: now,
                    loaded_by: "system".into(),
                })));
            }
        }
        if ops.is_empty() {
            return Ok(());
        }
        let n = ops.len();
        let ctx = Ctx {
            actor: system_actor(),
            request_id: "startup".into(),
            idempotency: None,
        };
        let audit = self.audit_draft(
            &ctx,
            "refdata.load_shipped",
            "reference",
            &format!("{n} shipped reference data version(s) stored at start"),
        );
        tracing::info!(versions = n, "loading shipped reference data");
        self.store.commit(Changeset::new(ops, audit)).await?;
        Ok(())
    }

    pub(super) async fn rebuild_catalog(&self) -> AppResult<()> {
        let versions: Vec<DatasetVersion> = self
            .store
            .ref_versions()
            .await?
            .into_iter()
            .map(|v| v.version)
            .collect();
        self.set_catalog(Catalog::build(versions, self.today()));
        Ok(())
    }

    pub fn reference_versions(&self) -> Vec<VersionInfo> {
        self.catalog().versions()
    }

    pub fn reference_entry(&self, dataset: DatasetId, code: &str) -> AppResult<RefEntry> {
        self.catalog()
            .get(dataset, code)
            .cloned()
            .ok_or_else(|| AppError::NotFound(format!("{} code {code}", dataset.as_str())))
    }

    pub fn reference_search(
        &self,
        dataset: DatasetId,
        q: &str,
        parent: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> EntryPage {
        let catalog = self.catalog();
        let (entries, total) = match parent {
            Some(p) => {
                let all = catalog.children(dataset, p);
                let n = all.len();
                (
                    all.into_iter().skip(offset).take(limit).cloned().collect(),
                    n,
                )
            }
            None => {
                let (page, total) = catalog.search(dataset, q, limit, offset);
                (page.into_iter().cloned().collect(), total)
            }
        };
        EntryPage {
            dataset,
            version: catalog.version_in_force(dataset).map(str::to_string),
            total,
            entries,
        }
    }

    /// Admin: loads a new version of a dataset from the canonical CSV.
    pub async fn load_reference_version(
        &self,
        ctx: &Ctx,
        dataset: DatasetId,
        params: &NewVersionParams,
        csv: &str,
    ) -> AppResult<Reply> {
        require_role(ctx, &[Role::Admin])?;
        if let Some(r) = self.replay(ctx).await? {
            return Ok(r);
        }
        if params.label.trim().is_empty() || params.label.len() > 40 {
            return Err(invalid(
                "label",
                "refdata.label",
                "a label of 1-40 characters",
            ));
        }
        if params.source.trim().is_empty() {
            return Err(invalid(
                "source",
                "refdata.source_required",
                "name the source of the data",
            ));
        }
        let entries = tongguan_refdata::parse_canonical_csv(dataset, params.label.trim(), csv)
            .map_err(|e| {
                let path = e
                    .line()
                    .map_or("body".to_string(), |l| format!("body/line/{l}"));
                invalid(&path, e.rule(), e.to_string())
            })?;
        let seq = self
            .store
            .ref_versions()
            .await?
            .iter()
            .map(|v| v.seq)
            .max()
            .unwrap_or(0)
            + 1;
        let version = DatasetVersion {
            dataset,
            label: params.label.trim().to_string(),
            valid_from: params.valid_from,
            source: params.source.trim().to_string(),
            entries,
        };
        let n = version.entries.len();
        let info = serde_json::json!({
            "dataset": dataset,
            "label": version.label,
            "valid_from": version.valid_from,
            "source": version.source,
            "entries": n,
        });
        let audit = self.audit_draft(
            ctx,
            "refdata.load",
            &format!("reference/{}/{}", dataset.as_str(), version.label),
            &format!("{n} entries from {}", version.source),
        );
        let op = Op::InsertRefVersion(Box::new(StoredVersion {
            id: new_id(),
            seq,
            version,
            shipped: false,
            loaded_at: self.now(),
            loaded_by: ctx.actor_label(),
        }));
        let reply = self
            .commit_reply(ctx, Changeset::new(vec![op], audit), 201, &info, None)
            .await?;
        self.rebuild_catalog().await?;
        self.rebuild_calendar();
        Ok(reply)
    }
}
