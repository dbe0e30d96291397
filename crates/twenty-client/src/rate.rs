//! A token bucket shared by every clone of a client, so that a bulk job
//! running many requests at once stays under the server's per-minute
//! limit.
//!
//! The bucket holds at most one token: requests are spaced evenly at
//! `60 / rate` seconds. A larger burst would let a job send more than
//! `rate` requests inside one of the server's windows, which is exactly
//! what the limit is there to stop.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Requests per minute, spread evenly.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    interval: Duration,
    /// When the next request may go. Each caller reserves a slot and
    /// moves this forward, so concurrent callers queue fairly.
    next_free: Mutex<Option<Instant>>,
}

impl TokenBucket {
    pub(crate) fn per_minute(rate: u32) -> TokenBucket {
        TokenBucket {
            interval: Duration::from_secs(60) / rate.max(1),
            next_free: Mutex::new(None),
        }
    }

    /// Waits until this caller may send.
    pub(crate) async fn acquire(&self) {
        let slot = {
            // A poisoned lock only means another task panicked while
            // holding a plain timestamp; the value is still usable.
            let mut next = self.next_free.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = match *next {
                Some(t) if t > now => t,
                _ => now,
            };
            *next = Some(slot + self.interval);
            slot
        };
        if slot > Instant::now() {
            tracing::debug!(
                "waiting {:?} for the client-side rate limit",
                slot - Instant::now()
            );
            tokio::time::sleep_until(slot).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_rate() {
        let bucket = std::sync::Arc::new(TokenBucket::per_minute(120));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let b = bucket.clone();
            tasks.push(tokio::spawn(async move {
                b.acquire().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap() - start);
        }
        times.sort();
        assert_eq!(
            times,
            [0, 500, 1000, 1500].map(Duration::from_millis).to_vec()
        );
    }
}
