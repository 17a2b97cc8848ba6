//! The HTTP edge (axum): JSON under `/api/v1`, problem+json errors, idempotent mutations,
//! OpenAPI 3.1 at `/api/v1/openapi.json`, Prometheus metrics at `/metrics`, `/healthz`.

mod admin;
mod clearance;
pub mod error;
pub mod extract;
mod origin;
mod ports;
mod routes;
mod taxes;
mod webhooks;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use crate::app::{App, Reply};

pub use routes::ApiDoc;

/// The OpenAPI document, generated from the handlers' annotations.
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    doc.merge(admin::AdminDoc::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.to_pretty_json().unwrap_or_else(|_| "{}".to_string())
}

fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Only the first server in a process owns the global recorder (tests start many).
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Answers a mutation as stored (or replayed).
pub fn reply(r: Reply) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let mut resp = (status, r.body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if r.replayed {
        h.insert("idempotency-replayed", HeaderValue::from_static("true"));
    }
    resp
}

async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_string(), |p| p.as_str().to_string());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("tongguan_http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("tongguan_http_request_seconds", "method" => method, "path" => path)
        .record(start.elapsed().as_secs_f64());
    resp
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let body = serde_json::json!({
        "status": "ok",
        "database": app.store.backend_name(),
        "version": env!("CARGO_PKG_VERSION"),
    });
    axum::Json(body).into_response()
}

async fn metrics_text() -> Response {
    let mut r = prometheus().render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

async fn openapi() -> Response {
    let mut r = openapi_json().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

async fn not_found() -> Response {
    error::problem(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no such endpoint; see /api/v1/openapi.json".into(),
        vec![],
    )
}

/// The whole HTTP surface.
pub fn router(app: Arc<App>) -> Router {
    prometheus();
    let limit = app.config.max_body_bytes;
    Router::new()
        .merge(routes::api())
        .merge(admin::router())
        .merge(clearance::router())
        .merge(taxes::router())
        .merge(ports::router())
        .merge(webhooks::router())
        .merge(origin::router())
        .merge(crate::web::router())
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .layer(middleware::from_fn(track))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(app)
}
