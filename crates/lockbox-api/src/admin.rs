//! The team server's admin API: every **engine** command of the admin
//! center's table (`lockbox_core::commands::COMMANDS`) as
//! `POST /admin/v1/commands/{name}`, the JSON arguments as the body, for a
//! person signed in with OpenID Connect: their ID token (checked by
//! [`crate::oidc`]) bought a Lockbox session at `POST /admin/v1/sessions`
//! ([`crate::sessions`]), whose access token is the bearer here
//! (`Authorization: Bearer lbs_…`, looked up on every call). An ID token is
//! refused here (401), as is a provider token. The body of each command is the
//! same one the desktop app runs (`commands::call`); the engine decides who
//! may do what (`need_admin`, the approver rules), with the verified person
//! as the principal. Shell commands (dialogs, keyring, preferences) are the
//! desktop's: 404 here. Served only when OIDC is configured.

use crate::error::{ApiError, ApiResult};
use crate::ApiState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use lockbox_core::commands::{self, Access, Caller, Runs, Who};
use lockbox_core::{ErrorCode, Principal};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The person a call is made by, from its Lockbox session (an access token
/// of `POST /admin/v1/sessions`, checked on every call), and when that
/// access token expires (by the engine's clock: a call that lasts, the
/// change feed, ends then). An ID token is no session: refused (401), as is
/// a provider token.
#[derive(Debug, Clone)]
pub struct Person {
    pub principal: Principal,
    pub expires_at: lockbox_core::Time,
}

/// A call to the admin API's sign-in: allowed by the client's budget of
/// failed sign-ins (shared with the provider API), with its bearer token.
/// Every refusal with 401 goes through [`Gate::refuse`], which charges it.
pub struct Gate {
    ip: IpAddr,
    pub bearer: Option<String>,
    pub oidc: std::sync::Arc<crate::oidc::OidcVerifier>,
}

const SLOW_DOWN: &str = "too many calls without a valid sign-in from this client; slow down";

impl FromRequestParts<ApiState> for Gate {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let Some(oidc) = state.oidc.clone() else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "the admin API is off: this server has no --oidc-issuer",
            ));
        };
        // Failed sign-ins share the provider API's budget per client: a
        // client guessing tokens (or sending unknown key ids, each of which
        // may fetch the issuer's keys once) is slowed the same way.
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        state
            .limiter
            .allow_client(ip)
            .map_err(|wait| crate::auth::too_many(SLOW_DOWN, wait))?;
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        Ok(Gate { ip, bearer, oidc })
    }
}

impl Gate {
    /// `e`, charged to the client's budget if it is a 401 (a 429 once the
    /// budget is spent).
    pub fn refuse(&self, state: &ApiState, e: ApiError) -> ApiError {
        if e.status != StatusCode::UNAUTHORIZED {
            return e;
        }
        match state.limiter.failed(self.ip) {
            Ok(()) => e,
            Err(wait) => crate::auth::too_many(SLOW_DOWN, wait),
        }
    }

    /// The bearer token, or a (charged) 401 naming what was expected.
    pub fn bearer(&self, state: &ApiState, what: &str) -> Result<String, ApiError> {
        self.bearer
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                self.refuse(
                    state,
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        ErrorCode::Unauthorized,
                        format!("missing Authorization: Bearer <{what}>"),
                    ),
                )
            })
    }
}

impl FromRequestParts<ApiState> for Person {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let gate = Gate::from_request_parts(parts, state).await?;
        let token = gate.bearer(state, "Lockbox session token")?;
        if token.starts_with("eyJ") && token.matches('.').count() == 2 {
            return Err(gate.refuse(
                state,
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::Unauthorized,
                    "the admin API takes a Lockbox session, not an ID token: \
                     exchange the ID token at POST /admin/v1/sessions",
                ),
            ));
        }
        let oidc = gate.oidc.clone();
        let v = state
            .engine
            .run(move |e| e.session(&token, oidc.signed_in_at()))
            .await
            .map_err(|e| gate.refuse(state, e.into()))?;
        Ok(Person {
            principal: v.principal,
            expires_at: v.expires_at,
        })
    }
}

pub use lockbox_core::dto::SignIn;

/// `GET /admin/v1/sign-in`: where and as whom to sign in (no token needed);
/// 404 when this server has no `--oidc-issuer`.
pub async fn sign_in(State(s): State<ApiState>) -> ApiResult<Json<SignIn>> {
    let oidc = s.oidc.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "this server signs nobody in: it has no --oidc-issuer (the admin API is off)",
        )
    })?;
    Ok(Json(SignIn {
        issuer: oidc.issuer().to_string(),
        client_id: oidc.client_id().to_string(),
    }))
}

/// `POST /admin/v1/commands/{name}`: run engine command `name` as the
/// verified person; its result as JSON. No body (or `null`) is `{}`.
pub async fn command(
    State(s): State<ApiState>,
    person: Person,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let args = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidInput,
                format!("the body is not JSON: {e}"),
            )
        })?
    };
    let caller = Caller {
        principal: person.principal,
        archive: None,
    };
    match commands::call(&s.engine, &caller, &name, args).await {
        Some(result) => Ok(Json(result?)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            match commands::spec(&name) {
                Some(_) => format!("'{name}' runs in the desktop app, not on the server"),
                None => format!("no command '{name}'"),
            },
        )),
    }
}

/// The admin routes in the OpenAPI document: one path per engine command,
/// built from the command table (it is not known to `#[utoipa::path]`), tag
/// `admin`, security scheme `session` (a Lockbox session's access token);
/// the sessions' routes (`crate::sessions`), where `oidc` (the issuer's ID
/// token) is taken.
pub struct AdminPaths<'a> {
    pub issuer: &'a str,
}

impl utoipa::Modify for AdminPaths<'_> {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
        use utoipa::openapi::request_body::RequestBodyBuilder;
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        use utoipa::openapi::tag::TagBuilder;
        use utoipa::openapi::{
            ContentBuilder, ObjectBuilder, Ref, RefOr, ResponseBuilder, ResponsesBuilder, Schema,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "oidc",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(format!(
                        "An OpenID Connect ID token of {} for this server's client id, with a verified email. \
                         Discovery: {}/.well-known/openid-configuration",
                        self.issuer,
                        self.issuer.trim_end_matches('/')
                    )))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A Lockbox session's access token (`lbs_…`), from POST /admin/v1/sessions \
                         or /admin/v1/sessions/refresh; good for 15 minutes by the server's clock.",
                    ))
                    .build(),
            ),
        );
        let tags = openapi.tags.get_or_insert_with(Vec::new);
        tags.push(
            TagBuilder::new()
                .name("admin")
                .description(Some(
                    "The admin center's commands, for a person signed in with OpenID Connect.",
                ))
                .build(),
        );
        let any_object = || -> RefOr<Schema> { ObjectBuilder::new().into() };
        let error = || {
            ResponseBuilder::new().content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorDto")))
                    .build(),
            )
        };
        components.schemas.insert(
            "SignIn".to_string(),
            <SignIn as utoipa::PartialSchema>::schema(),
        );
        let sign_in = OperationBuilder::new()
            .operation_id(Some("admin_sign_in"))
            .tag("admin")
            .summary(Some("Where to sign in"))
            .description(Some(
                "The OpenID Connect issuer and the client id to sign in as (a public client: \
                 no secret), for `lockbox login` and the desktop app. No token needed.",
            ))
            .responses(
                ResponsesBuilder::new()
                    .response(
                        "200",
                        ResponseBuilder::new()
                            .description("The issuer and client id")
                            .content(
                                "application/json",
                                ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name("SignIn")))
                                    .build(),
                            ),
                    )
                    .response(
                        "404",
                        error().description("This server has no --oidc-issuer"),
                    )
                    .build(),
            )
            .build();
        openapi.paths.paths.insert(
            "/admin/v1/sign-in".to_string(),
            PathItem::new(HttpMethod::Get, sign_in),
        );
        crate::sessions::add_paths(openapi, error);
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.extend(crate::feed::schemas());
        openapi.paths.paths.insert(
            "/admin/v1/changes".to_string(),
            crate::feed::openapi_path(error),
        );
        for c in commands::COMMANDS.iter().filter(|c| c.runs == Runs::Engine) {
            let who = match c.role {
                Who::Anyone => "anyone signed in",
                Who::Member => "a user of the tenant named in the arguments",
                Who::Approver => "an approver or admin of the tenant",
                Who::Admin => "an admin of the tenant",
            };
            let access = match c.access {
                Access::Read => "Reads",
                Access::Write => "Writes",
            };
            let doc = c.doc.trim();
            let summary = if doc.is_empty() {
                c.name
            } else {
                doc.lines().next().unwrap_or(c.name)
            };
            let op = OperationBuilder::new()
                .operation_id(Some(format!("admin_{}", c.name)))
                .tag("admin")
                .summary(Some(summary.to_string()))
                .description(Some(format!(
                    "{doc}\n\n{access} the store. Who may call it: {who} (the engine decides). \
                     The arguments are those of `{}` in ui/src/bindings/commands.ts.",
                    c.name
                )))
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .description(Some("The command's arguments (camelCase); none is {}"))
                        .content(
                            "application/json",
                            ContentBuilder::new().schema(Some(any_object())).build(),
                        )
                        .build(),
                ))
                .responses(
                    ResponsesBuilder::new()
                        .response(
                            "200",
                            ResponseBuilder::new()
                                .description("The command's result")
                                .content("application/json", ContentBuilder::new().build()),
                        )
                        .response("400", error().description("Malformed JSON"))
                        .response(
                            "401",
                            error().description(
                                "No, unknown, expired or ended session (an ID token is refused here)",
                            ),
                        )
                        .response(
                            "403",
                            error().description("The person may not do this (role, self-approval)"),
                        )
                        .response("404", error().description("No such tenant or request"))
                        .response("409", error().description("Not in this state"))
                        .response("422", error().description("Invalid arguments"))
                        .response(
                            "429",
                            error().description(
                                "Too many calls without a valid sign-in from this client",
                            ),
                        )
                        .build(),
                )
                .security(SecurityRequirement::new("session", Vec::<String>::new()))
                .build();
            openapi.paths.paths.insert(
                format!("/admin/v1/commands/{}", c.name),
                PathItem::new(HttpMethod::Post, op),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every `$ref` of the document (the admin paths are built by hand)
    /// names a schema the document holds.
    #[test]
    fn every_schema_the_admin_document_refers_to_is_in_it() {
        fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                        out.push(r.to_string());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc = serde_json::to_value(crate::openapi(Some("https://id.example"))).unwrap();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(all.len() > 10, "{all:?}");
        for r in all {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(doc["components"]["schemas"][name].is_object(), "{r}");
        }
    }
}
