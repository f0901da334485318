//! Thumbnails and previews of JPEG photos, for display only: derivatives,
//! never evidence.
//!
//! Field phones are low-end, so memory is bounded from the JPEG header before
//! a single pixel is decoded: oversized images are refused, and the decoder
//! works at the smallest DCT scale (1/8, 1/4, 1/2 or 1) that still gives at
//! least the requested size, so a 48 MP photo decodes as about 0.75 MP. The
//! result is area-averaged to the exact size, turned upright by its EXIF
//! orientation, and encoded at quality 80. Images are never enlarged. Every
//! 8-bit Huffman JPEG decodes: baseline and progressive, any sampling (4:4:4,
//! 4:2:2, 4:2:0, 4:4:0, 4:1:1), restart markers, stray bytes between segments,
//! gray, RGB, and Adobe CMYK and YCCK (shown converted to RGB).
//!
//! Every failure is a [`ThumbnailError`] value, never a panic: the caller shows
//! "preview unavailable" and keeps the error's text as a warning. HEIC, PNG and
//! WebP have no decoder here (there is no sound pure-Rust HEIC decoder), so
//! they are `Unsupported`.

use super::dc_scans;
use super::jpeg::{self, Frame};
use jpeg_decoder::{Decoder, PixelFormat};
use jpeg_encoder::{ColorType, Encoder};
use std::io::{self, BufReader, Cursor, ErrorKind, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Long edge of a list thumbnail, in pixels.
pub const THUMBNAIL_EDGE: u32 = 320;
/// Long edge of a full-screen preview, in pixels.
pub const PREVIEW_EDGE: u32 = 1280;

const JPEG_QUALITY: u8 = 80;
const READ_BUFFER_BYTES: usize = 64 * 1024;

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
    let image = if plan.dc_only {
        dc_image(replay, limits.max_pixels)?
    } else {
        decode(replay, &plan, limits)?
    };
    let image = resize(image, plan.target_width, plan.target_height);
    encode(&orient(image, orientation))
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
    /// A progressive JPEG at 1/8 scale: decoded from its DC scans alone.
    dc_only: bool,
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
        let eighths = [1, 2, 4, 8]
            .into_iter()
            .find(|&e| scaled(long, e) >= target_long)
            .unwrap_or(8);
        // A progressive JPEG keeps every coefficient in the general decoder;
        // at 1/8 its DC scans are enough (gray and YCbCr).
        let dc_only =
            frame.is_progressive() && eighths == 1 && matches!(frame.sampling.len(), 1 | 3);
        let peak = if dc_only {
            dc_scan_bytes(frame)
        } else {
            decoder_bytes(frame, eighths)
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
            dc_only,
        })
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

/// The DC decoder's buffers: a 4-byte DC per block, and the 1/8-scale output.
fn dc_scan_bytes(frame: &Frame) -> u64 {
    blocks(frame) * 4 + scaled(frame.width.into(), 1) * scaled(frame.height.into(), 1) * 3
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

/// Pixels, row-major, 1 (gray) or 3 (RGB) bytes each.
struct Image {
    width: usize,
    height: usize,
    channels: usize,
    data: Vec<u8>,
}

impl Image {
    fn row(&self, y: usize) -> &[u8] {
        let stride = self.width * self.channels;
        &self.data[y * stride..(y + 1) * stride]
    }
}

fn decode(reader: impl Read, plan: &Plan, limits: &DecodeLimits) -> Result<Image, ThumbnailError> {
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
    let (channels, data) = if cmyk {
        (3, cmyk_to_rgb(&data))
    } else {
        (channels, data)
    };
    Ok(Image {
        width,
        height,
        channels,
        data,
    })
}

/// A progressive JPEG at 1/8 scale, from its DC scans ([`dc_scans`]).
fn dc_image(replay: impl Read, max_pixels: u64) -> Result<Image, ThumbnailError> {
    let mut input = BufReader::with_capacity(READ_BUFFER_BYTES, replay);
    let decoded = dc_scans::decode(&mut input, max_pixels).map_err(|e| match e.kind() {
        ErrorKind::Unsupported => ThumbnailError::Unsupported {
            reason: "progressive CMYK",
        },
        ErrorKind::InvalidData => ThumbnailError::Corrupt {
            reason: e.to_string(),
        },
        _ => e.into(),
    })?;
    Ok(Image {
        width: decoded.width,
        height: decoded.height,
        channels: decoded.channels,
        data: decoded.data,
    })
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

/// Area-average resampling: each output pixel is the mean of the source area
/// it covers, weighted by coverage. Works row by row, so it needs memory for
/// two output rows only, whatever the source size.
fn resize(src: Image, width: usize, height: usize) -> Image {
    if (src.width, src.height) == (width, height) {
        return src;
    }
    let channels = src.channels;
    let columns = coverage(src.width, width);
    let mut data = Vec::with_capacity(width * height * channels);
    let mut line = vec![0f32; width * channels];
    let mut sum = vec![0f32; width * channels];
    for (first_row, row_weights) in coverage(src.height, height) {
        sum.fill(0.0);
        for (k, &row_weight) in row_weights.iter().enumerate() {
            resample_row(src.row(first_row + k), &columns, channels, &mut line);
            sum.iter_mut()
                .zip(&line)
                .for_each(|(s, v)| *s += row_weight * v);
        }
        data.extend(sum.iter().map(|v| v.round().clamp(0.0, 255.0) as u8));
    }
    Image {
        width,
        height,
        channels,
        data,
    }
}

fn resample_row(row: &[u8], columns: &[(usize, Vec<f32>)], channels: usize, out: &mut [f32]) {
    for (pixel, (first, weights)) in out.chunks_exact_mut(channels).zip(columns) {
        for (c, value) in pixel.iter_mut().enumerate() {
            *value = weights
                .iter()
                .enumerate()
                .map(|(k, w)| w * f32::from(row[(first + k) * channels + c]))
                .sum();
        }
    }
}

/// For each destination pixel along one axis: the first source pixel it
/// covers, and each covered source pixel's share (shares sum to 1).
fn coverage(src: usize, dst: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|i| {
            let start = i as f64 * scale;
            let end = ((i + 1) as f64 * scale).min(src as f64);
            let first = (start.floor() as usize).min(src - 1);
            let last = (end.ceil() as usize).clamp(first + 1, src);
            let overlaps: Vec<f64> = (first..last)
                .map(|j| (end.min(j as f64 + 1.0) - start.max(j as f64)).max(0.0))
                .collect();
            let total: f64 = overlaps.iter().sum();
            let shares = overlaps
                .iter()
                .map(|o| if total > 0.0 { o / total } else { 1.0 / overlaps.len() as f64 } as f32)
                .collect();
            (first, shares)
        })
        .collect()
}

/// Turns the stored image upright per EXIF orientation (TIFF 6.0 tag 274):
/// 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise,
/// 7 transverse, 8 rotate 90° counter-clockwise.
fn orient(src: Image, orientation: Option<u16>) -> Image {
    let orientation = orientation.unwrap_or(1);
    if !(2..=8).contains(&orientation) {
        return src;
    }
    let (w, h, channels) = (src.width, src.height, src.channels);
    let (width, height) = if orientation >= 5 { (h, w) } else { (w, h) };
    let mut data = Vec::with_capacity(src.data.len());
    for y in 0..height {
        for x in 0..width {
            let (sx, sy) = match orientation {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (y, h - 1 - x),
                7 => (w - 1 - y, h - 1 - x),
                _ => (w - 1 - y, x),
            };
            let at = (sy * w + sx) * channels;
            data.extend_from_slice(&src.data[at..at + channels]);
        }
    }
    Image {
        width,
        height,
        channels,
        data,
    }
}

fn encode(image: &Image) -> Result<Thumbnail, ThumbnailError> {
    let color = if image.channels == 1 {
        ColorType::Luma
    } else {
        ColorType::Rgb
    };
    // Thumbnails are never larger than the source, whose sides fit in u16.
    let (width, height) = (image.width as u16, image.height as u16);
    let mut jpeg = Vec::new();
    Encoder::new(&mut jpeg, JPEG_QUALITY)
        .encode(&image.data, width, height, color)
        .map_err(|e| ThumbnailError::Io(io::Error::other(e.to_string())))?;
    Ok(Thumbnail {
        jpeg,
        width: width.into(),
        height: height.into(),
        gray: image.channels == 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::jpeg::tests::sample_jpeg;

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

    fn image(width: usize, height: usize, data: Vec<u8>) -> Image {
        Image {
            width,
            height,
            channels: 1,
            data,
        }
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
    fn orientation_turns_the_stored_image_upright() {
        // Stored 2x1: A left, B right. Orientation 6 shows it rotated 90° clockwise.
        let stored = || image(2, 1, vec![10, 20]);
        let upright = |o| {
            let img = orient(stored(), Some(o));
            (img.width, img.height, img.data)
        };
        assert_eq!(upright(1), (2, 1, vec![10, 20]));
        assert_eq!(upright(2), (2, 1, vec![20, 10]));
        assert_eq!(upright(3), (2, 1, vec![20, 10]));
        assert_eq!(upright(4), (2, 1, vec![10, 20]));
        assert_eq!(upright(5), (1, 2, vec![10, 20]));
        assert_eq!(upright(6), (1, 2, vec![10, 20]));
        assert_eq!(upright(7), (1, 2, vec![20, 10]));
        assert_eq!(upright(8), (1, 2, vec![20, 10]));
        assert_eq!(
            upright(0),
            (2, 1, vec![10, 20]),
            "invalid values leave the image as stored"
        );

        // A 3x2 image with distinct pixels: what a camera stores for orientation
        // o is the upright image under o's inverse; orienting must undo it.
        let upright_image = || image(3, 2, vec![1, 2, 3, 4, 5, 6]);
        for o in 1..=8u16 {
            let inverse = match o {
                6 => 8,
                8 => 6,
                other => other,
            };
            let stored = orient(upright_image(), Some(inverse));
            let shown = orient(stored, Some(o));
            assert_eq!(
                (shown.width, shown.height, shown.data),
                (3, 2, vec![1, 2, 3, 4, 5, 6]),
                "orientation {o}"
            );
        }
    }

    #[test]
    fn area_average_resize_keeps_means() {
        let blocks = image(4, 2, vec![0, 0, 100, 100, 0, 0, 100, 100]);
        let half = resize(blocks, 2, 1);
        assert_eq!(half.data, vec![0, 100]);
        // A non-integer ratio: 3 → 2 splits the middle pixel between both.
        let third = resize(image(3, 1, vec![0, 90, 180]), 2, 1);
        assert_eq!(third.data, vec![30, 150]);
        let flat = resize(image(7, 5, vec![77; 35]), 3, 2);
        assert_eq!(flat.data, vec![77; 6]);
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
        // From its DC scans alone: a 4-byte DC per block and the RGB output.
        assert_eq!(dc_scan_bytes(&progressive), 4 * 1_125_000 + 3 * 750_000);
    }

    /// What jpeg-decoder makes of `jpeg` at 1/8 scale (it holds every
    /// coefficient of a progressive file, so only for small ones).
    fn reference_at_one_eighth(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
        let mut decoder = Decoder::new(jpeg);
        decoder.read_info().unwrap();
        let info = decoder.info().unwrap();
        let (w, h) = decoder
            .scale(info.width.div_ceil(8), info.height.div_ceil(8))
            .unwrap();
        (usize::from(w), usize::from(h), decoder.decode().unwrap())
    }

    #[test]
    fn progressive_jpegs_at_one_eighth_come_from_their_dc_scans_alone() {
        use jpeg_encoder::SamplingFactor;
        let gradient = |width: usize, height: usize, channels: usize| -> Vec<u8> {
            (0..width * height)
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
                .collect()
        };
        let encode = |channels: usize, tune: &dyn Fn(&mut Encoder<&mut Vec<u8>>)| {
            let mut jpeg = Vec::new();
            let mut encoder = Encoder::new(&mut jpeg, 85);
            encoder.set_progressive(true);
            tune(&mut encoder);
            let color = if channels == 1 {
                ColorType::Luma
            } else {
                ColorType::Rgb
            };
            encoder
                .encode(&gradient(200, 120, channels), 200, 120, color)
                .unwrap();
            jpeg
        };
        // The corpus as the other tests find it: FIELDPROOF_CORPUS, else
        // the checkout's shared/corpus; missing, it fails by name.
        let corpus_photo = std::env::var_os("FIELDPROOF_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus").into())
            .join("photos/odd/progressive_multi_app13.jpg");
        let corpus = std::fs::read(&corpus_photo).unwrap_or_else(|e| {
            panic!(
                "corpus photo {} (set FIELDPROOF_CORPUS): {e}",
                corpus_photo.display()
            )
        });
        for (what, jpeg) in [
            ("4:2:0", encode(3, &|_| {})),
            (
                "4:4:4",
                encode(3, &|e| e.set_sampling_factor(SamplingFactor::R_4_4_4)),
            ),
            (
                "4:2:2",
                encode(3, &|e| e.set_sampling_factor(SamplingFactor::R_4_2_2)),
            ),
            ("gray", encode(1, &|_| {})),
            ("restart markers", encode(3, &|e| e.set_restart_interval(2))),
            ("a progressive photo from the corpus", corpus),
            (
                "4:4:0, restart markers",
                encode(3, &|e| {
                    e.set_sampling_factor(SamplingFactor::R_4_4_0);
                    e.set_restart_interval(5);
                }),
            ),
        ] {
            let frame = jpeg::read_header(&mut jpeg.as_slice()).frame.unwrap();
            assert!(frame.is_progressive(), "{what}");
            let ours = dc_image(jpeg.as_slice(), DecodeLimits::default().max_pixels)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let (w, h, reference) = reference_at_one_eighth(&jpeg);
            assert_eq!((ours.width, ours.height), (w, h), "{what}");
            assert_eq!(ours.data.len(), reference.len(), "{what}");
            let worst = ours
                .data
                .iter()
                .zip(&reference)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            let mean = ours
                .data
                .iter()
                .zip(&reference)
                .map(|(a, b)| f64::from(a.abs_diff(*b)))
                .sum::<f64>()
                / reference.len() as f64;
            // The same DC values; upsampling and colour rounding may differ.
            // The same DC values; chroma is upsampled nearest here, linearly
            // there, which moves edges by a pixel.
            assert!(
                mean < 3.5 && worst < 40,
                "{what}: mean {mean:.2}, worst {worst}"
            );
        }
    }

    #[test]
    fn damaged_progressive_files_are_errors_or_images_never_panics() {
        let mut jpeg = Vec::new();
        let mut encoder = Encoder::new(&mut jpeg, 85);
        encoder.set_progressive(true);
        encoder.set_restart_interval(3);
        let pixels: Vec<u8> = (0..96 * 64 * 3).map(|i| (i * 7 % 251) as u8).collect();
        encoder.encode(&pixels, 96, 64, ColorType::Rgb).unwrap();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        for cut in (2..jpeg.len()).step_by(37) {
            let _ = dc_image(&jpeg[..cut], DecodeLimits::default().max_pixels);
        }
        for _ in 0..2_000 {
            let mut damaged = jpeg.clone();
            for _ in 0..1 + next() % 4 {
                let at = next() % damaged.len();
                damaged[at] = next() as u8;
            }
            if let Ok(image) = dc_image(damaged.as_slice(), DecodeLimits::default().max_pixels) {
                assert_eq!(
                    image.data.len(),
                    image.width * image.height * image.channels
                );
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
        // The preview needs the AC coefficients: still refused, by size.
        let err = thumbnail(&jpeg, PREVIEW_EDGE, None).unwrap_err();
        assert_eq!(err.code(), "image_too_large");
    }
}
