//! Handlers of the clearance core: declarations, manifests, arrival reports, control
//! instructions, gate queries.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use tongguan_api::{Problem, Reason};
use tongguan_domain::lifecycle::Event;
use tongguan_domain::manifest::{ArrivalReportInput, Manifest, ManifestInput};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Caller, Mutation};
use super::reply;
use super::routes::Q;
use crate::app::App;
use crate::app::clearance::{
    AmendmentInput, ArrivalOutcome, CompleteInput, DecisionInput, DeclarationEdit,
    DeclarationQuery, DeclarationView, GateDecision, InspectionInput, InstructionInput,
    InstructionView, MarketAdmissionInput, NewDeclaration, Timeline, TimelineQuery,
};

type AppState = Arc<App>;
type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(post, path = "/api/v1/declarations", tag = "declarations", request_body = NewDeclaration,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = DeclarationView, description = "Saved as draft, or submitted and accepted"),
              (status = 422, body = Problem, description = "Every violation with its field path")))]
pub async fn create_declaration(
    State(app): State<AppState>,
    m: Mutation<NewDeclaration>,
) -> ApiResult<Response> {
    Ok(reply(app.create_declaration(&m.ctx, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/declarations", tag = "declarations", params(DeclarationQuery),
    responses((status = 200, body = Vec<DeclarationView>, description = "Enterprises: their own; officers: their district's work queue")))]
pub async fn list_declarations(
    State(app): State<AppState>,
    c: Caller,
    Q(q): Q<DeclarationQuery>,
) -> ApiResult<axum::Json<Vec<DeclarationView>>> {
    Ok(axum::Json(app.list_declarations(&c.ctx, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/declarations/{id}", tag = "declarations", params(("id" = Uuid, Path)),
    responses((status = 200, body = DeclarationView), (status = 404, body = Problem)))]
pub async fn get_declaration(
    State(app): State<AppState>,
    c: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<DeclarationView>> {
    Ok(axum::Json(app.get_declaration(&c.ctx, id).await?))
}

#[utoipa::path(put, path = "/api/v1/declarations/{id}", tag = "declarations", request_body = DeclarationEdit,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = DeclarationView), (status = 422, body = Problem)))]
pub async fn edit_declaration(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<DeclarationEdit>,
) -> ApiResult<Response> {
    Ok(reply(app.edit_declaration(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(post, path = "/api/v1/declarations/{id}/submit", tag = "declarations",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = DeclarationView), (status = 422, body = Problem)))]
pub async fn submit_declaration(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<Option<serde_json::Value>>,
) -> ApiResult<Response> {
    Ok(reply(app.submit_declaration(&m.ctx, id).await?))
}

#[utoipa::path(get, path = "/api/v1/declarations/{id}/events", tag = "declarations", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Event>, description = "Every status change with actor, time and reason")))]
pub async fn declaration_events(
    State(app): State<AppState>,
    c: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<Vec<Event>>> {
    Ok(axum::Json(app.declaration_events(&c.ctx, id).await?))
}

#[utoipa::path(get, path = "/api/v1/timeline", tag = "declarations", params(TimelineQuery),
    responses((status = 200, body = Timeline, description = "Current status, arrival, inspection status and every status change of a declaration, bill of lading or container (M15)"),
        (status = 404, body = Problem, description = "Nothing the caller may see"), (status = 422, body = Problem)))]
pub async fn timeline(
    State(app): State<AppState>,
    c: Caller,
    Q(q): Q<TimelineQuery>,
) -> ApiResult<axum::Json<Timeline>> {
    Ok(axum::Json(app.timeline(&c.ctx, &q).await?))
}

/// Events read from the store per wake-up of a stream.
const FEED_PAGE: i64 = 200;

#[utoipa::path(get, path = "/api/v1/events/stream", tag = "events",
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event (the `id:` of the last one received); without it the stream starts with the next change")),
    responses((status = 200, content_type = "text/event-stream", description = "Server-sent events from the outbox the caller may see: the event name is the message type (`declaration.status`, `container.status`, `manifest.filed`, `arrival.reported`, `gate.decision`, `tax.transfer`, `guarantee.status`), `id:` the global outbox sequence, `data:` the message (M15)")))]
pub async fn event_stream(
    State(app): State<AppState>,
    c: Caller,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    use axum::response::IntoResponse;
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    let after = match headers.get("last-event-id") {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                super::error::malformed(
                    "Last-Event-ID",
                    "sse.last_event_id",
                    "Last-Event-ID is the id of an event this stream sent",
                )
            })?,
        None => app
            .store
            .last_outbox_seq()
            .await
            .map_err(crate::app::AppError::from)?,
    };
    let wake = app.feed.subscribe();
    let pending: std::collections::VecDeque<tongguan_store::OutboxRow> =
        std::collections::VecDeque::new();
    let state = (app, c.ctx, c.credential_id, after, wake, pending);
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            let (app, ctx, credential, cursor, wake, pending) = &mut st;
            if let Some(m) = pending.pop_front() {
                let out = SseEvent::default()
                    .id(m.seq.to_string())
                    .event(m.kind)
                    .data(m.data);
                return Some((Ok::<_, crate::app::AppError>(out), st));
            }
            if app.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                return None;
            }
            // A token revoked (or a user disabled) while the stream is open ends it.
            match app.credential_in_force(*credential).await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some((Err(e), st)),
            }
            // Mark the feed seen before reading so a commit in between wakes us again.
            wake.borrow_and_update();
            match app.feed_page(ctx, *cursor, FEED_PAGE).await {
                Ok((next, page)) => {
                    let moved = next != *cursor;
                    *cursor = next;
                    pending.extend(page);
                    if !moved && wake.changed().await.is_err() {
                        return None;
                    }
                }
                Err(e) => return Some((Err(e), st)),
            }
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/declarations/{id}/cancellation", tag = "declarations", request_body = Reason,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)), responses((status = 200, body = DeclarationView)))]
pub async fn request_cancellation(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<Reason>,
) -> ApiResult<Response> {
    Ok(reply(
        app.request_cancellation(&m.ctx, id, &m.body.reason).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/declarations/{id}/amendment", tag = "declarations", request_body = AmendmentInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)), responses((status = 200, body = DeclarationView)))]
pub async fn request_amendment(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<AmendmentInput>,
) -> ApiResult<Response> {
    Ok(reply(app.request_amendment(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(post, path = "/api/v1/declarations/{id}/request-decision", tag = "officers", request_body = DecisionInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)), responses((status = 200, body = DeclarationView)))]
pub async fn decide_request(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<DecisionInput>,
) -> ApiResult<Response> {
    Ok(reply(app.decide_request(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(post, path = "/api/v1/declarations/{id}/return", tag = "officers", request_body = Reason,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)), responses((status = 200, body = DeclarationView)))]
pub async fn return_declaration(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<Reason>,
) -> ApiResult<Response> {
    Ok(reply(
        app.return_declaration(&m.ctx, id, &m.body.reason).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/declarations/{id}/inspection", tag = "officers", request_body = InspectionInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)), responses((status = 200, body = DeclarationView)))]
pub async fn record_inspection(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<InspectionInput>,
) -> ApiResult<Response> {
    Ok(reply(app.record_inspection(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(post, path = "/api/v1/declarations/{id}/market-admission", tag = "officers", request_body = MarketAdmissionInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)), responses((status = 200, body = DeclarationView)))]
pub async fn admit_to_market(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<MarketAdmissionInput>,
) -> ApiResult<Response> {
    Ok(reply(app.admit_to_market(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(post, path = "/api/v1/declarations/{id}/complete", tag = "declarations", request_body = CompleteInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)), responses((status = 200, body = DeclarationView)))]
pub async fn complete_declaration(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<CompleteInput>,
) -> ApiResult<Response> {
    Ok(reply(app.complete_declaration(&m.ctx, id, &m.body).await?))
}

#[utoipa::path(post, path = "/api/v1/manifests", tag = "manifests", request_body = ManifestInput,
    params(("Idempotency-Key" = String, Header)), responses((status = 201, body = Manifest), (status = 422, body = Problem)))]
pub async fn file_manifest(
    State(app): State<AppState>,
    m: Mutation<ManifestInput>,
) -> ApiResult<Response> {
    Ok(reply(app.file_manifest(&m.ctx, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/manifests/{id}", tag = "manifests", params(("id" = Uuid, Path)),
    responses((status = 200, body = Manifest), (status = 404, body = Problem)))]
pub async fn get_manifest(
    State(app): State<AppState>,
    c: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<Manifest>> {
    Ok(axum::Json(app.get_manifest(&c.ctx, id).await?))
}

#[utoipa::path(post, path = "/api/v1/arrival-reports", tag = "terminals", request_body = ArrivalReportInput,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = ArrivalOutcome, description = "Declarations released in the same transaction (秒放)")))]
pub async fn report_arrival(
    State(app): State<AppState>,
    m: Mutation<ArrivalReportInput>,
) -> ApiResult<Response> {
    Ok(reply(app.report_arrival(&m.ctx, &m.body).await?))
}

#[utoipa::path(get, path = "/api/v1/gate/containers/{container_no}", tag = "terminals", params(("container_no" = String, Path)),
    responses((status = 200, body = GateDecision), (status = 422, body = Problem)))]
pub async fn gate_decision(
    State(app): State<AppState>,
    c: Caller,
    Path(no): Path<String>,
) -> ApiResult<axum::Json<GateDecision>> {
    Ok(axum::Json(app.gate_decision(&c.ctx, &no)?))
}

#[utoipa::path(get, path = "/api/v1/control-instructions", tag = "officers", responses((status = 200, body = Vec<InstructionView>)))]
pub async fn list_instructions(
    State(app): State<AppState>,
    c: Caller,
) -> ApiResult<axum::Json<Vec<InstructionView>>> {
    Ok(axum::Json(app.list_instructions(&c.ctx).await?))
}

#[utoipa::path(post, path = "/api/v1/control-instructions", tag = "officers", request_body = InstructionInput,
    params(("Idempotency-Key" = String, Header)), responses((status = 201, body = InstructionView), (status = 422, body = Problem)))]
pub async fn create_instruction(
    State(app): State<AppState>,
    m: Mutation<InstructionInput>,
) -> ApiResult<Response> {
    Ok(reply(app.create_instruction(&m.ctx, &m.body).await?))
}

#[utoipa::path(put, path = "/api/v1/control-instructions/{id}", tag = "officers", request_body = InstructionInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)), responses((status = 200, body = InstructionView)))]
pub async fn change_instruction(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<InstructionInput>,
) -> ApiResult<Response> {
    Ok(reply(
        app.change_instruction(&m.ctx, id, Some(&m.body), None)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/control-instructions/{id}/revoke", tag = "officers", request_body = Reason,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)), responses((status = 200, body = InstructionView)))]
pub async fn revoke_instruction(
    State(app): State<AppState>,
    Path(id): Path<Uuid>,
    m: Mutation<Reason>,
) -> ApiResult<Response> {
    Ok(reply(
        app.change_instruction(&m.ctx, id, None, Some(&m.body.reason))
            .await?,
    ))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/declarations",
            get(list_declarations).post(create_declaration),
        )
        .route(
            "/api/v1/declarations/{id}",
            get(get_declaration).put(edit_declaration),
        )
        .route("/api/v1/declarations/{id}/submit", post(submit_declaration))
        .route("/api/v1/declarations/{id}/events", get(declaration_events))
        .route("/api/v1/timeline", get(timeline))
        .route("/api/v1/events/stream", get(event_stream))
        .route(
            "/api/v1/declarations/{id}/cancellation",
            post(request_cancellation),
        )
        .route(
            "/api/v1/declarations/{id}/amendment",
            post(request_amendment),
        )
        .route(
            "/api/v1/declarations/{id}/request-decision",
            post(decide_request),
        )
        .route("/api/v1/declarations/{id}/return", post(return_declaration))
        .route(
            "/api/v1/declarations/{id}/inspection",
            post(record_inspection),
        )
        .route(
            "/api/v1/declarations/{id}/market-admission",
            post(admit_to_market),
        )
        .route(
            "/api/v1/declarations/{id}/complete",
            post(complete_declaration),
        )
        .route("/api/v1/manifests", post(file_manifest))
        .route("/api/v1/manifests/{id}", get(get_manifest))
        .route("/api/v1/arrival-reports", post(report_arrival))
        .route("/api/v1/gate/containers/{container_no}", get(gate_decision))
        .route(
            "/api/v1/control-instructions",
            get(list_instructions).post(create_instruction),
        )
        .route(
            "/api/v1/control-instructions/{id}",
            axum::routing::put(change_instruction),
        )
        .route(
            "/api/v1/control-instructions/{id}/revoke",
            post(revoke_instruction),
        )
}
