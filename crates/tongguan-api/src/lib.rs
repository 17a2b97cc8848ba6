//! The HTTP API contract (接口): request and response bodies of `/api/v1`, shared by the
//! server and the typed client so both always agree.
#![forbid(unsafe_code)]

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tongguan_domain::Violation;
use tongguan_domain::identity::Role;
use tongguan_refdata::{DatasetId, RefEntry};
use uuid::Uuid;

pub use tongguan_domain::audit::AuditRecord;
pub use tongguan_domain::enterprise::Enterprise;
pub use tongguan_refdata::VersionInfo;

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub enterprise_id: Option<Uuid>,
    pub district: Option<String>,
    pub terminals: Vec<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// Input of `POST /api/v1/users`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 3-64 characters: lower-case letters, digits, `.`, `_`, `-`.
    pub username: String,
    pub display_name: String,
    pub password: String,
    /// enterprise_user, broker, officer, terminal_operator or admin.
    pub role: String,
    /// Required for enterprise_user and broker.
    #[serde(default)]
    pub enterprise_id: Option<Uuid>,
    /// Required for officer: a customs district code (关区代码), e.g. 5300.
    #[serde(default)]
    pub district: Option<String>,
    /// Required for terminal_operator: terminal codes, `<UN/LOCODE>` or `<UN/LOCODE>-<terminal>`.
    #[serde(default)]
    pub terminals: Vec<String>,
}

/// An API token or session as listed (without its secret).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CredentialView {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new credential with its secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CredentialCreated {
    #[serde(flatten)]
    pub credential: CredentialView,
    /// The bearer secret. `null` when an idempotent retry replays the answer: the secret is
    /// never stored and is shown only once.
    pub secret: Option<String>,
    pub user: UserView,
}

/// Input of `POST /api/v1/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    /// Days until the token expires; none for no expiry.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

/// Input of `POST /api/v1/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// Input of `POST /api/v1/enterprises`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnterpriseInput {
    /// 企业名称
    pub name: String,
    /// 统一社会信用代码, 18 characters with its GB 32100 check character.
    pub uscc: String,
    /// 海关注册编码, 10 characters.
    pub customs_code: String,
    /// advanced_certified, certified, routine (alias registered), dishonest, seriously_dishonest.
    pub credit_level: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
}

/// Input of `PATCH /api/v1/enterprises/{id}`: only the fields given change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterprisePatch {
    /// The version the change is based on; refused when the record has moved on.
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    /// Officers and admins only.
    #[serde(default)]
    pub credit_level: Option<String>,
    /// Officers and admins only.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Why; required when the credit level or tags change.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Input of `POST /api/v1/enterprises/{id}/broker-authorisations`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAuthorisation {
    /// The customs broker enterprise authorised to declare for this enterprise.
    pub broker_id: Uuid,
    pub valid_from: NaiveDate,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthorisationView {
    pub id: Uuid,
    pub principal_id: Uuid,
    pub broker_id: Uuid,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub reason: String,
    pub in_force: bool,
}

/// Why a change was made, required for decisions.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

/// Where a new version comes from (`POST /api/v1/reference/{dataset}/versions` query).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersionParams {
    /// Version label, e.g. `2024` for the 2024 tariff list.
    pub label: String,
    /// First day the version is in force.
    pub valid_from: NaiveDate,
    /// Where the data comes from (publication, URL).
    pub source: String,
}

/// A page of search results.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntryPage {
    pub dataset: DatasetId,
    /// The version the answers come from.
    pub version: Option<String>,
    pub total: usize,
    pub entries: Vec<RefEntry>,
}

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

/// `application/problem+json` body.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable URI of the problem type, e.g. `urn:tongguan:problem:validation`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Every rule the request breaks, with the field path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
}
