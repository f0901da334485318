//! The bureau's own thumbnail of each photo original it holds, made from the
//! original the first time one is needed (the printed record of a case file,
//! the console's case page) and kept in the photo store beside it, so every
//! later case file and page, in any bureau process, reads it instead: decoding a
//! 12 MP original takes about 100 ms, which made a case file of 30 photos six
//! times slower than hashing its bytes. Made then, not when the upload
//! completes: in the load bench, thumbnails made at upload took some 40% of the
//! photo path (28.8 photos/s with them, 47.8 without, bureau/docs/scaling.md),
//! and the burning season's peak is when photos arrive and nobody reads them
//! yet. Made here rather than taken from the device: what the record shows must
//! come from the bytes whose hash it prints.

use crate::storage::PhotoStore;
use fieldproof_core::evidence::exif::read_metadata;
use fieldproof_core::evidence::thumbnail::{
    make_thumbnail, DecodeLimits, Thumbnail, ThumbnailError,
};
use std::io::{self, Cursor};

/// Long edge in pixels: the printed record's figure (about 130 pt) at some
/// 200 dpi.
const EDGE: u32 = 360;

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
