//! The Event Processor Host shape on the in-process emulator: every event goes to every
//! registered handler; checkpoints are coalesced (every N events, and at the end); a failing
//! handler never lets a checkpoint pass its event, and the partition resumes at that event;
//! removing the last handler closes the host.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{consumer, producer, start, within};
use eventhubs::{
    Checkpoint, CheckpointStore, HandlerErrorPolicy, HostOptions, InMemoryCheckpointStore,
    Ownership, Processor, ProcessorHost, ProcessorOptions, SendEventOptions, StartPosition,
    StoreFuture,
};
use eventhubs_emulator::Emulator;

/// The in-memory store, counting checkpoint writes.
#[derive(Debug, Default)]
struct Counting {
    inner: InMemoryCheckpointStore,
    writes: AtomicUsize,
}

impl CheckpointStore for Counting {
    fn list_ownership<'a>(
        &'a self,
        ns: &'a str,
        hub: &'a str,
        group: &'a str,
    ) -> StoreFuture<'a, Vec<Ownership>> {
        self.inner.list_ownership(ns, hub, group)
    }
    fn claim_ownership<'a>(&'a self, o: Vec<Ownership>) -> StoreFuture<'a, Vec<Ownership>> {
        self.inner.claim_ownership(o)
    }
    fn list_checkpoints<'a>(
        &'a self,
        ns: &'a str,
        hub: &'a str,
        group: &'a str,
    ) -> StoreFuture<'a, Vec<Checkpoint>> {
        self.inner.list_checkpoints(ns, hub, group)
    }
    fn update_checkpoint<'a>(&'a self, c: Checkpoint) -> StoreFuture<'a, ()> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.update_checkpoint(c)
    }
}

/// An emulator with `n` events on `partition`, and a counting store.
async fn setup(n: usize, partition: &str) -> (Emulator, Arc<Counting>) {
    let (em, _hub) = start().await;
    producer(&em)
        .send_events(
            (0..n).map(|i| i.to_string()),
            SendEventOptions::default().partition_id(partition),
        )
        .await
        .unwrap();
    (em, Arc::new(Counting::default()))
}

fn host(em: &Emulator, store: &Arc<Counting>, options: HostOptions) -> ProcessorHost {
    let processor = Processor::new(
        consumer(em),
        store.clone(),
        ProcessorOptions::default()
            .update_interval(Duration::from_millis(200))
            .ownership_expiration(Duration::from_secs(1))
            .default_start_position(StartPosition::earliest()),
    )
    .unwrap();
    ProcessorHost::new(processor, options)
}

async fn until(what: &str, check: impl Fn() -> bool) {
    within(what, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

async fn checkpoint_of(store: &Counting, em: &Emulator, partition: &str) -> Option<i64> {
    let c = consumer(em);
    store
        .list_checkpoints(
            c.fully_qualified_namespace(),
            c.eventhub_name(),
            c.consumer_group(),
        )
        .await
        .unwrap()
        .into_iter()
        .find(|cp| cp.partition_id == partition)
        .and_then(|cp| cp.sequence_number)
}

/// What a flaky handler saw: its calls on the failing event, and the events it handled.
#[derive(Clone, Default)]
struct Flaky {
    calls: Arc<AtomicUsize>,
    handled: Arc<Mutex<Vec<i64>>>,
}

impl Flaky {
    /// Registers a handler of `partition` that fails on event `seq` the first `failures`
    /// times it is given it.
    fn register(
        &self,
        host: &ProcessorHost,
        partition: &'static str,
        seq: i64,
        failures: usize,
    ) -> eventhubs::HandlerId {
        let me = self.clone();
        host.register_handler(move |event| {
            let me = me.clone();
            async move {
                if event.partition_id() != partition {
                    return Ok(());
                }
                if event.sequence_number() == seq
                    && me.calls.fetch_add(1, Ordering::Relaxed) < failures
                {
                    return Err(eventhubs::Error::new(
                        eventhubs::ErrorKind::Service,
                        "not now",
                    ));
                }
                me.handled.lock().unwrap().push(event.sequence_number());
                Ok(())
            }
        })
    }

    fn handled(&self) -> Vec<i64> {
        self.handled.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_handler_sees_every_event_and_checkpoints_are_coalesced() {
    let (em, store) = setup(100, "0").await;
    let host = host(
        &em,
        &store,
        HostOptions::default().checkpoint_every(10, Duration::from_secs(3600)),
    );
    let (a, b) = (
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Mutex::new(Vec::new())),
    );
    for seen in [a.clone(), b.clone()] {
        host.register_handler(move |event| {
            let seen = seen.clone();
            async move {
                if event.partition_id() == "0" {
                    seen.lock().unwrap().push(event.sequence_number());
                }
                Ok(())
            }
        });
    }
    assert_eq!(host.registered_handler_ids().len(), 2);
    host.start().unwrap();
    assert!(host.start().is_err(), "started once");
    until("both handlers saw 100", || {
        a.lock().unwrap().len() == 100 && b.lock().unwrap().len() == 100
    })
    .await;
    assert_eq!(
        *a.lock().unwrap(),
        (0..100).collect::<Vec<i64>>(),
        "in order"
    );
    // The interval is an hour: only the event count can have written these, before close.
    let mut checkpoint = None;
    for _ in 0..1000 {
        checkpoint = checkpoint_of(&store, &em, "0").await;
        if checkpoint == Some(99) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        checkpoint,
        Some(99),
        "the 100th event's checkpoint, by count"
    );
    let writes = store.writes.load(Ordering::Relaxed);
    // One per 10 events at most: fewer when a write was still under way as the next came
    // due (only the latest is written then).
    assert!((1..=10).contains(&writes), "{writes} writes for 100 events");
    within("close", host.close()).await;
    assert!(host.partition_ids_being_processed().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_stops_before_its_event_and_it_is_retried_later() {
    let (em, store) = setup(20, "1").await;
    let host = host(
        &em,
        &store,
        HostOptions::default().checkpoint_every(1, Duration::from_secs(3600)),
    );
    // Fails on event 7 the first two times it sees it.
    let flaky = Flaky::default();
    flaky.register(&host, "1", 7, 2);
    host.start().unwrap();
    until("all 20 handled", || flaky.handled().contains(&19)).await;
    assert_eq!(
        flaky.handled(),
        (0..20).collect::<Vec<i64>>(),
        "7 handled once it succeeded, nothing skipped"
    );
    assert!(flaky.calls.load(Ordering::Relaxed) >= 2);
    host.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_policy_calls_the_handler_again_and_removing_the_last_handler_closes() {
    let (em, store) = setup(5, "2").await;
    let policy = HandlerErrorPolicy::Retry {
        attempts: 3,
        delay: Duration::from_millis(10),
    };
    let host = host(&em, &store, HostOptions::default().on_handler_error(policy));
    // Event 3 fails twice, then succeeds on the third call.
    let flaky = Flaky::default();
    let id = flaky.register(&host, "2", 3, 2);
    host.start().unwrap();
    until("all five handled", || flaky.handled().len() == 5).await;
    assert_eq!(
        flaky.handled(),
        [0, 1, 2, 3, 4],
        "3 retried in place, in order"
    );
    assert_eq!(
        flaky.calls.load(Ordering::Relaxed),
        3,
        "two failures, then success"
    );
    // The last checkpoint (written when the host closes) is the last event: 3 was not given up.
    assert!(
        within("unregister", host.unregister_handler(id)).await,
        "it was registered"
    );
    assert_eq!(checkpoint_of(&store, &em, "2").await, Some(4));
    assert!(
        host.partition_ids_being_processed().is_empty(),
        "closed by the last unregister"
    );
}
