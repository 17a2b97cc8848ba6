//! Handlers of webhook subscriptions, their delivery logs and the admins' network
//! allowances (M15).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use tongguan_api::{
    AllowedNetwork, Delivery, DeliveryQuery, NetworkInput, NewSubscription, Problem, Reason,
    RecoverInput, Recovered, RotateSecret, Subscription,
};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Caller, Mutation};
use super::reply;
use super::routes::Q;
use crate::app::App;

type AppState = Arc<App>;
type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(post, path = "/api/v1/subscriptions", tag = "webhooks", request_body = NewSubscription,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = Subscription, description = "Created; `secret` is shown once here (and at rotation)"),
              (status = 422, body = Problem, description = "Bad URL, a loopback/private/link-local address not allowed by an admin, bad secret or filter")))]
pub async fn create_subscription(
    State(app): State<AppState>,
    m: Mutation<NewSubscription>,
) -> ApiResult<Response> {
    Ok(reply(app.create_subscription(&m.ctx, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "webhooks",
    responses((status = 200, body = Vec<Subscription>, description = "The caller's enterprise's or terminals' subscriptions")))]
pub async fn list_subscriptions(
    State(app): State<AppState>,
    c: Caller,
) -> ApiResult<axum::Json<Vec<Subscription>>> {
    Ok(axum::Json(app.list_subscriptions(&c.ctx).await?))
}

#[utoipa::path(get, path = "/api/v1/subscriptions/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem)))]
pub async fn get_subscription(
    State(app): State<AppState>,
    c: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<Subscription>> {
    Ok(axum::Json(app.get_subscription(&c.ctx, id).await?))
}

#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/enable", tag = "webhooks", request_body = Reason,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = Subscription, description = "Active again (after being disabled by failures or by its owner)")))]
pub async fn enable_subscription(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<Reason>,
) -> ApiResult<Response> {
    Ok(reply(
        app.set_subscription_active(&m.ctx, id, true, &m.body.reason)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/disable", tag = "webhooks", request_body = Reason,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = Subscription)))]
pub async fn disable_subscription(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<Reason>,
) -> ApiResult<Response> {
    Ok(reply(
        app.set_subscription_active(&m.ctx, id, false, &m.body.reason)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/secret", tag = "webhooks", request_body = RotateSecret,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = Subscription, description = "The new secret; the previous one keeps signing for the grace period")))]
pub async fn rotate_secret(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<RotateSecret>,
) -> ApiResult<Response> {
    Ok(reply(app.rotate_secret(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/subscriptions/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path), DeliveryQuery),
    responses((status = 200, body = Vec<Delivery>, description = "The delivery log, newest message first")))]
pub async fn deliveries(
    State(app): State<AppState>,
    c: Caller,
    Path(id): Path<Uuid>,
    Q(q): Q<DeliveryQuery>,
) -> ApiResult<axum::Json<Vec<Delivery>>> {
    Ok(axum::Json(app.deliveries(&c.ctx, id, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/subscriptions/{id}/deliveries/{delivery}", tag = "webhooks",
    params(("id" = Uuid, Path), ("delivery" = Uuid, Path)),
    responses((status = 200, body = Delivery, description = "One delivery with every attempt")))]
pub async fn delivery(
    State(app): State<AppState>,
    c: Caller,
    Path((id, delivery)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<Delivery>> {
    Ok(axum::Json(app.delivery(&c.ctx, id, delivery).await?))
}

#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/deliveries/{delivery}/redeliver", tag = "webhooks",
    params(("id" = Uuid, Path), ("delivery" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 202, body = Delivery, description = "Scheduled now, with the same webhook-id")))]
pub async fn redeliver(
    State(app): State<AppState>,
    Path((id, delivery)): Path<(Uuid, Uuid)>,
    m: Mutation<Option<serde_json::Value>>,
) -> ApiResult<Response> {
    Ok(reply(app.redeliver(&m.ctx, id, delivery).await?))
}

#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/recover", tag = "webhooks", request_body = RecoverInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 202, body = Recovered, description = "Failed deliveries of messages since then, scheduled again")))]
pub async fn recover(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<RecoverInput>,
) -> ApiResult<Response> {
    Ok(reply(app.recover(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/webhook-allowlist", tag = "webhooks",
    responses((status = 200, body = Vec<AllowedNetwork>, description = "Networks webhooks may reach although special (admins)")))]
pub async fn allowed_networks(
    State(app): State<AppState>,
    c: Caller,
) -> ApiResult<axum::Json<Vec<AllowedNetwork>>> {
    Ok(axum::Json(app.allowed_networks(&c.ctx).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/webhook-allowlist", tag = "webhooks", request_body = NetworkInput,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 200, body = AllowedNetwork, description = "Webhooks may reach this loopback/private/link-local network")))]
pub async fn allow_network(
    State(app): State<AppState>,
    m: Mutation<NetworkInput>,
) -> ApiResult<Response> {
    Ok(reply(app.set_network(&m.ctx, &m.body, true).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/webhook-allowlist/removal", tag = "webhooks", request_body = NetworkInput,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 200, body = AllowedNetwork, description = "The allowance is withdrawn"), (status = 404, body = Problem)))]
pub async fn disallow_network(
    State(app): State<AppState>,
    m: Mutation<NetworkInput>,
) -> ApiResult<Response> {
    Ok(reply(app.set_network(&m.ctx, &m.body, false).await?))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/subscriptions",
            get(list_subscriptions).post(create_subscription),
        )
        .route("/api/v1/subscriptions/{id}", get(get_subscription))
        .route(
            "/api/v1/subscriptions/{id}/enable",
            post(enable_subscription),
        )
        .route(
            "/api/v1/subscriptions/{id}/disable",
            post(disable_subscription),
        )
        .route("/api/v1/subscriptions/{id}/secret", post(rotate_secret))
        .route("/api/v1/subscriptions/{id}/deliveries", get(deliveries))
        .route(
            "/api/v1/subscriptions/{id}/deliveries/{delivery}",
            get(delivery),
        )
        .route(
            "/api/v1/subscriptions/{id}/deliveries/{delivery}/redeliver",
            post(redeliver),
        )
        .route("/api/v1/subscriptions/{id}/recover", post(recover))
        .route(
            "/api/v1/admin/webhook-allowlist",
            get(allowed_networks).post(allow_network),
        )
        .route(
            "/api/v1/admin/webhook-allowlist/removal",
            post(disallow_network),
        )
}
