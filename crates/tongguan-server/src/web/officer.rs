//! The officer console (关员): work queue, control instructions, a declaration with its risk explanation, inspection results, guarantee approval, the audit log.

use super::*;

pub(super) struct InstructionRow {
    id: Uuid,
    key: String,
    prefixes: String,
    action: String,
    reason: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "officer.html")]
pub(super) struct OfficerPage {
    c: Chrome,
    key: String,
    queue: Vec<Row>,
    instructions: Vec<InstructionRow>,
    errors: Vec<(String, String)>,
    created: bool,
    /// Holiday notices not loaded for the coming year(s): due dates there are unknown.
    warnings: Vec<String>,
}

/// The officer console's warning of a missing State Council holiday notice.
pub(super) fn calendar_warning(l: Lang, year: i32) -> String {
    match l {
        Lang::En => format!(
            "The State Council holiday notice for {year} is not loaded: working days in {year} are unknown, so statement due dates there are not computed (statements cannot fall overdue). Load it (reference dataset `holidays`) once it is published."
        ),
        Lang::Zh => format!(
            "尚未载入国务院办公厅关于{year}年部分节假日安排的通知：{year}年的工作日未知，汇总征税缴款期限无法计算（不会判定逾期）。通知发布后请管理员载入参数“holidays”。"
        ),
    }
}

impl OfficerPage {
    fn err(&self, path: &str) -> String {
        self.errors
            .iter()
            .filter(|(p, _)| p == path || p.starts_with(&format!("{path}/")))
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// An action's name in the page's language.
pub(super) fn action_name(l: Lang, a: tongguan_risk::ControlAction) -> String {
    match l {
        Lang::En => a.as_str().replace('_', " "),
        Lang::Zh => a.name_zh().to_string(),
    }
}

pub(super) async fn officer_page(
    app: &App,
    headers: &HeaderMap,
    errors: Vec<(String, String)>,
    created: bool,
) -> Response {
    let ctx = match session(app, headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let l = Lang::of(headers);
    let queue = match app
        .list_declarations(
            &ctx,
            &DeclarationQuery {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
    {
        Ok(v) => v,
        Err(e) => return error_page(l, &e),
    };
    let instructions = match app.list_instructions(&ctx).await {
        Ok(v) => v,
        Err(e) => return error_page(l, &e),
    };
    let mut r = page(&OfficerPage {
        c: chrome(l, &ctx, "/officer"),
        key: Uuid::now_v7().to_string(),
        queue: queue
            .iter()
            .map(|d| Row {
                id: d.declaration.id,
                status: d.declaration.status.as_str().to_string(),
                customs_no: d.declaration.customs_no.clone().unwrap_or_default(),
                bill_no: d.declaration.content.head.bill_no.clone(),
                updated: d
                    .declaration
                    .updated_at
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
            })
            .collect(),
        instructions: instructions
            .iter()
            .map(|i| InstructionRow {
                id: i.instruction.id,
                key: Uuid::now_v7().to_string(),
                prefixes: i.instruction.conditions.commodity_prefixes.join(", "),
                action: action_name(l, i.instruction.action),
                reason: i.instruction.reason.clone(),
                active: i.active,
            })
            .collect(),
        created,
        errors: errors.clone(),
        warnings: app
            .missing_calendar_years()
            .into_iter()
            .map(|y| calendar_warning(l, y))
            .collect(),
    });
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub(super) async fn officer(State(app): State<AppState>, headers: HeaderMap) -> Response {
    officer_page(&app, &headers, Vec::new(), false).await
}

#[derive(Deserialize)]
pub(super) struct InstructionForm {
    key: String,
    commodity_prefix: String,
    #[serde(default)]
    origin_country: String,
    action: String,
    reason: String,
}

pub(super) async fn create_instruction(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Form(f): Form<InstructionForm>,
) -> Response {
    let l = Lang::of(&headers);
    let action = tongguan_risk::ControlAction::ALL
        .iter()
        .copied()
        .find(|a| a.as_str() == f.action)
        .unwrap_or(tongguan_risk::ControlAction::PhysicalInspection);
    let input = tongguan_api::InstructionInput {
        conditions: tongguan_risk::Conditions {
            commodity_prefixes: vec![f.commodity_prefix.trim().to_string()],
            origin_countries: f
                .origin_country
                .split([',', ' '])
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_ascii_uppercase)
                .collect(),
            ..Default::default()
        },
        action,
        selection_rate: Decimal::ONE,
        valid_from: app.now(),
        valid_until: None,
        reason: f.reason.trim().to_string(),
        version: None,
    };
    let kctx = keyed(
        &ctx,
        &f.key,
        &serde_json::to_string(&input).unwrap_or_default(),
    );
    match app.create_instruction(&kctx, &input).await {
        Ok(_) => officer_page(&app, &headers, Vec::new(), true).await,
        Err(AppError::Invalid(v)) => {
            let errors =
                v.0.iter()
                    .map(|x| {
                        // The form's fields by the instruction's paths.
                        let field = if x.path.contains("commodity") {
                            "commodity_prefix"
                        } else if x.path.contains("origin") {
                            "origin_country"
                        } else {
                            "reason"
                        };
                        (field.to_string(), l.violation(&x.rule, &x.message))
                    })
                    .collect();
            officer_page(&app, &headers, errors, false).await
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize)]
pub(super) struct RevokeForm {
    key: String,
    reason: String,
}

pub(super) async fn revoke_instruction(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Path(id): Path<Uuid>,
    Form(f): Form<RevokeForm>,
) -> Response {
    let l = Lang::of(&headers);
    let kctx = keyed(&ctx, &f.key, &format!("revoke {id} {}", f.reason));
    match app
        .change_instruction(&kctx, id, None, Some(f.reason.trim()))
        .await
    {
        Ok(_) => Redirect::to("/officer").into_response(),
        Err(AppError::Invalid(v)) => {
            let errors =
                v.0.iter()
                    .map(|x| ("reason".to_string(), l.violation(&x.rule, &x.message)))
                    .collect();
            officer_page(&app, &headers, errors, false).await
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Template)]
#[template(path = "officer_declaration.html")]
pub(super) struct OfficerDeclPage {
    c: Chrome,
    key: String,
    id: Uuid,
    customs_no: String,
    bill_no: String,
    containers: String,
    control: String,
    assessment: String,
    status: String,
    events: Vec<EventRow>,
    can_record: bool,
}

pub(super) async fn officer_declaration(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let l = Lang::of(&headers);
    match declaration_parts(&app, &ctx, id, l).await {
        Ok((d, events)) => {
            let decl = &d.declaration;
            page(&OfficerDeclPage {
                c: chrome(l, &ctx, format!("/officer/declarations/{id}")),
                key: Uuid::now_v7().to_string(),
                id,
                customs_no: decl.customs_no.clone().unwrap_or_default(),
                bill_no: decl.content.head.bill_no.clone(),
                containers: decl.content.head.containers.join(", "),
                control: decl
                    .control
                    .as_ref()
                    .map(|c| format!("{} — {}", c.action, c.reason))
                    .unwrap_or_default(),
                assessment: decl
                    .assessment
                    .as_ref()
                    .and_then(|a| serde_json::to_string_pretty(a).ok())
                    .unwrap_or_default(),
                status: decl.status.as_str().to_string(),
                events,
                can_record: decl.status == tongguan_domain::lifecycle::Status::InspectionOrdered,
            })
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize)]
pub(super) struct InspectionForm {
    key: String,
    #[serde(default)]
    passed: Option<String>,
    #[serde(default)]
    findings: String,
    release: String,
    reason: String,
}

pub(super) async fn record_inspection(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Path(id): Path<Uuid>,
    Form(f): Form<InspectionForm>,
) -> Response {
    let l = Lang::of(&headers);
    let input = tongguan_api::InspectionInput {
        result: tongguan_domain::lifecycle::InspectionResult {
            passed: f.passed.is_some(),
            findings: f.findings.trim().to_string(),
            attachments: Vec::new(),
        },
        release: f.release == "yes",
        reason: f.reason.trim().to_string(),
    };
    let kctx = keyed(
        &ctx,
        &f.key,
        &serde_json::to_string(&input).unwrap_or_default(),
    );
    match app.record_inspection(&kctx, id, &input).await {
        Ok(_) => Redirect::to(&format!("/officer/declarations/{id}")).into_response(),
        Err(AppError::Invalid(v)) => {
            let msg = messages(l, &v);
            let mut r = page(&ErrorPage {
                c: Chrome {
                    l,
                    user: None,
                    here: "/officer".into(),
                    nav: Vec::new(),
                },
                message: msg,
            });
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
        Err(e) => error_page(l, &e),
    }
}

pub(super) struct GuaranteeRow {
    id: Uuid,
    key: String,
    issuer: String,
    number: String,
    amount: String,
    status: String,
    pending: bool,
}

#[derive(Template)]
#[template(path = "guarantees.html")]
pub(super) struct GuaranteesPage {
    c: Chrome,
    rows: Vec<GuaranteeRow>,
}

pub(super) async fn guarantees(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
) -> Response {
    let l = Lang::of(&headers);
    match app.all_guarantees(&ctx).await {
        Ok(list) => page(&GuaranteesPage {
            c: chrome(l, &ctx, "/officer/guarantees"),
            rows: list
                .into_iter()
                .map(|g| GuaranteeRow {
                    id: g.id,
                    key: Uuid::now_v7().to_string(),
                    issuer: g.input.issuer,
                    number: g.input.number,
                    amount: g.input.amount.to_string(),
                    pending: g.status == tongguan_api::GuaranteeStatus::Pending,
                    status: l.t(&format!("guarantee_{}", g.status.as_str())).to_string(),
                })
                .collect(),
        }),
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize)]
pub(super) struct DecisionForm {
    key: String,
    decision: String,
    reason: String,
}

pub(super) async fn decide_guarantee(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Path(id): Path<Uuid>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let l = Lang::of(&headers);
    let kctx = keyed(&ctx, &f.key, &format!("{} {id} {}", f.decision, f.reason));
    match app
        .decide_guarantee(&kctx, id, f.decision == "approve", f.reason.trim())
        .await
    {
        Ok(_) => Redirect::to("/officer/guarantees").into_response(),
        Err(AppError::Invalid(v)) => {
            let msg = messages(l, &v);
            let mut r = page(&ErrorPage {
                c: chrome(l, &ctx, "/officer/guarantees"),
                message: msg,
            });
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
pub(super) struct AuditPage {
    c: Chrome,
    rows: Vec<(i64, String, String, String, String, String)>,
    next: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct AfterQuery {
    after: Option<i64>,
}

pub(super) async fn audit(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Query(q): Query<AfterQuery>,
) -> Response {
    let l = Lang::of(&headers);
    const PAGE: i64 = 100;
    match app
        .audit_rows(&ctx, q.after.unwrap_or(0).max(0), PAGE)
        .await
    {
        Ok(rows) => page(&AuditPage {
            c: chrome(l, &ctx, "/officer/audit"),
            next: (rows.len() as i64 == PAGE).then(|| rows.last().map(|r| r.seq).unwrap_or(0)),
            rows: rows
                .into_iter()
                .map(|r| {
                    (
                        r.seq,
                        (r.draft.at + chrono::Duration::hours(8))
                            .format("%Y-%m-%d %H:%M:%S")
                            .to_string(),
                        r.draft.actor,
                        r.draft.action,
                        r.draft.object,
                        r.draft.reason,
                    )
                })
                .collect(),
        }),
        Err(e) => error_page(l, &e),
    }
}
