//! The scenario table tests/scenarios/commands.json against the real IPC
//! commands, through Tauri's mock runtime as the UI calls them (command name,
//! camelCase JSON arguments). The UI's mock engine runs the same table
//! (ui/src/api/mock.scenarios.test.ts): both passing means the mock answers
//! as the engine does. The table's "about" says how it reads.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use lockbox_core::dto::SettingsDto;
use lockbox_core::model::NewRequest;
use lockbox_core::{ManualClock, Principal};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

mod common;

const TABLE: &str = include_str!("../../tests/scenarios/commands.json");

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .with_timezone(&Utc)
}

fn text(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
        .to_string()
}

/// One scenario's app: a new store, its requests filed, the clock pinned.
struct Run {
    _dir: tempfile::TempDir,
    app: common::Window,
    clock: ManualClock,
    /// Request keys and saved values, for "$name".
    vars: HashMap<String, Value>,
}

impl Run {
    fn new(table: &Value, scenario: &Value) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(time(&table["start"]));
        let user = text(table, "user");
        let tenant = text(table, "tenant");
        let me = Principal::os_user(user.clone(), 0);
        // SQLite, or PostgreSQL with LOCKBOX_TEST_BACKEND=postgres.
        let mut engine = lockbox_core::testing::engine(Arc::new(clock.clone()), &user).unwrap();
        if let Some(Value::Object(over)) = scenario.get("settings") {
            let mut s = serde_json::to_value(SettingsDto::from(&engine.settings(&tenant).unwrap()))
                .unwrap();
            for (k, v) in over {
                s[k] = v.clone();
            }
            let s: SettingsDto = serde_json::from_value(s).unwrap();
            engine.update_settings(&tenant, &me, &(&s).into()).unwrap();
        }
        let mut vars = HashMap::new();
        for r in scenario["requests"].as_array().unwrap() {
            clock.set(time(&r["at"]));
            let filed = engine
                .file_request(
                    &tenant,
                    &NewRequest {
                        engineer: text(r, "engineer"),
                        case: text(r, "case"),
                        workload: text(r, "workload"),
                        resource: text(r, "resource"),
                        reason: text(r, "reason"),
                        duration_s: r["duration_s"].as_i64(),
                    },
                )
                .unwrap();
            if r["provider_approved"] == json!(true) {
                engine
                    .provider_approve(&tenant, &filed.id, &text(table, "manager"), None)
                    .unwrap();
            }
            vars.insert(text(r, "key"), json!(filed.id));
        }
        clock.set(time(&scenario["now"]));
        let state =
            lockbox_app::state::AppState::new(engine, me, dir.path().join("app-prefs.json"));
        Run {
            _dir: dir,
            app: common::Window::new(state),
            clock,
            vars,
        }
    }

    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        self.app.call(cmd, args)
    }

    /// `v` with "$name" and {"$repeat": [text, n]} replaced.
    fn fill(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                if let Some(val) = s.strip_prefix('$').and_then(|k| self.vars.get(k)) {
                    return val.clone();
                }
                let mut out = s.clone();
                for (k, val) in &self.vars {
                    if let Value::String(val) = val {
                        out = out.replace(&format!("${k}"), val);
                    }
                }
                Value::String(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.fill(x)).collect()),
            Value::Object(m) => match m.get("$repeat").and_then(Value::as_array) {
                Some(r) if m.len() == 1 => {
                    let n = r[1].as_u64().unwrap() as usize;
                    Value::String(r[0].as_str().unwrap().repeat(n))
                }
                _ => Value::Object(
                    m.iter()
                        .map(|(k, x)| (k.clone(), self.fill(x)))
                        .collect::<Map<_, _>>(),
                ),
            },
            other => other.clone(),
        }
    }
}

/// Where `actual` fails to contain `expected` (see the table's "about"), if anywhere.
fn mismatch(expected: &Value, actual: &Value, at: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().find_map(|(k, ev)| match a.get(k) {
            Some(av) => mismatch(ev, av, &format!("{at}.{k}")),
            None => Some(format!("{at}.{k} is missing")),
        }),
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => e
            .iter()
            .zip(a)
            .enumerate()
            .find_map(|(i, (ev, av))| mismatch(ev, av, &format!("{at}[{i}]"))),
        (Value::Array(e), Value::Array(a)) => {
            Some(format!("{at} has {} elements, not {}", a.len(), e.len()))
        }
        _ if expected == actual => None,
        _ => Some(format!("{at} is {actual}, not {expected}")),
    }
}

#[test]
fn every_scenario_of_the_table_holds_for_the_real_commands() {
    let table: Value = serde_json::from_str(TABLE).unwrap();
    let mut steps = 0;
    for scenario in table["scenarios"].as_array().unwrap() {
        let name = text(scenario, "name");
        let mut run = Run::new(&table, scenario);
        for (i, step) in scenario["steps"].as_array().unwrap().iter().enumerate() {
            if let Some(s) = step.get("advance_s") {
                run.clock.advance(Duration::seconds(s.as_i64().unwrap()));
                continue;
            }
            steps += 1;
            let cmd = text(step, "cmd");
            let args = run.fill(&step["args"]);
            let expect = run.fill(&step["expect"]);
            let what = format!("{name}, step {} ({cmd} {args})", i + 1);
            let got = run.call(&cmd, args.clone());
            match (&got, expect.get("ok"), expect.get("error")) {
                (Ok(v), Some(want), None) => {
                    if let Some(m) = mismatch(want, v, "result") {
                        panic!("{what}: {m}\n  result: {v}");
                    }
                    for (var, key) in step
                        .get("save")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        let saved = v[key.as_str().unwrap()].clone();
                        run.vars.insert(var.clone(), saved);
                    }
                }
                (Err(e), None, Some(code)) => {
                    assert_eq!(&e["code"], code, "{what}: {e}");
                    if let Some(msg) = expect.get("message") {
                        assert_eq!(&e["message"], msg, "{what}");
                    }
                }
                _ => panic!("{what}: expected {expect}, got {got:?}"),
            }
        }
    }
    assert!(steps >= 25, "{steps} steps");
}
