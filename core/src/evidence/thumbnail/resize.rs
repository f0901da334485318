//! Area-average resampling, streamed: source rows go in as the decoder hands
//! them out, and each destination row comes out as soon as every source row
//! it covers is in. Each destination pixel is the mean of the source area it
//! covers, weighted by coverage. Rows are summed first (whole rows at once,
//! which vectorises), then each finished row across; memory is the few rows
//! being summed, never the whole source.

use std::collections::VecDeque;

pub(super) struct Resizer {
    channels: usize,
    /// Source row length, in samples; source rows taken so far.
    row_len: usize,
    taken: usize,
    columns: Coverage,
    rows: Coverage,
    /// Sums over the source rows so far of the destination rows from
    /// `next_out` on that have begun, and used buffers to reuse.
    open: VecDeque<Vec<f32>>,
    spare: Vec<Vec<f32>>,
    next_out: usize,
    line: Vec<f32>,
    out: Vec<u8>,
}

impl Resizer {
    /// From `source` (width, height) to `target`, never larger.
    pub fn new(source: (usize, usize), target: (usize, usize), channels: usize) -> Resizer {
        Resizer {
            channels,
            row_len: source.0 * channels,
            taken: 0,
            columns: Coverage::new(source.0, target.0),
            rows: Coverage::new(source.1, target.1),
            open: VecDeque::new(),
            spare: Vec::new(),
            next_out: 0,
            line: vec![0.0; target.0 * channels],
            out: vec![0; target.0 * channels],
        }
    }

    /// Takes the next whole source rows; hands each destination row they
    /// finish to `done`, in order.
    pub fn push(&mut self, rows: &[u8], done: &mut impl FnMut(&[u8])) {
        for row in rows.chunks_exact(self.row_len) {
            self.push_row(row, done);
        }
    }

    fn push_row(&mut self, row: &[u8], done: &mut impl FnMut(&[u8])) {
        let r = self.taken;
        self.taken += 1;
        let height = self.rows.first.len();
        // Destination rows whose window starts here begin.
        while self.next_out + self.open.len() < height
            && self.rows.first[self.next_out + self.open.len()] <= r
        {
            let mut sums = self.spare.pop().unwrap_or_default();
            sums.clear();
            sums.resize(self.row_len, 0.0);
            self.open.push_back(sums);
        }
        for (i, sums) in self.open.iter_mut().enumerate() {
            let (first, shares) = self.rows.of(self.next_out + i);
            let share = shares[r - first];
            if share != 0.0 {
                for (sum, &v) in sums.iter_mut().zip(row) {
                    *sum += share * f32::from(v);
                }
            }
        }
        // Those whose window ends here are done.
        while let Some(sums) = self.open.front() {
            if self.rows.first[self.next_out] + self.rows.taps - 1 > r {
                break;
            }
            match self.channels {
                1 => resample_row::<1>(sums, &self.columns, &mut self.line),
                _ => resample_row::<3>(sums, &self.columns, &mut self.line),
            }
            for (out, v) in self.out.iter_mut().zip(&self.line) {
                // `as` saturates; with the 0.5 it rounds.
                *out = (v + 0.5) as u8;
            }
            done(&self.out);
            self.next_out += 1;
            let finished = self.open.pop_front().expect("front exists");
            self.spare.push(finished);
        }
    }
}

fn resample_row<const C: usize>(row: &[f32], columns: &Coverage, out: &mut [f32]) {
    let taps = columns.taps;
    for (pixel, (&first, shares)) in out
        .chunks_exact_mut(C)
        .zip(columns.first.iter().zip(columns.shares.chunks_exact(taps)))
    {
        let source = &row[first * C..(first + taps) * C];
        let mut value = [0f32; C];
        for (p, &share) in source.chunks_exact(C).zip(shares) {
            for c in 0..C {
                value[c] += share * p[c];
            }
        }
        pixel.copy_from_slice(&value);
    }
}

/// For each destination pixel along one axis: the first source pixel of its
/// window of `taps`, and each one's share of it (shares sum to 1; a pixel
/// covering fewer than `taps` gets zero shares, so every window is as long).
struct Coverage {
    first: Vec<usize>,
    taps: usize,
    shares: Vec<f32>,
}

impl Coverage {
    fn new(src: usize, dst: usize) -> Coverage {
        let scale = src as f64 / dst as f64;
        let taps = (scale.ceil() as usize + 1).min(src);
        let mut first = Vec::with_capacity(dst);
        let mut shares = Vec::with_capacity(dst * taps);
        for i in 0..dst {
            let start = i as f64 * scale;
            let end = ((i + 1) as f64 * scale).min(src as f64);
            // The window, moved left where it would run off the end.
            let from = (start.floor() as usize).min(src - taps);
            let overlaps: Vec<f64> = (from..from + taps)
                .map(|j| (end.min(j as f64 + 1.0) - start.max(j as f64)).max(0.0))
                .collect();
            let total: f64 = overlaps.iter().sum();
            first.push(from);
            shares.extend(overlaps.iter().map(|o| (o / total) as f32));
        }
        Coverage {
            first,
            taps,
            shares,
        }
    }

    /// Destination pixel `i`'s window: its first source pixel and shares.
    fn of(&self, i: usize) -> (usize, &[f32]) {
        (
            self.first[i],
            &self.shares[i * self.taps..(i + 1) * self.taps],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resized(width: usize, data: &[u8], target: (usize, usize), channels: usize) -> Vec<u8> {
        let height = data.len() / (width * channels);
        let mut resizer = Resizer::new((width, height), target, channels);
        let mut out = Vec::new();
        resizer.push(data, &mut |row| out.extend_from_slice(row));
        out
    }

    #[test]
    fn area_average_keeps_means() {
        let blocks = [0, 0, 100, 100, 0, 0, 100, 100];
        assert_eq!(resized(4, &blocks, (2, 1), 1), [0, 100]);
        // A non-integer ratio: 3 → 2 splits the middle pixel between both.
        assert_eq!(resized(3, &[0, 90, 180], (2, 1), 1), [30, 150]);
        assert_eq!(resized(7, &[77; 35], (3, 2), 1), [77; 6]);
        // Vertically too, and per channel.
        let column = [10, 0, 200, 30, 0, 200, 50, 0, 200, 70, 0, 200];
        assert_eq!(resized(1, &column, (1, 2), 3), [20, 0, 200, 60, 0, 200]);
        // The same size is the same image.
        assert_eq!(resized(2, &[1, 2, 3, 4], (2, 2), 1), [1, 2, 3, 4]);
    }

    #[test]
    fn rows_in_any_chunks_give_the_same_image() {
        let (width, height) = (37, 29);
        let data: Vec<u8> = (0..width * height * 3)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let whole = resized(width, &data, (11, 9), 3);
        assert_eq!(whole.len(), 11 * 9 * 3);
        for chunk_rows in [1, 2, 5, 29] {
            let mut resizer = Resizer::new((width, height), (11, 9), 3);
            let mut out = Vec::new();
            for chunk in data.chunks(chunk_rows * width * 3) {
                resizer.push(chunk, &mut |row| out.extend_from_slice(row));
            }
            assert_eq!(out, whole, "{chunk_rows} rows at a time");
        }
    }
}
