//! The admin API's live change feed (`GET SERVER/admin/v1/changes`,
//! Server-Sent Events), followed until the server cannot be reached.
//!
//! Each event goes to the caller as it comes ([`FeedEvent`]: `scope`, the
//! person's tenants; unnamed `message`, a `LockboxEvent`'s `{kind, tenant}`).
//! A sign-in that has expired (its `exp` by the caller's clock before
//! connecting, a 401, or the feed's `end` with `unauthorized`) is renewed
//! once, as [`call`](crate::call) does, and the feed joined again with
//! `Last-Event-ID`, so nothing is missed; so is a feed the server closes (a
//! restart, a shutdown), a second later. The HTTP client has no total
//! timeout (a stream): [`stream_client`].

use crate::{log_in_first, renew, renew_if_expired, send_signed, unreachable, Tokens};
use lockbox_core::Result;
use std::path::Path;
use std::time::Duration;

/// The server sends a keep-alive every 15 s: silence this long is a dead link.
pub const SILENCE: Duration = Duration::from_secs(45);

/// One event as the server sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// `message` (a change: `{kind, tenant}`), `scope` (`{tenants}`), `end`.
    pub event: String,
    /// The audit log position, on the last event of each look.
    pub id: Option<String>,
    pub data: serde_json::Value,
}

/// What happens on the way, besides events: for the caller to say.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedNews {
    Event(FeedEvent),
    /// The sign-in was renewed (and kept).
    Renewed,
    /// The server ended the feed, saying why (`end`: `{code, message}`).
    Ended(serde_json::Value),
}

/// [`crate::http_client`] for a stream: no total timeout; a read waits at
/// most [`SILENCE`].
pub fn stream_client(ca: Option<&Path>) -> Result<reqwest::Client> {
    crate::http_client_with(ca, |b| {
        b.connect_timeout(Duration::from_secs(30))
            .read_timeout(SILENCE)
    })
}

/// How a connection's stream ended.
enum Ended {
    /// `end` with `unauthorized`: the session expired (by the server's clock).
    Expired,
    /// The server closed it (a restart, a shutdown), or `end` said why.
    Closed,
}

/// Follow the feed of `server` as the person of `tokens` (`now`: Unix
/// seconds by the caller's clock), telling `news` what comes. Returns only
/// with an error: the server cannot be reached, refuses the feed, or the
/// sign-in cannot be renewed.
pub async fn follow(
    http: &reqwest::Client,
    server: &str,
    mut tokens: Tokens,
    now: i64,
    mut news: impl FnMut(FeedNews),
) -> Result<()> {
    let mut renewed = renew_if_expired(http, server, &mut tokens, now).await?;
    if renewed {
        news(FeedNews::Renewed);
    }
    let mut last: Option<String> = None;
    let url = format!("{server}/admin/v1/changes");
    loop {
        let before = renewed;
        let r = send_signed(http, server, &mut tokens, &mut renewed, |id| {
            let req = http
                .get(&url)
                .header("accept", "text/event-stream")
                .bearer_auth(id);
            match &last {
                Some(at) => req.header("last-event-id", at),
                None => req,
            }
        })
        .await?;
        if renewed && !before {
            news(FeedNews::Renewed);
        }
        let (ended, served) = read(r, &mut last, server, &mut news).await?;
        // A renewed sign-in that the server refuses at once is not renewed
        // again and again; one that served the feed (its first look at
        // least) and expired later is renewed again: a session's access
        // token lasts 15 minutes, a quiet feed outlives many.
        renewed &= !served;
        match ended {
            Ended::Expired if !renewed => {
                tokens = renew(http, server, &tokens).await?;
                news(FeedNews::Renewed);
                renewed = true;
            }
            Ended::Expired => {
                return Err(log_in_first(
                    server,
                    "the server says the renewed sign-in has expired too",
                ))
            }
            Ended::Closed => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// Pass on the events of one connection as they come; remember the last
/// id. Also whether the server served the feed (its first look came).
async fn read(
    mut r: reqwest::Response,
    last: &mut Option<String>,
    server: &str,
    news: &mut impl FnMut(FeedNews),
) -> Result<(Ended, bool)> {
    let mut buf: Vec<u8> = Vec::new();
    let mut looks = 0;
    loop {
        while let Some(block) = next_block(&mut buf) {
            let Some(e) = parse(&block) else { continue };
            if e.event == "end" {
                let how = match e.data["code"].as_str() {
                    Some("unauthorized") => Ended::Expired,
                    _ => Ended::Closed,
                };
                news(FeedNews::Ended(e.data));
                return Ok((how, looks > 0));
            }
            if let Some(id) = &e.id {
                *last = Some(id.clone());
                looks += 1;
            }
            news(FeedNews::Event(e));
        }
        match r.chunk().await.map_err(|e| unreachable(server, &e))? {
            Some(bytes) => push(&mut buf, &bytes),
            None => return Ok((Ended::Closed, looks > 0)),
        }
    }
}

/// Append what came, lines ending in `\n` (a `\r\n` server's `\r` dropped).
fn push(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend(bytes.iter().filter(|b| **b != b'\r'));
}

/// The next complete block (up to a blank line) off the front of `buf`.
fn next_block(buf: &mut Vec<u8>) -> Option<String> {
    let at = buf.windows(2).position(|w| w == b"\n\n")?;
    let block: Vec<u8> = buf.drain(..at + 2).collect();
    Some(String::from_utf8_lossy(&block).into_owned())
}

/// The event of a block; `None` for a comment (keep-alive) only.
fn parse(block: &str) -> Option<FeedEvent> {
    let mut e = FeedEvent {
        event: "message".into(),
        id: None,
        data: serde_json::Value::Null,
    };
    let mut any = false;
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => e.event = value.to_string(),
            // Ids are audit positions: digits; anything else is not kept.
            "id" if value.bytes().all(|b| b.is_ascii_digit()) => e.id = Some(value.to_string()),
            "data" => {
                e.data = serde_json::from_str(value)
                    .unwrap_or_else(|_| serde_json::Value::String(value.to_string()))
            }
            _ => continue,
        }
        any = true;
    }
    any.then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_split_at_blank_lines_and_comments_are_skipped() {
        let mut buf = Vec::new();
        push(
            &mut buf,
            b": keep-alive\n\nevent: scope\ndata: {\"tenants\":[\"a\"]}\nid: 7\n\ndata: {\"ki",
        );
        let first = next_block(&mut buf).unwrap();
        assert!(parse(&first).is_none(), "a comment");
        let e = parse(&next_block(&mut buf).unwrap()).unwrap();
        assert_eq!((e.event.as_str(), e.id.as_deref()), ("scope", Some("7")));
        assert_eq!(e.data["tenants"][0], "a");
        assert!(next_block(&mut buf).is_none(), "the rest is not complete");
        push(
            &mut buf,
            b"nd\":\"audit_appended\",\"tenant\":\"a\"}\r\nid: x\r\n\r\n",
        );
        let e = parse(&next_block(&mut buf).unwrap()).unwrap();
        assert_eq!((e.event.as_str(), e.id), ("message", None), "not an id");
        assert_eq!(e.data["kind"], "audit_appended");
    }
}
