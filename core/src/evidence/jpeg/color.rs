//! Component planes at the decode scale to pixels: each component sampled at
//! every output pixel (nearest: chroma planes are smaller) and interleaved.
//!
//! YCbCr stays YCbCr: a thumbnail is resized and encoded again as JPEG, whose
//! encoder takes YCbCr as it is, so converting to RGB here (and back in the
//! encoder) would cost two conversions of every pixel for nothing.

/// One component's samples at the decode scale.
pub(super) struct Plane<'a> {
    pub samples: &'a [u8],
    pub stride: usize,
    /// Its sampling factors, against the frame's largest.
    pub h: usize,
    pub v: usize,
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

/// Pixels of `width` × `height`: the planes' samples interleaved.
pub(super) fn interleave<'a>(
    width: usize,
    height: usize,
    (h_max, v_max): (usize, usize),
    planes: &[Plane<'a>],
) -> Vec<u8> {
    let mut data = vec![0u8; width * height * planes.len()];
    // Each component's sample column for every output column.
    let columns: Vec<Vec<usize>> = planes
        .iter()
        .map(|p| (0..width).map(|x| x * p.h / h_max).collect())
        .collect();
    let row = |p: &Plane<'a>, y: usize| -> &'a [u8] {
        let r = y * p.v / v_max;
        &p.samples[r * p.stride..(r + 1) * p.stride]
    };
    for (y, out) in data.chunks_exact_mut(width * planes.len()).enumerate() {
        match planes {
            [one] => out.copy_from_slice(&row(one, y)[..width]),
            [a, b, c] => {
                let (a, b, c) = (row(a, y), row(b, y), row(c, y));
                let (ca, cb, cc) = (&columns[0], &columns[1], &columns[2]);
                for (x, pixel) in out.chunks_exact_mut(3).enumerate() {
                    pixel.copy_from_slice(&[a[ca[x]], b[cb[x]], c[cc[x]]]);
                }
            }
            _ => unreachable!("one or three components"),
        }
    }
    data
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
        let plane = |samples, stride, h, v| Plane {
            samples,
            stride,
            h,
            v,
        };
        let planes = [
            plane(luma, 4, 2, 2),
            plane(blue, 2, 1, 1),
            plane(red, 2, 1, 1),
        ];
        let pixels = interleave(3, 2, (2, 2), &planes);
        assert_eq!(
            pixels,
            [10, 1, 3, 20, 1, 3, 30, 2, 4, 50, 1, 3, 60, 1, 3, 70, 2, 4]
        );
        let gray = interleave(3, 2, (1, 1), &[plane(luma, 4, 1, 1)]);
        assert_eq!(gray, [10, 20, 30, 50, 60, 70]);
    }
}
