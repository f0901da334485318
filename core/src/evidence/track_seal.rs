//! The seal of a patrol track segment, and the fixed-point numbers evidence
//! writes positions in: degrees × 10^7 as `i32` (about a centimetre), and
//! lengths in millimetres. Integers only, so any verifier — the bureau, a
//! court expert's script — recomputes a seal exactly from an export.
//!
//! Seal hash: SHA-256 over the segment's fixes in order, each encoded as 21
//! bytes, big-endian: `time_ms` i64 | `lat_e7` i32 | `lon_e7` i32 |
//! `accuracy_mm` i32 (-1 when unknown) | `mock` u8. The same encoding carries a
//! segment's points to the bureau (the `points` of its `evidence.record` op),
//! which keeps them only if they hash to the signed seal.

use super::record::TrackSegment;
use ring::digest::{Context, SHA256};

/// Degrees as the integer count of 10^-7 degrees. Latitudes and longitudes
/// (at most ±180°) always fit.
pub fn degrees_e7(degrees: f64) -> i32 {
    (degrees * 1e7).round() as i32
}

/// The degrees a [`degrees_e7`] value stands for.
pub fn from_e7(e7: i32) -> f64 {
    f64::from(e7) / 1e7
}

/// Metres as whole millimetres.
pub fn millimetres(metres: f64) -> i64 {
    (metres * 1_000.0).round() as i64
}

/// A horizontal accuracy in metres as a seal holds it: whole millimetres,
/// clamped to `i32`.
pub fn accuracy_mm(metres: f64) -> i32 {
    millimetres(metres).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// One fix as a seal covers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedFix {
    pub time_ms: i64,
    pub lat_e7: i32,
    pub lon_e7: i32,
    pub accuracy_mm: Option<i32>,
    pub mock: bool,
}

/// A segment's seal, fix by fix.
pub struct TrackSeal {
    hash: Context,
    pub point_count: u64,
    pub first_time_ms: Option<i64>,
    pub last_time_ms: i64,
}

impl Default for TrackSeal {
    fn default() -> Self {
        Self {
            hash: Context::new(&SHA256),
            point_count: 0,
            first_time_ms: None,
            last_time_ms: 0,
        }
    }
}

/// Bytes one fix takes in a seal.
pub const SEALED_FIX_BYTES: usize = 21;

impl SealedFix {
    /// Where the fix is, WGS-84.
    pub fn lat_lon(&self) -> crate::geo::datum::LatLon {
        crate::geo::datum::LatLon {
            lat: f64::from(self.lat_e7) / 1e7,
            lon: f64::from(self.lon_e7) / 1e7,
        }
    }

    /// The fix's 21 bytes as the seal hashes them (also how a segment's points
    /// travel to the bureau).
    pub fn encode(&self) -> [u8; SEALED_FIX_BYTES] {
        let mut out = [0; SEALED_FIX_BYTES];
        out[..8].copy_from_slice(&self.time_ms.to_be_bytes());
        out[8..12].copy_from_slice(&self.lat_e7.to_be_bytes());
        out[12..16].copy_from_slice(&self.lon_e7.to_be_bytes());
        out[16..20].copy_from_slice(&self.accuracy_mm.unwrap_or(-1).to_be_bytes());
        out[20] = u8::from(self.mock);
        out
    }

    /// Fixes from their concatenated encodings; `None` unless `bytes` is a
    /// whole number of fixes, each with a mock byte of 0 or 1.
    pub fn decode_all(bytes: &[u8]) -> Option<Vec<SealedFix>> {
        if !bytes.len().is_multiple_of(SEALED_FIX_BYTES) {
            return None;
        }
        let int = |b: &[u8]| i32::from_be_bytes(b.try_into().expect("4 bytes"));
        bytes
            .chunks_exact(SEALED_FIX_BYTES)
            .map(|b| {
                let accuracy = int(&b[16..20]);
                Some(SealedFix {
                    time_ms: i64::from_be_bytes(b[..8].try_into().expect("8 bytes")),
                    lat_e7: int(&b[8..12]),
                    lon_e7: int(&b[12..16]),
                    accuracy_mm: (accuracy != -1).then_some(accuracy),
                    mock: match b[20] {
                        0 => false,
                        1 => true,
                        _ => return None,
                    },
                })
            })
            .collect()
    }
}

/// The seal of `fixes`, in order.
pub fn seal_of(fixes: &[SealedFix]) -> TrackSeal {
    let mut seal = TrackSeal::default();
    for fix in fixes {
        seal.add(fix);
    }
    seal
}

/// Whether `fixes` are exactly the points a signed segment sealed.
pub fn seals(segment: &TrackSegment, fixes: &[SealedFix]) -> bool {
    let seal = seal_of(fixes);
    seal.point_count == segment.point_count && seal.finish() == segment.points_sha256
}

impl TrackSeal {
    pub fn add(&mut self, fix: &SealedFix) {
        self.hash.update(&fix.encode());
        self.first_time_ms.get_or_insert(fix.time_ms);
        self.last_time_ms = fix.time_ms;
        self.point_count += 1;
    }

    /// The seal's SHA-256.
    pub fn finish(self) -> [u8; 32] {
        self.hash
            .finish()
            .as_ref()
            .try_into()
            .expect("SHA-256 is 32 bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_hashes_the_documented_bytes() {
        let fix = SealedFix {
            time_ms: 1_790_000_000_000,
            lat_e7: degrees_e7(28.194_000_04),
            lon_e7: degrees_e7(-112.982),
            accuracy_mm: Some(4_500),
            mock: true,
        };
        assert_eq!((fix.lat_e7, fix.lon_e7), (281_940_000, -1_129_820_000));
        let mut seal = TrackSeal::default();
        seal.add(&fix);
        seal.add(&SealedFix {
            accuracy_mm: None,
            ..fix
        });
        assert_eq!(seal.point_count, 2);
        let mut bytes = Vec::new();
        for accuracy in [4_500i32, -1] {
            bytes.extend(fix.time_ms.to_be_bytes());
            bytes.extend(281_940_000i32.to_be_bytes());
            bytes.extend((-1_129_820_000i32).to_be_bytes());
            bytes.extend(accuracy.to_be_bytes());
            bytes.push(1);
        }
        assert_eq!(bytes.len(), 42);
        let expected = ring::digest::digest(&SHA256, &bytes);
        assert_eq!(seal.finish().as_slice(), expected.as_ref());
        let fixes = [
            fix,
            SealedFix {
                accuracy_mm: None,
                ..fix
            },
        ];
        let encoded: Vec<u8> = fixes.iter().flat_map(|f| f.encode()).collect();
        assert_eq!(encoded, bytes);
        assert_eq!(SealedFix::decode_all(&encoded).unwrap(), fixes);
        assert_eq!(seal_of(&fixes).finish().as_slice(), expected.as_ref());
        assert_eq!(SealedFix::decode_all(&encoded[..41]), None);
        let mut bad_mock = encoded.clone();
        bad_mock[20] = 2;
        assert_eq!(SealedFix::decode_all(&bad_mock), None);
        assert_eq!(millimetres(4.5), 4_500);
        assert_eq!(degrees_e7(from_e7(fix.lat_e7)), fix.lat_e7);

        let segment = TrackSegment {
            track_id: "t".into(),
            index: 0,
            points_sha256: seal_of(&fixes).finish(),
            point_count: 2,
            first_time_ms: fix.time_ms,
            last_time_ms: fix.time_ms,
        };
        assert!(seals(&segment, &fixes));
        assert!(!seals(&segment, &fixes[..1]));
        let moved = [
            fix,
            SealedFix {
                lat_e7: fix.lat_e7 + 1,
                ..fix
            },
        ];
        assert!(!seals(&segment, &moved));
        assert!(!seals(
            &TrackSegment {
                point_count: 3,
                ..segment
            },
            &fixes
        ));
    }
}
