//! Handlers of ports and terminals.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post, put};
use serde::Deserialize;
use tongguan_api::Problem;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Caller, Mutation};
use super::reply;
use super::routes::Q;
use crate::app::App;
use crate::app::ports::{
    CombinationPort, TerminalEventAnswer, TerminalEventInput, TerminalInput, TerminalView,
    UnloadingEntry,
};

type AppState = Arc<App>;
type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ManifestQuery {
    pub manifest_id: Uuid,
}

#[utoipa::path(get, path = "/api/v1/terminals", tag = "terminals", responses((status = 200, body = Vec<TerminalView>)))]
pub async fn terminals(State(app): State<AppState>, _c: Caller) -> axum::Json<Vec<TerminalView>> {
    axum::Json(app.terminals())
}

#[utoipa::path(put, path = "/api/v1/terminals/{code}", tag = "terminals", request_body = TerminalInput,
    params(("code" = String, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 201, body = TerminalView), (status = 200, body = TerminalView), (status = 422, body = Problem)))]
pub async fn put_terminal(
    State(app): State<AppState>,
    Path(code): Path<String>,
    m: Mutation<TerminalInput>,
) -> ApiResult<Response> {
    Ok(reply(app.put_terminal(&m.ctx, &code, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/combination-ports", tag = "terminals", responses((status = 200, body = Vec<CombinationPort>)))]
pub async fn combination_ports(
    State(app): State<AppState>,
    _c: Caller,
) -> axum::Json<Vec<CombinationPort>> {
    axum::Json(app.combination_ports())
}

#[utoipa::path(post, path = "/api/v1/terminal-events", tag = "terminals", request_body = TerminalEventInput,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 200, body = TerminalEventAnswer, description = "Allowed or refused, with the reason"), (status = 422, body = Problem)))]
pub async fn terminal_event(
    State(app): State<AppState>,
    m: Mutation<TerminalEventInput>,
) -> ApiResult<Response> {
    Ok(reply(app.terminal_event(&m.ctx, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/terminals/{code}/unloading-list", tag = "terminals", params(("code" = String, Path), ManifestQuery),
    responses((status = 200, body = Vec<UnloadingEntry>), (status = 404, body = Problem)))]
pub async fn unloading_list(
    State(app): State<AppState>,
    c: Caller,
    Path(code): Path<String>,
    Q(q): Q<ManifestQuery>,
) -> ApiResult<axum::Json<Vec<UnloadingEntry>>> {
    Ok(axum::Json(
        app.unloading_list(&c.ctx, &code, q.manifest_id).await?,
    ))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/terminals", get(terminals))
        .route("/api/v1/terminals/{code}", put(put_terminal))
        .route(
            "/api/v1/terminals/{code}/unloading-list",
            get(unloading_list),
        )
        .route("/api/v1/combination-ports", get(combination_ports))
        .route("/api/v1/terminal-events", post(terminal_event))
        .merge(router_edifact())
}

#[utoipa::path(post, path = "/api/v1/manifests/cuscar", tag = "manifests",
    params(crate::app::ports::CuscarParams, ("Idempotency-Key" = String, Header)),
    request_body(content = String, content_type = "application/edifact", description = "An UN/EDIFACT CUSCAR D.96B interchange"),
    responses((status = 201, body = crate::app::ports::CuscarImport), (status = 422, body = Problem, description = "Names the segment and the rule")))]
pub async fn import_cuscar(
    State(app): State<AppState>,
    Q(q): Q<crate::app::ports::CuscarParams>,
    m: super::extract::EdifactMutation,
) -> ApiResult<Response> {
    Ok(reply(app.import_cuscar(&m.ctx, &q, &m.text).await?))
}

pub fn router_edifact() -> Router<AppState> {
    Router::new().route("/api/v1/manifests/cuscar", post(import_cuscar))
}
