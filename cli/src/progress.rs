//! Progress bars for the long commands (device sync, evidence ingest of many
//! files, case file download), drawn on stderr and only for a person: never
//! with `--json`, never when stdout or stderr is not a terminal, so scripts,
//! pipes and logs read exactly the results they always did.

use crate::output::Output;
use fieldproof_core::sync::{Progress as SyncProgress, ProgressListener};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A bar, or nothing when no person is watching.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar of `len` steps counted in `unit` (`photos`), or a spinner
    /// counting bytes when the length is unknown.
    pub fn new(out: &Output, len: Option<u64>, unit: &str) -> Progress {
        let watched =
            !out.json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        if !watched {
            return Progress(None);
        }
        let bar = match len {
            Some(len) => ProgressBar::new(len).with_style(
                ProgressStyle::with_template(&format!(
                    "{{bar:30}} {{pos}}/{{len}} {unit} {{wide_msg}}"
                ))
                .expect("a valid template"),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template(&format!("{{spinner}} {{bytes}} {unit} {{wide_msg}}"))
                    .expect("a valid template"),
            ),
        };
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress(Some(bar))
    }

    pub fn advance(&self, steps: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(steps);
        }
    }

    /// Runs `print` with the bar lifted, so results and bar never interleave.
    pub fn suspend<T>(&self, print: impl FnOnce() -> T) -> T {
        match &self.0 {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Reads through `reader`, advancing by the bytes read.
    pub fn reader<R: std::io::Read + 'static>(&self, reader: R) -> Box<dyn std::io::Read> {
        match &self.0 {
            Some(bar) => Box::new(bar.wrap_read(reader)),
            None => Box::new(reader),
        }
    }

    /// Leaves the bar's last state with `message` on the terminal.
    pub fn finish(&self, message: String) {
        if let Some(bar) = &self.0 {
            bar.finish_with_message(message);
        }
    }

    /// A sync listener that shows what the engine is doing.
    pub fn sync_listener(&self) -> Option<SyncBar> {
        self.0.clone().map(SyncBar)
    }
}

/// Sync progress on a bar: the photo being uploaded, byte by byte.
pub struct SyncBar(ProgressBar);

impl ProgressListener for SyncBar {
    fn on_progress(&self, progress: SyncProgress) {
        match progress {
            SyncProgress::Pushed { ops } => self.0.set_message(format!("pushed {ops} ops")),
            SyncProgress::Pulled { changes } => {
                self.0.set_message(format!("pulled {changes} changes"))
            }
            SyncProgress::Uploading {
                role, sent, size, ..
            } => {
                self.0.set_length(size);
                self.0.set_position(sent);
                self.0.set_message(format!("uploading a photo ({role})"));
            }
        }
    }
}
