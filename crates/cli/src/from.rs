//! `--from`: where `eh receive` starts — `earliest`, `latest`, `seq:N`, `offset:X`,
//! `time:RFC3339` or `-DURATION` (that long before now, as `-5m` or `-1h30m`).

use std::time::SystemTime;

use eventhubs::StartPosition;

/// A parsed `--from`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Start {
    Earliest,
    Latest,
    Sequence(i64),
    Offset(String),
    Time(SystemTime),
}

/// Parses a `--from` value (a duration becomes `now` minus it).
pub(crate) fn parse(value: &str, now: SystemTime) -> Result<Start, String> {
    Ok(match value {
        "earliest" => Start::Earliest,
        "latest" => Start::Latest,
        v if v.starts_with("seq:") => {
            let n = &v[4..];
            Start::Sequence(
                n.parse()
                    .map_err(|_| format!("--from {v}: {n:?} is not a sequence number"))?,
            )
        }
        v if v.starts_with("offset:") && v.len() > 7 => Start::Offset(v[7..].to_owned()),
        v if v.starts_with("time:") => {
            Start::Time(humantime::parse_rfc3339_weak(&v[5..]).map_err(|e| {
                format!("--from {v}: {e} (expected RFC 3339, as time:2026-12-02T10:00:00Z)")
            })?)
        }
        v if v.starts_with('-') => {
            let d = humantime::parse_duration(&v[1..])
                .map_err(|e| format!("--from {v}: {e} (expected a duration, as -5m or -1h30m)"))?;
            Start::Time(
                now.checked_sub(d)
                    .ok_or_else(|| format!("--from {v}: before the start of time"))?,
            )
        }
        v => {
            return Err(format!(
                "--from {v}: expected earliest, latest, seq:N, offset:X, time:RFC3339 or -DURATION (as -5m)"
            ))
        }
    })
}

impl Start {
    /// The client's start position (`inclusive` for sequence numbers, offsets and times).
    pub(crate) fn position(&self, inclusive: bool) -> StartPosition {
        match self {
            Self::Earliest => StartPosition::earliest(),
            Self::Latest => StartPosition::latest(),
            Self::Sequence(n) => StartPosition::sequence_number(*n).inclusive(inclusive),
            Self::Offset(o) => StartPosition::offset(o.clone()).inclusive(inclusive),
            Self::Time(t) => StartPosition::enqueued_time(*t).inclusive(inclusive),
        }
    }

    /// True when nothing up to the partition's last event (`last_sequence`, `last_offset`,
    /// `last_time`) would be read from here: `--exit-at-end` is done with it at once.
    pub(crate) fn past(
        &self,
        inclusive: bool,
        last_sequence: i64,
        last_offset: &str,
        last_time: SystemTime,
    ) -> bool {
        match self {
            Self::Earliest => false,
            Self::Latest => true,
            Self::Sequence(n) => *n > last_sequence || (*n == last_sequence && !inclusive),
            // Offsets are opaque; the service's are decimal today, and anything else is
            // left to the receiver.
            Self::Offset(o) => match (o.parse::<i64>(), last_offset.parse::<i64>()) {
                (Ok(o), Ok(last)) => o > last || (o == last && !inclusive),
                _ => false,
            },
            Self::Time(t) => *t > last_time || (*t == last_time && !inclusive),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_form_and_the_errors() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse("earliest", now).unwrap(), Start::Earliest);
        assert_eq!(parse("latest", now).unwrap(), Start::Latest);
        assert_eq!(parse("seq:42", now).unwrap(), Start::Sequence(42));
        assert_eq!(
            parse("seq:42", now).unwrap().position(true),
            StartPosition::sequence_number(42).inclusive(true)
        );
        assert_eq!(
            parse("offset:900", now).unwrap(),
            Start::Offset("900".into())
        );
        assert_eq!(
            parse("-5m", now).unwrap(),
            Start::Time(now - Duration::from_secs(300))
        );
        assert_eq!(
            parse("time:1970-01-12T13:46:40Z", now).unwrap(),
            Start::Time(now)
        );
        for bad in ["seq:x", "time:yesterday", "-5 parsecs", "soon", "offset:"] {
            let e = parse(bad, now).unwrap_err();
            assert!(e.starts_with("--from "), "{e}");
        }
    }

    #[test]
    fn past_the_end() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let past = |f: Start, inclusive| f.past(inclusive, 9, "900", t);
        assert!(!past(Start::Earliest, false));
        assert!(past(Start::Latest, false));
        assert!(past(Start::Sequence(9), false));
        assert!(!past(Start::Sequence(9), true));
        assert!(!past(Start::Sequence(3), false));
        assert!(past(Start::Offset("900".into()), false));
        assert!(!past(Start::Offset("800".into()), false));
        assert!(past(Start::Time(t + Duration::from_secs(1)), true));
        assert!(!past(Start::Time(t - Duration::from_secs(1)), false));
    }
}
