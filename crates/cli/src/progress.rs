//! A progress line on stderr for long commands — only when stderr is a terminal, so pipes,
//! files and CI logs get the final summary line alone.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Events done so far, drawn a few times a second; nothing at all off a terminal.
pub(crate) struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar when the `total` is known, else a counter.
    pub(crate) fn new(total: Option<u64>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template(
                        "{bar:30} {human_pos}/{human_len} events {per_sec} {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} {human_pos} events {per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.enable_steady_tick(Duration::from_millis(200));
        Self(Some(bar))
    }

    /// A line of free text (set with [`Progress::say`]) for work with several counters.
    pub(crate) fn status() -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Self(Some(bar))
    }

    /// Replaces the status text.
    pub(crate) fn say(&self, text: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(text);
        }
    }

    pub(crate) fn add(&self, events: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(events);
        }
    }

    /// Removes the line, leaving the terminal to the summary.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
