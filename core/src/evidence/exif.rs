//! What the camera recorded about a photo (EXIF): size, orientation, capture
//! time, GPS position, make and model.
//!
//! Camera metadata is a claim, not evidence: it is shown to reviewers next to
//! the device's own signed fix and clocks. So a damaged or implausible value is
//! dropped with a warning rather than passed on, and reading never fails just
//! because the metadata is bad. Warnings name the problem, never a value.
//!
//! Dimensions of a JPEG come from its frame header (SOF), which is what every
//! decoder uses; EXIF `PixelXDimension` is a separate claim that editors and
//! some phones leave stale. For HEIF/PNG/WebP, whose headers are not parsed
//! here, the EXIF `PixelXDimension`/`PixelYDimension` are reported when present.

use super::jpeg;
use super::media::{sniff, MediaType, SNIFF_BYTES};
use crate::error::Result;
use crate::time::CivilTime;
use exif::{Exif, In, Tag, Value};
use std::io::{BufRead, Read, Seek, SeekFrom};

/// Highest altitude accepted from EXIF, in metres; above it is garbage.
const MAX_ALTITUDE_M: f64 = 100_000.0;
/// Cap on warnings kept from the EXIF parser for one file.
const MAX_PARSER_WARNINGS: usize = 8;

/// Metadata read from a photo. `None` means absent or unusable (see `warnings`).
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoMetadata {
    /// The format, by the file's leading bytes.
    pub media_type: MediaType,
    /// Stored pixel size (before orientation is applied).
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// EXIF orientation 1–8; an invalid value (such as 0) is `None`.
    pub orientation: Option<u16>,
    /// DateTimeOriginal as recorded ("YYYY:MM:DD HH:MM:SS", camera local time).
    pub datetime_original: Option<String>,
    /// OffsetTimeOriginal as recorded ("+08:00").
    pub offset_time_original: Option<String>,
    /// The capture time in UTC ms, only when the camera recorded its UTC offset
    /// (including SubSecTimeOriginal when present).
    pub datetime_original_utc_ms: Option<i64>,
    pub gps: Option<GpsPosition>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// Problems found, in words without personal data.
    pub warnings: Vec<String>,
}

/// A GPS position as the camera recorded it (datum as written by the camera,
/// normally WGS-84).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpsPosition {
    /// Decimal degrees, north positive.
    pub lat: f64,
    /// Decimal degrees, east positive.
    pub lon: f64,
    /// Metres above sea level (negative below).
    pub altitude_m: Option<f64>,
}

/// Reads the metadata of a photo file. `reader` must hold the file from its
/// start; only the header (JPEG) or the boxes EXIF lives in (HEIF) are read.
///
/// Fails only when the format is not supported or reading fails; damaged
/// metadata yields what could be read plus warnings.
pub fn read_metadata<R: BufRead + Seek>(reader: &mut R) -> Result<PhotoMetadata> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    reader
        .by_ref()
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    let media_type = sniff(&head)?;
    reader.seek(SeekFrom::Start(0))?;

    let mut meta = PhotoMetadata {
        media_type,
        width: None,
        height: None,
        orientation: None,
        datetime_original: None,
        offset_time_original: None,
        datetime_original_utc_ms: None,
        gps: None,
        make: None,
        model: None,
        warnings: Vec::new(),
    };
    let parsed = match media_type {
        MediaType::Jpeg => {
            let header = jpeg::read_header(reader);
            if let Some(e) = header.error {
                meta.warnings.push(format!("JPEG structure damaged: {e}"));
            }
            if let Some(frame) = header.frame {
                meta.width = Some(frame.width.into());
                meta.height = Some(frame.height.into());
            }
            header.exif.map(|raw| exif_reader().read_raw(raw))
        }
        _ => Some(exif_reader().read_from_container(reader)),
    };
    if let Some(exif) = parsed.and_then(|result| usable_exif(result, &mut meta.warnings)) {
        fill_from_exif(&exif, &mut meta);
    }
    Ok(meta)
}

fn exif_reader() -> exif::Reader {
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    reader
}

/// Whatever the parser could make of the EXIF block, with its complaints.
fn usable_exif(result: Result<Exif, exif::Error>, warnings: &mut Vec<String>) -> Option<Exif> {
    match result {
        Ok(exif) => Some(exif),
        Err(exif::Error::PartialResult(partial)) => {
            let (exif, errors) = partial.into_inner();
            warnings.extend(
                errors
                    .iter()
                    .take(MAX_PARSER_WARNINGS)
                    .map(|e| format!("EXIF partly unreadable: {e}")),
            );
            Some(exif)
        }
        Err(exif::Error::NotFound(_)) => None,
        Err(e) => {
            warnings.push(format!("EXIF unreadable: {e}"));
            None
        }
    }
}

fn fill_from_exif(exif: &Exif, meta: &mut PhotoMetadata) {
    if meta.width.is_none() {
        meta.width = uint(exif, Tag::PixelXDimension);
        meta.height = uint(exif, Tag::PixelYDimension);
    }
    meta.orientation = orientation(exif, &mut meta.warnings);
    capture_time(exif, meta);
    meta.gps = gps(exif, &mut meta.warnings);
    meta.make = ascii(exif, Tag::Make);
    meta.model = ascii(exif, Tag::Model);
}

fn orientation(exif: &Exif, warnings: &mut Vec<String>) -> Option<u16> {
    let field = exif.get_field(Tag::Orientation, In::PRIMARY)?;
    match field.value.get_uint(0) {
        Some(value @ 1..=8) => Some(value as u16),
        _ => {
            warnings.push("EXIF Orientation is not 1-8; ignored".to_owned());
            None
        }
    }
}

fn capture_time(exif: &Exif, meta: &mut PhotoMetadata) {
    let Some(text) = ascii(exif, Tag::DateTimeOriginal).filter(|t| is_recorded_time(t)) else {
        return;
    };
    let mut time = match exif::DateTime::from_ascii(text.as_bytes()) {
        Ok(time) if civil_ms(&time).is_some() => time,
        _ => {
            meta.warnings
                .push("EXIF DateTimeOriginal is not a valid date and time; ignored".to_owned());
            return;
        }
    };
    meta.datetime_original = Some(text);
    if let Some(subsec) = ascii(exif, Tag::SubSecTimeOriginal) {
        if time.parse_subsec(subsec.as_bytes()).is_err() {
            meta.warnings
                .push("EXIF SubSecTimeOriginal is not a number; ignored".to_owned());
        }
    }
    let Some(offset) = ascii(exif, Tag::OffsetTimeOriginal).filter(|t| is_recorded_time(t)) else {
        return;
    };
    match time.parse_offset(offset.as_bytes()) {
        // UTC offsets in use run from -12:00 to +14:00.
        Ok(())
            if time
                .offset
                .is_some_and(|minutes| (-12 * 60..=14 * 60).contains(&minutes)) =>
        {
            meta.offset_time_original = Some(offset);
            meta.datetime_original_utc_ms =
                civil_ms(&time).map(|local| local - i64::from(time.offset.unwrap_or(0)) * 60_000);
        }
        _ => meta
            .warnings
            .push("EXIF OffsetTimeOriginal is not a valid UTC offset; ignored".to_owned()),
    }
}

/// Cameras write an unknown time as blanks and colons: no digit at all.
fn is_recorded_time(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_digit())
}

/// Milliseconds since 1970 of the date and time read as if it were UTC, or
/// `None` if it is not a real calendar date and time.
fn civil_ms(t: &exif::DateTime) -> Option<i64> {
    CivilTime {
        year: i64::from(t.year),
        month: i64::from(t.month),
        day: i64::from(t.day),
        hour: i64::from(t.hour),
        minute: i64::from(t.minute),
        second: i64::from(t.second),
        millis: i64::from(t.nanosecond.unwrap_or(0) / 1_000_000),
    }
    .to_ms()
}

/// A position only when both coordinates are present, well-formed and in
/// range; an empty GPS IFD is simply no position.
fn gps(exif: &Exif, warnings: &mut Vec<String>) -> Option<GpsPosition> {
    let lat = coordinate(
        exif,
        Tag::GPSLatitude,
        Tag::GPSLatitudeRef,
        [b'N', b'S'],
        90.0,
    );
    let lon = coordinate(
        exif,
        Tag::GPSLongitude,
        Tag::GPSLongitudeRef,
        [b'E', b'W'],
        180.0,
    );
    match (lat, lon) {
        (Ok(Some(lat)), Ok(Some(lon))) => Some(GpsPosition {
            lat,
            lon,
            altitude_m: altitude(exif, warnings),
        }),
        (Ok(None), Ok(None)) => None,
        (lat, lon) => {
            for (axis, result) in [("latitude", lat), ("longitude", lon)] {
                match result {
                    Err(problem) => {
                        warnings.push(format!("EXIF GPS {axis} {problem}; position ignored"))
                    }
                    Ok(None) => warnings.push(format!("EXIF GPS {axis} missing; position ignored")),
                    Ok(Some(_)) => {}
                }
            }
            None
        }
    }
}

/// Signed decimal degrees from degrees/minutes/seconds rationals and their
/// reference letter. `Ok(None)` when the tag is absent.
fn coordinate(
    exif: &Exif,
    tag: Tag,
    ref_tag: Tag,
    [positive, negative]: [u8; 2],
    limit: f64,
) -> Result<Option<f64>, &'static str> {
    let Some(field) = exif.get_field(tag, In::PRIMARY) else {
        return Ok(None);
    };
    let parts = non_negative_ratios(&field.value).ok_or("has the wrong type")?;
    if parts.is_empty() || parts.len() > 3 {
        return Err("has the wrong number of parts");
    }
    let degrees = parts
        .iter()
        .zip([1.0, 60.0, 3600.0])
        .map(|(part, per_degree)| part.map(|v| v / per_degree))
        .sum::<Option<f64>>()
        .ok_or("has a zero denominator or a negative part")?;
    // Finite: each part is a u32 ratio with a non-zero denominator.
    if degrees > limit {
        return Err("out of range");
    }
    match ascii(exif, ref_tag).as_deref().map(str::as_bytes) {
        Some([c, ..]) if *c == positive => Ok(Some(degrees)),
        Some([c, ..]) if *c == negative => Ok(Some(-degrees)),
        None => Err("reference (N/S or E/W) missing"),
        Some(_) => Err("reference is not N/S or E/W"),
    }
}

fn altitude(exif: &Exif, warnings: &mut Vec<String>) -> Option<f64> {
    let field = exif.get_field(Tag::GPSAltitude, In::PRIMARY)?;
    let metres = match non_negative_ratios(&field.value).as_deref() {
        Some(&[metres]) => metres,
        _ => None,
    };
    // GPSAltitudeRef defaults to 0 (above sea level) per the EXIF standard.
    let reference = exif
        .get_field(Tag::GPSAltitudeRef, In::PRIMARY)
        .map_or(Some(0), |f| f.value.get_uint(0));
    match (metres, reference) {
        (Some(m), Some(0)) if m <= MAX_ALTITUDE_M => Some(m),
        (Some(m), Some(1)) if m <= MAX_ALTITUDE_M => Some(-m),
        _ => {
            warnings.push("EXIF GPS altitude is malformed or out of range; ignored".to_owned());
            None
        }
    }
}

/// Rationals as numbers, `None` for a zero denominator or a negative part.
/// Signed rationals are accepted because some phones (seen: Nokia 8.3) write
/// GPS values with that type; the sign belongs in the reference tag, so a
/// negative part is garbage.
fn non_negative_ratios(value: &Value) -> Option<Vec<Option<f64>>> {
    let ratio = |num: i64, denom: i64| (num >= 0 && denom > 0).then(|| num as f64 / denom as f64);
    match value {
        Value::Rational(parts) => Some(
            parts
                .iter()
                .map(|r| ratio(r.num.into(), r.denom.into()))
                .collect(),
        ),
        Value::SRational(parts) => Some(
            parts
                .iter()
                .map(|r| ratio(r.num.into(), r.denom.into()))
                .collect(),
        ),
        _ => None,
    }
}

fn uint(exif: &Exif, tag: Tag) -> Option<u32> {
    exif.get_field(tag, In::PRIMARY)?.value.get_uint(0)
}

/// The first ASCII string of a field, trimmed; `None` if absent or blank.
fn ascii(exif: &Exif, tag: Tag) -> Option<String> {
    let Value::Ascii(strings) = &exif.get_field(tag, In::PRIMARY)?.value else {
        return None;
    };
    let text = String::from_utf8_lossy(strings.first()?);
    let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::jpeg::header::tests::sample_jpeg;
    use std::io::Cursor;

    /// A big-endian TIFF block holding IFD0 entries, an EXIF IFD and a GPS IFD,
    /// each as (tag, type, count, value bytes) with values placed after the IFDs.
    struct Tiff {
        ifd0: Vec<Entry>,
        exif: Vec<Entry>,
        gps: Vec<Entry>,
    }

    type Entry = (u16, u16, u32, Vec<u8>);

    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;

    fn text(tag: u16, s: &str) -> Entry {
        let bytes = [s.as_bytes(), b"\0"].concat();
        (tag, ASCII, bytes.len() as u32, bytes)
    }

    fn short(tag: u16, v: u16) -> Entry {
        (tag, SHORT, 1, v.to_be_bytes().to_vec())
    }

    fn rationals(tag: u16, parts: &[(u32, u32)]) -> Entry {
        let bytes = parts
            .iter()
            .flat_map(|(n, d)| [n.to_be_bytes(), d.to_be_bytes()].concat())
            .collect();
        (tag, RATIONAL, parts.len() as u32, bytes)
    }

    impl Tiff {
        fn encode(&self) -> Vec<u8> {
            let ifd_size = |entries: usize| (2 + 12 * entries + 4) as u32;
            let exif_at = 8 + ifd_size(self.ifd0.len() + 2);
            let gps_at = exif_at + ifd_size(self.exif.len());
            let mut data_at = gps_at + ifd_size(self.gps.len());
            let mut ifd0 = self.ifd0.clone();
            ifd0.push((0x8769, LONG, 1, exif_at.to_be_bytes().to_vec()));
            ifd0.push((0x8825, LONG, 1, gps_at.to_be_bytes().to_vec()));
            let mut out = b"MM\0\x2a\0\0\0\x08".to_vec();
            let mut data = Vec::new();
            for mut entries in [ifd0, self.exif.clone(), self.gps.clone()] {
                entries.sort_by_key(|e| e.0);
                out.extend_from_slice(&(entries.len() as u16).to_be_bytes());
                for (tag, kind, count, mut value) in entries {
                    out.extend_from_slice(&tag.to_be_bytes());
                    out.extend_from_slice(&kind.to_be_bytes());
                    out.extend_from_slice(&count.to_be_bytes());
                    if value.len() <= 4 {
                        value.resize(4, 0);
                        out.extend_from_slice(&value);
                    } else {
                        out.extend_from_slice(&data_at.to_be_bytes());
                        data_at += value.len() as u32;
                        data.extend_from_slice(&value);
                    }
                }
                out.extend_from_slice(&[0; 4]); // no next IFD
            }
            out.extend_from_slice(&data);
            out
        }
    }

    fn jpeg_with(tiff: &Tiff) -> Vec<u8> {
        let jpeg = sample_jpeg(64, 48);
        let body = [b"Exif\0\0".as_slice(), &tiff.encode()].concat();
        let len = (body.len() + 2) as u16;
        [
            &jpeg[..2],
            &[0xff, 0xe1],
            &len.to_be_bytes(),
            &body,
            &jpeg[2..],
        ]
        .concat()
    }

    fn read(bytes: Vec<u8>) -> PhotoMetadata {
        read_metadata(&mut Cursor::new(bytes)).unwrap()
    }

    fn phone_tiff() -> Tiff {
        Tiff {
            ifd0: vec![
                text(0x010f, "Xiaomi"),
                text(0x0110, "Redmi Note 9S"),
                short(0x0112, 6),
            ],
            exif: vec![
                text(0x9003, "2024:05:07 09:33:04"),
                text(0x9011, "+08:00"),
                text(0x9291, "046"),
            ],
            gps: vec![
                text(0x0001, "N"),
                rationals(0x0002, &[(30, 1), (37, 1), (395_400, 10_000)]),
                text(0x0003, "W"),
                rationals(0x0004, &[(119, 1), (443_158, 10_000), (0, 1)]),
                (0x0005, 1, 1, vec![1]),
                rationals(0x0006, &[(989, 10)]),
            ],
        }
    }

    #[test]
    fn reads_a_complete_phone_record() {
        let meta = read(jpeg_with(&phone_tiff()));
        assert_eq!(meta.warnings, Vec::<String>::new());
        assert_eq!(meta.media_type, MediaType::Jpeg);
        assert_eq!((meta.width, meta.height), (Some(64), Some(48)));
        assert_eq!(meta.orientation, Some(6));
        assert_eq!(meta.make.as_deref(), Some("Xiaomi"));
        assert_eq!(meta.model.as_deref(), Some("Redmi Note 9S"));
        assert_eq!(
            meta.datetime_original.as_deref(),
            Some("2024:05:07 09:33:04")
        );
        assert_eq!(meta.offset_time_original.as_deref(), Some("+08:00"));
        // 2024-05-07T01:33:04.046Z
        assert_eq!(meta.datetime_original_utc_ms, Some(1_715_045_584_046));
        let gps = meta.gps.unwrap();
        assert!((gps.lat - (30.0 + 37.0 / 60.0 + 39.54 / 3600.0)).abs() < 1e-12);
        assert!((gps.lon + (119.0 + 44.3158 / 60.0)).abs() < 1e-12);
        assert_eq!(gps.altitude_m, Some(-98.9));
    }

    #[test]
    fn implausible_values_are_dropped_with_warnings() {
        let mut tiff = phone_tiff();
        tiff.ifd0[2] = short(0x0112, 0);
        tiff.exif = vec![text(0x9003, "2024:02:30 09:33:04"), text(0x9011, "+99:00")];
        tiff.gps[1] = rationals(0x0002, &[(u32::MAX, 1), (0, 1), (0, 1)]);
        tiff.gps[5] = rationals(0x0006, &[(1, 0)]);
        let meta = read(jpeg_with(&tiff));
        assert_eq!(meta.orientation, None);
        assert_eq!(meta.datetime_original, None);
        assert_eq!(meta.gps, None);
        assert_eq!(meta.make.as_deref(), Some("Xiaomi"));
        assert_eq!(
            meta.warnings,
            [
                "EXIF Orientation is not 1-8; ignored",
                "EXIF DateTimeOriginal is not a valid date and time; ignored",
                "EXIF GPS latitude out of range; position ignored",
            ]
        );
    }

    #[test]
    fn gps_needs_both_coordinates_and_their_references() {
        let mut no_ref = phone_tiff();
        no_ref.gps.retain(|e| e.0 != 0x0001);
        let meta = read(jpeg_with(&no_ref));
        assert_eq!(meta.gps, None);
        assert_eq!(
            meta.warnings,
            ["EXIF GPS latitude reference (N/S or E/W) missing; position ignored"]
        );

        let mut no_lon = phone_tiff();
        no_lon.gps.retain(|e| e.0 != 0x0004);
        assert_eq!(
            read(jpeg_with(&no_lon)).warnings,
            ["EXIF GPS longitude missing; position ignored"]
        );

        // Signed rationals (Nokia 8.3) are read; a negative part is garbage.
        let signed = |tag, parts: &[(i32, i32)]| -> Entry {
            let bytes = parts
                .iter()
                .flat_map(|(n, d)| [n.to_be_bytes(), d.to_be_bytes()].concat())
                .collect();
            (tag, 10, parts.len() as u32, bytes)
        };
        let mut srational = phone_tiff();
        srational.gps[1] = signed(0x0002, &[(60, 1), (8, 1), (4814, 100)]);
        let meta = read(jpeg_with(&srational));
        assert!((meta.gps.unwrap().lat - 60.146_705_555_555_56).abs() < 1e-12);
        srational.gps[1] = signed(0x0002, &[(-60, 1), (8, 1), (4814, 100)]);
        assert_eq!(
            read(jpeg_with(&srational)).warnings,
            ["EXIF GPS latitude has a zero denominator or a negative part; position ignored"]
        );

        let mut empty = phone_tiff();
        empty.gps.clear();
        let meta = read(jpeg_with(&empty));
        assert_eq!((meta.gps, meta.warnings.len()), (None, 0));

        let mut zero_denominator = phone_tiff();
        zero_denominator.gps[3] = rationals(0x0004, &[(119, 0)]);
        assert_eq!(
            read(jpeg_with(&zero_denominator)).warnings,
            ["EXIF GPS longitude has a zero denominator or a negative part; position ignored"]
        );
    }

    #[test]
    fn local_time_without_offset_has_no_utc() {
        let mut tiff = phone_tiff();
        tiff.exif = vec![text(0x9003, "2008:10:22 16:28:39")];
        let meta = read(jpeg_with(&tiff));
        assert_eq!(
            meta.datetime_original.as_deref(),
            Some("2008:10:22 16:28:39")
        );
        assert_eq!(meta.datetime_original_utc_ms, None);
        tiff.exif = vec![text(0x9003, "    :  :     :  :  "), text(0x9011, "   :  ")];
        let meta = read(jpeg_with(&tiff));
        assert_eq!((meta.datetime_original, meta.warnings.len()), (None, 0));
    }

    #[test]
    fn civil_time_matches_known_instants() {
        let at = |s: &str| civil_ms(&exif::DateTime::from_ascii(s.as_bytes()).unwrap());
        assert_eq!(at("1970:01:01 00:00:00"), Some(0));
        assert_eq!(at("2000:02:29 12:00:00"), Some(951_825_600_000));
        assert_eq!(at("1969:12:31 23:59:59"), Some(-1000));
        assert_eq!(at("2023:02:29 00:00:00"), None);
        assert_eq!(at("2024:13:01 00:00:00"), None);
        assert_eq!(at("2024:01:01 24:00:00"), None);
    }

    #[test]
    fn photos_without_exif_and_other_formats() {
        let meta = read(sample_jpeg(30, 20));
        assert_eq!(
            (meta.width, meta.height, meta.warnings.len()),
            (Some(30), Some(20), 0)
        );
        let err = read_metadata(&mut Cursor::new(b"GIF89a....".to_vec())).unwrap_err();
        assert_eq!(err.code(), "unsupported_media");
        // A HEIC shell with no EXIF item: known format, nothing to report.
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\x08free".to_vec();
        let meta = read(heic);
        assert_eq!(meta.media_type, MediaType::Heic);
        assert_eq!(meta.width, None);
    }

    #[test]
    fn truncated_header_keeps_what_came_before() {
        let jpeg = jpeg_with(&phone_tiff());
        let sof = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        let meta = read(jpeg[..sof + 4].to_vec());
        assert_eq!(meta.orientation, Some(6));
        assert_eq!(meta.width, None);
        assert_eq!(meta.warnings.len(), 1, "{:?}", meta.warnings);
        assert!(meta.warnings[0].starts_with("JPEG structure damaged"));
    }
}
