//! The bureau's own thumbnail of each photo original it holds, made from the
//! original once, after its upload completes, and kept beside it
//! (`PhotoFiles::thumbnail_path`): the printed record shows one per photo, and
//! decoding a 12 MP original takes about 100 ms, which made a case file of 30
//! photos six times slower than hashing its bytes. Made here rather than taken
//! from the device: what the record shows must come from the bytes whose hash
//! it prints.

use fieldproof_core::evidence::exif::read_metadata;
use fieldproof_core::evidence::thumbnail::{
    make_thumbnail, DecodeLimits, Thumbnail, ThumbnailError,
};
use fieldproof_core::private_files;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

/// Long edge in pixels: the printed record's figure (about 130 pt) at some
/// 200 dpi.
const EDGE: u32 = 360;

/// Makes the thumbnail of `original` and keeps it at `kept`, on the blocking
/// pool when called inside the runtime (the upload's answer does not wait for
/// a derivative). A photo that has none (HEIC, a damaged file) is said in the
/// log by code and left without.
pub fn make_in_background(original: PathBuf, kept: PathBuf) {
    let work = move || match make(&original) {
        Ok(thumbnail) => keep(&kept, &thumbnail),
        Err(e) => tracing::info!(code = e.code(), "no thumbnail for a received photo"),
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(work)),
        Err(_) => work(),
    }
}

/// The thumbnail kept at `kept`, else one made now from `original` (and kept).
pub fn of(original: &Path, kept: &Path) -> Result<Thumbnail, ThumbnailError> {
    if let Some(thumbnail) = std::fs::read(kept).ok().and_then(Thumbnail::from_jpeg) {
        return Ok(thumbnail);
    }
    let thumbnail = make(original)?;
    keep(kept, &thumbnail);
    Ok(thumbnail)
}

fn make(original: &Path) -> Result<Thumbnail, ThumbnailError> {
    let orientation = File::open(original)
        .ok()
        .and_then(|f| read_metadata(&mut BufReader::new(f)).ok())
        .and_then(|m| m.orientation);
    make_thumbnail(
        &mut File::open(original)?,
        EDGE,
        orientation,
        &DecodeLimits::default(),
    )
}

/// Writes under a name of its own, then renames: two makers of one thumbnail
/// (the upload's and a case file's) never mix their bytes, and a reader sees
/// all of one or none.
fn keep(kept: &Path, thumbnail: &Thumbnail) {
    let partial = kept.with_extension(format!("{}.part", uuid::Uuid::now_v7()));
    let written = private_files::create(&partial)
        .and_then(|mut f| f.write_all(&thumbnail.jpeg))
        .and_then(|()| std::fs::rename(&partial, kept));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        tracing::warn!(error = %e.kind(), "thumbnail made but not kept");
    }
}
