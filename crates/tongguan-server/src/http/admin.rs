//! Handlers of server administration: the server's clock (development servers only). Its
//! OpenAPI paths form a document of their own, merged into the API's.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use tongguan_api::{ClockInput, ClockView, Problem};
use utoipa::OpenApi;

use super::error::ApiError;
use super::extract::{Caller, Mutation};
use super::reply;
use crate::app::App;

type AppState = Arc<App>;
type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(get, path = "/api/v1/admin/clock", tag = "admin",
    responses((status = 200, body = ClockView), (status = 403, body = Problem)))]
pub async fn clock(State(app): State<AppState>, c: Caller) -> ApiResult<axum::Json<ClockView>> {
    Ok(axum::Json(app.server_time(&c.ctx)?))
}

#[utoipa::path(put, path = "/api/v1/admin/clock", tag = "admin", request_body = ClockInput,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 200, body = ClockView, description = "The clock as now set"),
              (status = 403, body = Problem, description = "Not an admin, or a production server"),
              (status = 422, body = Problem)))]
pub async fn set_clock(
    State(app): State<AppState>,
    m: Mutation<ClockInput>,
) -> ApiResult<Response> {
    Ok(reply(app.set_server_time(&m.ctx, &m.body).await?))
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/admin/clock", get(clock).put(set_clock))
}

#[derive(OpenApi)]
#[openapi(paths(clock, set_clock))]
pub struct AdminDoc;
