//! What `eh emulator` prints works as printed: one connection string per hub, each with its
//! `EntityPath`, so a client built from that line alone (no hub name) sends and receives.

use std::time::Duration;

mod common;

use eventhubs::{
    ClientOptions, ConsumerClient, PartitionReceiverOptions, ProducerClient, SendEventOptions,
    StartPosition, DEFAULT_CONSUMER_GROUP,
};

/// Sends to partition 0 of the hub `cs` names and receives it back, `cs` used verbatim.
async fn round_trip(cs: &str, body: &str) {
    let step = Duration::from_secs(15);
    let producer = ProducerClient::from_connection_string(cs, None, ClientOptions::default())
        .unwrap_or_else(|e| panic!("{cs}: {e}"));
    tokio::time::timeout(
        step,
        producer.send_event(body, SendEventOptions::default().partition_id("0")),
    )
    .await
    .unwrap()
    .unwrap();
    let consumer = ConsumerClient::from_connection_string(
        cs,
        None,
        DEFAULT_CONSUMER_GROUP,
        ClientOptions::default(),
    )
    .unwrap();
    let mut receiver = tokio::time::timeout(
        step,
        consumer.open_partition_receiver(
            "0",
            PartitionReceiverOptions::default().start_position(StartPosition::earliest()),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let event = tokio::time::timeout(step, receiver.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.data_as_str(), Some(body));
    producer.close().await;
    consumer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hub_one_line_that_works_as_printed() {
    let emulator = common::start_eh::<[&str; 0], &str>([], 0);
    let printed = &emulator.connection_string;
    assert!(printed.ends_with(";EntityPath=eh1"), "{printed}");
    round_trip(printed, "as printed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_hubs_one_line_each() {
    let dir = std::env::temp_dir().join(format!("eh-printed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("Config.json");
    std::fs::write(
        &config,
        r#"{"UserConfig":{"NamespaceConfig":[{"Entities":[
            {"Name":"orders","PartitionCount":2},
            {"Name":"payments","PartitionCount":1}]}]}}"#,
    )
    .unwrap();
    let emulator = common::start_eh(["--config".as_ref(), config.as_os_str()], 1);
    let lines = [&emulator.connection_string, &emulator.more[0]];
    assert!(lines[0].ends_with(";EntityPath=orders"), "{lines:?}");
    assert!(lines[1].ends_with(";EntityPath=payments"), "{lines:?}");
    round_trip(lines[0], "to orders").await;
    round_trip(lines[1], "to payments").await;
    drop(emulator);
    std::fs::remove_dir_all(&dir).unwrap();
}
