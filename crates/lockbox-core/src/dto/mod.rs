//! Wire types: what crosses the boundary (CLI `--json`, IPC, HTTP). Domain
//! types convert into these; TypeScript types are generated from them with
//! ts-rs (`make bindings`), committed under `ui/src/bindings/`, and a test
//! fails when the committed files drift.

mod app;
mod audit;
mod directory;
mod provider;
mod replica;
mod requests;
mod verify;

pub use app::*;
pub use audit::*;
pub use directory::*;
pub use provider::*;
pub use replica::*;
pub use requests::*;
pub use verify::*;

// The TypeScript export list is derived from the command table:
// `crate::commands::export_typescript`.
