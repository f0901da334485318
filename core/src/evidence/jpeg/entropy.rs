//! A scan's entropy-coded data as bits, and the Huffman tables that decode
//! it (ITU T.81 F.2.2 and Annex C).
//!
//! This is where a scaled decode spends its time: every AC code of every
//! block must be read, even the ones a 1/8 thumbnail throws away. So codes
//! are looked up [`FAST_BITS`] at a time, and an AC code together with its
//! extra bits is one lookup that gives the whole coefficient; the bits come
//! eight bytes at a time while none of them is 0xff.
//!
//! Hostile data costs bounded work: every symbol consumes at least one bit of
//! input or ends the block, a code that matches no table is an error, and
//! past a marker the data reads as zeros (as libjpeg does). So does a file
//! that ends without one, which is then marked truncated.

use super::segments::{byte, byte_after_fill, invalid};
use std::io::{self, BufRead, ErrorKind};

/// Codes (for AC: code and extra bits together) up to this long decode by
/// one table lookup; longer ones walk the canonical code lengths.
const FAST_BITS: u32 = 10;

/// The most bits one coefficient takes: a 16-bit code and 15 extra bits.
const MAX_COEFFICIENT_BITS: u32 = 31;

/// A canonical Huffman table (T.81 C, F.2.2.3).
pub(super) struct Huffman {
    /// For each code length: the largest code (-1 if none), and the offset
    /// from a code to its symbol's index.
    max_code: [i32; 17],
    offset: [i32; 17],
    symbols: [u8; 256],
    /// By the next [`FAST_BITS`] bits: `length << 8 | symbol`, 0 when the
    /// code is longer.
    fast: Box<[u16; 1 << FAST_BITS]>,
    /// By the next [`FAST_BITS`] bits: a whole AC coefficient when its code
    /// and extra bits fit (`bits` 0 when they do not).
    coefficients: Box<[Coefficient; 1 << FAST_BITS]>,
    /// By the next [`FAST_BITS`] bits: as many whole AC coefficients as fit
    /// in them, for skipping (`bits` 0 when not even one does).
    skips: Box<[Skip; 1 << FAST_BITS]>,
}

/// One AC code with its extra bits, decoded.
#[derive(Clone, Copy, Default)]
struct Coefficient {
    /// Bits it takes.
    bits: u8,
    /// Zigzag positions it moves on: the zero run and itself; 16 for ZRL, 64
    /// for end-of-block.
    steps: u8,
    value: i16,
}

/// Consecutive AC coefficients that fit in one lookup, to be skipped.
#[derive(Clone, Copy, Default)]
struct Skip {
    bits: u8,
    /// Zigzag positions they move on in all (64 or more once at end of block).
    steps: u8,
    /// Positions moved on before the last of them: they belong to the block
    /// only if it was not over by then, i.e. `k + guard < 64`.
    guard: u8,
}

impl Huffman {
    /// A table from a DHT segment's 16 counts and its symbols.
    pub fn new(counts: &[u8; 16], symbols: &[u8]) -> io::Result<Huffman> {
        let mut table = Huffman {
            max_code: [-1; 17],
            offset: [0; 17],
            symbols: [0; 256],
            fast: Box::new([0; 1 << FAST_BITS]),
            coefficients: Box::new([Coefficient::default(); 1 << FAST_BITS]),
            skips: Box::new([Skip::default(); 1 << FAST_BITS]),
        };
        if symbols.len() > 256 {
            return Err(invalid("Huffman table with over 256 symbols"));
        }
        table.symbols[..symbols.len()].copy_from_slice(symbols);
        let (mut code, mut index) = (0i32, 0i32);
        for len in 1..=16u32 {
            let count = i32::from(counts[len as usize - 1]);
            if code + count > 1 << len {
                return Err(invalid("Huffman table with more codes than fit"));
            }
            table.offset[len as usize] = index - code;
            if count > 0 {
                table.max_code[len as usize] = code + count - 1;
            }
            for k in 0..count {
                let symbol = symbols[(index + k) as usize];
                if len <= FAST_BITS {
                    let shift = FAST_BITS - len;
                    let start = ((code + k) as usize) << shift;
                    table.fast[start..start + (1 << shift)]
                        .fill((len as u16) << 8 | u16::from(symbol));
                }
            }
            index += count;
            code = (code + count) << 1;
        }
        table.fill_coefficients();
        table.fill_skips();
        Ok(table)
    }

    /// Every fast entry whose AC symbol's extra bits fit after its code.
    fn fill_coefficients(&mut self) {
        for (peek, entry) in self.coefficients.iter_mut().enumerate() {
            let fast = self.fast[peek];
            let (len, symbol) = (u32::from(fast >> 8), fast as u8);
            if len == 0 {
                continue;
            }
            let (run, size) = (symbol >> 4, u32::from(symbol & 15));
            *entry = match (run, size) {
                (_, 0) => Coefficient {
                    bits: len as u8,
                    steps: if run == 15 { 16 } else { 64 },
                    value: 0,
                },
                _ if len + size <= FAST_BITS => {
                    let extra = (peek as u32 >> (FAST_BITS - len - size)) & ((1 << size) - 1);
                    Coefficient {
                        bits: (len + size) as u8,
                        steps: run + 1,
                        value: extend(extra as i32, size) as i16,
                    }
                }
                _ => Coefficient::default(),
            };
        }
    }
}

impl Huffman {
    /// Each lookup's run of whole coefficients, up to an end of block.
    fn fill_skips(&mut self) {
        const MASK: usize = (1 << FAST_BITS) - 1;
        for (peek, skip) in self.skips.iter_mut().enumerate() {
            let (mut used, mut steps, mut guard) = (0u32, 0u32, 0u32);
            // The bits after `used` are a lookup of their own, zero-filled;
            // a coefficient found there counts only if it ends within them.
            while let c @ Coefficient { bits: 1.., .. } = self.coefficients[(peek << used) & MASK] {
                if used + u32::from(c.bits) > FAST_BITS {
                    break;
                }
                guard = steps;
                used += u32::from(c.bits);
                steps += u32::from(c.steps);
                if steps >= 64 {
                    break;
                }
            }
            *skip = Skip {
                bits: used as u8,
                steps: steps.min(127) as u8,
                guard: guard as u8,
            };
        }
    }
}

/// T.81 F.2.2.1: the `size`-bit value of a difference or coefficient, with
/// its sign.
#[inline]
fn extend(value: i32, size: u32) -> i32 {
    if size == 0 || value >= 1 << (size - 1) {
        value
    } else {
        value - (1 << size) + 1
    }
}

/// The entropy-coded bytes of a scan as bits: byte stuffing undone, ending at
/// the next marker (which it keeps in `marker`).
pub(super) struct Bits<'a, R> {
    pub input: &'a mut R,
    buffer: Buffer,
    /// The marker that ended the data, once met.
    pub marker: Option<u8>,
    /// The input ended before any marker: the data was cut short.
    pub truncated: bool,
}

/// The next `count` bits, most significant first in `word`; every bit below
/// them is zero. The hot loops copy it out of [`Bits`] so that it lives in
/// registers, not behind a pointer.
#[derive(Clone, Copy, Default)]
struct Buffer {
    word: u64,
    count: u32,
}

impl Buffer {
    /// The next `n` bits (1 ≤ n ≤ 32), not consumed; needs `count >= n`.
    #[inline(always)]
    fn peek(self, n: u32) -> u32 {
        (self.word >> (64 - n)) as u32
    }

    /// Drops `n` bits (n ≤ 32, at most `count`).
    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.word <<= n;
        self.count -= n;
    }
}

impl<'a, R: BufRead> Bits<'a, R> {
    pub fn new(input: &'a mut R) -> Self {
        Bits {
            input,
            buffer: Buffer::default(),
            marker: None,
            truncated: false,
        }
    }

    /// At least 56 bits in `b`, or zeros once the data has ended.
    #[inline(always)]
    fn fill(&mut self, b: &mut Buffer) -> io::Result<()> {
        if self.marker.is_none() {
            let available = self.input.fill_buf()?;
            if let Some(eight) = available.first_chunk::<8>() {
                let next = u64::from_be_bytes(*eight);
                if !has_ff_byte(next) {
                    let take = (63 - b.count) / 8;
                    let total = b.count + 8 * take;
                    b.word |= (next >> b.count) & !(u64::MAX >> total);
                    b.count = total;
                    self.input.consume(take as usize);
                    return Ok(());
                }
            }
        }
        self.buffer = *b;
        self.fill_slowly()?;
        *b = self.buffer;
        Ok(())
    }

    /// Byte by byte, through stuffed bytes and up to a marker.
    #[cold]
    #[inline(never)]
    fn fill_slowly(&mut self) -> io::Result<()> {
        while self.buffer.count <= 56 {
            if self.marker.is_some() || self.truncated {
                // Zeros past the end, as libjpeg gives (the low bits are zero).
                self.buffer.count = 64;
                return Ok(());
            }
            let byte = match byte(self.input)? {
                Some(0xff) => match byte_after_fill(self.input)? {
                    Some(0x00) => 0xff,
                    Some(code) => {
                        self.marker = Some(code);
                        continue;
                    }
                    None => {
                        self.truncated = true;
                        continue;
                    }
                },
                Some(byte) => byte,
                None => {
                    self.truncated = true;
                    continue;
                }
            };
            self.buffer.word |= u64::from(byte) << (56 - self.buffer.count);
            self.buffer.count += 8;
        }
        Ok(())
    }

    /// `n` bits (0 ≤ n ≤ 16) as a number.
    pub fn bits(&mut self, n: u32) -> io::Result<i32> {
        let mut b = self.buffer;
        let value = self.take_bits(&mut b, n)?;
        self.buffer = b;
        Ok(value)
    }

    #[inline(always)]
    fn take_bits(&mut self, b: &mut Buffer, n: u32) -> io::Result<i32> {
        if n == 0 {
            return Ok(0);
        }
        if b.count < n {
            self.fill(b)?;
        }
        let value = b.peek(n) as i32;
        b.consume(n);
        Ok(value)
    }

    /// The next Huffman symbol.
    #[inline(always)]
    fn symbol(&mut self, b: &mut Buffer, table: &Huffman) -> io::Result<u8> {
        if b.count < 16 {
            self.fill(b)?;
        }
        let fast = table.fast[b.peek(FAST_BITS) as usize];
        if fast != 0 {
            b.consume(u32::from(fast >> 8));
            return Ok(fast as u8);
        }
        long_symbol(b, table)
    }

    /// The next Huffman symbol, for the scans that read symbols one by one
    /// (progressive AC).
    pub fn decode_symbol(&mut self, table: &Huffman) -> io::Result<u8> {
        let mut b = self.buffer;
        let symbol = self.symbol(&mut b, table)?;
        self.buffer = b;
        Ok(symbol)
    }

    /// A `size`-bit value with its sign (T.81 F.2.2.1), size ≤ 16.
    pub fn signed_bits(&mut self, size: u32) -> io::Result<i32> {
        Ok(extend(self.bits(size)?, size))
    }

    /// A DC difference (T.81 F.2.2.1).
    pub fn dc_difference(&mut self, table: &Huffman) -> io::Result<i32> {
        let mut b = self.buffer;
        let size = u32::from(self.symbol(&mut b, table)?);
        if size > 16 {
            return Err(invalid("a DC difference over 16 bits"));
        }
        let value = extend(self.take_bits(&mut b, size)?, size);
        self.buffer = b;
        Ok(value)
    }

    /// Reads a block's AC coefficients up to zigzag position `last`, handing
    /// each non-zero one to `put` with its position, and skips the rest (a
    /// scaled decode keeps only the low frequencies). Positions past 63,
    /// which only damaged data gives, end the block.
    #[inline(always)]
    pub fn ac_coefficients(
        &mut self,
        table: &Huffman,
        last: usize,
        mut put: impl FnMut(usize, i32),
    ) -> io::Result<()> {
        let coefficients: &[Coefficient; 1 << FAST_BITS] = &table.coefficients;
        let mut b = self.buffer;
        let mut k = 1usize;
        while k <= last {
            if b.count < MAX_COEFFICIENT_BITS {
                self.fill(&mut b)?;
            }
            let c = coefficients[b.peek(FAST_BITS) as usize];
            let (steps, value) = if c.bits != 0 {
                b.consume(u32::from(c.bits));
                (usize::from(c.steps), i32::from(c.value))
            } else {
                let (after, steps, value) = self.long_coefficient(b, table)?;
                b = after;
                (steps, value)
            };
            let at = k + steps - 1;
            if value != 0 && at <= last {
                put(at, value);
            }
            k += steps;
        }
        self.buffer = b;
        if k < 64 {
            self.skip_from(k, table)?;
        }
        Ok(())
    }

    /// Skips a block's AC coefficients: what a 1/8 scale decode does, since
    /// each block is then its DC alone.
    #[inline(always)]
    pub fn skip_ac_coefficients(&mut self, table: &Huffman) -> io::Result<()> {
        self.skip_from(1, table)
    }

    /// Skips a block's coefficients from zigzag position `k` on, several
    /// at a lookup where they are short.
    #[inline(always)]
    fn skip_from(&mut self, mut k: usize, table: &Huffman) -> io::Result<()> {
        let coefficients: &[Coefficient; 1 << FAST_BITS] = &table.coefficients;
        let skips: &[Skip; 1 << FAST_BITS] = &table.skips;
        let mut b = self.buffer;
        while k < 64 {
            if b.count < MAX_COEFFICIENT_BITS {
                self.fill(&mut b)?;
            }
            let peek = b.peek(FAST_BITS) as usize;
            let skip = skips[peek];
            if skip.bits != 0 && k + usize::from(skip.guard) < 64 {
                b.consume(u32::from(skip.bits));
                k += usize::from(skip.steps);
                continue;
            }
            let c = coefficients[peek];
            k += if c.bits != 0 {
                b.consume(u32::from(c.bits));
                usize::from(c.steps)
            } else {
                let (after, steps, _) = self.long_coefficient(b, table)?;
                b = after;
                steps
            };
        }
        self.buffer = b;
        Ok(())
    }

    /// A coefficient whose code and extra bits are longer than one lookup:
    /// the buffer after it, and `(steps, value)` as in [`Coefficient`]. (The
    /// buffer goes by value so that the hot loops keep theirs in registers.)
    #[cold]
    #[inline(never)]
    fn long_coefficient(
        &mut self,
        mut b: Buffer,
        table: &Huffman,
    ) -> io::Result<(Buffer, usize, i32)> {
        let symbol = self.symbol(&mut b, table)?;
        let (run, size) = (usize::from(symbol >> 4), u32::from(symbol & 15));
        let (steps, value) = match size {
            0 if run == 15 => (16, 0),
            0 => (64, 0),
            _ => (run + 1, extend(self.take_bits(&mut b, size)?, size)),
        };
        Ok((b, steps, value))
    }

    /// At a restart: drops the bits left and takes the RSTn marker.
    pub fn restart(&mut self) -> io::Result<()> {
        self.buffer = Buffer::default();
        let marker = match self.marker.take() {
            Some(marker) => Some(marker),
            None => super::segments::next_marker(self.input)?,
        };
        match marker {
            Some(0xd0..=0xd7) => Ok(()),
            // Some other marker: the data has ended; what follows reads as zeros.
            Some(other) => {
                self.marker = Some(other);
                Ok(())
            }
            None => Err(ErrorKind::UnexpectedEof.into()),
        }
    }
}

/// A code longer than [`FAST_BITS`] (T.81 F.2.2.3); `count >= 16` already.
#[cold]
#[inline(never)]
fn long_symbol(b: &mut Buffer, table: &Huffman) -> io::Result<u8> {
    for len in FAST_BITS + 1..=16 {
        let code = b.peek(len) as i32;
        if code <= table.max_code[len as usize] {
            b.consume(len);
            let index = (code + table.offset[len as usize]) as usize;
            return Ok(table.symbols[index & 0xff]);
        }
    }
    Err(invalid("a code that matches no Huffman table"))
}

/// Whether any of the eight bytes of `word` is 0xff.
#[inline]
fn has_ff_byte(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let inverted = !word; // an 0xff byte is now a zero byte
    inverted.wrapping_sub(ONES) & word & HIGHS != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ff_bytes_anywhere_in_a_word() {
        assert!(!has_ff_byte(0));
        assert!(!has_ff_byte(0xfefe_fefe_fefe_fefe));
        assert!(!has_ff_byte(
            0x7f80_0001_fe7f_80ff_u64 & 0xffff_ffff_ffff_ff00
        ));
        for at in 0..8 {
            assert!(has_ff_byte(0xffu64 << (8 * at)), "byte {at}");
            assert!(has_ff_byte(
                (0xffu64 << (8 * at)) | 0x0101_0101_0101_0101 & !(0xffu64 << (8 * at))
            ));
        }
    }

    #[test]
    fn stuffed_bytes_and_markers_read_as_jpeg_says() {
        // 0xff 0x00 is a data byte 0xff; 0xff 0xd9 ends the data, zeros after.
        let data = [
            0xa5, 0xff, 0x00, 0x3c, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xff, 0xd9,
        ];
        let mut input = &data[..];
        let mut bits = Bits::new(&mut input);
        for expected in [0xa5, 0xff, 0x3c, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 0, 0] {
            assert_eq!(bits.bits(8).unwrap(), expected);
        }
        assert_eq!(bits.marker, Some(0xd9));
        // Eight plain bytes come in one read; the marker ends it all the same.
        let data = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xff, 0xd0];
        let mut input = &data[..];
        let mut bits = Bits::new(&mut input);
        let read: Vec<i32> = (0..14).map(|_| bits.bits(8).unwrap()).collect();
        assert_eq!(read, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0]);
        assert_eq!(bits.marker, Some(0xd0));
        // Cut without a marker: zeros too, and marked truncated.
        let mut input = &[0x12u8, 0x34][..];
        let mut bits = Bits::new(&mut input);
        assert_eq!(bits.bits(16).unwrap(), 0x1234);
        assert_eq!(bits.bits(8).unwrap(), 0);
        assert!(bits.truncated && bits.marker.is_none());
    }

    /// T.81 K.3.3.2: the example AC luminance table's first codes.
    fn ac_luminance() -> Huffman {
        let counts = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
        let mut symbols = vec![0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21];
        // The rest of the table's 162 symbols: every other run/size pair.
        let rest: Vec<u8> = (0..=255u8)
            .filter(|s| !symbols.contains(s) && s & 15 != 0)
            .take(162 - 9 - 1)
            .collect();
        symbols.extend(rest);
        symbols.push(0xf0);
        Huffman::new(&counts, &symbols).unwrap()
    }

    #[test]
    fn ac_coefficients_come_whole_from_one_lookup_or_the_long_way() {
        let table = ac_luminance();
        // 00 (code of 0x01: run 0, size 1) + extra 1 → +1 at position 1;
        // 100 (0x03: size 3) + 010 → -5 at 2; 01 (0x02: size 2) + 10 → 2 at 3;
        // 1010 (0x00: end of block).
        let codes = [
            (0b00, 2),
            (0b1, 1),
            (0b100, 3),
            (0b010, 3),
            (0b01, 2),
            (0b10, 2),
            (0b1010, 4),
        ];
        let (stream, len) = codes
            .iter()
            .fold((0u32, 0), |(s, l), &(code, n)| (s << n | code, l + n));
        let data = (stream << (32 - len)).to_be_bytes();
        let data = [&data[..], &[0xff, 0xd9]].concat();
        let mut input = data.as_slice();
        let mut bits = Bits::new(&mut input);
        let mut got = Vec::new();
        bits.ac_coefficients(&table, 63, |at, v| got.push((at, v)))
            .unwrap();
        assert_eq!(got, [(1, 1), (2, -5), (3, 2)]);
        // Up to position 2 only: the rest is skipped, to the same place.
        let mut input = data.as_slice();
        let mut low = Bits::new(&mut input);
        let mut got = Vec::new();
        low.ac_coefficients(&table, 2, |at, v| got.push((at, v)))
            .unwrap();
        assert_eq!(got, [(1, 1), (2, -5)]);
        assert_eq!(low.buffer.word, bits.buffer.word);

        // The same block skipped consumes exactly the same bits.
        let mut input = data.as_slice();
        let mut skipping = Bits::new(&mut input);
        skipping.skip_ac_coefficients(&table).unwrap();
        assert_eq!(skipping.buffer.count, bits.buffer.count);
        assert_eq!(skipping.buffer.word, bits.buffer.word);
    }

    #[test]
    fn oversubscribed_tables_are_refused() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three 1-bit codes
        assert!(Huffman::new(&counts, &[1, 2, 3]).is_err());
    }
}
