//! Images a report shows: JPEG thumbnails go in as they are (PDF readers
//! decode JPEG themselves); PNGs (signatures drawn on the phone) are decoded,
//! their transparency laid on white paper, and compressed again as PDF
//! image data, since PDF has no PNG filter that keeps an alpha channel.

use super::compressed;
use pdf_writer::{Filter, Pdf, Ref};
use std::io::Cursor;

/// Largest decoded PNG accepted: a signature pad at phone resolution is far below.
const MAX_PNG_DECODED_BYTES: usize = 32 << 20;

pub struct Image {
    data: Vec<u8>,
    filter: Filter,
    gray: bool,
    pub width: u32,
    pub height: u32,
}

impl Image {
    /// A baseline JPEG (as the core's thumbnailer makes) of known size.
    pub fn jpeg(data: Vec<u8>, width: u32, height: u32, gray: bool) -> Self {
        Self {
            data,
            filter: Filter::DctDecode,
            gray,
            width,
            height,
        }
    }

    /// Decodes a PNG of any colour type and depth into 8-bit samples on white.
    /// Fails with a reason in words, shown in the image's place.
    pub fn png(bytes: &[u8]) -> Result<Self, String> {
        let mut decoder = png::Decoder::new_with_limits(
            Cursor::new(bytes),
            png::Limits {
                bytes: MAX_PNG_DECODED_BYTES,
            },
        );
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(png_error)?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| png_error("too large"))?;
        let mut pixels = vec![0; size];
        let info = reader.next_frame(&mut pixels).map_err(png_error)?;
        pixels.truncate(info.buffer_size());
        let (channels, gray) = match info.color_type {
            png::ColorType::Grayscale => (1, true),
            png::ColorType::GrayscaleAlpha => (2, true),
            png::ColorType::Rgb => (3, false),
            png::ColorType::Rgba => (4, false),
            png::ColorType::Indexed => return Err(png_error("palette not expanded")),
        };
        let samples: Vec<u8> = if channels % 2 == 0 {
            // Colour channels, then alpha: composite over white.
            pixels
                .chunks_exact(channels)
                .flat_map(|px| {
                    let alpha = u16::from(px[channels - 1]);
                    px[..channels - 1]
                        .iter()
                        .map(move |&c| ((u16::from(c) * alpha + 255 * (255 - alpha)) / 255) as u8)
                })
                .collect()
        } else {
            pixels
        };
        Ok(Self {
            data: compressed(&samples),
            filter: Filter::FlateDecode,
            gray,
            width: info.width,
            height: info.height,
        })
    }

    pub fn embed(&self, pdf: &mut Pdf, id: Ref) {
        let mut image = pdf.image_xobject(id, &self.data);
        image
            .width(self.width as i32)
            .height(self.height as i32)
            .bits_per_component(8);
        image.filter(self.filter);
        if self.gray {
            image.color_space().device_gray();
        } else {
            image.color_space().device_rgb();
        }
    }
}

fn png_error(reason: impl std::fmt::Display) -> String {
    format!("PNG: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_png(width: u32, height: u32, color: png::ColorType, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .unwrap()
            .write_image_data(pixels)
            .unwrap();
        out
    }

    fn samples(image: &Image) -> Vec<u8> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::ZlibDecoder::new(image.data.as_slice()),
            &mut out,
        )
        .unwrap();
        out
    }

    #[test]
    fn transparent_strokes_are_laid_on_white_paper() {
        // Two pixels: opaque black ink, fully transparent.
        let png = encode_png(2, 1, png::ColorType::GrayscaleAlpha, &[0, 255, 0, 0]);
        let image = Image::png(&png).unwrap();
        assert!(image.gray);
        assert_eq!((image.width, image.height), (2, 1));
        assert_eq!(samples(&image), [0, 255]);
        // Half-transparent red on white is pink.
        let png = encode_png(1, 1, png::ColorType::Rgba, &[255, 0, 0, 128]);
        let image = Image::png(&png).unwrap();
        assert!(!image.gray);
        assert_eq!(samples(&image), [255, 127, 127]);
    }

    #[test]
    fn a_broken_png_is_a_reason_not_a_panic() {
        let png = encode_png(2, 2, png::ColorType::Rgb, &[9; 12]);
        assert!(Image::png(&png[..png.len() / 2]).is_err());
        let Err(reason) = Image::png(b"not a png") else {
            panic!("text decoded as a PNG");
        };
        assert!(reason.starts_with("PNG: "), "{reason}");
    }
}
