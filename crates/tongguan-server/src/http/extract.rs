//! Extractors: the authenticated caller, and mutating calls with their idempotency key and
//! strictly parsed JSON body.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::error::{ApiError, malformed, problem};
use crate::app::identity::Authenticated;
use crate::app::{App, AppError, Ctx, IdempotencyKey};

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = "tongguan_session";

pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    cookie(headers, SESSION_COOKIE)
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The authenticated caller of a read.
pub struct Caller {
    pub ctx: Ctx,
    pub credential_id: uuid::Uuid,
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let secret = bearer(&parts.headers).ok_or(ApiError(AppError::Unauthenticated))?;
        let Authenticated {
            actor,
            credential_id,
        } = app.authenticate(&secret).await?;
        Ok(Caller {
            ctx: Ctx {
                actor,
                request_id: request_id(&parts.headers),
                idempotency: None,
            },
            credential_id,
        })
    }
}

/// Longest accepted Idempotency-Key.
const MAX_KEY_LEN: usize = 255;

/// A mutating call: authenticated caller, required `Idempotency-Key`, JSON body of type T
/// (unknown fields refused; an empty body reads as JSON `null`, so `Option<T>` bodies may
/// be left out).
pub struct Mutation<T> {
    pub ctx: Ctx,
    pub body: T,
    pub credential_id: uuid::Uuid,
}

/// Reads the body (within the size limit), the key and the hash of the request.
async fn read_mutation(
    req: Request,
    app: &Arc<App>,
) -> Result<(Caller, bytes::Bytes, String), Response> {
    let (mut parts, body) = req.into_parts();
    let mut caller = Caller::from_request_parts(&mut parts, app)
        .await
        .map_err(IntoResponse::into_response)?;
    let key = parts
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(key) = key else {
        return Err(malformed(
            "header/Idempotency-Key",
            "idempotency_key.required",
            "every mutating call needs an Idempotency-Key header (a unique value per intended change, e.g. a UUID)",
        )
        .into_response());
    };
    if key.len() > MAX_KEY_LEN {
        return Err(malformed(
            "header/Idempotency-Key",
            "idempotency_key.too_long",
            format!("at most {MAX_KEY_LEN} characters"),
        )
        .into_response());
    }
    let key = key.to_string();
    let limit = app.config.max_body_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return Err(too_large(limit));
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b" ");
    h.update(
        parts
            .uri
            .path_and_query()
            .map_or("", |p| p.as_str())
            .as_bytes(),
    );
    h.update(b"\n");
    h.update(&bytes);
    caller.ctx.idempotency = Some(IdempotencyKey {
        key,
        request_hash: hex::encode(h.finalize()),
    });
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    Ok((caller, bytes, content_type))
}

pub fn too_large(limit: usize) -> Response {
    problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        "Request body too large",
        format!("the body exceeds the limit of {limit} bytes"),
        vec![],
    )
}

fn unsupported(expected: &str) -> Response {
    problem(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        format!("send the body as {expected}"),
        vec![],
    )
}

/// Parses JSON strictly, naming the path of the first bad field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        bytes
    };
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string().replace('.', "/");
        let path = if path == "/" || path == "?" {
            String::new()
        } else {
            path
        };
        let inner = e.into_inner();
        let msg = inner.to_string();
        let rule = if msg.starts_with("unknown field") {
            "json.unknown_field"
        } else if msg.starts_with("missing field") {
            "json.missing_field"
        } else if inner.is_syntax() || inner.is_eof() {
            "json.syntax"
        } else {
            "json.type"
        };
        malformed(&path, rule, msg)
    })
}

impl<T: DeserializeOwned + Send> FromRequest<Arc<App>> for Mutation<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Response> {
        let (caller, bytes, ct) = read_mutation(req, app).await?;
        if !(bytes.is_empty() || ct.starts_with("application/json") || ct.contains("+json")) {
            return Err(unsupported("application/json"));
        }
        let body = parse_json(&bytes).map_err(IntoResponse::into_response)?;
        Ok(Mutation {
            ctx: caller.ctx,
            body,
            credential_id: caller.credential_id,
        })
    }
}

/// A mutating call whose body is CSV text (reference data loads).
pub struct CsvMutation {
    pub ctx: Ctx,
    pub text: String,
}

impl FromRequest<Arc<App>> for CsvMutation {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Response> {
        let (caller, bytes, ct) = read_mutation(req, app).await?;
        if !ct.starts_with("text/csv") {
            return Err(unsupported("text/csv; charset=utf-8"));
        }
        let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
            malformed(
                "body",
                "csv.encoding",
                format!("the CSV must be UTF-8: {e}"),
            )
            .into_response()
        })?;
        Ok(CsvMutation {
            ctx: caller.ctx,
            text,
        })
    }
}

/// A mutating call whose body is an UN/EDIFACT interchange (`application/edifact`, or
/// `text/plain`). Interchanges in UNOA–UNOC arrive as bytes; ISO-8859-1 (UNOC) bytes that
/// are not UTF-8 are read as Latin-1.
pub struct EdifactMutation {
    pub ctx: Ctx,
    pub text: String,
}

impl FromRequest<Arc<App>> for EdifactMutation {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Response> {
        let (caller, bytes, ct) = read_mutation(req, app).await?;
        if !(ct.starts_with("application/edifact") || ct.starts_with("text/plain")) {
            return Err(unsupported("application/edifact"));
        }
        let text = match String::from_utf8(bytes.to_vec()) {
            Ok(t) => t,
            Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
        };
        Ok(EdifactMutation {
            ctx: caller.ctx,
            text,
        })
    }
}

/// Whether the browser marks this request as sent from another site: `Sec-Fetch-Site`
/// other than `same-origin` or `none` (a typed address), or else an `Origin` whose host
/// is neither this request's `Host` nor, behind a reverse proxy that rewrites `Host`, its
/// `X-Forwarded-Host` (`null` included; a form on another site cannot set either header).
/// Clients that send neither (curl, old browsers) are not browsers on another site's page
/// and pass.
pub fn from_another_site(headers: &HeaderMap) -> bool {
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
