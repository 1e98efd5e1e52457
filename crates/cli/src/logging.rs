//! Logs on stderr at the level asked for, coloured only when stderr is a terminal (a log
//! file or a CI capture gets plain text).

use std::io::IsTerminal;

/// Installs the subscriber; the error names the bad `--log-level` value.
pub(crate) fn init(level: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .map_err(|e| format!("invalid --log-level {level:?}: {e}"))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
    Ok(())
}
