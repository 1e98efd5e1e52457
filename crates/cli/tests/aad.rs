//! `eh --aad`: send and receive signed in with Microsoft Entra ID alone — a service
//! principal from the `AZURE_*` variables, tokens from the fake Entra ID token service —
//! against `eh emulator --jwt-key`, which validates every JWT; a wrong secret is an
//! `unauthorized:` failure naming the AADSTS code and never the secret.

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
    let c = entra.config().clone();
    let authority = entra.authority_host();
    let env = [
        ("AZURE_TENANT_ID", c.tenant.as_str()),
        ("AZURE_CLIENT_ID", c.client_id.as_str()),
        ("AZURE_CLIENT_SECRET", c.client_secret.as_str()),
        ("AZURE_AUTHORITY_HOST", authority.as_str()),
    ];
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
    let wrong = [
        ("AZURE_TENANT_ID", c.tenant.as_str()),
        ("AZURE_CLIENT_ID", c.client_id.as_str()),
        ("AZURE_CLIENT_SECRET", "wrong-secret-value"),
        ("AZURE_AUTHORITY_HOST", authority.as_str()),
    ];
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
