//! Decoding a JPEG at a reduced scale, 1/8, 1/4, 3/8 or 1/2, for thumbnails
//! and previews: baseline (and extended) Huffman JPEGs ([`sequential`]) and
//! progressive ones ([`progressive`]: at 1/8 from their DC scans alone), with
//! one component (gray) or three (YCbCr, or RGB by Adobe's transform). This
//! module walks the markers, runs the scans and hands out the rows.
//!
//! Why our own. Measured in process on the 12 MP corpus photo and a 48 MP one
//! (`cargo bench -p fieldproof-core --features bench-libjpeg-turbo --bench
//! capture`, same run, libjpeg-turbo 3 with its SIMD as the baseline):
//! - jpeg-decoder decodes every coefficient even at 1/8 and keeps all of a
//!   progressive image's (2 bytes each: 144 MiB at 48 MP, so large
//!   progressive photos got no thumbnail at all): capture took 2.15×
//!   libjpeg-turbo's 1/8 decode, the preview 2.8× its 1/2 decode.
//! - zune-jpeg (and the `image` crate) decode at full size only: 144 MiB of
//!   pixels at 48 MP.
//! - libjpeg-turbo (or mozjpeg) would be as fast as the baseline by
//!   definition, but it is C parsing untrusted photos (imports come from any
//!   app), and needs cmake and nasm for every Android ABI and iOS slice
//!   (~600 KB each). The `mozjpeg` crate turns libjpeg's errors into Rust
//!   panics unwound through C, which a `panic = "abort"` build turns into an
//!   abort of the app; TurboJPEG returns error codes, but is still C.
//! - This decoder, pure Rust with every failure a value: capture 1.05× the
//!   bare 1/8 decode at 12 MP and 1.04× at 48 MP (goal ≤ 1.3× + 5 ms); the
//!   preview 1.28× the 1/2 decode at 12 MP and 0.83× at 48 MP (goal ≤ 1.3×),
//!   its resizing and encoding overlapped with the decode on the other core.
//!
//! Here a block costs what it must: at 1/8 its DC alone (AC codes are read
//! only to be skipped, several at a table lookup where they are short); at
//! n/8 the low-frequency n×n coefficients go through a reduced IDCT
//! ([`idct`]). Memory is the component planes at the reduced scale (1.1 MiB
//! at 48 MP and 1/8); a progressive image adds a 4-byte DC per block, never
//! its coefficients.
//!
//! Hostile input costs bounded work: a frame over `max_pixels` is refused
//! before anything is allocated, every loop consumes input or ends, and a
//! code that matches no Huffman table is an error.

use super::color::{Interleaver, Pixels, Plane};
use super::entropy::{Bits, Huffman};
use super::idct::ReducedIdct;
use super::progressive::{self, Coefficients};
use super::segments::{
    byte, invalid, next_marker, parse_frame, parse_huffman, parse_quant, parse_scan, segment,
    skip_entropy_data, Frame, Scan, Tables, ZIGZAG_ROW_COLUMN,
};
use super::sequential::sequential_scan;
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
/// `pixels` × `channels` of output: a sample plane per component, the kept
/// coefficients of a progressive frame, and (a bound: it goes out a row of
/// MCUs at a time) the output.
pub(crate) fn peak_bytes(
    blocks: u64,
    progressive: bool,
    scale: Scale,
    pixels: u64,
    channels: u64,
) -> u64 {
    let samples = scale.samples() as u64;
    let coefficients = match progressive {
        true => blocks * Coefficients::bytes_per_block(scale.samples()),
        false => 0,
    };
    blocks * samples * samples + coefficients + pixels * channels
}

/// Each component's samples at the decode scale, and for a progressive frame
/// the coefficients kept so far.
pub(super) struct Planes {
    pub samples: Vec<Vec<u8>>,
    pub coefficients: Option<Coefficients>,
}

/// Decodes the JPEG in `input` (from its SOI) at `scale`, handing its rows
/// to `sink` in order: as each row of MCUs is done when the image is one
/// interleaved scan (what cameras write), so that whoever takes them can work
/// while the decode goes on; otherwise once every scan is in, a row of MCUs
/// at a time all the same. Frames of other than one or three components are
/// `Unsupported`.
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
                    true => emitter.up_to(planes, (mcu_row + 1) * emitter.mcu_rows, sink),
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
                } else if let Some(kept) = planes.coefficients.as_mut() {
                    progressive::scan(&mut bits, &context, kept)?;
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
    if let Some(kept) = &planes.coefficients {
        let samples = &mut planes.samples;
        match scale {
            Scale::Eighth => progressive::samples::<1>(&frame, kept, &tables, samples)?,
            Scale::Quarter => progressive::samples::<2>(&frame, kept, &tables, samples)?,
            Scale::ThreeEighths => progressive::samples::<3>(&frame, kept, &tables, samples)?,
            Scale::Half => progressive::samples::<4>(&frame, kept, &tables, samples)?,
        }
    }
    emitter.rest(&planes, sink)
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
    let n = scale.samples();
    let planes = Planes {
        samples: frame
            .components
            .iter()
            .map(|c| vec![128; c.blocks_w * c.blocks_h * n * n])
            .collect(),
        coefficients: frame.progressive.then(|| Coefficients::new(&frame, n)),
    };
    Ok((frame, planes))
}

/// Called after each row of MCUs with what the scan has decoded so far.
pub(super) type RowDone<'r, S> = dyn FnMut(&S, usize) -> io::Result<()> + 'r;

/// A scan, and what it is decoded with.
pub(super) struct ScanContext<'a> {
    pub frame: &'a Frame,
    pub scan: &'a Scan,
    pub tables: &'a Tables,
    pub restart_interval: usize,
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

    /// Every block of the scan in coding order, with `state` (what the scan
    /// decodes into), the scan component, the block's column and row, and
    /// that component's running value: zero at the start of each restart
    /// interval (the DC prediction, or an AC scan's end-of-band run).
    /// `row_done` after each row of MCUs.
    pub fn for_each_block<R: BufRead, S>(
        &self,
        bits: &mut Bits<R>,
        state: &mut S,
        mut block: impl FnMut(&mut Bits<R>, &mut S, usize, usize, usize, &mut i32) -> io::Result<()>,
        row_done: &mut RowDone<S>,
    ) -> io::Result<()> {
        let (mcus_w, mcus_h, single) = self.mcus();
        let mut running = [0i32; 4];
        let mut mcu = 0usize;
        for my in 0..mcus_h {
            for mx in 0..mcus_w {
                if self.restart_interval > 0 && mcu > 0 && mcu.is_multiple_of(self.restart_interval)
                {
                    bits.restart()?;
                    running = [0; 4];
                }
                mcu += 1;
                for (k, sc) in self.scan.components.iter().enumerate() {
                    let c = &self.frame.components[sc.index];
                    let (h, v) = if single { (1, 1) } else { (c.h, c.v) };
                    for by in 0..v {
                        for bx in 0..h {
                            let (x, y) = (mx * h + bx, my * v + by);
                            block(bits, state, k, x, y, &mut running[k])?;
                        }
                    }
                }
            }
            row_done(state, my)?;
        }
        Ok(())
    }

    pub fn table<'t>(
        &self,
        tables: &'t [Option<Huffman>; 4],
        id: usize,
    ) -> io::Result<&'t Huffman> {
        tables[id]
            .as_ref()
            .ok_or_else(|| invalid("a scan names a Huffman table not defined"))
    }
}

/// Where each zigzag position lands in the low-frequency N×N block a scaled
/// decode keeps (none past it), with its quantiser.
pub(super) struct LowFrequencies {
    pub at: [Option<(u8, u8, f32)>; 64],
    /// The last zigzag position in the block.
    pub last: usize,
    pub dc_quant: i32,
}

impl LowFrequencies {
    pub fn new(n: usize, quant: &[u16; 64]) -> Self {
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
pub(super) fn dc_sample(dequantised_dc: i32) -> u8 {
    ((dequantised_dc.saturating_add(4) >> 3) + 128).clamp(0, 255) as u8
}

/// Writes a block's N×N samples into `out` (rows `stride` apart) from its
/// dequantised low-frequency coefficients; a block of a DC alone is flat.
pub(super) fn block_samples<const N: usize>(
    idct: &ReducedIdct<N>,
    block: &[[f32; N]; N],
    dc_alone: bool,
    out: &mut [u8],
    stride: usize,
) {
    if dc_alone {
        let flat = dc_sample(block[0][0] as i32);
        for row in out.chunks_mut(stride).take(N) {
            row[..N].fill(flat);
        }
    } else {
        idct.samples(block, out, stride);
    }
}

/// Hands out the image's rows, at the scaled size (rounded up, as libjpeg
/// does), as the planes come to hold them.
struct Emitter {
    width: usize,
    height: usize,
    pixels: Pixels,
    interleaver: Interleaver,
    /// Pixel rows in a row of MCUs.
    mcu_rows: usize,
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
            mcu_rows: frame.v_max * n,
            emitted: 0,
            scans: 0,
            strides: frame.components.iter().map(|c| c.blocks_w * n).collect(),
            buffer: Vec::new(),
        }
    }

    /// Hands out every row not handed out yet, a row of MCUs at a time.
    fn rest(&mut self, planes: &Planes, sink: &mut RowSink) -> io::Result<()> {
        while self.emitted < self.height {
            let end = self.emitted + self.mcu_rows;
            self.up_to(planes, end, sink)?;
        }
        Ok(())
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
