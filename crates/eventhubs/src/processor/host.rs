//! [`ProcessorHost`]: the Go library's Event Processor Host shape on a [`Processor`] —
//! handlers registered and unregistered at any time, each event to each handler,
//! checkpoints coalesced and never past an event a handler failed, `start` and `run`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::{Processor, ProcessorPartitionClient};
use crate::error::Error;
use crate::event::ReceivedEventData;
use crate::handler_loop::{self, Stopped, WriteCheckpoint};
use crate::hub_receive::{call_with_policy, HandlerErrorPolicy};

/// Identifies a registered handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HandlerId(u64);

type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;
type Handler = Arc<dyn Fn(ReceivedEventData) -> HandlerFuture + Send + Sync>;

/// How a [`ProcessorHost`] checkpoints and treats handler errors.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "setters return the changed value: use it"]
pub struct HostOptions {
    /// A checkpoint after this many handled events of a partition (default 1,000) ...
    pub checkpoint_every_events: u32,
    /// ... or this long after the last one (default 5 s), whichever comes first; and always
    /// when the partition stops. Checkpoints are written by a task of their own, so
    /// handling never waits for the store; one that comes due while the previous write is
    /// under way replaces any other waiting, and only the latest is written.
    pub checkpoint_every: Duration,
    /// What a handler error does (default: stop the partition, resumed from its last
    /// checkpoint when this processor opens it again next cycle).
    pub on_handler_error: HandlerErrorPolicy,
}

impl Default for HostOptions {
    fn default() -> Self {
        Self {
            checkpoint_every_events: 1000,
            checkpoint_every: Duration::from_secs(5),
            on_handler_error: HandlerErrorPolicy::Stop,
        }
    }
}

impl HostOptions {
    /// Sets the checkpoint coalescing: after `events` handled events or `interval`.
    pub fn checkpoint_every(mut self, events: u32, interval: Duration) -> Self {
        self.checkpoint_every_events = events.max(1);
        self.checkpoint_every = interval;
        self
    }

    /// Sets the handler error policy.
    pub fn on_handler_error(mut self, policy: HandlerErrorPolicy) -> Self {
        self.on_handler_error = policy;
        self
    }
}

/// Runs registered handlers on every partition a [`Processor`] wins: the Go library's Event
/// Processor Host (`RegisterHandler`, `UnregisterHandler`, `Start`, `StartNonBlocking`,
/// `Close`, `PartitionIDsBeingProcessed`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = eventhubs_emulator::Emulator::start(Default::default()).await?;
/// # let connection_string = emulator.connection_string(Some("eh1"));
/// use std::sync::Arc;
/// use eventhubs::{
///     ClientOptions, ConsumerClient, HostOptions, InMemoryCheckpointStore, Processor,
///     ProcessorHost, ProcessorOptions, DEFAULT_CONSUMER_GROUP,
/// };
/// let consumer = ConsumerClient::from_connection_string(
///     &connection_string, None, DEFAULT_CONSUMER_GROUP, ClientOptions::default())?;
/// let processor = Processor::new(
///     consumer, Arc::new(InMemoryCheckpointStore::new()), ProcessorOptions::default())?;
/// let host = ProcessorHost::new(processor, HostOptions::default());
/// host.register_handler(|event| async move {
///     println!("{}: {:?}", event.partition_id(), event.data_as_str());
///     Ok(())
/// });
/// host.start()?; // `host.run().await` instead runs until Ctrl-C or SIGTERM
/// host.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ProcessorHost {
    inner: Arc<HostInner>,
}

struct HostInner {
    processor: Processor,
    options: HostOptions,
    handlers: RwLock<BTreeMap<HandlerId, Handler>>,
    /// The handlers in registration order, rebuilt when they change, so that each event
    /// takes one reference count rather than a copy of the list.
    current: RwLock<Arc<[Handler]>>,
    next_id: Mutex<u64>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for HostInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessorHost")
            .field("processor", &self.processor)
            .field("options", &self.options)
            .field("handlers", &self.handler_ids())
            .finish_non_exhaustive()
    }
}

impl HostInner {
    fn handler_ids(&self) -> Vec<HandlerId> {
        self.handlers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .copied()
            .collect()
    }

    fn snapshot(&self) -> Arc<[Handler]> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Rebuilds `current` from `handlers` (called with the change made).
    fn publish(&self, handlers: &BTreeMap<HandlerId, Handler>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) =
            handlers.values().cloned().collect();
    }
}

impl ProcessorHost {
    /// A host running handlers on `processor`'s partitions.
    pub fn new(processor: Processor, options: HostOptions) -> Self {
        Self {
            inner: Arc::new(HostInner {
                processor,
                options,
                handlers: RwLock::new(BTreeMap::new()),
                current: RwLock::new(Arc::from(Vec::new())),
                next_id: Mutex::new(0),
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Adds a handler: from now on every event of every partition is given to it (and to
    /// every other handler), one event at a time per partition.
    #[doc(alias = "RegisterHandler")]
    pub fn register_handler<H, Fut>(&self, handler: H) -> HandlerId
    where
        H: Fn(ReceivedEventData) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        let id = {
            let mut next = self.inner.next_id.lock().unwrap_or_else(|p| p.into_inner());
            *next += 1;
            HandlerId(*next)
        };
        let handler: Handler = Arc::new(move |event| Box::pin(handler(event)));
        let mut handlers = self
            .inner
            .handlers
            .write()
            .unwrap_or_else(|p| p.into_inner());
        handlers.insert(id, handler);
        self.inner.publish(&handlers);
        id
    }

    /// Removes a handler; `false` if it was not registered. As in the Go library, removing
    /// the last one closes the host.
    #[doc(alias = "UnregisterHandler")]
    pub async fn unregister_handler(&self, id: HandlerId) -> bool {
        let (removed, none_left) = {
            let mut handlers = self
                .inner
                .handlers
                .write()
                .unwrap_or_else(|p| p.into_inner());
            (handlers.remove(&id).is_some(), handlers.is_empty())
        };
        if removed && none_left {
            self.close().await;
        }
        removed
    }

    /// The registered handlers.
    #[doc(alias = "RegisteredHandlerIDs")]
    pub fn registered_handler_ids(&self) -> Vec<HandlerId> {
        self.inner.handler_ids()
    }

    /// The partitions this host is processing now.
    #[doc(alias = "PartitionIDsBeingProcessed")]
    pub fn partition_ids_being_processed(&self) -> Vec<String> {
        self.inner.processor.owned_partition_ids()
    }

    /// Starts the load-balancing cycles and the handlers in the background and returns
    /// (the Go library's `StartNonBlocking`). Fails if it already started.
    #[doc(alias = "StartNonBlocking")]
    pub fn start(&self) -> Result<(), Error> {
        let mut tasks = self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if !tasks.is_empty() {
            return Err(Error::invalid("this processor host has already started"));
        }
        let processor = self.inner.processor.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = processor.run().await {
                tracing::error!(error = %e, "processor cycles ended");
            }
        }));
        let inner = self.inner.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(partition) = inner.processor.next_partition_client().await {
                tokio::spawn(process(inner.clone(), partition));
            }
        }));
        Ok(())
    }

    /// Starts, then runs until Ctrl-C (or `SIGTERM` on Unix), then closes (the Go library's
    /// `Start`).
    #[doc(alias = "Start")]
    pub async fn run(&self) -> Result<(), Error> {
        self.start()?;
        wait_for_signal().await;
        tracing::info!("signal received: closing the processor host");
        self.close().await;
        Ok(())
    }

    /// Stops the handlers after the event each is on, writes each partition's last
    /// checkpoint, releases the partitions, and returns.
    #[doc(alias = "Close")]
    pub async fn close(&self) {
        self.inner.processor.close().await;
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// Ctrl-C, or SIGTERM where there is one.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Handles one partition until it ends: every event to every handler, checkpoints
/// coalesced, none past an event a handler failed. The partition client is dropped (and so
/// may be released) only after the last checkpoint is written.
async fn process(inner: Arc<HostInner>, mut partition: ProcessorPartitionClient) {
    let options = &inner.options;
    let checkpointer = partition.checkpointer();
    let write: WriteCheckpoint = Arc::new(move |position| {
        let checkpointer = checkpointer.clone();
        Box::pin(async move { checkpointer.write_position(position).await })
    });
    let settings = handler_loop::Settings {
        every: options.checkpoint_every_events,
        interval: options.checkpoint_every,
        // The policy applies to each handler on its own (see `call_each`).
        on_handler_error: HandlerErrorPolicy::Stop,
    };
    let policy = options.on_handler_error;
    let handlers = inner.clone();
    let stopped = handler_loop::run(
        &mut partition,
        move |event| call_each(handlers.snapshot(), policy, event),
        settings,
        write,
        std::future::pending(),
    )
    .await;
    if let Stopped::Handler(e) = stopped {
        tracing::warn!(partition = %partition.partition_id(), error = %e, "handler failed: the partition stops before this event");
    }
}

/// Gives `event` to each handler in turn (a failed one retried per `policy`); a copy for
/// every handler but the last, which takes the event itself.
async fn call_each(
    handlers: Arc<[Handler]>,
    policy: HandlerErrorPolicy,
    event: ReceivedEventData,
) -> Result<(), Error> {
    let Some((last, others)) = handlers.split_last() else {
        return Ok(());
    };
    for handler in others {
        call_with_policy(policy, &mut |e| handler(e), event.clone()).await?;
    }
    call_with_policy(policy, &mut |e| last(e), event).await
}
