//! The enterprise portal (企业端): dashboard, the declaration form, a declaration and its live timeline.

use super::*;

/// One declaration in a list.
pub(super) struct Row {
    pub(super) id: Uuid,
    pub(super) status: String,
    pub(super) customs_no: String,
    pub(super) bill_no: String,
    pub(super) updated: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub(super) struct Dashboard {
    c: Chrome,
    counts: Vec<(String, usize)>,
    rows: Vec<Row>,
    quota: Option<(String, String)>,
    statements: Vec<(String, String, String, String)>,
    /// Two-step: complete declarations due (id, customs number, due date, days overdue).
    due: Vec<(Uuid, String, String, i64)>,
}

pub(super) async fn dashboard(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
) -> Response {
    let l = Lang::of(&headers);
    let list = match app
        .list_declarations(
            &ctx,
            &DeclarationQuery {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
    {
        Ok(v) => v,
        Err(e) => return error_page(l, &e),
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for d in &list {
        *counts
            .entry(d.declaration.status.as_str().to_string())
            .or_default() += 1;
    }
    let mut due: Vec<(Uuid, String, String, i64)> = list
        .iter()
        .filter_map(|d| {
            let t = d.declaration.two_step.as_ref()?;
            t.completed_at.is_none().then(|| {
                (
                    d.declaration.id,
                    d.declaration.customs_no.clone().unwrap_or_default(),
                    t.complete_due.to_string(),
                    d.complete_overdue_days,
                )
            })
        })
        .collect();
    due.sort_by(|a, b| a.2.cmp(&b.2));
    let rows = list
        .iter()
        .take(50)
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
        .collect();
    let (quota, statements) = match ctx.actor.enterprise_id {
        Some(e) => match app.quota(&ctx, e).await {
            Ok(q) => (
                Some((q.quota.to_string(), q.available.to_string())),
                q.statements
                    .iter()
                    .map(|s| {
                        (
                            s.month.clone(),
                            s.due_date.map(|d| d.to_string()).unwrap_or_default(),
                            format!("{:?}", s.status),
                            s.due_date_note.clone().unwrap_or_default(),
                        )
                    })
                    .collect(),
            ),
            Err(_) => (None, Vec::new()),
        },
        None => (None, Vec::new()),
    };
    page(&Dashboard {
        c: chrome(l, &ctx, "/app"),
        counts: counts.into_iter().collect(),
        rows,
        quota,
        statements,
        due,
    })
}

/// The declaration form's values, keyed by the API's field paths, and its errors.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeclForm {
    #[serde(default)]
    key: String,
    #[serde(flatten)]
    fields: BTreeMap<String, String>,
}

#[derive(Template)]
#[template(path = "declaration_form.html")]
pub(super) struct DeclFormPage {
    c: Chrome,
    key: String,
    values: BTreeMap<String, String>,
    errors: Vec<(String, String)>,
    item_rows: usize,
    item_fields: Vec<(&'static str, &'static str)>,
}

/// Rows of the items table (rows left without a commodity code are not goods).
pub(super) const ITEM_ROWS: usize = 5;
pub(super) const ITEM_FIELDS: [(&str, &str); 6] = [
    ("commodity_code", "commodity_code"),
    ("name", "goods_name"),
    ("quantity", "quantity"),
    ("unit_price", "unit_price"),
    ("currency", "currency"),
    ("origin_country", "origin"),
];

impl DeclFormPage {
    fn new(c: Chrome, values: BTreeMap<String, String>, errors: Vec<(String, String)>) -> Self {
        Self {
            c,
            // A new key per rendering: a corrected form is a new request.
            key: Uuid::now_v7().to_string(),
            values,
            errors,
            item_rows: ITEM_ROWS,
            item_fields: ITEM_FIELDS.to_vec(),
        }
    }
    fn ip(&self, i: &usize, field: &str) -> String {
        format!("items/{i}/{field}")
    }
    fn v(&self, path: &str) -> String {
        self.values.get(path).cloned().unwrap_or_default()
    }
    /// The errors of a field (its path or anything under it), joined.
    fn err(&self, path: &str) -> String {
        self.errors
            .iter()
            .filter(|(p, _)| p == path || p.starts_with(&format!("{path}/")))
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
    fn has_err(&self, path: &str) -> bool {
        !self.err(path).is_empty()
    }
    /// The field's id in the page (paths contain slashes).
    fn id(&self, path: &str) -> String {
        path.replace('/', "-")
    }
}

pub(super) fn defaults() -> BTreeMap<String, String> {
    [
        ("head/transport_means", "COSCO SHIPPING ARIES"),
        ("head/voyage", "042E"),
        ("head/domestic_port", "CNYTN"),
        ("head/overseas_party/name", "Tokyo Trading K.K."),
        ("head/departure_or_destination_country", "JPN"),
        ("head/packages", "40"),
        ("head/gross_weight_kg", "5200"),
        ("head/net_weight_kg", "4800"),
        ("items/0/commodity_code", "8471309000"),
        ("items/0/name", "笔记本电脑 laptops"),
        ("items/0/quantity", "200"),
        ("items/0/unit_price", "450.50"),
        ("items/0/currency", "USD"),
        ("items/0/origin_country", "JPN"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub(super) async fn new_declaration(headers: HeaderMap, WebUser(ctx): WebUser) -> Response {
    page(&DeclFormPage::new(
        chrome(Lang::of(&headers), &ctx, "/app/declarations/new"),
        defaults(),
        Vec::new(),
    ))
}

pub(super) fn decimal(
    v: &BTreeMap<String, String>,
    k: &str,
    errors: &mut Vec<(String, String)>,
    l: Lang,
) -> Decimal {
    let raw = v.get(k).map(|s| s.trim()).unwrap_or("");
    match raw.parse::<Decimal>() {
        Ok(d) => d,
        Err(_) => {
            errors.push((
                k.to_string(),
                match l {
                    Lang::En => format!("`{raw}` is not a number."),
                    Lang::Zh => format!("“{raw}”不是数字。"),
                },
            ));
            Decimal::ZERO
        }
    }
}

/// The declaration the form describes (an advance import declaration, CIF, general trade).
/// `rows` receives the form row of each item, to put the API's item errors on their rows.
pub(super) fn content_of(
    v: &BTreeMap<String, String>,
    uscc: &str,
    l: Lang,
    errors: &mut Vec<(String, String)>,
    rows: &mut Vec<usize>,
) -> DeclarationContent {
    let s = |k: &str| v.get(k).map(|x| x.trim().to_string()).unwrap_or_default();
    // The filled rows of the items table, numbered as the API numbers items.
    let mut items = Vec::new();
    for row in 0..ITEM_ROWS {
        let k = |f: &str| format!("items/{row}/{f}");
        if s(&k("commodity_code")).is_empty() && s(&k("name")).is_empty() {
            continue;
        }
        let qty = decimal(v, &k("quantity"), errors, l);
        let price = decimal(v, &k("unit_price"), errors, l);
        items.push((
            row,
            DeclarationItem {
                commodity_code: s(&k("commodity_code")),
                name: s(&k("name")),
                quantity: qty,
                unit: "001".into(),
                unit_price: price,
                total_price: qty * price,
                currency: s(&k("currency")),
                origin_country: s(&k("origin_country")),
                destination_country: "CHN".into(),
                levy_method: "1".into(),
                ..Default::default()
            },
        ));
    }
    let packages = s("head/packages").parse::<u32>().unwrap_or(0);
    DeclarationContent {
        direction: Direction::Import,
        head: DeclarationHead {
            declaring_customs: "5316".into(),
            port_customs: "5316".into(),
            domestic_party_uscc: uscc.into(),
            overseas_party: OverseasParty {
                name: s("head/overseas_party/name"),
                aeo_code: None,
            },
            transport_mode: "2".into(),
            transport_means: s("head/transport_means"),
            voyage: s("head/voyage"),
            bill_no: s("head/bill_no"),
            trade_mode: "0110".into(),
            levy_nature: "101".into(),
            departure_or_destination_country: s("head/departure_or_destination_country"),
            trading_country: s("head/departure_or_destination_country"),
            domestic_port: s("head/domestic_port"),
            package_type: "22".into(),
            packages,
            gross_weight_kg: decimal(v, "head/gross_weight_kg", errors, l),
            net_weight_kg: decimal(v, "head/net_weight_kg", errors, l),
            transaction_terms: "1".into(),
            containers: s("head/containers")
                .split([',', ' ', ';'])
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            ..Default::default()
        },
        items: items
            .into_iter()
            .map(|(row, item)| {
                rows.push(row);
                item
            })
            .collect(),
    }
}

pub(super) async fn create_declaration(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Form(f): Form<DeclForm>,
) -> Response {
    let l = Lang::of(&headers);
    let uscc = match ctx.actor.enterprise_id {
        Some(e) => match app.store.enterprise(e).await {
            Ok(Some(e)) => e.uscc.to_string(),
            _ => String::new(),
        },
        None => String::new(),
    };
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let content = content_of(&f.fields, &uscc, l, &mut errors, &mut rows);
    // The API numbers items 0..n; the form's rows may have gaps.
    let on_row = |path: String| -> String {
        let mut parts: Vec<String> = path.split('/').map(str::to_string).collect();
        if parts.len() > 1
            && parts[0] == "items"
            && let Some(row) = parts[1].parse::<usize>().ok().and_then(|k| rows.get(k))
        {
            parts[1] = row.to_string();
        }
        parts.join("/")
    };
    let form_again = |errors: Vec<(String, String)>| {
        let mut r = page(&DeclFormPage::new(
            chrome(l, &ctx, "/app/declarations/new"),
            f.fields.clone(),
            errors,
        ));
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        r
    };
    if !errors.is_empty() {
        return form_again(errors);
    }
    let body = serde_json::to_string(&content).unwrap_or_default();
    let kctx = keyed(&ctx, &f.key, &body);
    match app
        .create_declaration(
            &kctx,
            &NewDeclaration {
                owner_id: None,
                content,
                submit: true,
            },
        )
        .await
    {
        Ok(reply) => {
            let id = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_string))
                .unwrap_or_default();
            Redirect::to(&format!("/app/declarations/{id}")).into_response()
        }
        Err(AppError::Invalid(v)) => form_again(
            v.0.iter()
                .map(|x| {
                    (
                        on_row(x.path.replace('.', "/")),
                        l.violation(&x.rule, &x.message),
                    )
                })
                .collect(),
        ),
        Err(e) => error_page(l, &e),
    }
}

pub(super) struct EventRow {
    pub(super) at: String,
    pub(super) to: String,
    pub(super) actor: String,
    pub(super) reason: String,
}

#[derive(Template)]
#[template(path = "declaration.html")]
pub(super) struct DeclPage {
    c: Chrome,
    id: Uuid,
    status: String,
    customs_no: String,
    bill_no: String,
    containers: String,
    events: Vec<EventRow>,
}

#[derive(Template)]
#[template(path = "timeline_inline.html")]
pub(super) struct TimelineFragment {
    c: Chrome,
    status: String,
    events: Vec<EventRow>,
}

pub(super) async fn declaration_parts(
    app: &App,
    ctx: &Ctx,
    id: Uuid,
    l: Lang,
) -> Result<(tongguan_api::DeclarationView, Vec<EventRow>), AppError> {
    let d = app.get_declaration(ctx, id).await?;
    let events = app
        .declaration_events(ctx, id)
        .await?
        .into_iter()
        .map(|e| EventRow {
            at: (e.at + chrono::Duration::hours(8))
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            to: e.to.as_str().to_string(),
            actor: e.actor,
            reason: l.reason(&e.reason),
        })
        .collect();
    Ok((d, events))
}

pub(super) async fn declaration(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let l = Lang::of(&headers);
    match declaration_parts(&app, &ctx, id, l).await {
        Ok((d, events)) => page(&DeclPage {
            c: chrome(l, &ctx, format!("/app/declarations/{id}")),
            id,
            status: d.declaration.status.as_str().to_string(),
            customs_no: d.declaration.customs_no.clone().unwrap_or_default(),
            bill_no: d.declaration.content.head.bill_no.clone(),
            containers: d.declaration.content.head.containers.join(", "),
            events,
        }),
        Err(e) => error_page(l, &e),
    }
}

/// The timeline fragment the page reloads when the status stream names this declaration.
pub(super) async fn timeline(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let l = Lang::of(&headers);
    match declaration_parts(&app, &ctx, id, l).await {
        Ok((d, events)) => page(&TimelineFragment {
            c: Chrome {
                l,
                user: None,
                here: String::new(),
                nav: Vec::new(),
            },
            status: d.declaration.status.as_str().to_string(),
            events,
        }),
        Err(e) => error_page(l, &e),
    }
}
