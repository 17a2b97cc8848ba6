//! The audit log (审计日志): append-only and hash-chained, so any change to a past row is
//! detected by re-computing the chain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hash of the link before the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an app service records for one mutating call, before the store places it in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditDraft {
    /// UTC time of the decision.
    pub at: DateTime<Utc>,
    /// `username (user id)` of the actor.
    pub actor: String,
    /// Stable action name, e.g. `enterprise.create`.
    pub action: String,
    /// The object acted on, e.g. `enterprise/0193...`.
    pub object: String,
    /// Why: given by the actor, or a system reason.
    pub reason: String,
    /// Request id (x-request-id) of the HTTP call.
    pub request_id: String,
}

/// A row of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub seq: i64,
    #[serde(flatten)]
    pub draft: AuditDraft,
    pub prev_hash: String,
    pub hash: String,
}

/// SHA-256 over the previous hash and every field, each length-prefixed so no two different
/// rows can serialise to the same bytes.
pub fn link_hash(seq: i64, draft: &AuditDraft, prev_hash: &str) -> String {
    let mut h = Sha256::new();
    let at = draft
        .at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let seq = seq.to_string();
    for part in [
        prev_hash,
        seq.as_str(),
        at.as_str(),
        &draft.actor,
        &draft.action,
        &draft.object,
        &draft.reason,
        &draft.request_id,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Places a draft after `prev` in the chain.
pub fn seal(seq: i64, draft: AuditDraft, prev_hash: &str) -> AuditRecord {
    let hash = link_hash(seq, &draft, prev_hash);
    AuditRecord {
        seq,
        draft,
        prev_hash: prev_hash.to_string(),
        hash,
    }
}

/// The first broken link found by [`Verifier`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at seq {seq}: {reason}")]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// Streams the chain in seq order and stops at the first broken link.
#[derive(Debug)]
pub struct Verifier {
    prev_hash: String,
    next_seq: i64,
    pub checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            prev_hash: GENESIS_HASH.to_string(),
            next_seq: 1,
            checked: 0,
        }
    }
}

impl Verifier {
    pub fn push(&mut self, r: &AuditRecord) -> Result<(), BrokenLink> {
        let broken = |reason: String| BrokenLink { seq: r.seq, reason };
        if r.seq != self.next_seq {
            return Err(BrokenLink {
                seq: self.next_seq,
                reason: format!(
                    "row {} is missing (next row found is {})",
                    self.next_seq, r.seq
                ),
            });
        }
        if r.prev_hash != self.prev_hash {
            return Err(broken(
                "prev_hash does not match the hash of the row before".to_string(),
            ));
        }
        let expected = link_hash(r.seq, &r.draft, &r.prev_hash);
        if r.hash != expected {
            return Err(broken(
                "row content does not match its hash (the row was changed)".to_string(),
            ));
        }
        self.prev_hash = r.hash.clone();
        self.next_seq += 1;
        self.checked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(reason: &str) -> AuditDraft {
        AuditDraft {
            at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            actor: "admin".into(),
            action: "enterprise.create".into(),
            object: "enterprise/1".into(),
            reason: reason.into(),
            request_id: "r1".into(),
        }
    }

    #[test]
    fn tampering_is_found_at_the_changed_row() {
        let mut rows = Vec::new();
        let mut prev = GENESIS_HASH.to_string();
        for i in 1..=5 {
            let r = seal(i, draft(&format!("reason {i}")), &prev);
            prev = r.hash.clone();
            rows.push(r);
        }
        let mut v = Verifier::default();
        assert!(rows.iter().try_for_each(|r| v.push(r)).is_ok());
        rows[2].draft.reason = "covered up".into();
        let mut v = Verifier::default();
        let err = rows.iter().try_for_each(|r| v.push(r)).unwrap_err();
        assert_eq!(err.seq, 3);
    }

    #[test]
    fn deleted_row_is_found() {
        let a = seal(1, draft("a"), GENESIS_HASH);
        let b = seal(2, draft("b"), &a.hash);
        let c = seal(3, draft("c"), &b.hash);
        let mut v = Verifier::default();
        v.push(&a).unwrap();
        assert_eq!(v.push(&c).unwrap_err().seq, 2);
    }
}
