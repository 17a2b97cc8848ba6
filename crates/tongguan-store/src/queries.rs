//! Typed reads, shared by both backends.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use tongguan_domain::audit::{AuditDraft, AuditRecord};
use tongguan_domain::codes::{CustomsDistrictCode, CustomsRegistrationCode, Uscc};
use tongguan_domain::enterprise::{CreditLevel, Enterprise};
use tongguan_domain::identity::Role;
use tongguan_refdata::{DatasetId, DatasetVersion, RefEntry};
use uuid::Uuid;

use crate::changeset::micros;
use crate::{
    BrokerAuthorisation, CredentialKind, CredentialRecord, IdempotencyRecord, Result, RowLike,
    Store, StoredVersion, UserRecord, corrupt,
};

/// Filters of the enterprise list.
#[derive(Debug, Clone, Default)]
pub struct EnterpriseFilter {
    /// Substring of the name, USCC or customs code.
    pub q: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

fn uuid(r: &dyn RowLike, i: usize, table: &'static str) -> Result<Uuid> {
    Uuid::parse_str(&r.text(i)?).map_err(|e| corrupt(table, e))
}

fn opt_uuid(r: &dyn RowLike, i: usize, table: &'static str) -> Result<Option<Uuid>> {
    r.opt_text(i)?
        .map(|s| Uuid::parse_str(&s).map_err(|e| corrupt(table, e)))
        .transpose()
}

fn time(r: &dyn RowLike, i: usize, table: &'static str) -> Result<DateTime<Utc>> {
    let us = r.i64(i)?;
    DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt(table, format!("bad time {us}")))
}

fn opt_time(r: &dyn RowLike, i: usize, table: &'static str) -> Result<Option<DateTime<Utc>>> {
    match r.opt_i64(i)? {
        Some(us) => DateTime::from_timestamp_micros(us)
            .map(Some)
            .ok_or_else(|| corrupt(table, format!("bad time {us}"))),
        None => Ok(None),
    }
}

fn date(s: &str, table: &'static str) -> Result<NaiveDate> {
    s.parse().map_err(|e| corrupt(table, e))
}

fn json<T: serde::de::DeserializeOwned>(s: &str, table: &'static str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| corrupt(table, e))
}

fn map_enterprise(r: &dyn RowLike) -> Result<Enterprise> {
    const T: &str = "enterprises";
    Ok(Enterprise {
        id: uuid(r, 0, T)?,
        name: r.text(1)?,
        uscc: Uscc::parse(&r.text(2)?).map_err(|e| corrupt(T, e))?,
        customs_code: CustomsRegistrationCode::parse(&r.text(3)?).map_err(|e| corrupt(T, e))?,
        credit_level: CreditLevel::parse(&r.text(4)?).map_err(|e| corrupt(T, e))?,
        tags: json(&r.text(5)?, T)?,
        address: r.opt_text(6)?,
        contact_phone: r.opt_text(7)?,
        created_at: time(r, 8, T)?,
        updated_at: time(r, 9, T)?,
        version: r.i64(10)?,
    })
}

fn map_user(r: &dyn RowLike) -> Result<UserRecord> {
    const T: &str = "users";
    Ok(UserRecord {
        id: uuid(r, 0, T)?,
        username: r.text(1)?,
        display_name: r.text(2)?,
        role: Role::parse(&r.text(3)?).map_err(|e| corrupt(T, e))?,
        enterprise_id: opt_uuid(r, 4, T)?,
        district: r
            .opt_text(5)?
            .map(|d| CustomsDistrictCode::parse(&d).map_err(|e| corrupt(T, e)))
            .transpose()?,
        terminals: json(&r.text(6)?, T)?,
        password_hash: r.text(7)?,
        disabled: r.i64(8)? != 0,
        created_at: time(r, 9, T)?,
        version: r.i64(10)?,
    })
}

fn map_credential(r: &dyn RowLike) -> Result<CredentialRecord> {
    const T: &str = "credentials";
    Ok(CredentialRecord {
        id: uuid(r, 0, T)?,
        user_id: uuid(r, 1, T)?,
        kind: match r.text(2)?.as_str() {
            "api_token" => CredentialKind::ApiToken,
            "session" => CredentialKind::Session,
            other => return Err(corrupt(T, format!("unknown kind {other}"))),
        },
        name: r.text(3)?,
        token_hash: r.text(4)?,
        created_at: time(r, 5, T)?,
        expires_at: opt_time(r, 6, T)?,
        revoked_at: opt_time(r, 7, T)?,
    })
}

fn map_authorisation(r: &dyn RowLike) -> Result<BrokerAuthorisation> {
    const T: &str = "broker_authorisations";
    Ok(BrokerAuthorisation {
        id: uuid(r, 0, T)?,
        principal_id: uuid(r, 1, T)?,
        broker_id: uuid(r, 2, T)?,
        valid_from: date(&r.text(3)?, T)?,
        valid_until: r.opt_text(4)?.map(|d| date(&d, T)).transpose()?,
        created_at: time(r, 5, T)?,
        revoked_at: opt_time(r, 6, T)?,
        reason: r.text(7)?,
    })
}

fn map_audit(r: &dyn RowLike) -> Result<AuditRecord> {
    const T: &str = "audit_log";
    Ok(AuditRecord {
        seq: r.i64(0)?,
        draft: AuditDraft {
            at: time(r, 1, T)?,
            actor: r.text(2)?,
            action: r.text(3)?,
            object: r.text(4)?,
            reason: r.text(5)?,
            request_id: r.text(6)?,
        },
        prev_hash: r.text(7)?,
        hash: r.text(8)?,
    })
}

struct VersionHead {
    id: Uuid,
    seq: i64,
    dataset: DatasetId,
    label: String,
    valid_from: NaiveDate,
    source: String,
    shipped: bool,
    loaded_at: DateTime<Utc>,
    loaded_by: String,
}

fn map_version_head(r: &dyn RowLike) -> Result<VersionHead> {
    const T: &str = "ref_versions";
    let ds = r.text(2)?;
    Ok(VersionHead {
        id: uuid(r, 0, T)?,
        seq: r.i64(1)?,
        dataset: DatasetId::parse(&ds).ok_or_else(|| corrupt(T, format!("dataset {ds}")))?,
        label: r.text(3)?,
        valid_from: date(&r.text(4)?, T)?,
        source: r.text(5)?,
        shipped: r.i64(6)? != 0,
        loaded_at: time(r, 7, T)?,
        loaded_by: r.text(8)?,
    })
}

fn map_entry(r: &dyn RowLike) -> Result<(Uuid, RefEntry)> {
    const T: &str = "ref_entries";
    let attributes: BTreeMap<String, String> = json(&r.text(5)?, T)?;
    Ok((
        uuid(r, 0, T)?,
        RefEntry {
            code: r.text(1)?,
            name_en: r.opt_text(2)?,
            name_zh: r.opt_text(3)?,
            parent: r.opt_text(4)?,
            attributes,
        },
    ))
}

impl Store {
    pub async fn enterprise(&self, id: Uuid) -> Result<Option<Enterprise>> {
        Ok(self
            .lookup(
                "SELECT id, name, uscc, customs_code, credit_level, tags, address, contact_phone, created_at, updated_at, version FROM enterprises WHERE id = $1",
                vec![id.to_string().into()],
                map_enterprise,
            )
            .await?
            .pop())
    }

    pub async fn list_enterprises(&self, f: &EnterpriseFilter) -> Result<Vec<Enterprise>> {
        let q = f.q.as_deref().map(|q| format!("%{}%", q.to_lowercase()));
        self.query(
            "SELECT id, name, uscc, customs_code, credit_level, tags, address, contact_phone, created_at, updated_at, version FROM enterprises WHERE (CAST($1 AS TEXT) IS NULL OR lower(name) LIKE $1 OR lower(uscc) LIKE $1 OR lower(customs_code) LIKE $1) ORDER BY name, id LIMIT $2 OFFSET $3",
            vec![q.into(), f.limit.into(), f.offset.into()],
            map_enterprise,
        )
        .await
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<UserRecord>> {
        Ok(self
            .lookup(
                "SELECT id, username, display_name, role, enterprise_id, district, terminals, password_hash, disabled, created_at, version FROM users WHERE id = $1",
                vec![id.to_string().into()],
                map_user,
            )
            .await?
            .pop())
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        Ok(self
            .lookup(
                "SELECT id, username, display_name, role, enterprise_id, district, terminals, password_hash, disabled, created_at, version FROM users WHERE username = $1",
                vec![username.into()],
                map_user,
            )
            .await?
            .pop())
    }

    pub async fn list_users(&self, limit: i64, offset: i64) -> Result<Vec<UserRecord>> {
        self.query(
            "SELECT id, username, display_name, role, enterprise_id, district, terminals, password_hash, disabled, created_at, version FROM users ORDER BY username LIMIT $1 OFFSET $2",
            vec![limit.into(), offset.into()],
            map_user,
        )
        .await
    }

    pub async fn users_of_enterprise(&self, enterprise: Uuid) -> Result<Vec<UserRecord>> {
        self.lookup(
            "SELECT id, username, display_name, role, enterprise_id, district, terminals, password_hash, disabled, created_at, version FROM users WHERE enterprise_id = $1 ORDER BY username",
            vec![enterprise.to_string().into()],
            map_user,
        )
        .await
    }

    pub async fn credential_by_hash(&self, token_hash: &str) -> Result<Option<CredentialRecord>> {
        Ok(self
            .lookup(
                "SELECT id, user_id, kind, name, token_hash, created_at, expires_at, revoked_at FROM credentials WHERE token_hash = $1",
                vec![token_hash.into()],
                map_credential,
            )
            .await?
            .pop())
    }

    pub async fn credentials_of_user(&self, user: Uuid) -> Result<Vec<CredentialRecord>> {
        self.lookup(
            "SELECT id, user_id, kind, name, token_hash, created_at, expires_at, revoked_at FROM credentials WHERE user_id = $1 ORDER BY created_at, id",
            vec![user.to_string().into()],
            map_credential,
        )
        .await
    }

    pub async fn credential(&self, id: Uuid) -> Result<Option<CredentialRecord>> {
        Ok(self
            .lookup(
                "SELECT id, user_id, kind, name, token_hash, created_at, expires_at, revoked_at FROM credentials WHERE id = $1",
                vec![id.to_string().into()],
                map_credential,
            )
            .await?
            .pop())
    }

    /// Authorisations given to `broker` (as broker) or by it (as principal).
    pub async fn authorisations_of(&self, enterprise: Uuid) -> Result<Vec<BrokerAuthorisation>> {
        self.lookup(
            "SELECT id, principal_id, broker_id, valid_from, valid_until, created_at, revoked_at, reason FROM broker_authorisations WHERE broker_id = $1 OR principal_id = $1 ORDER BY created_at, id",
            vec![enterprise.to_string().into()],
            map_authorisation,
        )
        .await
    }

    pub async fn authorisation(&self, id: Uuid) -> Result<Option<BrokerAuthorisation>> {
        Ok(self
            .lookup(
                "SELECT id, principal_id, broker_id, valid_from, valid_until, created_at, revoked_at, reason FROM broker_authorisations WHERE id = $1",
                vec![id.to_string().into()],
                map_authorisation,
            )
            .await?
            .pop())
    }

    pub async fn idempotency(&self, actor: Uuid, key: &str) -> Result<Option<IdempotencyRecord>> {
        Ok(self
            .lookup(
                "SELECT actor_id, key, request_hash, status, body, created_at FROM idempotency WHERE actor_id = $1 AND key = $2",
                vec![actor.to_string().into(), key.into()],
                |r| {
                    const T: &str = "idempotency";
                    Ok(IdempotencyRecord {
                        actor_id: uuid(r, 0, T)?,
                        key: r.text(1)?,
                        request_hash: r.text(2)?,
                        status: u16::try_from(r.i64(3)?).map_err(|e| corrupt(T, e))?,
                        body: String::from_utf8(r.document(4, T)?).map_err(|e| corrupt(T, e))?,
                        created_at: time(r, 5, T)?,
                    })
                },
            )
            .await?
            .pop())
    }

    /// Every stored reference data version with its entries, in load order.
    pub async fn ref_versions(&self) -> Result<Vec<StoredVersion>> {
        let heads = self
            .query(
                "SELECT id, seq, dataset, label, valid_from, source, shipped, loaded_at, loaded_by FROM ref_versions ORDER BY seq",
                vec![],
                map_version_head,
            )
            .await?;
        let entries = self
            .query(
                "SELECT version_id, code, name_en, name_zh, parent, attributes FROM ref_entries ORDER BY version_id, code",
                vec![],
                map_entry,
            )
            .await?;
        let mut by_version: BTreeMap<Uuid, Vec<RefEntry>> = BTreeMap::new();
        for (v, e) in entries {
            by_version.entry(v).or_default().push(e);
        }
        Ok(heads
            .into_iter()
            .map(|h| StoredVersion {
                id: h.id,
                seq: h.seq,
                version: DatasetVersion {
                    dataset: h.dataset,
                    label: h.label,
                    valid_from: h.valid_from,
                    source: h.source,
                    entries: by_version.remove(&h.id).unwrap_or_default(),
                },
                shipped: h.shipped,
                loaded_at: h.loaded_at,
                loaded_by: h.loaded_by,
            })
            .collect())
    }

    /// Audit rows with seq > `after`, in order.
    pub async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        self.query(
            "SELECT seq, at, actor, action, object, reason, request_id, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            vec![after.into(), limit.into()],
            map_audit,
        )
        .await
    }

    /// Audit rows about one object, newest first.
    pub async fn audit_of_object(&self, object: &str, limit: i64) -> Result<Vec<AuditRecord>> {
        self.query(
            "SELECT seq, at, actor, action, object, reason, request_id, prev_hash, hash FROM audit_log WHERE object = $1 ORDER BY seq DESC LIMIT $2",
            vec![object.into(), limit.into()],
            map_audit,
        )
        .await
    }

    /// Walks the whole audit chain; `Err` names the first broken link.
    pub async fn verify_audit_chain(
        &self,
    ) -> Result<std::result::Result<u64, tongguan_domain::audit::BrokenLink>> {
        let mut verifier = tongguan_domain::audit::Verifier::default();
        let mut after = 0;
        loop {
            let page = self.audit_page(after, 5000).await?;
            let Some(last) = page.last() else {
                return Ok(Ok(verifier.checked));
            };
            after = last.seq;
            for r in &page {
                if let Err(broken) = verifier.push(r) {
                    return Ok(Err(broken));
                }
            }
        }
    }

    /// Microseconds helper for callers that build times.
    pub fn micros(t: DateTime<Utc>) -> i64 {
        micros(t)
    }
}
