//! Thumbnails and previews of JPEG photos, for display only: derivatives,
//! never evidence.
//!
//! Field phones are low-end, so memory is bounded from the JPEG header before
//! a single pixel is decoded: oversized images are refused, and the decoder
//! works at the smallest DCT scale that still gives at least the requested
//! size, so a 48 MP photo decodes as about 0.75 MP. The result is
//! area-averaged to the exact size, turned upright by its EXIF orientation,
//! and encoded at quality 80. Images are never enlarged. Every 8-bit Huffman
//! JPEG decodes: baseline and progressive, any sampling (4:4:4, 4:2:2, 4:2:0,
//! 4:4:0, 4:1:1), restart markers, stray bytes between segments, gray, RGB,
//! and Adobe CMYK and YCCK (shown converted to RGB).
//!
//! Two decoders: our own ([`super::jpeg::scaled`]) for what phones write, gray
//! and YCbCr, baseline and progressive, at 1/8, 1/4, 3/8 and 1/2, which is
//! every thumbnail and preview of a photo over 2560 px; jpeg-decoder for the
//! rest (full size, CMYK and YCCK). Ours reports every failure as a
//! value; jpeg-decoder has panicking paths on malformed data, caught here,
//! which needs the `panic = "unwind"` every profile of the workspace keeps
//! (uniffi relies on it too).
//!
//! The decode runs on the calling thread and hands its rows on as it goes
//! (our decoder a row of MCUs at a time); resizing and encoding run on a
//! second thread as they come ([`output`]), so a preview costs about its
//! decode: 1.28× libjpeg-turbo's bare 1/2 decode for the 12 MP corpus photo,
//! against 1.64× done one after the other (`cargo bench -p fieldproof-core
//! --features bench-libjpeg-turbo --bench capture`).
//!
//! Every failure is a [`ThumbnailError`] value, never a panic: the caller shows
//! "preview unavailable" and keeps the error's text as a warning. HEIC, PNG and
//! WebP have no decoder here (there is no sound pure-Rust HEIC decoder), so
//! they are `Unsupported`.

mod output;
mod resize;

use super::jpeg::scaled::{self, Scale};
use super::jpeg::{self, Frame, Pixels};
use jpeg_decoder::{Decoder, PixelFormat};
use output::SourceRows;
use std::io::{self, BufReader, Cursor, ErrorKind, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, SyncSender};

/// Long edge of a list thumbnail, in pixels.
pub const THUMBNAIL_EDGE: u32 = 320;
/// Long edge of a full-screen preview, in pixels.
pub const PREVIEW_EDGE: u32 = 1280;

const JPEG_QUALITY: u8 = 80;
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Chunks of decoded rows on their way to the resizer (a row of MCUs each).
const CHUNKS_IN_FLIGHT: usize = 8;

/// Bounds on the work one thumbnail may cost, checked from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest full-size image accepted, in pixels.
    pub max_pixels: u64,
    /// Largest total of the decoder's buffers at the chosen scale, in bytes.
    pub max_decode_bytes: u64,
    /// Largest amount of metadata (APPn segments, tables) before the image data.
    pub max_header_bytes: usize,
}

impl Default for DecodeLimits {
    /// 100 MP; 32 MiB of decoder buffers (well under the 64 MiB a low-end
    /// phone can spare per photo); 1 MiB of headers.
    fn default() -> Self {
        DecodeLimits {
            max_pixels: 100_000_000,
            max_decode_bytes: 32 << 20,
            max_header_bytes: 1 << 20,
        }
    }
}

/// An upright JPEG derivative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// One channel (a greyscale source) rather than RGB.
    pub gray: bool,
}

impl Thumbnail {
    /// A thumbnail read back from its JPEG bytes (kept on disk, say), by its
    /// frame header; `None` if they are not a JPEG.
    pub fn from_jpeg(jpeg: Vec<u8>) -> Option<Thumbnail> {
        let frame = jpeg::read_header(&mut jpeg.as_slice()).frame?;
        Some(Thumbnail {
            width: frame.width.into(),
            height: frame.height.into(),
            gray: frame.sampling.len() == 1,
            jpeg,
        })
    }
}

/// Why no thumbnail could be made. Messages hold no image content.
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    #[error("no preview decoder for this image: {reason}")]
    Unsupported { reason: &'static str },
    #[error("image of {width}x{height} pixels exceeds the preview decoding limits")]
    TooLarge { width: u32, height: u32 },
    #[error("image file is truncated")]
    Truncated,
    #[error("image data is corrupt: {reason}")]
    Corrupt { reason: String },
    #[error("i/o error: {0}")]
    Io(io::Error),
}

impl ThumbnailError {
    /// Stable code, stored with the "preview unavailable" warning.
    pub fn code(&self) -> &'static str {
        match self {
            ThumbnailError::Unsupported { .. } => "unsupported_image",
            ThumbnailError::TooLarge { .. } => "image_too_large",
            ThumbnailError::Truncated => "image_truncated",
            ThumbnailError::Corrupt { .. } => "image_corrupt",
            ThumbnailError::Io(_) => "io_error",
        }
    }
}

impl From<io::Error> for ThumbnailError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            ErrorKind::UnexpectedEof => ThumbnailError::Truncated,
            ErrorKind::Unsupported => ThumbnailError::Unsupported {
                reason: "not a JPEG file",
            },
            ErrorKind::InvalidData => ThumbnailError::Corrupt {
                reason: e.to_string(),
            },
            _ => ThumbnailError::Io(e),
        }
    }
}

impl From<jpeg_decoder::Error> for ThumbnailError {
    fn from(e: jpeg_decoder::Error) -> Self {
        match e {
            jpeg_decoder::Error::Io(e) => e.into(),
            jpeg_decoder::Error::Unsupported(_) => ThumbnailError::Unsupported {
                reason: "JPEG feature not supported by the decoder",
            },
            other => ThumbnailError::Corrupt {
                reason: other.to_string(),
            },
        }
    }
}

/// Makes an upright JPEG whose long edge is `long_edge` (or the photo's own,
/// if smaller) from the JPEG in `jpeg`, applying EXIF `orientation` (1–8;
/// anything else leaves the image as stored).
pub fn make_thumbnail(
    jpeg: &mut impl Read,
    long_edge: u32,
    orientation: Option<u16>,
    limits: &DecodeLimits,
) -> Result<Thumbnail, ThumbnailError> {
    let mut input = Recorder {
        inner: BufReader::with_capacity(READ_BUFFER_BYTES, jpeg),
        recorded: Vec::new(),
        limit: limits.max_header_bytes,
    };
    let header = jpeg::read_header(&mut input);
    if let Some(e) = header.error {
        return Err(e.into());
    }
    let frame = header.frame.ok_or_else(|| ThumbnailError::Corrupt {
        reason: "image data before the frame header".to_owned(),
    })?;
    let plan = Plan::new(&frame, long_edge, limits)?;
    // The decoder reads the header again, then the rest of the stream.
    let Recorder {
        inner, recorded, ..
    } = input;
    let replay = Cursor::new(recorded).chain(inner);
    // Decoding here, resizing and encoding on the other core as rows come.
    let (rows, taken) = mpsc::sync_channel(CHUNKS_IN_FLIGHT);
    let target = (plan.target_width, plan.target_height);
    std::thread::scope(|scope| {
        let made = scope.spawn(move || output::from_rows(taken, target, orientation));
        let decoded = match plan.scale {
            Some(scale) => decode_scaled(replay, scale, limits.max_pixels, &rows),
            None => decode_general(replay, &plan, limits, &rows),
        };
        drop(rows);
        let made = made.join().unwrap_or_else(|_| {
            Err(ThumbnailError::Corrupt {
                reason: "thumbnail encoder failed".to_owned(),
            })
        });
        match decoded {
            Ok(()) => made,
            // The encoder gave up first: its reason is the one.
            Err(ThumbnailError::Io(e)) if e.kind() == ErrorKind::BrokenPipe => made,
            Err(e) => Err(e),
        }
    })
}

/// Hands rows to the encoder's side; fails once it has stopped taking them.
fn send(rows: &SyncSender<SourceRows>, chunk: SourceRows) -> io::Result<()> {
    rows.send(chunk)
        .map_err(|_| io::Error::new(ErrorKind::BrokenPipe, "thumbnail encoder stopped"))
}

/// Keeps a copy of the header bytes the walk reads, so the decoder can be
/// given them again without seeking; at most `limit` bytes.
struct Recorder<R> {
    inner: R,
    recorded: Vec<u8>,
    limit: usize,
}

impl<R: Read> Read for Recorder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.recorded.len() + n > self.limit {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                "metadata before the image data is too large",
            ));
        }
        self.recorded.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Decode scale and output size, fixed from the header alone.
struct Plan {
    /// Size the decoder produces at the chosen DCT scale.
    scaled_width: u16,
    scaled_height: u16,
    /// Final size before orientation.
    target_width: usize,
    target_height: usize,
    /// The scale of our own decoder ([`scaled`]), where it handles the
    /// image; otherwise jpeg-decoder's at `scaled_width` × `scaled_height`.
    scale: Option<Scale>,
}

impl Plan {
    fn new(frame: &Frame, long_edge: u32, limits: &DecodeLimits) -> Result<Plan, ThumbnailError> {
        if !frame.is_decodable() {
            return Err(ThumbnailError::Unsupported {
                reason: "JPEG variant (lossless, arithmetic or 12-bit)",
            });
        }
        let (width, height) = (u64::from(frame.width), u64::from(frame.height));
        let too_large = ThumbnailError::TooLarge {
            width: frame.width.into(),
            height: frame.height.into(),
        };
        if width * height > limits.max_pixels {
            return Err(too_large);
        }
        let long = width.max(height);
        let target_long = u64::from(long_edge.max(1)).min(long);
        // The smallest scale that still gives the size: our own decoder's
        // where it takes the image (it also has 3/8), else jpeg-decoder's.
        let enough = |e: u64| scaled(long, e) >= target_long;
        let scale = own_scales(frame)
            .iter()
            .copied()
            .find(|s| enough(s.eighths()));
        let eighths = match scale {
            Some(scale) => scale.eighths(),
            None => [1, 2, 4, 8].into_iter().find(|&e| enough(e)).unwrap_or(8),
        };
        let peak = match scale {
            Some(scale) => scaled::peak_bytes(
                blocks(frame),
                frame.is_progressive(),
                scale,
                scaled(width, eighths) * scaled(height, eighths),
                frame.sampling.len() as u64,
            ),
            None => decoder_bytes(frame, eighths),
        };
        if peak > limits.max_decode_bytes {
            return Err(too_large);
        }
        let target = |len: u64| ((len * target_long + long / 2) / long).max(1) as usize;
        Ok(Plan {
            // Both fit in u16: they are at most the frame's own u16 dimensions.
            scaled_width: scaled(width, eighths) as u16,
            scaled_height: scaled(height, eighths) as u16,
            target_width: target(width),
            target_height: target(height),
            scale,
        })
    }
}

/// The scales our own decoder takes a frame at: gray and YCbCr (or RGB),
/// baseline or progressive, at 1/8 to 1/2. The rest (full size, CMYK) is
/// jpeg-decoder's.
fn own_scales(frame: &Frame) -> &'static [Scale] {
    match frame.sampling.len() {
        1 | 3 => &Scale::ALL,
        _ => &[],
    }
}

/// `len` scaled by `eighths`/8, rounded up as the decoder does.
fn scaled(len: u64, eighths: u64) -> u64 {
    (len * eighths).div_ceil(8)
}

/// The decoder's peak buffers at a scale: every component plane at the
/// reduced size (padded to whole MCUs), the interleaved output, and for
/// progressive JPEGs the full-resolution DCT coefficients (2 bytes each) it
/// must keep between scans whatever the scale.
fn decoder_bytes(frame: &Frame, eighths: u64) -> u64 {
    let blocks = blocks(frame);
    let planes = blocks * eighths * eighths;
    let coefficients = if frame.is_progressive() {
        blocks * 64 * 2
    } else {
        0
    };
    let output = scaled(frame.width.into(), eighths)
        * scaled(frame.height.into(), eighths)
        * frame.sampling.len() as u64;
    planes + coefficients + output
}

/// 8×8 blocks of all components, padded to whole MCUs.
fn blocks(frame: &Frame) -> u64 {
    let h_max = frame
        .sampling
        .iter()
        .map(|s| u64::from(s.0))
        .max()
        .unwrap_or(1);
    let v_max = frame
        .sampling
        .iter()
        .map(|s| u64::from(s.1))
        .max()
        .unwrap_or(1);
    let mcus_x = u64::from(frame.width).div_ceil(8 * h_max);
    let mcus_y = u64::from(frame.height).div_ceil(8 * v_max);
    frame
        .sampling
        .iter()
        .map(|&(h, v)| mcus_x * u64::from(h) * mcus_y * u64::from(v))
        .sum()
}

/// jpeg-decoder's decode, the whole image at once.
fn decode_general(
    reader: impl Read,
    plan: &Plan,
    limits: &DecodeLimits,
    rows: &SyncSender<SourceRows>,
) -> Result<(), ThumbnailError> {
    let mut decoder = Decoder::new(reader);
    decoder.set_max_decoding_buffer_size(
        usize::try_from(limits.max_decode_bytes).unwrap_or(usize::MAX),
    );
    let (width, height) = decoder.scale(plan.scaled_width, plan.scaled_height)?;
    // The decoder has panicking paths on malformed data; a bad photo must cost
    // its preview, not the caller's whole ingest.
    let data = catch_unwind(AssertUnwindSafe(|| decoder.decode())).map_err(|_| {
        ThumbnailError::Corrupt {
            reason: "decoder failed on malformed data".to_owned(),
        }
    })??;
    let (channels, cmyk) = match decoder.info().map(|info| info.pixel_format) {
        Some(PixelFormat::L8) => (1, false),
        Some(PixelFormat::RGB24) => (3, false),
        Some(PixelFormat::CMYK32) => (4, true),
        _ => {
            return Err(ThumbnailError::Unsupported {
                reason: "pixel format other than 8-bit gray, RGB or CMYK",
            })
        }
    };
    let (width, height) = (usize::from(width), usize::from(height));
    if data.len() != width * height * channels {
        return Err(ThumbnailError::Corrupt {
            reason: "decoded size does not match the header".to_owned(),
        });
    }
    let (pixels, data) = match (channels, cmyk) {
        (1, _) => (Pixels::Gray, data),
        (_, true) => (Pixels::Rgb, cmyk_to_rgb(&data)),
        _ => (Pixels::Rgb, data),
    };
    let chunk = SourceRows {
        width,
        height,
        pixels,
        data,
    };
    Ok(send(rows, chunk)?)
}

/// Our own decoder at a reduced scale ([`scaled`]), its rows handed on as
/// it goes.
fn decode_scaled(
    replay: impl Read,
    scale: Scale,
    max_pixels: u64,
    rows: &SyncSender<SourceRows>,
) -> Result<(), ThumbnailError> {
    let mut input = BufReader::with_capacity(READ_BUFFER_BYTES, replay);
    let mut sink = |decoded: scaled::Rows| {
        let chunk = SourceRows {
            width: decoded.width,
            height: decoded.height,
            pixels: decoded.pixels,
            data: decoded.data.to_vec(),
        };
        send(rows, chunk)
    };
    scaled::decode_rows(&mut input, scale, max_pixels, &mut sink).map_err(scaled_error)
}

fn scaled_error(e: io::Error) -> ThumbnailError {
    match e.kind() {
        ErrorKind::Unsupported => ThumbnailError::Unsupported {
            reason: "JPEG feature not supported by the decoder",
        },
        ErrorKind::InvalidData => ThumbnailError::Corrupt {
            reason: e.to_string(),
        },
        _ => e.into(),
    }
}

/// RGB of the decoder's CMYK (ink amounts, 0 = none; it has already undone
/// Adobe's inverted storage and the YCCK transform): each colour is what its
/// ink and the black leave of white. A display preview, not colour management.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let left = |ink: u8, black: u8| ((255 - u32::from(ink)) * (255 - u32::from(black)) / 255) as u8;
    cmyk.chunks_exact(4)
        .flat_map(|p| [left(p[0], p[3]), left(p[1], p[3]), left(p[2], p[3])])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::output::Image;
    use super::resize::Resizer;
    use super::*;
    use crate::evidence::jpeg::header::tests::sample_jpeg;
    use jpeg_encoder::{ColorType, Encoder};

    fn thumbnail(
        jpeg: &[u8],
        edge: u32,
        orientation: Option<u16>,
    ) -> Result<Thumbnail, ThumbnailError> {
        make_thumbnail(&mut &jpeg[..], edge, orientation, &DecodeLimits::default())
    }

    fn decoded(thumb: &Thumbnail) -> (usize, usize, Vec<u8>) {
        let mut decoder = Decoder::new(thumb.jpeg.as_slice());
        let pixels = decoder.decode().unwrap();
        let info = decoder.info().unwrap();
        (info.width.into(), info.height.into(), pixels)
    }

    #[test]
    fn thumbnails_and_previews_have_the_requested_long_edge() {
        let jpeg = sample_jpeg(2000, 1500);
        for (edge, expected) in [
            (THUMBNAIL_EDGE, (320, 240)),
            (PREVIEW_EDGE, (1280, 960)),
            (5000, (2000, 1500)),
        ] {
            let thumb = thumbnail(&jpeg, edge, None).unwrap();
            assert_eq!((thumb.width, thumb.height), expected);
            let (w, h, _) = decoded(&thumb);
            assert_eq!((w as u32, h as u32), expected);
        }
        let portrait = thumbnail(&sample_jpeg(99, 301), THUMBNAIL_EDGE, Some(6)).unwrap();
        assert_eq!(
            (portrait.width, portrait.height),
            (301, 99),
            "rotated, not enlarged"
        );
    }

    #[test]
    fn grayscale_and_tiny_images_work() {
        let gray: Vec<u8> = (0..64 * 64).map(|i| (i % 251) as u8).collect();
        let mut jpeg = Vec::new();
        Encoder::new(&mut jpeg, 90)
            .encode(&gray, 64, 64, ColorType::Luma)
            .unwrap();
        let thumb = thumbnail(&jpeg, 32, Some(8)).unwrap();
        let (w, h, pixels) = decoded(&thumb);
        assert_eq!((w, h, pixels.len()), (32, 32, 32 * 32));
        let tiny = thumbnail(&sample_jpeg(1, 1), THUMBNAIL_EDGE, Some(6)).unwrap();
        assert_eq!((tiny.width, tiny.height), (1, 1));
    }

    /// Red, green / blue, black quadrants, as RGB and as CMYK inks.
    const QUADRANTS: [([u8; 3], [u8; 4]); 4] = [
        ([255, 0, 0], [0, 255, 255, 0]),
        ([0, 255, 0], [255, 0, 255, 0]),
        ([0, 0, 255], [255, 255, 0, 0]),
        ([0, 0, 0], [0, 0, 0, 255]),
    ];

    fn quadrant(x: usize, y: usize, width: usize, height: usize) -> usize {
        usize::from(x >= width / 2) + 2 * usize::from(y >= height / 2)
    }

    /// A 256 × 192 JPEG of [`QUADRANTS`] in `color`, after `tune`.
    fn quadrants_jpeg(color: ColorType, tune: impl FnOnce(&mut Encoder<&mut Vec<u8>>)) -> Vec<u8> {
        let (width, height) = (256, 192);
        let pixels: Vec<u8> = (0..width * height)
            .flat_map(|i| {
                let (rgb, cmyk) = QUADRANTS[quadrant(i % width, i / width, width, height)];
                match color {
                    ColorType::Rgb => rgb.to_vec(),
                    _ => cmyk.to_vec(),
                }
            })
            .collect();
        let mut jpeg = Vec::new();
        let mut encoder = Encoder::new(&mut jpeg, 90);
        tune(&mut encoder);
        encoder
            .encode(&pixels, width as u16, height as u16, color)
            .unwrap();
        jpeg
    }

    #[test]
    fn every_variant_phones_and_scanners_write_gets_a_thumbnail_in_its_colours() {
        use jpeg_encoder::SamplingFactor;
        let rgb = |tune: fn(&mut Encoder<&mut Vec<u8>>)| quadrants_jpeg(ColorType::Rgb, tune);
        // libjpeg skips bytes that are not a marker between segments
        // ("extraneous bytes before marker"); so must we.
        let extraneous = {
            let mut jpeg = rgb(|_| {});
            let dqt = jpeg.windows(2).position(|w| w == [0xff, 0xdb]).unwrap();
            jpeg.splice(dqt..dqt, [0x00, 0x17, 0x00]);
            jpeg
        };
        for (what, jpeg) in [
            ("Adobe CMYK", quadrants_jpeg(ColorType::Cmyk, |_| {})),
            ("Adobe YCCK", quadrants_jpeg(ColorType::CmykAsYcck, |_| {})),
            (
                "4:4:0",
                rgb(|e| e.set_sampling_factor(SamplingFactor::R_4_4_0)),
            ),
            (
                "4:1:1",
                rgb(|e| e.set_sampling_factor(SamplingFactor::R_4_1_1)),
            ),
            (
                "4:2:2",
                rgb(|e| e.set_sampling_factor(SamplingFactor::R_4_2_2)),
            ),
            ("restart markers", rgb(|e| e.set_restart_interval(3))),
            ("progressive", rgb(|e| e.set_progressive(true))),
            ("extraneous bytes before a marker", extraneous),
        ] {
            let thumb = thumbnail(&jpeg, 64, None).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!((thumb.width, thumb.height), (64, 48), "{what}");
            assert!(!thumb.gray, "{what}");
            let (w, h, pixels) = decoded(&thumb);
            // The centre of each quadrant, away from blurred edges.
            for (i, (expected, _)) in QUADRANTS.iter().enumerate() {
                let (x, y) = ((i % 2) * w / 2 + w / 4, (i / 2) * h / 2 + h / 4);
                assert_eq!(quadrant(x, y, w, h), i);
                let at = (y * w + x) * 3;
                let got = &pixels[at..at + 3];
                for c in 0..3 {
                    assert!(
                        got[c].abs_diff(expected[c]) < 40,
                        "{what}: quadrant {i} is {got:?}, not {expected:?}"
                    );
                }
            }
        }
    }

    fn with_frame_size(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
        let sof = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        let mut out = jpeg.to_vec();
        out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        out[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
        out
    }

    #[test]
    fn decompression_bombs_are_refused_from_the_header() {
        let bomb = with_frame_size(&sample_jpeg(16, 16), 65_000, 65_000);
        let err = thumbnail(&bomb, THUMBNAIL_EDGE, None).unwrap_err();
        assert_eq!(err.code(), "image_too_large");
        assert_eq!(
            err.to_string(),
            "image of 65000x65000 pixels exceeds the preview decoding limits"
        );

        let mut progressive = Vec::new();
        let mut encoder = Encoder::new(&mut progressive, 80);
        encoder.set_progressive(true);
        encoder
            .encode(&vec![0; 64 * 64 * 3], 64, 64, ColorType::Rgb)
            .unwrap();
        let limits = DecodeLimits {
            max_decode_bytes: 64 * 64, // less than the 64x64 image's coefficients
            ..DecodeLimits::default()
        };
        let err = make_thumbnail(&mut progressive.as_slice(), 32, None, &limits).unwrap_err();
        assert_eq!(err.code(), "image_too_large");
        assert!(make_thumbnail(
            &mut progressive.as_slice(),
            32,
            None,
            &DecodeLimits::default()
        )
        .is_ok());
    }

    #[test]
    fn damaged_and_foreign_files_are_errors_not_panics() {
        let jpeg = sample_jpeg(256, 256);
        let truncated = &jpeg[..jpeg.len() / 2];
        assert_eq!(
            thumbnail(truncated, 64, None).unwrap_err().code(),
            "image_truncated"
        );
        assert_eq!(
            thumbnail(&jpeg[..100], 64, None).unwrap_err().code(),
            "image_truncated"
        );
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        assert_eq!(
            thumbnail(heic, 64, None).unwrap_err().code(),
            "unsupported_image"
        );
        assert_eq!(
            thumbnail(b"", 64, None).unwrap_err().code(),
            "image_truncated"
        );

        // Corrupt every byte position in turn (in the header and into the scan):
        // any outcome is fine except a panic.
        for at in (0..jpeg.len()).step_by(7) {
            let mut damaged = jpeg.clone();
            damaged[at] ^= 0x5a;
            let _ = thumbnail(&damaged, 64, Some(3));
        }

        let app2 = [[0xff, 0xe2, 0xff, 0xff].as_slice(), &[0u8; 0xfffd]].concat();
        let huge_header = [&jpeg[..2], &app2.repeat(20), &jpeg[2..]].concat();
        let limits = DecodeLimits::default();
        let err = make_thumbnail(&mut huge_header.as_slice(), 64, None, &limits).unwrap_err();
        assert_eq!(err.code(), "image_corrupt");
    }

    #[test]
    fn decoder_memory_estimate_follows_the_scale() {
        let frame = Frame {
            marker: 0xc0,
            precision: 8,
            width: 8000,
            height: 6000,
            sampling: vec![(2, 2), (1, 1), (1, 1)],
        };
        // 48 MP 4:2:0 at 1/8: 0.75 MP of luma + 2 × 0.19 MP chroma + 2.25 MB of RGB.
        assert_eq!(
            decoder_bytes(&frame, 1),
            750_000 + 2 * 187_500 + 3 * 750_000
        );
        let progressive = Frame {
            marker: 0xc2,
            ..frame
        };
        assert!(decoder_bytes(&progressive, 1) > DecodeLimits::default().max_decode_bytes);
        // Our own decoder from its DC scans alone: a 2-byte DC and a sample per
        // block, and the output.
        let ours = scaled::peak_bytes(blocks(&progressive), true, Scale::Eighth, 750_000, 3);
        assert_eq!(ours, 3 * 1_125_000 + 3 * 750_000);
        // Its 1280 px preview at 1/4: 2×2 kept coefficients, a bit per
        // coefficient and 2×2 samples per block: 28 MiB, under the limit.
        let preview = scaled::peak_bytes(blocks(&progressive), true, Scale::Quarter, 3_000_000, 3);
        assert_eq!(preview, (8 + 8 + 4) * 1_125_000 + 3 * 3_000_000);
        assert!(preview < DecodeLimits::default().max_decode_bytes);
        assert_eq!(own_scales(&progressive), Scale::ALL);
    }

    /// An image's pixels as RGB (or gray), as jpeg-decoder gives them.
    fn rgb(image: Image) -> Image {
        if image.pixels != Pixels::YCbCr {
            return image;
        }
        let data = image
            .data
            .chunks_exact(3)
            .flat_map(|p| jpeg::color::rgb(p[0], p[1], p[2]))
            .collect();
        Image {
            pixels: Pixels::Rgb,
            data,
            ..image
        }
    }

    /// What jpeg-decoder makes of `jpeg` at `eighths`/8 scale (it holds every
    /// coefficient of a progressive file, so only for small ones).
    fn reference_at(jpeg: &[u8], eighths: u16) -> Image {
        let mut decoder = Decoder::new(jpeg);
        decoder.read_info().unwrap();
        let info = decoder.info().unwrap();
        let scaled = |len: u16| (u32::from(len) * u32::from(eighths)).div_ceil(8) as u16;
        let (w, h) = decoder
            .scale(scaled(info.width), scaled(info.height))
            .unwrap();
        let pixels = match info.pixel_format {
            PixelFormat::L8 => Pixels::Gray,
            _ => Pixels::Rgb,
        };
        Image {
            width: usize::from(w),
            height: usize::from(h),
            pixels,
            data: decoder.decode().unwrap(),
        }
    }

    /// Our own decode of `jpeg` at `scale`, whole.
    fn decode_scaled(mut jpeg: &[u8], scale: Scale, max_pixels: u64) -> io::Result<Image> {
        let (width, height, pixels, data) = scaled::decode(&mut jpeg, scale, max_pixels)?;
        Ok(Image {
            width,
            height,
            pixels,
            data,
        })
    }

    /// Our own decode of `jpeg` at `scale`, in RGB (or gray).
    fn ours_at(jpeg: &[u8], scale: Scale, what: &str) -> Image {
        let max_pixels = DecodeLimits::default().max_pixels;
        rgb(decode_scaled(jpeg, scale, max_pixels).unwrap_or_else(|e| panic!("{what}: {e}")))
    }

    /// Mean and worst difference of two images of one size, per channel.
    fn difference(ours: &Image, reference: &Image, what: &str) -> (f64, u8) {
        assert_eq!(
            (ours.width, ours.height, ours.pixels),
            (reference.width, reference.height, reference.pixels),
            "{what}"
        );
        let pairs = ours.data.iter().zip(&reference.data);
        let worst = pairs.clone().map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        let mean = pairs.map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>()
            / reference.data.len() as f64;
        (mean, worst)
    }

    /// A 200×120 gradient, encoded with `tune` applied.
    fn gradient_jpeg(channels: usize, tune: &dyn Fn(&mut Encoder<&mut Vec<u8>>)) -> Vec<u8> {
        let (width, height) = (200, 120);
        let pixels: Vec<u8> = (0..width * height)
            .flat_map(|i| {
                let (x, y) = (i % width, i / width);
                [
                    (x * 255 / width) as u8,
                    (y * 255 / height) as u8,
                    ((x + y) * 255 / (width + height)) as u8,
                ]
                .into_iter()
                .take(channels)
            })
            .collect();
        let color = if channels == 1 {
            ColorType::Luma
        } else {
            ColorType::Rgb
        };
        let mut jpeg = Vec::new();
        let mut encoder = Encoder::new(&mut jpeg, 85);
        tune(&mut encoder);
        encoder
            .encode(&pixels, width as u16, height as u16, color)
            .unwrap();
        jpeg
    }

    /// A corpus photo, found as the other tests find it: FIELDPROOF_CORPUS,
    /// else the checkout's shared/corpus; missing, it fails by name.
    fn corpus_photo(relative: &str) -> Vec<u8> {
        let path = std::env::var_os("FIELDPROOF_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus").into())
            .join("photos")
            .join(relative);
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "corpus photo {} (set FIELDPROOF_CORPUS): {e}",
                path.display()
            )
        })
    }

    /// Every sampling phones and scanners write, gray, and restart markers.
    fn variants(progressive: bool) -> Vec<(&'static str, Vec<u8>)> {
        use jpeg_encoder::SamplingFactor;
        let encode = |channels, sampling: Option<SamplingFactor>, restart: u16| {
            gradient_jpeg(channels, &|e| {
                e.set_progressive(progressive);
                if let Some(sampling) = sampling {
                    e.set_sampling_factor(sampling);
                }
                if restart > 0 {
                    e.set_restart_interval(restart);
                }
            })
        };
        vec![
            ("4:2:0", encode(3, None, 0)),
            ("4:4:4", encode(3, Some(SamplingFactor::R_4_4_4), 0)),
            ("4:2:2", encode(3, Some(SamplingFactor::R_4_2_2), 0)),
            ("4:1:1", encode(3, Some(SamplingFactor::R_4_1_1), 0)),
            ("gray", encode(1, None, 0)),
            ("restart markers", encode(3, None, 2)),
            (
                "4:4:0, restart markers",
                encode(3, Some(SamplingFactor::R_4_4_0), 5),
            ),
        ]
    }

    #[test]
    fn jpegs_decode_at_every_reduced_scale_as_jpeg_decoder_does() {
        let mut cases = variants(false);
        cases.extend(variants(true));
        cases.push((
            "the 12 MP corpus photo",
            corpus_photo("camera/olympus_ep3_12mp_42_IndexError.jpg"),
        ));
        cases.push((
            "a phone photo",
            corpus_photo("camera/phone_nokia83_gps.jpg"),
        ));
        // Progressive with successive approximation: DC and AC refinement scans.
        cases.push((
            "a progressive photo from the corpus",
            corpus_photo("odd/progressive_multi_app13.jpg"),
        ));
        for (what, jpeg) in &cases {
            let frame = jpeg::read_header(&mut jpeg.as_slice()).frame.unwrap();
            let what = &format!(
                "{what} ({})",
                if frame.is_progressive() {
                    "progressive"
                } else {
                    "baseline"
                }
            );
            for scale in [Scale::Eighth, Scale::Quarter, Scale::Half] {
                let ours = ours_at(jpeg, scale, what);
                let reference = reference_at(jpeg, scale.eighths() as u16);
                let (mean, worst) = difference(&ours, &reference, what);
                // Chroma upsampled nearest here, linearly there (most of the
                // difference at 1/8 on these small images, where every block
                // is an edge); reduced IDCTs of slightly different rounding.
                assert!(
                    mean < 3.5 && worst < 48,
                    "{what} at {scale:?}: mean {mean:.2}, worst {worst}"
                );
            }
            // jpeg-decoder has no 3/8: its 1/2 decode, area-averaged down to
            // the same size, stands for it (so a looser bound).
            let ours = ours_at(jpeg, Scale::ThreeEighths, what);
            let half = reference_at(jpeg, 4);
            let mut resizer = Resizer::new(
                (half.width, half.height),
                (ours.width, ours.height),
                half.pixels.channels(),
            );
            let mut data = Vec::new();
            resizer.push(&half.data, &mut |row| data.extend_from_slice(row));
            let reference = Image { data, ..ours };
            let (mean, worst) = difference(&ours, &reference, what);
            // (The most, 3.97, for the small, detailed progressive photo; a
            // baseline copy of it gives 3.14.)
            assert!(
                mean < 4.5 && worst < 64,
                "{what} at 3/8: mean {mean:.2}, worst {worst}"
            );
        }
    }

    #[test]
    fn damaged_files_are_errors_or_images_at_every_scale_never_panics() {
        let pixels: Vec<u8> = (0..96 * 64 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        let encoded = |progressive| {
            let mut jpeg = Vec::new();
            let mut encoder = Encoder::new(&mut jpeg, 85);
            encoder.set_progressive(progressive);
            encoder.set_restart_interval(3);
            encoder.encode(&pixels, 96, 64, ColorType::Rgb).unwrap();
            jpeg
        };
        // The corpus photo for refinement scans (successive approximation).
        let refined = corpus_photo("odd/progressive_multi_app13.jpg");
        let max_pixels = DecodeLimits::default().max_pixels;
        for jpeg in [encoded(false), encoded(true), refined] {
            for scale in Scale::ALL {
                for cut in (2..jpeg.len()).step_by(37) {
                    let _ = decode_scaled(&jpeg[..cut], scale, max_pixels);
                }
                for _ in 0..500 {
                    let mut damaged = jpeg.clone();
                    for _ in 0..1 + next() % 4 {
                        let at = next() % damaged.len();
                        damaged[at] = next() as u8;
                    }
                    if let Ok(image) = decode_scaled(damaged.as_slice(), scale, max_pixels) {
                        assert_eq!(
                            image.data.len(),
                            image.width * image.height * image.pixels.channels()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_large_progressive_photo_gets_a_thumbnail() {
        let (width, height) = (4000u16, 3000u16);
        let pixels: Vec<u8> = (0..usize::from(width) * usize::from(height))
            .flat_map(|i| {
                let x = i % usize::from(width);
                [(x / 16) as u8, 128, 255 - (x / 16) as u8]
            })
            .collect();
        let mut jpeg = Vec::new();
        let mut encoder = Encoder::new(&mut jpeg, 80);
        encoder.set_progressive(true);
        encoder
            .encode(&pixels, width, height, ColorType::Rgb)
            .unwrap();
        let frame = jpeg::read_header(&mut jpeg.as_slice()).frame.unwrap();
        assert!(decoder_bytes(&frame, 1) > DecodeLimits::default().max_decode_bytes);
        let thumb = thumbnail(&jpeg, THUMBNAIL_EDGE, Some(6)).unwrap();
        // Turned upright: 3000 × 4000 → 240 × 320.
        assert_eq!((thumb.width, thumb.height), (240, 320));
        // The preview, from the low-frequency coefficients it keeps.
        let preview = thumbnail(&jpeg, PREVIEW_EDGE, None).unwrap();
        assert_eq!((preview.width, preview.height), (1280, 960));
        let (w, h, pixels) = decoded(&preview);
        // Left to right the red falls and the blue rises, as in the photo.
        let at = |x: usize| &pixels[(h / 2 * w + x) * 3..][..3];
        assert!(at(40)[0] < 40 && at(40)[2] > 215, "{:?}", at(40));
        assert!(
            at(w - 40)[0] > 200 && at(w - 40)[2] < 60,
            "{:?}",
            at(w - 40)
        );
    }
}
