//! Decoding a JPEG at a reduced scale, 1/8, 1/4, 3/8 or 1/2, for thumbnails
//! and previews: baseline (and extended) Huffman JPEGs at any of them, and
//! progressive ones at 1/8 from their DC scans alone (T.81 G.1.2), with one
//! component (gray) or three (YCbCr, or RGB by Adobe's transform).
//!
//! Why our own, measured on the 12 MP corpus photo (`cargo bench -p
//! fieldproof-core --features bench-libjpeg-turbo --bench capture`):
//! - jpeg-decoder decodes and keeps every coefficient even at 1/8, and holds
//!   all of a progressive image's (2 bytes each: 144 MiB at 48 MP, so large
//!   progressive photos got no thumbnail at all); capture with it took 2.15×
//!   libjpeg-turbo's 1/8 decode, the preview 2.9× its 1/2 decode.
//! - zune-jpeg (and the `image` crate) decode at full size only: 144 MiB of
//!   pixels at 48 MP.
//! - libjpeg-turbo itself is C: untrusted photos (imports) parsed in C, a
//!   cmake + nasm build for every Android ABI and iOS slice.
//!
//! Here a block costs what it must: at 1/8 its DC alone (AC codes are read
//! only to be skipped, a whole coefficient per table lookup); at n/8 the
//! low-frequency n×n coefficients go through a reduced IDCT ([`idct`]). Memory is the component planes at the reduced scale and the
//! pixels (4.5 MiB at 48 MP and 1/8); a progressive image adds a 4-byte DC
//! per block, never its coefficients.
//!
//! Hostile input costs bounded work: a frame over `max_pixels` is refused
//! before anything is allocated, every loop consumes input or ends, and a
//! code that matches no Huffman table is an error.

use super::color::{Interleaver, Pixels, Plane};
use super::entropy::{Bits, Huffman};
use super::idct::ReducedIdct;
use super::segments::{
    self, byte, invalid, next_marker, parse_frame, parse_huffman, parse_quant, parse_scan, segment,
    skip_entropy_data, Frame, Scan, Tables, ZIGZAG_ROW_COLUMN,
};
use std::io::{self, BufRead, ErrorKind};

/// The next whole rows of a decoded 8-bit image, its pixels interleaved.
pub(crate) struct Rows<'a> {
    pub width: usize,
    pub height: usize,
    pub pixels: Pixels,
    pub data: &'a [u8],
}

/// Where a decode's rows go, in order; an error stops the decode.
pub(crate) type RowSink<'s> = dyn FnMut(Rows) -> io::Result<()> + 's;

/// The scale a decode works at, in eighths: samples per block edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scale {
    Eighth = 1,
    Quarter = 2,
    ThreeEighths = 3,
    Half = 4,
}

impl Scale {
    pub const ALL: [Scale; 4] = [
        Scale::Eighth,
        Scale::Quarter,
        Scale::ThreeEighths,
        Scale::Half,
    ];

    pub fn eighths(self) -> u64 {
        self as u64
    }

    fn samples(self) -> usize {
        self as usize
    }
}

/// The buffers a decode at `scale` holds at its peak for a frame of
/// `blocks` 8×8 blocks (all components, padded to whole MCUs) and
/// `pixels` × `channels` of output: a sample plane per component, a 4-byte DC
/// per block for a progressive frame, and the output.
pub(crate) fn peak_bytes(
    blocks: u64,
    progressive: bool,
    scale: Scale,
    pixels: u64,
    channels: u64,
) -> u64 {
    let samples = scale.samples() as u64;
    let dc = if progressive { 4 * blocks } else { 0 };
    blocks * samples * samples + dc + pixels * channels
}

/// Each component's samples at the decode scale, and for a progressive frame
/// its blocks' DC coefficients so far.
struct Planes {
    samples: Vec<Vec<u8>>,
    dc: Vec<Vec<i32>>,
}

/// Decodes the JPEG in `input` (from its SOI) at `scale`, handing its rows
/// to `sink` in order: as each row of MCUs is done when the image is one
/// interleaved scan (what cameras write), so that whoever takes them can work
/// while the decode goes on; otherwise all at the end. A progressive frame
/// decodes at [`Scale::Eighth`] only (`Unsupported` otherwise), as do frames
/// of other than one or three components.
pub(crate) fn decode_rows(
    input: &mut impl BufRead,
    scale: Scale,
    max_pixels: u64,
    sink: &mut RowSink,
) -> io::Result<()> {
    if (byte(input)?, byte(input)?) != (Some(0xff), Some(0xd8)) {
        return Err(invalid("not a JPEG file"));
    }
    let mut frame: Option<(Frame, Planes)> = None;
    let mut tables = Tables::default();
    let mut restart_interval = 0usize;
    let mut adobe_rgb = false;
    let mut emitter: Option<Emitter> = None;
    let mut pending = None;
    loop {
        let marker = match pending.take() {
            Some(marker) => Some(marker),
            None => next_marker(input)?,
        };
        let Some(marker) = marker else {
            break; // a cut file: what the scans gave is the image
        };
        match marker {
            0xd9 => break,
            0xd0..=0xd7 | 0x01 => continue,
            0xd8 => return Err(invalid("unexpected start-of-image marker")),
            _ => {}
        }
        let body = segment(input)?;
        match marker {
            0xc0..=0xc2 if frame.is_none() => {
                let parsed = parse_frame(marker, &body, max_pixels)?;
                frame = Some(start(parsed, scale)?);
            }
            0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) => {
                return Err(unsupported(
                    "a second frame, or a lossless, arithmetic or hierarchical one",
                ));
            }
            0xc4 => parse_huffman(&body, &mut tables)?,
            0xdb => parse_quant(&body, &mut tables)?,
            0xdd => {
                let [a, b, ..] = body[..] else {
                    return Err(invalid("restart interval segment too short"));
                };
                restart_interval = usize::from(u16::from_be_bytes([a, b]));
            }
            0xee if body.starts_with(b"Adobe") && body.len() >= 12 && body[11] == 0 => {
                adobe_rgb = true;
            }
            0xda => {
                let (frame, planes) = frame
                    .as_mut()
                    .ok_or_else(|| invalid("a scan before the frame header"))?;
                let scan = parse_scan(&body, frame)?;
                let emitter = emitter.get_or_insert_with(|| Emitter::new(frame, scale, adobe_rgb));
                let mut bits = Bits::new(input);
                let context = ScanContext {
                    frame,
                    scan: &scan,
                    tables: &tables,
                    restart_interval,
                };
                // A scan of every component gives whole rows as it goes.
                let interleaved = scan.components.len() == frame.components.len();
                let mut row_done = |planes: &Planes, mcu_row: usize| match interleaved {
                    true => {
                        emitter.up_to(planes, (mcu_row + 1) * frame.v_max * scale.samples(), sink)
                    }
                    false => Ok(()),
                };
                if !frame.progressive {
                    match scale {
                        Scale::Eighth => {
                            sequential_scan::<1>(&mut bits, &context, planes, &mut row_done)?
                        }
                        Scale::Quarter => {
                            sequential_scan::<2>(&mut bits, &context, planes, &mut row_done)?
                        }
                        Scale::ThreeEighths => {
                            sequential_scan::<3>(&mut bits, &context, planes, &mut row_done)?
                        }
                        Scale::Half => {
                            sequential_scan::<4>(&mut bits, &context, planes, &mut row_done)?
                        }
                    }
                    emitter.scans += 1;
                } else if scan.spectral_start == 0 {
                    dc_scan(&mut bits, &context, planes)?;
                    emitter.scans += 1;
                }
                if bits.truncated {
                    // A file cut inside a scan: part of the image is missing.
                    return Err(ErrorKind::UnexpectedEof.into());
                }
                pending = Some(match bits.marker {
                    Some(marker) => marker,
                    None => skip_entropy_data(bits.input)?,
                });
            }
            _ => {}
        }
    }
    let (frame, mut planes) = frame.ok_or_else(|| invalid("no frame header"))?;
    let mut emitter = emitter
        .filter(|e| e.scans > 0)
        .ok_or_else(|| invalid("no scan"))?;
    dc_samples(&frame, &mut planes, &tables)?;
    emitter.up_to(&planes, emitter.height, sink)
}

/// The whole image at `scale`, as [`decode_rows`] gives it.
#[cfg(test)]
pub(crate) fn decode(
    input: &mut impl BufRead,
    scale: Scale,
    max_pixels: u64,
) -> io::Result<(usize, usize, Pixels, Vec<u8>)> {
    let mut image = (0, 0, Pixels::Gray, Vec::new());
    decode_rows(input, scale, max_pixels, &mut |rows| {
        image.0 = rows.width;
        image.1 = rows.height;
        image.2 = rows.pixels;
        image.3.extend_from_slice(rows.data);
        Ok(())
    })?;
    Ok(image)
}

fn unsupported(what: &'static str) -> io::Error {
    io::Error::new(ErrorKind::Unsupported, what)
}

/// The planes a frame decodes into, once it is known to be one this decoder
/// handles.
fn start(frame: Frame, scale: Scale) -> io::Result<(Frame, Planes)> {
    if !matches!(frame.components.len(), 1 | 3) {
        return Err(unsupported("a frame of other than one or three components"));
    }
    if frame.progressive && scale != Scale::Eighth {
        return Err(unsupported("a progressive frame above 1/8 scale"));
    }
    let n = scale.samples();
    let blocks = |c: &segments::Component| c.blocks_w * c.blocks_h;
    let planes = Planes {
        samples: frame
            .components
            .iter()
            .map(|c| vec![128; blocks(c) * n * n])
            .collect(),
        dc: frame
            .components
            .iter()
            .map(|c| {
                if frame.progressive {
                    vec![0; blocks(c)]
                } else {
                    Vec::new()
                }
            })
            .collect(),
    };
    Ok((frame, planes))
}

/// Called after each row of MCUs with the planes so far.
type RowDone<'r> = dyn FnMut(&Planes, usize) -> io::Result<()> + 'r;

struct ScanContext<'a> {
    frame: &'a Frame,
    scan: &'a Scan,
    tables: &'a Tables,
    restart_interval: usize,
}

impl ScanContext<'_> {
    /// MCUs per row and rows of them; whether each holds one block (a scan
    /// of one component, coded over that component's own extent).
    fn mcus(&self) -> (usize, usize, bool) {
        if let [one] = self.scan.components[..] {
            let (w, h) = self.frame.own_blocks(&self.frame.components[one.index]);
            (w, h, true)
        } else {
            let (w, h) = self.frame.mcus();
            (w, h, false)
        }
    }

    /// Every block of the scan in coding order, as (scan component, block
    /// column, block row, that component's DC prediction), the predictions
    /// reset at each restart; `row_done` after each row of MCUs.
    fn for_each_block<R: BufRead>(
        &self,
        bits: &mut Bits<R>,
        planes: &mut Planes,
        mut block: impl FnMut(
            &mut Bits<R>,
            &mut Planes,
            usize,
            usize,
            usize,
            &mut i32,
        ) -> io::Result<()>,
        row_done: &mut RowDone,
    ) -> io::Result<()> {
        let (mcus_w, mcus_h, single) = self.mcus();
        let mut predictions = [0i32; 4];
        let mut mcu = 0usize;
        for my in 0..mcus_h {
            for mx in 0..mcus_w {
                if self.restart_interval > 0 && mcu > 0 && mcu.is_multiple_of(self.restart_interval)
                {
                    bits.restart()?;
                    predictions = [0; 4];
                }
                mcu += 1;
                for (k, sc) in self.scan.components.iter().enumerate() {
                    let c = &self.frame.components[sc.index];
                    let (h, v) = if single { (1, 1) } else { (c.h, c.v) };
                    for by in 0..v {
                        for bx in 0..h {
                            let (x, y) = (mx * h + bx, my * v + by);
                            block(bits, planes, k, x, y, &mut predictions[k])?;
                        }
                    }
                }
            }
            row_done(planes, my)?;
        }
        Ok(())
    }

    fn table<'t>(&self, tables: &'t [Option<Huffman>; 4], id: usize) -> io::Result<&'t Huffman> {
        tables[id]
            .as_ref()
            .ok_or_else(|| invalid("a scan names a Huffman table not defined"))
    }
}

/// A baseline scan at N samples per block edge: each block's DC, and its
/// low-frequency N×N coefficients through the reduced IDCT (N = 1: the DC
/// alone, the AC codes skipped).
fn sequential_scan<const N: usize>(
    bits: &mut Bits<impl BufRead>,
    context: &ScanContext,
    planes: &mut Planes,
    row_done: &mut RowDone,
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
        if any_ac {
            idct.samples(&block, out, stride);
        } else {
            let flat = dc_sample(dc);
            for row in out.chunks_mut(stride).take(N) {
                row[..N].fill(flat);
            }
        }
        Ok(())
    };
    context.for_each_block(bits, planes, block, row_done)
}

/// Where each zigzag position lands in the low-frequency N×N block a scaled
/// decode keeps (none past it), with its quantiser.
struct LowFrequencies {
    at: [Option<(u8, u8, f32)>; 64],
    /// The last zigzag position in the block.
    last: usize,
    dc_quant: i32,
}

impl LowFrequencies {
    fn new(n: usize, quant: &[u16; 64]) -> Self {
        let mut at = [None; 64];
        let mut last = 0;
        for (k, slot) in at.iter_mut().enumerate() {
            let (u, v) = ZIGZAG_ROW_COLUMN[k];
            if usize::from(u) < n && usize::from(v) < n {
                *slot = Some((u, v, f32::from(quant[k])));
                last = k;
            }
        }
        LowFrequencies {
            at,
            last,
            dc_quant: i32::from(quant[0]),
        }
    }
}

/// A block that is its DC alone: DC / 8 + 128, as libjpeg's 1×1 IDCT rounds.
fn dc_sample(dequantised_dc: i32) -> u8 {
    ((dequantised_dc.saturating_add(4) >> 3) + 128).clamp(0, 255) as u8
}

/// One progressive DC scan, the first (`approx_high` 0) or a refinement.
fn dc_scan(
    bits: &mut Bits<impl BufRead>,
    context: &ScanContext,
    planes: &mut Planes,
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
    let block = |bits: &mut Bits<_>, planes: &mut Planes, k: usize, x, y, prediction: &mut i32| {
        let index = context.scan.components[k].index;
        let blocks_w = context.frame.components[index].blocks_w;
        let dc = planes.dc[index].get_mut(y * blocks_w + x);
        if let Some(table) = tables[k] {
            // Hostile differences may run a prediction past any real
            // DC; they wrap rather than stop.
            *prediction = prediction.wrapping_add(bits.dc_difference(table)?);
            if let Some(dc) = dc {
                *dc = prediction.wrapping_shl(shift);
            }
        } else if bits.bits(1)? == 1 {
            if let Some(dc) = dc {
                *dc |= 1 << shift;
            }
        }
        Ok(())
    };
    context.for_each_block(bits, planes, block, &mut |_, _| Ok(()))
}

/// A progressive frame's DCs become its samples (a baseline frame has
/// none: its blocks wrote their samples as they were decoded).
fn dc_samples(frame: &Frame, planes: &mut Planes, tables: &Tables) -> io::Result<()> {
    for ((samples, dc), component) in planes
        .samples
        .iter_mut()
        .zip(&planes.dc)
        .zip(&frame.components)
        .filter(|((_, dc), _)| !dc.is_empty())
    {
        let quant = i32::from(tables.quant(component)?[0]);
        for (sample, &dc) in samples.iter_mut().zip(dc) {
            *sample = dc_sample(dc.wrapping_mul(quant));
        }
    }
    Ok(())
}

/// Hands out the image's rows, at the scaled size (rounded up, as libjpeg
/// does), as the planes come to hold them.
struct Emitter {
    width: usize,
    height: usize,
    pixels: Pixels,
    interleaver: Interleaver,
    /// Rows handed out so far, and the scans decoded.
    emitted: usize,
    scans: usize,
    /// Sample columns per component's plane row.
    strides: Vec<usize>,
    buffer: Vec<u8>,
}

impl Emitter {
    fn new(frame: &Frame, scale: Scale, adobe_rgb: bool) -> Emitter {
        let n = scale.samples();
        let width = (frame.width * n).div_ceil(8);
        let sampling: Vec<(usize, usize)> = frame.components.iter().map(|c| (c.h, c.v)).collect();
        Emitter {
            width,
            height: (frame.height * n).div_ceil(8),
            pixels: match (frame.components.len(), adobe_rgb) {
                (1, _) => Pixels::Gray,
                (_, false) => Pixels::YCbCr,
                (_, true) => Pixels::Rgb,
            },
            interleaver: Interleaver::new(width, (frame.h_max, frame.v_max), &sampling),
            emitted: 0,
            scans: 0,
            strides: frame.components.iter().map(|c| c.blocks_w * n).collect(),
            buffer: Vec::new(),
        }
    }

    /// Hands out the rows before `end` not handed out yet.
    fn up_to(&mut self, planes: &Planes, end: usize, sink: &mut RowSink) -> io::Result<()> {
        let end = end.min(self.height);
        if end <= self.emitted {
            return Ok(());
        }
        let views: Vec<Plane> = planes
            .samples
            .iter()
            .zip(&self.strides)
            .map(|(samples, &stride)| Plane { samples, stride })
            .collect();
        self.buffer.clear();
        self.interleaver
            .rows(self.emitted..end, &views, &mut self.buffer);
        self.emitted = end;
        sink(Rows {
            width: self.width,
            height: self.height,
            pixels: self.pixels,
            data: &self.buffer,
        })
    }
}
