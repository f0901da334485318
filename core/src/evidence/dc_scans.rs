//! Progressive JPEGs at 1/8 scale from their DC scans alone (ITU T.81 G.1.2).
//!
//! Why our own: jpeg-decoder keeps every DCT coefficient of a progressive
//! image between its scans (2 bytes each: 36 MiB at 12 MP, 144 MiB at 48 MP),
//! so large progressive photos got no thumbnail at all. At 1/8 scale a block
//! is its DC coefficient (what libjpeg's 1/8 scaled IDCT computes too), so only
//! the DC scans are decoded, 4 bytes per block (4.5 MiB at 48 MP), and the AC
//! scans are skipped unread. (Baseline photos stay with jpeg-decoder: decoding
//! their AC codes only to skip them measured no faster, 73 ms against 65 ms
//! at 12 MP.)
//!
//! Hostile input costs bounded work: a frame over `max_pixels` is refused
//! before anything is allocated, every loop consumes input or ends, and a code
//! that matches no Huffman table is an error.

use std::io::{self, BufRead, ErrorKind};

/// An 8-bit image at 1/8 scale: gray (1 channel) or RGB (3).
pub(crate) struct Decoded {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant: usize,
    /// Blocks per row and rows of blocks, padded to whole MCUs.
    blocks_w: usize,
    blocks_h: usize,
    dc: Vec<i32>,
}

struct Frame {
    width: usize,
    height: usize,
    components: Vec<Component>,
    h_max: usize,
    v_max: usize,
}

/// Codes up to this long are decoded by one table lookup.
const LOOKUP_BITS: u32 = 9;

/// A canonical Huffman table (T.81 C).
#[derive(Clone)]
struct Huffman {
    /// For each code length 1–16: the first code, and where its symbols start.
    first: [i32; 17],
    count: [i32; 17],
    offset: [usize; 17],
    symbols: Vec<u8>,
    /// By the next [`LOOKUP_BITS`] bits: (code length, symbol), length 0 when
    /// the code is longer.
    lookup: Vec<(u8, u8)>,
}

impl Default for Huffman {
    fn default() -> Self {
        Huffman {
            first: [0; 17],
            count: [0; 17],
            offset: [0; 17],
            symbols: Vec::new(),
            lookup: vec![(0, 0); 1 << LOOKUP_BITS],
        }
    }
}

impl Huffman {
    fn parse(counts: &[u8], symbols: &[u8]) -> Huffman {
        let mut table = Huffman {
            symbols: symbols.to_vec(),
            ..Huffman::default()
        };
        let (mut code, mut offset) = (0i32, 0usize);
        for len in 1..=16 {
            let n = i32::from(counts[len - 1]);
            table.first[len] = code;
            table.count[len] = n;
            table.offset[len] = offset;
            if len <= LOOKUP_BITS as usize {
                for k in 0..n {
                    let Some(&symbol) = symbols.get(offset + k as usize) else {
                        break;
                    };
                    let shift = LOOKUP_BITS as usize - len;
                    let start = ((code + k) as usize) << shift;
                    for entry in table.lookup.iter_mut().skip(start).take(1 << shift) {
                        *entry = (len as u8, symbol);
                    }
                }
            }
            code = (code + n) << 1;
            offset += n as usize;
        }
        table
    }
}

/// The entropy-coded bytes of a scan as bits; stops at the next marker and
/// gives zeros after it, as libjpeg does.
struct Bits<'a, R> {
    input: &'a mut R,
    /// The low `count` bits are the next ones, most significant first.
    buffer: u64,
    count: u32,
    /// The marker that ended the data, once met.
    marker: Option<u8>,
}

impl<'a, R: BufRead> Bits<'a, R> {
    fn new(input: &'a mut R) -> Self {
        Bits {
            input,
            buffer: 0,
            count: 0,
            marker: None,
        }
    }

    /// At least 57 bits in the buffer (zeros past the end of the data).
    fn fill(&mut self) -> io::Result<()> {
        // Straight from the reader's buffer while no 0xff needs a look.
        if self.marker.is_none() {
            let available = self.input.fill_buf()?;
            let wanted = ((64 - self.count) / 8) as usize;
            let plain = available
                .iter()
                .take(wanted)
                .take_while(|&&b| b != 0xff)
                .count();
            for &byte in &available[..plain] {
                self.buffer = (self.buffer << 8) | u64::from(byte);
            }
            self.count += 8 * plain as u32;
            self.input.consume(plain);
        }
        while self.count <= 56 {
            let byte = self.next_byte()?;
            self.buffer = (self.buffer << 8) | u64::from(byte);
            self.count += 8;
        }
        Ok(())
    }

    #[inline]
    fn peek(&mut self, n: u32) -> io::Result<u32> {
        if self.count < n {
            self.fill()?;
        }
        Ok(((self.buffer >> (self.count - n)) & ((1 << n) - 1)) as u32)
    }

    fn bits(&mut self, n: u32) -> io::Result<i32> {
        if n == 0 {
            return Ok(0);
        }
        let value = self.peek(n)?;
        self.count -= n;
        Ok(value as i32)
    }

    fn bit(&mut self) -> io::Result<i32> {
        self.bits(1)
    }

    fn next_byte(&mut self) -> io::Result<u8> {
        if self.marker.is_some() {
            return Ok(0);
        }
        // A file cut inside a scan that holds DC coefficients is truncated:
        // part of the image is missing (the general decoder says the same).
        let Some(byte) = byte(self.input)? else {
            return Err(ErrorKind::UnexpectedEof.into());
        };
        if byte != 0xff {
            return Ok(byte);
        }
        match byte_after_fill(self.input)? {
            Some(0x00) => Ok(0xff),
            Some(code) => {
                self.marker = Some(code);
                Ok(0)
            }
            None => Err(ErrorKind::UnexpectedEof.into()),
        }
    }

    #[inline]
    fn decode(&mut self, table: &Huffman) -> io::Result<u8> {
        let (len, symbol) = table.lookup[self.peek(LOOKUP_BITS)? as usize];
        if len > 0 {
            self.count -= u32::from(len);
            return Ok(symbol);
        }
        for len in LOOKUP_BITS + 1..=16 {
            let code = self.peek(len)? as i32;
            let index = code - table.first[len as usize];
            if index < table.count[len as usize] {
                self.count -= len;
                return table
                    .symbols
                    .get(table.offset[len as usize] + index as usize)
                    .copied()
                    .ok_or_else(|| invalid("Huffman table shorter than its counts"));
            }
        }
        Err(invalid("a code that matches no Huffman table"))
    }

    /// At a restart: drops the bits left and takes the RSTn marker.
    fn restart(&mut self) -> io::Result<()> {
        self.count = 0;
        self.buffer = 0;
        match self.marker.take() {
            Some(0xd0..=0xd7) => Ok(()),
            Some(other) => {
                self.marker = Some(other);
                Ok(())
            }
            None => match next_marker(self.input)? {
                Some(0xd0..=0xd7) => Ok(()),
                Some(other) => {
                    self.marker = Some(other);
                    Ok(())
                }
                None => Err(ErrorKind::UnexpectedEof.into()),
            },
        }
    }
}

/// Decodes the DC scans of the progressive JPEG in `input` (from its SOI) at
/// 1/8 scale: one sample per block per component, upsampled to the luma
/// grid, and turned into RGB for three components.
pub(crate) fn decode(input: &mut impl BufRead, max_pixels: u64) -> io::Result<Decoded> {
    if (byte(input)?, byte(input)?) != (Some(0xff), Some(0xd8)) {
        return Err(invalid("not a JPEG file"));
    }
    let mut frame: Option<Frame> = None;
    let mut quant = [1i32; 4];
    let mut dc_tables: [Option<Huffman>; 4] = Default::default();
    let mut restart_interval = 0usize;
    let mut adobe_transform = None;
    let mut dc_scans = 0;
    let mut pending = None;
    loop {
        let marker = match pending.take() {
            Some(marker) => Some(marker),
            None => next_marker(input)?,
        };
        let Some(marker) = marker else {
            break; // a cut file: what the DC scans gave is the image
        };
        match marker {
            0xd9 => break,
            0xd0..=0xd7 | 0x01 => continue,
            0xd8 => return Err(invalid("unexpected start-of-image marker")),
            _ => {}
        }
        let body = segment(input)?;
        match marker {
            0xc2 if frame.is_none() => frame = Some(parse_frame(&body, max_pixels)?),
            0xc0..=0xcf if marker != 0xc4 && marker != 0xc8 && marker != 0xcc => {
                return Err(invalid("a second or non-progressive frame"));
            }
            0xc4 => parse_huffman(&body, &mut dc_tables)?,
            0xdb => parse_quant(&body, &mut quant)?,
            0xdd => {
                let [a, b, ..] = body[..] else {
                    return Err(invalid("restart interval segment too short"));
                };
                restart_interval = usize::from(u16::from_be_bytes([a, b]));
            }
            0xee if body.starts_with(b"Adobe") && body.len() >= 12 => {
                adobe_transform = Some(body[11]);
            }
            0xda => {
                let frame = frame
                    .as_mut()
                    .ok_or_else(|| invalid("a scan before the frame header"))?;
                let scan = parse_scan(&body, frame)?;
                let mut bits = Bits::new(input);
                if scan.spectral_start == 0 {
                    dc_scan(&mut bits, frame, &scan, &dc_tables, restart_interval)?;
                    dc_scans += 1;
                }
                pending = Some(match bits.marker {
                    Some(marker) => marker,
                    None => skip_entropy_data(bits.input)?,
                });
            }
            _ => {}
        }
    }
    let frame = frame.ok_or_else(|| invalid("no frame header"))?;
    if dc_scans == 0 {
        return Err(invalid("no DC scan"));
    }
    compose(&frame, &quant, adobe_transform)
}

struct Scan {
    /// Index into the frame's components, and the DC table of each.
    components: Vec<(usize, usize)>,
    spectral_start: u8,
    approx_high: u8,
    approx_low: u8,
}

/// One DC scan, the first (`approx_high` 0) or a refinement.
fn dc_scan(
    bits: &mut Bits<impl BufRead>,
    frame: &mut Frame,
    scan: &Scan,
    tables: &[Option<Huffman>; 4],
    restart_interval: usize,
) -> io::Result<()> {
    let first = scan.approx_high == 0;
    let shift = u32::from(scan.approx_low);
    let mut tables_of = Vec::new();
    for &(_, table) in &scan.components {
        tables_of.push(match (first, &tables[table]) {
            (true, None) => return Err(invalid("a DC scan names a table not defined")),
            (_, t) => t.clone().unwrap_or_default(),
        });
    }
    let mut predictions = vec![0i32; scan.components.len()];
    // One component alone is coded block by block over its own extent.
    let (mcus_w, mcus_h, one) = if let [(c, _)] = scan.components[..] {
        let c = &frame.components[c];
        let w = (frame.width * c.h).div_ceil(frame.h_max).div_ceil(8);
        let h = (frame.height * c.v).div_ceil(frame.v_max).div_ceil(8);
        (w, h, true)
    } else {
        (
            frame.width.div_ceil(8 * frame.h_max),
            frame.height.div_ceil(8 * frame.v_max),
            false,
        )
    };
    let mut mcu = 0usize;
    for my in 0..mcus_h {
        for mx in 0..mcus_w {
            if restart_interval > 0 && mcu > 0 && mcu.is_multiple_of(restart_interval) {
                bits.restart()?;
                predictions.iter_mut().for_each(|p| *p = 0);
            }
            mcu += 1;
            for (k, &(c, _)) in scan.components.iter().enumerate() {
                let component = &mut frame.components[c];
                let (h, v) = if one {
                    (1, 1)
                } else {
                    (component.h, component.v)
                };
                for by in 0..v {
                    for bx in 0..h {
                        let (x, y) = (mx * h + bx, my * v + by);
                        let at = y * component.blocks_w + x;
                        if first {
                            let size = u32::from(bits.decode(&tables_of[k])?);
                            if size > 16 {
                                return Err(invalid("a DC difference over 16 bits"));
                            }
                            // Hostile differences may run a prediction past
                            // any real DC; they wrap rather than stop.
                            predictions[k] =
                                predictions[k].wrapping_add(extend(bits.bits(size)?, size));
                            if let Some(dc) = component.dc.get_mut(at) {
                                *dc = predictions[k] << shift;
                            }
                        } else if bits.bit()? == 1 {
                            if let Some(dc) = component.dc.get_mut(at) {
                                *dc |= 1 << shift;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// T.81 F.2.2.1: the difference `value` of `size` bits, with its sign.
fn extend(value: i32, size: u32) -> i32 {
    if size == 0 || value >= 1 << (size - 1) {
        value
    } else {
        value - (1 << size) + 1
    }
}

/// The image: each block's DC as its pixel (DC × quant / 8 + 128).
fn compose(frame: &Frame, quant: &[i32; 4], adobe_transform: Option<u8>) -> io::Result<Decoded> {
    let (width, height) = (frame.width.div_ceil(8), frame.height.div_ceil(8));
    let channels = match frame.components.len() {
        1 => 1,
        3 => 3,
        _ => {
            return Err(io::Error::new(
                ErrorKind::Unsupported,
                "progressive CMYK at 1/8 scale",
            ))
        }
    };
    let sample = |c: &Component, x: usize, y: usize| -> i32 {
        let (bx, by) = (x * c.h / frame.h_max, y * c.v / frame.v_max);
        let dc = i64::from(c.dc[by.min(c.blocks_h - 1) * c.blocks_w + bx.min(c.blocks_w - 1)]);
        let value = (dc * i64::from(quant[c.quant]) + 4 * dc.signum()) / 8 + 128;
        value.clamp(0, 255) as i32
    };
    let mut data = Vec::with_capacity(width * height * channels);
    for y in 0..height {
        for x in 0..width {
            match &frame.components[..] {
                [gray] => data.push(clamp(sample(gray, x, y))),
                [a, b, c] => {
                    let (a, b, c) = (sample(a, x, y), sample(b, x, y), sample(c, x, y));
                    if adobe_transform == Some(0) {
                        data.extend([clamp(a), clamp(b), clamp(c)]);
                    } else {
                        data.extend(ycbcr_to_rgb(a, b, c));
                    }
                }
                _ => unreachable!("one or three components"),
            }
        }
    }
    Ok(Decoded {
        width,
        height,
        channels,
        data,
    })
}

/// JFIF's YCbCr to RGB (ITU-R BT.601, full range).
fn ycbcr_to_rgb(y: i32, cb: i32, cr: i32) -> [u8; 3] {
    let (y, cb, cr) = (y as f32, (cb - 128) as f32, (cr - 128) as f32);
    [
        clamp((y + 1.402 * cr).round() as i32),
        clamp((y - 0.344_136 * cb - 0.714_136 * cr).round() as i32),
        clamp((y + 1.772 * cb).round() as i32),
    ]
}

fn clamp(value: i32) -> u8 {
    value.clamp(0, 255) as u8
}

fn parse_frame(body: &[u8], max_pixels: u64) -> io::Result<Frame> {
    let [8, h1, h0, w1, w0, count, ref rest @ ..] = *body else {
        return Err(invalid("not an 8-bit frame header"));
    };
    let (width, height) = (
        usize::from(u16::from_be_bytes([w1, w0])),
        usize::from(u16::from_be_bytes([h1, h0])),
    );
    if width == 0 || height == 0 || rest.len() != 3 * usize::from(count) {
        return Err(invalid("frame header does not match its components"));
    }
    if (width * height) as u64 > max_pixels {
        return Err(invalid("image larger than the decoding limits"));
    }
    let factors: Vec<(u8, usize, usize, usize)> = rest
        .chunks_exact(3)
        .map(|c| {
            let (h, v) = (usize::from(c[1] >> 4), usize::from(c[1] & 0x0f));
            (c[0], h, v, usize::from(c[2] & 3))
        })
        .collect();
    if factors
        .iter()
        .any(|&(_, h, v, _)| !(1..=4).contains(&h) || !(1..=4).contains(&v))
    {
        return Err(invalid("invalid sampling factor"));
    }
    let h_max = factors.iter().map(|f| f.1).max().unwrap_or(1);
    let v_max = factors.iter().map(|f| f.2).max().unwrap_or(1);
    let (mcus_w, mcus_h) = (width.div_ceil(8 * h_max), height.div_ceil(8 * v_max));
    let components = factors
        .into_iter()
        .map(|(id, h, v, quant)| Component {
            id,
            h,
            v,
            quant,
            blocks_w: mcus_w * h,
            blocks_h: mcus_h * v,
            dc: vec![0; mcus_w * h * mcus_h * v],
        })
        .collect();
    Ok(Frame {
        width,
        height,
        components,
        h_max,
        v_max,
    })
}

fn parse_scan(body: &[u8], frame: &Frame) -> io::Result<Scan> {
    let count = usize::from(*body.first().ok_or_else(|| invalid("empty scan header"))?);
    if count == 0 || count > 4 || body.len() != 4 + 2 * count {
        return Err(invalid("scan header does not match its components"));
    }
    let components = body[1..1 + 2 * count]
        .chunks_exact(2)
        .map(|c| {
            let index = frame.components.iter().position(|f| f.id == c[0]);
            index
                .map(|i| (i, usize::from(c[1] >> 4) & 3))
                .ok_or_else(|| invalid("a scan names a component not in the frame"))
        })
        .collect::<io::Result<_>>()?;
    let tail = &body[1 + 2 * count..];
    Ok(Scan {
        components,
        spectral_start: tail[0],
        approx_high: tail[2] >> 4,
        approx_low: tail[2] & 0x0f,
    })
}

/// Keeps the DC tables; AC tables are of no use at 1/8.
fn parse_huffman(mut body: &[u8], dc: &mut [Option<Huffman>; 4]) -> io::Result<()> {
    while let [class_id, ref rest @ ..] = *body {
        let counts = rest
            .get(..16)
            .ok_or_else(|| invalid("Huffman table segment too short"))?;
        let total: usize = counts.iter().map(|&n| usize::from(n)).sum();
        let symbols = rest
            .get(16..16 + total)
            .ok_or_else(|| invalid("Huffman table segment too short"))?;
        if class_id >> 4 == 0 {
            dc[usize::from(class_id & 3)] = Some(Huffman::parse(counts, symbols));
        }
        body = &rest[16 + total..];
    }
    Ok(())
}

/// Keeps each table's first entry, in zigzag order the DC quantiser.
fn parse_quant(mut body: &[u8], quant: &mut [i32; 4]) -> io::Result<()> {
    while let [precision_id, ref rest @ ..] = *body {
        let wide = precision_id >> 4 != 0;
        let len = if wide { 128 } else { 64 };
        let table = rest
            .get(..len)
            .ok_or_else(|| invalid("quantisation table segment too short"))?;
        quant[usize::from(precision_id & 3)] = if wide {
            i32::from(u16::from_be_bytes([table[0], table[1]]))
        } else {
            i32::from(table[0])
        };
        body = &rest[len..];
    }
    Ok(())
}

/// Reads past a scan's entropy-coded data; returns the marker that ends it.
fn skip_entropy_data(input: &mut impl BufRead) -> io::Result<u8> {
    loop {
        let Some(byte) = byte(input)? else {
            return Ok(0xd9);
        };
        if byte == 0xff {
            match byte_after_fill(input)? {
                Some(0x00 | 0xd0..=0xd7) => {}
                Some(code) => return Ok(code),
                None => return Ok(0xd9),
            }
        }
    }
}

/// The next marker between segments (skipping stray bytes, as libjpeg does),
/// or `None` at the end of the input.
fn next_marker(input: &mut impl BufRead) -> io::Result<Option<u8>> {
    loop {
        match byte(input)? {
            None => return Ok(None),
            Some(0xff) => match byte_after_fill(input)? {
                Some(0x00) => {}
                code => return Ok(code),
            },
            Some(_) => {}
        }
    }
}

/// The byte after an 0xff and any 0xff fill bytes.
fn byte_after_fill(input: &mut impl BufRead) -> io::Result<Option<u8>> {
    loop {
        match byte(input)? {
            Some(0xff) => {}
            other => return Ok(other),
        }
    }
}

fn segment(input: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let (Some(a), Some(b)) = (byte(input)?, byte(input)?) else {
        return Err(ErrorKind::UnexpectedEof.into());
    };
    let len = usize::from(u16::from_be_bytes([a, b]))
        .checked_sub(2)
        .ok_or_else(|| invalid("invalid segment length"))?;
    let mut body = vec![0; len];
    input.read_exact(&mut body)?;
    Ok(body)
}

fn byte(input: &mut impl BufRead) -> io::Result<Option<u8>> {
    let buffer = input.fill_buf()?;
    let Some(&first) = buffer.first() else {
        return Ok(None);
    };
    input.consume(1);
    Ok(Some(first))
}

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, message)
}
