//! The web interface (issue 8): server-rendered pages (askama) with htmx, vendored, no
//! JavaScript build. Pages call the same app services as the JSON API, so validation,
//! roles and scopes are the API's. Chinese and English everywhere ([`i18n`]).
//!
//! CSRF: the session cookie is `SameSite=Strict` (no cross-site request carries it), and
//! every form post carries a one-off key that doubles as its Idempotency-Key. The sign-in
//! form has no session yet, so it is refused when the browser says it came from another
//! site ([`from_another_site`]): otherwise a page elsewhere could sign a visitor in to the
//! attacker's account (login CSRF, OWASP CSRF Prevention Cheat Sheet) and have them file
//! declarations for the attacker's enterprise.

pub mod i18n;

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tongguan_api::{ArrivalReportInput, DeclarationQuery, Login, NewDeclaration};
use tongguan_domain::codes::Direction;
use tongguan_domain::declaration::{
    DeclarationContent, DeclarationHead, DeclarationItem, OverseasParty,
};
use tongguan_domain::identity::Role;
use uuid::Uuid;

use crate::app::{App, AppError, Ctx, IdempotencyKey};
use crate::http::extract::{SESSION_COOKIE, cookie};
use i18n::Lang;

type AppState = Arc<App>;

const HTMX: &str = include_str!("../../assets/htmx.min.js");
const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

fn page<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The signed-in user of a page; without a valid session the browser goes to the login page.
pub struct WebUser(pub Ctx);

impl axum::extract::FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &AppState,
    ) -> Result<Self, Response> {
        session(app, &parts.headers).await.map(WebUser)
    }
}

/// The signed-in user of a page, or the way to the login page.
async fn session(app: &App, headers: &HeaderMap) -> Result<Ctx, Response> {
    let secret =
        cookie(headers, SESSION_COOKIE).ok_or_else(|| Redirect::to("/login").into_response())?;
    match app.authenticate(&secret).await {
        Ok(a) => Ok(Ctx {
            actor: a.actor,
            request_id: crate::http::extract::request_id(headers),
            idempotency: None,
        }),
        Err(_) => Err(Redirect::to("/login").into_response()),
    }
}

/// A form post's context: its one-off key (from the form) as the Idempotency-Key.
fn keyed(ctx: &Ctx, key: &str, what: &str) -> Ctx {
    let hash = hex::encode(Sha256::digest(format!("{what}\n{key}").as_bytes()));
    Ctx {
        idempotency: Some(IdempotencyKey {
            key: format!("web-{key}"),
            request_hash: hash,
        }),
        ..ctx.clone()
    }
}

/// Every violation in the page's language, joined.
fn messages(l: Lang, v: &tongguan_domain::Violations) -> String {
    v.0.iter()
        .map(|x| l.violation(&x.rule, &x.message))
        .collect::<Vec<_>>()
        .join(" ")
}

fn home_of(role: Role) -> &'static str {
    match role {
        Role::TerminalOperator => "/terminal",
        Role::Officer => "/officer",
        _ => "/app",
    }
}

/// Page chrome shared by every template.
pub struct Chrome {
    pub l: Lang,
    pub user: Option<String>,
    /// The path, for the language switch to come back to.
    pub here: String,
    /// Links of the signed-in role: (href, text key).
    pub nav: Vec<(&'static str, &'static str)>,
}

fn nav_of(role: Role) -> Vec<(&'static str, &'static str)> {
    match role {
        Role::EnterpriseUser | Role::Broker => vec![
            ("/app", "dashboard"),
            ("/app/declarations/new", "new_declaration"),
            ("/app/subscriptions", "subscriptions"),
            ("/app/certificates", "certificates"),
        ],
        Role::Officer | Role::Admin => vec![
            ("/officer", "officer_console"),
            ("/officer/guarantees", "guarantees"),
            ("/officer/audit", "audit"),
        ],
        Role::TerminalOperator => vec![("/terminal", "terminal_board")],
    }
}

/// The chrome of a signed-in page.
fn chrome(l: Lang, ctx: &Ctx, here: impl Into<String>) -> Chrome {
    Chrome {
        l,
        user: Some(ctx.actor.username.clone()),
        here: here.into(),
        nav: nav_of(ctx.actor.role),
    }
}

impl Chrome {
    pub fn t(&self, key: &str) -> &'static str {
        self.l.t(key)
    }
    pub fn status(&self, s: &str) -> &'static str {
        self.l.status(s)
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    failed: bool,
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

async fn login_page(headers: HeaderMap) -> Response {
    page(&LoginPage {
        c: Chrome {
            l: Lang::of(&headers),
            user: None,
            here: "/login".into(),
            nav: Vec::new(),
        },
        failed: false,
    })
}

/// Whether the browser marks this request as sent from another site: `Sec-Fetch-Site`
/// other than `same-origin` or `none` (a typed address), or else an `Origin` whose host
/// is neither this request's `Host` nor, behind a reverse proxy that rewrites `Host`, its
/// `X-Forwarded-Host` (`null` included; a form on another site cannot set either header).
/// Clients that send neither (curl, old browsers) are not browsers on another site's page
/// and pass.
fn from_another_site(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        return false;
    };
    let Some((_, authority)) = origin.split_once("://") else {
        return true;
    };
    let forwarded = text("x-forwarded-host").and_then(|h| h.split(',').next());
    ![text(header::HOST.as_str()), forwarded]
        .into_iter()
        .flatten()
        .any(|host| authority.eq_ignore_ascii_case(host.trim()))
}

async fn login(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let l = Lang::of(&headers);
    if from_another_site(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "403: 登录表单来自其他网站，已拒绝；请在本站的登录页登录。\nThe sign-in form was sent from another site and was refused; sign in on this site's sign-in page.\n",
        )
            .into_response();
    }
    let login = Login {
        username: f.username,
        password: f.password,
    };
    match app
        .login(&login, &crate::http::extract::request_id(&headers))
        .await
    {
        Ok(created) => {
            let secret = created.secret.unwrap_or_default();
            let home = match app.authenticate(&secret).await {
                Ok(a) => home_of(a.actor.role),
                Err(_) => "/login",
            };
            let max_age = app.config.session_hours * 3600;
            let mut resp = Redirect::to(home).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"
            )) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(_) => {
            let mut r = page(&LoginPage {
                c: Chrome {
                    l,
                    user: None,
                    here: "/login".into(),
                    nav: Vec::new(),
                },
                failed: true,
            });
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
    }
}

async fn logout(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Ok(ctx) = session(&app, &headers).await
        && let Some(secret) = cookie(&headers, SESSION_COOKIE)
        && let Ok(a) = app.authenticate(&secret).await
    {
        let _ = app.revoke_credential(&ctx, a.credential_id, "logout").await;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("tongguan_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    resp
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

/// Where the switch may send the browser back to: a path of this site only (no scheme, no
/// `//host`, no backslash that browsers read as a slash), else the start page.
fn safe_back(back: Option<String>) -> String {
    back.filter(|b| {
        b.starts_with('/')
            && !b.starts_with("//")
            && !b.contains('\\')
            && !b.chars().any(char::is_control)
    })
    .unwrap_or_else(|| "/".into())
}

/// The language switch: remembered in a cookie, back to the same page.
async fn switch_lang(Path(lang): Path<String>, Query(q): Query<Back>) -> Response {
    let back = safe_back(q.back);
    let code = if lang == "en" { "en" } else { "zh" };
    let mut resp = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "lang={code}; SameSite=Lax; Path=/; Max-Age=31536000"
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn root(State(app): State<AppState>, headers: HeaderMap) -> Response {
    match session(&app, &headers).await {
        Ok(ctx) => Redirect::to(home_of(ctx.actor.role)).into_response(),
        Err(r) => r,
    }
}

/// One declaration in a list.
struct Row {
    id: Uuid,
    status: String,
    customs_no: String,
    bill_no: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    c: Chrome,
    counts: Vec<(String, usize)>,
    rows: Vec<Row>,
    quota: Option<(String, String)>,
    statements: Vec<(String, String, String)>,
    /// Two-step: complete declarations due (id, customs number, due date, days overdue).
    due: Vec<(Uuid, String, String, i64)>,
}

async fn dashboard(
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

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    message: String,
}

fn error_page(l: Lang, e: &AppError) -> Response {
    let (status, message) = match e {
        AppError::NotFound(_) => (StatusCode::NOT_FOUND, l.t("not_found").to_string()),
        AppError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
        other => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    };
    let mut r = page(&ErrorPage {
        c: Chrome {
            l,
            user: None,
            here: "/".into(),
            nav: Vec::new(),
        },
        message,
    });
    *r.status_mut() = status;
    r
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
struct DeclFormPage {
    c: Chrome,
    key: String,
    values: BTreeMap<String, String>,
    errors: Vec<(String, String)>,
    item_rows: usize,
    item_fields: Vec<(&'static str, &'static str)>,
}

/// Rows of the items table (rows left without a commodity code are not goods).
const ITEM_ROWS: usize = 5;
const ITEM_FIELDS: [(&str, &str); 6] = [
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

fn defaults() -> BTreeMap<String, String> {
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

async fn new_declaration(headers: HeaderMap, WebUser(ctx): WebUser) -> Response {
    page(&DeclFormPage::new(
        chrome(Lang::of(&headers), &ctx, "/app/declarations/new"),
        defaults(),
        Vec::new(),
    ))
}

fn decimal(
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
fn content_of(
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

async fn create_declaration(
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

struct EventRow {
    at: String,
    to: String,
    actor: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "declaration.html")]
struct DeclPage {
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
struct TimelineFragment {
    c: Chrome,
    status: String,
    events: Vec<EventRow>,
}

async fn declaration_parts(
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

async fn declaration(
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
async fn timeline(
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

#[derive(Template)]
#[template(path = "terminal.html")]
struct TerminalPage {
    c: Chrome,
    key: String,
    container: String,
    decision: Option<(String, String)>,
    lookup_error: String,
    released: Option<usize>,
    arrival_error: String,
}

#[derive(Deserialize)]
struct Lookup {
    container: Option<String>,
}

async fn terminal_page(
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

async fn terminal(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Lookup>,
) -> Response {
    terminal_page(&app, &headers, q.container, None, String::new()).await
}

#[derive(Deserialize)]
struct ArrivalForm {
    key: String,
    bill_no: String,
}

async fn arrival(
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

struct InstructionRow {
    id: Uuid,
    key: String,
    prefixes: String,
    action: String,
    reason: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "officer.html")]
struct OfficerPage {
    c: Chrome,
    key: String,
    queue: Vec<Row>,
    instructions: Vec<InstructionRow>,
    errors: Vec<(String, String)>,
    created: bool,
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
fn action_name(l: Lang, a: tongguan_risk::ControlAction) -> String {
    match l {
        Lang::En => a.as_str().replace('_', " "),
        Lang::Zh => a.name_zh().to_string(),
    }
}

async fn officer_page(
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
    });
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

async fn officer(State(app): State<AppState>, headers: HeaderMap) -> Response {
    officer_page(&app, &headers, Vec::new(), false).await
}

#[derive(Deserialize)]
struct InstructionForm {
    key: String,
    commodity_prefix: String,
    #[serde(default)]
    origin_country: String,
    action: String,
    reason: String,
}

async fn create_instruction(
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
struct RevokeForm {
    key: String,
    reason: String,
}

async fn revoke_instruction(
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
struct OfficerDeclPage {
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

async fn officer_declaration(
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
struct InspectionForm {
    key: String,
    #[serde(default)]
    passed: Option<String>,
    #[serde(default)]
    findings: String,
    release: String,
    reason: String,
}

async fn record_inspection(
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

struct DeliveryLine {
    id: Uuid,
    key: String,
    at: String,
    kind: String,
    status: String,
    attempts: i64,
    last: String,
}

struct SubBox {
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
struct SubscriptionsPage {
    c: Chrome,
    key: String,
    url: String,
    event_types: String,
    error: String,
    secret: Option<String>,
    subs: Vec<SubBox>,
}

async fn subscriptions_page(
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

async fn subscriptions(State(app): State<AppState>, headers: HeaderMap) -> Response {
    subscriptions_page(&app, &headers, None, None).await
}

#[derive(Deserialize)]
struct SubscribeForm {
    key: String,
    url: String,
    #[serde(default)]
    event_types: String,
}

async fn subscribe(
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
struct KeyForm {
    key: String,
}

async fn enable_subscription(
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

async fn redeliver(
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

struct CertRow {
    id: Uuid,
    number: String,
    importer: String,
    status: String,
    at: String,
}

#[derive(Template)]
#[template(path = "certificates.html")]
struct CertificatesPage {
    c: Chrome,
    rows: Vec<CertRow>,
}

async fn certificates(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
) -> Response {
    let l = Lang::of(&headers);
    match app.certificates(&ctx).await {
        Ok(list) => page(&CertificatesPage {
            c: chrome(l, &ctx, "/app/certificates"),
            rows: list
                .into_iter()
                .map(|c| CertRow {
                    id: c.id,
                    number: c.number.unwrap_or_else(|| "—".into()),
                    importer: c.application.importer_name,
                    status: l.t(&format!("cert_{}", c.status)).to_string(),
                    at: c.decided_at.format("%Y-%m-%d %H:%M").to_string(),
                })
                .collect(),
        }),
        Err(e) => error_page(l, &e),
    }
}

#[derive(Template)]
#[template(path = "certificate_form.html")]
struct CertificateFormPage {
    c: Chrome,
    key: String,
    values: BTreeMap<String, String>,
    errors: Vec<String>,
    head_fields: Vec<(&'static str, &'static str)>,
    item_fields: Vec<(&'static str, &'static str)>,
}

impl CertificateFormPage {
    fn new(c: Chrome, values: BTreeMap<String, String>, errors: Vec<String>) -> Self {
        Self {
            c,
            key: Uuid::now_v7().to_string(),
            values,
            errors,
            head_fields: vec![
                ("importing_party", "importing_party"),
                ("importer_name", "importer_name"),
                ("invoice_no", "invoice_no"),
                ("invoice_date", "invoice_date"),
                ("transport_means", "transport_means"),
                ("port_of_loading", "port_of_loading"),
                ("port_of_discharge", "port_of_discharge"),
            ],
            item_fields: vec![
                ("hs_code", "hs_code"),
                ("description", "description"),
                ("quantity", "quantity"),
                ("fob", "fob"),
                ("processes", "processes"),
            ],
        }
    }
    fn v(&self, name: &str) -> String {
        self.values.get(name).cloned().unwrap_or_default()
    }
    fn m(&self, i: &usize, f: &str) -> String {
        self.v(&format!("m{i}_{f}"))
    }
}

async fn certificate_form(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
) -> Response {
    let today = app.today();
    let values = [
        ("importing_party", "JPN".to_string()),
        ("invoice_date", today.to_string()),
        ("port_of_loading", "CNYTN".to_string()),
        ("port_of_discharge", "JPTYO".to_string()),
        ("quantity", "1".to_string()),
        ("processes", "assembling".to_string()),
        ("criterion", "PSR".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    page(&CertificateFormPage::new(
        chrome(Lang::of(&headers), &ctx, "/app/certificates/new"),
        values,
        Vec::new(),
    ))
}

#[derive(Deserialize)]
struct CertForm {
    key: String,
    #[serde(flatten)]
    fields: BTreeMap<String, String>,
}

async fn apply_certificate(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Form(f): Form<CertForm>,
) -> Response {
    let l = Lang::of(&headers);
    let v = |k: &str| {
        f.fields
            .get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let mut num = |k: &str, label: &str| -> Decimal {
        v(k).parse::<Decimal>().unwrap_or_else(|_| {
            errors.push(format!("{}: {}", l.t(label), v(k)));
            Decimal::ZERO
        })
    };
    let quantity = num("quantity", "quantity");
    let fob = num("fob", "fob");
    let mut materials = Vec::new();
    for i in 0..3 {
        let hs = v(&format!("m{i}_hs"));
        if hs.is_empty() {
            continue;
        }
        let value = num(&format!("m{i}_value"), "value");
        materials.push(tongguan_origin::Material {
            hs_code: hs,
            description: String::new(),
            origin: v(&format!("m{i}_origin")).to_ascii_uppercase(),
            value,
            weight_kg: None,
            role: tongguan_origin::MaterialRole::Material,
        });
    }
    let invoice_date = chrono::NaiveDate::parse_from_str(&v("invoice_date"), "%Y-%m-%d")
        .unwrap_or_else(|_| {
            errors.push(format!("{}: {}", l.t("invoice_date"), v("invoice_date")));
            app.today()
        });
    let criterion = match v("criterion").as_str() {
        "WO" => tongguan_origin::Criterion::WhollyObtained,
        "PE" => tongguan_origin::Criterion::ProducedExclusively,
        _ => tongguan_origin::Criterion::ProductSpecific,
    };
    if !errors.is_empty() {
        let mut r = page(&CertificateFormPage::new(
            chrome(l, &ctx, "/app/certificates/new"),
            f.fields.clone(),
            errors,
        ));
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return r;
    }
    let input = tongguan_api::CertificateApplication {
        importing_party: v("importing_party"),
        importer_name: v("importer_name"),
        importer_address: String::new(),
        invoice_no: v("invoice_no"),
        invoice_date,
        total_fob: None,
        transport: tongguan_api::OriginTransport {
            means: v("transport_means"),
            voyage: String::new(),
            departure_date: None,
            port_of_loading: v("port_of_loading"),
            port_of_discharge: v("port_of_discharge"),
        },
        items: vec![tongguan_origin::Item {
            hs_code: v("hs_code"),
            description: v("description"),
            quantity,
            unit: String::new(),
            fob,
            criterion,
            materials,
            processes: v("processes")
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            rvc_method: tongguan_origin::RvcMethod::BuildDown,
            build_up: None,
            weight_kg: None,
        }],
    };
    let kctx = keyed(
        &ctx,
        &f.key,
        &serde_json::to_string(&input).unwrap_or_default(),
    );
    match app.apply_certificate(&kctx, &input).await {
        Ok(reply) => {
            let id = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_string))
                .unwrap_or_default();
            Redirect::to(&format!("/app/certificates/{id}")).into_response()
        }
        Err(AppError::Invalid(vs)) => {
            let errors =
                vs.0.iter()
                    .map(|x| format!("{}: {}", x.path, l.violation(&x.rule, &x.message)))
                    .collect();
            let mut r = page(&CertificateFormPage::new(
                chrome(l, &ctx, "/app/certificates/new"),
                f.fields.clone(),
                errors,
            ));
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
        Err(e) => error_page(l, &e),
    }
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct CertificatePage {
    c: Chrome,
    id: Uuid,
    status: String,
    number: Option<(String, String)>,
    checks: Vec<(String, bool, String)>,
}

async fn certificate(
    State(app): State<AppState>,
    headers: HeaderMap,
    WebUser(ctx): WebUser,
    Path(id): Path<Uuid>,
) -> Response {
    let l = Lang::of(&headers);
    match app.certificate(&ctx, id).await {
        Ok(cert) => page(&CertificatePage {
            c: chrome(l, &ctx, format!("/app/certificates/{id}")),
            id,
            status: l.t(&format!("cert_{}", cert.status)).to_string(),
            number: cert.number.clone().zip(cert.verification_code.clone()),
            // The review wrote each check in both languages: show the page's.
            checks: cert
                .checks
                .iter()
                .map(|c| {
                    let msg = match l {
                        Lang::En => &c["message_en"],
                        Lang::Zh => &c["message_zh"],
                    };
                    (
                        c["code"].as_str().unwrap_or_default().to_string(),
                        c["passed"] == true,
                        msg.as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        }),
        Err(e) => error_page(l, &e),
    }
}

struct GuaranteeRow {
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
struct GuaranteesPage {
    c: Chrome,
    rows: Vec<GuaranteeRow>,
}

async fn guarantees(
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
struct DecisionForm {
    key: String,
    decision: String,
    reason: String,
}

async fn decide_guarantee(
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
struct AuditPage {
    c: Chrome,
    rows: Vec<(i64, String, String, String, String, String)>,
    next: Option<i64>,
}

#[derive(Deserialize)]
struct AfterQuery {
    after: Option<i64>,
}

async fn audit(
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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route(
            "/assets/htmx.min.js",
            get(|| async { asset(HTMX, "text/javascript") }),
        )
        .route("/assets/app.css", get(|| async { asset(CSS, "text/css") }))
        .route(
            "/assets/app.js",
            get(|| async { asset(JS, "text/javascript") }),
        )
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/lang/{lang}", get(switch_lang))
        .route("/app", get(dashboard))
        .route("/app/declarations/new", get(new_declaration))
        .route("/app/declarations", post(create_declaration))
        .route("/app/declarations/{id}", get(declaration))
        .route("/app/declarations/{id}/timeline", get(timeline))
        .route("/terminal", get(terminal))
        .route("/terminal/arrival", post(arrival))
        .route("/officer", get(officer))
        .route("/officer/guarantees", get(guarantees))
        .route("/officer/guarantees/{id}", post(decide_guarantee))
        .route("/officer/audit", get(audit))
        .route("/app/subscriptions", get(subscriptions).post(subscribe))
        .route("/app/subscriptions/{id}/enable", post(enable_subscription))
        .route(
            "/app/subscriptions/{id}/deliveries/{delivery}/redeliver",
            post(redeliver),
        )
        .route(
            "/app/certificates",
            get(certificates).post(apply_certificate),
        )
        .route("/app/certificates/new", get(certificate_form))
        .route("/app/certificates/{id}", get(certificate))
        .route("/officer/instructions", post(create_instruction))
        .route(
            "/officer/instructions/{id}/revoke",
            post(revoke_instruction),
        )
        .route("/officer/declarations/{id}", get(officer_declaration))
        .route(
            "/officer/declarations/{id}/inspection",
            post(record_inspection),
        )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sign_in_from_another_site_is_recognised() {
        use super::from_another_site;
        use axum::http::{HeaderMap, HeaderValue};
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        let host = ("host", "customs.example:8080");
        for (pairs, foreign) in [
            (vec![host], false),
            (
                vec![host, ("origin", "https://customs.example:8080")],
                false,
            ),
            (vec![host, ("origin", "http://CUSTOMS.example:8080")], false),
            (vec![host, ("origin", "https://evil.example")], true),
            (vec![host, ("origin", "https://customs.example:8081")], true),
            (vec![host, ("origin", "null")], true),
            (vec![("origin", "https://customs.example:8080")], true),
            // Behind a proxy that rewrites Host.
            (
                vec![
                    ("host", "127.0.0.1:8080"),
                    ("x-forwarded-host", "customs.example"),
                    ("origin", "https://customs.example"),
                ],
                false,
            ),
            (
                vec![
                    ("host", "127.0.0.1:8080"),
                    ("x-forwarded-host", "customs.example"),
                    ("origin", "https://evil.example"),
                ],
                true,
            ),
            (vec![host, ("sec-fetch-site", "same-origin")], false),
            (vec![host, ("sec-fetch-site", "none")], false),
            (vec![host, ("sec-fetch-site", "cross-site")], true),
            (vec![host, ("sec-fetch-site", "same-site")], true),
            // The browser's own verdict wins over a same-looking Origin.
            (
                vec![
                    host,
                    ("origin", "https://customs.example:8080"),
                    ("sec-fetch-site", "cross-site"),
                ],
                true,
            ),
        ] {
            assert_eq!(from_another_site(&headers(&pairs)), foreign, "{pairs:?}");
        }
    }

    #[test]
    fn the_language_switch_returns_only_to_this_site() {
        use super::safe_back;
        assert_eq!(
            safe_back(Some("/app/declarations/1".into())),
            "/app/declarations/1"
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/\tx",
            "app",
        ] {
            assert_eq!(safe_back(Some(bad.into())), "/", "{bad:?}");
        }
        assert_eq!(safe_back(None), "/");
    }
}
