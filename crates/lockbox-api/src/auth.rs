//! Bearer-token authentication and rate limits (governor, GCRA):
//!
//! - per token: calls per second with a burst, after the token is known;
//! - per client IP, for calls that fail to authenticate (no, malformed,
//!   unknown, expired or revoked token): once a client has spent its budget
//!   of failures, its calls are answered 429 *before* the token is looked up,
//!   so a client guessing tokens cannot make the API read the store faster
//!   than the budget refills.
//!
//! Both run on a [`LimiterClock`]: monotonic time, or one the tests move.

use crate::error::ApiError;
use crate::ApiState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use governor::clock::{Clock, FakeRelativeClock, Reference};
use governor::middleware::{NoOpMiddleware, StateInformationMiddleware};
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use lockbox_core::ErrorCode;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The provider connection a call acts for.
#[derive(Debug, Clone)]
pub struct Provider {
    pub tenant: String,
    pub token_id: String,
    pub connection: String,
}

/// The rate limiters' time: monotonic, or manual (tests advance it).
#[derive(Debug, Clone)]
pub enum LimiterClock {
    /// Time since this instant.
    Monotonic(Instant),
    Manual(FakeRelativeClock),
}

impl LimiterClock {
    pub fn monotonic() -> Self {
        LimiterClock::Monotonic(Instant::now())
    }
}

impl Clock for LimiterClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        match self {
            LimiterClock::Monotonic(origin) => Nanos::from(origin.elapsed()),
            LimiterClock::Manual(c) => c.now(),
        }
    }
}

/// How many calls the limiters let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls per second per token, once authenticated.
    pub per_token_per_sec: u32,
    /// Calls a token may make at once.
    pub per_token_burst: u32,
    /// Failed authentications per minute per client IP.
    pub failures_per_min: u32,
    /// Failed authentications a client may make at once.
    pub failures_burst: u32,
}

impl Limits {
    /// `per_sec` calls per second per token with a burst of `burst`, and the
    /// default budget of failed authentications.
    pub fn per_token(per_sec: u32, burst: u32) -> Self {
        Limits {
            per_token_per_sec: per_sec,
            per_token_burst: burst,
            failures_per_min: 10,
            failures_burst: 10,
        }
    }
}

type Keyed<K, MW> = RateLimiter<K, DefaultKeyedStateStore<K>, LimiterClock, MW>;

/// Keyed limiters grow by one entry per key; past this many they forget idle keys.
const MAX_KEYS: usize = 10_000;

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// The API's rate limiters.
pub struct Limiter {
    clock: LimiterClock,
    per_token: Keyed<String, NoOpMiddleware<Nanos>>,
    failures: Keyed<IpAddr, StateInformationMiddleware>,
    /// How long one failure takes to refill.
    failure_period: Duration,
    /// Clients that spent their failure budget, and until when.
    blocked: Mutex<HashMap<IpAddr, Nanos>>,
    /// Token lookups made (each one reads the store).
    lookups: AtomicU64,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("clock", &self.clock)
            .field("lookups", &self.lookups)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    pub fn new(limits: Limits, clock: LimiterClock) -> Self {
        let per_token = Quota::per_second(nonzero(limits.per_token_per_sec))
            .allow_burst(nonzero(limits.per_token_burst));
        let failures = Quota::per_minute(nonzero(limits.failures_per_min))
            .allow_burst(nonzero(limits.failures_burst));
        Limiter {
            per_token: RateLimiter::new(per_token, Default::default(), clock.clone()),
            failures: RateLimiter::new(failures, Default::default(), clock.clone()),
            failure_period: failures.replenish_interval(),
            clock,
            blocked: Mutex::new(HashMap::new()),
            lookups: AtomicU64::new(0),
        }
    }

    /// How many calls have looked their token up in the store.
    pub fn token_lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// Take one call from `token_id`'s budget; `Err(wait)` when it is spent.
    pub fn allow_token(&self, token_id: &str) -> Result<(), Duration> {
        if self.per_token.len() > MAX_KEYS {
            self.per_token.retain_recent();
        }
        self.per_token
            .check_key(&token_id.to_string())
            .map_err(|n| n.wait_time_from(self.clock.now()))
    }

    /// Before anything is read: `Err(wait)` while `ip` has no failures left.
    pub fn allow_client(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = self.clock.now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        match blocked.get(&ip) {
            Some(until) if *until > now => Err(until.duration_since(now).into()),
            Some(_) => {
                blocked.remove(&ip);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// `ip` failed to authenticate: charge its budget. `Err(wait)` if it was
    /// already spent; when this failure spends it, the client is blocked
    /// until the next one refills (so its next call is refused before the store).
    pub fn failed(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.failures.len() > MAX_KEYS {
            self.failures.retain_recent();
        }
        let now = self.clock.now();
        let (until, result) = match self.failures.check_key(&ip) {
            Ok(state) if state.remaining_burst_capacity() > 0 => return Ok(()),
            Ok(_) => (now + Nanos::from(self.failure_period), Ok(())),
            Err(n) => (n.earliest_possible(), Err(n.wait_time_from(now))),
        };
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        if blocked.len() > MAX_KEYS {
            blocked.retain(|_, u| *u > now);
        }
        blocked.insert(ip, until);
        result
    }
}

pub(crate) fn too_many(message: &str, wait: Duration) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
        message,
    )
    .retry_after(wait)
}

impl FromRequestParts<ApiState> for Provider {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let limiter = &state.limiter;
        // Without connection info (a router served by someone else) all
        // clients share one failure budget.
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        const SLOW_DOWN: &str = "too many calls without a valid token from this client; slow down";
        limiter
            .allow_client(ip)
            .map_err(|wait| too_many(SLOW_DOWN, wait))?;
        let unauthorized = |m: &str| match limiter.failed(ip) {
            Ok(()) => ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, m),
            Err(wait) => too_many(SLOW_DOWN, wait),
        };
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization: Bearer <token>"))?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| unauthorized("the Authorization header must be 'Bearer <token>'"))?
            .to_string();
        limiter.lookups.fetch_add(1, Ordering::Relaxed);
        let token = state
            .run(move |e| e.authenticate(&secret))
            .await?
            .ok_or_else(|| unauthorized("unknown, expired or revoked token"))?;
        limiter
            .allow_token(&token.id)
            .map_err(|wait| too_many("too many calls for this token; slow down", wait))?;
        Ok(Provider {
            tenant: token.tenant,
            token_id: token.id,
            connection: token.name,
        })
    }
}
