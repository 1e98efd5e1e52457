//! Retry policy: how many times, how long between tries (exponential with jitter).

use std::time::Duration;

/// How transient failures are retried.
///
/// ```
/// use std::time::Duration;
/// use eventhubs::RetryOptions;
/// let retry = RetryOptions::default().max_retries(5).delay(Duration::from_millis(50));
/// assert_eq!(retry.delay_for(0), Duration::from_millis(50) + retry.jitter_for(0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryOptions {
    /// Tries after the first (default 3).
    pub max_retries: u32,
    /// Delay before the first retry (default 200 ms); doubles after each.
    pub delay: Duration,
    /// Longest delay (default 30 s).
    pub max_delay: Duration,
    /// Up to this fraction of the delay is added at random (default 0.2).
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

    /// The delay before retry number `attempt` (from 0), jitter included.
    pub fn delay_for(&self, attempt: u32) -> Duration {
        self.base_delay(attempt) + self.jitter_for(attempt)
    }

    /// Exponential delay without jitter.
    fn base_delay(&self, attempt: u32) -> Duration {
        self.delay
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max_delay)
    }

    /// The jitter part of [`RetryOptions::delay_for`] (deterministic per attempt and
    /// process, spread across processes).
    pub fn jitter_for(&self, attempt: u32) -> Duration {
        let base = self.base_delay(attempt);
        let seed = u64::from(std::process::id()).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(attempt).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let unit = (seed >> 11) as f64 / (1u64 << 53) as f64;
        base.mul_f64(self.jitter * unit)
    }
}
