//! Receiver ownership per (hub, consumer group, partition): epochs with link stealing, and
//! the quota of 5 non-epoch receivers (docs/PROTOCOL.md §5.5).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use eventhubs_amqp::definitions::{condition, AmqpError};
use tokio::sync::oneshot;

/// Non-epoch receivers allowed per partition per consumer group.
pub(crate) const MAX_NON_EPOCH_RECEIVERS: usize = 5;

type Key = (String, String, String);

#[derive(Debug)]
struct Entry {
    id: u64,
    epoch: Option<i64>,
    name: String,
    stop: Option<oneshot::Sender<AmqpError>>,
}

/// The registry of active receivers.
#[derive(Debug, Default)]
pub(crate) struct Epochs {
    receivers: Mutex<HashMap<Key, Vec<Entry>>>,
    next_id: AtomicU64,
}

/// An active receiver's place in the registry; dropping it unregisters the receiver.
#[derive(Debug)]
pub(crate) struct Registration {
    epochs: Arc<Epochs>,
    key: Key,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut map = self
            .epochs
            .receivers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(list) = map.get_mut(&self.key) {
            list.retain(|e| e.id != self.id);
            if list.is_empty() {
                map.remove(&self.key);
            }
        }
    }
}

fn stolen(description: String) -> AmqpError {
    AmqpError::new(condition::STOLEN, description)
}

impl Epochs {
    /// Registers a receiver. On success returns its registration and a channel that yields
    /// the error to detach with when a later receiver steals the partition.
    pub(crate) fn register(
        self: &Arc<Self>,
        hub: &str,
        consumer_group: &str,
        partition: &str,
        epoch: Option<i64>,
        name: Option<String>,
    ) -> Result<(Registration, oneshot::Receiver<AmqpError>), AmqpError> {
        let key = (
            hub.to_ascii_lowercase(),
            consumer_group.to_ascii_lowercase(),
            partition.to_owned(),
        );
        let name = name.unwrap_or_else(|| "nil".into());
        let mut map = self.receivers.lock().unwrap_or_else(|p| p.into_inner());
        let list = map.entry(key.clone()).or_default();
        let highest = list.iter().filter_map(|e| e.epoch).max();
        match epoch {
            Some(e) => {
                if let Some(h) = highest.filter(|h| *h > e) {
                    return Err(stolen(format!(
                        "Receiver '{name}' with epoch '{e}' cannot be created because a receiver with a higher epoch '{h}' already exists for the endpoint."
                    )));
                }
                // An equal or higher epoch takes over: everyone else is disconnected.
                for old in list.drain(..) {
                    let old_epoch = old
                        .epoch
                        .map_or_else(|| "nil".to_owned(), |x| x.to_string());
                    let msg = format!(
                        "New receiver '{name}' with higher epoch of '{e}' is created hence current receiver '{}' with epoch '{old_epoch}' is getting disconnected. If you are recreating the receiver, make sure a higher epoch is used.",
                        old.name
                    );
                    if let Some(stop) = old.stop {
                        let _ = stop.send(stolen(msg));
                    }
                }
            }
            None => {
                if let Some(h) = highest {
                    return Err(stolen(format!(
                        "At least one receiver for the endpoint is created with epoch of '{h}', and so non-epoch receiver is not allowed. Either reconnect with a higher epoch, or make sure all epoch receivers are closed or disconnected."
                    )));
                }
                if list.len() >= MAX_NON_EPOCH_RECEIVERS {
                    let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
                    return Err(AmqpError::new(
                        condition::RESOURCE_LIMIT_EXCEEDED,
                        format!(
                            "Exceeded the maximum number of allowed receivers per partition in a consumer group which is {MAX_NON_EPOCH_RECEIVERS}. List of connected receivers - {}.",
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        list.push(Entry {
            id,
            epoch,
            name,
            stop: Some(tx),
        });
        Ok((
            Registration {
                epochs: self.clone(),
                key,
                id,
            },
            rx,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Higher or equal epochs steal, lower ones and non-epoch receivers are refused, and
    /// the sixth non-epoch receiver exceeds the quota.
    #[test]
    fn rules() {
        let e = Arc::new(Epochs::default());
        let (_a, mut a_stop) = e
            .register("eh1", "$Default", "0", None, Some("a".into()))
            .unwrap();
        let (_b, mut b_stop) = e
            .register("eh1", "$default", "0", Some(1), Some("b".into()))
            .unwrap();
        assert_eq!(
            a_stop.try_recv().unwrap().condition.as_str(),
            condition::STOLEN
        );
        assert_eq!(
            e.register("eh1", "$Default", "0", Some(0), None)
                .unwrap_err()
                .condition
                .as_str(),
            condition::STOLEN
        );
        assert_eq!(
            e.register("eh1", "$Default", "0", None, None)
                .unwrap_err()
                .condition
                .as_str(),
            condition::STOLEN
        );
        let (_c, _) = e
            .register("eh1", "$Default", "0", Some(1), Some("c".into()))
            .unwrap();
        assert!(b_stop
            .try_recv()
            .unwrap()
            .description
            .unwrap()
            .contains("'c' with higher epoch of '1'"));
        let mut held = Vec::new();
        for i in 0..5 {
            held.push(
                e.register("eh1", "$Default", "1", None, Some(format!("r{i}")))
                    .unwrap(),
            );
        }
        let err = e.register("eh1", "$Default", "1", None, None).unwrap_err();
        assert_eq!(err.condition.as_str(), condition::RESOURCE_LIMIT_EXCEEDED);
        held.pop();
        assert!(
            e.register("eh1", "$Default", "1", None, None).is_ok(),
            "dropping a registration frees its place"
        );
    }
}
