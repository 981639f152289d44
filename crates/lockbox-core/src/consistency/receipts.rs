//! Stored receipts against the replayed history: each must be the one signed at its decision.

use super::*;

/// Each stored receipt must be the one the engine signed at a decision of
/// the history (the decision its `audit_head` names), field for field; the
/// signature and key id are not checked here (any change to the body shows).
pub(super) fn check_receipts(
    id: &str,
    want: &Request,
    points: &[ReceiptPoint],
    receipts: &[ReceiptRow],
) -> Option<Disagreement> {
    let dis = |field: String, stored: String, audited: String| {
        Some(Disagreement {
            request_id: id.to_string(),
            field,
            stored,
            audited,
        })
    };
    let expected = |p: &ReceiptPoint, key_id: &str| {
        crate::receipts::body(
            &p.request,
            p.auto,
            (p.seq, Some(&p.hash)),
            from_millis(p.recorded_ms),
            key_id,
        )
    };
    let mut used = vec![false; points.len()];
    for (i, r) in receipts.iter().enumerate() {
        let field = |f: &str| format!("receipts[{i}].{f}");
        // Usually the body is byte for byte the one rebuilt at the decision
        // it names; otherwise compare it as JSON to name the first field.
        let fast = head_seq_of(&r.body).and_then(|seq| {
            let k = points.iter().position(|p| p.seq == seq)?;
            let (decision, body) = expected(&points[k], key_id_of(&r.body)?);
            (body == r.body).then_some((k, decision))
        });
        let (k, decision) = match fast {
            Some(found) => found,
            None => {
                let Ok(body) = serde_json::from_str::<Value>(&r.body) else {
                    return dis(
                        format!("receipts[{i}]"),
                        "a body that is not JSON".into(),
                        "a signed decision receipt".into(),
                    );
                };
                let head_seq = body["audit_head"]["seq"].as_i64();
                let Some(k) = points.iter().position(|p| Some(p.seq) == head_seq) else {
                    let decided: Vec<String> =
                        points.iter().map(|p| format!("#{}", p.seq)).collect();
                    return dis(
                        field("audit_head.seq"),
                        body["audit_head"]["seq"].to_string(),
                        if decided.is_empty() {
                            format!("no decision of this request ({})", want.state)
                        } else {
                            format!("a decision entry: {}", decided.join(", "))
                        },
                    );
                };
                let (decision, text) =
                    expected(&points[k], body["key_id"].as_str().unwrap_or_default());
                let want_body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let (Value::Object(have), Value::Object(want)) = (&body, &want_body) else {
                    return dis(
                        format!("receipts[{i}]"),
                        "a body that is not a JSON object".into(),
                        "a signed decision receipt".into(),
                    );
                };
                for (key, w) in want {
                    match have.get(key) {
                        Some(h) if h == w => {}
                        h => {
                            let h = h.map_or_else(|| "absent".to_string(), Value::to_string);
                            return dis(field(key), h, w.to_string());
                        }
                    }
                }
                if let Some(extra) = have.keys().find(|k| !want.contains_key(*k)) {
                    return dis(field(extra), have[extra].to_string(), "absent".into());
                }
                (k, decision)
            }
        };
        if std::mem::replace(&mut used[k], true) {
            return dis(
                format!("receipts[{i}]"),
                format!("a second receipt of the decision at #{}", points[k].seq),
                "one receipt per decision".into(),
            );
        }
        let p = &points[k];
        if r.decision != decision {
            return dis(field("decision (row)"), r.decision.clone(), decision.into());
        }
        if r.tenant != p.request.tenant {
            return dis(
                field("tenant (row)"),
                r.tenant.clone(),
                p.request.tenant.clone(),
            );
        }
        if ms(r.created_at) != p.recorded_ms {
            return dis(
                field("created_at (row)"),
                rfc3339(r.created_at),
                rfc3339(from_millis(p.recorded_ms)),
            );
        }
    }
    None
}

/// `audit_head.seq` of a receipt body as the engine writes it (its first `"seq":`).
fn head_seq_of(body: &str) -> Option<i64> {
    let rest = &body[body.find("\"seq\":")? + 6..];
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// `key_id` of a receipt body as the engine writes it.
fn key_id_of(body: &str) -> Option<&str> {
    let rest = &body[body.find("\"key_id\":\"")? + 10..];
    Some(&rest[..rest.find('"')?])
}
