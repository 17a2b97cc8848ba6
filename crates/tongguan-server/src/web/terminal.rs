//! The terminal board (码头/场站): container lookup with the gate decision, arrival reports.

use super::*;

#[derive(Template)]
#[template(path = "terminal.html")]
pub(super) struct TerminalPage {
    c: Chrome,
    key: String,
    container: String,
    decision: Option<(String, String)>,
    lookup_error: String,
    released: Option<usize>,
    arrival_error: String,
}

#[derive(Deserialize)]
pub(super) struct Lookup {
    container: Option<String>,
}

pub(super) async fn terminal_page(
    app: &App,
    headers: &HeaderMap,
    container: Option<String>,
    released: Option<usize>,
    arrival_error: String,
) -> Response {
    let ctx = match session(app, headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let l = Lang::of(headers);
    let (decision, lookup_error) = match container
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(c) => match app.gate_decision(&ctx, c) {
            Ok(d) => (
                Some((
                    l.t(&format!("gate_{:?}", d.action)).to_string(),
                    l.reason(&d.reason),
                )),
                String::new(),
            ),
            Err(AppError::Invalid(v)) => (None, messages(l, &v)),
            Err(e) => (None, e.to_string()),
        },
        None => (None, String::new()),
    };
    page(&TerminalPage {
        c: chrome(l, &ctx, "/terminal"),
        key: Uuid::now_v7().to_string(),
        container: container.unwrap_or_default(),
        decision,
        lookup_error,
        released,
        arrival_error,
    })
}

pub(super) async fn terminal(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Lookup>,
) -> Response {
    terminal_page(&app, &headers, q.container, None, String::new()).await
}

#[derive(Deserialize)]
pub(super) struct ArrivalForm {
    key: String,
    bill_no: String,
}

pub(super) async fn arrival(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Form(f): Form<ArrivalForm>,
) -> Response {
    let l = Lang::of(&headers);
    let Some(terminal) = ctx.actor.terminals.first().cloned() else {
        return error_page(l, &AppError::Forbidden("no terminal".into()));
    };
    let input = ArrivalReportInput {
        terminal,
        bill_no: Some(f.bill_no.trim().to_string()),
        containers: vec![],
    };
    let kctx = keyed(
        &ctx,
        &f.key,
        &serde_json::to_string(&input).unwrap_or_default(),
    );
    match app.report_arrival(&kctx, &input).await {
        Ok(reply) => {
            let n = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["released"].as_array().map(Vec::len))
                .unwrap_or(0);
            terminal_page(&app, &headers, None, Some(n), String::new()).await
        }
        Err(AppError::Invalid(v)) => {
            let msg = messages(l, &v);
            terminal_page(&app, &headers, None, None, msg).await
        }
        Err(e) => error_page(l, &e),
    }
}
