//! The thumbnail's side of the pipeline: decoded rows in, as the decoder
//! hands them out on the other core, resized as they come ([`Resizer`]), and
//! the JPEG out. An upright photo is encoded while it is still being decoded
//! (the encoder pulls its rows); one EXIF says to turn is gathered whole,
//! turned, then encoded.

use super::resize::Resizer;
use super::{Thumbnail, ThumbnailError, JPEG_QUALITY};
use crate::evidence::jpeg::Pixels;
use jpeg_encoder::{rgb_to_ycbcr, ColorType, Encoder, ImageBuffer, JpegColorType};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::sync::mpsc::Receiver;

/// The next whole rows of the decoded image, and what it is.
pub(super) struct SourceRows {
    pub width: usize,
    pub height: usize,
    pub pixels: Pixels,
    pub data: Vec<u8>,
}

/// Pixels, row-major, interleaved.
pub(super) struct Image {
    pub width: usize,
    pub height: usize,
    pub pixels: Pixels,
    pub data: Vec<u8>,
}

/// The thumbnail of `target` size (before turning) from the rows that come
/// down `rows`, turned upright by EXIF `orientation`.
pub(super) fn from_rows(
    rows: Receiver<SourceRows>,
    target: (usize, usize),
    orientation: Option<u16>,
) -> Result<Thumbnail, ThumbnailError> {
    let first = rows.recv().map_err(|_| ended_early())?;
    let channels = first.pixels.channels();
    let mut resizer = Resizer::new((first.width, first.height), target, channels);
    let orientation = orientation.filter(|o| (2..=8).contains(o));
    if orientation.is_none() {
        return encode_pulled(PulledRows {
            width: target.0 as u16,
            height: target.1 as u16,
            pixels: first.pixels,
            state: RefCell::new(Pull {
                rows,
                resizer,
                ready: VecDeque::new(),
                current: vec![0; target.0 * channels],
                next: 0,
                ended_early: false,
                pending: Some(first.data),
            }),
        });
    }
    let mut data = Vec::with_capacity(target.0 * target.1 * channels);
    let mut keep = |row: &[u8]| data.extend_from_slice(row);
    resizer.push(&first.data, &mut keep);
    for more in rows.iter() {
        resizer.push(&more.data, &mut keep);
    }
    if data.len() != target.0 * target.1 * channels {
        return Err(ended_early());
    }
    let image = Image {
        width: target.0,
        height: target.1,
        pixels: first.pixels,
        data,
    };
    encode(&orient(image, orientation))
}

fn ended_early() -> ThumbnailError {
    ThumbnailError::Corrupt {
        reason: "the decoded rows ended early".to_owned(),
    }
}

/// Turns the stored image upright per EXIF orientation (TIFF 6.0 tag 274):
/// 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise,
/// 7 transverse, 8 rotate 90° counter-clockwise.
pub(super) fn orient(src: Image, orientation: Option<u16>) -> Image {
    let orientation = orientation.unwrap_or(1);
    if !(2..=8).contains(&orientation) {
        return src;
    }
    let (w, h, channels) = (src.width, src.height, src.pixels.channels());
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
        pixels: src.pixels,
        data,
    }
}

fn encode(image: &Image) -> Result<Thumbnail, ThumbnailError> {
    let color = match image.pixels {
        Pixels::Gray => ColorType::Luma,
        Pixels::YCbCr => ColorType::Ycbcr,
        Pixels::Rgb => ColorType::Rgb,
    };
    // Thumbnails are never larger than the source, whose sides fit in u16.
    let (width, height) = (image.width as u16, image.height as u16);
    let mut jpeg = Vec::new();
    Encoder::new(&mut jpeg, JPEG_QUALITY)
        .encode(&image.data, width, height, color)
        .map_err(encoding_failed)?;
    Ok(Thumbnail {
        jpeg,
        width: width.into(),
        height: height.into(),
        gray: image.pixels == Pixels::Gray,
    })
}

fn encoding_failed(e: jpeg_encoder::EncodingError) -> ThumbnailError {
    ThumbnailError::Io(io::Error::other(e.to_string()))
}

fn encode_pulled(image: PulledRows) -> Result<Thumbnail, ThumbnailError> {
    let (width, height, pixels) = (image.width, image.height, image.pixels);
    let mut jpeg = Vec::new();
    let state = Encoder::new(&mut jpeg, JPEG_QUALITY)
        .encode_image(&image)
        .map(|()| image.state.into_inner())
        .map_err(encoding_failed)?;
    if state.ended_early || usize::from(height) > state.next {
        return Err(ended_early());
    }
    Ok(Thumbnail {
        jpeg,
        width: width.into(),
        height: height.into(),
        gray: pixels == Pixels::Gray,
    })
}

/// The resized image as the encoder asks for it, row by row in order (the
/// last row again for padding), each made when asked from the rows decoded
/// by then.
struct PulledRows {
    width: u16,
    height: u16,
    pixels: Pixels,
    state: RefCell<Pull>,
}

struct Pull {
    rows: Receiver<SourceRows>,
    resizer: Resizer,
    /// Source rows taken but not yet resized; resized rows not yet asked for.
    pending: Option<Vec<u8>>,
    ready: VecDeque<Vec<u8>>,
    /// The row last given, and how many have been.
    current: Vec<u8>,
    next: usize,
    ended_early: bool,
}

impl Pull {
    /// Makes `current` the next row: zeros if the decoded rows ended first.
    fn advance(&mut self) {
        self.next += 1;
        loop {
            if let Some(row) = self.ready.pop_front() {
                self.current = row;
                return;
            }
            let Some(source) = self
                .pending
                .take()
                .or_else(|| self.rows.recv().ok().map(|rows| rows.data))
            else {
                self.ended_early = true;
                self.current.fill(0);
                return;
            };
            let ready = &mut self.ready;
            self.resizer
                .push(&source, &mut |row| ready.push_back(row.to_vec()));
        }
    }
}

impl ImageBuffer for &PulledRows {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        match self.pixels {
            Pixels::Gray => JpegColorType::Luma,
            Pixels::YCbCr | Pixels::Rgb => JpegColorType::Ycbcr,
        }
    }

    fn width(&self) -> u16 {
        self.width
    }

    fn height(&self) -> u16 {
        self.height
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let mut state = self.state.borrow_mut();
        if usize::from(y) >= state.next {
            state.advance();
        }
        let row = &state.current;
        match self.pixels {
            Pixels::Gray => buffers[0].extend_from_slice(row),
            Pixels::YCbCr => {
                for p in row.chunks_exact(3) {
                    buffers[0].push(p[0]);
                    buffers[1].push(p[1]);
                    buffers[2].push(p[2]);
                }
            }
            Pixels::Rgb => {
                for p in row.chunks_exact(3) {
                    let (y, cb, cr) = rgb_to_ycbcr(p[0], p[1], p[2]);
                    buffers[0].push(y);
                    buffers[1].push(cb);
                    buffers[2].push(cr);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: usize, height: usize, data: Vec<u8>) -> Image {
        Image {
            width,
            height,
            pixels: Pixels::Gray,
            data,
        }
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
}
