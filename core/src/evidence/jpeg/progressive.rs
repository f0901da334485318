//! Progressive JPEGs (ITU T.81 G.1.2) at a reduced scale. A progressive image
//! comes in many scans, so its coefficients must be kept until the last one;
//! here each block keeps only those its N×N reduced IDCT uses (at 1/8 the DC
//! alone) and, above 1/8, a bit per coefficient saying whether it has been
//! non-zero so far, which refinement scans need to stay in step with the data
//! (T.81 G.1.2.3). A 48 MP photo's preview (1/4) so holds 16 bytes a block,
//! 18 MiB, where every coefficient would take 144 MiB. An AC scan of only
//! frequencies no block keeps is skipped unread.

use super::entropy::{Bits, Huffman};
use super::idct::ReducedIdct;
use super::scaled::{block_samples, LowFrequencies, ScanContext};
use super::segments::{invalid, Frame, Tables};
use std::io::{self, BufRead};

/// The coefficients a scaled decode keeps of a progressive image.
pub(super) struct Coefficients {
    n: usize,
    /// Per component: each block's kept coefficients, N×N in row order (the
    /// DC first).
    values: Vec<Vec<i16>>,
    /// Per component: each block's coefficients non-zero so far, bit `k` for
    /// zigzag position `k` (above 1/8 only: at 1/8 no AC scan is read).
    nonzero: Vec<Vec<u64>>,
}

impl Coefficients {
    pub fn new(frame: &Frame, n: usize) -> Coefficients {
        let blocks = |c: &super::segments::Component| c.blocks_w * c.blocks_h;
        Coefficients {
            n,
            values: frame
                .components
                .iter()
                .map(|c| vec![0; blocks(c) * n * n])
                .collect(),
            nonzero: frame
                .components
                .iter()
                .map(|c| {
                    if n > 1 {
                        vec![0; blocks(c)]
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
        }
    }

    /// What one block costs at N samples per block edge.
    pub fn bytes_per_block(n: usize) -> u64 {
        let bitmap = if n > 1 { 8 } else { 0 };
        (2 * n * n + bitmap) as u64
    }
}

/// One scan of a progressive image, into `kept`.
pub(super) fn scan(
    bits: &mut Bits<impl BufRead>,
    context: &ScanContext,
    kept: &mut Coefficients,
) -> io::Result<()> {
    let scan = context.scan;
    if scan.spectral_start == 0 {
        return dc_scan(bits, context, kept);
    }
    // AC scans have one component (T.81 G.1.1.1.1).
    let [component] = scan.components[..] else {
        return Err(invalid("a progressive AC scan of several components"));
    };
    let quant = context
        .tables
        .quant(&context.frame.components[component.index])?;
    let low = LowFrequencies::new(kept.n, quant);
    if kept.n == 1 || usize::from(scan.spectral_start) > low.last {
        return Ok(()); // none of its frequencies is kept: left unread
    }
    let band = Band {
        start: usize::from(scan.spectral_start),
        end: usize::from(scan.spectral_end).min(63),
        shift: u32::from(scan.approx_low),
        table: context.table(&context.tables.ac, component.ac_table)?,
        low: &low,
        index: component.index,
        blocks_w: context.frame.components[component.index].blocks_w,
    };
    if band.start > band.end {
        return Err(invalid("a progressive AC scan of an empty band"));
    }
    let first = scan.approx_high == 0;
    let block = |bits: &mut Bits<_>, kept: &mut Coefficients, _, x, y, eob_run: &mut i32| {
        let at = y * band.blocks_w + x;
        let (Some(values), Some(nonzero)) = (
            kept.values[band.index].get_mut(at * kept.n * kept.n..(at + 1) * kept.n * kept.n),
            kept.nonzero[band.index].get_mut(at),
        ) else {
            return Err(invalid("a block outside the frame"));
        };
        let mut block = Block {
            values,
            nonzero,
            n: kept.n,
            low: band.low,
        };
        match first {
            true => band.first(bits, &mut block, eob_run),
            false => band.refine(bits, &mut block, eob_run),
        }
    };
    context.for_each_block(bits, kept, block, &mut |_, _| Ok(()))
}

/// One progressive DC scan, the first (`approx_high` 0) or a refinement.
fn dc_scan(
    bits: &mut Bits<impl BufRead>,
    context: &ScanContext,
    kept: &mut Coefficients,
) -> io::Result<()> {
    let first = context.scan.approx_high == 0;
    let shift = u32::from(context.scan.approx_low);
    let mut tables = Vec::new();
    for sc in &context.scan.components {
        tables.push(match first {
            true => Some(context.table(&context.tables.dc, sc.dc_table)?),
            false => None,
        });
    }
    let block =
        |bits: &mut Bits<_>, kept: &mut Coefficients, k: usize, x, y, prediction: &mut i32| {
            let index = context.scan.components[k].index;
            let blocks_w = context.frame.components[index].blocks_w;
            let dc = kept.values[index].get_mut((y * blocks_w + x) * kept.n * kept.n);
            if let Some(table) = tables[k] {
                // Hostile differences may run a prediction past any real DC;
                // they wrap rather than stop.
                *prediction = prediction.wrapping_add(bits.dc_difference(table)?);
                if let Some(dc) = dc {
                    *dc = prediction.wrapping_shl(shift) as i16;
                }
            } else if bits.bits(1)? == 1 {
                if let Some(dc) = dc {
                    *dc |= 1 << shift;
                }
            }
            Ok(())
        };
    context.for_each_block(bits, kept, block, &mut |_, _| Ok(()))
}

/// The spectral band of an AC scan and what it reads into.
struct Band<'a> {
    start: usize,
    end: usize,
    /// The point transform: the bit position this scan's values stand at.
    shift: u32,
    table: &'a Huffman,
    low: &'a LowFrequencies,
    index: usize,
    blocks_w: usize,
}

/// One block's kept coefficients and non-zero bits.
struct Block<'a> {
    values: &'a mut [i16],
    nonzero: &'a mut u64,
    n: usize,
    low: &'a LowFrequencies,
}

impl Block<'_> {
    fn is_nonzero(&self, k: usize) -> bool {
        *self.nonzero & (1 << k) != 0
    }

    /// Sets zigzag position `k`, which was zero, to `value`.
    fn set(&mut self, k: usize, value: i32) {
        *self.nonzero |= 1 << k;
        if let Some((u, v, _)) = self.low.at[k] {
            self.values[usize::from(u) * self.n + usize::from(v)] = value as i16;
        }
    }

    /// A correction bit of 1 for non-zero position `k`: one more bit of its
    /// magnitude, at `bit`, away from zero (T.81 G.1.2.3).
    fn refine(&mut self, k: usize, bit: i32) {
        if let Some((u, v, _)) = self.low.at[k] {
            let value = &mut self.values[usize::from(u) * self.n + usize::from(v)];
            if i32::from(*value) & bit == 0 {
                let step = if *value >= 0 { bit } else { -bit };
                *value = (i32::from(*value) + step) as i16;
            }
        }
    }
}

impl Band<'_> {
    /// A block of a first AC scan (T.81 G.1.2.2).
    fn first(
        &self,
        bits: &mut Bits<impl BufRead>,
        block: &mut Block,
        eob_run: &mut i32,
    ) -> io::Result<()> {
        if *eob_run > 0 {
            *eob_run -= 1;
            return Ok(());
        }
        let mut k = self.start;
        while k <= self.end {
            let symbol = bits.decode_symbol(self.table)?;
            let (run, size) = (usize::from(symbol >> 4), u32::from(symbol & 15));
            if size != 0 {
                k += run;
                let value = bits.signed_bits(size)?.wrapping_shl(self.shift);
                if k <= self.end {
                    block.set(k, value);
                }
            } else if run == 15 {
                k += 15;
            } else {
                *eob_run = end_of_band_run(bits, run)? - 1;
                return Ok(());
            }
            k += 1;
        }
        Ok(())
    }

    /// A block of a refinement AC scan (T.81 G.1.2.3): new coefficients of
    /// ±1 at this bit, and a correction bit for each one non-zero already.
    fn refine(
        &self,
        bits: &mut Bits<impl BufRead>,
        block: &mut Block,
        eob_run: &mut i32,
    ) -> io::Result<()> {
        let bit = 1i32 << self.shift;
        let mut k = self.start;
        if *eob_run == 0 {
            while k <= self.end {
                let symbol = bits.decode_symbol(self.table)?;
                let (mut zeros, size) = (i32::from(symbol >> 4), symbol & 15);
                let value = match size {
                    0 if zeros != 15 => {
                        *eob_run = end_of_band_run(bits, zeros as usize)?;
                        break;
                    }
                    0 => 0, // ZRL: sixteen zeros passed over
                    _ if bits.bits(1)? == 1 => bit,
                    _ => -bit,
                };
                // Past non-zero coefficients (each with its correction bit)
                // and `zeros` zero ones, to where the new one goes.
                while k <= self.end {
                    if block.is_nonzero(k) {
                        if bits.bits(1)? == 1 {
                            block.refine(k, bit);
                        }
                    } else {
                        if zeros == 0 {
                            break;
                        }
                        zeros -= 1;
                    }
                    k += 1;
                }
                if value != 0 && k <= self.end {
                    block.set(k, value);
                }
                k += 1;
            }
        }
        if *eob_run > 0 {
            // The rest of the band is zero here, but for its corrections.
            while k <= self.end {
                if block.is_nonzero(k) && bits.bits(1)? == 1 {
                    block.refine(k, bit);
                }
                k += 1;
            }
            *eob_run -= 1;
        }
        Ok(())
    }
}

/// The length of an end-of-band run of code `run` (EOB0–EOB14): this block
/// and the next ones, 2^run plus `run` more bits in all.
fn end_of_band_run(bits: &mut Bits<impl BufRead>, run: usize) -> io::Result<i32> {
    let extra = if run > 0 { bits.bits(run as u32)? } else { 0 };
    Ok((1 << run) + extra)
}

/// The planes' samples from the kept coefficients, once every scan is in.
pub(super) fn samples<const N: usize>(
    frame: &Frame,
    kept: &Coefficients,
    tables: &Tables,
    planes: &mut [Vec<u8>],
) -> io::Result<()> {
    let idct = ReducedIdct::<N>::new();
    for ((plane, values), component) in planes.iter_mut().zip(&kept.values).zip(&frame.components) {
        let low = LowFrequencies::new(N, tables.quant(component)?);
        let stride = component.blocks_w * N;
        for (at, coefficients) in values.chunks_exact(N * N).enumerate() {
            let (x, y) = (at % component.blocks_w, at / component.blocks_w);
            let mut block = [[0f32; N]; N];
            let mut dc_alone = true;
            for &(u, v, quant) in low.at.iter().flatten() {
                let (u, v) = (usize::from(u), usize::from(v));
                let value = coefficients[u * N + v];
                block[u][v] = f32::from(value) * quant;
                dc_alone &= value == 0 || (u, v) == (0, 0);
            }
            let out = &mut plane[y * N * stride + x * N..];
            block_samples(&idct, &block, dc_alone, out, stride);
        }
    }
    Ok(())
}
