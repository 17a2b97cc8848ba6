//! Handlers of `/api/v1`. Each one extracts, calls one app service, and answers.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use tongguan_domain::audit::AuditRecord;
use tongguan_domain::enterprise::Enterprise;
use tongguan_refdata::{DatasetId, RefEntry, VersionInfo};
use utoipa::OpenApi;
use uuid::Uuid;

use super::error::{ApiError, Problem, malformed};
use super::extract::{Caller, CsvMutation, Mutation, SESSION_COOKIE, request_id};
use super::reply;
use crate::app::App;
use crate::app::audit::ChainReport;
use crate::app::enterprises::{
    AuthorisationView, EnterprisePatch, NewAuthorisation, NewEnterpriseInput, Reason,
};
use crate::app::identity::{CredentialCreated, CredentialView, Login, NewToken, NewUser, UserView};
use crate::app::refdata::{EntryPage, NewVersionParams};

type AppState = Arc<App>;
type ApiResult<T> = Result<T, ApiError>;

/// Query string parsed strictly, with problem+json on failure.
pub struct Q<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(t)| Q(t))
            .map_err(|e| malformed("query", "query.invalid", e.body_text()))
    }
}

/// Paging of list endpoints.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Text to search for.
    pub q: Option<String>,
    /// At most 500; default 50.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl Page {
    fn bounds(&self) -> ApiResult<(i64, i64)> {
        let limit = self.limit.unwrap_or(50);
        let offset = self.offset.unwrap_or(0);
        if !(1..=500).contains(&limit) {
            return Err(malformed(
                "query/limit",
                "page.limit",
                "limit is between 1 and 500",
            ));
        }
        if offset < 0 {
            return Err(malformed(
                "query/offset",
                "page.offset",
                "offset is not negative",
            ));
        }
        Ok((limit, offset))
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RefQuery {
    /// Case-insensitive text in the code or the English or Chinese name.
    pub q: Option<String>,
    /// List the children of this code instead (e.g. a chapter's headings, district 5300's customs).
    pub parent: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Rows after this sequence number.
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

fn dataset(name: &str) -> ApiResult<DatasetId> {
    DatasetId::parse(name).ok_or_else(|| {
        let all: Vec<&str> = DatasetId::ALL.iter().map(|d| d.as_str()).collect();
        ApiError(crate::app::AppError::NotFound(format!(
            "dataset '{name}' (known: {})",
            all.join(", ")
        )))
    })
}

/// Codes are written many ways (`8471.30`, `cn szp`); this is the form the tables use.
fn normalise_code(ds: DatasetId, code: &str) -> String {
    match ds {
        DatasetId::Hs | DatasetId::TariffLines => {
            code.chars().filter(|c| c.is_ascii_digit()).collect()
        }
        DatasetId::Ports | DatasetId::Countries | DatasetId::Currencies | DatasetId::HsSections => {
            code.chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_uppercase()
        }
        _ => code.trim().to_string(),
    }
}

#[utoipa::path(post, path = "/api/v1/sessions", tag = "identity", request_body = Login,
    responses((status = 201, body = CredentialCreated, description = "Logged in; also sets the session cookie"),
              (status = 401, body = Problem)))]
async fn login(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let login: Login = super::extract::parse_json(&body)?;
    let created = app.login(&login, &request_id(&headers)).await?;
    let secret = created.secret.clone().unwrap_or_default();
    let max_age = app.config.session_hours * 3600;
    let mut resp = (StatusCode::CREATED, axum::Json(created)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "identity",
    params(("Idempotency-Key" = String, Header)),
    responses((status = 200, body = CredentialView, description = "Logged out")))]
async fn logout(State(app): State<AppState>, m: Mutation<Option<Reason>>) -> Response {
    let reason = m.body.map_or("logout".to_string(), |r| r.reason);
    match app
        .revoke_credential(&m.ctx, m.credential_id, &reason)
        .await
    {
        Ok(r) => {
            let mut resp = reply(r);
            resp.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_static(
                    "tongguan_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
                ),
            );
            resp
        }
        Err(e) => ApiError(e).into_response(),
    }
}

#[utoipa::path(get, path = "/api/v1/me", tag = "identity", responses((status = 200, body = UserView)))]
async fn me(State(app): State<AppState>, c: Caller) -> ApiResult<axum::Json<UserView>> {
    Ok(axum::Json(app.me(&c.ctx).await?))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "identity", responses((status = 200, body = Vec<CredentialView>)))]
async fn list_tokens(
    State(app): State<AppState>,
    c: Caller,
) -> ApiResult<axum::Json<Vec<CredentialView>>> {
    Ok(axum::Json(app.list_credentials(&c.ctx).await?))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "identity", request_body = NewToken,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = CredentialCreated, description = "The secret is shown only in this answer"),
              (status = 422, body = Problem)))]
async fn create_token(State(app): State<AppState>, m: Mutation<NewToken>) -> ApiResult<Response> {
    Ok(reply(app.create_token(&m.ctx, &m.body).await?))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "identity",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = CredentialView), (status = 404, body = Problem)))]
async fn revoke_token(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<Option<Reason>>,
) -> ApiResult<Response> {
    let reason = m
        .body
        .map_or("revoked by its user".to_string(), |r| r.reason);
    Ok(reply(app.revoke_credential(&m.ctx, id, &reason).await?))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "identity", params(Page),
    responses((status = 200, body = Vec<UserView>), (status = 403, body = Problem)))]
async fn list_users(
    State(app): State<AppState>,
    c: Caller,
    Q(p): Q<Page>,
) -> ApiResult<axum::Json<Vec<UserView>>> {
    let (limit, offset) = p.bounds()?;
    Ok(axum::Json(app.list_users(&c.ctx, limit, offset).await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "identity", request_body = NewUser,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = UserView), (status = 422, body = Problem), (status = 409, body = Problem)))]
async fn create_user(State(app): State<AppState>, m: Mutation<NewUser>) -> ApiResult<Response> {
    Ok(reply(app.create_user(&m.ctx, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/enterprises", tag = "enterprises", params(Page),
    responses((status = 200, body = Vec<Enterprise>, description = "The enterprises the caller may see")))]
async fn list_enterprises(
    State(app): State<AppState>,
    c: Caller,
    Q(p): Q<Page>,
) -> ApiResult<axum::Json<Vec<Enterprise>>> {
    let (limit, offset) = p.bounds()?;
    Ok(axum::Json(
        app.list_enterprises(&c.ctx, p.q.clone(), limit, offset)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/enterprises", tag = "enterprises", request_body = NewEnterpriseInput,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = Enterprise), (status = 422, body = Problem), (status = 409, body = Problem)))]
async fn create_enterprise(
    State(app): State<AppState>,
    m: Mutation<NewEnterpriseInput>,
) -> ApiResult<Response> {
    Ok(reply(app.create_enterprise(&m.ctx, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}", tag = "enterprises", params(("id" = Uuid, Path)),
    responses((status = 200, body = Enterprise), (status = 404, body = Problem)))]
async fn get_enterprise(
    State(app): State<AppState>,
    c: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<Enterprise>> {
    Ok(axum::Json(app.get_enterprise(&c.ctx, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/enterprises/{id}", tag = "enterprises", request_body = EnterprisePatch,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = Enterprise), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_enterprise(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<EnterprisePatch>,
) -> ApiResult<Response> {
    Ok(reply(app.update_enterprise(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}/broker-authorisations", tag = "enterprises",
    params(("id" = Uuid, Path)), responses((status = 200, body = Vec<AuthorisationView>)))]
async fn list_authorisations(
    State(app): State<AppState>,
    c: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<Vec<AuthorisationView>>> {
    Ok(axum::Json(app.list_authorisations(&c.ctx, id).await?))
}

#[utoipa::path(post, path = "/api/v1/enterprises/{id}/broker-authorisations", tag = "enterprises",
    request_body = NewAuthorisation, params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 201, body = AuthorisationView), (status = 422, body = Problem)))]
async fn authorise_broker(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<NewAuthorisation>,
) -> ApiResult<Response> {
    Ok(reply(app.authorise_broker(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(delete, path = "/api/v1/enterprises/{id}/broker-authorisations/{aid}", tag = "enterprises",
    request_body = Reason, params(("id" = Uuid, Path), ("aid" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = AuthorisationView), (status = 404, body = Problem)))]
async fn revoke_authorisation(
    State(app): State<AppState>,
    Path((id, aid)): Path<(Uuid, Uuid)>,
    m: Mutation<Reason>,
) -> ApiResult<Response> {
    Ok(reply(
        app.revoke_authorisation(&m.ctx, id, aid, &m.body.reason)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/reference", tag = "reference",
    responses((status = 200, body = Vec<VersionInfo>, description = "Every dataset version, the one in force marked")))]
async fn reference_versions(
    State(app): State<AppState>,
    _c: Caller,
) -> axum::Json<Vec<VersionInfo>> {
    axum::Json(app.reference_versions())
}

#[utoipa::path(get, path = "/api/v1/reference/{dataset}", tag = "reference",
    params(("dataset" = DatasetId, Path), RefQuery),
    responses((status = 200, body = EntryPage), (status = 404, body = Problem)))]
async fn reference_search(
    State(app): State<AppState>,
    _c: Caller,
    Path(ds): Path<String>,
    Q(q): Q<RefQuery>,
) -> ApiResult<axum::Json<EntryPage>> {
    let ds = dataset(&ds)?;
    let (limit, offset) = Page {
        q: None,
        limit: q.limit,
        offset: q.offset,
    }
    .bounds()?;
    let parent = q.parent.as_deref().map(|p| normalise_code(ds, p));
    Ok(axum::Json(app.reference_search(
        ds,
        q.q.as_deref().unwrap_or(""),
        parent.as_deref(),
        usize::try_from(limit).unwrap_or(50),
        usize::try_from(offset).unwrap_or(0),
    )))
}

#[utoipa::path(get, path = "/api/v1/reference/{dataset}/{code}", tag = "reference",
    params(("dataset" = DatasetId, Path), ("code" = String, Path, description = "e.g. 8471.30 or 847130 for HS")),
    responses((status = 200, body = RefEntry), (status = 404, body = Problem)))]
async fn reference_entry(
    State(app): State<AppState>,
    _c: Caller,
    Path((ds, code)): Path<(String, String)>,
) -> ApiResult<axum::Json<RefEntry>> {
    let ds = dataset(&ds)?;
    Ok(axum::Json(
        app.reference_entry(ds, &normalise_code(ds, &code))?,
    ))
}

#[utoipa::path(post, path = "/api/v1/reference/{dataset}/versions", tag = "reference",
    params(("dataset" = DatasetId, Path), NewVersionParams, ("Idempotency-Key" = String, Header)),
    request_body(content = String, content_type = "text/csv", description = "Canonical CSV: code,name_en,name_zh,parent[,attribute…]"),
    responses((status = 201, description = "Stored; the catalog now uses it when in force"), (status = 422, body = Problem)))]
async fn load_reference(
    State(app): State<AppState>,
    Path(ds): Path<String>,
    Q(params): Q<NewVersionParams>,
    m: CsvMutation,
) -> ApiResult<Response> {
    let ds = dataset(&ds)?;
    Ok(reply(
        app.load_reference_version(&m.ctx, ds, &params, &m.text)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditRecord>), (status = 403, body = Problem)))]
async fn audit_rows(
    State(app): State<AppState>,
    c: Caller,
    Q(q): Q<AuditQuery>,
) -> ApiResult<axum::Json<Vec<AuditRecord>>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(axum::Json(
        app.audit_rows(&c.ctx, q.after.unwrap_or(0), limit).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = ChainReport), (status = 403, body = Problem)))]
async fn audit_verify(
    State(app): State<AppState>,
    c: Caller,
) -> ApiResult<axum::Json<ChainReport>> {
    crate::app::identity::require_role(
        &c.ctx,
        &[
            tongguan_domain::identity::Role::Admin,
            tongguan_domain::identity::Role::Officer,
        ],
    )?;
    Ok(axum::Json(app.verify_audit().await?))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions", post(login))
        .route("/api/v1/sessions/current", delete(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route(
            "/api/v1/enterprises",
            get(list_enterprises).post(create_enterprise),
        )
        .route(
            "/api/v1/enterprises/{id}",
            get(get_enterprise).patch(update_enterprise),
        )
        .route(
            "/api/v1/enterprises/{id}/broker-authorisations",
            get(list_authorisations).post(authorise_broker),
        )
        .route(
            "/api/v1/enterprises/{id}/broker-authorisations/{aid}",
            delete(revoke_authorisation),
        )
        .route("/api/v1/reference", get(reference_versions))
        .route("/api/v1/reference/{dataset}", get(reference_search))
        .route("/api/v1/reference/{dataset}/{code}", get(reference_entry))
        .route("/api/v1/reference/{dataset}/versions", post(load_reference))
        .route("/api/v1/audit", get(audit_rows))
        .route("/api/v1/audit/verify", get(audit_verify))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Tongguan API", description = "Open customs clearance platform (通关). Every mutating call needs an Idempotency-Key header; errors are RFC 9457 problem+json.", license(name = "Apache-2.0")),
    paths(login, logout, me, list_tokens, create_token, revoke_token, list_users, create_user,
          list_enterprises, create_enterprise, get_enterprise, update_enterprise,
          list_authorisations, authorise_broker, revoke_authorisation,
          reference_versions, reference_search, reference_entry, load_reference,
          audit_rows, audit_verify,
          super::clearance::create_declaration, super::clearance::list_declarations,
          super::clearance::get_declaration, super::clearance::edit_declaration,
          super::clearance::submit_declaration, super::clearance::declaration_events,
          super::clearance::timeline, super::clearance::event_stream,
          super::clearance::request_cancellation, super::clearance::request_amendment,
          super::clearance::decide_request, super::clearance::return_declaration,
          super::clearance::record_inspection, super::clearance::admit_to_market,
          super::clearance::complete_declaration, super::clearance::file_manifest,
          super::clearance::get_manifest, super::clearance::report_arrival,
          super::clearance::gate_decision, super::clearance::list_instructions,
          super::clearance::create_instruction, super::clearance::change_instruction,
          super::clearance::revoke_instruction,
          super::taxes::exchange_rates, super::taxes::set_exchange_rate,
          super::taxes::guarantees, super::taxes::register_guarantee,
          super::taxes::decide_guarantee, super::taxes::quota, super::taxes::statement, super::taxes::pay_statement,
          super::taxes::record_payment, super::taxes::tariff_line, super::taxes::load_tariff,
          super::taxes::import_exchange_rates, super::taxes::quotas,
          super::ports::terminals, super::ports::put_terminal, super::ports::combination_ports,
          super::ports::terminal_event, super::ports::unloading_list, super::ports::import_cuscar,
          super::webhooks::create_subscription, super::webhooks::list_subscriptions,
          super::webhooks::get_subscription, super::webhooks::enable_subscription,
          super::webhooks::disable_subscription, super::webhooks::rotate_secret,
          super::webhooks::deliveries, super::webhooks::delivery, super::webhooks::redeliver,
          super::webhooks::recover, super::webhooks::allowed_networks,
          super::webhooks::allow_network, super::webhooks::disallow_network,
          super::origin::apply, super::origin::list, super::origin::get_one, super::origin::print,
          super::origin::override_decision, super::origin::received, super::origin::verify,
          super::origin::load_rules),
    components(schemas(Problem, tongguan_domain::Violation)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
