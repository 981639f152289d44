//! The body of each engine command: one engine use case and its DTO, a few
//! lines each (the tidy test holds them to a budget). Every rule lives in the
//! engine; nothing here decides anything the CLI could decide differently.

use super::args::*;
use super::{me, Caller};
use crate::dto::*;
use crate::{Engine, Result};

type R<T> = Result<T>;

/// The caller's session: their tenants and role, or, in an archive window,
/// every tenant of the archive (an auditor need not belong to it) and no role.
fn session_of(e: &mut Engine, c: &Caller) -> R<SessionDto> {
    let name = me(c).name();
    let member = if c.archive.is_some() {
        Vec::new()
    } else {
        e.memberships(name)?
    };
    let tenants = e.tenants()?;
    let tenants = tenants
        .iter()
        .filter(|t| c.archive.is_some() || member.iter().any(|(id, _)| *id == t.id));
    Ok(SessionDto {
        user: name.to_string(),
        role: member.first().map(|m| m.1.into()),
        tenants: tenants.map(TenantDto::from).collect(),
        archive: c.archive.clone(),
    })
}

pub(super) fn session(e: &mut Engine, c: &Caller, _: SessionArgs) -> R<SessionDto> {
    session_of(e, c)
}

/// `asked` when the user belongs to it, else their first tenant.
fn tenant_or_first(session: &SessionDto, asked: Option<String>) -> Option<String> {
    let first = || session.tenants.first().map(|t| t.id.clone());
    asked
        .filter(|t| session.tenants.iter().any(|x| x.id == *t))
        .or_else(first)
}

/// The session, and the first page of requests of the tenant it picks.
pub(super) fn boot(e: &mut Engine, c: &Caller, a: BootArgs) -> R<BootDto> {
    let session = session_of(e, c)?;
    let tenant = tenant_or_first(&session, a.tenant);
    let page = |(t, q): (&String, RequestQuery)| e.list_requests(t, &q.to_store());
    let requests = tenant.as_ref().zip(a.requests).map(page).transpose()?;
    Ok(BootDto {
        session,
        tenant,
        requests: requests.as_ref().map(RequestPage::from),
    })
}

pub(super) fn list_requests(e: &mut Engine, _: &Caller, a: ListRequestsArgs) -> R<RequestPage> {
    Ok(RequestPage::from(
        &e.list_requests(&a.tenant, &a.query.to_store())?,
    ))
}

pub(super) fn get_request(e: &mut Engine, _: &Caller, a: GetRequestArgs) -> R<RequestDto> {
    Ok(RequestDto::from(&e.request(&a.tenant, &a.id)?))
}

/// A request's whole trail (up to 1,000 entries).
fn trail(id: String) -> crate::store::AuditQuery {
    crate::store::AuditQuery {
        request_id: Some(id),
        limit: Some(1000),
        ..Default::default()
    }
}

pub(super) fn request_audit(
    e: &mut Engine,
    _: &Caller,
    a: RequestAuditArgs,
) -> R<Vec<AuditEntryDto>> {
    let page = e.audit_page(&a.tenant, &trail(a.id))?;
    Ok(page.iter().rev().map(AuditEntryDto::from).collect())
}

pub(super) fn approve_request(e: &mut Engine, c: &Caller, a: ApproveRequestArgs) -> R<RequestDto> {
    let r = e.approve(&a.tenant, &a.id, me(c), a.comment.as_deref(), a.duration_s)?;
    Ok(RequestDto::from(&r))
}

pub(super) fn reject_request(e: &mut Engine, c: &Caller, a: RejectRequestArgs) -> R<RequestDto> {
    Ok(RequestDto::from(&e.reject(
        &a.tenant,
        &a.id,
        me(c),
        a.comment.as_deref(),
    )?))
}

pub(super) fn revoke_request(e: &mut Engine, c: &Caller, a: RevokeRequestArgs) -> R<RequestDto> {
    Ok(RequestDto::from(&e.revoke(
        &a.tenant,
        &a.id,
        me(c),
        a.comment.as_deref(),
    )?))
}

pub(super) fn get_settings(e: &mut Engine, _: &Caller, a: GetSettingsArgs) -> R<SettingsDto> {
    Ok(SettingsDto::from(&e.settings(&a.tenant)?))
}

pub(super) fn update_settings(e: &mut Engine, c: &Caller, a: UpdateSettingsArgs) -> R<SettingsDto> {
    Ok(SettingsDto::from(&e.update_settings(
        &a.tenant,
        me(c),
        &(&a.settings).into(),
    )?))
}

pub(super) fn list_users(e: &mut Engine, _: &Caller, a: ListUsersArgs) -> R<Vec<UserDto>> {
    Ok(e.users(&a.tenant)?.iter().map(UserDto::from).collect())
}

pub(super) fn add_user(e: &mut Engine, c: &Caller, a: AddUserArgs) -> R<UserDto> {
    let u = e.add_user(&a.tenant, me(c), &a.name, a.role.into(), a.email.as_deref())?;
    Ok(UserDto::from(&u))
}

pub(super) fn remove_user(e: &mut Engine, c: &Caller, a: RemoveUserArgs) -> R<()> {
    e.remove_user(&a.tenant, me(c), &a.name)
}

/// The store query of a page of the audit log: 50 entries unless asked, at most 1,000.
fn audit_page_query(q: &AuditQuery) -> R<(crate::store::AuditQuery, u32)> {
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    Ok((
        crate::store::AuditQuery {
            limit: Some(limit),
            ..q.to_store()?
        },
        limit,
    ))
}

pub(super) fn query_audit(e: &mut Engine, _: &Caller, a: QueryAuditArgs) -> R<AuditPage> {
    let (q, limit) = audit_page_query(&a.query)?;
    Ok(AuditPage::from_entries(
        &e.audit_page(&a.tenant, &q)?,
        limit,
    ))
}

pub(super) fn verify_audit(e: &mut Engine, _: &Caller, _: VerifyAuditArgs) -> R<VerifyReport> {
    Ok(VerifyReport::from(&e.verify_audit()?))
}

pub(super) fn home_stats(e: &mut Engine, _: &Caller, a: HomeStatsArgs) -> R<HomeStats> {
    Ok(HomeStats::from(&e.home_stats(&a.tenant)?))
}

pub(super) fn list_tokens(e: &mut Engine, _: &Caller, a: ListTokensArgs) -> R<Vec<TokenDto>> {
    let now = e.now();
    Ok(e.tokens(&a.tenant)?
        .iter()
        .map(|t| TokenDto::new(t, now))
        .collect())
}

pub(super) fn issue_token(e: &mut Engine, c: &Caller, a: IssueTokenArgs) -> R<IssuedTokenDto> {
    let (t, secret) = e.issue_token(&a.tenant, me(c), &a.name, a.expires_s)?;
    Ok(IssuedTokenDto {
        token: TokenDto::new(&t, e.now()),
        secret,
    })
}

pub(super) fn revoke_token(e: &mut Engine, c: &Caller, a: RevokeTokenArgs) -> R<TokenDto> {
    e.revoke_token(&a.tenant, me(c), &a.name)
        .map(|t| TokenDto::new(&t, e.now()))
}

pub(super) fn get_smtp(e: &mut Engine, _: &Caller, a: GetSmtpArgs) -> R<Option<SmtpDto>> {
    Ok(e.smtp(&a.tenant)?.as_ref().map(SmtpDto::from))
}

pub(super) fn email_status(e: &mut Engine, _: &Caller, a: EmailStatusArgs) -> R<Vec<DeliveryDto>> {
    Ok(e.email_deliveries(&a.tenant, 100)?
        .iter()
        .map(DeliveryDto::from)
        .collect())
}

pub(super) fn replica_page(e: &mut Engine, _: &Caller, a: ReplicaPageArgs) -> R<ReplicaPageDto> {
    e.replica_page(&a.tenant, a.since, a.after, a.limit)
}
