//! The marker segments a decoder needs (ITU T.81 B.2): frame and scan
//! headers, Huffman and quantisation tables, the restart interval, Adobe's
//! colour transform; and finding markers in a stream that may be damaged.

use super::entropy::Huffman;
use std::io::{self, BufRead, ErrorKind};

/// Zigzag position → (row, column) of the 8×8 block (T.81 figure A.6).
pub(super) const ZIGZAG_ROW_COLUMN: [(u8, u8); 64] = {
    let mut table = [(0u8, 0u8); 64];
    let (mut row, mut column, mut k) = (0i32, 0i32, 0usize);
    while k < 64 {
        table[k] = (row as u8, column as u8);
        k += 1;
        let up = (row + column) % 2 == 0;
        if up {
            if column == 7 {
                row += 1;
            } else if row == 0 {
                column += 1;
            } else {
                row -= 1;
                column += 1;
            }
        } else if row == 7 {
            column += 1;
        } else if column == 0 {
            row += 1;
        } else {
            row += 1;
            column -= 1;
        }
    }
    table
};

pub(super) struct Component {
    pub id: u8,
    pub h: usize,
    pub v: usize,
    pub quant: usize,
    /// Blocks per row and rows of blocks, padded to whole MCUs.
    pub blocks_w: usize,
    pub blocks_h: usize,
}

pub(super) struct Frame {
    pub progressive: bool,
    pub width: usize,
    pub height: usize,
    pub components: Vec<Component>,
    pub h_max: usize,
    pub v_max: usize,
}

impl Tables {
    /// The quantisation table a component names.
    pub fn quant(&self, component: &Component) -> io::Result<&[u16; 64]> {
        self.quant[component.quant]
            .as_ref()
            .ok_or_else(|| invalid("a component names a quantisation table not defined"))
    }
}

impl Frame {
    /// MCUs per row and rows of MCUs of an interleaved scan.
    pub fn mcus(&self) -> (usize, usize) {
        (
            self.width.div_ceil(8 * self.h_max),
            self.height.div_ceil(8 * self.v_max),
        )
    }

    /// Blocks per row and rows of blocks of `component` alone, as a scan of
    /// it alone codes them: its own extent, not padded to whole MCUs.
    pub fn own_blocks(&self, component: &Component) -> (usize, usize) {
        (
            (self.width * component.h).div_ceil(self.h_max).div_ceil(8),
            (self.height * component.v).div_ceil(self.v_max).div_ceil(8),
        )
    }
}

pub(super) struct Scan {
    /// Index into the frame's components, with each one's DC and AC tables.
    pub components: Vec<ScanComponent>,
    pub spectral_start: u8,
    pub spectral_end: u8,
    pub approx_high: u8,
    pub approx_low: u8,
}

#[derive(Clone, Copy)]
pub(super) struct ScanComponent {
    pub index: usize,
    pub dc_table: usize,
    pub ac_table: usize,
}

/// The Huffman and quantisation tables defined so far, by class and id.
#[derive(Default)]
pub(super) struct Tables {
    pub dc: [Option<Huffman>; 4],
    pub ac: [Option<Huffman>; 4],
    /// Quantisation tables in zigzag order.
    pub quant: [Option<[u16; 64]>; 4],
}

pub(super) fn parse_frame(marker: u8, body: &[u8], max_pixels: u64) -> io::Result<Frame> {
    let [8, h1, h0, w1, w0, count, ref rest @ ..] = *body else {
        return Err(invalid("not an 8-bit frame header"));
    };
    let (width, height) = (
        usize::from(u16::from_be_bytes([w1, w0])),
        usize::from(u16::from_be_bytes([h1, h0])),
    );
    if width == 0 || height == 0 || count == 0 || rest.len() != 3 * usize::from(count) {
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
        })
        .collect();
    Ok(Frame {
        progressive: marker == 0xc2,
        width,
        height,
        components,
        h_max,
        v_max,
    })
}

pub(super) fn parse_scan(body: &[u8], frame: &Frame) -> io::Result<Scan> {
    let count = usize::from(*body.first().ok_or_else(|| invalid("empty scan header"))?);
    if count == 0 || count > 4 || body.len() != 4 + 2 * count {
        return Err(invalid("scan header does not match its components"));
    }
    let components = body[1..1 + 2 * count]
        .chunks_exact(2)
        .map(|c| {
            let index = frame.components.iter().position(|f| f.id == c[0]);
            index
                .map(|index| ScanComponent {
                    index,
                    dc_table: usize::from(c[1] >> 4) & 3,
                    ac_table: usize::from(c[1]) & 3,
                })
                .ok_or_else(|| invalid("a scan names a component not in the frame"))
        })
        .collect::<io::Result<_>>()?;
    let tail = &body[1 + 2 * count..];
    Ok(Scan {
        components,
        spectral_start: tail[0],
        spectral_end: tail[1],
        approx_high: tail[2] >> 4,
        approx_low: tail[2] & 0x0f,
    })
}

pub(super) fn parse_huffman(mut body: &[u8], tables: &mut Tables) -> io::Result<()> {
    while let [class_id, ref rest @ ..] = *body {
        let counts: &[u8; 16] = rest
            .first_chunk()
            .ok_or_else(|| invalid("Huffman table segment too short"))?;
        let total: usize = counts.iter().map(|&n| usize::from(n)).sum();
        let symbols = rest
            .get(16..16 + total)
            .ok_or_else(|| invalid("Huffman table segment too short"))?;
        let table = Some(Huffman::new(counts, symbols)?);
        match class_id >> 4 {
            0 => tables.dc[usize::from(class_id & 3)] = table,
            _ => tables.ac[usize::from(class_id & 3)] = table,
        }
        body = &rest[16 + total..];
    }
    Ok(())
}

pub(super) fn parse_quant(mut body: &[u8], tables: &mut Tables) -> io::Result<()> {
    while let [precision_id, ref rest @ ..] = *body {
        let wide = precision_id >> 4 != 0;
        let len = if wide { 128 } else { 64 };
        let values = rest
            .get(..len)
            .ok_or_else(|| invalid("quantisation table segment too short"))?;
        let mut table = [0u16; 64];
        for (k, q) in table.iter_mut().enumerate() {
            *q = if wide {
                u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
            } else {
                u16::from(values[k])
            };
        }
        tables.quant[usize::from(precision_id & 3)] = Some(table);
        body = &rest[len..];
    }
    Ok(())
}

/// Reads past a scan's entropy-coded data; returns the marker that ends it.
pub(super) fn skip_entropy_data(input: &mut impl BufRead) -> io::Result<u8> {
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
pub(super) fn next_marker(input: &mut impl BufRead) -> io::Result<Option<u8>> {
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
pub(super) fn byte_after_fill(input: &mut impl BufRead) -> io::Result<Option<u8>> {
    loop {
        match byte(input)? {
            Some(0xff) => {}
            other => return Ok(other),
        }
    }
}

/// A marker segment's body, after its length.
pub(super) fn segment(input: &mut impl BufRead) -> io::Result<Vec<u8>> {
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

pub(super) fn byte(input: &mut impl BufRead) -> io::Result<Option<u8>> {
    let buffer = input.fill_buf()?;
    let Some(&first) = buffer.first() else {
        return Ok(None);
    };
    input.consume(1);
    Ok(Some(first))
}

pub(super) fn invalid(message: &'static str) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_order_is_t81_figure_a6() {
        let starts = [
            (0, 0),
            (0, 1),
            (1, 0),
            (2, 0),
            (1, 1),
            (0, 2),
            (0, 3),
            (1, 2),
        ];
        assert_eq!(ZIGZAG_ROW_COLUMN[..8], starts);
        assert_eq!(ZIGZAG_ROW_COLUMN[63], (7, 7));
        assert_eq!(ZIGZAG_ROW_COLUMN[35], (7, 0));
        let mut seen = [false; 64];
        for (row, column) in ZIGZAG_ROW_COLUMN {
            seen[usize::from(row) * 8 + usize::from(column)] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
