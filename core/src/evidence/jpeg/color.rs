//! Component planes at the decode scale to pixels: each component sampled at
//! every output pixel (nearest: chroma planes are smaller) and interleaved,
//! a few rows at a time as the decode goes.
//!
//! YCbCr stays YCbCr: a thumbnail is resized and encoded again as JPEG, whose
//! encoder takes YCbCr as it is, so converting to RGB here (and back in the
//! encoder) would cost two conversions of every pixel for nothing.

use std::ops::Range;

/// One component's samples at the decode scale, `stride` to a row.
pub(super) struct Plane<'a> {
    pub samples: &'a [u8],
    pub stride: usize,
}

/// What the bytes of a pixel are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pixels {
    Gray,
    /// JFIF's YCbCr (ITU-R BT.601, full range).
    YCbCr,
    /// R, G and B, as Adobe's transform 0 stores them.
    Rgb,
}

impl Pixels {
    pub fn channels(self) -> usize {
        match self {
            Pixels::Gray => 1,
            Pixels::YCbCr | Pixels::Rgb => 3,
        }
    }
}

/// Interleaves the planes' samples into pixel rows.
pub(super) struct Interleaver {
    width: usize,
    /// Each component's vertical sampling against the largest.
    rows: Vec<(usize, usize)>,
    /// Each component's sample column for every output column.
    columns: Vec<Vec<usize>>,
}

impl Interleaver {
    /// For pixel rows `width` wide of components sampled `(h, v)` each,
    /// `(h_max, v_max)` the largest.
    pub fn new(width: usize, (h_max, v_max): (usize, usize), sampling: &[(usize, usize)]) -> Self {
        Interleaver {
            width,
            rows: sampling.iter().map(|&(_, v)| (v, v_max)).collect(),
            columns: sampling
                .iter()
                .map(|&(h, _)| (0..width).map(|x| x * h / h_max).collect())
                .collect(),
        }
    }

    /// Appends pixel rows `rows` to `out`.
    pub fn rows(&self, rows: Range<usize>, planes: &[Plane], out: &mut Vec<u8>) {
        let channels = planes.len();
        let start = out.len();
        out.resize(start + rows.len() * self.width * channels, 0);
        let plane_row = |k: usize, y: usize| {
            let (v, v_max) = self.rows[k];
            let (p, r) = (&planes[k], y * v / v_max);
            &p.samples[r * p.stride..(r + 1) * p.stride]
        };
        for (y, line) in rows.zip(out[start..].chunks_exact_mut(self.width * channels)) {
            match channels {
                1 => line.copy_from_slice(&plane_row(0, y)[..self.width]),
                _ => {
                    let (a, b, c) = (plane_row(0, y), plane_row(1, y), plane_row(2, y));
                    let (ca, cb, cc) = (&self.columns[0], &self.columns[1], &self.columns[2]);
                    for (x, pixel) in line.chunks_exact_mut(3).enumerate() {
                        pixel.copy_from_slice(&[a[ca[x]], b[cb[x]], c[cc[x]]]);
                    }
                }
            }
        }
    }
}

/// RGB of a JFIF YCbCr pixel, with libjpeg's fixed-point constants (16
/// fraction bits): for comparing decodes in tests.
#[cfg(test)]
pub(crate) fn rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    const HALF: i32 = 1 << 15;
    let (y, cb, cr) = (i32::from(y), i32::from(cb) - 128, i32::from(cr) - 128);
    let clamp = |v: i32| v.clamp(0, 255) as u8;
    [
        clamp(y + ((91_881 * cr + HALF) >> 16)),
        clamp(y + ((-22_554 * cb - 46_802 * cr + HALF) >> 16)),
        clamp(y + ((116_130 * cb + HALF) >> 16)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ycbcr_converts_as_jfif_says() {
        assert_eq!(rgb(128, 128, 128), [128, 128, 128]);
        assert_eq!(rgb(76, 85, 255), [254, 0, 0]); // red, as JFIF encodes it
        assert_eq!(rgb(100, 0, 255), [255, 53, 0]); // clamped
    }

    #[test]
    fn chroma_planes_are_sampled_on_the_luma_grid() {
        // 4×2 luma, 2×1 chroma (4:2:0): each chroma sample covers 2×2 pixels.
        let luma: &[u8] = &[10, 20, 30, 40, 50, 60, 70, 80];
        let (blue, red): (&[u8], &[u8]) = (&[1, 2], &[3, 4]);
        let plane = |samples, stride| Plane { samples, stride };
        let planes = [plane(luma, 4), plane(blue, 2), plane(red, 2)];
        let interleaver = Interleaver::new(3, (2, 2), &[(2, 2), (1, 1), (1, 1)]);
        let mut pixels = Vec::new();
        interleaver.rows(0..2, &planes, &mut pixels);
        assert_eq!(
            pixels,
            [10, 1, 3, 20, 1, 3, 30, 2, 4, 50, 1, 3, 60, 1, 3, 70, 2, 4]
        );
        // Row by row, appended: the same.
        let mut by_rows = Vec::new();
        interleaver.rows(0..1, &planes, &mut by_rows);
        interleaver.rows(1..2, &planes, &mut by_rows);
        assert_eq!(by_rows, pixels);
        let mut gray = Vec::new();
        Interleaver::new(3, (1, 1), &[(1, 1)]).rows(0..2, &[plane(luma, 4)], &mut gray);
        assert_eq!(gray, [10, 20, 30, 50, 60, 70]);
    }
}
