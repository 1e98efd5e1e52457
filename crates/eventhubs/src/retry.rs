//! Retry policy: how many times, how long between tries (exponential with jitter).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How transient failures are retried.
///
/// ```
/// use std::time::Duration;
/// use eventhubs::RetryOptions;
/// let retry = RetryOptions::default().max_retries(5).delay(Duration::from_millis(50));
/// // 50 ms, plus up to 20% at random.
/// let first = retry.delay_for(0);
/// assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(60));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[must_use = "setters return the changed value: use it"]
pub struct RetryOptions {
    /// Tries after the first (default 3).
    pub max_retries: u32,
    /// Delay before the first retry (default 200 ms); doubles after each.
    pub delay: Duration,
    /// Longest delay (default 30 s).
    pub max_delay: Duration,
    /// Up to this fraction of the delay is added at random (default 0.2). Values outside
    /// `0.0..=1.0` are clamped when used; NaN counts as 0.
    pub jitter: f64,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            max_retries: 3,
            delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            jitter: 0.2,
        }
    }
}

impl RetryOptions {
    /// Sets the number of retries.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the first delay.
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }

    /// Sets the longest delay.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Sets the jitter fraction (0 disables it).
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }

    /// The delay before retry number `attempt` (from 0): the exponential delay plus a
    /// random part, drawn afresh on every call so that clients failing together do not
    /// retry together.
    pub fn delay_for(&self, attempt: u32) -> Duration {
        let base = self.base_delay(attempt);
        base + base.mul_f64(self.jitter_fraction() * random_unit())
    }

    /// Exponential delay without jitter.
    fn base_delay(&self, attempt: u32) -> Duration {
        self.delay
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max_delay)
    }

    /// The jitter fraction as used: the field may hold anything, since it is public.
    fn jitter_fraction(&self) -> f64 {
        if self.jitter.is_nan() {
            0.0
        } else {
            self.jitter.clamp(0.0, 1.0)
        }
    }
}

/// A uniform number in `[0, 1)`, different on every call and in every process: the
/// standard library's per-process random hash keys applied to a counter.
fn random_unit() -> f64 {
    static KEYS: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let bits = KEYS.get_or_init(RandomState::new).hash_one(n);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_jitter_value_gives_a_bounded_delay() {
        for jitter in [f64::NAN, -1.0, f64::NEG_INFINITY, f64::INFINITY, 7.0, 0.5] {
            let mut retry = RetryOptions::default().delay(Duration::from_millis(100));
            retry.jitter = jitter; // a public field: set directly, not through the setter
            for attempt in 0..30 {
                let d = retry.delay_for(attempt);
                let base = retry.base_delay(attempt);
                assert!(d >= base && d <= base * 2, "{jitter}: {d:?} for {base:?}");
            }
        }
    }

    #[test]
    fn delays_for_one_attempt_differ_between_calls() {
        let retry = RetryOptions::default();
        let delays: std::collections::HashSet<Duration> =
            (0..100).map(|_| retry.delay_for(2)).collect();
        // Lock-step retries would give one value; random jitter gives about 100.
        assert!(delays.len() > 90, "{} distinct delays of 100", delays.len());
    }
}
