//! The content-addressed photo store beside the database: originals under their
//! SHA-256, derivatives (thumbnails, previews) beside them, and a `tmp/` folder
//! for files being written. Photos are files, not BLOBs, so the database stays
//! small and a 10 MB photo never passes through SQLite.
//!
//! Layout of `<db>.data/`: `originals/ab/<sha256>`, `derived/<sha256>.thumb.jpg`,
//! `derived/<sha256>.preview.jpg`, `tmp/`, and `device-key.p8`.

use crate::error::{Error, Result};
use crate::evidence::media::{HashingWriter, MediaDigest};
use crate::hex;
use crate::model::id::new_id;
use crate::private_files;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Originals larger than this are refused: no phone camera makes them, and a
/// bigger file is a mistake or an attack.
pub const MAX_MEDIA_BYTES: u64 = 200 << 20;

pub struct MediaDir {
    root: PathBuf,
}

/// What startup found in the file store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaScan {
    /// Unfinished writes from a killed process, removed.
    pub temp_files_removed: u64,
    /// Originals no photo row names. Reported, never deleted: they may be
    /// the only copy of a photo whose row a damaged database lost.
    pub orphans: Vec<String>,
}

impl MediaDir {
    /// The data folder that belongs to the database at `db`.
    pub fn beside(db: &Path) -> MediaDir {
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push(".data");
        MediaDir {
            root: db.with_file_name(name),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn key_path(&self) -> PathBuf {
        self.root.join("device-key.p8")
    }

    pub fn original(&self, sha256: &str) -> PathBuf {
        self.root.join("originals").join(&sha256[..2]).join(sha256)
    }

    pub fn thumbnail(&self, sha256: &str) -> PathBuf {
        self.root
            .join("derived")
            .join(format!("{sha256}.thumb.jpg"))
    }

    pub fn preview(&self, sha256: &str) -> PathBuf {
        self.root
            .join("derived")
            .join(format!("{sha256}.preview.jpg"))
    }

    /// Copies `source` into the store: into a temp file while hashing, fsync,
    /// then rename to its content address (fsyncing the folder), so a crash
    /// leaves either nothing or the whole file. Storing the same bytes twice
    /// keeps one file.
    pub fn store_original(&self, source: &mut impl Read) -> Result<(MediaDigest, PathBuf)> {
        let tmp = self.temp_path()?;
        let written = (|| {
            let mut file = private_files::create(&tmp)?;
            let mut hasher = HashingWriter::new(&mut file);
            io::copy(&mut source.take(MAX_MEDIA_BYTES + 1), &mut hasher)?;
            let digest = hasher.finish();
            file.sync_all()?;
            Ok::<_, io::Error>(digest)
        })();
        let digest = match written {
            Ok(digest) => digest,
            Err(err) => {
                let _ = fs::remove_file(&tmp);
                return Err(err.into());
            }
        };
        if digest.size > MAX_MEDIA_BYTES {
            let _ = fs::remove_file(&tmp);
            return Err(Error::MediaTooLarge {
                max_bytes: MAX_MEDIA_BYTES,
            });
        }
        let path = self.original(&hex::encode(&digest.sha256));
        self.commit(&tmp, &path)?;
        Ok((digest, path))
    }

    /// Writes a derivative atomically (temp file, fsync, rename).
    pub fn write_derived(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let tmp = self.temp_path()?;
        let result = (|| {
            let mut file = private_files::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()
        })();
        if let Err(err) = result {
            let _ = fs::remove_file(&tmp);
            return Err(err.into());
        }
        self.commit(&tmp, path)
    }

    fn temp_path(&self) -> Result<PathBuf> {
        let dir = self.root.join("tmp");
        private_files::create_dir(&dir)?;
        Ok(dir.join(new_id()))
    }

    fn commit(&self, tmp: &Path, path: &Path) -> Result<()> {
        let dir = path.parent().expect("store paths have a parent");
        private_files::create_dir(dir)?;
        if path.exists() {
            // Same content address, same bytes: keep the file already there.
            fs::remove_file(tmp)?;
            return Ok(());
        }
        fs::rename(tmp, path)?;
        File::open(dir)?.sync_all()?;
        Ok(())
    }

    /// Removes unfinished temp files and lists originals that `is_known` does not
    /// recognise.
    pub fn scan(&self, is_known: impl Fn(&str) -> Result<bool>) -> Result<MediaScan> {
        let mut scan = MediaScan::default();
        if let Ok(entries) = fs::read_dir(self.root.join("tmp")) {
            for entry in entries {
                fs::remove_file(entry?.path())?;
                scan.temp_files_removed += 1;
            }
        }
        if let Ok(shards) = fs::read_dir(self.root.join("originals")) {
            for shard in shards {
                for file in fs::read_dir(shard?.path())? {
                    let name = file?.file_name().to_string_lossy().into_owned();
                    if !is_known(&name)? {
                        scan.orphans.push(name);
                    }
                }
            }
        }
        scan.orphans.sort();
        Ok(scan)
    }
}
