//! The one error type of the request path, and how it becomes Twenty's
//! status code and `{"statusCode","error","messages"}` body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A request that cannot be answered with data.
#[derive(Debug)]
pub(crate) enum AppError {
    /// 400 `BadRequestException`: the client's mistake, with Twenty's text.
    BadRequest(String),
    /// 404 `NotFoundException`.
    NotFound(String),
    /// 403 `FORBIDDEN_EXCEPTION`.
    Forbidden(String),
    /// 401 `UNAUTHENTICATED`.
    Unauthenticated(String),
    /// 413 `PayloadTooLargeException`.
    TooLarge(usize),
    /// 429 with `Retry-After` and the limiter's headers.
    TooMany {
        retry_after: u64,
        limit: Option<u32>,
    },
    /// 501 `NotImplementedException`: an operation the catalog offers that
    /// the sandbox does not serve.
    NotServed(String),
    /// 500/502/503 injected by the fault layer.
    Injected(StatusCode),
    /// Anything the sandbox did wrong; logged once, answered generically.
    Internal(String),
}

pub(crate) type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    pub(crate) fn record_not_found() -> Self {
        Self::NotFound("Record not found".to_string())
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(format!("database: {e}"))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("stored record is not valid JSON: {e}"))
    }
}

fn body(status: StatusCode, error: &str, message: String) -> Response {
    let value = json!({
        "statusCode": status.as_u16(),
        "error": error,
        "messages": [message],
    });
    (status, axum::Json(value)).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest(m) => body(StatusCode::BAD_REQUEST, "BadRequestException", m),
            Self::NotFound(m) => body(StatusCode::NOT_FOUND, "NotFoundException", m),
            Self::Forbidden(m) => body(StatusCode::FORBIDDEN, "FORBIDDEN_EXCEPTION", m),
            Self::Unauthenticated(m) => body(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", m),
            Self::NotServed(m) => body(StatusCode::NOT_IMPLEMENTED, "NotImplementedException", m),
            Self::TooLarge(limit) => body(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLargeException",
                format!("request entity too large (the limit is {limit} bytes)"),
            ),
            Self::TooMany { retry_after, limit } => {
                let mut response = body(
                    StatusCode::TOO_MANY_REQUESTS,
                    "ThrottlerException",
                    "ThrottlerException: Too Many Requests".to_string(),
                );
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                if let Some(limit) = limit {
                    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
                    headers.insert("x-ratelimit-remaining", HeaderValue::from(0u32));
                }
                response
            }
            Self::Injected(status) => {
                let error = match status.as_u16() {
                    502 => "BadGatewayException",
                    503 => "ServiceUnavailableException",
                    _ => "InternalServerErrorException",
                };
                let reason = status.canonical_reason().unwrap_or("Server error");
                body(status, error, reason.to_string())
            }
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal sandbox error");
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerErrorException",
                    "Internal server error".to_string(),
                )
            }
        }
    }
}
