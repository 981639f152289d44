//! Lockbox engine: the domain (requests, approvals, expiry, access), the
//! hash-chained audit log and the SQLite store. No UI or tauri dependency:
//! the CLI, the desktop shell and the HTTP API are thin adapters over
//! [`Engine`].

pub mod alerts;
pub mod audit;
pub mod checkpoint;
pub mod clock;
pub mod commands;
pub mod consistency;
pub mod demo;
pub mod dto;
pub mod duration;
pub mod engine;
pub mod error;
pub mod export;
pub mod feed;
pub mod files;
pub mod identity;
pub mod machine;
pub mod mail;
pub mod model;
pub mod receipts;
pub mod runtime;
pub mod scheduler;
pub mod secrets;
pub mod sessions;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod text;
pub mod tokens;

pub use clock::{Clock, ManualClock, SystemClock, Time};
pub use engine::Engine;
pub use error::{Error, ErrorClass, ErrorCode, Result};
pub use identity::Principal;
