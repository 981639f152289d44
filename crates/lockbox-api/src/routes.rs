//! `/v1` handlers: each a few lines over the engine. Customer decisions
//! (approve, reject, revoke) and settings are deliberately not routed.

use crate::auth::Provider;
use crate::error::{ApiError, ApiResult, AuthErrors, BodyErrors, RequestErrors};
use crate::ApiState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lockbox_core::dto::{AccessDto, RequestDto};
use lockbox_core::model::{limits, NewRequest};
use lockbox_core::{Error, ErrorCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `Json<T>` whose rejections are `{code, message}` like every other error.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                let status = rej.status();
                let message = match &rej {
                    JsonRejection::MissingJsonContentType(_) => {
                        "send a JSON body with Content-Type: application/json".to_string()
                    }
                    JsonRejection::BytesRejection(_) if status == StatusCode::PAYLOAD_TOO_LARGE => {
                        format!("the body is larger than {} bytes", crate::MAX_BODY)
                    }
                    _ => rej.body_text(),
                };
                Err(ApiError::new(status, ErrorCode::InvalidInput, message))
            }
        }
    }
}

// The text fields of these bodies get their limits and patterns in the
// OpenAPI document from one table: `crate::text_fields`.

/// A request filed by the provider's engineer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRequestBody {
    /// The engineer who will use the access (asserted by the caller).
    pub engineer: String,
    /// Support case number.
    pub case: String,
    pub workload: String,
    pub resource: String,
    pub reason: String,
    /// Requested access duration like "45m", "2h30m" (default: the tenant's maximum).
    #[schema(
        max_length = 32,
        pattern = r"^(?:[1-9][0-9]{0,5}d(?:[0-9]{1,6}h)?(?:[0-9]{1,6}m)?(?:[0-9]{1,6}s)?|[1-9][0-9]{0,5}h(?:[0-9]{1,6}m)?(?:[0-9]{1,6}s)?|[1-9][0-9]{0,5}m(?:[0-9]{1,6}s)?|[1-9][0-9]{0,5}s)$"
    )]
    pub duration: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderApprovalBody {
    /// The provider manager (must not be the requester).
    pub manager: String,
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// The requester (only they may cancel).
    pub engineer: String,
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// The engineer acting under the grant.
    pub engineer: String,
    /// What they did, e.g. "Read message trace".
    pub action: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKey {
    pub algorithm: String,
    /// Base64 Ed25519 public key.
    pub public_key: String,
    pub key_id: String,
}

fn too_long(field: &str, v: &str, max: usize) -> Result<(), ApiError> {
    if v.chars().count() > max {
        return Err(Error::input(format!("{field} is longer than {max} characters")).into());
    }
    Ok(())
}

/// Find `id` in the token's tenant. A request of another tenant gets the very
/// answer an unknown id gets (404 `not_found`, the same message): a token must
/// not learn which ids exist in other tenants.
async fn own_request(state: &ApiState, p: &Provider, id: &str) -> ApiResult<()> {
    let (tenant, id2) = (p.tenant.clone(), id.to_string());
    let found = state.run(move |e| e.request_tenant(&id2)).await?;
    match found {
        Some(t) if t == tenant => Ok(()),
        _ => Err(Error::not_found(format!("no request '{id}'")).into()),
    }
}

#[utoipa::path(post, path = "/v1/requests", tag = "requests", request_body = FileRequestBody,
    security(("bearer" = [])),
    responses((status = 201, body = RequestDto, description = "Filed"), AuthErrors, BodyErrors,
        (status = 409, body = Error, description = "Against the tenant's policy (duration too long)")))]
pub async fn file_request(
    State(s): State<ApiState>,
    p: Provider,
    ApiJson(b): ApiJson<FileRequestBody>,
) -> ApiResult<Response> {
    if let Some(d) = &b.duration {
        too_long("duration", d, 32)?;
    }
    let duration_s = b
        .duration
        .as_deref()
        .map(lockbox_core::duration::parse_duration)
        .transpose()?;
    let new = NewRequest {
        engineer: b.engineer,
        case: b.case,
        workload: b.workload,
        resource: b.resource,
        reason: b.reason,
        duration_s,
    };
    let r = s.write(move |e| e.file_request(&p.tenant, &new)).await?;
    Ok((StatusCode::CREATED, Json(RequestDto::from(&r))).into_response())
}

#[utoipa::path(get, path = "/v1/requests/{id}", tag = "requests", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = RequestDto), AuthErrors, RequestErrors))]
pub async fn get_request(
    State(s): State<ApiState>,
    p: Provider,
    Path(id): Path<String>,
) -> ApiResult<Json<RequestDto>> {
    own_request(&s, &p, &id).await?;
    let r = s.run(move |e| e.request(&p.tenant, &id)).await?;
    Ok(Json(RequestDto::from(&r)))
}

#[utoipa::path(post, path = "/v1/requests/{id}/provider-approval", tag = "requests", params(("id" = String, Path)),
    request_body = ProviderApprovalBody, security(("bearer" = [])),
    responses((status = 200, body = RequestDto), AuthErrors, RequestErrors, BodyErrors,
        (status = 403, body = Error, description = "The manager filed the request (self_approval)"),
        (status = 409, body = Error)))]
pub async fn provider_approve(
    State(s): State<ApiState>,
    p: Provider,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ProviderApprovalBody>,
) -> ApiResult<Json<RequestDto>> {
    own_request(&s, &p, &id).await?;
    let r = s
        .write(move |e| e.provider_approve(&p.tenant, &id, &b.manager, b.comment.as_deref()))
        .await?;
    Ok(Json(RequestDto::from(&r)))
}

#[utoipa::path(post, path = "/v1/requests/{id}/cancel", tag = "requests", params(("id" = String, Path)),
    request_body = CancelBody, security(("bearer" = [])),
    responses((status = 200, body = RequestDto), AuthErrors, RequestErrors, BodyErrors,
        (status = 403, body = Error, description = "Only the requester may cancel"),
        (status = 409, body = Error)))]
pub async fn cancel(
    State(s): State<ApiState>,
    p: Provider,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CancelBody>,
) -> ApiResult<Json<RequestDto>> {
    own_request(&s, &p, &id).await?;
    let r = s
        .write(move |e| e.cancel(&p.tenant, &id, &b.engineer, b.comment.as_deref()))
        .await?;
    Ok(Json(RequestDto::from(&r)))
}

#[utoipa::path(get, path = "/v1/requests/{id}/access", tag = "access", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AccessDto, description = "Whether access is allowed now, and why"),
        AuthErrors, RequestErrors))]
pub async fn check_access(
    State(s): State<ApiState>,
    p: Provider,
    Path(id): Path<String>,
) -> ApiResult<Json<AccessDto>> {
    own_request(&s, &p, &id).await?;
    let id2 = id.clone();
    let d = s.run(move |e| e.check_access(&p.tenant, &id2)).await?;
    Ok(Json(AccessDto::new(&id, &d)))
}

#[utoipa::path(post, path = "/v1/requests/{id}/actions", tag = "access", params(("id" = String, Path)),
    request_body = ActionBody, security(("bearer" = [])),
    responses((status = 201, body = AccessDto, description = "Recorded in the audit log"),
        AuthErrors, RequestErrors, BodyErrors,
        (status = 403, body = Error, description = "No valid grant (audited as access_denied)")))]
pub async fn log_action(
    State(s): State<ApiState>,
    p: Provider,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ActionBody>,
) -> ApiResult<Response> {
    own_request(&s, &p, &id).await?;
    too_long("action", &b.action, limits::ACTION)?;
    let id2 = id.clone();
    let d = s
        .write(move |e| e.log_access(&p.tenant, &id2, &b.engineer, &b.action))
        .await?;
    Ok((StatusCode::CREATED, Json(AccessDto::new(&id, &d))).into_response())
}

#[utoipa::path(get, path = "/v1/requests/{id}/receipt", tag = "receipts", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, content_type = "text/plain", body = String, description = "The latest signed decision receipt"),
        AuthErrors, RequestErrors, (status = 409, body = Error, description = "Not decided yet")))]
pub async fn receipt(
    State(s): State<ApiState>,
    p: Provider,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    own_request(&s, &p, &id).await?;
    let id2 = id.clone();
    let all = s.run(move |e| e.receipts(&p.tenant, &id2)).await?;
    let (_, text) = all.into_iter().last().ok_or_else(|| {
        Error::new(
            ErrorCode::InvalidTransition,
            format!("request {id} is not decided yet: it has no decision receipt"),
        )
    })?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/public-key", tag = "receipts", security(("bearer" = [])),
    responses((status = 200, body = PublicKey), AuthErrors))]
pub async fn public_key(State(s): State<ApiState>, _p: Provider) -> ApiResult<Json<PublicKey>> {
    let (public_key, key_id) = s.run(|e| Ok((e.public_key(), e.key_id()))).await?;
    Ok(Json(PublicKey {
        algorithm: "Ed25519".into(),
        public_key,
        key_id,
    }))
}
