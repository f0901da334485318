//! How many bytes one upload request carries, learnt from the link: start at
//! 256 KiB, double after a full chunk that went fast, halve after a timeout or a
//! cut connection, always within 64 KiB – 2 MiB. A cut costs at most one chunk,
//! so small chunks suit a flaky 2G cell and large ones a good link. The size and the
//! measured speed are kept in the database: the next sync starts where this ended.

use std::time::Duration;

pub const START_BYTES: u64 = 256 * 1024;
pub const MIN_BYTES: u64 = 64 * 1024;
pub const MAX_BYTES: u64 = 2 * 1024 * 1024;
/// A full chunk sent this fast leaves room for one twice the size.
const FAST: Duration = Duration::from_secs(4);
/// Aim to finish a chunk with this much of the remaining time to spare: a chunk
/// cut by the deadline is sent again.
const WINDOW_SHARE: f64 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSize {
    pub bytes: u64,
    /// Throughput of the last full chunk, bytes per second; `None` until one was sent.
    pub link_bytes_per_s: Option<u64>,
}

impl Default for ChunkSize {
    fn default() -> Self {
        Self {
            bytes: START_BYTES,
            link_bytes_per_s: None,
        }
    }
}

impl ChunkSize {
    /// A stored size, clamped into range (an older app may have used other bounds).
    pub fn new(bytes: u64, link_bytes_per_s: Option<u64>) -> Self {
        Self {
            bytes: bytes.clamp(MIN_BYTES, MAX_BYTES),
            link_bytes_per_s,
        }
    }

    /// After `sent` bytes were accepted in `took`. Only a full chunk says anything
    /// about the link: a file's short tail is mostly round-trip time.
    pub fn after_success(self, sent: u64, took: Duration) -> Self {
        if sent < self.bytes.min(MAX_BYTES) || sent < MIN_BYTES {
            return self;
        }
        let speed = (sent as f64 / took.as_secs_f64().max(0.001)) as u64;
        let bytes = if took < FAST {
            (self.bytes * 2).min(MAX_BYTES)
        } else {
            self.bytes
        };
        Self {
            bytes,
            link_bytes_per_s: Some(speed),
        }
    }

    /// After a chunk that timed out or whose connection was cut.
    pub fn after_lost_chunk(self) -> Self {
        Self {
            bytes: (self.bytes / 2).max(MIN_BYTES),
            ..self
        }
    }

    /// The chunk to send now with `remaining` before the deadline: the learnt size,
    /// cut to what the measured speed moves in that time, but never below the
    /// minimum (a request that small is mostly overhead anyway).
    pub fn for_window(&self, remaining: Duration) -> u64 {
        let fits = match self.link_bytes_per_s {
            Some(speed) => (speed as f64 * remaining.as_secs_f64() * WINDOW_SHARE) as u64,
            None => u64::MAX,
        };
        self.bytes.min(fits).max(MIN_BYTES)
    }

    /// Whether the measured link is slower than `threshold` bytes per second.
    /// Unknown is not slow: the first chunk measures it.
    pub fn is_slow(&self, threshold: u64) -> bool {
        self.link_bytes_per_s.is_some_and(|speed| speed < threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: u64 = 1024;

    #[test]
    fn grows_on_fast_full_chunks_up_to_the_maximum() {
        let mut size = ChunkSize::default();
        assert_eq!(size.bytes, 256 * KIB);
        for expected in [512, 1024, 2048, 2048] {
            size = size.after_success(size.bytes, Duration::from_millis(300));
            assert_eq!(size.bytes, expected * KIB);
        }
        assert_eq!(size.link_bytes_per_s, Some(2048 * KIB * 10 / 3));
    }

    #[test]
    fn slow_chunks_keep_the_size_and_short_tails_teach_nothing() {
        let size = ChunkSize::default();
        let slow = size.after_success(256 * KIB, Duration::from_secs(16));
        assert_eq!(slow.bytes, 256 * KIB);
        assert_eq!(slow.link_bytes_per_s, Some(16 * KIB));
        assert!(slow.is_slow(128 * KIB));
        let tail = slow.after_success(10 * KIB, Duration::from_millis(1));
        assert_eq!(tail, slow, "a 10 KiB tail says nothing about the link");
        assert!(
            !ChunkSize::default().is_slow(128 * KIB),
            "unknown is not slow"
        );
    }

    #[test]
    fn halves_on_lost_chunks_down_to_the_minimum() {
        let mut size = ChunkSize::new(2048 * KIB, None);
        for expected in [1024, 512, 256, 128, 64, 64] {
            size = size.after_lost_chunk();
            assert_eq!(size.bytes, expected * KIB);
        }
        assert_eq!(ChunkSize::new(1, None).bytes, MIN_BYTES);
        assert_eq!(ChunkSize::new(u64::MAX, None).bytes, MAX_BYTES);
    }

    #[test]
    fn a_chunk_fits_the_time_left() {
        let size = ChunkSize::new(1024 * KIB, Some(100 * KIB));
        assert_eq!(size.for_window(Duration::from_secs(60)), 1024 * KIB);
        assert_eq!(size.for_window(Duration::from_secs(2)), 160 * KIB);
        assert_eq!(size.for_window(Duration::from_millis(10)), MIN_BYTES);
        assert_eq!(
            ChunkSize::default().for_window(Duration::from_secs(1)),
            256 * KIB
        );
    }
}
