//! Starting the `eh` binary as a test peer.

#![allow(dead_code, unreachable_pub)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

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
    let mut child = Command::new(env!("CARGO_BIN_EXE_eh"))
        .args(["emulator", "--port", "0", "--log-level", "warn"])
        .args(extra)
        .stdout(Stdio::piped())
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
