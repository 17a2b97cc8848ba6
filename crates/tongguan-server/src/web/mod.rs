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

mod certificates;
pub mod i18n;
mod login;
mod officer;
mod portal;
mod subscriptions;
mod terminal;

use certificates::*;
use login::*;
use officer::*;
use portal::*;
use subscriptions::*;
use terminal::*;

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
use crate::http::extract::{SESSION_COOKIE, cookie, from_another_site};
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
        use crate::http::extract::from_another_site;
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
        use super::login::safe_back;
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
