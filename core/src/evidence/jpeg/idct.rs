//! Reduced inverse DCTs: a block's low-frequency n×n coefficients straight
//! to n×n samples (n = 2, 3 or 4), which is what libjpeg's scaled decoding
//! does for 1/4, 3/8 and 1/2. Each sample is the block's continuous reconstruction at
//! the centre of the 8/n × 8/n pixels it stands for:
//! `s(i, j) = Σ_u Σ_v F(u, v) · a_u(i) · a_v(j)` with
//! `a_u(i) = C(u)/2 · cos((2i + 1)uπ / 2n)`, `C(0) = 1/√2`, `C(u) = 1`.
//! (At n = 1 this is DC / 8, the 1/8 scale.)

/// The basis `a_u(i)` for one n, row `u`.
pub(super) struct ReducedIdct<const N: usize> {
    basis: [[f32; N]; N],
}

impl<const N: usize> ReducedIdct<N> {
    pub fn new() -> Self {
        let mut basis = [[0f32; N]; N];
        for (u, row) in basis.iter_mut().enumerate() {
            let c = if u == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            };
            for (i, a) in row.iter_mut().enumerate() {
                let angle = ((2 * i + 1) * u) as f64 * std::f64::consts::PI / (2 * N) as f64;
                *a = (c / 2.0 * angle.cos()) as f32;
            }
        }
        ReducedIdct { basis }
    }

    /// Writes the block's N×N samples to `out` (rows `stride` apart) from its
    /// dequantised coefficients `block[u][v]` (vertical, horizontal frequency).
    #[inline]
    pub fn samples(&self, block: &[[f32; N]; N], out: &mut [u8], stride: usize) {
        // Horizontal first: each frequency row to N columns.
        let mut rows = [[0f32; N]; N];
        for (u, coefficients) in block.iter().enumerate() {
            for (v, &coefficient) in coefficients.iter().enumerate() {
                for (j, value) in rows[u].iter_mut().enumerate() {
                    *value += coefficient * self.basis[v][j];
                }
            }
        }
        for i in 0..N {
            let line = &mut out[i * stride..i * stride + N];
            for (j, sample) in line.iter_mut().enumerate() {
                let mut value = 128.5;
                for (basis, row) in self.basis.iter().zip(&rows) {
                    value += basis[i] * row[j];
                }
                // `as` saturates; with the 0.5 above it rounds.
                *sample = value.clamp(0.0, 255.0) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full 8×8 IDCT (T.81 A.3.3) at one sample, for reference.
    fn idct8(block: &[[f64; 8]; 8], x: f64, y: f64) -> f64 {
        let c = |u: usize| {
            if u == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            }
        };
        let mut sum = 0.0;
        for (u, row) in block.iter().enumerate() {
            for (v, &f) in row.iter().enumerate() {
                sum += c(u)
                    * c(v)
                    * f
                    * ((2.0 * y + 1.0) * u as f64 * std::f64::consts::PI / 16.0).cos()
                    * ((2.0 * x + 1.0) * v as f64 * std::f64::consts::PI / 16.0).cos();
            }
        }
        sum / 4.0 + 128.0
    }

    fn check<const N: usize>() {
        // Low frequencies only, so the reduced transform is exact where it samples.
        let mut block = [[0f64; 8]; 8];
        let mut low = [[0f32; N]; N];
        for u in 0..N {
            for v in 0..N {
                let f = ((u * 7 + v * 3) % 11) as f64 * 9.0 - 40.0;
                block[u][v] = f;
                low[u][v] = f as f32;
            }
        }
        let mut out = vec![0u8; N * N];
        ReducedIdct::<N>::new().samples(&low, &mut out, N);
        let step = 8.0 / N as f64;
        for i in 0..N {
            for j in 0..N {
                // The centre of the step × step pixels this sample stands for.
                let (x, y) = (
                    j as f64 * step + (step - 1.0) / 2.0,
                    i as f64 * step + (step - 1.0) / 2.0,
                );
                let expected = idct8(&block, x, y).round().clamp(0.0, 255.0);
                assert!(
                    (f64::from(out[i * N + j]) - expected).abs() <= 1.0,
                    "{N}x{N} at ({i}, {j}): {} against {expected}",
                    out[i * N + j]
                );
            }
        }
    }

    #[test]
    fn reduced_transforms_sample_the_full_one_at_pixel_centres() {
        check::<2>();
        check::<3>();
        check::<4>();
    }

    #[test]
    fn a_dc_block_is_flat_and_samples_are_clamped() {
        let mut out = [0u8; 16];
        let mut block = [[0f32; 4]; 4];
        block[0][0] = 8.0 * 50.0;
        ReducedIdct::<4>::new().samples(&block, &mut out, 4);
        assert!(out.iter().all(|&s| s == 178));
        block[0][0] = 8.0 * 400.0;
        ReducedIdct::<4>::new().samples(&block, &mut out, 4);
        assert!(out.iter().all(|&s| s == 255));
    }
}
