//! Azurite, the Azure Storage emulator (pinned in `interop/js`), started by tests on a free
//! port: blob service only, always with `--disableTelemetry` (without it Azurite calls an
//! outside host), in memory or in a directory of its own, killed when dropped; or over
//! HTTPS with OAuth, its certificate from a test CA made at start.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The development account's well-known key.
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running Azurite blob service.
#[derive(Debug)]
pub struct Azurite {
    child: Child,
    port: u16,
    location: Option<PathBuf>,
    /// Set when it serves HTTPS with OAuth.
    tls: Option<std::sync::Arc<Tls>>,
}

/// The HTTPS set-up: the test CA (PEM) and the directory holding the server's files,
/// removed when the last user (across restarts) is gone.
#[derive(Debug)]
struct Tls {
    ca_pem: String,
    dir: PathBuf,
    args: Vec<String>,
}

impl Drop for Tls {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `azurite-blob` launcher when installed. `None` (with the reason printed) when it is
/// missing outside CI; with `CI=true` a missing Azurite fails the test instead.
///
/// # Panics
/// In CI, when Azurite is missing.
pub fn azurite_bin() -> Option<PathBuf> {
    let bin = crate::repo_root().join("interop/js/node_modules/.bin/azurite-blob");
    if bin.exists() {
        return Some(bin);
    }
    crate::missing_peer(&bin.display().to_string())
}

impl Azurite {
    /// Starts Azurite in memory on a free port; `None` when it is not installed (outside CI).
    ///
    /// # Panics
    /// When it is installed but does not start.
    pub fn start() -> Option<Self> {
        Some(Self::launch(&azurite_bin()?, 0, None, None).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Starts Azurite in memory over HTTPS with `--oauth basic`: requests carry Entra ID
    /// bearer tokens, whose audience (a storage one), issuer (`https://sts.windows.net/…`)
    /// and validity window it checks, not their signatures. Its certificate (for
    /// `127.0.0.1` and `localhost`) is signed by a test CA made here ([`ca_pem`](Self::ca_pem)).
    ///
    /// # Panics
    /// When it is installed but does not start, or the certificate files cannot be written.
    pub fn start_oauth() -> Option<Self> {
        let bin = azurite_bin()?;
        let server = crate::test_ca::loopback_certificate("azurite test CA");
        let dir = std::env::temp_dir().join(format!(
            "azurite-tls-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).expect("tls dir");
        std::fs::write(dir.join("cert.pem"), &server.cert_pem).expect("cert file");
        std::fs::write(dir.join("key.pem"), &server.key_pem).expect("key file");
        let args = vec![
            "--oauth".to_owned(),
            "basic".to_owned(),
            "--cert".to_owned(),
            dir.join("cert.pem").display().to_string(),
            "--key".to_owned(),
            dir.join("key.pem").display().to_string(),
        ];
        let tls = Tls {
            ca_pem: server.ca_pem,
            dir,
            args,
        };
        Some(
            Self::launch(&bin, 0, None, Some(std::sync::Arc::new(tls)))
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    /// The test CA that signed the HTTPS certificate ([`start_oauth`](Self::start_oauth)).
    ///
    /// # Panics
    /// When it serves plain HTTP.
    pub fn ca_pem(&self) -> &str {
        &self.tls.as_ref().expect("started with start_oauth").ca_pem
    }

    /// The development account's blob URL (`http://` or, with OAuth, `https://`).
    pub fn account_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/devstoreaccount1", self.port)
    }

    /// Starts Azurite keeping its data in `dir` (so that a restart keeps it).
    ///
    /// # Panics
    /// When it is installed but does not start.
    pub fn start_in(dir: &Path) -> Option<Self> {
        Some(
            Self::launch(&azurite_bin()?, 0, Some(dir.to_owned()), None)
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    fn launch(
        bin: &Path,
        port: u16,
        location: Option<PathBuf>,
        tls: Option<std::sync::Arc<Tls>>,
    ) -> Result<Self, String> {
        let mut cmd = Command::new(bin);
        cmd.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args([
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--loose",
                "--silent",
            ]);
        match &location {
            Some(dir) => cmd.arg("--location").arg(dir),
            None => cmd.arg("--inMemoryPersistence"),
        };
        if let Some(tls) = &tls {
            cmd.args(&tls.args);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let Some(stdout) = child.stdout.take() else {
            return Err("azurite's stdout is not piped".into());
        };
        let mut out = BufReader::new(stdout);
        let mut line = String::new();
        let port = loop {
            line.clear();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("azurite exited before listening (port {port})"));
            }
            // "Azurite Blob service successfully listens on http://127.0.0.1:PORT"
            let listening = line
                .trim()
                .strip_prefix("Azurite Blob service successfully listens on ")
                .and_then(|url| url.rsplit(':').next())
                .and_then(|p| p.parse().ok());
            if let Some(port) = listening {
                break port;
            }
        };
        // Keep reading (and dropping) its output so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        Ok(Self {
            child,
            port,
            location,
            tls,
        })
    }

    /// The blob service's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CPU time Azurite's process has used so far (user + system), where the platform
    /// says (Linux `/proc`); benchmarks charge it to the work that made Azurite busy.
    pub fn cpu_time(&self) -> Option<std::time::Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the parenthesised command name; utime and stime are the 14th and
        // 15th fields of the line, in clock ticks.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // SAFETY: sysconf only reads a configuration value.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let per_second = u64::try_from(per_second).ok().filter(|&t| t > 0)?;
        Some(std::time::Duration::from_nanos(
            ticks.saturating_mul(1_000_000_000) / per_second,
        ))
    }

    /// A Shared Key connection string for the development account.
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:{}/devstoreaccount1;",
            self.port
        )
    }

    /// Stops Azurite (`SIGTERM`: it writes its data out, as a service restart would) and
    /// starts it again on the same port and directory.
    ///
    /// # Panics
    /// When it does not stop or come back.
    pub fn restart(&mut self) {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(stopped, "cannot signal azurite");
        let _ = self.child.wait();
        let bin = azurite_bin().expect("azurite was installed a moment ago");
        // The port was just freed; binding it again can fail for a moment: retry, bounded.
        let mut last = String::new();
        for _ in 0..50 {
            match Self::launch(&bin, self.port, self.location.clone(), self.tls.clone()) {
                Ok(next) => {
                    // The old child is dead and reaped; its `Drop` finds nothing to do.
                    *self = next;
                    return;
                }
                Err(e) => last = e,
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("azurite did not restart on port {}: {last}", self.port);
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
