//! `lockbox audit …`: list, export, verify (the store, or an export file
//! alone) and checkpoint the audit log.

use crate::args::{AuditCmd, AuditFilter};
use crate::print::Out;
use lockbox_core::dto::{AuditEntryDto, FileVerifyReport, VerifyReport};
use lockbox_core::export::{export_audit, is_time_window, verify_export, ExportFormat};
use lockbox_core::store::AuditQuery;
use lockbox_core::{Engine, Error, Result};
use std::process::ExitCode;

pub fn audit(e: &mut Engine, tenant: &str, cmd: AuditCmd, out: &Out) -> Result<ExitCode> {
    match cmd {
        AuditCmd::List { filter, limit } => {
            let mut q = audit_query(&filter)?;
            q.limit = Some(limit);
            let page = e.audit_page(tenant, &q)?;
            out.audit(&page.iter().map(AuditEntryDto::from).collect::<Vec<_>>());
        }
        AuditCmd::Export {
            filter,
            format,
            out: file,
        } => {
            let q = audit_query(&filter)?;
            let fmt = ExportFormat::parse(&format)?;
            let n = match &file {
                // Whole or not at all: a failed export leaves nothing half-written.
                Some(path) => lockbox_core::files::write_atomically(path, |f| {
                    export_audit(e, tenant, &q, fmt, f)
                })?,
                None => export_audit(e, tenant, &q, fmt, &mut std::io::stdout())?,
            };
            if !is_time_window(&q) && !out.json {
                eprintln!(
                    "note: this export is a selection of single entries (filtered by more than \
                     time): they do not link into a chain, so `audit verify --file` cannot check it"
                );
            }
            if let Some(path) = file {
                out.done(&format!("exported {n} audit entries to {}", path.display()));
            }
        }
        AuditCmd::Verify {
            checkpoint,
            public_key,
            ..
        } => {
            let v = e.verify_audit()?;
            let mut report = VerifyReport::from(&v);
            if let Some(path) = &checkpoint {
                let text = std::fs::read_to_string(path).map_err(|err| {
                    Error::input(format!("cannot read {}: {err}", path.display()))
                })?;
                let key = match &public_key {
                    Some(k) => {
                        let k = std::fs::read_to_string(k).unwrap_or_else(|_| k.clone());
                        Some(lockbox_core::receipts::parse_public_key(&k)?)
                    }
                    None => None,
                };
                report.checkpoints = e
                    .check_claims(&text, key.as_ref())?
                    .iter()
                    .map(Into::into)
                    .collect();
                report.ok = report.ok && report.checkpoints.iter().all(|c| c.problem.is_none());
            }
            out.verify(&report);
            return Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        AuditCmd::Checkpoint { all, out: file } => {
            let text = e.checkpoint_now((!all).then_some(tenant))?;
            match &file {
                Some(path) => {
                    std::fs::write(path, &text).map_err(|err| {
                        Error::input(format!("cannot write {}: {err}", path.display()))
                    })?;
                    out.done(&format!("checkpoint written to {}", path.display()));
                }
                None => print!("{text}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `audit verify --file`: recompute an export's chains from the file alone.
pub fn verify_file(path: &std::path::Path, format: Option<&str>, out: &Out) -> Result<ExitCode> {
    let fmt = match format {
        Some(f) => ExportFormat::parse(f)?,
        None => ExportFormat::from_path(path).ok_or_else(|| {
            Error::input(format!(
                "cannot tell the format of {} from its name: use --format csv or --format jsonl",
                path.display()
            ))
        })?,
    };
    let mut f = std::fs::File::open(path)
        .map_err(|err| Error::input(format!("cannot open {}: {err}", path.display())))?;
    let v = verify_export(fmt, &mut f)?;
    out.verify_file(&FileVerifyReport::new(&path.display().to_string(), &v));
    Ok(if v.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The CLI's audit filter read by the same rules as the admin center's.
fn audit_query(f: &AuditFilter) -> Result<AuditQuery> {
    lockbox_core::dto::AuditQuery {
        since: f.since.clone(),
        until: f.until.clone(),
        request_id: f.request.clone(),
        actor: f.actor.clone(),
        operation: f.operation.clone(),
        text: f.text.clone(),
        before_seq: None,
        limit: None,
    }
    .to_store()
}
