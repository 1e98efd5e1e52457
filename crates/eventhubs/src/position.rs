//! [`StartPosition`]: where a partition receiver starts reading.

use std::time::{SystemTime, UNIX_EPOCH};

use eventhubs_protocol::selector::StartPosition as Selector;

/// Where a partition receiver starts: the earliest retained event, the next one enqueued
/// (latest, the default), an offset, a sequence number or an enqueued time; after it, or
/// at it when [`inclusive`](StartPosition::inclusive).
///
/// ```
/// use eventhubs::StartPosition;
/// let from_42 = StartPosition::sequence_number(42).inclusive(true);
/// let after_offset = StartPosition::offset("12345");
/// let everything = StartPosition::earliest();
/// # let _ = (from_42, after_offset, everything);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartPosition {
    location: Location,
    inclusive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    Earliest,
    Latest,
    Offset(String),
    SequenceNumber(i64),
    EnqueuedTime(SystemTime),
}

impl Default for StartPosition {
    /// [`StartPosition::latest`], as the official SDKs default.
    fn default() -> Self {
        Self::latest()
    }
}

impl StartPosition {
    fn at(location: Location) -> Self {
        Self {
            location,
            inclusive: false,
        }
    }

    /// The first retained event.
    pub fn earliest() -> Self {
        Self::at(Location::Earliest)
    }

    /// Only events enqueued after the receiver opens.
    #[doc(alias = "ReceiveWithLatestOffset")]
    pub fn latest() -> Self {
        Self::at(Location::Latest)
    }

    /// After the event at this offset (as [`ReceivedEventData::offset`] gives it; offsets
    /// are opaque text).
    ///
    /// [`ReceivedEventData::offset`]: crate::ReceivedEventData::offset
    #[doc(alias = "ReceiveWithStartingOffset")]
    pub fn offset(offset: impl Into<String>) -> Self {
        Self::at(Location::Offset(offset.into()))
    }

    /// After the event with this sequence number.
    pub fn sequence_number(sequence_number: i64) -> Self {
        Self::at(Location::SequenceNumber(sequence_number))
    }

    /// The first event enqueued after `time`.
    #[doc(alias = "ReceiveFromTimestamp")]
    pub fn enqueued_time(time: SystemTime) -> Self {
        Self::at(Location::EnqueuedTime(time))
    }

    /// Include the event at the position (for offsets, sequence numbers and times).
    pub fn inclusive(mut self, inclusive: bool) -> Self {
        self.inclusive = inclusive;
        self
    }

    /// The selector the receiver's link carries.
    pub(crate) fn selector(&self) -> Selector {
        let inclusive = self.inclusive;
        match &self.location {
            Location::Earliest => Selector::Earliest,
            Location::Latest => Selector::Latest,
            Location::Offset(offset) => Selector::Offset {
                offset: offset.clone(),
                inclusive,
            },
            Location::SequenceNumber(sequence_number) => Selector::SequenceNumber {
                sequence_number: *sequence_number,
                inclusive,
            },
            Location::EnqueuedTime(time) => Selector::EnqueuedTime {
                millis: time
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64),
                inclusive,
            },
        }
    }

    /// An empty offset can never match anything: refused before attaching.
    pub(crate) fn validate(&self) -> Result<(), crate::Error> {
        match &self.location {
            Location::Offset(o) if o.trim().is_empty() => {
                Err(crate::Error::invalid("the start offset is empty"))
            }
            _ => Ok(()),
        }
    }
}
