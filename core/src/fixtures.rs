//! Sample data for the tests and benchmarks of every crate (cargo feature
//! `fixtures`; never in a release build): a straw-burning inspection answered as
//! the default checklist requires, so that it can be submitted.

use crate::geo::datum::Datum;
use crate::geo::point::GeoPoint;
use crate::model::checklist::{Answer, AnswerValue};
use crate::model::inspection::DraftFields;

/// Every required item of the default straw-burning checklist, validly answered.
pub fn straw_burning_answers() -> Vec<Answer> {
    let yes = |item: &str| Answer {
        item_id: item.into(),
        value: AnswerValue::YesNo(true),
    };
    let mut answers: Vec<Answer> = [
        "fire_on_arrival",
        "extinguished",
        "responsible_party_identified",
        "warning_issued",
    ]
    .into_iter()
    .map(yes)
    .collect();
    answers.push(Answer {
        item_id: "burned_area_mu".into(),
        value: AnswerValue::Number(2.5),
    });
    answers.push(Answer {
        item_id: "material".into(),
        value: AnswerValue::Choice("rice_straw".into()),
    });
    answers
}

/// A draft in `township` at a field near Changsha (GCJ-02, as a phone map gives it);
/// callers change what their test is about with struct update syntax.
pub fn draft_fields(township: &str) -> DraftFields {
    DraftFields {
        township_code: township.into(),
        county_code: None,
        site: GeoPoint {
            lat: 28.2282,
            lon: 112.9388,
            datum: Datum::Gcj02,
        },
        address: "test field".into(),
        task_id: None,
        officer_id: "officer-test".into(),
        started_at_ms: 1_790_000_000_000,
        ended_at_ms: None,
        findings: String::new(),
        responsible_party: None,
    }
}

/// A real PNG of a signature's strokes (240 × 80, greyscale, a wavy line),
/// written by hand (stored deflate blocks) so tests need no image encoder.
pub fn signature_png() -> Vec<u8> {
    const WIDTH: usize = 240;
    const HEIGHT: usize = 80;
    let mut raw = Vec::with_capacity((WIDTH + 1) * HEIGHT);
    for y in 0..HEIGHT {
        raw.push(0); // filter: none
        for x in 0..WIDTH {
            let curve = 40.0 + 25.0 * ((x as f64) / 18.0).sin();
            let ink = (y as f64 - curve).abs() < 2.5;
            raw.push(if ink { 0 } else { 255 });
        }
    }
    let mut zlib = vec![0x78, 0x01];
    for (i, block) in raw.chunks(65_535).enumerate() {
        let last = (i + 1) * 65_535 >= raw.len();
        zlib.push(u8::from(last));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut header = Vec::new();
    header.extend_from_slice(&(WIDTH as u32).to_be_bytes());
    header.extend_from_slice(&(HEIGHT as u32).to_be_bytes());
    header.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", header), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(&data);
        let crc = crc32(&png[start..]);
        png.extend_from_slice(&crc.to_be_bytes());
    }
    png
}

/// CRC-32 (ISO-HDLC, as PNG and zip use).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One satellite fire detection as a test writes it into a FIRMS file.
#[derive(Debug, Clone, PartialEq)]
pub struct FirmsRow {
    pub lat: f64,
    pub lon: f64,
    pub time_ms: i64,
    /// As FIRMS writes it: `T`/`A` for MODIS, `N`/`N20`/`N21` for VIIRS.
    pub satellite: String,
    /// 0–100 for MODIS, `l`/`n`/`h` for VIIRS.
    pub confidence: String,
    pub day: bool,
}

/// A MODIS C6.1 file (the columns FIRMS publishes), `acq_time` zero-padded.
pub fn modis_csv(rows: &[FirmsRow]) -> String {
    firms_csv(
        "latitude,longitude,brightness,scan,track,acq_date,acq_time,satellite,confidence,version,bright_t31,frp,daynight",
        rows,
        |r, date, time, daynight| {
            format!(
                "{:.4},{:.4},331.6,1.1,1,{date},{time:04},{},{},6.1NRT,296.2,18.4,{daynight}",
                r.lat, r.lon, r.satellite, r.confidence
            )
        },
    )
}

/// A VIIRS 375 m file (the columns FIRMS publishes), `acq_time` without its
/// leading zeros, as FIRMS writes it.
pub fn viirs_csv(rows: &[FirmsRow]) -> String {
    firms_csv(
        "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,bright_ti5,frp,daynight",
        rows,
        |r, date, time, daynight| {
            format!(
                "{:.5},{:.5},335.2,0.39,0.36,{date},{time},{},VIIRS,{},2.0NRT,289.1,6.3,{daynight}",
                r.lat, r.lon, r.satellite, r.confidence
            )
        },
    )
}

/// The header, then a line per row as `line(row, acq_date, acq_time, daynight)`
/// writes it.
fn firms_csv(
    header: &str,
    rows: &[FirmsRow],
    line: impl Fn(&FirmsRow, &str, i64, &str) -> String,
) -> String {
    let mut csv = format!("{header}\n");
    for r in rows {
        let (date, time) = firms_time(r.time_ms);
        csv += &line(r, &date, time, if r.day { "D" } else { "N" });
        csv.push('\n');
    }
    csv
}

/// `acq_date` (YYYY-MM-DD) and `acq_time` (HHMM as a number) of a time.
fn firms_time(ms: i64) -> (String, i64) {
    let t = crate::time::CivilTime::from_ms(ms);
    (
        format!("{:04}-{:02}-{:02}", t.year, t.month, t.day),
        t.hour * 100 + t.minute,
    )
}

/// A point inside the jurisdiction `code` of `index` (WGS-84), found by
/// trying points of its bounding box from `seed`: the same seed, the same
/// point.
pub fn point_inside(
    index: &crate::geo::jurisdiction::JurisdictionIndex,
    code: &str,
    seed: u64,
) -> crate::geo::datum::LatLon {
    let bbox = index.get(code).expect("the jurisdiction is loaded").bbox;
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut unit = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..10_000 {
        let p = crate::geo::datum::LatLon {
            lat: bbox.min_lat + unit() * (bbox.max_lat - bbox.min_lat),
            lon: bbox.min_lon + unit() * (bbox.max_lon - bbox.min_lon),
        };
        // Well inside, so nearby points of a test stay inside too.
        let placement = index.placement(code, p).expect("loaded");
        if placement.inside && placement.distance_m > 2_000.0 {
            return p;
        }
    }
    panic!("no point found inside {code}")
}
