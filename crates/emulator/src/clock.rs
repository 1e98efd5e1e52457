//! Wall-clock time in the units the protocol uses.

/// Now, Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Now, Unix seconds.
pub(crate) fn now_secs() -> u64 {
    (now_ms() / 1000).max(0) as u64
}
