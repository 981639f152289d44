//! Human and `--json` output.

use lockbox_core::dto::{
    AccessDto, AuditEntryDto, FileVerifyReport, RequestDto, SettingsDto, TenantDto, UserDto,
    VerifyReport,
};
use lockbox_core::duration::format_duration;
use lockbox_core::text::{multi_line, one_line};
use lockbox_core::Error;
use serde::Serialize;
use std::borrow::Cow;

pub struct Out {
    pub json: bool,
}

fn json<T: Serialize + ?Sized>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => outln!("{s}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

fn or_dash(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

/// Stored text for a terminal line: what a provider sent may hold anything,
/// and a line break or an escape sequence must not forge output.
fn t(s: &str) -> Cow<'_, str> {
    one_line(s)
}

/// Multi-line stored text (a reason): escapes removed, continuation lines
/// indented under the value so none passes for a field of ours.
fn block(s: &str) -> String {
    multi_line(s).replace('\n', "\n            ")
}

impl Out {
    pub fn error(&self, e: &Error) {
        if self.json {
            match serde_json::to_string(e) {
                Ok(s) => eprintln!("{s}"),
                Err(_) => eprintln!("error: {}", e.message),
            }
        } else {
            eprintln!("error ({}): {}", e.code.as_str(), multi_line(&e.message));
        }
    }

    /// Print `v` as JSON, or `text` for people.
    pub fn value(&self, v: &serde_json::Value, text: &str) {
        if self.json {
            json(v);
        } else {
            outln!("{text}");
        }
    }

    pub fn done(&self, msg: &str) {
        if self.json {
            json(&serde_json::json!({ "ok": true, "message": msg }));
        } else {
            outln!("{msg}");
        }
    }

    pub fn request(&self, r: &RequestDto) {
        if self.json {
            return json(r);
        }
        outln!("Request     {}", r.id);
        outln!(
            "State       {}",
            serde_json::to_value(r.state)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        );
        outln!("Tenant      {}", r.tenant);
        outln!("Case        {}", t(&r.case));
        outln!("Workload    {}", t(&r.workload));
        outln!("Resource    {}", t(&r.resource));
        outln!("Reason      {}", block(&r.reason));
        outln!("Requester   {}", t(&r.requester));
        outln!("Requested   {}", format_duration(r.requested_duration_s));
        if let Some(g) = r.granted_duration_s {
            outln!("Granted     {}", format_duration(g));
        }
        outln!("Created     {}", r.created_at);
        outln!("Expires     {}", r.expires_at);
        outln!("Approved    {}", or_dash(&r.approved_at));
        outln!("Access ends {}", or_dash(&r.access_ends_at));
        if let Some(c) = &r.closed_at {
            outln!("Closed      {c}");
        }
        outln!(
            "Policy      {} provider approval(s), {} customer approval(s), lockbox {}",
            r.provider_approvals_required,
            r.approvals_required,
            if r.lockbox_required { "on" } else { "off" }
        );
        for d in &r.decisions {
            outln!(
                "  {} {} {} by {}{}{}",
                d.at,
                d.level,
                d.decision,
                t(&d.actor),
                d.duration_s
                    .map(|s| format!(" for {}", format_duration(s)))
                    .unwrap_or_default(),
                d.comment
                    .as_ref()
                    .map(|c| format!(": {}", t(c)))
                    .unwrap_or_default()
            );
        }
    }

    pub fn requests(&self, rs: &[RequestDto]) {
        if self.json {
            return json(rs);
        }
        if rs.is_empty() {
            outln!(
                "No lockbox requests. File one with `lockbox request new` or try `lockbox demo`."
            );
            return;
        }
        outln!(
            "{:<36}  {:<17}  {:<12}  {:<28}  {:<18}  EXPIRES / ACCESS ENDS",
            "ID",
            "STATE",
            "CASE",
            "REQUESTER",
            "WORKLOAD"
        );
        for r in rs {
            let state = serde_json::to_value(r.state)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let deadline = r
                .access_ends_at
                .clone()
                .unwrap_or_else(|| r.expires_at.clone());
            outln!(
                "{:<36}  {:<17}  {:<12}  {:<28}  {:<18}  {}",
                r.id,
                state,
                t(&r.case),
                t(&r.requester),
                t(&r.workload),
                deadline
            );
        }
    }

    pub fn tenants(&self, ts: &[TenantDto]) {
        if self.json {
            return json(ts);
        }
        for t in ts {
            outln!(
                "{:<20} {:<30} created {}",
                t.id,
                one_line(&t.name),
                t.created_at
            );
        }
    }

    pub fn users(&self, us: &[UserDto]) {
        if self.json {
            return json(us);
        }
        for u in us {
            let role = serde_json::to_value(u.role)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            outln!(
                "{:<30} {:<9} {}",
                t(&u.name),
                role,
                t(u.email.as_deref().unwrap_or("-"))
            );
        }
    }

    pub fn settings(&self, entries: &[(&str, String)], dto: &SettingsDto) {
        if self.json {
            return json(dto);
        }
        for (k, v) in entries {
            outln!("{k:<28} {v}");
        }
    }

    pub fn access(&self, a: &AccessDto) {
        if self.json {
            return json(a);
        }
        outln!(
            "{}: {}",
            if a.allowed { "allowed" } else { "denied" },
            t(&a.reason)
        );
    }

    pub fn audit(&self, es: &[AuditEntryDto]) {
        if self.json {
            return json(es);
        }
        for e in es {
            outln!(
                "{:>6}  {}  {:<18} {:<28} {:<36} {}",
                e.seq,
                e.at,
                e.operation,
                t(&e.actor),
                e.request_id.as_deref().unwrap_or("-"),
                t(&e.details.to_string())
            );
        }
    }

    pub fn verify(&self, v: &VerifyReport) {
        if self.json {
            return json(v);
        }
        for c in &v.checkpoints {
            let what = format!(
                "{} (line {}) of tenant {}, {} entries, signed {}",
                c.kind,
                c.line,
                t(&c.tenant),
                c.entries,
                t(&c.signed_at)
            );
            match &c.problem {
                None => outln!("{what}: the log holds it"),
                Some(p) => outln!("{what}: FAILS: {}", t(p)),
            }
        }
        if v.ok {
            outln!(
                "audit log intact: {} entries in {} tenant chain{}; {} requests agree with it",
                v.entries,
                v.chains.len(),
                if v.chains.len() == 1 { "" } else { "s" },
                v.requests
            );
            for c in &v.chains {
                outln!(
                    "  tenant {}: {} entries, head {}",
                    t(&c.tenant),
                    c.entries,
                    c.head_hash
                );
            }
            return;
        }
        if v.first_bad_seq.is_none() && v.first_disagreement.is_none() {
            outln!(
                "audit log chains intact ({} entries), but the log does not hold what a checkpoint vouches for",
                v.entries
            );
        }
        if let Some(seq) = v.first_bad_seq {
            outln!(
                "audit log TAMPERED: first bad entry is #{seq}: {}",
                v.problem.as_deref().unwrap_or("")
            );
        }
        if let Some(d) = &v.first_disagreement {
            outln!("stored state TAMPERED: {}", d.message);
        }
    }

    pub fn verify_file(&self, v: &FileVerifyReport) {
        if self.json {
            return json(v);
        }
        let format = match v.format.as_str() {
            "csv" => "CSV",
            _ => "JSON Lines",
        };
        let file = t(&v.file);
        if let Some(b) = &v.first_bad {
            let whose = match (&b.tenant, b.tenant_seq) {
                (Some(tenant), Some(seq)) => format!(" (tenant {}, tenant_seq {seq})", t(tenant)),
                _ => String::new(),
            };
            outln!(
                "{file}: {} at line {}{whose}: {}",
                if b.malformed { "MALFORMED" } else { "TAMPERED" },
                b.line,
                t(&b.problem)
            );
            outln!(
                "{} entries before it verified; nothing at or after line {} is proven",
                v.entries,
                b.line
            );
            return;
        }
        if v.entries == 0 {
            outln!("{file}: no entries ({format}): nothing to verify");
            return;
        }
        outln!(
            "{file}: intact ({format}): {} entries in {} chain{}",
            v.entries,
            v.chains.len(),
            if v.chains.len() == 1 { "" } else { "s" }
        );
        for c in &v.chains {
            outln!("  {}", t(&c.message));
        }
        outln!(
            "Entries removed from the end of a chain leave no trace in the file: compare each head with one recorded elsewhere."
        );
    }
}
