//! Webhook subscriptions with their delivery logs (M15).

use super::*;

pub(super) struct DeliveryLine {
    id: Uuid,
    key: String,
    at: String,
    kind: String,
    status: String,
    attempts: i64,
    last: String,
}

pub(super) struct SubBox {
    id: Uuid,
    key: String,
    url: String,
    status: String,
    disabled: bool,
    disabled_reason: String,
    deliveries: Vec<DeliveryLine>,
}

#[derive(Template)]
#[template(path = "subscriptions.html")]
pub(super) struct SubscriptionsPage {
    c: Chrome,
    key: String,
    url: String,
    event_types: String,
    error: String,
    secret: Option<String>,
    subs: Vec<SubBox>,
}

pub(super) async fn subscriptions_page(
    app: &App,
    headers: &HeaderMap,
    form: Option<(String, String, String)>,
    secret: Option<String>,
) -> Response {
    let ctx = match session(app, headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let l = Lang::of(headers);
    let list = match app.list_subscriptions(&ctx).await {
        Ok(v) => v,
        Err(e) => return error_page(l, &e),
    };
    let mut subs = Vec::new();
    for s in list {
        let deliveries = app
            .deliveries(
                &ctx,
                s.id,
                &tongguan_api::DeliveryQuery {
                    status: None,
                    limit: Some(20),
                },
            )
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|d| DeliveryLine {
                id: d.id,
                key: Uuid::now_v7().to_string(),
                at: d.updated_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                kind: d.event_type,
                status: l.t(&format!("delivery_{}", d.status)).to_string(),
                attempts: d.attempts,
                last: d
                    .last_status
                    .map(|s| s.to_string())
                    .or(d.last_error)
                    .unwrap_or_default(),
            })
            .collect();
        subs.push(SubBox {
            id: s.id,
            key: Uuid::now_v7().to_string(),
            url: s.url,
            disabled: s.status == "disabled",
            status: l.t(&format!("sub_{}", s.status)).to_string(),
            disabled_reason: s.disabled_reason.unwrap_or_default(),
            deliveries,
        });
    }
    let (url, event_types, error) = form.unwrap_or_default();
    let failed = !error.is_empty();
    let mut r = page(&SubscriptionsPage {
        c: chrome(l, &ctx, "/app/subscriptions"),
        key: Uuid::now_v7().to_string(),
        url,
        event_types,
        error,
        secret,
        subs,
    });
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub(super) async fn subscriptions(State(app): State<AppState>, headers: HeaderMap) -> Response {
    subscriptions_page(&app, &headers, None, None).await
}

#[derive(Deserialize)]
pub(super) struct SubscribeForm {
    key: String,
    url: String,
    #[serde(default)]
    event_types: String,
}

pub(super) async fn subscribe(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Form(f): Form<SubscribeForm>,
) -> Response {
    let l = Lang::of(&headers);
    let input = tongguan_api::NewSubscription {
        url: f.url.trim().to_string(),
        secret: None,
        filter: tongguan_api::SubscriptionFilter {
            event_types: f
                .event_types
                .split([',', ' '])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            ..Default::default()
        },
        terminal: None,
        description: "web".into(),
    };
    let kctx = keyed(
        &ctx,
        &f.key,
        &serde_json::to_string(&input).unwrap_or_default(),
    );
    match app.create_subscription(&kctx, &input).await {
        Ok(reply) => {
            let secret = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["secret"].as_str().map(str::to_string));
            subscriptions_page(&app, &headers, None, secret).await
        }
        Err(AppError::Invalid(v)) => {
            let msg = messages(l, &v);
            subscriptions_page(&app, &headers, Some((f.url, f.event_types, msg)), None).await
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize)]
pub(super) struct KeyForm {
    key: String,
}

pub(super) async fn enable_subscription(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Path(id): Path<Uuid>,
    Form(f): Form<KeyForm>,
) -> Response {
    let kctx = keyed(&ctx, &f.key, &format!("enable {id}"));
    match app
        .set_subscription_active(&kctx, id, true, "re-enabled in the web portal")
        .await
    {
        Ok(_) => Redirect::to("/app/subscriptions").into_response(),
        Err(e) => error_page(Lang::of(&headers), &e),
    }
}

pub(super) async fn redeliver(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Path((id, delivery)): Path<(Uuid, Uuid)>,
    Form(f): Form<KeyForm>,
) -> Response {
    let kctx = keyed(&ctx, &f.key, &format!("redeliver {delivery}"));
    match app.redeliver(&kctx, id, delivery).await {
        Ok(_) => Redirect::to("/app/subscriptions").into_response(),
        Err(e) => error_page(Lang::of(&headers), &e),
    }
}
