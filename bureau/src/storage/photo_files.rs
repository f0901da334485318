//! The photo store on disk: uploads in progress under `uploads/<upload id>`,
//! complete photos under `photos/<sha256 hex>`, and one writer at a time per upload.
//!
//! File names are always server-made: an upload id (a UUIDv7 the bureau chose) or
//! a hash the bureau computed, never anything a device sent.

use crate::error::{Error, Result};
use fieldproof_core::{hex, private_files};
use ring::digest;
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{ErrorKind, Read, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::Notify;

/// How long a request waits for another one on the same upload before answering
/// 423 (tus clients retry that). A stalled writer gives up by its idle timeout.
const LOCK_WAIT: Duration = Duration::from_secs(15);

/// Where photo bytes live: complete photos by SHA-256 under `photos/`, uploads in
/// progress under `uploads/`.
pub struct PhotoFiles {
    pub photos: PathBuf,
    pub uploads: PathBuf,
    /// The bureau's thumbnails of originals, `<sha256 hex>.jpg` (derivatives,
    /// made again if lost).
    pub thumbnails: PathBuf,
    busy: Arc<BusyUploads>,
}

/// Uploads that a request is writing to or reading the progress of right now.
#[derive(Default)]
struct BusyUploads {
    ids: Mutex<HashSet<String>>,
    released: Notify,
}

/// Held while a request works on one upload; released on drop. Two PATCHes on
/// one upload therefore never interleave their bytes, and HEAD never reports an
/// offset that a PATCH still in flight is about to move.
pub struct UploadLock {
    busy: Arc<BusyUploads>,
    id: String,
}

impl Drop for UploadLock {
    fn drop(&mut self) {
        let mut ids = self.busy.ids.lock().unwrap_or_else(PoisonError::into_inner);
        ids.remove(&self.id);
        drop(ids);
        self.busy.released.notify_waiters();
    }
}

impl PhotoFiles {
    pub fn open(data_dir: &Path) -> Result<Self> {
        let files = Self {
            photos: data_dir.join("photos"),
            uploads: data_dir.join("uploads"),
            thumbnails: data_dir.join("thumbnails"),
            busy: Arc::default(),
        };
        private_files::create_dir(&files.photos)?;
        private_files::create_dir(&files.uploads)?;
        private_files::create_dir(&files.thumbnails)?;
        Ok(files)
    }

    /// The file of an upload in progress. `id` is an upload id (a UUID checked at
    /// the API's edge or read from the database).
    pub fn upload_path(&self, id: &str) -> PathBuf {
        self.uploads.join(id)
    }

    pub fn photo_path(&self, sha256: &[u8; 32]) -> PathBuf {
        self.photos.join(hex::encode(sha256))
    }

    pub fn thumbnail_path(&self, sha256: &[u8; 32]) -> PathBuf {
        self.thumbnails.join(format!("{}.jpg", hex::encode(sha256)))
    }

    /// Waits (up to [`LOCK_WAIT`]) until no other request works on upload `id`.
    pub async fn lock(&self, id: &str) -> Result<UploadLock> {
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        loop {
            // Registered before the attempt, so a release in between is not missed.
            let released = self.busy.released.notified();
            if let Some(lock) = self.try_lock(id) {
                return Ok(lock);
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return Err(Error::UploadLocked);
            }
        }
    }

    fn try_lock(&self, id: &str) -> Option<UploadLock> {
        let mut ids = self.busy.ids.lock().unwrap_or_else(PoisonError::into_inner);
        ids.insert(id.to_owned()).then(|| UploadLock {
            busy: self.busy.clone(),
            id: id.to_owned(),
        })
    }

    /// Opens upload `id` for a chunk starting at `offset`. Anything past `offset`
    /// (bytes of a discarded chunk, or written just before a crash) is cut off first.
    pub async fn chunk_writer(&self, id: &str, offset: u64) -> Result<ChunkWriter> {
        // The photo's file is this one, hard-linked: mode 0600 carries over.
        let mut file = tokio::fs::OpenOptions::from(private_files::options())
            .create(true)
            .truncate(false)
            .open(self.upload_path(id))
            .await?;
        if offset == 0 {
            // A new file's name must outlive a crash as surely as the offsets that
            // will be recorded for its bytes.
            tokio::fs::File::open(&self.uploads)
                .await?
                .sync_all()
                .await?;
        }
        file.set_len(offset).await?;
        file.seek(SeekFrom::Start(offset)).await?;
        Ok(ChunkWriter {
            file,
            start: offset,
            written: 0,
        })
    }

    /// SHA-256 and size of an upload's file, read in small pieces.
    pub fn hash_upload(&self, id: &str) -> Result<([u8; 32], u64)> {
        let mut file = File::open(self.upload_path(id))?;
        let mut sha256 = digest::Context::new(&digest::SHA256);
        let mut buffer = vec![0; 64 * 1024];
        let mut size = 0;
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            sha256.update(&buffer[..n]);
            size += n as u64;
        }
        let hash = sha256
            .finish()
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes");
        Ok((hash, size))
    }

    /// Makes a verified upload's file the photo `photos/<sha256 hex>`: synced, then
    /// hard-linked into place, so at every instant the photo is either absent or
    /// complete. If the photo is already held (same hash, so same bytes), the copy
    /// there is kept. The upload's own name is removed later, by the caller, once
    /// the database says the photo is complete.
    pub fn keep_photo(&self, id: &str, sha256: &[u8; 32]) -> Result<()> {
        let upload = self.upload_path(id);
        File::open(&upload)?.sync_all()?;
        match fs::hard_link(&upload, self.photo_path(sha256)) {
            Ok(()) => File::open(&self.photos)?.sync_all()?,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Removes an upload's file; one already gone is fine.
    pub fn remove_upload_file(&self, id: &str) -> Result<()> {
        match fs::remove_file(self.upload_path(id)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// The ids of the upload files on disk (names that are not UUIDs are skipped:
    /// the bureau never made them).
    pub fn upload_ids_on_disk(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.uploads)? {
            let name = entry?.file_name();
            if let Some(id) = name.to_str().filter(|n| uuid::Uuid::try_parse(n).is_ok()) {
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    }
}

/// Appends one chunk to an upload's file; the chunk is then either kept (synced to
/// disk, so the offset recorded after it is never ahead of the bytes) or discarded.
pub struct ChunkWriter {
    file: tokio::fs::File,
    start: u64,
    written: u64,
}

impl ChunkWriter {
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes).await?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Syncs the chunk to disk; returns the offset after it.
    pub async fn keep(mut self) -> Result<u64> {
        self.file.flush().await?;
        self.file.sync_data().await?;
        Ok(self.start + self.written)
    }

    /// Cuts the file back to where the chunk started.
    pub async fn discard(mut self) -> Result<()> {
        self.file.flush().await?;
        self.file.set_len(self.start).await?;
        Ok(())
    }
}
