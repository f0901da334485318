//! Photos in an S3-compatible object store (`[photo_store]` in the configuration),
//! through the `object_store` crate (Apache Arrow's client: SigV4, retries,
//! create-only writes with `If-None-Match: *`).
//!
//! Keys, under the configured prefix:
//! - `photos/<sha256 hex>`: a complete, verified photo, written once (create-only);
//! - `thumbnails/<sha256 hex>.jpg`: the bureau's thumbnail of it;
//! - `uploads/<upload id>/<start offset, 20 digits>`: the pieces of an upload in
//!   progress, one object per kept run of bytes (a tus chunk, or 8 MiB of a
//!   longer one). S3's multipart upload cannot take them: its parts must be at
//!   least 5 MiB, and a 2G chunk is a few hundred kilobytes.
//!
//! Which pieces make an upload is read from the store when its last byte is
//! in: starting at offset 0, each piece is followed by the one that starts where
//! it ends. Pieces off that chain (a chunk written just before a crash and
//! never recorded) are ignored, and a piece at a recorded offset is the last one
//! written there (the database's writer lease lets one request write at a
//! time). The whole photo is then hashed in memory (at most
//! `limits.max_photo_bytes`) and only if it matches is it written as a photo. A
//! photo sent in one request never becomes a piece: it is still in memory when
//! its last byte arrives (`ChunkWriter::take_whole_upload`).
//!
//! The client runs on a small runtime of its own, so the store can be used
//! from blocking code (case files, thumbnails) and from any runtime alike.

use super::StoredPhoto;
use crate::config::S3Settings;
use crate::error::{Error, Result};
use bytes::Bytes;
use fieldproof_core::hex;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutPayload};
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::io::Cursor;
use std::sync::Arc;

/// Longest piece of an upload kept as one object; a chunk's bytes are held in
/// memory until then.
const PIECE_BYTES: usize = 8 << 20;

pub struct S3Store {
    store: Arc<AmazonS3>,
    prefix: Path,
    description: String,
    /// `None` only while dropping.
    io: Option<tokio::runtime::Runtime>,
}

impl Drop for S3Store {
    fn drop(&mut self) {
        // A runtime may not be dropped (waited for) inside another one.
        if let Some(io) = self.io.take() {
            io.shutdown_background();
        }
    }
}

impl S3Store {
    pub fn open(settings: &S3Settings) -> Result<Self> {
        // reqwest's TLS takes the process's default provider: ring, as the
        // bureau's own TLS. Installed already (by the bureau's server) is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Bodies go unsigned (`UNSIGNED-PAYLOAD`, as S3's SDKs send them over
        // HTTPS): hashing each body for the signature cost the bureau and the
        // server a SHA-256 pass per write, and a photo's bytes are checked
        // against their hash here before anything is named after it.
        let mut builder = AmazonS3Builder::new()
            .with_unsigned_payload(true)
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(settings.access_key_id()?)
            .with_secret_access_key(settings.secret_access_key()?);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|e| Error::InvalidConfig {
            reason: format!("photo_store: {e}"),
        })?;
        let io = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("photo-store-io")
            .enable_all()
            .build()?;
        Ok(Self {
            store: Arc::new(store),
            prefix: Path::from(settings.prefix.as_str()),
            description: format!(
                "s3 {}/{}/{}",
                settings.endpoint.as_deref().unwrap_or("aws"),
                settings.bucket,
                settings.prefix
            ),
            io: Some(io),
        })
    }

    pub fn describe(&self) -> String {
        self.description.clone()
    }

    fn key(&self, parts: &[&str]) -> Path {
        parts
            .iter()
            .fold(self.prefix.clone(), |path, part| path.clone().join(*part))
    }

    fn photo_key(&self, sha256: &[u8; 32]) -> Path {
        self.key(&["photos", &hex::encode(sha256)])
    }

    fn thumbnail_key(&self, sha256: &[u8; 32]) -> Path {
        self.key(&["thumbnails", &format!("{}.jpg", hex::encode(sha256))])
    }

    fn upload_key(&self, id: &str) -> Path {
        self.key(&["uploads", id])
    }

    fn io(&self) -> &tokio::runtime::Runtime {
        self.io
            .as_ref()
            .expect("the runtime lives as long as the store")
    }

    /// Runs `work` on the store's runtime and waits for it, from blocking code.
    fn block<T: Send + 'static>(
        &self,
        work: impl Future<Output = object_store::Result<T>> + Send + 'static,
    ) -> Result<T> {
        let (sender, answer) = tokio::sync::oneshot::channel();
        self.io().spawn(async move { sender.send(work.await) });
        answer.blocking_recv().map_err(task_failed)?.map_err(failed)
    }

    pub fn chunk_writer(&self, id: &str, offset: u64) -> ChunkWriter {
        ChunkWriter {
            store: self.store.clone(),
            io: self.io().handle().clone(),
            upload: self.upload_key(id),
            piece_start: offset,
            buffer: Vec::new(),
            written: 0,
            pieces: Vec::new(),
        }
    }

    pub fn keep_upload(&self, id: &str, length: u64, sha256: &[u8; 32]) -> Result<bool> {
        let store = self.store.clone();
        let upload = self.upload_key(id);
        let photo = self.photo_key(sha256);
        let expected = *sha256;
        self.block(async move {
            let Some(bytes) = assemble(&store, &upload, length).await? else {
                return Ok(false);
            };
            if fieldproof_core::evidence::sha256(&bytes) != expected {
                return Ok(false);
            }
            put_once(&store, &photo, bytes.into()).await?;
            Ok(true)
        })
    }

    pub fn put_photo(&self, sha256: &[u8; 32], bytes: &[u8]) -> Result<()> {
        let store = self.store.clone();
        let photo = self.photo_key(sha256);
        let bytes = Bytes::copy_from_slice(bytes);
        self.block(async move { put_once(&store, &photo, bytes.into()).await })
    }

    pub fn remove_upload(&self, id: &str) -> Result<()> {
        let store = self.store.clone();
        let upload = self.upload_key(id);
        self.block(async move {
            for piece in store.list_with_delimiter(Some(&upload)).await?.objects {
                delete_quietly(&store, &piece.location).await?;
            }
            Ok(())
        })
    }

    /// Listed by their pieces, not as folders: some servers (SeaweedFS) keep
    /// an emptied folder a while.
    pub fn upload_ids(&self) -> Result<Vec<String>> {
        let store = self.store.clone();
        let uploads = self.key(&["uploads"]);
        let depth = uploads.parts().count();
        let pieces: Vec<ObjectMeta> =
            self.block(async move { store.list(Some(&uploads)).try_collect().await })?;
        let ids: BTreeSet<String> = pieces
            .iter()
            .filter_map(|piece| piece.location.parts().nth(depth))
            .map(|id| id.as_ref().to_owned())
            .filter(|id| uuid::Uuid::try_parse(id).is_ok())
            .collect();
        Ok(ids.into_iter().collect())
    }

    pub fn photo_hashes(&self) -> Result<Vec<[u8; 32]>> {
        let store = self.store.clone();
        let photos = self.key(&["photos"]);
        let listed = self.block(async move { store.list_with_delimiter(Some(&photos)).await })?;
        Ok(listed
            .objects
            .iter()
            .filter_map(|o| o.location.filename().and_then(hex::decode32))
            .collect())
    }

    pub fn photo(&self, sha256: &[u8; 32]) -> Result<Option<StoredPhoto>> {
        Ok(self.get(self.photo_key(sha256))?.map(|bytes| StoredPhoto {
            size: bytes.len() as u64,
            reader: Box::new(Cursor::new(bytes)),
        }))
    }

    pub fn contains_photo(&self, sha256: &[u8; 32]) -> Result<bool> {
        let store = self.store.clone();
        let key = self.photo_key(sha256);
        self.block(async move {
            match store.head(&key).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    pub fn thumbnail(&self, sha256: &[u8; 32]) -> Option<Vec<u8>> {
        self.get(self.thumbnail_key(sha256))
            .ok()
            .flatten()
            .map(Vec::from)
    }

    pub fn keep_thumbnail(&self, sha256: &[u8; 32], jpeg: &[u8]) -> Result<()> {
        let store = self.store.clone();
        let key = self.thumbnail_key(sha256);
        let jpeg = Bytes::copy_from_slice(jpeg);
        self.block(async move { store.put(&key, jpeg.into()).await.map(drop) })
    }

    fn get(&self, key: Path) -> Result<Option<Bytes>> {
        let store = self.store.clone();
        self.block(async move {
            match store.get(&key).await {
                Ok(found) => found.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }
}

/// The bytes of the upload whose pieces are under `upload`, in order, when its
/// pieces chain from 0 to exactly `length`; `None` when they do not.
async fn assemble(
    store: &AmazonS3,
    upload: &Path,
    length: u64,
) -> object_store::Result<Option<Vec<u8>>> {
    let listed = store.list_with_delimiter(Some(upload)).await?;
    let by_start: HashMap<u64, &Path> = listed
        .objects
        .iter()
        .filter_map(|o| Some((o.location.filename()?.parse().ok()?, &o.location)))
        .collect();
    let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    while (bytes.len() as u64) < length {
        let Some(piece) = by_start.get(&(bytes.len() as u64)) else {
            return Ok(None);
        };
        bytes.extend_from_slice(&store.get(piece).await?.bytes().await?);
    }
    Ok((bytes.len() as u64 == length).then_some(bytes))
}

/// Writes `key` unless it exists: a photo is named by its hash, so one already
/// there holds these very bytes.
async fn put_once(store: &AmazonS3, key: &Path, bytes: PutPayload) -> object_store::Result<()> {
    match store.put_opts(key, bytes, PutMode::Create.into()).await {
        Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn delete_quietly(store: &AmazonS3, key: &Path) -> object_store::Result<()> {
    match store.delete(key).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

fn failed(e: object_store::Error) -> Error {
    // The store's own words name the key and the status, never a secret.
    Error::PhotoStore {
        reason: e.to_string(),
    }
}

fn task_failed(_: impl std::error::Error) -> Error {
    Error::PhotoStore {
        reason: "the photo store's worker stopped".into(),
    }
}

/// Takes one chunk: its bytes are held in memory and written as pieces of at
/// most [`PIECE_BYTES`].
pub struct ChunkWriter {
    store: Arc<AmazonS3>,
    io: tokio::runtime::Handle,
    upload: Path,
    /// Where the bytes held in `buffer` start in the upload.
    piece_start: u64,
    buffer: Vec<u8>,
    written: u64,
    /// The pieces this chunk wrote, to delete should it be discarded.
    pieces: Vec<Path>,
}

impl ChunkWriter {
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.buffer.extend_from_slice(bytes);
        self.written += bytes.len() as u64;
        if self.buffer.len() >= PIECE_BYTES {
            self.put_piece().await?;
        }
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn take_whole_upload(&mut self, length: u64) -> Option<Vec<u8>> {
        let whole =
            self.piece_start == 0 && self.pieces.is_empty() && self.buffer.len() as u64 == length;
        whole.then(|| std::mem::take(&mut self.buffer))
    }

    pub async fn keep(mut self) -> Result<u64> {
        if !self.buffer.is_empty() {
            self.put_piece().await?;
        }
        Ok(self.piece_start)
    }

    pub async fn discard(self) -> Result<()> {
        let store = self.store.clone();
        let pieces = self.pieces;
        self.io
            .spawn(async move {
                for piece in &pieces {
                    delete_quietly(&store, piece).await?;
                }
                Ok(())
            })
            .await
            .map_err(task_failed)?
            .map_err(failed)
    }

    async fn put_piece(&mut self) -> Result<()> {
        let key = self
            .upload
            .clone()
            .join(format!("{:020}", self.piece_start));
        let bytes = Bytes::from(std::mem::take(&mut self.buffer));
        let length = bytes.len() as u64;
        let store = self.store.clone();
        let put = key.clone();
        self.io
            .spawn(async move { store.put(&put, bytes.into()).await })
            .await
            .map_err(task_failed)?
            .map_err(failed)?;
        self.pieces.push(key);
        self.piece_start += length;
        Ok(())
    }
}
