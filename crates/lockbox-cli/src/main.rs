//! `lockbox`: the Customer Lockbox admin center, headless. Every command is a
//! thin adapter: parse arguments, call the engine, print the result.

/// `println!` that never panics: a closed pipe (`lockbox … | head`) is not an error.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// `print!` that never panics on a closed pipe.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

mod args;
mod audit;
mod print;
mod provider;
mod remote;

use args::{AccessCmd, AuditCmd, Cli, Cmd, RequestCmd, SettingsCmd, TenantCmd, UserCmd};
use lockbox_core::dto::{AccessDto, RequestDto, SettingsDto, TenantDto, UserDto};
use lockbox_core::duration::parse_duration;
use lockbox_core::engine::default_db_path;
use lockbox_core::model::{NewRequest, Role, State};
use lockbox_core::store::{RequestQuery, RequestSort, StoreLocation};
use lockbox_core::{
    clock::parse_time, Clock, Engine, Error, ErrorClass, ErrorCode, ManualClock, Principal, Result,
    SystemClock,
};
use print::Out;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    // Before anything may speak TLS (`serve --tls-cert`, email): one rustls provider.
    lockbox_api::install_crypto_provider();
    let cli = Cli::parse_args();
    init_logs(&cli);
    let out = Out { json: cli.json };
    match run(cli, &out) {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            ExitCode::from(match e.code.class() {
                ErrorClass::Rule => 1,
                ErrorClass::Input => 2,
                ErrorClass::Store => 3,
            })
        }
    }
}

/// Log lines on stderr, at `LOCKBOX_LOG`'s level (default: errors only;
/// `lockbox serve`: info), as text or JSON (`--log-format`).
fn init_logs(cli: &Cli) {
    use tracing_subscriber::filter::{EnvFilter, LevelFilter};
    let default = if matches!(cli.cmd, Cmd::Serve { .. }) {
        LevelFilter::INFO
    } else {
        LevelFilter::ERROR
    };
    let filter = EnvFilter::builder()
        .with_default_directive(default.into())
        .with_env_var("LOCKBOX_LOG")
        .from_env_lossy();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        args::LogFormat::Text => logs.init(),
        args::LogFormat::Json => logs.json().init(),
    }
}

/// `LOCKBOX_NOW` pins the clock (tests and demos); otherwise the wall clock.
fn clock() -> Result<Arc<dyn Clock>> {
    match std::env::var("LOCKBOX_NOW") {
        Ok(v) if !v.trim().is_empty() => Ok(Arc::new(ManualClock::new(parse_time(&v)?))),
        _ => Ok(Arc::new(SystemClock)),
    }
}

fn run(cli: Cli, out: &Out) -> Result<ExitCode> {
    // Packaging: generated from this very grammar; no store is opened.
    match &cli.cmd {
        Cmd::Completions { shell } => return completions(*shell),
        Cmd::Man { out } => return man_pages(out.as_deref()),
        Cmd::Store {
            cmd: args::StoreCmd::Copy { from, to },
        } => return store_copy(from, to, cli.receipt_key.as_deref(), out),
        // A team server's client: no local store is opened.
        Cmd::Login {
            server,
            ca,
            browser,
        } => return remote::login(server, ca.clone(), *browser, out),
        Cmd::Logout { team } => return remote::logout(team.server.clone(), out),
        Cmd::Remote {
            team,
            ca,
            follow: true,
            ..
        } => return remote::follow(team.server.clone(), ca.clone(), clock()?.as_ref(), out),
        Cmd::Remote {
            team,
            ca,
            replica: Some(file),
            ..
        } => {
            return remote::replica(
                team.server.clone(),
                ca.clone(),
                file,
                clock()?.as_ref(),
                out,
            )
        }
        Cmd::Remote {
            team,
            ca,
            command,
            args,
            ..
        } => {
            return remote::remote(
                team.server.clone(),
                ca.clone(),
                command.as_deref().unwrap_or_default(),
                args.clone(),
                clock()?.as_ref(),
                out,
            )
        }
        _ => {}
    }
    // An export file verifies on its own: no store is opened (or created).
    if let Cmd::Audit {
        cmd:
            AuditCmd::Verify {
                file: Some(file),
                format,
                ..
            },
    } = &cli.cmd
    {
        return audit::verify_file(file, format.as_deref(), out);
    }
    let loc = match (&cli.store, &cli.db) {
        (Some(s), _) => StoreLocation::parse(s),
        (None, Some(p)) => StoreLocation::File(p.clone()),
        (None, None) => StoreLocation::File(default_db_path()?),
    };
    let key = match &cli.receipt_key {
        Some(k) => k.clone(),
        None => lockbox_core::receipts::default_key_path(&loc)?,
    };
    if let (StoreLocation::Postgres(_), true) = (&loc, cli.read_only) {
        return Err(Error::input(
            "--read-only opens a store file (an archive, a copy); a PostgreSQL store is read \
             through a database role without write privileges instead",
        ));
    }
    let db = match &loc {
        StoreLocation::File(p) => Some(p.clone()),
        StoreLocation::Postgres(_) => None,
    };
    // Customer-side commands act as the OS user running this process, never
    // as a name given on the command line or in the environment.
    let os = Principal::current_os_user();
    if let (Some(name), true) = (&cli.actor, cli.cmd.acts_as_customer()) {
        return Err(Error::input(format!(
            "--as {name}: customer decisions, settings, users and tokens are made as the \
             OS user running lockbox ({}); --as names provider-side people only",
            os.name()
        )));
    }
    // The provider-side person (asserted by the provider): manager, engineer.
    let provider = cli.actor.clone().unwrap_or_else(|| os.name().to_string());
    let tenant = cli.tenant.as_str();
    // Offline verification needs no store.
    if let Cmd::Receipt {
        cmd: args::ReceiptCmd::Verify { file, public_key },
    } = &cli.cmd
    {
        return provider::verify_offline(file, public_key, out);
    }
    // A store the caller cannot write (an archive, a read-only share) is
    // opened read-only rather than failing on the first write.
    let read_only = cli.read_only
        || match db.as_deref().and_then(lockbox_core::store::store_writable) {
            Some(false) => {
                eprintln!(
                    "lockbox: {} is not writable; opened read-only",
                    loc.display()
                );
                true
            }
            _ => false,
        };
    if read_only {
        let refuse = |what: &str| {
            Err(Error::new(
                ErrorCode::ReadOnly,
                format!(
                    "this store is open read-only ({}): cannot {what}",
                    loc.display()
                ),
            ))
        };
        match &cli.cmd {
            Cmd::Serve { .. } => {
                return refuse("serve the provider API (it files requests and sweeps deadlines)")
            }
            Cmd::Receipt {
                cmd: args::ReceiptCmd::RotateKey,
            } => return refuse("rotate the receipt signing key"),
            _ => {}
        }
    }
    if matches!(cli.cmd, Cmd::Serve { .. }) && std::env::var_os("LOCKBOX_NOW").is_some() {
        return Err(Error::input(
            "LOCKBOX_NOW pins the clock for one command (tests, demos); `lockbox serve` \
             runs on the real clock, or grants would never end: unset LOCKBOX_NOW",
        ));
    }
    // A new key is made instead of loading the (missing, exposed) old one.
    if let Cmd::Receipt {
        cmd: args::ReceiptCmd::RotateKey,
    } = &cli.cmd
    {
        let (e, old) = Engine::open_rotating_receipt_key_at(&loc, &key, clock()?, tenant, &os)?;
        return provider::rotated_key(&e, old, out);
    }
    // Verifying only reads: always read-only, so it works on an auditor's
    // copy even where the caller may write it (no receipt key beside it) and
    // never changes what it checks (no sweep, no key recorded).
    let verify = matches!(
        cli.cmd,
        Cmd::Audit {
            cmd: AuditCmd::Verify { .. }
        }
    );
    let mut engine = if let Some(db) = db.as_deref().filter(|_| read_only || verify) {
        open_file_read_only(db, read_only, &os)?
    } else {
        Engine::open_at(&loc, &key, clock()?, os.name())?
    };
    if let Cmd::Serve {
        bind,
        tls_cert,
        tls_key,
        rate,
        auth_failures,
        pool,
        feed_connections,
        oidc_issuer,
        oidc_client_id,
        oidc_ca,
        bootstrap_admin,
    } = cli.cmd
    {
        let clock = clock()?;
        let oidc = provider::oidc(oidc_issuer, oidc_client_id, oidc_ca, clock.clone())?;
        if let Some(email) = bootstrap_admin {
            provider::bootstrap_admin(&mut engine, &os, &email)?;
        }
        let engines = provider::engines(engine, &loc, &key, clock, os.name(), pool)?;
        return provider::serve(
            engines,
            &loc,
            &bind,
            tls_cert.zip(tls_key),
            provider::ServeLimits {
                rate,
                auth_failures,
                feeds: feed_connections as usize,
            },
            oidc,
        );
    }
    let e = &mut engine;
    match cli.cmd {
        Cmd::Tenant {
            cmd: TenantCmd::Add { id, name },
        } => {
            let t = e.add_tenant(tenant, &os, &id, name.as_deref().unwrap_or(&id))?;
            out.tenants(&[TenantDto::from(&t)]);
        }
        Cmd::Tenant {
            cmd: TenantCmd::List,
        } => {
            out.tenants(&e.tenants()?.iter().map(TenantDto::from).collect::<Vec<_>>());
        }
        Cmd::Settings {
            cmd: SettingsCmd::Show,
        } => {
            let s = e.settings(tenant)?;
            out.settings(&s.entries(), &SettingsDto::from(&s));
        }
        Cmd::Settings {
            cmd: SettingsCmd::Set { key, value },
        } => {
            let s = e.set_setting(tenant, &os, &key, &value)?;
            out.settings(&s.entries(), &SettingsDto::from(&s));
        }
        Cmd::User {
            cmd: UserCmd::Add { name, role, email },
        } => {
            let u = e.add_user(tenant, &os, &name, Role::parse(&role)?, email.as_deref())?;
            out.users(&[UserDto::from(&u)]);
        }
        Cmd::User { cmd: UserCmd::List } => {
            out.users(
                &e.users(tenant)?
                    .iter()
                    .map(UserDto::from)
                    .collect::<Vec<_>>(),
            );
        }
        Cmd::User {
            cmd: UserCmd::Remove { name },
        } => {
            e.remove_user(tenant, &os, &name)?;
            out.done(&format!("removed user {name}"));
        }
        Cmd::Request { cmd } => return request(e, tenant, &os, &provider, cmd, out),
        Cmd::Access {
            cmd: AccessCmd::Check { id },
        } => {
            let id = e.resolve_id(tenant, &id)?;
            let d = e.check_access(tenant, &id)?;
            out.access(&AccessDto::new(&id, &d));
            return Ok(if d.allowed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        Cmd::Access {
            cmd: AccessCmd::Log { id, action },
        } => {
            let id = e.resolve_id(tenant, &id)?;
            let d = e.log_access(tenant, &id, &provider, &action)?;
            out.access(&AccessDto::new(&id, &d));
        }
        Cmd::Audit { cmd } => return audit::audit(e, tenant, cmd, out),
        Cmd::Token { cmd } => return provider::token(e, tenant, &os, cmd, out),
        Cmd::Receipt { cmd } => return provider::receipt(e, tenant, cmd, out),
        Cmd::Smtp { cmd } => return provider::smtp(e, tenant, &os, cmd, out),
        Cmd::Notifications { cmd } => return provider::notifications(e, tenant, cmd, out),
        Cmd::Serve { .. }
        | Cmd::Completions { .. }
        | Cmd::Man { .. }
        | Cmd::Store { .. }
        | Cmd::Login { .. }
        | Cmd::Logout { .. }
        | Cmd::Remote { .. } => {}
        Cmd::Demo => {
            let reqs = lockbox_core::demo::seed(e, tenant)?;
            out.requests(&reqs.iter().map(RequestDto::from).collect::<Vec<_>>());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lockbox completions SHELL`: the completion script, from the clap grammar.
fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "lockbox", &mut buf);
    write_stdout(&buf)
}

/// `lockbox man`: lockbox(1) in roff, from the clap grammar; `--out DIR`:
/// it and a page per subcommand, as files.
fn man_pages(dir: Option<&std::path::Path>) -> Result<ExitCode> {
    // As `generate_to` does for every page: `lockbox help` gets none.
    let cmd = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    let failed = |e: std::io::Error| Error::input(format!("cannot write the man pages: {e}"));
    if let Some(dir) = dir {
        clap_mangen::generate_to(cmd, dir).map_err(failed)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .map_err(failed)?;
    write_stdout(&buf)
}

fn write_stdout(bytes: &[u8]) -> Result<ExitCode> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Error::input(format!("cannot write to stdout: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// `lockbox store copy`: copy, verify both, compare every tenant's head; a
/// file copy gets the source's receipt key beside it (0600).
fn store_copy(
    from: &str,
    to: &str,
    receipt_key: Option<&std::path::Path>,
    out: &Out,
) -> Result<ExitCode> {
    let (from, to) = (StoreLocation::parse(from), StoreLocation::parse(to));
    let report = lockbox_core::store::copy::copy(&from, &to)?;
    use lockbox_core::receipts::{carry_key, CopiedKey};
    let key_note = match carry_key(&from, &to, receipt_key)? {
        CopiedKey::Copied(k) => format!("receipt key copied to {}", k.display()),
        CopiedKey::Beside(k) => format!("receipt key: {}", k.display()),
        CopiedKey::NameIt(k) => format!(
            "open it with --receipt-key {} (the key the copied log records)",
            k.display()
        ),
    };
    let heads: serde_json::Map<String, serde_json::Value> = report
        .heads()
        .iter()
        .map(|(t, h)| {
            (
                t.clone(),
                serde_json::json!({"entries": h.entries, "hash": h.hash}),
            )
        })
        .collect();
    let rows: serde_json::Map<String, serde_json::Value> = report
        .rows
        .iter()
        .map(|(t, n)| (t.clone(), (*n).into()))
        .collect();
    let same = report.identical();
    let mut text = format!(
        "copied {} to {}: {} audit entries, {} requests\n",
        from.display(),
        to.display(),
        report.copy.entries,
        report
            .rows
            .iter()
            .find(|(t, _)| t == "requests")
            .map_or(0, |r| r.1)
    );
    for (t, h) in report.heads() {
        text.push_str(&format!(
            "  tenant {t}: {} entries, head {}\n",
            h.entries, h.hash
        ));
    }
    text.push_str(if same {
        "both verify, with the same head in every tenant\n"
    } else {
        "THE COPY DIFFERS: its chains do not verify to the source's heads\n"
    });
    text.push_str(&key_note);
    out.value(
        &serde_json::json!({"from": from.display(), "to": to.display(), "rows": rows,
                            "heads": heads, "identical": same, "receipt_key": key_note}),
        &text,
    );
    Ok(if same {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Open a store file for reading: read-only when asked (or not writable),
/// else for `audit verify`, which only reads: read-only too, unless the store
/// is not at this build's schema — an older one, or one whose creation was
/// cut short (a crash) — then it is opened as any command opens it, which
/// upgrades or finishes it, and then it is checked.
fn open_file_read_only(db: &std::path::Path, read_only: bool, os: &Principal) -> Result<Engine> {
    if read_only {
        return Engine::open_read_only(db, clock()?);
    }
    match Engine::open_read_only(db, clock()?) {
        Ok(e) => Ok(e),
        Err(err) if err.code == lockbox_core::ErrorCode::ReadOnly => {
            Engine::open(db, clock()?, os.name())
        }
        Err(err) => Err(err),
    }
}

fn request(
    e: &mut Engine,
    tenant: &str,
    os: &Principal,
    provider: &str,
    cmd: RequestCmd,
    out: &Out,
) -> Result<ExitCode> {
    let dur = |d: &Option<String>| d.as_deref().map(parse_duration).transpose();
    let req = match cmd {
        RequestCmd::New {
            engineer,
            case,
            workload,
            resource,
            reason,
            duration,
        } => {
            let new = NewRequest {
                engineer,
                case,
                workload,
                resource,
                reason,
                duration_s: dur(&duration)?,
            };
            e.file_request(tenant, &new)?
        }
        RequestCmd::List {
            state,
            created_after,
            search,
            sort,
            limit,
        } => {
            let q = RequestQuery {
                states: state
                    .iter()
                    .map(|s| State::parse(s))
                    .collect::<Result<_>>()?,
                search,
                created_after: created_after.as_deref().map(parse_time).transpose()?,
                sort: match sort.as_str() {
                    "newest" => RequestSort::Newest,
                    "oldest" => RequestSort::Oldest,
                    "expires" => RequestSort::ExpiresSoonest,
                    other => {
                        return Err(Error::input(format!(
                            "'{other}' is not a sort: use newest, oldest or expires"
                        )))
                    }
                },
                cursor: None,
                limit,
            };
            let page = e.list_requests(tenant, &q)?;
            out.requests(&page.items.iter().map(RequestDto::from).collect::<Vec<_>>());
            return Ok(ExitCode::SUCCESS);
        }
        RequestCmd::Show { id } => {
            let id = e.resolve_id(tenant, &id)?;
            e.request(tenant, &id)?
        }
        RequestCmd::ProviderApprove { id, comment } => {
            let id = e.resolve_id(tenant, &id)?;
            e.provider_approve(tenant, &id, provider, comment.as_deref())?
        }
        RequestCmd::Approve {
            id,
            comment,
            duration,
        } => {
            let id = e.resolve_id(tenant, &id)?;
            e.approve(tenant, &id, os, comment.as_deref(), dur(&duration)?)?
        }
        RequestCmd::Reject { id, comment } => {
            let id = e.resolve_id(tenant, &id)?;
            e.reject(tenant, &id, os, comment.as_deref())?
        }
        RequestCmd::Cancel { id, comment } => {
            let id = e.resolve_id(tenant, &id)?;
            e.cancel(tenant, &id, provider, comment.as_deref())?
        }
        RequestCmd::Revoke { id, comment } => {
            let id = e.resolve_id(tenant, &id)?;
            e.revoke(tenant, &id, os, comment.as_deref())?
        }
    };
    out.request(&RequestDto::from(&req));
    Ok(ExitCode::SUCCESS)
}
