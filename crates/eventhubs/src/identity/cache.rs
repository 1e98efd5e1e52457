//! [`Cached`]: one credential's current token for one scope, shared by every link —
//! refreshed early (with jitter), one refresh at a time, and when a refresh fails the
//! still-valid token is handed out while retries back off.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::auth::{Token, TokenKind};
use crate::error::Error;

/// An access token as a token service returns it.
#[derive(Clone)]
pub(crate) struct AccessToken {
    pub value: String,
    pub expires_at: SystemTime,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The future a [`FetchToken`] returns.
pub(crate) type FetchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, Error>> + Send + 'a>>;

/// Gets a new token from a token service (one bounded request, retries included).
pub(crate) trait FetchToken: Send + Sync + fmt::Debug {
    /// A token for `scope` (`https://eventhubs.azure.net/.default`).
    fn fetch<'a>(&'a self, scope: &'a str) -> FetchFuture<'a>;
}

/// Refresh once at most this much of a token's life is left (or half of it, for short
/// tokens), so that an outage of the token service up to that long costs nothing.
const REFRESH_MARGIN: Duration = Duration::from_secs(600);

/// After a failed refresh (while the token is still valid), wait 1, 2, 4 … at most 30 s
/// before the next try.
const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(30);

struct Current {
    token: AccessToken,
    refresh_at: SystemTime,
}

#[derive(Default)]
struct State {
    current: Option<Current>,
    refreshing: bool,
    failures: u32,
    retry_not_before: Option<SystemTime>,
    /// The last refresh's error, with the count of ended refreshes it ended.
    last_error: Option<(u64, Error)>,
}

/// A credential's token cache; see the module docs.
pub(crate) struct Cached {
    source: Arc<dyn FetchToken>,
    scope: String,
    state: Mutex<State>,
    /// Bumped each time a refresh ends (well or not), waking those waiting for it.
    done: watch::Sender<u64>,
}

impl fmt::Debug for Cached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cached")
            .field("source", &self.source)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Resets `refreshing` when the refresh ends or its future is dropped (cancel safety:
/// a waiter then starts its own).
struct RefreshGuard<'a>(&'a Cached);

impl Drop for RefreshGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().refreshing = false;
        self.0.done.send_modify(|n| *n += 1);
    }
}

enum Next {
    Ready(AccessToken),
    Wait(watch::Receiver<u64>),
    Refresh(Option<AccessToken>),
}

impl Cached {
    pub(crate) fn new(source: Arc<dyn FetchToken>, scope: String) -> Self {
        Self {
            source,
            scope,
            state: Mutex::default(),
            done: watch::channel(0).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current token, refreshed first if it is due. Cancel-safe: dropping the future
    /// mid-refresh lets the next caller refresh.
    pub(crate) async fn token(&self) -> Result<Token, Error> {
        self.access_token().await.map(|t| Token {
            kind: TokenKind::Jwt,
            value: t.value,
            expires_at: t.expires_at,
        })
    }

    async fn access_token(&self) -> Result<AccessToken, Error> {
        loop {
            let next = self.next(SystemTime::now());
            let still_valid = match next {
                Next::Ready(t) => return Ok(t),
                Next::Wait(mut rx) => {
                    // The refresher's request is bounded, so this wait is too.
                    let _ = rx.changed().await;
                    let ended = *rx.borrow_and_update();
                    let st = self.lock();
                    let valid = st
                        .current
                        .as_ref()
                        .filter(|c| c.token.expires_at > SystemTime::now());
                    match (valid, &st.last_error) {
                        (Some(c), _) => return Ok(c.token.clone()),
                        // That refresh failed: its error is the answer.
                        (None, Some((at, e))) if *at == ended => return Err(e.clone()),
                        // It was cancelled: try again (perhaps as the refresher).
                        _ => continue,
                    }
                }
                Next::Refresh(still_valid) => still_valid,
            };
            let _guard = RefreshGuard(self);
            let outcome = self.source.fetch(&self.scope).await;
            let mut st = self.lock();
            return match outcome {
                Ok(token) => {
                    st.failures = 0;
                    st.retry_not_before = None;
                    st.last_error = None;
                    st.current = Some(Current {
                        refresh_at: refresh_at(SystemTime::now(), token.expires_at),
                        token: token.clone(),
                    });
                    tracing::debug!(expires_at = ?token.expires_at, "access token refreshed");
                    Ok(token)
                }
                Err(e) => {
                    st.failures = st.failures.saturating_add(1);
                    let backoff = Duration::from_secs(1)
                        .saturating_mul(1 << (st.failures - 1).min(5))
                        .min(RETRY_BACKOFF_MAX);
                    st.retry_not_before = Some(SystemTime::now() + backoff);
                    // The guard's drop, just after, makes this refresh number `+ 1`.
                    st.last_error = Some((*self.done.borrow() + 1, e.clone()));
                    match still_valid {
                        Some(t) => {
                            tracing::warn!(error = %e, attempt = st.failures, ?backoff, "access token refresh failed; using the current token while it is valid");
                            Ok(t)
                        }
                        None => Err(e),
                    }
                }
            };
        }
    }

    fn next(&self, now: SystemTime) -> Next {
        let mut st = self.lock();
        let valid = st
            .current
            .as_ref()
            .filter(|c| c.token.expires_at > now)
            .map(|c| (c.token.clone(), c.refresh_at));
        match valid {
            Some((token, refresh_at)) if now < refresh_at => Next::Ready(token),
            // Due, but someone is refreshing or the last try failed recently.
            Some((token, _)) if st.refreshing || st.retry_not_before.is_some_and(|t| now < t) => {
                Next::Ready(token)
            }
            None if st.refreshing => Next::Wait(self.done.subscribe()),
            valid => {
                st.refreshing = true;
                Next::Refresh(valid.map(|(t, _)| t))
            }
        }
    }
}

/// When a token issued at `now` that expires at `expires_at` is due for refresh: with
/// [`REFRESH_MARGIN`] left (half its life for short tokens), plus 2–12 % jitter so that
/// many clients do not refresh at once. Always before the client's own renewal, which puts
/// a new token with half the remaining life left (at most ten minutes early).
fn refresh_at(now: SystemTime, expires_at: SystemTime) -> SystemTime {
    let life = expires_at.duration_since(now).unwrap_or_default();
    let margin = (life / 2).min(REFRESH_MARGIN);
    let margin = margin.mul_f64(1.02 + 0.10 * fastrand::f64()).min(life);
    expires_at - margin
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[derive(Debug, Default)]
    struct Script {
        calls: AtomicU32,
        fail_from: Option<u32>,
        life: Duration,
    }

    impl FetchToken for Arc<Script> {
        fn fetch<'a>(&'a self, _scope: &'a str) -> FetchFuture<'a> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                if self.fail_from.is_some_and(|f| n >= f) {
                    return Err(Error::new(crate::ErrorKind::ServerBusy, "scripted"));
                }
                Ok(AccessToken {
                    value: format!("token-{n}"),
                    expires_at: SystemTime::now() + self.life,
                })
            })
        }
    }

    /// The refresh point is before half-life (short tokens) or ten minutes before expiry.
    #[test]
    fn refresh_points() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = refresh_at(now, now + Duration::from_secs(3600));
        let left = (now + Duration::from_secs(3600))
            .duration_since(hour)
            .unwrap();
        assert!(
            left >= Duration::from_secs(612) && left <= Duration::from_secs(672),
            "{left:?}"
        );
        let short = refresh_at(now, now + Duration::from_secs(20));
        let left = (now + Duration::from_secs(20))
            .duration_since(short)
            .unwrap();
        assert!(
            left > Duration::from_secs(10) && left < Duration::from_millis(11_300),
            "{left:?}"
        );
        assert_eq!(refresh_at(now, now), now);
    }

    /// Concurrent callers share one fetch; a fresh token is not fetched again.
    #[tokio::test]
    async fn one_fetch_for_many_callers() {
        let script = Arc::new(Script {
            life: Duration::from_secs(3600),
            ..Script::default()
        });
        let cache = Arc::new(Cached::new(Arc::new(script.clone()), String::new()));
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let c = cache.clone();
                tokio::spawn(async move { c.token().await.map(|t| t.value) })
            })
            .collect();
        for c in calls {
            assert_eq!(c.await.unwrap().unwrap(), "token-0");
        }
        assert_eq!(cache.token().await.unwrap().value, "token-0");
        assert_eq!(script.calls.load(Ordering::SeqCst), 1);
    }

    /// A failed refresh hands out the valid token and backs off; with none valid, the
    /// error reaches the caller.
    #[tokio::test]
    async fn failed_refresh_keeps_the_valid_token() {
        let script = Arc::new(Script {
            life: Duration::from_secs(60),
            fail_from: Some(1),
            ..Script::default()
        });
        let cache = Cached::new(Arc::new(script.clone()), String::new());
        assert_eq!(cache.token().await.unwrap().value, "token-0");
        // Due now; the refresh fails.
        cache.lock().current.as_mut().unwrap().refresh_at = SystemTime::now();
        assert_eq!(cache.token().await.unwrap().value, "token-0");
        assert_eq!(script.calls.load(Ordering::SeqCst), 2);
        // Backing off: no new request.
        assert_eq!(cache.token().await.unwrap().value, "token-0");
        assert_eq!(script.calls.load(Ordering::SeqCst), 2);
        cache.lock().current.as_mut().unwrap().token.expires_at = SystemTime::now();
        let e = cache.token().await.unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::ServerBusy);
    }

    /// Callers waiting on a failing first fetch get its error, without a fetch each.
    #[tokio::test]
    async fn waiters_share_a_failed_first_fetch() {
        let script = Arc::new(Script {
            life: Duration::from_secs(3600),
            fail_from: Some(0),
            ..Script::default()
        });
        let cache = Arc::new(Cached::new(Arc::new(script.clone()), String::new()));
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let c = cache.clone();
                tokio::spawn(async move { c.token().await.map(|t| t.value) })
            })
            .collect();
        for c in calls {
            assert!(c.await.unwrap().is_err());
        }
        assert!(
            script.calls.load(Ordering::SeqCst) < 4,
            "shared, not one each"
        );
    }

    /// Fails its first `failures` fetches, then hands out `token-<n>`.
    #[derive(Debug)]
    struct FailFirst {
        calls: AtomicU32,
        failures: u32,
    }

    impl FetchToken for Arc<FailFirst> {
        fn fetch<'a>(&'a self, _scope: &'a str) -> FetchFuture<'a> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                if n < self.failures {
                    return Err(Error::new(crate::ErrorKind::ServerBusy, "scripted"));
                }
                Ok(AccessToken {
                    value: format!("token-{n}"),
                    expires_at: SystemTime::now() + Duration::from_secs(3600),
                })
            })
        }
    }

    /// A waiter whose refresher was cancelled does not take an older refresh's error for
    /// the answer: it refreshes itself.
    #[tokio::test]
    async fn a_cancelled_refresh_does_not_hand_out_a_stale_error() {
        let script = Arc::new(FailFirst {
            calls: AtomicU32::new(0),
            failures: 1,
        });
        let cache = Cached::new(Arc::new(script.clone()), String::new());
        assert!(cache.token().await.is_err(), "the first fetch fails");
        let mut refresher = Box::pin(cache.token());
        let mut waiter = Box::pin(cache.token());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(refresher.as_mut().poll(&mut cx).is_pending(), "fetching");
        assert!(waiter.as_mut().poll(&mut cx).is_pending(), "waiting for it");
        drop(refresher);
        assert_eq!(waiter.await.unwrap().value, "token-2");
    }

    /// Dropping a caller mid-refresh lets the next one refresh.
    #[tokio::test]
    async fn cancelled_refresh_is_taken_over() {
        let script = Arc::new(Script {
            life: Duration::from_secs(3600),
            ..Script::default()
        });
        let cache = Cached::new(Arc::new(script.clone()), String::new());
        let mut first = Box::pin(cache.token());
        let polled =
            std::future::poll_fn(|cx| std::task::Poll::Ready(first.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "the fetch yields once");
        drop(first);
        assert_eq!(cache.token().await.unwrap().value, "token-1");
    }
}
