//! Previews, made off the capture path in a bounded budget of time.

use crate::error::Result;
use crate::evidence::thumbnail::{make_thumbnail, DecodeLimits, PREVIEW_EDGE};
use crate::model::photo::{Derivative, Photo};
use crate::store::evidence as rows;
use crate::store::Store;
use serde::Serialize;
use std::fs::File;
use std::time::{Duration, Instant};

/// What a `prepare_previews` call did, and what is left for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PreviewReport {
    pub made: u32,
    pub unavailable: u32,
    pub remaining: u32,
}

impl Store {
    /// Makes pending previews until `budget` runs out; the platform calls this in
    /// the background (WorkManager, BGTask) and again later if work remains.
    pub fn prepare_previews(&self, budget: Duration) -> Result<PreviewReport> {
        let started = Instant::now();
        let pending = self.read(rows::pending_previews)?;
        let mut report = PreviewReport {
            made: 0,
            unavailable: 0,
            remaining: pending.len() as u32,
        };
        for photo in pending {
            if started.elapsed() >= budget {
                break;
            }
            match self.make_preview(&photo)? {
                Derivative::Ok => report.made += 1,
                _ => report.unavailable += 1,
            }
            report.remaining -= 1;
        }
        Ok(report)
    }

    pub(super) fn make_preview(&self, photo: &Photo) -> Result<Derivative> {
        let media = self.media();
        let made = self.derive_file(
            &media.original(&photo.sha256),
            &media.preview(&photo.sha256),
            PREVIEW_EDGE,
            photo.orientation,
        );
        let (status, warning) = match made {
            Ok(()) => (Derivative::Ok, None),
            Err(reason) => (
                Derivative::Unavailable,
                Some(format!("preview unavailable: {reason}")),
            ),
        };
        self.write(|tx| rows::set_preview(tx, &photo.id, status, warning.as_deref()))?;
        Ok(status)
    }

    /// Writes a JPEG derivative of `original`; the error is the reason in words.
    fn derive_file(
        &self,
        original: &std::path::Path,
        target: &std::path::Path,
        edge: u32,
        orientation: Option<u16>,
    ) -> std::result::Result<(), String> {
        let mut file = File::open(original).map_err(|e| e.to_string())?;
        let made = make_thumbnail(&mut file, edge, orientation, &DecodeLimits::default())
            .map_err(|e| e.code().to_owned())?;
        self.media()
            .write_derived(target, &made.jpeg)
            .map_err(|e| e.code().to_owned())
    }
}
