//! Fire files waiting to be imported. A file is first written whole to a
//! private folder of the data folder (`spool/`), from the admin's upload or
//! from the scheduled fetch, and imported from there: the import's write
//! transaction then reads a local file, never a slow link, and memory holds
//! a few kilobytes of it at a time. A spooled file is removed once imported
//! or refused; what a crash leaves behind is removed at a later start, once
//! an hour old (other bureau processes may share the folder and be importing
//! theirs right now).

use super::import;
use crate::bureau::Bureau;
use crate::error::{Error, Result};
use fieldproof_core::private_files;
use fieldproof_core::wire::fires::FireImport;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

const SPOOL_DIR: &str = "spool";

/// A spooled file; removed when dropped.
pub struct SpoolFile {
    path: PathBuf,
}

impl SpoolFile {
    /// A new, empty, private file in the spool folder, and its path.
    pub fn create(bureau: &Bureau) -> Result<(SpoolFile, File)> {
        let dir = bureau.data_dir.join(SPOOL_DIR);
        private_files::create_dir(&dir)?;
        let path = dir.join(format!("{}.csv", uuid::Uuid::now_v7()));
        let file = private_files::create(&path)?;
        Ok((SpoolFile { path }, file))
    }

    /// Spools what `source` yields, refusing it past `limit` bytes.
    pub fn copy_from(bureau: &Bureau, source: &mut impl Read, limit: u64) -> Result<SpoolFile> {
        let (spooled, mut file) = Self::create(bureau)?;
        let copied = std::io::copy(&mut source.take(limit + 1), &mut file)?;
        if copied > limit {
            return Err(Error::BodyTooLarge { limit });
        }
        file.flush()?;
        Ok(spooled)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Imports the file in one transaction, then removes it.
    pub fn import(self, bureau: &Bureau) -> Result<FireImport> {
        let file = BufReader::with_capacity(64 * 1024, File::open(&self.path)?);
        bureau
            .db
            .write(|tx| import::import(tx, file, &bureau.fires))
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A spooled file older than this was left by a crash: an import takes
/// minutes at most (`fires.fetch_timeout_s`, then one transaction).
const LEFT_BEHIND: std::time::Duration = std::time::Duration::from_secs(3_600);

/// Removes files a crash left in the spool folder.
pub fn clear(data_dir: &Path) -> Result<()> {
    let dir = data_dir.join(SPOOL_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(()); // no folder yet
    };
    for entry in entries {
        let entry = entry?;
        let age = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
        if entry.file_type()?.is_file() && age > LEFT_BEHIND {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}
