//! JPEG, read for what evidence needs: the metadata walk ([`header`]: the
//! frame and EXIF, never the image data) and a decoder at reduced scale
//! ([`scaled`]) for thumbnails and previews, built from the marker segments,
//! the entropy-coded bits, baseline and progressive scans, reduced IDCTs and
//! the interleaving of components into pixels.

pub(crate) mod color;
mod entropy;
pub(crate) mod header;
mod idct;
mod progressive;
pub(crate) mod scaled;
mod segments;
mod sequential;

pub(crate) use color::Pixels;
pub(crate) use header::{read_header, Frame};
