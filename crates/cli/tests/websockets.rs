//! `eh emulator --ws-port/--wss-port` serves AMQP over WebSockets and prints each URL;
//! `eh send` and `eh receive --transport websockets` use them, over TLS with `--ca-file`
//! trusting the emulator's certificate (and refused without it), also through a CONNECT
//! proxy (`--proxy`).

mod common;

use common::{eh, ok, start_eh};
use eventhubs_test_support::connect_proxy::ConnectProxy;

/// `eh emulator` with AMQPS, ws and wss on free ports and a fresh self-signed certificate.
struct WebSocketEmulator {
    em: common::Running,
    ws: u16,
    wss: u16,
    cert: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl WebSocketEmulator {
    fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("eh-ws-{name}-{}", std::process::id()));
        let (mut args, cert) = common::tls_arguments(&dir);
        args.extend(["--ws-port", "0", "--wss-port", "0"].map(Into::into));
        let em = start_eh(args, 3);
        let port_of = |prefix: &str, scheme: &str| -> u16 {
            let line = em
                .more
                .iter()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no {prefix:?} in {:?}", em.more));
            let rest = line
                .strip_prefix(&format!("{scheme}://localhost:"))
                .unwrap_or_else(|| panic!("{line}"));
            let (port, path) = rest.split_once('/').unwrap();
            assert_eq!(path, "$servicebus/websocket");
            port.parse().unwrap()
        };
        let ws = port_of("websocket listening on ", "ws");
        let wss = port_of("secure websocket listening on ", "wss");
        Self {
            em,
            ws,
            wss,
            cert,
            dir,
        }
    }
}

impl Drop for WebSocketEmulator {
    fn drop(&mut self) {
        self.em.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn send_and_receive_over_ws_and_wss() {
    let running = WebSocketEmulator::start("eh");
    let (em, ws, wss, cert) = (&running.em, running.ws, running.wss, &running.cert);
    let key = "SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;EntityPath=eh1";
    let ws_cs = format!("Endpoint=sb://localhost:{ws};{key};UseDevelopmentEmulator=true");
    let wss_cs = format!("Endpoint=sb://localhost:{wss};{key}");
    let ca = cert.to_str().unwrap();
    let over = |cs: &str, command: &[&str], stdin: &[u8]| {
        let args = [
            command,
            &["-c", cs, "--transport", "websockets", "--ca-file", ca],
        ]
        .concat();
        eh(&args, stdin)
    };
    ok(&over(&ws_cs, &["send", "--partition", "3"], b"one\ntwo\n"));
    ok(&over(&wss_cs, &["send", "--partition", "3"], b"three\n"));
    for cs in [&ws_cs, &wss_cs] {
        let read = ok(&over(
            cs,
            &["receive", "--partition", "3", "-e", "--from", "earliest"],
            b"",
        ));
        assert_eq!(read, "one\ntwo\nthree\n", "over {cs}");
    }
    // All three, read back with `eh receive -c CS EXTRA... -e` from partition 3.
    let read_all = |cs: &str, extra: &[&str]| {
        let args = [
            &["receive", "-c", cs][..],
            extra,
            &["--partition", "3", "-e", "--from", "earliest"],
        ]
        .concat();
        assert_eq!(ok(&eh(&args, b"")), "one\ntwo\nthree\n", "{args:?}");
    };
    // The plain AMQP port holds the same events.
    read_all(&em.connection_string, &[]);
    // Through a CONNECT proxy (which implies WebSockets), over wss.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let proxy = rt.block_on(ConnectProxy::start(Some(("carol", "pw"))));
    let through = proxy.url(Some(("carol", "pw")));
    read_all(&wss_cs, &["--ca-file", ca, "--proxy", &through]);
    assert_eq!(proxy.log().tunnels, vec![format!("localhost:{wss}")]);
    // Without the certificate, wss is refused by name.
    let refused = eh(
        &[
            "info",
            "-c",
            &wss_cs,
            "--transport",
            "websockets",
            "--log-level",
            "off",
        ],
        b"",
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(stderr.contains("certificate"), "{stderr}");
}

/// The official Python SDK (`azure-eventhub` with `websocket-client`) over ws and wss, and
/// over ws through a loopback CONNECT proxy with Basic auth: `interop/python/websockets.py`.
#[test]
fn python_sdk_over_websockets() {
    let Some(python) = eventhubs_test_support::interop_python() else {
        return;
    };
    let running = WebSocketEmulator::start("py");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let proxy = rt.block_on(ConnectProxy::start(Some(("bob", "pa55"))));
    let dir = eventhubs_test_support::repo_root().join("interop/python");
    common::peer_ok(
        python,
        &[
            dir.join("websockets.py").display().to_string(),
            running.ws.to_string(),
            running.wss.to_string(),
            running.cert.display().to_string(),
            running.em.connection_string.clone(),
            proxy.addr().port().to_string(),
        ],
        &dir,
    );
    let log = proxy.log();
    assert_eq!(
        log.tunnels,
        vec![format!("127.0.0.1:{}", running.ws); log.tunnels.len()],
        "only the proxied round trip went through the proxy"
    );
    assert!(
        log.tunnels.len() >= 2,
        "producer and consumer tunnelled: {log:?}"
    );
}

/// The official JS SDK (`@azure/event-hubs` with the `ws` package) over wss:
/// `interop/js/websockets.mjs` (the SDK builds only `wss://` URLs).
#[test]
fn js_sdk_over_secure_websockets() {
    let Some(dir) = eventhubs_test_support::interop_js() else {
        return;
    };
    let running = WebSocketEmulator::start("js");
    common::peer_ok(
        "node",
        &[
            dir.join("websockets.mjs").display().to_string(),
            running.wss.to_string(),
            running.cert.display().to_string(),
            running.em.connection_string.clone(),
        ],
        &dir,
    );
}
