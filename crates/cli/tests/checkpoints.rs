//! `eh checkpoints list|export|import|import-v3` as separate processes against Azurite:
//! the table and JSON lines, a group copied through export and import, bad lines refused
//! before anything is written, and Go v3 lease blobs (written by the official JS storage
//! SDK) imported.

mod common;

use eventhubs::{Checkpoint, CheckpointStore, Ownership};
use eventhubs_checkpointstore_blob::BlobCheckpointStore;
use eventhubs_test_support::azurite::Azurite;
use eventhubs_test_support::{interop_js, run_js};

use common::{eh, eh_with_env, json_lines, ok};

/// A hub that is never contacted: the scope comes from the connection string alone.
const HUB: &str = "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=k;\
                   SharedAccessKey=c2VjcmV0;EntityPath=hub1";
const NS: &str = "myns.servicebus.windows.net";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// (partition, sequence number, offset) of a group's checkpoints, sorted.
fn positions(
    rt: &tokio::runtime::Runtime,
    store: &BlobCheckpointStore,
    group: &str,
) -> Vec<(String, Option<i64>, Option<String>)> {
    let mut v: Vec<_> = rt
        .block_on(store.list_checkpoints(NS, "hub1", group))
        .unwrap()
        .into_iter()
        .map(|c| (c.partition_id, c.sequence_number, c.offset))
        .collect();
    v.sort();
    v
}

fn failed(out: &std::process::Output, code: i32, wanted: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(wanted), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn list_export_and_import() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let storage = azurite.connection_string();
    let rt = runtime();
    let store = BlobCheckpointStore::from_connection_string(&storage, "ckpts").unwrap();
    rt.block_on(async {
        store.create_container_if_missing().await.unwrap();
        for (p, seq, offset) in [("0", 41, "4100"), ("10", 7, "70"), ("2", 3, "30")] {
            let mut c = Checkpoint::new(NS, "hub1", "$Default", p);
            c.sequence_number = Some(seq);
            c.offset = Some(offset.into());
            store.update_checkpoint(c).await.unwrap();
        }
        let claimed = store
            .claim_ownership(vec![Ownership::new(
                NS, "hub1", "$Default", "0", "proc-a", None,
            )])
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
    });
    let at = ["-c", HUB, "--storage", &storage, "--container", "ckpts"];
    let args = |cmd: &str, more: &[&str]| -> Vec<String> {
        let mut v = vec!["checkpoints".to_owned(), cmd.to_owned()];
        v.extend(at.iter().chain(more).map(|s| (*s).to_owned()));
        v
    };
    let run = |cmd: &str, more: &[&str], stdin: &[u8]| {
        let a = args(cmd, more);
        eh(&a.iter().map(String::as_str).collect::<Vec<_>>(), stdin)
    };

    let table = ok(&run("list", &[], b""));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "checkpoints of myns.servicebus.windows.net/hub1/$Default in container ckpts"
    );
    assert_eq!(lines.len(), 5, "{table}");
    let cells: Vec<Vec<&str>> = lines[2..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(&cells[0][..4], ["0", "41", "4100", "proc-a"], "{table}");
    assert_eq!(cells[1], ["2", "3", "30", "-", "-"], "{table}");
    assert_eq!(cells[2], ["10", "7", "70", "-", "-"], "{table}");

    // The store may come from the environment instead: the same table.
    let from_env = eh_with_env(
        &["checkpoints", "list", "-c", HUB],
        b"",
        &[
            ("AZURE_STORAGE_CONNECTION_STRING", storage.as_str()),
            ("AZURE_STORAGE_CONTAINER", "ckpts"),
        ],
    );
    assert_eq!(ok(&from_env), table);

    // At trace level (every HTTP request and response logged) the storage key and the
    // request signatures stay out of the logs.
    let traced = run("list", &["--json", "--log-level", "trace"], b"");
    ok(&traced);
    let logs = String::from_utf8_lossy(&traced.stderr);
    assert!(
        logs.contains("HTTP request"),
        "the requests were logged: {logs}"
    );
    let key = storage
        .split(';')
        .find_map(|kv| kv.strip_prefix("AccountKey="))
        .unwrap();
    for secret in [key, "SharedKey devstoreaccount1:"] {
        assert!(!logs.contains(secret), "{secret} in the trace logs: {logs}");
    }

    let listed = json_lines(&ok(&run("list", &["--json"], b"")));
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["owner_id"], "proc-a");
    assert!(humantime::parse_rfc3339(listed[0]["owner_since"].as_str().unwrap()).is_ok());
    assert!(listed[1]["owner_id"].is_null());

    let exported = run("export", &[], b"");
    let dump = ok(&exported);
    let records = json_lines(&dump);
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[0],
        serde_json::json!({"fully_qualified_namespace": NS, "eventhub_name": "hub1",
            "consumer_group": "$Default", "partition_id": "0", "sequence_number": 41,
            "offset": "4100"})
    );
    assert!(String::from_utf8_lossy(&exported.stderr).contains("exported 3 checkpoints"));

    // A dry run prints what it would write and writes nothing.
    let dry = run("import", &["-g", "copy", "--dry-run"], dump.as_bytes());
    assert_eq!(json_lines(&ok(&dry)).len(), 3);
    assert!(positions(&rt, &store, "copy").is_empty());
    // The export copied into another group.
    let imported = run("import", &["-g", "copy"], dump.as_bytes());
    ok(&imported);
    assert!(String::from_utf8_lossy(&imported.stderr).contains(
        "imported 3 checkpoints into myns.servicebus.windows.net/hub1/copy (the lines name \
         myns.servicebus.windows.net/hub1/$Default)"
    ));
    assert_eq!(
        positions(&rt, &store, "copy"),
        positions(&rt, &store, "$Default")
    );

    // One bad line and nothing is written.
    let typo = format!(
        "{}\n{{\"partition_id\":\"5\",\"sequence_numbr\":9}}\n",
        dump.lines().next().unwrap()
    );
    let e = run("import", &["-g", "bad"], typo.as_bytes());
    failed(&e, 2, "stdin line 2: unknown field \"sequence_numbr\"");
    let twice = format!(
        "{}\n{}\n",
        dump.lines().next().unwrap(),
        dump.lines().next().unwrap()
    );
    failed(
        &run("import", &["-g", "bad"], twice.as_bytes()),
        2,
        "partition 0 appears on more than one line",
    );
    assert!(positions(&rt, &store, "bad").is_empty());

    // The scope given by --namespace and -n instead of a connection string.
    let other = eh(
        &[
            "checkpoints",
            "export",
            "--namespace",
            "other.example",
            "-n",
            "hubx",
            "--storage",
            &storage,
            "--container",
            "ckpts",
        ],
        b"",
    );
    assert_eq!(ok(&other), "");
    assert!(String::from_utf8_lossy(&other.stderr)
        .contains("exported 0 checkpoints of other.example/hubx/$Default"));
    // Listing with a scope, a storage connection string and a container.
    let list = |scope: &[&str], storage: &str, container: &str| {
        let mut a = vec!["checkpoints", "list"];
        a.extend(scope);
        a.extend(["--storage", storage, "--container", container]);
        eh(&a, b"")
    };
    let needs_hub = list(&["--namespace", "x"], &storage, "c1");
    failed(&needs_hub, 2, "--namespace needs -n/--hub");
    failed(&list(&["-c", HUB], &storage, "nosuch"), 1, "not found");
    let e = failed(&list(&["-c", HUB], "AccountName=a", "c1"), 2, "--storage");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn import_v3_lease_blobs() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    let storage = azurite.connection_string();
    let Some(js) = interop_js() else { return };
    for (prefix, lease) in [("held/", "1"), ("eph/", "0")] {
        run_js(
            &js,
            "v3_blobs.mjs",
            [storage.as_str(), "v3eph", prefix, lease],
        );
    }
    let rt = runtime();
    let store = BlobCheckpointStore::from_connection_string(&storage, "modern").unwrap();
    rt.block_on(store.create_container_if_missing()).unwrap();
    let v3 = |prefix: &str, more: &[&str]| {
        let mut a = vec![
            "checkpoints",
            "import-v3",
            "-c",
            HUB,
            "--storage",
            &storage,
            "--container",
            "modern",
            "--from-container",
            "v3eph",
            "--prefix",
            prefix,
        ];
        a.extend(more);
        eh(&a, b"")
    };

    // A v3 host still holds partition 0's lease: refused, naming it.
    failed(&v3("held/", &[]), 2, "[\"0\"]");
    // Forced and dry: reported, nothing written.
    let dry = v3("held/", &["--force", "--dry-run"]);
    let report = ok(&dry);
    assert_eq!(
        report.lines().collect::<Vec<_>>(),
        [
            "partition 0: sequence number 41, offset 4100",
            "partition 3: sequence number 9, offset 900"
        ]
    );
    let stderr = String::from_utf8_lossy(&dry.stderr);
    assert!(
        stderr.contains("skipped held/1: offset \"-1\" is a v3 marker"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped held/2: offset \"@latest\""),
        "{stderr}"
    );
    assert!(stderr.contains("would import 2 v3 checkpoints"), "{stderr}");
    assert!(positions(&rt, &store, "$Default").is_empty());

    ok(&v3("eph/", &[]));
    assert_eq!(
        positions(&rt, &store, "$Default"),
        [
            ("0".to_owned(), Some(41), Some("4100".to_owned())),
            ("3".to_owned(), Some(9), Some("900".to_owned()))
        ]
    );
    failed(
        &v3("nothing-here/", &[]),
        1,
        "no blobs under the prefix \"nothing-here/\" in container v3eph",
    );
}

/// `--storage-url` signs in to storage with Entra ID (the `AZURE_*` service principal, from
/// the fake token service) against Azurite over HTTPS with OAuth; `--ca-file` trusts both
/// test CAs. Without any storage option the command says what to pass.
#[test]
fn list_with_entra_id() {
    use std::sync::Arc;

    use eventhubs::identity::{ClientSecretCredential, CredentialOptions};
    use eventhubs::Cloud;
    use eventhubs_test_support::entra::{EntraConfig, FakeEntra};

    let Some(azurite) = Azurite::start_oauth() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let entra = rt.block_on(FakeEntra::start(EntraConfig::default()));
    let c = entra.config().clone();
    // The container and one checkpoint, written through the library with the same identity.
    let credential = ClientSecretCredential::new(
        &c.tenant,
        &c.client_id,
        c.client_secret.clone(),
        CredentialOptions::default()
            .cloud(Cloud::custom(
                "fake",
                entra.authority_host(),
                ".servicebus.windows.net",
                "https://eventhubs.azure.net/.default",
            ))
            .add_root_certificates(entra.ca_pem()),
    )
    .unwrap();
    let store = BlobCheckpointStore::with_token_provider(
        &azurite.account_url(),
        Arc::new(credential),
        "aad",
    )
    .unwrap()
    .add_root_certificates(azurite.ca_pem().as_bytes())
    .unwrap();
    rt.block_on(async {
        store.create_container_if_missing().await.unwrap();
        let mut checkpoint = Checkpoint::new(NS, "hub1", "$Default", "3");
        checkpoint.sequence_number = Some(12);
        checkpoint.offset = Some("1200".into());
        store.update_checkpoint(checkpoint).await.unwrap();
    });

    let dir = std::env::temp_dir().join(format!("eh-aad-storage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("cas.pem");
    std::fs::write(&bundle, format!("{}{}", entra.ca_pem(), azurite.ca_pem())).unwrap();
    let principal = entra.service_principal_env();
    let env: Vec<(&str, &str)> = principal.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = azurite.account_url();
    let bundle_arg = bundle.display().to_string();
    let listed = eh_with_env(
        &[
            "checkpoints",
            "list",
            "--json",
            "--namespace",
            NS,
            "-n",
            "hub1",
            "--storage-url",
            &url,
            "--container",
            "aad",
            "--ca-file",
            &bundle_arg,
        ],
        b"",
        &env,
    );
    let rows = json_lines(&ok(&listed));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["partition_id"], "3");
    assert_eq!(rows[0]["sequence_number"], 12);
    assert!(
        entra
            .served()
            .iter()
            .any(|s| s.status == 200 && s.resource == "https://storage.azure.com"),
        "a storage token was issued: {:?}",
        entra.served()
    );

    let none = eh(
        &[
            "checkpoints",
            "list",
            "--namespace",
            NS,
            "-n",
            "hub1",
            "--container",
            "aad",
        ],
        b"",
    );
    failed(&none, 2, "--storage-url to sign in with Entra ID");
    std::fs::remove_dir_all(dir).unwrap();
}
