//! Photos in the data folder (an embedded bureau's default): uploads in
//! progress under `uploads/<upload id>`, complete photos under
//! `photos/<sha256 hex>`, thumbnails under `thumbnails/<sha256 hex>.jpg`.
//!
//! Kept by hand rather than with `object_store`'s local file system: an upload
//! here is one file appended in place and synced chunk by chunk, and a photo
//! becomes visible by a hard link of that file, with no copy; every write is
//! fsynced, which that crate does not do.

use super::StoredPhoto;
use crate::error::Result;
use fieldproof_core::{hex, private_files};
use ring::digest;
use std::fs::{self, File};
use std::io::{ErrorKind, Read, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

pub struct FolderStore {
    pub photos: PathBuf,
    pub uploads: PathBuf,
    /// The bureau's thumbnails of originals (derivatives, made again if lost).
    pub thumbnails: PathBuf,
}

impl FolderStore {
    pub fn open(data_dir: &Path) -> Result<Self> {
        let files = Self {
            photos: data_dir.join("photos"),
            uploads: data_dir.join("uploads"),
            thumbnails: data_dir.join("thumbnails"),
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

    /// Hashes upload `id`'s file; if it is `length` bytes of `sha256`, makes it
    /// the photo `photos/<sha256 hex>`: synced, then hard-linked into place, so
    /// at every instant the photo is either absent or complete. A photo already
    /// held (same hash, so same bytes) is kept as it is.
    pub fn keep_upload(&self, id: &str, length: u64, sha256: &[u8; 32]) -> Result<bool> {
        let upload = self.upload_path(id);
        let (found, size) = hash_file(&upload)?;
        if found != *sha256 || size != length {
            return Ok(false);
        }
        File::open(&upload)?.sync_all()?;
        self.link_photo(&upload, sha256)?;
        Ok(true)
    }

    /// Hard-links the synced file `file` into place as photo `sha256` and syncs
    /// the folder's entry; a photo already held (same hash, same bytes) stays.
    fn link_photo(&self, file: &Path, sha256: &[u8; 32]) -> Result<()> {
        match fs::hard_link(file, self.photo_path(sha256)) {
            Ok(()) => Ok(File::open(&self.photos)?.sync_all()?),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a photo whole (a restore): under a name of its own, synced, then
    /// linked into place, so the photo is either absent or complete.
    pub fn put_photo(&self, sha256: &[u8; 32], bytes: &[u8]) -> Result<()> {
        let partial = self.photos.join(format!(
            "{}.{}.part",
            hex::encode(sha256),
            uuid::Uuid::now_v7()
        ));
        let mut file = private_files::create(&partial)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        let linked = self.link_photo(&partial, sha256);
        fs::remove_file(&partial)?;
        linked
    }

    pub fn photo(&self, sha256: &[u8; 32]) -> Result<Option<StoredPhoto>> {
        match File::open(self.photo_path(sha256)) {
            Ok(file) => Ok(Some(StoredPhoto {
                size: file.metadata()?.len(),
                reader: Box::new(file),
            })),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn thumbnail(&self, sha256: &[u8; 32]) -> Option<Vec<u8>> {
        fs::read(self.thumbnail_path(sha256)).ok()
    }

    /// Writes under a name of its own, then renames: two makers of one thumbnail
    /// (a case file and a console page asking at once) never mix their bytes, and
    /// a reader sees all of one or none.
    pub fn keep_thumbnail(&self, sha256: &[u8; 32], jpeg: &[u8]) -> Result<()> {
        let kept = self.thumbnail_path(sha256);
        let partial = kept.with_extension(format!("{}.part", uuid::Uuid::now_v7()));
        let written = private_files::create(&partial)
            .and_then(|mut f| f.write_all(jpeg))
            .and_then(|()| fs::rename(&partial, &kept));
        if written.is_err() {
            let _ = fs::remove_file(&partial);
        }
        Ok(written?)
    }

    /// Removes an upload's file; one already gone is fine.
    pub fn remove_upload_file(&self, id: &str) -> Result<()> {
        match fs::remove_file(self.upload_path(id)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// The photos on disk (names that are not a hash are skipped: partial
    /// writes, never photos).
    pub fn photo_hashes(&self) -> Result<Vec<[u8; 32]>> {
        let mut hashes = Vec::new();
        for entry in fs::read_dir(&self.photos)? {
            if let Some(hash) = entry?.file_name().to_str().and_then(hex::decode32) {
                hashes.push(hash);
            }
        }
        Ok(hashes)
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

/// SHA-256 and size of a file, read in small pieces.
fn hash_file(path: &Path) -> Result<([u8; 32], u64)> {
    let mut file = File::open(path)?;
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
