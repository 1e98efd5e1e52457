//! The data directory's lock: one emulator per `--data-dir`, held for the namespace's life.
//!
//! Two writers on one directory would interleave records and each truncate the other's
//! "torn" tail on restart, losing acknowledged events. An advisory lock (`flock` on Unix,
//! `LockFileEx` on Windows, through [`std::fs::File::try_lock`]) on `<dir>/LOCK` refuses the
//! second one. The file also holds the holder's pid, so the refusal can name it; the lock,
//! not the file, is what counts: a file left by a killed process locks nothing.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
const LOCK_FILE: &str = "LOCK";

/// A held lock on a data directory; released when dropped (or when the process exits).
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Creates `dir` if needed and locks it, or fails with [`std::io::ErrorKind::ResourceBusy`]
    /// naming the directory and the holder's pid when another process (or another
    /// namespace in this one) holds it.
    pub(crate) fn acquire(dir: &Path) -> std::io::Result<Self> {
        let context = |e: std::io::Error| {
            std::io::Error::new(e.kind(), format!("data directory {}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(context)?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(context)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = holder_pid(&mut file)
                    .map_or_else(|| "another process".to_owned(), |pid| format!("pid {pid}"));
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ResourceBusy,
                    format!(
                        "data directory {} is in use by another emulator ({holder}); \
                         stop it or choose another --data-dir",
                        dir.display()
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(context(e)),
        }
        // Ours now: record who holds it, for the next one that is refused.
        file.set_len(0).map_err(context)?;
        file.rewind().map_err(context)?;
        writeln!(file, "{}", std::process::id()).map_err(context)?;
        tracing::debug!(lock = %path.display(), "data directory locked");
        Ok(Self { _file: file, path })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // The lock goes with the file handle; the pid it holds is stale from here on.
        tracing::debug!(lock = %self.path.display(), "data directory unlocked");
    }
}

/// The pid written by the lock's holder, when it is readable.
fn holder_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
