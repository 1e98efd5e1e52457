//! The event processor: a hub's partitions balanced across processes that share a
//! [`CheckpointStore`], each partition owned by one processor at a time and resumed from its
//! checkpoint by whoever owns it next.
//!
//! - `load_balancer`: which partitions a cycle claims (a pure function).
//! - `options`: [`ProcessorOptions`].
//! - `partition_client`: [`ProcessorPartitionClient`], one owned partition.
//! - `host`: [`ProcessorHost`], registered handlers on a processor (the Go v3 shape).
//! - this module: [`Processor`], the cycle loop.

mod host;
mod load_balancer;
mod options;
mod partition_client;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};

use crate::checkpoint_store::{Checkpoint, CheckpointStore, Ownership};
use crate::consumer::ConsumerClient;
use crate::error::Error;
use crate::receiver::PartitionReceiverOptions;
pub use host::{HandlerId, HostOptions, ProcessorHost};
pub use load_balancer::LoadBalancingStrategy;
use load_balancer::{plan, Cycle};
pub use options::{ProcessorOptions, StartPositions};
use partition_client::PartitionState;
pub use partition_client::{PartitionEndReason, ProcessorPartitionClient};

/// Spreads the partitions of a hub over every processor of one consumer group that shares
/// the checkpoint store, in this process or others, and hands out a
/// [`ProcessorPartitionClient`] for each partition this one wins.
///
/// Every `update_interval` (jittered) a cycle lists the ownerships, renews this processor's
/// partitions and claims at most one more when balanced (its share when greedy): unowned,
/// expired, released, or stolen from a processor above its share. A partition this
/// processor no longer holds ends its client at once. [`close`](Processor::close) ends every
/// client, waits for them to be dropped (so their last checkpoints are written), then
/// releases the partitions, so that others take them in their next cycle instead of after
/// the expiration.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = eventhubs_emulator::Emulator::start(Default::default()).await?;
/// # let connection_string = emulator.connection_string(Some("eh1"));
/// use std::sync::Arc;
/// use std::time::Duration;
/// use eventhubs::{
///     ClientOptions, ConsumerClient, InMemoryCheckpointStore, Processor, ProcessorOptions,
///     DEFAULT_CONSUMER_GROUP,
/// };
/// let consumer = ConsumerClient::from_connection_string(
///     &connection_string, None, DEFAULT_CONSUMER_GROUP, ClientOptions::default())?;
/// let store = Arc::new(InMemoryCheckpointStore::new());
/// let processor = Processor::new(consumer, store, ProcessorOptions::default())?;
/// let running = tokio::spawn({
///     let processor = processor.clone();
///     async move { processor.run().await }
/// });
/// while let Some(mut partition) = processor.next_partition_client().await {
///     tokio::spawn(async move {
///         while let Ok(event) = partition.recv().await {
///             // ... handle it, then now and then:
///             let _ = partition.update_checkpoint(&event).await;
///         }
///     });
/// #   break;
/// }
/// processor.close().await;
/// running.await??;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Processor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    consumer: ConsumerClient,
    store: Arc<dyn CheckpointStore>,
    options: ProcessorOptions,
    owner_id: String,
    clients: mpsc::UnboundedSender<ProcessorPartitionClient>,
    handed_out: tokio::sync::Mutex<mpsc::UnboundedReceiver<ProcessorPartitionClient>>,
    /// `true` once `close` was called.
    stop: watch::Sender<bool>,
    /// `true` once `run` has released everything.
    stopped: watch::Sender<bool>,
    running: AtomicBool,
    /// Partitions this processor holds: the latest ownership written, and the state shared
    /// with the partition's client while it has one.
    owned: Mutex<HashMap<String, Owned>>,
}

#[derive(Debug)]
struct Owned {
    ownership: Ownership,
    client: Option<Arc<PartitionState>>,
}

impl Processor {
    /// A processor reading `consumer`'s hub and consumer group, keeping ownership and
    /// checkpoints in `store`. Fails on options that would make processors fight (an
    /// expiration under three update intervals).
    pub fn new(
        consumer: ConsumerClient,
        store: Arc<dyn CheckpointStore>,
        options: ProcessorOptions,
    ) -> Result<Self, Error> {
        options.validate()?;
        let owner_id = options
            .owner_id
            .clone()
            .unwrap_or_else(|| format!("{:032x}", fastrand::u128(..)));
        let (clients, handed_out) = mpsc::unbounded_channel();
        Ok(Self {
            inner: Arc::new(Inner {
                consumer,
                store,
                options,
                owner_id,
                clients,
                handed_out: tokio::sync::Mutex::new(handed_out),
                stop: watch::channel(false).0,
                stopped: watch::channel(false).0,
                running: AtomicBool::new(false),
                owned: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// This processor's owner id in the store.
    pub fn owner_id(&self) -> &str {
        &self.inner.owner_id
    }

    /// The partitions this processor holds now.
    #[doc(alias = "PartitionIDsBeingProcessed")]
    pub fn owned_partition_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.inner.owned().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Runs the load-balancing cycles until [`close`](Processor::close), then releases the
    /// partitions. Call it once (spawn it); store and service errors of one cycle are logged
    /// and the next cycle tries again. Dropping this future instead of closing stops the
    /// cycles without releasing anything: the partitions move once their ownership expires.
    pub async fn run(&self) -> Result<(), Error> {
        if self.inner.running.swap(true, Ordering::AcqRel) {
            return Err(Error::invalid("this processor is already running"));
        }
        let mut stop = self.inner.stop.subscribe();
        let mut rng = fastrand::Rng::new();
        let mut partitions: Option<Vec<String>> = None;
        tracing::info!(owner = %self.inner.owner_id, hub = %self.inner.consumer.eventhub_name(), consumer_group = %self.inner.consumer.consumer_group(), "processor started");
        while !*stop.borrow_and_update() {
            if let Err(e) = self.inner.cycle(&mut partitions, &mut rng).await {
                tracing::warn!(error = %e, "load-balancing cycle failed; the next one retries");
            }
            let wait = self
                .inner
                .options
                .update_interval
                .mul_f64(0.8 + 0.5 * rng.f64());
            tokio::select! {
                _ = stop.changed() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        self.inner.shut_down().await;
        self.inner.stopped.send_replace(true);
        Ok(())
    }

    /// The next partition this processor has won, with a receiver already attached at its
    /// checkpoint (or its start position); `None` once the processor is closing.
    /// Cancel-safe.
    #[doc(alias = "NextPartitionClient")]
    pub async fn next_partition_client(&self) -> Option<ProcessorPartitionClient> {
        let mut stop = self.inner.stop.subscribe();
        if *stop.borrow_and_update() {
            return None;
        }
        let mut handed_out = self.inner.handed_out.lock().await;
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => None,
            client = handed_out.recv() => client,
        }
    }

    /// Stops the cycles, ends every partition client ([`PartitionEndReason::Shutdown`]),
    /// waits (up to an update interval) for them to be dropped, and releases the partitions.
    /// Returns once that is done, or at once if [`run`](Processor::run) is not running.
    #[doc(alias = "Close")]
    pub async fn close(&self) {
        self.inner.stop.send_replace(true);
        if self.inner.running.load(Ordering::Acquire) {
            let mut stopped = self.inner.stopped.subscribe();
            let _ = stopped.wait_for(|s| *s).await;
        }
    }
}

impl Inner {
    fn owned(&self) -> std::sync::MutexGuard<'_, HashMap<String, Owned>> {
        self.owned.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn scope(&self) -> (&str, &str, &str) {
        (
            self.consumer.fully_qualified_namespace(),
            self.consumer.eventhub_name(),
            self.consumer.consumer_group(),
        )
    }

    /// One load-balancing cycle.
    async fn cycle(
        &self,
        partitions: &mut Option<Vec<String>>,
        rng: &mut fastrand::Rng,
    ) -> Result<(), Error> {
        if partitions.is_none() {
            *partitions = Some(self.consumer.get_partition_ids().await?);
        }
        let partitions = partitions.as_deref().unwrap_or_default();
        let (ns, hub, group) = self.scope();
        let listed = self.store.list_ownership(ns, hub, group).await?;
        let now = self.store.now();
        let plan = plan(
            &Cycle {
                ownerships: &listed,
                partitions,
                me: &self.owner_id,
                now,
                expiration: self.options.ownership_expiration,
                strategy: self.options.strategy,
                scope: (ns, hub, group),
            },
            rng,
        );
        let claimed_new: HashSet<String> =
            plan.claim.iter().map(|o| o.partition_id.clone()).collect();
        let mut wanted = plan.renew;
        wanted.extend(plan.claim);
        let held = self.store.claim_ownership(wanted).await?;
        for o in &held {
            if claimed_new.contains(&o.partition_id) {
                tracing::info!(partition = %o.partition_id, "claimed");
            }
        }
        let to_open = self.record(held);
        if !to_open.is_empty() {
            self.open(&to_open).await;
        }
        Ok(())
    }

    /// Takes in what the store now says this processor holds: ends the clients of
    /// partitions it no longer holds, marks the rest renewed, and returns the partitions
    /// held without a live client.
    fn record(&self, held: Vec<Ownership>) -> Vec<String> {
        let mut owned = self.owned();
        let held_ids: HashSet<&str> = held.iter().map(|o| o.partition_id.as_str()).collect();
        owned.retain(|id, o| {
            let keep = held_ids.contains(id.as_str());
            if !keep {
                tracing::info!(partition = %id, "lost");
                if let Some(client) = &o.client {
                    client.end(PartitionEndReason::OwnershipLost);
                }
            }
            keep
        });
        let mut to_open = Vec::new();
        for ownership in held {
            let entry = owned
                .entry(ownership.partition_id.clone())
                .or_insert_with(|| Owned {
                    ownership: ownership.clone(),
                    client: None,
                });
            entry.ownership = ownership;
            // A client that ended (its link was stolen) or was dropped is replaced.
            if let Some(client) = &entry.client {
                if client.end_reason().is_some() || client.is_closed() {
                    entry.client = None;
                }
            }
            match &entry.client {
                Some(client) => client.renewed(),
                None => to_open.push(entry.ownership.partition_id.clone()),
            }
        }
        to_open
    }

    /// Opens receivers for `partitions` at their checkpoints and hands the clients out.
    async fn open(&self, partitions: &[String]) {
        let (ns, hub, group) = self.scope();
        let checkpoints: Vec<Checkpoint> = match self.store.list_checkpoints(ns, hub, group).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read checkpoints; partitions open next cycle");
                return;
            }
        };
        for id in partitions {
            let start = checkpoints
                .iter()
                .find(|c| c.partition_id == *id)
                .and_then(Checkpoint::start_position)
                .or_else(|| self.options.start_positions.per_partition.get(id).cloned())
                .unwrap_or_else(|| self.options.start_positions.default.clone());
            let mut options = PartitionReceiverOptions::default()
                .start_position(start)
                .prefetch(self.options.prefetch);
            options.owner_level = self.options.owner_level;
            let receiver = match self.consumer.open_partition_receiver(id, options).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(partition = %id, error = %e, "cannot open the partition; retrying next cycle");
                    continue;
                }
            };
            let state = PartitionState::new(id, self.options.ownership_expiration);
            match self.owned().get_mut(id) {
                Some(entry) => entry.client = Some(state.clone()),
                None => continue, // lost meanwhile
            }
            let client = ProcessorPartitionClient::new(receiver, state, self.store.clone());
            let _ = self.clients.send(client);
        }
    }

    /// Ends every client, waits for them to go, and releases every partition held.
    async fn shut_down(&self) {
        let clients: Vec<Arc<PartitionState>> = self
            .owned()
            .values()
            .filter_map(|o| o.client.clone())
            .collect();
        for client in &clients {
            client.end(PartitionEndReason::Shutdown);
        }
        let grace = self.options.update_interval;
        for client in &clients {
            client.wait_closed(grace).await;
        }
        // Clients never taken from `next_partition_client` are dropped here.
        while let Ok(client) = self.handed_out.lock().await.try_recv() {
            drop(client);
        }
        let release: Vec<Ownership> = self
            .owned()
            .drain()
            .map(|(_, o)| {
                let mut ownership = o.ownership;
                ownership.owner_id = String::new();
                ownership
            })
            .collect();
        let count = release.len();
        match self.store.claim_ownership(release).await {
            Ok(released) => {
                for o in &released {
                    tracing::info!(partition = %o.partition_id, "released");
                }
                tracing::info!(released = released.len(), of = count, "processor stopped");
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not release the partitions; they move when their ownership expires")
            }
        }
    }
}
