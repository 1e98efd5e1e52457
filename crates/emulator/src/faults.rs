//! Faults for tests of clients: behaviours a real service shows under stress, switched on
//! one by one from code. They are off by default and cannot be set from `Config.json`, so
//! an emulator started from the command line never has them.

/// The faults an emulator injects (none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Faults {
    /// Entity paths (`eh1` or `eh1/partitions/1`, compared case-insensitively) whose sender
    /// links are attached but never given credit: sends to them can never leave the client.
    pub starve_sends_to: Vec<String>,
}

impl Faults {
    /// Adds an entity whose senders get no credit.
    pub fn starve_sends_to(mut self, entity_path: impl Into<String>) -> Self {
        self.starve_sends_to.push(entity_path.into());
        self
    }

    /// True when senders to `path` (lower case, as the emulator resolves it) are starved.
    pub(crate) fn starves(&self, path: &str) -> bool {
        self.starve_sends_to
            .iter()
            .any(|p| p.eq_ignore_ascii_case(path))
    }
}
