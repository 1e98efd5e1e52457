//! Setup work shared by concurrent callers: opening the connection, putting a token,
//! attaching a sender, opening `$management`. The first caller that needs a slot starts
//! the work in a task of its own, bounded by a deadline; every caller (the first one too)
//! waits for its result under its own timeout. So no lock is held across a network wait,
//! one hung peer costs each caller at most its timeout, and a caller that gives up (is
//! cancelled) does not leave the others waiting on work nobody finishes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock, RwLockWriteGuard};
use std::time::Duration;

use tokio::sync::watch;

use crate::error::{Error, ErrorKind};

type Outcome<T> = Option<Result<T, Error>>;

enum Slot<T> {
    Ready(T),
    Pending(watch::Receiver<Outcome<T>>),
}

/// Values by key, each made once (and again after it is removed or found stale).
pub(crate) struct Slots<T> {
    // Read on every operation by many tasks at once; written only when something is made
    // or dropped.
    map: Arc<RwLock<HashMap<String, Slot<T>>>>,
}

impl<T> std::fmt::Debug for Slots<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.map.read().map_or(0, |m| m.len());
        f.debug_struct("Slots").field("len", &len).finish()
    }
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Self {
            map: Arc::default(),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Slots<T> {
    fn lock(&self) -> RwLockWriteGuard<'_, HashMap<String, Slot<T>>> {
        self.map.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The value for `key` if it is ready and `usable`.
    pub(crate) fn ready(&self, key: &str, usable: impl Fn(&T) -> bool) -> Option<T> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some(Slot::Ready(v)) if usable(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// The value for `key`: the ready one if `usable` accepts it, else the result of the
    /// work already under way, else of `make()`, started now in its own task and given
    /// `bound` to finish. Waits at most `wait` (a `Timeout` error naming `what` after that;
    /// the work itself goes on for its own bound). Cancel-safe.
    pub(crate) async fn get_or_make<F>(
        &self,
        key: &str,
        usable: impl Fn(&T) -> bool,
        bound: Duration,
        wait: Duration,
        what: &str,
        make: impl FnOnce() -> F,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let mut outcome = {
            let mut map = self.lock();
            match map.get(key) {
                Some(Slot::Ready(v)) if usable(v) => return Ok(v.clone()),
                Some(Slot::Pending(rx)) => rx.clone(),
                _ => {
                    let (tx, rx) = watch::channel(None);
                    map.insert(key.to_owned(), Slot::Pending(rx.clone()));
                    let work = make();
                    let (map, key, what) = (self.map.clone(), key.to_owned(), what.to_owned());
                    tokio::spawn(async move {
                        let result = match tokio::time::timeout(bound, work).await {
                            Ok(r) => r,
                            Err(_) => Err(timeout_error(&what, bound)),
                        };
                        let mut map = map.write().unwrap_or_else(|p| p.into_inner());
                        match &result {
                            Ok(v) => map.insert(key, Slot::Ready(v.clone())),
                            Err(_) => map.remove(&key),
                        };
                        drop(map);
                        let _ = tx.send(Some(result));
                    });
                    rx
                }
            }
        };
        let waited = tokio::time::timeout(wait, outcome.wait_for(Option::is_some))
            .await
            .map(|r| r.map(|v| v.clone()));
        match waited {
            Err(_) => Err(timeout_error(what, wait)),
            Ok(Ok(Some(result))) => result,
            Ok(_) => Err(Error::new(
                ErrorKind::ConnectionLost,
                format!("{what} was abandoned"),
            )),
        }
    }

    /// Forgets `key` if its ready value matches `stale` (so the next caller makes a new
    /// one); returns the forgotten value.
    pub(crate) fn remove_if(&self, key: &str, stale: impl Fn(&T) -> bool) -> Option<T> {
        let mut map = self.lock();
        match map.get(key) {
            Some(Slot::Ready(v)) if stale(v) => match map.remove(key) {
                Some(Slot::Ready(v)) => Some(v),
                _ => None,
            },
            _ => None,
        }
    }

    /// Forgets every value; returns the ready ones.
    pub(crate) fn take_all(&self) -> Vec<T> {
        self.lock()
            .drain()
            .filter_map(|(_, s)| match s {
                Slot::Ready(v) => Some(v),
                Slot::Pending(_) => None,
            })
            .collect()
    }
}

fn timeout_error(what: &str, after: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("{what} did not complete within {after:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Concurrent callers share one piece of work; a hung one times each caller out at
    /// its own bound, and the slot is free again afterwards.
    #[tokio::test(start_paused = true)]
    async fn shared_and_bounded() {
        let slots: Slots<u32> = Slots::default();
        let made = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let get = |made: Arc<std::sync::atomic::AtomicU32>| {
            let slots = &slots;
            async move {
                slots
                    .get_or_make(
                        "k",
                        |_| true,
                        Duration::from_secs(5),
                        Duration::from_secs(1),
                        "thing",
                        move || {
                            made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            async { Ok(7) }
                        },
                    )
                    .await
            }
        };
        let (a, b) = tokio::join!(get(made.clone()), get(made.clone()));
        assert_eq!((a.unwrap(), b.unwrap()), (7, 7));
        assert_eq!(made.load(std::sync::atomic::Ordering::Relaxed), 1);

        let hung = slots
            .get_or_make(
                "h",
                |_| true,
                Duration::from_secs(5),
                Duration::from_secs(1),
                "hung thing",
                std::future::pending::<Result<u32, Error>>,
            )
            .await;
        assert_eq!(hung.unwrap_err().kind(), ErrorKind::Timeout);
        // The work's own bound ends it; the next caller starts afresh.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let again = slots
            .get_or_make(
                "h",
                |_| true,
                Duration::from_secs(5),
                Duration::from_secs(1),
                "thing",
                || async { Ok(9) },
            )
            .await;
        assert_eq!(again.unwrap(), 9);
    }
}
