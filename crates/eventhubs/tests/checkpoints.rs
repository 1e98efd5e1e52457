//! Checkpoints: a handler-driven receiver records the last handled event in a file
//! persister; a new client with the same persister resumes right after it.

mod common;

use std::sync::{Arc, Mutex};

use common::{start_with, within};
use eventhubs::persist::CheckpointKey;
use eventhubs::{
    CheckpointPersister, Error, ErrorKind, FilePersister, Hub, HubOptions, ReceiveOptions,
};
use eventhubs_emulator::Config;

#[tokio::test]
async fn handler_checkpoints_and_resume() {
    let dir = std::env::temp_dir().join(format!("eh-client-cp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let persister = Arc::new(FilePersister::new(&dir).unwrap());
    let options = HubOptions::default().checkpoint_persister(persister.clone());
    let (em, hub) = start_with(Config::default(), options.clone()).await;
    for i in 0..5 {
        hub.send_to_partition("1", format!("first-{i}"))
            .await
            .unwrap();
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let handle = hub
        .receive(
            "1",
            move |e| {
                let record = record.clone();
                async move {
                    let body = e.data_as_str().unwrap_or_default().to_owned();
                    // The handler refuses one event: it gets no checkpoint of its own.
                    let refuse = body == "first-4";
                    record.lock().unwrap().push(body);
                    if refuse {
                        Err(Error::new(ErrorKind::Service, "handler says no"))
                    } else {
                        Ok(())
                    }
                }
            },
            ReceiveOptions::default(),
        )
        .await
        .unwrap();
    // The refusal stops the listener (the default policy), with the last good checkpoint
    // written.
    within("the listener stops at the refusal", handle.done()).await;
    assert_eq!(seen.lock().unwrap().len(), 5);
    assert!(handle
        .err()
        .is_some_and(|e| e.to_string().contains("handler says no")));
    let key = CheckpointKey {
        namespace: hub.namespace().to_owned(),
        hub: "eh1".into(),
        consumer_group: "$Default".into(),
        partition_id: "1".into(),
    };
    let cp = persister
        .read(&key)
        .await
        .unwrap()
        .expect("checkpoint written");
    assert_eq!(cp.sequence_number, 3, "the last accepted event");

    // A new client with the same persister starts after the checkpoint.
    let again = Hub::from_connection_string(&em.connection_string(Some("eh1")), options).unwrap();
    hub.send_to_partition("1", "second").await.unwrap();
    let mut rx = again
        .receiver("1", ReceiveOptions::default())
        .await
        .unwrap();
    let first = within("resume", rx.recv()).await.unwrap();
    assert_eq!(first.data_as_str(), Some("first-4"));
    let next = within("resume", rx.recv()).await.unwrap();
    assert_eq!(next.data_as_str(), Some("second"));
    std::fs::remove_dir_all(&dir).unwrap();
}
