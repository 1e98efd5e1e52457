//! The loop behind [`Hub::receive`](crate::Hub::receive) and
//! [`ProcessorHost`](crate::ProcessorHost): each event of one partition to a handler, in
//! order; checkpoints coalesced (after N handled events or T, whichever comes first) and
//! written by a task of their own, so receiving never waits for the store; never a
//! checkpoint past an event a handler failed; the last one written before the loop returns.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::error::{Error, ErrorKind};
use crate::event::ReceivedEventData;
use crate::hub_receive::{call_with_policy, HandlerErrorPolicy};

/// Where the loop's events come from.
pub(crate) trait EventSource: Send {
    /// The next event; an error ends the loop.
    fn next_event(&mut self) -> impl Future<Output = Result<ReceivedEventData, Error>> + Send + '_;
}

/// What a checkpoint records: the position of the last handled event.
#[derive(Debug, Clone)]
pub(crate) struct Position {
    pub offset: String,
    pub sequence_number: i64,
    pub enqueued_time: SystemTime,
}

/// Writes one checkpoint (to a persister or a checkpoint store).
pub(crate) type WriteCheckpoint =
    Arc<dyn Fn(Position) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send>> + Send + Sync>;

/// How often checkpoints are written, and what a handler error does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// A checkpoint after this many handled events ...
    pub every: u32,
    /// ... or this long after the last write.
    pub interval: Duration,
    pub on_handler_error: HandlerErrorPolicy,
}

/// Why the loop returned.
#[derive(Debug)]
pub(crate) enum Stopped {
    /// `stop` resolved.
    Asked,
    /// The source failed (or ended).
    Source(Error),
    /// The handler failed for an event: no checkpoint includes it.
    Handler(Error),
}

/// Runs until `stop` resolves, the source fails or the handler fails; writes the last
/// handled event's checkpoint and waits for it before returning. `handle` is awaited for
/// each event (again after a failure, as the policy says) before the next is taken.
pub(crate) async fn run<S, H, Fut>(
    source: &mut S,
    mut handle: H,
    settings: Settings,
    write: WriteCheckpoint,
    stop: impl Future<Output = ()>,
) -> Stopped
where
    S: EventSource,
    H: FnMut(ReceivedEventData) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let writer = Writer::start(write);
    // The last handled event not yet written (its offset reusing one allocation), and how
    // many handled events are behind it.
    let mut unwritten = Position {
        offset: String::new(),
        sequence_number: 0,
        enqueued_time: SystemTime::UNIX_EPOCH,
    };
    let mut behind = 0u32;
    // One timer for the interval, reset after each write (not one per event).
    let write_due = tokio::time::sleep(settings.interval);
    tokio::pin!(write_due);
    tokio::pin!(stop);
    let stopped = loop {
        let event = tokio::select! {
            () = &mut stop => break Stopped::Asked,
            () = &mut write_due, if behind > 0 => {
                writer.hand(&unwritten, &mut behind);
                write_due.as_mut().reset(tokio::time::Instant::now() + settings.interval);
                continue;
            }
            e = source.next_event() => e,
        };
        let event = match event {
            Ok(e) => e,
            Err(e) => break Stopped::Source(e),
        };
        let (sequence_number, enqueued_time) = (event.sequence_number(), event.enqueued_time());
        let mut offset = std::mem::take(&mut unwritten.offset);
        offset.clear();
        offset.push_str(event.offset());
        if let Err(e) = call_with_policy(settings.on_handler_error, &mut handle, event).await {
            break Stopped::Handler(e);
        }
        unwritten = Position {
            offset,
            sequence_number,
            enqueued_time,
        };
        behind += 1;
        if behind >= settings.every {
            writer.hand(&unwritten, &mut behind);
            write_due
                .as_mut()
                .reset(tokio::time::Instant::now() + settings.interval);
        }
    };
    writer.hand(&unwritten, &mut behind);
    writer.finish().await;
    stopped
}

/// The task that writes checkpoints: always the latest handed over (an older one not yet
/// written is superseded), one write at a time.
struct Writer {
    latest: watch::Sender<Option<Position>>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    fn start(write: WriteCheckpoint) -> Self {
        let (latest, mut rx) = watch::channel::<Option<Position>>(None);
        let task = tokio::spawn(async move {
            let mut written: Option<i64> = None;
            loop {
                let open = rx.changed().await.is_ok();
                let next = rx.borrow_and_update().clone();
                if let Some(p) = next.filter(|p| written != Some(p.sequence_number)) {
                    let sequence_number = p.sequence_number;
                    match write(p).await {
                        Ok(()) => written = Some(sequence_number),
                        // A partition this processor lost: expected, and said elsewhere.
                        Err(e) if e.kind() == ErrorKind::OwnershipLost => {
                            tracing::debug!(error = %e, "checkpoint not written")
                        }
                        Err(e) => tracing::warn!(error = %e, "checkpoint not written"),
                    }
                }
                if !open {
                    return;
                }
            }
        });
        Self { latest, task }
    }

    /// Hands `position` over, if handled events are behind it.
    fn hand(&self, position: &Position, behind: &mut u32) {
        if *behind == 0 {
            return;
        }
        *behind = 0;
        self.latest.send_replace(Some(position.clone()));
    }

    /// Waits until the last position handed over is written (or refused).
    async fn finish(self) {
        drop(self.latest);
        let _ = self.task.await;
    }
}
