//! The blob checkpoint store against Azurite (started per test on a free port): Shared Key
//! on path-style URLs, conditional claims where exactly one of two claimers wins, `$Default`
//! and mixed-case names, paging, errors that name the problem without the key, and a
//! restart of Azurite mid-run.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use eventhubs::{Checkpoint, CheckpointStore, ErrorKind, Ownership};
use eventhubs_checkpointstore_blob::BlobCheckpointStore;
use eventhubs_test_support::azurite::Azurite;

const NS: &str = "ns.servicebus.windows.net";

async fn store(azurite: &Azurite, container: &str) -> BlobCheckpointStore {
    let store =
        BlobCheckpointStore::from_connection_string(&azurite.connection_string(), container)
            .unwrap();
    store.create_container_if_missing().await.unwrap();
    store
}

fn claim(partition: &str, owner: &str, etag: Option<String>) -> Ownership {
    Ownership::new(NS, "MyHub", "$Default", partition, owner, etag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_compare_and_swap() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let a = store(&azurite, "claims").await;
    let b = store(&azurite, "claims").await;
    assert!(a
        .list_ownership(NS, "MyHub", "$Default")
        .await
        .unwrap()
        .is_empty());

    // Two processors claim partition 0, nobody's yet, at the same moment: one wins.
    let (won_a, won_b) = tokio::join!(
        a.claim_ownership(vec![claim("0", "a", None)]),
        b.claim_ownership(vec![claim("0", "b", None)]),
    );
    let (won_a, won_b) = (won_a.unwrap(), won_b.unwrap());
    assert_eq!(won_a.len() + won_b.len(), 1, "exactly one first claim wins");
    let winner = if won_a.is_empty() { "b" } else { "a" };
    let listed = a.list_ownership(NS, "MyHub", "$Default").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].owner_id, winner);
    let etag = listed[0].etag.clone();
    assert!(etag.is_some());

    // Both try to take it over from the listed version: again one wins.
    let (a2, b2) = tokio::join!(
        a.claim_ownership(vec![claim("0", "a", etag.clone())]),
        b.claim_ownership(vec![claim("0", "b", etag.clone())]),
    );
    assert_eq!(
        a2.unwrap().len() + b2.unwrap().len(),
        1,
        "exactly one takeover wins"
    );
    // A claim naming the old version now loses, without an error.
    assert!(a
        .claim_ownership(vec![claim("0", "a", etag)])
        .await
        .unwrap()
        .is_empty());
    // The store's clock is the service's (Azurite runs here, so they agree).
    let skew = a
        .now()
        .duration_since(SystemTime::now())
        .unwrap_or_else(|e| e.duration());
    assert!(skew < Duration::from_secs(5), "{skew:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_lower_cased_and_pages_are_followed() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let s = store(&azurite, "paging").await.page_size(2);
    let claims: Vec<Ownership> = (0..5).map(|p| claim(&p.to_string(), "me", None)).collect();
    assert_eq!(s.claim_ownership(claims).await.unwrap().len(), 5);
    for p in 0..5 {
        let mut c = Checkpoint::new(NS, "MyHub", "$Default", p.to_string());
        c.sequence_number = Some(100 + p);
        c.offset = Some(format!("{}", 1000 * p));
        s.update_checkpoint(c).await.unwrap();
    }
    // Listed 2 per page, all five come back; "myhub"/"$default" find what "MyHub"/"$Default"
    // wrote (one set of blobs, lower-cased).
    for (hub, group) in [("MyHub", "$Default"), ("myhub", "$default")] {
        let owned = s.list_ownership(NS, hub, group).await.unwrap();
        assert_eq!(owned.len(), 5, "{hub}/{group}");
        assert!(owned.iter().all(|o| o.owner_id == "me"));
        let mut cps = s.list_checkpoints(NS, hub, group).await.unwrap();
        cps.sort_by_key(|c| c.sequence_number);
        assert_eq!(cps.len(), 5);
        assert_eq!(cps[3].sequence_number, Some(103));
        assert_eq!(cps[3].offset.as_deref(), Some("3000"));
        assert_eq!(cps[3].partition_id, "3");
    }
    // A checkpoint overwritten (unconditionally) is read back new.
    let mut c = Checkpoint::new(NS, "MyHub", "$Default", "3");
    c.sequence_number = Some(7);
    c.offset = Some("700".into());
    s.update_checkpoint(c).await.unwrap();
    let cps = s.list_checkpoints(NS, "MyHub", "$Default").await.unwrap();
    assert_eq!(
        cps.iter()
            .find(|c| c.partition_id == "3")
            .unwrap()
            .sequence_number,
        Some(7)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_problem_and_never_the_key() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let wrong_key = azurite.connection_string().replace(
        eventhubs_test_support::azurite::ACCOUNT_KEY,
        "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=",
    );
    let s = BlobCheckpointStore::from_connection_string(&wrong_key, "wrongkey").unwrap();
    let e = s.list_ownership(NS, "h", "g").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(e.to_string().contains("403"), "{e}");
    assert!(!e.to_string().contains("d3Jvbmcta2V5"), "{e}");
    assert!(
        !format!("{s:?}").contains("d3Jvbmcta2V5"),
        "Debug hides the key"
    );

    let missing =
        BlobCheckpointStore::from_connection_string(&azurite.connection_string(), "nope").unwrap();
    let e = missing.list_checkpoints(NS, "h", "g").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("ContainerNotFound"), "{e}");

    let e =
        BlobCheckpointStore::from_connection_string("AccountName=a;AcountKey=x", "c").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("acountkey"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_azurite_restart_mid_run_loses_nothing_written() {
    let dir = std::env::temp_dir().join(format!("eh-azurite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let Some(mut azurite) = Azurite::start_in(&dir) else {
        return;
    };
    let s = Arc::new(store(&azurite, "restart").await);
    let won = s
        .claim_ownership(vec![claim("0", "me", None)])
        .await
        .unwrap();
    let mut c = Checkpoint::new(NS, "MyHub", "$Default", "0");
    c.sequence_number = Some(41);
    c.offset = Some("4100".into());
    s.update_checkpoint(c).await.unwrap();

    let azurite = tokio::task::spawn_blocking(move || {
        azurite.restart();
        azurite
    })
    .await
    .unwrap();
    // The same store (its pooled connections broke) keeps working after the restart.
    let cps = s.list_checkpoints(NS, "MyHub", "$Default").await.unwrap();
    assert_eq!(cps[0].sequence_number, Some(41));
    let renewed = s.claim_ownership(won).await.unwrap();
    assert_eq!(
        renewed.len(),
        1,
        "the renewal names the version from before the restart"
    );
    drop(azurite);
    std::fs::remove_dir_all(&dir).unwrap();
}
