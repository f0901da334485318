//! The photo store: where photo bytes live, behind one interface with two
//! places to keep them (`bureau/docs/photo-store.md`).
//!
//! - [`folder`]: the data folder of an embedded bureau (the default);
//! - [`s3`]: an S3-compatible object store, shared by several bureau processes.
//!
//! Either holds three kinds of bytes, all under names the bureau made (an
//! upload id it chose, a hash it computed), never anything a device sent:
//! complete photos by SHA-256, the bureau's thumbnails of them, and the bytes of
//! uploads in progress. Who may write an upload's bytes at a given moment is
//! decided in the database (`uploads::lease`), not here.

pub mod folder;
pub mod s3;

use crate::error::Result;
use std::io::Read;
use std::sync::Arc;

/// One place photos are kept; cheap to clone, shared by every request.
#[derive(Clone)]
pub struct PhotoStore(Arc<Backend>);

enum Backend {
    Folder(folder::FolderStore),
    S3(s3::S3Store),
}

/// A complete photo, read from the store.
pub struct StoredPhoto {
    pub size: u64,
    pub reader: Box<dyn Read + Send>,
}

impl PhotoStore {
    pub fn folder(store: folder::FolderStore) -> Self {
        Self(Arc::new(Backend::Folder(store)))
    }

    pub fn s3(store: s3::S3Store) -> Self {
        Self(Arc::new(Backend::S3(store)))
    }

    /// Where the photos are, for the operator (no credentials).
    pub fn describe(&self) -> String {
        match &*self.0 {
            Backend::Folder(f) => format!("folder {}", f.photos.display()),
            Backend::S3(s) => s.describe(),
        }
    }

    /// Opens upload `id` for a chunk starting at `offset`. Bytes past `offset` (a
    /// discarded chunk's, or ones written just before a crash) never count.
    pub async fn chunk_writer(&self, id: &str, offset: u64) -> Result<ChunkWriter> {
        Ok(match &*self.0 {
            Backend::Folder(f) => ChunkWriter::Folder(f.chunk_writer(id, offset).await?),
            Backend::S3(s) => ChunkWriter::S3(s.chunk_writer(id, offset)),
        })
    }

    /// The last byte of upload `id` is in: if its bytes are `length` long and
    /// hash to `sha256`, they become that photo (kept as a whole, or already
    /// held) and `true` is returned; otherwise nothing is kept and `false`
    /// says so. The upload's own bytes stay until [`Self::remove_upload`].
    pub fn keep_upload(&self, id: &str, length: u64, sha256: &[u8; 32]) -> Result<bool> {
        match &*self.0 {
            Backend::Folder(f) => f.keep_upload(id, length, sha256),
            Backend::S3(s) => s.keep_upload(id, length, sha256),
        }
    }

    /// Keeps `bytes`, a whole upload held in memory, as photo `sha256` if they are
    /// `length` bytes that hash to it (as [`Self::keep_upload`]).
    pub fn keep_bytes(&self, bytes: &[u8], length: u64, sha256: &[u8; 32]) -> Result<bool> {
        if bytes.len() as u64 != length || fieldproof_core::evidence::sha256(bytes) != *sha256 {
            return Ok(false);
        }
        self.put_photo(sha256, bytes)?;
        Ok(true)
    }

    /// Removes an upload's bytes; ones already gone are fine.
    pub fn remove_upload(&self, id: &str) -> Result<()> {
        match &*self.0 {
            Backend::Folder(f) => f.remove_upload_file(id),
            Backend::S3(s) => s.remove_upload(id),
        }
    }

    /// The ids of the uploads that have bytes in the store.
    pub fn upload_ids(&self) -> Result<Vec<String>> {
        match &*self.0 {
            Backend::Folder(f) => f.upload_ids_on_disk(),
            Backend::S3(s) => s.upload_ids(),
        }
    }

    /// The photo `sha256`, or `None` when the store does not hold it.
    pub fn photo(&self, sha256: &[u8; 32]) -> Result<Option<StoredPhoto>> {
        match &*self.0 {
            Backend::Folder(f) => f.photo(sha256),
            Backend::S3(s) => s.photo(sha256),
        }
    }

    /// The hashes of every photo the store holds, in no particular order.
    pub fn photo_hashes(&self) -> Result<Vec<[u8; 32]>> {
        match &*self.0 {
            Backend::Folder(f) => f.photo_hashes(),
            Backend::S3(s) => s.photo_hashes(),
        }
    }

    /// Whether the store holds photo `sha256` (without reading it).
    pub fn contains_photo(&self, sha256: &[u8; 32]) -> Result<bool> {
        match &*self.0 {
            Backend::Folder(f) => Ok(f.photo_path(sha256).exists()),
            Backend::S3(s) => s.contains_photo(sha256),
        }
    }

    /// The whole of photo `sha256` in memory.
    pub fn photo_bytes(&self, sha256: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        let Some(mut photo) = self.photo(sha256)? else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(usize::try_from(photo.size).unwrap_or(0));
        photo.reader.read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    }

    /// The bureau's thumbnail of photo `sha256`, if one was kept.
    pub fn thumbnail(&self, sha256: &[u8; 32]) -> Option<Vec<u8>> {
        match &*self.0 {
            Backend::Folder(f) => f.thumbnail(sha256),
            Backend::S3(s) => s.thumbnail(sha256),
        }
    }

    /// Keeps a thumbnail (a derivative: made again if lost).
    pub fn keep_thumbnail(&self, sha256: &[u8; 32], jpeg: &[u8]) -> Result<()> {
        match &*self.0 {
            Backend::Folder(f) => f.keep_thumbnail(sha256, jpeg),
            Backend::S3(s) => s.keep_thumbnail(sha256, jpeg),
        }
    }

    /// Keeps `bytes` as photo `sha256`, which the caller has checked they are
    /// (a backup, a restore); one already held is kept as it is.
    pub fn put_photo(&self, sha256: &[u8; 32], bytes: &[u8]) -> Result<()> {
        match &*self.0 {
            Backend::Folder(f) => f.put_photo(sha256, bytes),
            Backend::S3(s) => s.put_photo(sha256, bytes),
        }
    }
}

/// Takes one chunk of an upload; the chunk is then either kept (durable, so the
/// offset recorded after it is never ahead of the bytes) or discarded.
pub enum ChunkWriter {
    Folder(folder::ChunkWriter),
    S3(s3::ChunkWriter),
}

impl ChunkWriter {
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        match self {
            ChunkWriter::Folder(w) => w.write(bytes).await,
            ChunkWriter::S3(w) => w.write(bytes).await,
        }
    }

    pub fn written(&self) -> u64 {
        match self {
            ChunkWriter::Folder(w) => w.written(),
            ChunkWriter::S3(w) => w.written(),
        }
    }

    /// The chunk's bytes, when they are an upload of `length` bytes whole, from
    /// its first byte, still held in memory and stored nowhere yet (S3: a photo
    /// sent in one request). The folder store writes as bytes arrive: never.
    pub fn take_whole_upload(&mut self, length: u64) -> Option<Vec<u8>> {
        match self {
            ChunkWriter::Folder(_) => None,
            ChunkWriter::S3(w) => w.take_whole_upload(length),
        }
    }

    /// Makes the chunk durable; returns the offset after it.
    pub async fn keep(self) -> Result<u64> {
        match self {
            ChunkWriter::Folder(w) => w.keep().await,
            ChunkWriter::S3(w) => w.keep().await,
        }
    }

    /// Drops what this chunk wrote.
    pub async fn discard(self) -> Result<()> {
        match self {
            ChunkWriter::Folder(w) => w.discard().await,
            ChunkWriter::S3(w) => w.discard().await,
        }
    }
}
