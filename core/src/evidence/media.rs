//! What kind of file a photo is, told by its leading bytes (never by its name or
//! by what the platform claims), and its digest.
//!
//! Why our own sniffing: the app takes six image types and refuses the rest
//! with one code; a general sniffer (`infer`) knows a hundred types we would
//! filter back to six, and tells HEIC, HEIF and AVIF apart by its own brand
//! list, where evidence needs the ftyp rule written down below.

use crate::error::{Error, Result};
use std::io::{self, Read, Write};

/// How many leading bytes [`sniff`] looks at; fewer work when the file is
/// shorter, but a HEIF `ftyp` box listing many brands needs this many.
pub const SNIFF_BYTES: usize = 128;

/// An image format the app accepts as evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Jpeg,
    Png,
    /// HEIF with HEVC-coded images (iPhone, many Android phones).
    Heic,
    /// HEIF whose brands name no specific codec.
    Heif,
    Avif,
    WebP,
}

impl MediaType {
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Heic => "image/heic",
            MediaType::Heif => "image/heif",
            MediaType::Avif => "image/avif",
            MediaType::WebP => "image/webp",
        }
    }
}

/// Recognises the format from the first bytes of a file (pass up to
/// [`SNIFF_BYTES`]); anything else is `UnsupportedMedia`.
pub fn sniff(first_bytes: &[u8]) -> Result<MediaType> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    match first_bytes {
        [0xff, 0xd8, 0xff, ..] => Ok(MediaType::Jpeg),
        b if b.starts_with(PNG) => Ok(MediaType::Png),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Ok(MediaType::WebP),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => sniff_ftyp(first_bytes),
        _ => Err(Error::UnsupportedMedia),
    }
}

/// An ISO BMFF `ftyp` box: the major brand decides if it names a codec,
/// otherwise the first compatible brand that does; generic HEIF brands alone
/// give [`MediaType::Heif`]. Video brands (`isom`, `qt  `, …) are not images.
fn sniff_ftyp(bytes: &[u8]) -> Result<MediaType> {
    let box_size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if box_size < 16 || bytes.len() < 16 {
        return Err(Error::UnsupportedMedia);
    }
    let major = &bytes[8..12];
    // Bytes 12..16 are the minor version; compatible brands follow up to the box end.
    let compatible = bytes[16..box_size.min(bytes.len())].chunks_exact(4);
    let brands: Vec<Option<MediaType>> = std::iter::once(major)
        .chain(compatible)
        .map(brand_type)
        .collect();
    brands
        .iter()
        .flatten()
        .copied()
        .find(|t| *t != MediaType::Heif)
        .or_else(|| brands.iter().flatten().next().copied())
        .ok_or(Error::UnsupportedMedia)
}

fn brand_type(brand: &[u8]) -> Option<MediaType> {
    match brand {
        b"avif" | b"avis" => Some(MediaType::Avif),
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"hevm" | b"hevs" => {
            Some(MediaType::Heic)
        }
        b"mif1" | b"msf1" | b"mif2" => Some(MediaType::Heif),
        _ => None,
    }
}

/// SHA-256 and size of the exact bytes of a file, read as a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaDigest {
    pub sha256: [u8; 32],
    pub size: u64,
}

/// Hashes everything `reader` yields, in bounded memory.
pub fn digest(mut reader: impl Read) -> Result<MediaDigest> {
    let mut hasher = HashingWriter::new(io::sink());
    io::copy(&mut reader, &mut hasher)?;
    Ok(hasher.finish())
}

/// Passes bytes on to `inner` while hashing exactly the bytes it accepted, so a
/// copy and its digest come from one read of the source.
pub struct HashingWriter<W: Write> {
    inner: W,
    hash: ring::digest::Context,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hash: ring::digest::Context::new(&ring::digest::SHA256),
            size: 0,
        }
    }

    pub fn finish(self) -> MediaDigest {
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(self.hash.finish().as_ref());
        MediaDigest {
            sha256,
            size: self.size,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::sha256;

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut out = (size as u32).to_be_bytes().to_vec();
        out.extend_from_slice(b"ftyp");
        out.extend_from_slice(major);
        out.extend_from_slice(&[0, 0, 0, 0]);
        compatible.iter().for_each(|b| out.extend_from_slice(*b));
        out.extend_from_slice(b"\0\0\0\x08meta"); // the next box, not brands
        out
    }

    #[test]
    fn recognises_image_formats_by_magic_number() {
        let cases: Vec<(Vec<u8>, MediaType)> = vec![
            (vec![0xff, 0xd8, 0xff, 0xe1, 0, 0], MediaType::Jpeg),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(), MediaType::Png),
            (b"RIFF\x24\0\0\0WEBPVP8 ".to_vec(), MediaType::WebP),
            (ftyp(b"heic", &[b"mif1", b"heic"]), MediaType::Heic),
            (ftyp(b"mif1", &[b"mif1", b"heic"]), MediaType::Heic),
            (ftyp(b"heix", &[]), MediaType::Heic),
            (ftyp(b"msf1", &[b"msf1", b"hevc"]), MediaType::Heic),
            (ftyp(b"mif1", &[b"mif1", b"miaf"]), MediaType::Heif),
            (ftyp(b"avif", &[b"avif", b"mif1", b"miaf"]), MediaType::Avif),
            (ftyp(b"mif1", &[b"avif"]), MediaType::Avif),
        ];
        for (bytes, expected) in cases {
            let found = sniff(&bytes).unwrap();
            assert_eq!(found, expected, "{bytes:02x?}");
        }
        assert_eq!(MediaType::Heic.mime(), "image/heic");
        assert_eq!(MediaType::Jpeg.mime(), "image/jpeg");
    }

    #[test]
    fn refuses_everything_else() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0xff, 0xd8], // too short for JPEG
            b"GIF89a".to_vec(),
            b"%PDF-1.7".to_vec(),
            b"RIFF\0\0\0\0WAVEfmt ".to_vec(),
            ftyp(b"isom", &[b"isom", b"mp41"]), // MP4 video
            ftyp(b"qt  ", &[]),                 // QuickTime
            b"\0\0\0\x08ftypheic".to_vec(),     // box too small to hold a brand
            b"\0\0\0\x18ftyp".to_vec(),         // cut off before the brand
        ];
        for bytes in cases {
            assert_eq!(
                sniff(&bytes).unwrap_err().code(),
                "unsupported_media",
                "{bytes:02x?}"
            );
        }
    }

    #[test]
    fn digest_streams_the_exact_bytes() {
        let data = vec![0xab; 200_000];
        let digest = digest(data.as_slice()).unwrap();
        assert_eq!(digest.size, 200_000);
        assert_eq!(digest.sha256, sha256(&data));
    }
}
