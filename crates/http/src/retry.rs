//! [`RetryPolicy`]: which failures are retried, how many times, how long apart.

use std::time::Duration;

use http::StatusCode;

/// Retries of transient failures: connection errors, timeouts of a try, and the statuses
/// 408, 429, 500, 502, 503 and 504. Delays double from `delay` up to `max_delay`, each plus up
/// to 20% at random.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Tries after the first (default 3).
    pub max_retries: u32,
    /// Delay before the first retry (default 200 ms).
    pub delay: Duration,
    /// Longest delay (default 10 s).
    pub max_delay: Duration,
    /// Bound on each try, connection included (default 30 s).
    pub try_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            try_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Sets the number of retries.
    #[must_use]
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the first delay.
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sets the bound on each try.
    #[must_use]
    pub fn try_timeout(mut self, timeout: Duration) -> Self {
        self.try_timeout = timeout;
        self
    }

    /// Whether a response with `status` is worth another try.
    pub fn retries_status(&self, status: StatusCode) -> bool {
        matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
    }

    /// The delay before retry `attempt` (from 0).
    pub(crate) fn delay_for(&self, attempt: u32) -> Duration {
        let base = self
            .delay
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_delay);
        base + base.mul_f64(0.2 * fastrand::f64())
    }
}
