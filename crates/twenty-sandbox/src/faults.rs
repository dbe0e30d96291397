//! Injected faults and the per-key rate limiter, so that clients can be
//! tested against the failures a real Twenty and its network produce.
//!
//! A fault spec is a comma-separated list of `key=value` settings:
//!
//! | key | value | default |
//! |---|---|---|
//! | `seed` | an unsigned integer seeding the random draws | `0` |
//! | `rate` | probability, `0` to `1`, that a request gets a fault | `0.1` |
//! | `kinds` | fault kinds joined by `+` (below) | every kind |
//! | `latency-ms` | delay added by the `latency` kind, in milliseconds | `100` |
//! | `retry-after` | seconds sent in `Retry-After` with `429` | `1` |
//! | `max-in-row` | most faults one request meets in a row; `0` for no limit | `0` |
//!
//! Kinds: `429` (Too Many Requests with `Retry-After`), `400limit` (400
//! `Limit reached`, as some 2025 servers answered), `500`, `502`, `503`,
//! `reset-before` (the connection is dropped before the request is
//! handled), `reset-after` (the request is handled and committed, then the
//! connection is dropped without an answer) and `latency` (the request is
//! delayed, then handled normally).
//!
//! Example: `seed=42,rate=0.2,kinds=429+400limit+500+502+503+reset-before+reset-after+latency,latency-ms=50`.
//! With the same seed, the same sequence of requests meets the same faults.
//!
//! `max-in-row` models faults that pass: a request sent again with the same
//! method, URL and body after that many faults in a row gets through. A
//! client that retries more often than that then always finishes, so a test
//! of what its retries lose or duplicate does not fail, now and then, on a
//! request whose draws all came up faults.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::RateLimit;

/// One kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `429` with `Retry-After`.
    TooManyRequests,
    /// `400` with a message starting `Limit reached`.
    LimitReached,
    /// `500`.
    InternalError,
    /// `502`.
    BadGateway,
    /// `503`.
    Unavailable,
    /// The connection is dropped before the request is handled.
    ResetBefore,
    /// The request is handled and committed, then the connection is dropped.
    ResetAfter,
    /// The request is delayed by the spec's latency, then handled.
    Latency,
}

impl FaultKind {
    /// Every kind, in the order of the spec syntax.
    pub const ALL: [FaultKind; 8] = [
        Self::TooManyRequests,
        Self::LimitReached,
        Self::InternalError,
        Self::BadGateway,
        Self::Unavailable,
        Self::ResetBefore,
        Self::ResetAfter,
        Self::Latency,
    ];

    /// The kind's name in a spec.
    pub fn name(self) -> &'static str {
        match self {
            Self::TooManyRequests => "429",
            Self::LimitReached => "400limit",
            Self::InternalError => "500",
            Self::BadGateway => "502",
            Self::Unavailable => "503",
            Self::ResetBefore => "reset-before",
            Self::ResetAfter => "reset-after",
            Self::Latency => "latency",
        }
    }
}

/// Which faults to inject and how often; see the module documentation
/// for the text syntax [`FaultSpec::from_str`] reads.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Seed of the random draws, so a run can be replayed.
    pub seed: u64,
    /// Probability, 0 to 1, that a request gets a fault.
    pub rate: f64,
    /// The kinds drawn from, with equal chance.
    pub kinds: Vec<FaultKind>,
    /// Delay of the `latency` kind.
    pub latency: Duration,
    /// Seconds sent in `Retry-After` with an injected 429.
    pub retry_after: u64,
    /// The most faults the same request (method, URL and body) meets in a
    /// row before it is let through; 0 for no limit.
    pub max_in_row: u32,
}

impl Default for FaultSpec {
    fn default() -> Self {
        Self {
            seed: 0,
            rate: 0.1,
            kinds: FaultKind::ALL.to_vec(),
            latency: Duration::from_millis(100),
            retry_after: 1,
            max_in_row: 0,
        }
    }
}

/// Why a fault spec could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    /// A setting is not `key=value`.
    #[error("fault setting `{0}` is not key=value (eg: rate=0.2)")]
    NotKeyValue(String),
    /// The key is not one of the known settings.
    #[error(
        "unknown fault setting `{0}`; use seed, rate, kinds, latency-ms, retry-after or max-in-row"
    )]
    UnknownKey(String),
    /// The value does not fit the key.
    #[error("invalid value `{value}` for fault setting `{key}`: {expected}")]
    BadValue {
        /// The setting.
        key: String,
        /// The value given.
        value: String,
        /// What is expected instead.
        expected: &'static str,
    },
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec::default();
        for setting in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = setting
                .split_once('=')
                .ok_or_else(|| FaultSpecError::NotKeyValue(setting.to_string()))?;
            let (key, value) = (key.trim(), value.trim());
            let bad = |expected| FaultSpecError::BadValue {
                key: key.to_string(),
                value: value.to_string(),
                expected,
            };
            match key {
                "seed" => spec.seed = value.parse().map_err(|_| bad("an unsigned integer"))?,
                "rate" => {
                    spec.rate = value
                        .parse::<f64>()
                        .ok()
                        .filter(|r| (0.0..=1.0).contains(r))
                        .ok_or_else(|| bad("a number from 0 to 1"))?;
                }
                "kinds" => {
                    spec.kinds = value
                        .split('+')
                        .map(|k| {
                            FaultKind::ALL
                                .into_iter()
                                .find(|kind| kind.name() == k.trim())
                                .ok_or_else(|| {
                                    bad("kinds joined by +, out of 429, 400limit, 500, 502, 503, reset-before, reset-after, latency")
                                })
                        })
                        .collect::<Result<_, _>>()?;
                }
                "latency-ms" => {
                    let ms: u64 = value.parse().map_err(|_| bad("milliseconds"))?;
                    spec.latency = Duration::from_millis(ms);
                }
                "retry-after" => {
                    spec.retry_after = value.parse().map_err(|_| bad("whole seconds"))?;
                }
                "max-in-row" => {
                    spec.max_in_row = value.parse().map_err(|_| bad("a whole number"))?;
                }
                other => return Err(FaultSpecError::UnknownKey(other.to_string())),
            }
        }
        Ok(spec)
    }
}

/// The running fault injector: the spec, its seeded generator and the
/// faults each request has met in a row.
pub(crate) struct Faults {
    pub(crate) spec: FaultSpec,
    draws: Mutex<Draws>,
}

struct Draws {
    rng: StdRng,
    /// Faults in a row by request fingerprint; only requests whose last
    /// draw was a fault are here.
    in_row: HashMap<u64, u32>,
}

impl Faults {
    pub(crate) fn new(spec: FaultSpec) -> Self {
        let draws = Draws {
            rng: StdRng::seed_from_u64(spec.seed),
            in_row: HashMap::new(),
        };
        Self {
            spec,
            draws: Mutex::new(draws),
        }
    }

    /// Whether [`Faults::roll`] needs the request's fingerprint.
    pub(crate) fn counts_in_row(&self) -> bool {
        self.spec.max_in_row > 0
    }

    /// Draws the fault of the next request, if any. `request` fingerprints
    /// the request (method, URL, body) for `max-in-row`.
    pub(crate) fn roll(&self, request: u64) -> Option<FaultKind> {
        if self.spec.kinds.is_empty() {
            return None;
        }
        let mut draws = self.draws.lock().unwrap_or_else(|e| e.into_inner());
        let Draws { rng, in_row } = &mut *draws;
        // Both numbers are drawn every time, so that what later requests
        // meet does not depend on whether this one was let through.
        let hit = rng.random::<f64>() < self.spec.rate;
        let kind = self.spec.kinds[rng.random_range(0..self.spec.kinds.len())];
        if !self.counts_in_row() {
            return hit.then_some(kind);
        }
        let row = in_row.entry(request).or_default();
        if !hit || *row >= self.spec.max_in_row {
            in_row.remove(&request);
            return None;
        }
        *row += 1;
        Some(kind)
    }
}

/// A fixed-window counter per API key.
pub(crate) struct Limiter {
    limit: RateLimit,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

/// What the limiter decided for one request.
pub(crate) enum Verdict {
    /// Go ahead; this many requests are left in the window.
    Allowed { remaining: u32 },
    /// Refused; the window ends in this many seconds.
    Refused { retry_after: u64 },
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn limit(&self) -> u32 {
        self.limit.requests
    }

    pub(crate) fn check(&self, key: &str) -> Verdict {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let entry = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.limit.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit.requests {
            let left = self
                .limit
                .window
                .saturating_sub(now.duration_since(entry.0));
            return Verdict::Refused {
                retry_after: left.as_secs_f64().ceil().max(1.0) as u64,
            };
        }
        entry.1 += 1;
        Verdict::Allowed {
            remaining: self.limit.requests - entry.1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_reads_every_setting() {
        let spec: FaultSpec =
            "seed=42,rate=0.2,kinds=429+400limit+reset-after,latency-ms=50,retry-after=2"
                .parse()
                .expect("valid spec");
        assert_eq!(spec.seed, 42);
        assert_eq!(spec.rate, 0.2);
        assert_eq!(
            spec.kinds,
            vec![
                FaultKind::TooManyRequests,
                FaultKind::LimitReached,
                FaultKind::ResetAfter
            ]
        );
        assert_eq!(spec.latency, Duration::from_millis(50));
        assert_eq!(spec.retry_after, 2);
        assert_eq!(spec.max_in_row, 0);
        let spec: FaultSpec = "max-in-row=3".parse().expect("valid spec");
        assert_eq!(spec.max_in_row, 3);
    }

    #[test]
    fn spec_refuses_bad_settings() {
        assert!(matches!(
            "rate=2".parse::<FaultSpec>(),
            Err(FaultSpecError::BadValue { .. })
        ));
        assert!(matches!(
            "kinds=418".parse::<FaultSpec>(),
            Err(FaultSpecError::BadValue { .. })
        ));
        assert!(matches!(
            "speed=1".parse::<FaultSpec>(),
            Err(FaultSpecError::UnknownKey(_))
        ));
        assert!(matches!(
            "seed".parse::<FaultSpec>(),
            Err(FaultSpecError::NotKeyValue(_))
        ));
    }

    #[test]
    fn same_seed_same_faults() {
        let spec: FaultSpec = "seed=7,rate=0.5".parse().expect("valid spec");
        let a = Faults::new(spec.clone());
        let b = Faults::new(spec);
        let draws_a: Vec<_> = (0..50).map(|i| a.roll(i)).collect();
        let draws_b: Vec<_> = (0..50).map(|i| b.roll(i)).collect();
        assert_eq!(draws_a, draws_b);
        assert!(draws_a.iter().any(Option::is_some));
        assert!(draws_a.iter().any(Option::is_none));
    }

    #[test]
    fn a_request_meets_at_most_max_in_row_faults_in_a_row() {
        let spec: FaultSpec = "seed=3,rate=0.9,max-in-row=2".parse().expect("valid spec");
        let faults = Faults::new(spec);
        let mut longest = 0;
        let mut row = 0;
        for _ in 0..1000 {
            if faults.roll(1).is_some() {
                row += 1;
                longest = u32::max(longest, row);
            } else {
                row = 0;
            }
        }
        assert_eq!(longest, 2);

        // Another request has a count of its own.
        let faults = Faults::new("seed=3,rate=1,max-in-row=1".parse().expect("valid spec"));
        assert!(faults.roll(1).is_some());
        assert!(faults.roll(2).is_some());
        assert_eq!(faults.roll(1), None);
        assert!(faults.roll(1).is_some());
    }
}
