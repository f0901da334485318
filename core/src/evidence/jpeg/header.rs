//! Walks a JPEG's marker segments up to the first scan, reading only what the
//! metadata and thumbnail code need: the frame header (SOF: the dimensions
//! decoders actually use) and the EXIF APP1 payload. Scan data is never read,
//! so this costs a few kilobytes of I/O whatever the photo's size.

use std::io::{self, ErrorKind, Read};

/// "Exif\0\0": the identifier that starts an EXIF APP1 segment.
const EXIF_ID: &[u8] = b"Exif\0\0";

/// A JPEG frame header (ITU T.81 B.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The SOFn marker's second byte (0xc0 baseline … 0xcf).
    pub marker: u8,
    pub precision: u8,
    pub width: u16,
    pub height: u16,
    /// Horizontal and vertical sampling factors of each component.
    pub sampling: Vec<(u8, u8)>,
}

impl Frame {
    pub fn is_progressive(&self) -> bool {
        self.marker == 0xc2
    }

    /// 8-bit Huffman DCT (baseline, extended or progressive) with one, three
    /// or four (CMYK or YCCK, as Adobe writes them) components: what phones
    /// and scanners write, and what the decoder here handles.
    pub fn is_decodable(&self) -> bool {
        matches!(self.marker, 0xc0..=0xc2)
            && self.precision == 8
            && matches!(self.sampling.len(), 1 | 3 | 4)
    }
}

/// What the walk found. A damaged file still yields whatever came before the
/// damage, with `error` saying what went wrong.
#[derive(Debug, Default)]
pub(crate) struct Header {
    pub frame: Option<Frame>,
    /// The first EXIF APP1 payload, starting at the TIFF header.
    pub exif: Option<Vec<u8>>,
    pub error: Option<io::Error>,
}

/// Reads segments until the first SOS marker (consumed, its segment not) or
/// EOI. Bounded: every iteration consumes input, and a segment is at most
/// 64 KiB.
pub(crate) fn read_header(reader: &mut impl Read) -> Header {
    let mut header = Header::default();
    if let Err(e) = walk(reader, &mut header) {
        header.error = Some(e);
    }
    header
}

fn walk(reader: &mut impl Read, header: &mut Header) -> io::Result<()> {
    if read_array::<2>(reader)? != [0xff, 0xd8] {
        return Err(io::Error::new(ErrorKind::Unsupported, "not a JPEG file"));
    }
    loop {
        let marker = next_marker(reader)?;
        match marker {
            0xda => return Ok(()), // SOS: the entropy-coded data starts here
            0xd9 => return Err(invalid("image ends before any scan")),
            0x01 | 0xd0..=0xd7 => continue, // stand-alone markers without a length
            0xd8 => return Err(invalid("unexpected start-of-image marker")),
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes(read_array(reader)?));
        let body_len = length
            .checked_sub(2)
            .ok_or_else(|| invalid("invalid segment length"))?;
        match marker {
            0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf if header.frame.is_none() => {
                header.frame = Some(parse_frame(marker, &read_vec(reader, body_len)?)?);
            }
            0xe1 if header.exif.is_none() => {
                let body = read_vec(reader, body_len)?;
                if let Some(tiff) = body.strip_prefix(EXIF_ID) {
                    header.exif = Some(tiff.to_vec());
                }
            }
            _ => skip(reader, body_len)?,
        }
    }
}

/// The next marker code, skipping fill bytes (0xff runs) and the stray bytes
/// some encoders leave between segments, as libjpeg does.
fn next_marker(reader: &mut impl Read) -> io::Result<u8> {
    loop {
        while read_array::<1>(reader)?[0] != 0xff {}
        let mut code = read_array::<1>(reader)?[0];
        while code == 0xff {
            code = read_array::<1>(reader)?[0];
        }
        if code != 0x00 {
            return Ok(code);
        }
    }
}

fn parse_frame(marker: u8, body: &[u8]) -> io::Result<Frame> {
    let [precision, h1, h0, w1, w0, count, ref rest @ ..] = *body else {
        return Err(invalid("frame header too short"));
    };
    let count = usize::from(count);
    if count == 0 || rest.len() != 3 * count {
        return Err(invalid("frame header length does not match its components"));
    }
    let sampling: Vec<(u8, u8)> = rest
        .chunks_exact(3)
        .map(|c| (c[1] >> 4, c[1] & 0x0f))
        .collect();
    if sampling
        .iter()
        .any(|&(h, v)| !(1..=4).contains(&h) || !(1..=4).contains(&v))
    {
        return Err(invalid("invalid sampling factor in frame header"));
    }
    let (width, height) = (u16::from_be_bytes([w1, w0]), u16::from_be_bytes([h1, h0]));
    if width == 0 || height == 0 {
        return Err(invalid("frame header has a zero dimension"));
    }
    Ok(Frame {
        marker,
        precision,
        width,
        height,
        sampling,
    })
}

fn read_array<const N: usize>(reader: &mut impl Read) -> io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    reader.read_exact(&mut buf)?;
    Ok(buf)
}

fn read_vec(reader: &mut impl Read, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    reader.read_exact(&mut buf)?;
    Ok(buf)
}

fn skip(reader: &mut impl Read, len: usize) -> io::Result<()> {
    let skipped = io::copy(&mut reader.take(len as u64), &mut io::sink())?;
    if skipped < len as u64 {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, message)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small real JPEG (gradient), made with the encoder the thumbnails use.
    pub(crate) fn sample_jpeg(width: u16, height: u16) -> Vec<u8> {
        let pixels: Vec<u8> = (0..u32::from(height))
            .flat_map(|y| {
                (0..u32::from(width)).flat_map(move |x| [(x % 256) as u8, (y % 256) as u8, 128])
            })
            .collect();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
        let len = (2 + EXIF_ID.len() + tiff.len()) as u16;
        [
            &jpeg[..2],
            &[0xff, 0xe1],
            &len.to_be_bytes(),
            EXIF_ID,
            tiff,
            &jpeg[2..],
        ]
        .concat()
    }

    #[test]
    fn reads_frame_and_exif_and_stops_at_the_scan() {
        let jpeg = with_exif(&sample_jpeg(40, 24), b"MM\0\x2a\0\0\0\x08\0\0");
        let mut reader = jpeg.as_slice();
        let header = read_header(&mut reader);
        assert!(header.error.is_none(), "{:?}", header.error);
        let frame = header.frame.unwrap();
        assert_eq!((frame.width, frame.height), (40, 24));
        assert!(frame.is_decodable() && !frame.is_progressive());
        assert_eq!(header.exif.unwrap(), b"MM\0\x2a\0\0\0\x08\0\0");
        // Stopped just after the SOS marker: the scan data is still unread.
        assert!(!reader.is_empty());
        assert_eq!(jpeg[jpeg.len() - reader.len() - 2..][..2], [0xff, 0xda]);
    }

    #[test]
    fn damage_is_reported_with_what_was_read_before_it() {
        let jpeg = with_exif(&sample_jpeg(16, 16), b"II*\0\x08\0\0\0");
        let sof = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        let header = read_header(&mut &jpeg[..sof + 3]);
        assert!(header.exif.is_some());
        assert!(header.frame.is_none());
        assert_eq!(header.error.unwrap().kind(), ErrorKind::UnexpectedEof);

        let mut zero_width = jpeg.clone();
        zero_width[sof + 7..sof + 9].copy_from_slice(&[0, 0]);
        assert_eq!(
            read_header(&mut zero_width.as_slice())
                .error
                .unwrap()
                .kind(),
            ErrorKind::InvalidData
        );
        for bad in [
            &b"GIF89a"[..],
            &[0xff, 0xd8, 0xff, 0xd9],
            &[0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01],
        ] {
            assert!(read_header(&mut &bad[..]).error.is_some(), "{bad:02x?}");
        }
    }
}
