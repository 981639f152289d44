//! `declare_commands!`: from one declaration per command, the argument
//! structs, the command table ([`super::COMMANDS`]), the dispatch of engine
//! commands to their bodies in [`super::engine_cmds`], the [`super::Shell`]
//! trait a host implements for shell commands, and the TypeScript map.

macro_rules! declare_commands {
    (
        engine {
            $(
                $(#[doc = $edoc:literal])*
                $ewrites:ident $erole:ident $ename:ident($eargs:ident { $($efield:ident: $efty:ty),* $(,)? }) -> $eout:ty;
            )*
        }
        shell {
            $(
                $(#[doc = $sdoc:literal])*
                $swrites:ident $srole:ident $sname:ident($sargs:ident { $($sfield:ident: $sfty:ty),* $(,)? }) -> $sout:ty;
            )*
        }
    ) => {
        /// The arguments of each command, as the UI sends them (camelCase names).
        pub mod args {
            #[allow(unused_imports)]
            use crate::dto::*;
            $(
                #[doc = concat!("Arguments of `", stringify!($ename), "`.")]
                #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, ts_rs::TS)]
                #[serde(rename_all = "camelCase", deny_unknown_fields)]
                pub struct $eargs { $(pub $efield: $efty),* }
            )*
            $(
                #[doc = concat!("Arguments of `", stringify!($sname), "`.")]
                #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, ts_rs::TS)]
                #[serde(rename_all = "camelCase", deny_unknown_fields)]
                pub struct $sargs { $(pub $sfield: $sfty),* }
            )*
        }

        /// Every command, in declaration order.
        pub const COMMANDS: &[CommandSpec] = &[
            $(CommandSpec {
                name: stringify!($ename),
                runs: Runs::Engine,
                access: Access::$ewrites,
                role: Who::$erole,
                doc: concat!($($edoc, "\n"),*),
            },)*
            $(CommandSpec {
                name: stringify!($sname),
                runs: Runs::Shell,
                access: Access::$swrites,
                role: Who::$srole,
                doc: concat!($($sdoc, "\n"),*),
            },)*
        ];

        /// Run engine command `name` with its JSON arguments under the engine
        /// lock; the JSON result. `None`: no engine command has that name.
        pub(crate) fn run_engine_command(
            e: &mut crate::Engine,
            caller: &Caller,
            name: &str,
            args: serde_json::Value,
        ) -> Option<crate::Result<serde_json::Value>> {
            match name {
                $(stringify!($ename) => Some(
                    admit(e, caller, name, &args)
                        .and_then(|()| parse_args::<args::$eargs>(name, args))
                        .and_then(|a| engine_cmds::$ename(e, caller, a))
                        .and_then(to_json),
                ),)*
                _ => None,
            }
        }

        /// What a host (the desktop shell, later the team server) does for the
        /// commands that need more than the engine: dialogs, the keyring,
        /// per-machine preferences, the API it runs. A host that misses one
        /// does not compile.
        pub trait Shell: Sync {
            $(
                $(#[doc = $sdoc])*
                fn $sname(&self, args: args::$sargs)
                    -> impl std::future::Future<Output = crate::Result<$sout>> + Send;
            )*
        }

        /// Run shell command `name` on `shell`. `None`: no shell command has that name.
        pub async fn run_shell_command<S: Shell>(
            shell: &S,
            name: &str,
            args: serde_json::Value,
        ) -> Option<crate::Result<serde_json::Value>> {
            match name {
                $(stringify!($sname) => Some(match parse_args::<args::$sargs>(name, args) {
                    Ok(a) => shell.$sname(a).await.and_then(to_json),
                    Err(e) => Err(e),
                }),)*
                _ => None,
            }
        }

        /// Each command's TypeScript: name, inline argument type, result type.
        fn typescript_entries(cfg: &ts_rs::Config) -> Vec<(&'static str, String, String)> {
            use ts_rs::TS;
            vec![
                $((stringify!($ename), <args::$eargs as TS>::inline(cfg), <$eout as TS>::name(cfg)),)*
                $((stringify!($sname), <args::$sargs as TS>::inline(cfg), <$sout as TS>::name(cfg)),)*
            ]
        }

        /// Visit every type the commands' arguments and results use.
        fn visit_command_types(v: &mut impl ts_rs::TypeVisitor) {
            use ts_rs::TS;
            $(<args::$eargs as TS>::visit_dependencies(v); v.visit::<$eout>();)*
            $(<args::$sargs as TS>::visit_dependencies(v); v.visit::<$sout>();)*
        }
    };
}

pub(crate) use declare_commands;
