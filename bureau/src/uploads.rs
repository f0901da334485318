//! Photo uploads (tus 1.0) and the photo store.

use crate::error::Result;
use std::path::{Path, PathBuf};

/// Where photo bytes live: complete photos by SHA-256 under `photos/`, uploads in
/// progress under `uploads/`.
pub struct PhotoFiles {
    pub photos: PathBuf,
    pub uploads: PathBuf,
}

impl PhotoFiles {
    pub fn open(data_dir: &Path) -> Result<Self> {
        let files = Self {
            photos: data_dir.join("photos"),
            uploads: data_dir.join("uploads"),
        };
        std::fs::create_dir_all(&files.photos)?;
        std::fs::create_dir_all(&files.uploads)?;
        Ok(files)
    }
}
