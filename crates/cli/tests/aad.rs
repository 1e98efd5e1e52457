//! `eh --aad`: send and receive signed in with Microsoft Entra ID alone — a service
//! principal from the `AZURE_*` variables, tokens from the fake Entra ID token service —
//! against `eh emulator --jwt-key`, which validates every JWT; a wrong secret is an
//! `unauthorized:` failure naming the AADSTS code and never the secret. And the official
//! Python and JS SDKs, with token credentials, against the same validating emulator.

mod common;

use common::{eh_with_env, ok, start_eh};
use eventhubs_test_support::entra::{EntraConfig, FakeEntra};

#[test]
fn send_and_receive_signed_in_with_entra_id() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let entra = runtime.block_on(FakeEntra::start(EntraConfig::default()));
    let dir = std::env::temp_dir().join(format!("eh-aad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The emulator's certificate carries the namespace's name, as the service's does.
    let ck =
        rcgen::generate_simple_self_signed(vec!["ns.servicebus.windows.net".to_owned()]).unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let cert = file("cert.pem", &ck.cert.pem());
    let key = file("key.pem", &ck.signing_key.serialize_pem());
    let signing = file("signing.pem", entra.signing_cert_pem());
    let roots = file("roots.pem", &format!("{}{}", ck.cert.pem(), entra.ca_pem()));
    let em = start_eh(
        [
            "--tls-port",
            "0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--jwt-key",
            &signing,
        ],
        1,
    );
    let tls = em.more[0]
        .strip_prefix("tls listening on ")
        .unwrap_or_else(|| panic!("{:?}", em.more))
        .to_owned();
    let principal = entra.service_principal_env();
    let env: Vec<(&str, &str)> = principal.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let target = [
        "--namespace",
        "ns.servicebus.windows.net",
        "-n",
        "eh1",
        "--aad",
        "--custom-endpoint",
        &tls,
        "--ca-file",
        &roots,
    ];
    let send = [&["send", "--partition", "2"][..], &target[..]].concat();
    ok(&eh_with_env(&send, b"signed in\nwith entra id\n", &env));
    let receive = [
        &[
            "receive",
            "--partition",
            "2",
            "--from",
            "earliest",
            "--count",
            "2",
        ][..],
        &target[..],
    ]
    .concat();
    let out = ok(&eh_with_env(&receive, b"", &env));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["signed in", "with entra id"],
        "{out}"
    );
    assert!(entra.tokens_issued() >= 2, "{:?}", entra.served());

    // The emulator refuses what Entra ID would not have issued: no shared key gets in
    // without --aad either (the emulator's connection string is not given).
    let wrong: Vec<(&str, &str)> = env
        .iter()
        .map(|&(k, v)| {
            (
                k,
                if k == "AZURE_CLIENT_SECRET" {
                    "wrong-secret-value"
                } else {
                    v
                },
            )
        })
        .collect();
    let out = eh_with_env(&send, b"never\n", &wrong);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: unauthorized: "), "{stderr}");
    assert!(stderr.contains("AADSTS7000215"), "{stderr}");
    assert!(!stderr.contains("wrong-secret-value"), "{stderr}");
    // --aad without a namespace is a usage error.
    let out = eh_with_env(&["send", "-n", "eh1", "--aad"], b"", &env);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--namespace"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `eh emulator` validating JWTs, with wss on a free port and a localhost certificate.
struct ValidatingEmulator {
    em: common::Running,
    wss: u16,
    cert: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl ValidatingEmulator {
    fn start(entra: &FakeEntra, name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("eh-aad-{name}-{}", std::process::id()));
        let (mut args, cert) = common::tls_arguments(&dir);
        let signing = dir.join("signing.pem");
        std::fs::write(&signing, entra.signing_cert_pem()).unwrap();
        args.extend([
            "--wss-port".into(),
            "0".into(),
            "--jwt-key".into(),
            signing.into(),
        ]);
        let em = start_eh(args, 2);
        let wss = em
            .more
            .iter()
            .find_map(|l| l.strip_prefix("secure websocket listening on wss://localhost:"))
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("{:?}", em.more))
            .parse()
            .unwrap();
        Self { em, wss, cert, dir }
    }
}

impl Drop for ValidatingEmulator {
    fn drop(&mut self) {
        self.em.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn in_an_hour() -> String {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600)
        .to_string()
}

/// The official Python SDK with a token credential (so it puts `jwt` tokens) against the
/// emulator validating them: `interop/python/aad.py`; a token for another audience is
/// refused with the reason.
#[test]
fn python_sdk_with_entra_id_tokens() {
    let Some(python) = eventhubs_test_support::interop_python() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let entra = runtime.block_on(FakeEntra::start(EntraConfig::default()));
    let running = ValidatingEmulator::start(&entra, "py");
    let hour = std::time::Duration::from_secs(3600);
    let dir = eventhubs_test_support::repo_root().join("interop/python");
    common::peer_ok(
        python,
        &[
            dir.join("aad.py").display().to_string(),
            running.wss.to_string(),
            running.cert.display().to_string(),
            entra.mint("https://eventhubs.azure.net/", hour),
            entra.mint("https://storage.azure.com", hour),
            in_an_hour(),
        ],
        &dir,
    );
}

/// The official JS SDK with a token credential against the emulator validating JWTs:
/// `interop/js/aad.mjs`.
#[test]
fn js_sdk_with_entra_id_tokens() {
    let Some(dir) = eventhubs_test_support::interop_js() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let entra = runtime.block_on(FakeEntra::start(EntraConfig::default()));
    let running = ValidatingEmulator::start(&entra, "js");
    common::peer_ok(
        "node",
        &[
            dir.join("aad.mjs").display().to_string(),
            running.wss.to_string(),
            running.cert.display().to_string(),
            entra.mint(
                "https://eventhubs.azure.net",
                std::time::Duration::from_secs(3600),
            ),
            in_an_hour(),
        ],
        &dir,
    );
}
