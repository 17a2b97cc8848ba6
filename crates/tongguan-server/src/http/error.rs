//! RFC 9457 problem details: every error names its type, the field paths and rules broken.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
pub use tongguan_api::Problem;
use tongguan_domain::Violation;

use crate::app::AppError;

pub fn problem(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: String,
    violations: Vec<Violation>,
) -> Response {
    let body = Problem {
        type_: format!("urn:tongguan:problem:{slug}"),
        title: title.to_string(),
        status: status.as_u16(),
        detail,
        violations,
    };
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

/// An error as the HTTP edge answers it.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let detail = e.to_string();
        match e {
            AppError::Invalid(v) => problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "The request breaks one or more rules",
                v.to_string(),
                v.0,
            ),
            AppError::Malformed(v) => problem(
                StatusCode::BAD_REQUEST,
                "malformed",
                "The request cannot be read",
                v.message.clone(),
                vec![v],
            ),
            AppError::Unauthenticated => {
                let mut r = problem(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "Authentication required",
                    "send a valid API token as 'Authorization: Bearer …' or log in".into(),
                    vec![],
                );
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"tongguan\""),
                );
                r
            }
            AppError::Forbidden(_) => problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed for your role",
                detail,
                vec![],
            ),
            AppError::NotFound(_) => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                detail,
                vec![],
            ),
            AppError::Conflict(v) => problem(
                StatusCode::CONFLICT,
                "conflict",
                "The request conflicts with stored data",
                v.message.clone(),
                vec![v],
            ),
            AppError::IdempotencyMismatch => problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused with a different request",
                detail,
                vec![Violation {
                    path: "header/Idempotency-Key".into(),
                    rule: "idempotency_key.reused".into(),
                    message:
                        "this key was already used for a request with another method, path or body"
                            .into(),
                }],
            ),
            AppError::Store(err) => {
                tracing::error!(error = %err, "storage failure");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the request could not be completed; it was logged".into(),
                    vec![],
                )
            }
            AppError::Internal(msg) => {
                tracing::error!(error = %msg, "internal failure");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the request could not be completed; it was logged".into(),
                    vec![],
                )
            }
        }
    }
}

/// A 400 for one field.
pub fn malformed(path: &str, rule: &str, message: impl Into<String>) -> ApiError {
    ApiError(AppError::Malformed(Violation {
        path: path.to_string(),
        rule: rule.to_string(),
        message: message.into(),
    }))
}
