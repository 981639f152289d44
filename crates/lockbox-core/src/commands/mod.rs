//! The admin center's command contract, declared once.
//!
//! Each command has a name, an argument struct, a result type, whether it
//! writes, and who may call it. From the one declaration below come:
//! - the argument structs ([`args`]) and the command table ([`COMMANDS`]);
//! - the dispatch of **engine** commands ([`call`]) to their bodies in
//!   [`engine_cmds`] (each a few lines: one engine use case and a DTO);
//! - the [`Shell`] trait a host implements for **shell** commands (dialogs,
//!   keyring, preferences, the API it runs), so a host that misses one does
//!   not compile;
//! - the TypeScript client map `ui/src/bindings/commands.ts`
//!   ([`export_typescript`], drift-checked by `tests/bindings.rs`), so a
//!   renamed or retyped command fails `tsc` as it fails `cargo build`.
//!
//! The desktop shell (`src-tauri/src/ipc.rs`) is one generic handler over
//! this table; the team server's admin routes (`lockbox_api::admin`) are
//! another.

mod engine_cmds;
mod macros;
pub mod smtp;

use crate::dto::*;
use crate::runtime::EngineHandle;
use crate::{Error, Principal, Result};
use macros::declare_commands;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Where a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// In the engine, under its lock, on a blocking thread ([`call`]).
    Engine,
    /// In the host ([`Shell`]), which may await I/O without the engine lock.
    Shell,
}

/// Whether a command may change the store (a change is signalled after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Who may call a command. The engine enforces it (`need_admin`, the
/// approver rules; `Member` by `Engine::need_member` before the command
/// runs); the table says it for adapters and readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Anyone signed in (no tenant involved).
    Anyone,
    /// A member of the tenant named in the arguments.
    Member,
    /// A customer approver (or admin) of the tenant.
    Approver,
    /// An admin of the tenant.
    Admin,
}

/// One command of the table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    pub name: &'static str,
    pub runs: Runs,
    pub access: Access,
    pub role: Who,
    pub doc: &'static str,
}

/// Who is calling, as the host authenticated them.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The OS user (local store) or the signed-in person (team server).
    pub principal: Principal,
    /// Set in an archive window: the store copy it shows.
    pub archive: Option<ArchiveDto>,
}

declare_commands! {
    engine {
        /// Who is signed in, their role, and the tenants they see.
        Read Anyone session(SessionArgs {}) -> SessionDto;
        /// The session and, when asked, the first page of requests, in one round trip.
        Read Anyone boot(BootArgs { tenant: Option<String>, requests: Option<RequestQuery> }) -> BootDto;
        Read Member list_requests(ListRequestsArgs { tenant: String, query: RequestQuery }) -> RequestPage;
        Read Member get_request(GetRequestArgs { tenant: String, id: String }) -> RequestDto;
        /// A request's audit trail, oldest first.
        Read Member request_audit(RequestAuditArgs { tenant: String, id: String }) -> Vec<AuditEntryDto>;
        Write Approver approve_request(ApproveRequestArgs { tenant: String, id: String, comment: Option<String>, duration_s: Option<i64> }) -> RequestDto;
        Write Approver reject_request(RejectRequestArgs { tenant: String, id: String, comment: Option<String> }) -> RequestDto;
        Write Approver revoke_request(RevokeRequestArgs { tenant: String, id: String, comment: Option<String> }) -> RequestDto;
        Read Member get_settings(GetSettingsArgs { tenant: String }) -> SettingsDto;
        Write Admin update_settings(UpdateSettingsArgs { tenant: String, settings: SettingsDto }) -> SettingsDto;
        Read Member list_users(ListUsersArgs { tenant: String }) -> Vec<UserDto>;
        Write Admin add_user(AddUserArgs { tenant: String, name: String, role: RoleDto, email: Option<String> }) -> UserDto;
        Write Admin remove_user(RemoveUserArgs { tenant: String, name: String }) -> ();
        Read Member query_audit(QueryAuditArgs { tenant: String, query: AuditQuery }) -> AuditPage;
        /// Verify every chain of the store's audit log.
        Read Anyone verify_audit(VerifyAuditArgs {}) -> VerifyReport;
        Read Member home_stats(HomeStatsArgs { tenant: String }) -> HomeStats;
        /// Provider connections (API tokens) of the tenant.
        Read Member list_tokens(ListTokensArgs { tenant: String }) -> Vec<TokenDto>;
        /// Issue a token; `secret` in the result is shown once and never again.
        Write Admin issue_token(IssueTokenArgs { tenant: String, name: String, expires_s: Option<i64> }) -> IssuedTokenDto;
        Write Admin revoke_token(RevokeTokenArgs { tenant: String, name: String }) -> TokenDto;
        /// The tenant's SMTP server, or null when email is off.
        Read Member get_smtp(GetSmtpArgs { tenant: String }) -> Option<SmtpDto>;
        /// Approver email deliveries, newest first.
        Read Member email_status(EmailStatusArgs { tenant: String }) -> Vec<DeliveryDto>;
        /// A page of the tenant's audit chain as stored, for a connected
        /// desktop's replica (`store::replica`); `limit` at most 10 000.
        Read Member replica_page(ReplicaPageArgs { tenant: String, since: i64, after: i64, limit: u32 }) -> ReplicaPageDto;
    }
    shell {
        /// This machine's preferences.
        Read Anyone get_prefs(GetPrefsArgs {}) -> AppPrefsDto;
        Write Anyone set_prefs(SetPrefsArgs { prefs: AppPrefsDto }) -> AppPrefsDto;
        /// What the tray shows: the pending count across tenants.
        Read Anyone tray_state(TrayStateArgs {}) -> TrayStateDto;
        /// Ask where to save an audit export (native dialog); null when canceled.
        Read Anyone choose_export_path(ChooseExportPathArgs { format: String }) -> Option<String>;
        /// Export to a path chosen in the save dialog; the number of entries written.
        Read Member export_audit(ExportAuditArgs { tenant: String, query: AuditQuery, format: String, path: String }) -> u64;
        /// `smtp: null` turns email off; `password: null` keeps the saved one.
        Write Admin set_smtp(SetSmtpArgs { tenant: String, smtp: Option<SmtpInput> }) -> Option<SmtpDto>;
        /// Send a test message now; fails with the reason when it is not sent.
        Read Admin test_smtp(TestSmtpArgs { tenant: String, to: String }) -> ();
        /// The local provider API (app-wide), as configured and as running.
        Read Anyone get_api_settings(GetApiSettingsArgs {}) -> ApiSettingsDto;
        Write Admin set_api_settings(SetApiSettingsArgs { tenant: String, settings: ApiSettingsDto }) -> ApiSettingsDto;
        /// The first page rendered (cold-start benchmark); ms since start.
        Read Anyone ui_ready(UiReadyArgs { page: String }) -> u64;
        /// What the window shows now (a route, e.g. `requests?request=ID`),
        /// logged: where a notification click or tray item led.
        Read Anyone ui_shown(UiShownArgs { route: String }) -> ();
        /// Archive window: the archive's verification, when done.
        Read Anyone archive_verify(ArchiveVerifyArgs {}) -> VerifyReport;
        /// Choose a store file and open it read-only in a new window.
        Read Anyone open_archive(OpenArchiveArgs {}) -> Option<String>;
        /// This machine's team server, if any, and who is signed in to it.
        Read Anyone get_connection(GetConnectionArgs {}) -> ConnectionDto;
        /// Sign in to a team server in the system browser and send the
        /// engine commands there from now on; `ca`: a PEM file to trust.
        Write Anyone connect_server(ConnectServerArgs { url: String, ca: Option<String> }) -> ConnectionDto;
        /// Forget the team server and its sign-in: back to this machine's store.
        Write Anyone disconnect_server(DisconnectServerArgs {}) -> ConnectionDto;
    }
}

/// The command called `name`, if any.
pub fn spec(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

fn parse_args<A: DeserializeOwned>(name: &str, args: serde_json::Value) -> Result<A> {
    // No arguments at all is the empty object (`invoke("session")`).
    let args = if args.is_null() {
        serde_json::json!({})
    } else {
        args
    };
    serde_json::from_value(args)
        .map_err(|e| Error::input(format!("invalid arguments for {name}: {e}")))
}

/// The table's `Who::Member`, enforced for every host: a command that reads
/// a tenant's data is for users of that tenant (on a team server, anyone
/// the issuer signs in could otherwise read every tenant). Approver and
/// admin commands are checked by their use cases (`need_admin`, the
/// approver rules). An archive window shows a copy to an auditor, who
/// need not be a user of it.
fn admit(
    e: &mut crate::Engine,
    caller: &Caller,
    name: &str,
    args: &serde_json::Value,
) -> Result<()> {
    let member_only = spec(name).is_some_and(|s| s.role == Who::Member);
    match args.get("tenant").and_then(serde_json::Value::as_str) {
        Some(tenant) if member_only && caller.archive.is_none() => {
            e.need_member(tenant, me(caller))
        }
        _ => Ok(()),
    }
}

fn to_json<T: Serialize>(v: T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::internal(format!("result not serializable: {e}")))
}

/// Run engine command `name` for `caller` on a blocking thread; signal a
/// change after a write. `None`: not an engine command (a shell command, or
/// no command at all).
pub async fn call(
    h: &EngineHandle,
    caller: &Caller,
    name: &str,
    args: serde_json::Value,
) -> Option<Result<serde_json::Value>> {
    let spec = spec(name).filter(|s| s.runs == Runs::Engine)?;
    let (caller, name_owned) = (caller.clone(), spec.name);
    let job = move |e: &mut crate::Engine| {
        run_engine_command(e, &caller, name_owned, args)
            .unwrap_or_else(|| Err(Error::internal(format!("{name_owned} has no engine body"))))
    };
    Some(match spec.access {
        Access::Read => h.run(job).await,
        Access::Write => h.write(job).await,
    })
}

/// Run engine command `name` synchronously (tests, a synchronous host).
pub fn call_blocking(
    e: &mut crate::Engine,
    caller: &Caller,
    name: &str,
    args: serde_json::Value,
) -> Option<Result<serde_json::Value>> {
    spec(name).filter(|s| s.runs == Runs::Engine)?;
    run_engine_command(e, caller, name, args)
}

/// The TypeScript of `ui/src/bindings/commands.ts`: every command's name,
/// argument and result types, and whether it runs in the engine or the shell.
pub fn typescript() -> String {
    // Counts (u64) cross as JSON numbers.
    let cfg = ts_rs::Config::new().with_large_int("number");
    let mut imports = std::collections::BTreeSet::new();
    struct Names<'a>(
        &'a mut std::collections::BTreeSet<(String, String)>,
        &'a ts_rs::Config,
    );
    impl ts_rs::TypeVisitor for Names<'_> {
        fn visit<T: ts_rs::TS + 'static + ?Sized>(&mut self) {
            if let Some(path) = T::output_path() {
                let path = path.with_extension("").to_string_lossy().replace('\\', "/");
                self.0.insert((T::ident(self.1), path));
            } else {
                // `Vec<T>`, `Option<T>`: T is a generic parameter, not a dependency.
                T::visit_generics(self);
                T::visit_dependencies(self);
            }
        }
    }
    visit_command_types(&mut Names(&mut imports, &cfg));
    let mut body = String::from(
        "\n/** Every command: its arguments and its result. */\nexport type Commands = {\n",
    );
    for ((name, args, result), spec) in typescript_entries(&cfg).iter().zip(COMMANDS) {
        for line in spec.doc.lines() {
            body.push_str(&format!("  /**{line} */\n"));
        }
        body.push_str(&format!(
            "  {name}: {{ args: {args}; result: {result} }};\n"
        ));
    }
    body.push_str("};\n\nexport type CommandName = keyof Commands;\n");
    body.push_str("export type CommandArgs<K extends CommandName> = Commands[K][\"args\"];\n");
    body.push_str("export type CommandResult<K extends CommandName> = Commands[K][\"result\"];\n");
    body.push_str(
        "\n/** Where each command runs, whether it writes, and who may call it. */\n\
         export const COMMANDS = {\n",
    );
    for c in COMMANDS {
        let runs = if c.runs == Runs::Engine {
            "engine"
        } else {
            "shell"
        };
        let access = if c.access == Access::Write {
            "write"
        } else {
            "read"
        };
        let role = format!("{:?}", c.role).to_lowercase();
        body.push_str(&format!(
            "  {}: {{ runs: \"{runs}\", access: \"{access}\", role: \"{role}\" }},\n",
            c.name
        ));
    }
    body.push_str("} as const satisfies Record<CommandName, { runs: string; access: string; role: string }>;\n");
    let mut out = String::from(
        "// Generated from crates/lockbox-core/src/commands/mod.rs (the one declaration of\n\
         // every command) by `make bindings`. Do not edit.\n\n",
    );
    // Import what the map names (the visit also yields what those types use).
    let words: std::collections::BTreeSet<&str> = body
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .collect();
    for (name, path) in imports.iter().filter(|(n, _)| words.contains(n.as_str())) {
        out.push_str(&format!("import type {{ {name} }} from \"./{path}\";\n"));
    }
    out + &body
}

/// Write the TypeScript of every wire type the commands use (ts-rs, one file
/// per type), the error type, the event payloads, and `commands.ts`, into
/// `dir`. The list is derived from the command table, never kept by hand.
pub fn export_typescript(dir: &std::path::Path) -> std::result::Result<(), ts_rs::ExportError> {
    let cfg = ts_rs::Config::new().with_out_dir(dir);
    struct Export<'a>(&'a ts_rs::Config, Option<ts_rs::ExportError>);
    impl ts_rs::TypeVisitor for Export<'_> {
        fn visit<T: ts_rs::TS + 'static + ?Sized>(&mut self) {
            if self.1.is_some() {
                return;
            }
            if T::output_path().is_some() {
                if let Err(e) = T::export_all(self.0) {
                    self.1 = Some(e);
                }
            } else {
                // `Vec<T>`, `Option<T>`: T is a generic parameter, not a dependency.
                T::visit_generics(self);
                T::visit_dependencies(self);
            }
        }
    }
    let mut v = Export(&cfg, None);
    visit_command_types(&mut v);
    // Not a command result: errors (every command's failure) and events.
    ts_rs::TypeVisitor::visit::<Error>(&mut v);
    ts_rs::TypeVisitor::visit::<LockboxEvent>(&mut v);
    if let Some(e) = v.1 {
        return Err(e);
    }
    std::fs::write(dir.join("commands.ts"), typescript())?;
    Ok(())
}

/// The one place an engine command's caller is turned into the acting principal.
fn me(caller: &Caller) -> &Principal {
    &caller.principal
}
