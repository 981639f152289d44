//! The admin API's sessions: a person exchanges an OpenID Connect ID token
//! (verified exactly as [`crate::oidc`] says: signature by the issuer's
//! JWKS, `iss`, `aud`, `exp` by the engine's clock, a verified email) for a
//! Lockbox session (`lockbox_core::sessions`: an opaque access token for
//! 15 minutes, a refresh token for 12 hours, rotated on each use), and
//! then calls the admin routes and the change feed with the access token.
//! The admin routes take no ID token: this endpoint is the only place one
//! is accepted.
//!
//! - `POST /admin/v1/sessions`, `Authorization: Bearer <ID token>`: a session.
//! - `POST /admin/v1/sessions/refresh`, body `{"refresh_token": "…"}`: the
//!   next pair; the refresh token is spent (shown again, it ends the session).
//! - `DELETE /admin/v1/sessions`, `Authorization: Bearer <access or refresh
//!   token>`: sign out (the session ends on the server): 204.
//!
//! Every 401 is charged to the client's budget of failed sign-ins.

use crate::admin::Gate;
use crate::error::{ApiError, ApiResult};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use lockbox_core::sessions::Issued;
use lockbox_core::ErrorCode;
use serde::{Deserialize, Serialize};

/// A Lockbox session's tokens (secret: shown once, kept by the client in
/// the OS keyring).
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionTokens {
    /// For `Authorization: Bearer` on the admin routes and the change feed.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires (by the server's clock).
    pub expires_in: i64,
    /// When the access token expires, Unix seconds by the server's clock.
    pub expires_at: i64,
    /// For `POST /admin/v1/sessions/refresh`; good once.
    pub refresh_token: String,
    /// When the refresh token expires, Unix seconds by the server's clock.
    pub refresh_expires_at: i64,
    /// Who is signed in: the verified email, lower-cased.
    pub email: String,
}

/// `POST /admin/v1/sessions/refresh`'s body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RefreshBody {
    pub refresh_token: String,
}

fn tokens(i: Issued, now: lockbox_core::Time, email: String) -> SessionTokens {
    SessionTokens {
        expires_in: (i.access_expires_at - now).num_seconds(),
        expires_at: i.access_expires_at.timestamp(),
        refresh_expires_at: i.refresh_expires_at.timestamp(),
        access_token: i.access_token,
        refresh_token: i.refresh_token,
        token_type: "Bearer".into(),
        email,
    }
}

/// `POST /admin/v1/sessions`: a session for the person of the ID token.
pub async fn open(State(s): State<ApiState>, gate: Gate) -> ApiResult<Json<SessionTokens>> {
    let id_token = gate.bearer(&s, "ID token")?;
    let person = gate
        .oidc
        .verify(&id_token)
        .await
        .map_err(|e| gate.refuse(&s, e.into()))?;
    let email = person.name().to_string();
    let client_id = gate.oidc.client_id().to_string();
    let (issued, now) = s
        .engine
        .run(move |e| Ok((e.open_session(&person, &client_id)?, e.now())))
        .await?;
    Ok(Json(tokens(issued, now, email)))
}

/// `POST /admin/v1/sessions/refresh`: spend a refresh token for a new pair.
pub async fn refresh(
    State(s): State<ApiState>,
    gate: Gate,
    body: Bytes,
) -> ApiResult<Json<SessionTokens>> {
    let body: RefreshBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            format!("the body must be {{\"refresh_token\": \"…\"}}: {e}"),
        )
    })?;
    let oidc = gate.oidc.clone();
    let (issued, now, email) = s
        .engine
        .run(move |e| {
            let at = oidc.signed_in_at();
            let issued = e.refresh_session(&body.refresh_token, at)?;
            let who = e.session(&issued.access_token, at)?;
            Ok((issued, e.now(), who.principal.name().to_string()))
        })
        .await
        .map_err(|e| gate.refuse(&s, e.into()))?;
    Ok(Json(tokens(issued, now, email)))
}

/// `DELETE /admin/v1/sessions`: sign out: the session of the bearer (its
/// access or refresh token, expired or not) ends.
pub async fn end(State(s): State<ApiState>, gate: Gate) -> ApiResult<StatusCode> {
    let token = gate.bearer(&s, "Lockbox session token")?;
    s.engine
        .run(move |e| e.end_session(&token))
        .await
        .map_err(|e| gate.refuse(&s, e.into()))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The three routes in the OpenAPI document (tag `admin`).
pub(crate) fn add_paths(
    openapi: &mut utoipa::openapi::OpenApi,
    error: impl Fn() -> utoipa::openapi::ResponseBuilder,
) {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, ResponsesBuilder};
    let components = openapi.components.get_or_insert_with(Default::default);
    components.schemas.insert(
        "SessionTokens".into(),
        <SessionTokens as utoipa::PartialSchema>::schema(),
    );
    components.schemas.insert(
        "RefreshBody".into(),
        <RefreshBody as utoipa::PartialSchema>::schema(),
    );
    let issued = || {
        ResponseBuilder::new()
            .description("The session's tokens")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("SessionTokens")))
                    .build(),
            )
    };
    let too_many =
        || error().description("Too many calls without a valid sign-in from this client");
    let open = OperationBuilder::new()
        .operation_id(Some("admin_open_session"))
        .tag("admin")
        .summary(Some("Sign in: a Lockbox session for an ID token"))
        .description(Some(
            "Exchange an OpenID Connect ID token of this server's issuer and client id (with a \
             verified email) for a Lockbox session: an access token for the admin routes and the \
             change feed (15 minutes) and a refresh token (12 hours, good once). The only route \
             that takes an ID token.",
        ))
        .responses(
            ResponsesBuilder::new()
                .response("200", issued())
                .response(
                    "401",
                    error().description("No, malformed, expired or otherwise invalid ID token"),
                )
                .response("429", too_many())
                .build(),
        )
        .security(SecurityRequirement::new("oidc", Vec::<String>::new()))
        .build();
    let end = OperationBuilder::new()
        .operation_id(Some("admin_end_session"))
        .tag("admin")
        .summary(Some("Sign out: end the session"))
        .description(Some(
            "Ends the session of the bearer, its access or its refresh token (the access token \
             may have expired, as long as the session can still be renewed): none of its tokens \
             is good any more.",
        ))
        .responses(
            ResponsesBuilder::new()
                .response(
                    "204",
                    ResponseBuilder::new().description("The session is ended"),
                )
                .response(
                    "401",
                    error().description(
                        "Not a live session's token of this server (unknown, ended, or expired)",
                    ),
                )
                .response("429", too_many())
                .build(),
        )
        .security(SecurityRequirement::new("session", Vec::<String>::new()))
        .build();
    let mut item = PathItem::new(HttpMethod::Post, open);
    item.delete = Some(end);
    openapi
        .paths
        .paths
        .insert("/admin/v1/sessions".into(), item);
    let refresh = OperationBuilder::new()
        .operation_id(Some("admin_refresh_session"))
        .tag("admin")
        .summary(Some("Renew a session"))
        .description(Some(
            "Spends the refresh token for a new access and refresh token of the same session. A \
             refresh token used a second time is refused and ends its session (it was copied).",
        ))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("RefreshBody")))
                        .build(),
                )
                .build(),
        ))
        .responses(
            ResponsesBuilder::new()
                .response("200", issued())
                .response(
                    "400",
                    error().description("The body is not {\"refresh_token\": …}"),
                )
                .response(
                    "401",
                    error().description(
                        "Unknown, spent, expired or ended refresh token: sign in again",
                    ),
                )
                .response("429", too_many())
                .build(),
        )
        .build();
    openapi.paths.paths.insert(
        "/admin/v1/sessions/refresh".into(),
        PathItem::new(HttpMethod::Post, refresh),
    );
}
