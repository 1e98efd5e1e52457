//! Starting the `eh` binary as a test peer.

#![allow(dead_code, unreachable_pub)]

use std::ffi::OsStr;
use std::io::Write;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// A running `eh emulator --port 0 --log-level warn <extra>`: the child, its listen
/// address, its first connection string (that of its first hub, `EntityPath` included) and
/// any further stdout lines asked for (the other hubs' connection strings come first). Its stdout
/// stays open (kept in the returned reader) so the emulator never sees a broken pipe.
/// Dropping it kills the emulator, so a failing test leaves no process behind.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    pub connection_string: String,
    pub more: Vec<String>,
    _stdout: BufReader<std::process::ChildStdout>,
}

/// Starts the emulator with `extra` arguments and reads `more` lines after the first two.
pub fn start_eh<I, S>(extra: I, more: usize) -> Running
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    start_eh_logging("warn", Stdio::inherit(), extra, more)
}

/// Like [`start_eh`], logging at `level` to `stderr`.
pub fn start_eh_logging<I, S>(level: &str, stderr: Stdio, extra: I, more: usize) -> Running
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_eh"))
        .args(["emulator", "--port", "0", "--log-level", level])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = || {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        l.trim().to_owned()
    };
    let first = line();
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    let connection_string = line();
    assert!(
        connection_string.starts_with("Endpoint=sb://localhost:")
            && connection_string.contains(";EntityPath="),
        "{connection_string}"
    );
    let more = (0..more).map(|_| line()).collect();
    Running {
        child,
        addr,
        connection_string,
        more,
        _stdout: out,
    }
}

impl Running {
    /// Kills the emulator (`SIGKILL`: no shutdown path runs) and waits for it to exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `eh args...` with `stdin`, bounded by 60 s (killed after).
pub fn eh(args: &[&str], stdin: &[u8]) -> Output {
    eh_with_env(args, stdin, &[])
}

/// Like [`eh`], with these environment variables set for the child.
pub fn eh_with_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eh"))
        .args(args)
        .env_remove("EVENTHUB_CONNECTION_STRING")
        .env_remove("EVENTHUB_NAME")
        .env_remove("AZURE_STORAGE_CONNECTION_STRING")
        .env_remove("AZURE_STORAGE_CONTAINER")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    // Both outputs read as they come, so a full pipe never blocks the child.
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let status = exit_within(&mut child, Duration::from_secs(60), &format!("eh {args:?}"));
    feeder.join().unwrap();
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Waits for `child` to exit, for at most `limit` (then kills it and fails).
pub fn exit_within(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Runs the shell command `command` on a pty (util-linux's `script`) and returns what the
/// terminal showed.
pub fn on_terminal(command: &str) -> String {
    let out = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` runs a command on a pty");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs an interop peer (`program args...` in `dir`); it must exit 0 and print a line `ok`.
#[allow(dead_code)]
pub fn peer_ok<S: AsRef<OsStr>>(program: impl AsRef<OsStr>, args: &[S], dir: &std::path::Path) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().any(|l| l == "ok"),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh self-signed certificate for `localhost` written to `dir` (created), as the
/// `eh emulator` arguments serving AMQPS with it on a free port, and the certificate file.
#[allow(dead_code)]
pub fn tls_arguments(dir: &std::path::Path) -> (Vec<std::ffi::OsString>, std::path::PathBuf) {
    let (cert, key) = localhost_certificate(dir);
    let args = vec![
        "--tls-port".into(),
        "0".into(),
        "--tls-cert".into(),
        cert.clone().into(),
        "--tls-key".into(),
        key.into(),
    ];
    (args, cert)
}

fn localhost_certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (cert, key)
}
