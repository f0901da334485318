//! Baseline (sequential) scans at a reduced scale: each block's DC, and its
//! low-frequency N×N coefficients through the reduced IDCT as they are read
//! (N = 1: the DC alone, the AC codes skipped).

use super::entropy::Bits;
use super::idct::ReducedIdct;
use super::scaled::{block_samples, dc_sample, LowFrequencies, Planes, RowDone, ScanContext};
use std::io::{self, BufRead};

/// A baseline scan at N samples per block edge.
pub(super) fn sequential_scan<const N: usize>(
    bits: &mut Bits<impl BufRead>,
    context: &ScanContext,
    planes: &mut Planes,
    row_done: &mut RowDone<Planes>,
) -> io::Result<()> {
    let idct = ReducedIdct::<N>::new();
    let mut slots = Vec::new();
    for sc in &context.scan.components {
        let component = &context.frame.components[sc.index];
        slots.push((
            sc.index,
            context.table(&context.tables.dc, sc.dc_table)?,
            context.table(&context.tables.ac, sc.ac_table)?,
            LowFrequencies::new(N, context.tables.quant(component)?),
            component.blocks_w,
            component.blocks_h,
        ));
    }
    let block = |bits: &mut Bits<_>, planes: &mut Planes, k: usize, x, y, prediction: &mut i32| {
        let (index, dc_table, ac_table, ref low, blocks_w, blocks_h) = slots[k];
        *prediction = prediction.wrapping_add(bits.dc_difference(dc_table)?);
        if x >= blocks_w || y >= blocks_h {
            return bits.skip_ac_coefficients(ac_table);
        }
        let stride = blocks_w * N;
        let out = &mut planes.samples[index][y * N * stride + x * N..];
        let dc = prediction.wrapping_mul(low.dc_quant);
        if N == 1 {
            bits.skip_ac_coefficients(ac_table)?;
            out[0] = dc_sample(dc);
            return Ok(());
        }
        let mut block = [[0f32; N]; N];
        block[0][0] = dc as f32;
        let mut any_ac = false;
        bits.ac_coefficients(ac_table, low.last, |at, value| {
            if let Some((u, v, quant)) = low.at[at] {
                block[usize::from(u)][usize::from(v)] = value as f32 * quant;
                any_ac = true;
            }
        })?;
        block_samples(&idct, &block, !any_ac, out, stride);
        Ok(())
    };
    context.for_each_block(bits, planes, block, row_done)
}
