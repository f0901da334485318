//! The bureau's own thumbnail of each photo original it holds, made from the
//! original once, after its upload completes, and kept in the photo store
//! beside it: the printed record shows one per photo, and decoding a 12 MP
//! original takes about 100 ms, which made a case file of 30 photos six times
//! slower than hashing its bytes. Made here rather than taken from the device:
//! what the record shows must come from the bytes whose hash it prints.

use crate::storage::PhotoStore;
use fieldproof_core::evidence::exif::read_metadata;
use fieldproof_core::evidence::thumbnail::{
    make_thumbnail, DecodeLimits, Thumbnail, ThumbnailError,
};
use std::io::{self, Cursor};

/// Long edge in pixels: the printed record's figure (about 130 pt) at some
/// 200 dpi.
const EDGE: u32 = 360;

/// Makes the thumbnail of photo `sha256` and keeps it, on the blocking pool
/// when called inside the runtime (the upload's answer does not wait for a
/// derivative). `original` is the photo's bytes when the caller holds them
/// (else they are read from the store). A photo that has none (HEIC, a damaged
/// file) is said in the log by code and left without.
pub fn make_in_background(photos: PhotoStore, sha256: [u8; 32], original: Option<Vec<u8>>) {
    let work = move || match original.map_or_else(|| make(&photos, &sha256), |o| decode(&o)) {
        Ok(thumbnail) => keep(&photos, &sha256, &thumbnail),
        Err(e) => tracing::info!(code = e.code(), "no thumbnail for a received photo"),
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(work)),
        Err(_) => work(),
    }
}

/// The thumbnail kept of photo `sha256`, else one made now (and kept).
pub fn of(photos: &PhotoStore, sha256: &[u8; 32]) -> Result<Thumbnail, ThumbnailError> {
    if let Some(thumbnail) = photos.thumbnail(sha256).and_then(Thumbnail::from_jpeg) {
        return Ok(thumbnail);
    }
    let thumbnail = make(photos, sha256)?;
    keep(photos, sha256, &thumbnail);
    Ok(thumbnail)
}

fn make(photos: &PhotoStore, sha256: &[u8; 32]) -> Result<Thumbnail, ThumbnailError> {
    match photos.photo_bytes(sha256) {
        Ok(Some(original)) => decode(&original),
        Ok(None) => Err(io::Error::from(io::ErrorKind::NotFound).into()),
        Err(e) => Err(io::Error::other(e.code()).into()),
    }
}

fn decode(original: &[u8]) -> Result<Thumbnail, ThumbnailError> {
    let orientation = read_metadata(&mut Cursor::new(original))
        .ok()
        .and_then(|m| m.orientation);
    make_thumbnail(
        &mut Cursor::new(original),
        EDGE,
        orientation,
        &DecodeLimits::default(),
    )
}

fn keep(photos: &PhotoStore, sha256: &[u8; 32], thumbnail: &Thumbnail) {
    if let Err(e) = photos.keep_thumbnail(sha256, &thumbnail.jpeg) {
        tracing::warn!(code = e.code(), "thumbnail made but not kept");
    }
}
