//! Sign-in, sign-out, the language switch and the start page.

use super::*;

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct LoginPage {
    c: Chrome,
    failed: bool,
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    username: String,
    password: String,
}

pub(super) async fn login_page(headers: HeaderMap) -> Response {
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

pub(super) async fn login(
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

pub(super) async fn logout(State(app): State<AppState>, headers: HeaderMap) -> Response {
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
pub(super) struct Back {
    back: Option<String>,
}

/// Where the switch may send the browser back to: a path of this site only (no scheme, no
/// `//host`, no backslash that browsers read as a slash), else the start page.
pub(super) fn safe_back(back: Option<String>) -> String {
    back.filter(|b| {
        b.starts_with('/')
            && !b.starts_with("//")
            && !b.contains('\\')
            && !b.chars().any(char::is_control)
    })
    .unwrap_or_else(|| "/".into())
}

/// The language switch: remembered in a cookie, back to the same page.
pub(super) async fn switch_lang(Path(lang): Path<String>, Query(q): Query<Back>) -> Response {
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

pub(super) async fn root(State(app): State<AppState>, headers: HeaderMap) -> Response {
    match session(&app, &headers).await {
        Ok(ctx) => Redirect::to(home_of(ctx.actor.role)).into_response(),
        Err(r) => r,
    }
}
