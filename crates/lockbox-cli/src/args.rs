//! Command-line grammar (clap derive).

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

impl Cli {
    /// The command line, with one store: `--db` and `--store` on the command
    /// line together are refused; otherwise the command line beats the
    /// environment, and `LOCKBOX_STORE` beats an inherited `LOCKBOX_DB` (a
    /// service unit's or a shell profile's). Exits with clap's usage error.
    pub fn parse_args() -> Cli {
        let matches = Cli::command().get_matches();
        Cli::from_matches(&matches).unwrap_or_else(|e| e.exit())
    }

    pub fn from_matches(matches: &ArgMatches) -> Result<Cli, clap::Error> {
        let mut cli = Cli::from_arg_matches(matches)?;
        if cli.db.is_some() && cli.store.is_some() {
            let typed = |id| matches.value_source(id) == Some(ValueSource::CommandLine);
            match (typed("db"), typed("store")) {
                (true, true) => {
                    return Err(Cli::command().error(
                        clap::error::ErrorKind::ArgumentConflict,
                        "--db and --store both name the store: give one",
                    ))
                }
                (true, false) => cli.store = None,
                (false, _) => cli.db = None,
            }
        }
        Ok(cli)
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "lockbox",
    version,
    about = "Customer Lockbox: approve, audit and control provider access to your content"
)]
pub struct Cli {
    /// Store path (default: the user's data dir, e.g. ~/.local/share/lockbox/lockbox.db).
    /// `--store` or `LOCKBOX_STORE` takes its place when both are set, unless
    /// `--db` is on the command line and the store only in the environment.
    #[arg(long, global = true, env = "LOCKBOX_DB")]
    pub db: Option<PathBuf>,
    /// The store: a SQLite file path, or a PostgreSQL URL
    /// (`postgres://user:password@host/db?sslmode=require`, a team server's
    /// database; `sslrootcert=FILE` pins its CA). Takes the place of --db.
    #[arg(long, global = true, env = "LOCKBOX_STORE", value_name = "PATH|URL")]
    pub store: Option<String>,
    /// The receipt signing key file (default: beside a file store; for a
    /// PostgreSQL store, lockbox-receipts.key in the user's data dir). Every
    /// `lockbox serve` of one team server must use the same key.
    #[arg(long, global = true, env = "LOCKBOX_RECEIPT_KEY", value_name = "FILE")]
    pub receipt_key: Option<PathBuf>,
    /// Tenant to act on.
    #[arg(long, global = true, env = "LOCKBOX_TENANT", default_value = "default")]
    pub tenant: String,
    /// The provider-side person acting: the manager who approves, the engineer
    /// who cancels or acts under a grant (default: the OS user). Customer
    /// decisions, settings, users and tokens always act as the OS user.
    #[arg(long = "as", id = "as_user", global = true, value_name = "NAME")]
    pub actor: Option<String>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Open the store read-only (an archive, a backup, a read-only share):
    /// nothing is written and no file is created; no deadline is swept
    /// (requests past a deadline show as they effectively are). Commands
    /// that would change the store exit 3. Automatic, with a note on stderr,
    /// when you cannot write the store file or its folder.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Log lines on stderr: human text, or one JSON object a line (a log
    /// collector's format; `lockbox serve` under systemd or in a container).
    /// The level is `LOCKBOX_LOG` (e.g. `info`, `debug`; `lockbox serve`: info).
    #[arg(long, global = true, env = "LOCKBOX_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl Cmd {
    /// Does this command act for the customer (a decision, a setting, a user,
    /// a token, the SMTP server)? Those act as the authenticated OS user only.
    pub fn acts_as_customer(&self) -> bool {
        match self {
            Cmd::Tenant { cmd } => matches!(cmd, TenantCmd::Add { .. }),
            Cmd::Settings { cmd } => matches!(cmd, SettingsCmd::Set { .. }),
            Cmd::User { cmd } => !matches!(cmd, UserCmd::List),
            Cmd::Request { cmd } => matches!(
                cmd,
                RequestCmd::Approve { .. } | RequestCmd::Reject { .. } | RequestCmd::Revoke { .. }
            ),
            Cmd::Token { cmd } => !matches!(cmd, TokenCmd::List),
            Cmd::Smtp { cmd } => matches!(cmd, SmtpCmd::Set { .. } | SmtpCmd::Clear),
            Cmd::Receipt { cmd } => matches!(cmd, ReceiptCmd::RotateKey),
            _ => false,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Tenants in this store (an MSP manages many).
    Tenant {
        #[command(subcommand)]
        cmd: TenantCmd,
    },
    /// Customer Lockbox settings of the tenant.
    Settings {
        #[command(subcommand)]
        cmd: SettingsCmd,
    },
    /// Customer admins and approvers.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Lockbox requests: file, list, decide.
    Request {
        #[command(subcommand)]
        cmd: RequestCmd,
    },
    /// Check or use a grant.
    Access {
        #[command(subcommand)]
        cmd: AccessCmd,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// File a few realistic sample requests for a first look.
    Demo,
    /// Provider connections: API tokens.
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// Signed decision receipts.
    Receipt {
        #[command(subcommand)]
        cmd: ReceiptCmd,
    },
    /// The tenant's SMTP server for approver emails.
    Smtp {
        #[command(subcommand)]
        cmd: SmtpCmd,
    },
    /// Delivery status of approver emails.
    Notifications {
        #[command(subcommand)]
        cmd: NotificationsCmd,
    },
    /// Serve the provider intake API (and run the expiry scheduler and email sender).
    Serve {
        /// Address to listen on; a non-loopback address needs --tls-cert and --tls-key.
        #[arg(long, env = "LOCKBOX_API_BIND", default_value = lockbox_core::engine::DEFAULT_API_BIND)]
        bind: String,
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Calls per second allowed per token (burst: 5 s worth).
        #[arg(long, env = "LOCKBOX_API_RATE", default_value_t = 50)]
        rate: u32,
        /// Calls without a valid token allowed per minute per client address
        /// (also the burst); past them the client gets 429 before any token lookup.
        #[arg(long, env = "LOCKBOX_API_AUTH_FAILURES", default_value_t = 10)]
        auth_failures: u32,
        /// On a PostgreSQL store: how many engines (each on its own database
        /// connection) serve requests side by side. A SQLite store has one.
        #[arg(long, env = "LOCKBOX_POOL", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
        pool: u32,
        /// How many live change feeds (GET /admin/v1/changes) the admin API
        /// keeps open at once; past them a new one gets 503 (and one person
        /// at most 4).
        #[arg(long, env = "LOCKBOX_FEED_CONNECTIONS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        feed_connections: u32,
        /// Serve the admin API (/admin/v1/commands/NAME) to people signed in
        /// with this OpenID Connect issuer (an https URL; its discovery
        /// document is ISSUER/.well-known/openid-configuration). Without it
        /// the admin API is off.
        #[arg(
            long,
            env = "LOCKBOX_OIDC_ISSUER",
            value_name = "URL",
            requires = "oidc_client_id"
        )]
        oidc_issuer: Option<String>,
        /// The client id the desktop app signs in as: ID tokens must name it
        /// in their audience.
        #[arg(
            long,
            env = "LOCKBOX_OIDC_CLIENT_ID",
            value_name = "ID",
            requires = "oidc_issuer"
        )]
        oidc_client_id: Option<String>,
        /// PEM certificates to trust for the issuer's TLS, besides the
        /// system's roots (a private CA).
        #[arg(
            long,
            env = "LOCKBOX_OIDC_CA",
            value_name = "FILE",
            requires = "oidc_issuer"
        )]
        oidc_ca: Option<PathBuf>,
        /// Make the person signing in with this (verified) email an admin of
        /// the default tenant at start, unless that user exists already
        /// (audited, as done by the OS user running the server).
        #[arg(
            long,
            env = "LOCKBOX_BOOTSTRAP_ADMIN",
            value_name = "EMAIL",
            requires = "oidc_issuer"
        )]
        bootstrap_admin: Option<String>,
    },
    /// Sign in to a team server: prints a code to enter at your OpenID
    /// provider (the device flow), or with --browser signs in in this
    /// machine's browser; keeps the tokens in the OS keyring (never in a
    /// file) for `lockbox remote`.
    Login {
        /// The team server, e.g. https://lockbox.contoso.example:8787 (http
        /// only on a loopback address, for tests).
        #[arg(long, env = "LOCKBOX_SERVER", value_name = "URL")]
        server: String,
        /// PEM certificates to trust for the server's and the issuer's TLS,
        /// besides the system's roots (a private CA); remembered with the server.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Sign in in this machine's browser (the authorization code flow with
        /// PKCE and a loopback redirect) instead of entering a code on any
        /// device (the device flow, the default: works on a headless machine).
        #[arg(long)]
        browser: bool,
    },
    /// Forget the sign-in to a team server (its tokens in the OS keyring).
    Logout {
        #[command(flatten)]
        team: TeamServer,
    },
    /// Run an admin-center command on a team server you logged in to
    /// (`lockbox login`), e.g. `lockbox remote session` or
    /// `lockbox remote list_users '{"tenant":"default"}'`; prints its JSON result.
    Remote {
        #[command(flatten)]
        team: TeamServer,
        /// PEM certificates to trust for the server's and the issuer's TLS
        /// (default: the one given to `lockbox login`).
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Print the server's live change feed instead, one line per event
        /// (`--json`: one JSON object per line), until interrupted: what
        /// changes in your tenants (GET /admin/v1/changes).
        #[arg(long, conflicts_with_all = ["command", "args"])]
        follow: bool,
        /// Pull the audit log of your tenants into FILE instead (a Lockbox
        /// store, created if missing; run again to catch up). Each page is
        /// checked link by link and against the server's signed checkpoint,
        /// with the server's key pinned at the first pull, before it is kept.
        /// Read it with `lockbox --db FILE audit verify` or the app's "Open
        /// audit archive…".
        #[arg(long, value_name = "FILE", conflicts_with_all = ["command", "args", "follow"])]
        replica: Option<PathBuf>,
        /// The command's name, as in the admin API (`/admin/v1/commands/NAME`).
        #[arg(required_unless_present_any = ["follow", "replica"])]
        command: Option<String>,
        /// Its arguments as a JSON object (camelCase; default `{}`).
        #[arg(value_name = "JSON_ARGS")]
        args: Option<String>,
    },
    /// Move a store between backends.
    Store {
        #[command(subcommand)]
        cmd: StoreCmd,
    },
    /// Print a completion script for SHELL on stdout (the .deb installs
    /// them; e.g. `lockbox completions bash > ~/.local/share/bash-completion/completions/lockbox`).
    Completions { shell: clap_complete::Shell },
    /// Print the man page lockbox(1), in roff, on stdout; with --out DIR,
    /// write it and one page per subcommand (lockbox-serve.1, ...) into DIR
    /// (the .deb installs them).
    Man {
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum StoreCmd {
    /// Copy every table of a store, its audit chains included, into a new
    /// store (a SQLite file or a PostgreSQL URL), then verify both: exit 0
    /// when every tenant's chain has the same head (entries and hash), 1 if not.
    /// A file copy gets the source's receipt key beside it; a PostgreSQL
    /// copy is opened with --receipt-key naming that key.
    Copy {
        /// The store to copy: a path or a postgres:// URL.
        #[arg(long, value_name = "PATH|URL")]
        from: String,
        /// The new store: a path or a postgres:// URL (it must hold nothing yet).
        #[arg(long, value_name = "PATH|URL")]
        to: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Issue a token for a provider connection; it is shown once.
    Issue {
        #[arg(long)]
        name: String,
        /// Lifetime, e.g. 90d (default: no expiry).
        #[arg(long)]
        expires: Option<String>,
    },
    List,
    Revoke {
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ReceiptCmd {
    /// Print the latest signed receipt of a request (or write it to --out).
    Show {
        id: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a receipt file offline: exit 0 valid, 1 not.
    Verify {
        file: PathBuf,
        /// A public key file or the base64 key itself.
        #[arg(long)]
        public_key: String,
    },
    /// Print this store's public key (base64).
    PublicKey,
    /// Make a new receipt signing key (admins): replaces a missing, damaged or
    /// exposed key file; audited in every tenant. Earlier receipts verify
    /// only with the old public key.
    RotateKey,
}

#[derive(Subcommand, Debug)]
pub enum SmtpCmd {
    Show,
    Set {
        #[arg(long)]
        host: String,
        #[arg(long, default_value_t = 587)]
        port: u16,
        /// none, starttls or tls
        #[arg(long, default_value = "starttls")]
        security: String,
        #[arg(long)]
        user: Option<String>,
        /// Saved in the OS keyring, never in the store. Where no keyring runs,
        /// leave it out and set LOCKBOX_SMTP_PASSWORD for the process that
        /// sends email. Left out with --user: the saved password is kept.
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        from: String,
    },
    /// Stop sending emails for this tenant.
    Clear,
    /// Send a test message now.
    Test {
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum NotificationsCmd {
    /// Email deliveries: sent, failed (with why and the next retry), skipped.
    Status {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send the emails that are due now, then exit.
    Send,
}

#[derive(Subcommand, Debug)]
pub enum TenantCmd {
    /// Add a tenant; you become its first admin.
    Add {
        id: String,
        #[arg(long)]
        name: Option<String>,
    },
    List,
}

#[derive(Subcommand, Debug)]
pub enum SettingsCmd {
    Show,
    /// Keys: lockbox (on|off), request-lifetime, max-access-duration,
    /// approvals-required, provider-approvals-required, reminder-lead (duration|off).
    Set {
        key: String,
        value: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    Add {
        name: String,
        /// admin or approver
        #[arg(long)]
        role: String,
        #[arg(long)]
        email: Option<String>,
    },
    List,
    Remove {
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum RequestCmd {
    /// File a request (provider engineer).
    New {
        #[arg(long)]
        engineer: String,
        #[arg(long)]
        case: String,
        #[arg(long)]
        workload: String,
        #[arg(long)]
        resource: String,
        #[arg(long)]
        reason: String,
        /// Requested access duration, e.g. 90m (default: the tenant's maximum).
        #[arg(long)]
        duration: Option<String>,
    },
    List {
        /// Only this state (repeatable).
        #[arg(long)]
        state: Vec<String>,
        #[arg(long)]
        created_after: Option<String>,
        /// Case, requester, workload, resource or id contains this.
        #[arg(long)]
        search: Option<String>,
        /// newest, oldest or expires
        #[arg(long, default_value = "newest")]
        sort: String,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    Show {
        id: String,
    },
    /// Provider manager's approval (use --as MANAGER).
    ProviderApprove {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
        /// Grant less than requested, e.g. 30m.
        #[arg(long)]
        duration: Option<String>,
    },
    Reject {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Withdraw a request before it is decided (the requester, --as ENGINEER).
    Cancel {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// End approved access early.
    Revoke {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccessCmd {
    /// Exit 0 when access is allowed now, 1 when not; prints why.
    Check { id: String },
    /// Record an action taken under a grant (use --as ENGINEER).
    Log {
        id: String,
        #[arg(long)]
        action: String,
    },
}

// `--server` of `lockbox logout` and `lockbox remote` (`lockbox login`'s
// is required). No doc comment: a flattened struct's would replace the
// subcommand's about text.
#[derive(Args, Debug)]
pub struct TeamServer {
    /// The team server (default: the one you last logged in to).
    #[arg(long, env = "LOCKBOX_SERVER", value_name = "URL")]
    pub server: Option<String>,
}

#[derive(Args, Debug, Default)]
pub struct AuditFilter {
    /// Entries at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub since: Option<String>,
    /// Entries before this time.
    #[arg(long)]
    pub until: Option<String>,
    #[arg(long)]
    pub request: Option<String>,
    #[arg(long)]
    pub actor: Option<String>,
    #[arg(long)]
    pub operation: Option<String>,
    /// Free text in actor, operation, request id or details.
    #[arg(long)]
    pub text: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Newest first.
    List {
        #[command(flatten)]
        filter: AuditFilter,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Write entries as CSV or JSON Lines, oldest first, with everything
    /// needed to recompute their hashes (docs/audit-format.md). A complete
    /// export or a time window (--since/--until alone: exported as a
    /// contiguous part of the chain, entries written late in between
    /// included) verifies with `audit verify --file`; other filters select
    /// single entries, which do not link into a chain.
    Export {
        #[command(flatten)]
        filter: AuditFilter,
        /// csv or jsonl
        #[arg(long)]
        format: String,
        /// File to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Recompute every tenant's hash chain and check the stored requests
    /// against it: exit 0 intact, 1 with the first bad entry. With --file,
    /// an export file on its own (no store is opened): exit 1 names its
    /// first bad line.
    Verify {
        /// An export (`audit export`) to check instead of the store.
        #[arg(long, conflicts_with = "checkpoint")]
        file: Option<PathBuf>,
        /// csv or jsonl (default: from the file name's extension).
        #[arg(long, requires = "file")]
        format: Option<String>,
        /// Also check signed checkpoints (or decision receipts) kept
        /// elsewhere: fails if the log is shorter than one says (entries
        /// were cut off) or has another hash at its position.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The public key (file or base64) the checkpoints must verify with
        /// (default: every receipt key this store's log recorded).
        #[arg(long, requires = "checkpoint")]
        public_key: Option<String>,
    },
    /// Sign a checkpoint of the tenant's chain head now (if it grew since
    /// the newest one) and print it: keep it elsewhere, and a later
    /// `audit verify --checkpoint` shows truncation or rewrites.
    Checkpoint {
        /// Every tenant's chain.
        #[arg(long)]
        all: bool,
        /// File to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}
