//! Handlers of certificates of origin (M11).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tongguan_api::{
    Certificate, CertificateApplication, CertificateOverride, CertificateVerification, Problem,
    ReceivedCertificate, VerificationQuery,
};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Caller, Mutation};
use super::reply;
use super::routes::Q;
use crate::app::App;

type AppState = Arc<App>;
type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(post, path = "/api/v1/origin/certificates", tag = "origin", request_body = CertificateApplication,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = Certificate, description = "Reviewed at once: `approved` with a number and verification code, or `returned` with every failed check"),
              (status = 422, body = Problem)))]
pub async fn apply(
    State(app): State<AppState>,
    m: Mutation<CertificateApplication>,
) -> ApiResult<Response> {
    Ok(reply(app.apply_certificate(&m.ctx, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/origin/certificates", tag = "origin",
    responses((status = 200, body = Vec<Certificate>, description = "The caller's enterprise's certificates and returned applications; officers: all")))]
pub async fn list(
    State(app): State<AppState>,
    c: Caller,
) -> ApiResult<axum::Json<Vec<Certificate>>> {
    Ok(axum::Json(app.certificates(&c.ctx).await?))
}

#[utoipa::path(get, path = "/api/v1/origin/certificates/{id}", tag = "origin", params(("id" = Uuid, Path)),
    responses((status = 200, body = Certificate), (status = 404, body = Problem)))]
pub async fn get_one(
    State(app): State<AppState>,
    c: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<Certificate>> {
    Ok(axum::Json(app.certificate(&c.ctx, id).await?))
}

#[utoipa::path(get, path = "/api/v1/origin/certificates/{id}/print", tag = "origin", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/html", description = "The printable certificate, bilingual")))]
pub async fn print(
    State(app): State<AppState>,
    c: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    let cert = app.certificate(&c.ctx, id).await?;
    Ok(axum::response::Html(crate::app::origin::certificate_html(&cert)).into_response())
}

#[utoipa::path(post, path = "/api/v1/origin/certificates/{id}/override", tag = "origin", request_body = CertificateOverride,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = Certificate, description = "Approved by an officer over the rules, or revoked; audited with the reason"), (status = 409, body = Problem)))]
pub async fn override_decision(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<CertificateOverride>,
) -> ApiResult<Response> {
    Ok(reply(app.override_certificate(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(post, path = "/api/v1/origin/received", tag = "origin", request_body = ReceivedCertificate,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = Certificate, description = "A partner authority's certificate, registered for import-side verification")))]
pub async fn received(
    State(app): State<AppState>,
    m: Mutation<ReceivedCertificate>,
) -> ApiResult<Response> {
    Ok(reply(app.register_received(&m.ctx, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/origin/verification", tag = "origin", params(VerificationQuery), security(()),
    responses((status = 200, body = CertificateVerification, description = "Public: anyone holding the number and the code")))]
pub async fn verify(
    State(app): State<AppState>,
    Q(q): Q<VerificationQuery>,
) -> ApiResult<axum::Json<CertificateVerification>> {
    Ok(axum::Json(
        app.verify_certificate(&q.number, &q.code, app.today())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/origin/rules", tag = "origin",
    params(tongguan_api::NewVersionParams, ("Idempotency-Key" = String, Header)),
    request_body(content = String, content_type = "text/csv", description = "Product-specific rules: hs_code, hs_version, description, rule_text, source_url, source_page, notes (as data/rcep/psr_annex3a.csv)"),
    responses((status = 201, description = "Stored; reviews on or after valid_from use it"), (status = 422, body = Problem, description = "Every bad row by line and column")))]
pub async fn load_rules(
    State(app): State<AppState>,
    Q(params): Q<tongguan_api::NewVersionParams>,
    m: super::extract::CsvMutation,
) -> ApiResult<Response> {
    Ok(reply(
        app.load_origin_rules(&m.ctx, &params, &m.text).await?,
    ))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/origin/certificates", get(list).post(apply))
        .route("/api/v1/origin/certificates/{id}", get(get_one))
        .route("/api/v1/origin/certificates/{id}/print", get(print))
        .route(
            "/api/v1/origin/certificates/{id}/override",
            post(override_decision),
        )
        .route("/api/v1/origin/received", post(received))
        .route("/api/v1/origin/verification", get(verify))
        .route("/api/v1/origin/rules", post(load_rules))
}
