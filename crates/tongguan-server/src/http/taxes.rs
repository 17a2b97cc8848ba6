//! Handlers of taxes: exchange rates, guarantees, quota and statements.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, put};
use serde::Deserialize;
use tongguan_api::Problem;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Caller, Mutation};
use super::reply;
use super::routes::Q;
use crate::app::App;
use crate::app::taxes::{ExchangeRateInput, ExchangeRateView, GuaranteeInput, GuaranteeView};

type AppState = Arc<App>;
type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// `YYYY-MM`.
    pub month: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/exchange-rates", tag = "taxes", params(MonthQuery),
    responses((status = 200, body = Vec<ExchangeRateView>)))]
pub async fn exchange_rates(
    State(app): State<AppState>,
    _c: Caller,
    Q(q): Q<MonthQuery>,
) -> ApiResult<axum::Json<Vec<ExchangeRateView>>> {
    Ok(axum::Json(app.exchange_rates(q.month.as_deref()).await?))
}

#[utoipa::path(put, path = "/api/v1/exchange-rates/{currency}/{month}", tag = "taxes", request_body = ExchangeRateInput,
    params(("currency" = String, Path), ("month" = String, Path, description = "YYYY-MM"), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = ExchangeRateView), (status = 422, body = Problem)))]
pub async fn set_exchange_rate(
    State(app): State<AppState>,
    Path((currency, month)): Path<(String, String)>,
    m: Mutation<ExchangeRateInput>,
) -> ApiResult<Response> {
    Ok(reply(
        app.set_exchange_rate(&m.ctx, &currency, &month, &m.body)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}/guarantees", tag = "taxes", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<GuaranteeView>), (status = 404, body = Problem)))]
pub async fn guarantees(
    State(app): State<AppState>,
    c: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<Vec<GuaranteeView>>> {
    Ok(axum::Json(app.guarantees(&c.ctx, id).await?))
}

#[utoipa::path(post, path = "/api/v1/enterprises/{id}/guarantees", tag = "taxes", request_body = GuaranteeInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 201, body = GuaranteeView), (status = 422, body = Problem)))]
pub async fn register_guarantee(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<GuaranteeInput>,
) -> ApiResult<Response> {
    Ok(reply(app.register_guarantee(&m.ctx, id, &m.body).await?))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/exchange-rates", get(exchange_rates))
        .route(
            "/api/v1/exchange-rates/{currency}/{month}",
            put(set_exchange_rate),
        )
        .route(
            "/api/v1/enterprises/{id}/guarantees",
            get(guarantees).post(register_guarantee),
        )
        .merge(router_more())
        .merge(router_tariff())
}

#[utoipa::path(post, path = "/api/v1/guarantees/{id}/decision", tag = "taxes", request_body = tongguan_api::DecisionInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = GuaranteeView), (status = 422, body = Problem)))]
pub async fn decide_guarantee(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<tongguan_api::DecisionInput>,
) -> ApiResult<Response> {
    Ok(reply(
        app.decide_guarantee(&m.ctx, id, m.body.approve, &m.body.reason)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}/quota", tag = "taxes", params(("id" = Uuid, Path)),
    responses((status = 200, body = crate::app::taxes::QuotaView), (status = 404, body = Problem)))]
pub async fn quota(
    State(app): State<AppState>,
    c: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<crate::app::taxes::QuotaView>> {
    Ok(axum::Json(app.quota(&c.ctx, id).await?))
}

#[utoipa::path(post, path = "/api/v1/enterprises/{id}/statements/{month}/payments", tag = "taxes",
    request_body = crate::app::taxes::StatementPaymentInput,
    params(("id" = Uuid, Path), ("month" = String, Path, description = "YYYY-MM"), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = crate::app::taxes::StatementView), (status = 422, body = Problem)))]
pub async fn pay_statement(
    State(app): State<AppState>,
    Path((id, month)): Path<(Uuid, String)>,
    m: Mutation<crate::app::taxes::StatementPaymentInput>,
) -> ApiResult<Response> {
    Ok(reply(app.pay_statement(&m.ctx, id, &month, &m.body).await?))
}

#[utoipa::path(post, path = "/api/v1/declarations/{id}/payment", tag = "taxes", request_body = crate::app::taxes::PaymentInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = crate::app::clearance::DeclarationView), (status = 422, body = Problem)))]
pub async fn record_payment(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<crate::app::taxes::PaymentInput>,
) -> ApiResult<Response> {
    Ok(reply(app.record_payment(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}/statements/{month}", tag = "taxes",
    params(("id" = Uuid, Path), ("month" = String, Path, description = "YYYY-MM, up to the current month")),
    responses((status = 200, body = crate::app::taxes::StatementView, description = "The month's consolidated-tax statement as of today (empty when nothing was released that month)"),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn statement(
    State(app): State<AppState>,
    c: Caller,
    Path((id, month)): Path<(Uuid, String)>,
) -> ApiResult<axum::Json<crate::app::taxes::StatementView>> {
    Ok(axum::Json(app.statement(&c.ctx, id, &month).await?))
}

pub fn router_more() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/guarantees/{id}/decision",
            axum::routing::post(decide_guarantee),
        )
        .route("/api/v1/enterprises/{id}/quota", get(quota))
        .route(
            "/api/v1/enterprises/{id}/statements/{month}",
            get(statement),
        )
        .route(
            "/api/v1/enterprises/{id}/statements/{month}/payments",
            axum::routing::post(pay_statement),
        )
        .route(
            "/api/v1/declarations/{id}/payment",
            axum::routing::post(record_payment),
        )
}

#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DateQuery {
    /// The day (default: today in China).
    pub date: Option<chrono::NaiveDate>,
}

#[utoipa::path(get, path = "/api/v1/tariff/{code}", tag = "taxes", params(("code" = String, Path, description = "10 or 8 digits, dots allowed"), DateQuery),
    responses((status = 200, body = tongguan_tax::tariff::TariffLine), (status = 404, body = Problem)))]
pub async fn tariff_line(
    State(app): State<AppState>,
    _c: Caller,
    Path(code): Path<String>,
    Q(q): Q<DateQuery>,
) -> ApiResult<axum::Json<tongguan_tax::tariff::TariffLine>> {
    let on = q.date.unwrap_or_else(|| app.today());
    Ok(axum::Json(app.tariff_line(&code, on)?))
}

#[utoipa::path(post, path = "/api/v1/tariff/versions", tag = "taxes",
    params(tongguan_api::NewVersionParams, ("Idempotency-Key" = String, Header)),
    request_body(content = String, content_type = "text/csv", description = "The tariff CSV documented in crates/tongguan-tax/src/tariff.rs"),
    responses((status = 201, description = "Stored; in force from valid_from"), (status = 422, body = Problem)))]
pub async fn load_tariff(
    State(app): State<AppState>,
    Q(params): Q<tongguan_api::NewVersionParams>,
    m: super::extract::CsvMutation,
) -> ApiResult<Response> {
    Ok(reply(app.load_tariff(&m.ctx, &params, &m.text).await?))
}

#[utoipa::path(post, path = "/api/v1/exchange-rates", tag = "taxes", params(("Idempotency-Key" = String, Header)),
    request_body(content = String, content_type = "text/csv", description = "currency,month,cny_per_unit,source"),
    responses((status = 201, description = "Imported"), (status = 422, body = Problem)))]
pub async fn import_exchange_rates(
    State(app): State<AppState>,
    m: super::extract::CsvMutation,
) -> ApiResult<Response> {
    Ok(reply(app.import_exchange_rates(&m.ctx, &m.text).await?))
}

pub fn router_tariff() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tariff/versions", axum::routing::post(load_tariff))
        .route("/api/v1/tariff/{code}", get(tariff_line))
        .route(
            "/api/v1/exchange-rates",
            axum::routing::post(import_exchange_rates),
        )
        .route("/api/v1/quotas", get(quotas))
}

#[utoipa::path(get, path = "/api/v1/quotas", tag = "taxes",
    responses((status = 200, body = Vec<crate::app::taxes::QuotaView>, description = "Officers: every enterprise's quota and statements, suspended ones first"), (status = 403, body = Problem)))]
pub async fn quotas(
    State(app): State<AppState>,
    c: Caller,
) -> ApiResult<axum::Json<Vec<crate::app::taxes::QuotaView>>> {
    Ok(axum::Json(app.quotas(&c.ctx).await?))
}
