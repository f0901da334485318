//! GPX import (1.0 and 1.1) and export (1.1) of tracks.
//!
//! Import is lenient, because GPX in the wild comes from every kind of device
//! and app: a point without usable coordinates is skipped and counted, an
//! unreadable value becomes unknown, and unknown elements are ignored. Only a
//! document that is not well-formed XML, or not GPX at all, is refused.
//!
//! Why our own (on quick-xml): the `gpx` crate drops extensions (our
//! accuracy and mock flag, Garmin's speed and course) and fails a whole file
//! on one bad number, where a field recording must keep every readable point.
//!
//! Document type declarations are ignored and the entities they declare are
//! never expanded (only XML's five predefined entities and character
//! references are), so entity-expansion bombs and external entities have no
//! effect: text using such an entity is treated as unreadable.

use crate::error::{Error, Result};
use crate::time::CivilTime;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;
use std::fmt::Write;

/// The GPX 1.1 namespace written on export.
pub const GPX_1_1_NAMESPACE: &str = "http://www.topografix.com/GPX/1/1";
/// Namespace of Fieldproof's own GPX extensions (horizontal accuracy and
/// whether the position came from a mock provider, which GPX has no element
/// for).
pub const FIELDPROOF_NAMESPACE: &str = "https://fieldproof.org/xmlns/gpx/1";
/// Garmin's TrackPointExtension v2: the de-facto place for speed and course
/// in GPX 1.1 (which dropped GPX 1.0's `<speed>` and `<course>`); Garmin
/// tools, Strava and most GPX readers understand it.
const GARMIN_TPX_NAMESPACE: &str = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2";
/// The values GPX 1.1's `fixType` allows; other values are not written.
const GPX_1_1_FIX_TYPES: [&str; 5] = ["none", "2d", "3d", "dgps", "pps"];

/// One track or route point. Values the file does not give, or gives in a
/// form that cannot be read, are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpxPoint {
    /// WGS-84 degrees (GPX is WGS-84 by definition).
    pub lat: f64,
    pub lon: f64,
    pub ele_m: Option<f64>,
    /// UTC milliseconds since the Unix epoch (negative before 1970).
    pub time_ms: Option<i64>,
    pub hdop: Option<f64>,
    /// `<fix>` as written (GPX 1.1 defines none, 2d, 3d, dgps, pps; devices
    /// write other values too).
    pub fix: Option<String>,
    pub speed_mps: Option<f64>,
    pub course_deg: Option<f64>,
    /// Horizontal accuracy in metres, from Fieldproof's own extension.
    pub accuracy_m: Option<f64>,
    /// Whether the phone reported the fix as from a mock provider, from
    /// Fieldproof's own extension (`true` / `false`).
    pub mock: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpxTrack {
    pub name: Option<String>,
    pub segments: Vec<Vec<GpxPoint>>,
}

/// The tracks of a GPX file. Routes (`<rte>`) come as tracks of one segment.
/// Segments without points, and tracks or routes without any (Garmin Connect
/// writes an empty `<rte/>`), are left out: they carry no location.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpxFile {
    pub tracks: Vec<GpxTrack>,
    /// Points skipped because their lat/lon was missing, not a number or out
    /// of range.
    pub skipped_points: usize,
}

/// Reads a GPX 1.0 or 1.1 document.
pub fn parse_gpx(bytes: &[u8]) -> Result<GpxFile> {
    let mut reader = Reader::from_reader(bytes);
    let mut parser = Parser::default();
    // Each event consumes input, so the loop ends at the latest at end of input.
    loop {
        let event = reader.read_event().map_err(|e| {
            invalid(format!(
                "malformed XML at byte {}: {e}",
                reader.error_position()
            ))
        })?;
        match event {
            Event::Start(e) => parser.open(&e)?,
            Event::Empty(e) => {
                parser.open(&e)?;
                parser.close();
            }
            Event::End(_) => parser.close(),
            Event::Text(t) => parser.text(t.decode().ok().as_deref()),
            Event::CData(t) => parser.text(t.decode().ok().as_deref()),
            Event::GeneralRef(r) => parser.text(resolve_reference(&r).as_deref()),
            Event::Eof => return parser.finish(),
            // DOCTYPE, comments, processing instructions, the XML declaration.
            _ => {}
        }
    }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidGpx {
        reason: reason.into(),
    }
}

/// A character reference or one of XML's predefined entities; `None` for an
/// entity declared in a DTD, which is deliberately not expanded.
fn resolve_reference(r: &BytesRef) -> Option<String> {
    if let Some(c) = r.resolve_char_ref().ok()? {
        return Some(c.to_string());
    }
    resolve_predefined_entity(&r.decode().ok()?).map(str::to_owned)
}

/// What an open element means to the reader.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Node {
    Gpx,
    Track,
    Route,
    Segment,
    Point,
    /// Inside a point's `<extensions>`, at any depth: vendors nest their
    /// values in containers (Garmin's `TrackPointExtension`).
    PointExtensions,
    TrackName,
    Value(Field),
    Ignored,
}

/// A point's element whose text is a value we keep.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Ele,
    Time,
    Hdop,
    Fix,
    Speed,
    Course,
    Accuracy,
    Mock,
}

impl Node {
    /// The meaning of a child element, by its local name: prefixes differ
    /// between files (`gpxtpx:`, `ns3:`) for the same extension.
    fn child(self, local_name: &[u8]) -> Node {
        match (self, local_name) {
            (Node::Gpx, b"trk") => Node::Track,
            (Node::Gpx, b"rte") => Node::Route,
            (Node::Track, b"trkseg") => Node::Segment,
            (Node::Track | Node::Route, b"name") => Node::TrackName,
            (Node::Segment, b"trkpt") | (Node::Route, b"rtept") => Node::Point,
            (Node::Point, b"extensions") => Node::PointExtensions,
            (Node::Point, b"ele") => Node::Value(Field::Ele),
            (Node::Point, b"time") => Node::Value(Field::Time),
            (Node::Point, b"hdop") => Node::Value(Field::Hdop),
            (Node::Point, b"fix") => Node::Value(Field::Fix),
            // GPX 1.0 has speed and course on the point; 1.1 files carry
            // them in extensions.
            (Node::Point | Node::PointExtensions, b"speed") => Node::Value(Field::Speed),
            (Node::Point | Node::PointExtensions, b"course") => Node::Value(Field::Course),
            (Node::PointExtensions, b"accuracy_m") => Node::Value(Field::Accuracy),
            (Node::PointExtensions, b"mock") => Node::Value(Field::Mock),
            (Node::PointExtensions, _) => Node::PointExtensions,
            _ => Node::Ignored,
        }
    }
}

#[derive(Default)]
struct Parser {
    /// Open elements; empty before the root and after it closes.
    open: Vec<Node>,
    root_seen: bool,
    file: GpxFile,
    /// The point being read; `None` inside a skipped point.
    point: Option<GpxPoint>,
    /// Text of the open value element, `None` once any part was unreadable.
    value: Option<String>,
}

impl Parser {
    fn open(&mut self, e: &BytesStart) -> Result<()> {
        let local_name = e.local_name();
        let node = match self.open.last() {
            Some(parent) => parent.child(local_name.as_ref()),
            None if self.root_seen => return Err(invalid("content after the <gpx> element")),
            None if local_name.as_ref() == b"gpx" => Node::Gpx,
            None => return Err(invalid("the root element is not <gpx>")),
        };
        match node {
            Node::Gpx => self.root_seen = true,
            Node::Track => self.file.tracks.push(GpxTrack::default()),
            Node::Route => self.file.tracks.push(GpxTrack {
                name: None,
                segments: vec![Vec::new()],
            }),
            Node::Segment => {
                if let Some(track) = self.file.tracks.last_mut() {
                    track.segments.push(Vec::new());
                }
            }
            Node::Point => {
                self.point = point_position(e);
                if self.point.is_none() {
                    self.file.skipped_points += 1;
                }
            }
            Node::TrackName | Node::Value(_) => self.value = Some(String::new()),
            Node::PointExtensions | Node::Ignored => {}
        }
        self.open.push(node);
        Ok(())
    }

    /// The parser keeps the open elements in step with the reader, which
    /// checks that end tags match, so this pops the element being closed.
    fn close(&mut self) {
        match self.open.pop() {
            Some(Node::TrackName) => {
                let name = self.take_value();
                if let Some(track) = self.file.tracks.last_mut() {
                    track.name = name;
                }
            }
            Some(Node::Value(field)) => {
                let value = self.take_value();
                if let Some(point) = self.point.as_mut() {
                    point.set(field, value.as_deref());
                }
            }
            Some(Node::Point) => {
                let segment = self
                    .file
                    .tracks
                    .last_mut()
                    .and_then(|t| t.segments.last_mut());
                if let (Some(segment), Some(point)) = (segment, self.point.take()) {
                    segment.push(point);
                }
            }
            Some(Node::Track | Node::Route) => {
                if let Some(track) = self.file.tracks.last_mut() {
                    track.segments.retain(|s| !s.is_empty());
                    if track.segments.is_empty() {
                        self.file.tracks.pop();
                    }
                }
            }
            _ => {}
        }
    }

    /// Character data; `None` when it could not be decoded or resolved.
    fn text(&mut self, text: Option<&str>) {
        if !matches!(self.open.last(), Some(Node::TrackName | Node::Value(_))) {
            return;
        }
        self.value = match (self.value.take(), text) {
            (Some(mut value), Some(text)) => {
                value.push_str(text);
                Some(value)
            }
            _ => None,
        };
    }

    fn finish(self) -> Result<GpxFile> {
        if !self.open.is_empty() {
            return Err(invalid("the document ends inside an element"));
        }
        if !self.root_seen {
            return Err(invalid("no <gpx> root element"));
        }
        Ok(self.file)
    }

    /// The text of the value element just closed, trimmed; `None` if
    /// empty or unreadable.
    fn take_value(&mut self) -> Option<String> {
        let value = self.value.take()?;
        let trimmed = value.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }
}

impl GpxPoint {
    fn set(&mut self, field: Field, text: Option<&str>) {
        let number = || text.and_then(parse_finite);
        match field {
            Field::Ele => self.ele_m = number(),
            Field::Time => self.time_ms = text.and_then(parse_time_ms),
            Field::Hdop => self.hdop = number(),
            Field::Fix => self.fix = text.map(str::to_owned),
            Field::Speed => self.speed_mps = number(),
            Field::Course => self.course_deg = number(),
            Field::Accuracy => self.accuracy_m = number(),
            Field::Mock => self.mock = text.and_then(|t| t.parse().ok()),
        }
    }
}

/// A point with the position from its `lat`/`lon` attributes, or `None`
/// when either is missing, unreadable or out of range.
fn point_position(e: &BytesStart) -> Option<GpxPoint> {
    let mut lat = None;
    let mut lon = None;
    for attribute in e.attributes() {
        let attribute = attribute.ok()?;
        let slot = match attribute.key.local_name().as_ref() {
            b"lat" => &mut lat,
            b"lon" => &mut lon,
            _ => continue,
        };
        *slot = attribute
            .decode_and_unescape_value(e.decoder())
            .ok()
            .and_then(|v| parse_finite(v.trim()));
    }
    let (lat, lon) = (lat?, lon?);
    (lat.abs() <= 90.0 && lon.abs() <= 180.0).then(|| GpxPoint {
        lat,
        lon,
        ..GpxPoint::default()
    })
}

/// A finite number; Rust's parser also takes "inf" and "NaN", which no GPX
/// value may be.
fn parse_finite(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Parses an RFC 3339 / ISO 8601 date-time (`2017-07-29T14:46:35.000Z`,
/// `…+08:00`) into UTC milliseconds. Fractional seconds are truncated to the
/// millisecond that contains the instant. Without an offset the time is
/// taken as UTC, which is what the GPX schema defines every time to be.
///
/// By hand rather than with `jiff` or `time`: GPX in the wild writes times
/// without an offset and with a space for the `T`, which their RFC 3339
/// parsers refuse; the calendar arithmetic is [`CivilTime`]'s.
fn parse_time_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    // 60 is a leap second; it counts as the first second of the next minute.
    let second = digits(&b[17..19])?;
    let mut rest = &b[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let fraction_digits = &fraction[..len];
        millis = (0..3).fold(0, |ms, i| {
            ms * 10 + fraction_digits.get(i).map_or(0, |d| i64::from(d - b'0'))
        });
        rest = &fraction[len..];
    }
    let offset_minutes = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), offset @ ..] => {
            let (hours, minutes) = match offset {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
                }
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                _ => return None,
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let minutes = hours * 60 + minutes;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let local = CivilTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        millis,
    };
    Some(local.to_ms()? - offset_minutes * 60_000)
}

/// A fixed-width run of ASCII digits.
fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

/// An instant as RFC 3339 UTC with milliseconds (`2017-07-29T14:46:35.000Z`).
struct UtcTime(CivilTime);

impl UtcTime {
    /// `None` when the year falls outside the 4-digit years RFC 3339 can
    /// express.
    fn from_ms(ms: i64) -> Option<UtcTime> {
        let time = CivilTime::from_ms(ms);
        (0..=9999).contains(&time.year).then_some(UtcTime(time))
    }
}

impl std::fmt::Display for UtcTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A GPX 1.1 document with one track named `name` and one `<trkseg>` per
/// segment.
///
/// Coordinates and values are printed in Rust's shortest form that parses
/// back to the same `f64`, so a write → read round trip is exact. GPX can
/// only express some values, and the rest are left out rather than making
/// the document invalid: points whose lat/lon is not finite and in range,
/// non-finite values, times outside years 0000–9999, `<fix>` values GPX 1.1
/// does not define, and courses outside [0, 360). Speed and course go in
/// Garmin's TrackPointExtension v2, accuracy and mock in Fieldproof's extension.
pub fn write_gpx(name: &str, segments: &[Vec<GpxPoint>]) -> String {
    let points: usize = segments.iter().map(Vec::len).sum();
    let mut out = String::with_capacity(512 + points * 256);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <gpx xmlns=\"{GPX_1_1_NAMESPACE}\" xmlns:fieldproof=\"{FIELDPROOF_NAMESPACE}\" \
         xmlns:gpxtpx=\"{GARMIN_TPX_NAMESPACE}\" version=\"1.1\" creator=\"Fieldproof\">\n\
         <trk>\n"
    );
    let name: String = name.chars().filter(|&c| is_xml_char(c)).collect();
    if !name.is_empty() {
        let _ = writeln!(out, "  <name>{}</name>", escape(name.as_str()));
    }
    for segment in segments {
        out.push_str("  <trkseg>\n");
        for point in segment {
            write_point(&mut out, point);
        }
        out.push_str("  </trkseg>\n");
    }
    out.push_str("</trk>\n</gpx>\n");
    out
}

fn write_point(out: &mut String, p: &GpxPoint) {
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
    if !(p.lat.is_finite() && p.lon.is_finite() && p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0) {
        return;
    }
    let _ = writeln!(out, "    <trkpt lat=\"{}\" lon=\"{}\">", p.lat, p.lon);
    if let Some(ele) = finite(p.ele_m) {
        let _ = writeln!(out, "      <ele>{ele}</ele>");
    }
    if let Some(time) = p.time_ms.and_then(UtcTime::from_ms) {
        let _ = writeln!(out, "      <time>{time}</time>");
    }
    if let Some(fix) = p.fix.as_deref().filter(|f| GPX_1_1_FIX_TYPES.contains(f)) {
        let _ = writeln!(out, "      <fix>{fix}</fix>");
    }
    if let Some(hdop) = finite(p.hdop) {
        let _ = writeln!(out, "      <hdop>{hdop}</hdop>");
    }
    let speed = finite(p.speed_mps);
    let course = finite(p.course_deg).filter(|c| (0.0..360.0).contains(c));
    let accuracy = finite(p.accuracy_m);
    if speed.is_some() || course.is_some() || accuracy.is_some() || p.mock.is_some() {
        out.push_str("      <extensions>\n");
        if speed.is_some() || course.is_some() {
            out.push_str("        <gpxtpx:TrackPointExtension>");
            if let Some(speed) = speed {
                let _ = write!(out, "<gpxtpx:speed>{speed}</gpxtpx:speed>");
            }
            if let Some(course) = course {
                let _ = write!(out, "<gpxtpx:course>{course}</gpxtpx:course>");
            }
            out.push_str("</gpxtpx:TrackPointExtension>\n");
        }
        if let Some(accuracy) = accuracy {
            let _ = writeln!(
                out,
                "        <fieldproof:accuracy_m>{accuracy}</fieldproof:accuracy_m>"
            );
        }
        if let Some(mock) = p.mock {
            let _ = writeln!(out, "        <fieldproof:mock>{mock}</fieldproof:mock>");
        }
        out.push_str("      </extensions>\n");
    }
    out.push_str("    </trkpt>\n");
}

/// Characters XML 1.0 allows in a document (§2.2); control characters in a
/// track name would make the whole file unreadable.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpx(body: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?>\n<gpx version=\"1.1\" creator=\"t\" \
             xmlns=\"http://www.topografix.com/GPX/1/1\">{body}</gpx>"
        )
    }

    fn one_point(trkpt_body: &str) -> GpxPoint {
        let doc = gpx(&format!(
            "<trk><trkseg><trkpt lat=\"28.2\" lon=\"112.9\">{trkpt_body}</trkpt></trkseg></trk>"
        ));
        let file = parse_gpx(doc.as_bytes()).unwrap();
        file.tracks[0].segments[0][0].clone()
    }

    fn time(text: &str) -> Option<i64> {
        one_point(&format!("<time>{text}</time>")).time_ms
    }

    #[test]
    fn times_in_every_rfc_3339_shape() {
        assert_eq!(time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(time("2017-07-29T14:46:35Z"), Some(1_501_339_595_000));
        assert_eq!(time("2017-07-29T14:46:35.000Z"), Some(1_501_339_595_000));
        assert_eq!(time("2017-07-29T14:46:35.5Z"), Some(1_501_339_595_500));
        assert_eq!(time("2017-07-29T14:46:35.123987Z"), Some(1_501_339_595_123));
        assert_eq!(time("2017-07-29T22:46:35+08:00"), Some(1_501_339_595_000));
        assert_eq!(time("2017-07-29T22:46:35+0800"), Some(1_501_339_595_000));
        assert_eq!(time("2017-07-29T09:16:35-05:30"), Some(1_501_339_595_000));
        assert_eq!(time("2017-07-29t14:46:35z"), Some(1_501_339_595_000));
        assert_eq!(time(" 2017-07-29T14:46:35Z\n"), Some(1_501_339_595_000));
        // No offset: GPX defines all times as UTC.
        assert_eq!(time("2017-07-29T14:46:35"), Some(1_501_339_595_000));
        assert_eq!(time("2016-12-31T23:59:60Z"), Some(1_483_228_800_000));
        assert_eq!(time("2000-02-29T00:00:00Z"), Some(951_782_400_000));
    }

    #[test]
    fn times_before_1970_are_negative() {
        // INT32_MIN seconds: the sentinel of devices whose clock was never set.
        assert_eq!(time("1901-12-13T20:45:52Z"), Some(-2_147_483_648_000));
        assert_eq!(
            time("1901-12-13T20:45:52.2073437Z"),
            Some(-2_147_483_647_793)
        );
        assert_eq!(time("1969-12-31T23:59:59.999Z"), Some(-1));
        assert_eq!(time("0000-03-01T00:00:00Z"), Some(-62_162_035_200_000));
    }

    #[test]
    fn unreadable_times_are_unknown() {
        for bad in [
            "",
            "yesterday",
            "2017-07-29",
            "2017-13-01T00:00:00Z",
            "2017-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2017-07-29T24:00:00Z",
            "2017-07-29T14:46:35.Z",
            "2017-07-29T14:46:35+25:00",
            "2017-07-29T14:46:35+08:0",
            "2017-07-29T14:46:35 UTC",
            "２０１７-07-29T14:46:35Z",
            "+2017-07-29T14:46:35Z",
        ] {
            assert_eq!(time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn time_formatting_round_trips() {
        for ms in [
            0,
            -1,
            1_501_339_595_123,
            -2_147_483_647_793,
            951_782_400_000,
            253_402_300_799_999,
            -62_167_219_200_000,
        ] {
            let s = UtcTime::from_ms(ms).unwrap().to_string();
            assert_eq!(parse_time_ms(&s), Some(ms), "{s}");
        }
        assert_eq!(
            UtcTime::from_ms(-1).unwrap().to_string(),
            "1969-12-31T23:59:59.999Z"
        );
        assert!(UtcTime::from_ms(253_402_300_800_000).is_none());
        assert!(UtcTime::from_ms(i64::MIN).is_none());
        assert!(UtcTime::from_ms(i64::MAX).is_none());
    }

    #[test]
    fn lenient_values() {
        let p = one_point(
            "<ele>high</ele><time>soon</time><hdop>NaN</hdop><fix>something_not_in_the_spec</fix>\
             <speed>inf</speed><course>12.5</course>",
        );
        assert_eq!(p.ele_m, None);
        assert_eq!(p.time_ms, None);
        assert_eq!(p.hdop, None);
        assert_eq!(p.fix.as_deref(), Some("something_not_in_the_spec"));
        assert_eq!(p.speed_mps, None);
        assert_eq!(p.course_deg, Some(12.5));
    }

    #[test]
    fn extensions_speed_course_and_accuracy() {
        let p = one_point(
            "<extensions><gpxtpx:TrackPointExtension xmlns:gpxtpx=\"x\"><gpxtpx:hr>74</gpxtpx:hr>\
             <gpxtpx:speed>1.25</gpxtpx:speed><gpxtpx:course>270</gpxtpx:course>\
             </gpxtpx:TrackPointExtension><fieldproof:accuracy_m xmlns:fieldproof=\"y\">4.5\
             </fieldproof:accuracy_m></extensions>",
        );
        assert_eq!(p.speed_mps, Some(1.25));
        assert_eq!(p.course_deg, Some(270.0));
        assert_eq!(p.accuracy_m, Some(4.5));
        // Elements of the same name outside a point's extensions mean nothing.
        let doc = gpx("<extensions><accuracy_m>3</accuracy_m></extensions>\
             <trk><trkseg><trkpt lat=\"1\" lon=\"2\"/></trkseg></trk>");
        let file = parse_gpx(doc.as_bytes()).unwrap();
        assert_eq!(file.tracks[0].segments[0][0].accuracy_m, None);
        // Mock is read as written, and only `true` or `false` mean anything.
        assert_eq!(
            one_point("<extensions><fieldproof:mock> true </fieldproof:mock></extensions>").mock,
            Some(true)
        );
        assert_eq!(
            one_point("<extensions><mock>false</mock></extensions>").mock,
            Some(false)
        );
        assert_eq!(
            one_point("<extensions><mock>yes</mock></extensions>").mock,
            None
        );
    }

    #[test]
    fn points_without_usable_position_are_skipped_and_counted() {
        let doc = gpx("<trk><trkseg>\
             <trkpt lat=\"28.1\" lon=\"112.1\"/>\
             <trkpt lon=\"112.2\"><ele>5</ele></trkpt>\
             <trkpt lat=\"north\" lon=\"112.3\"/>\
             <trkpt lat=\"91\" lon=\"112.3\"/>\
             <trkpt lat=\"NaN\" lon=\"112.3\"/>\
             <trkpt lat=\"28.5\" lon=\"112.5\" lat=\"28.6\"/>\
             <trkpt lat=\" 28.7 \" lon=\"112.7\"/>\
             </trkseg></trk>");
        let file = parse_gpx(doc.as_bytes()).unwrap();
        let lats: Vec<f64> = file.tracks[0].segments[0].iter().map(|p| p.lat).collect();
        assert_eq!(lats, vec![28.1, 28.7]);
        assert_eq!(file.skipped_points, 5);
    }

    #[test]
    fn routes_are_single_segment_tracks_and_empty_parts_are_dropped() {
        let doc = gpx("<rte><name>R &amp; D</name><rtept lat=\"1\" lon=\"2\"/><rtept lat=\"3\" lon=\"4\"/></rte>\
             <rte></rte><trk><name>empty</name><trkseg/></trk>\
             <trk><trkseg/><trkseg><trkpt lat=\"5\" lon=\"6\"/></trkseg></trk>");
        let file = parse_gpx(doc.as_bytes()).unwrap();
        assert_eq!(file.tracks.len(), 2);
        assert_eq!(file.tracks[0].name.as_deref(), Some("R & D"));
        assert_eq!(file.tracks[0].segments.len(), 1);
        assert_eq!(file.tracks[0].segments[0].len(), 2);
        assert_eq!(file.tracks[1].name, None);
        assert_eq!(
            file.tracks[1].segments,
            vec![vec![GpxPoint {
                lat: 5.0,
                lon: 6.0,
                ..GpxPoint::default()
            }]]
        );
    }

    #[test]
    fn gpx_1_0_top_level_speed_and_course() {
        let doc = "<gpx version=\"1.0\" xmlns=\"http://www.topografix.com/GPX/1/0\"><trk><trkseg>\
             <trkpt lat=\"46.4\" lon=\"13.7\"><speed>3.5</speed><course>359.9</course></trkpt>\
             </trkseg></trk></gpx>";
        let file = parse_gpx(doc.as_bytes()).unwrap();
        let p = &file.tracks[0].segments[0][0];
        assert_eq!((p.speed_mps, p.course_deg), (Some(3.5), Some(359.9)));
    }

    #[test]
    fn dtd_entities_are_never_expanded() {
        let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE gpx [\n\
             <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n\
             <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n\
             <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n\
             <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n\
             <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n\
             ]>\n<gpx version=\"1.1\"><trk><name>&d;</name><trkseg>\
             <trkpt lat=\"1\" lon=\"2\"><fix>&xxe;</fix><ele>&#49;&#x30;</ele></trkpt>\
             <trkpt lat=\"&xxe;\" lon=\"2\"/></trkseg></trk></gpx>";
        let file = parse_gpx(bomb.as_bytes()).unwrap();
        let track = &file.tracks[0];
        assert_eq!(track.name, None);
        assert_eq!(track.segments[0][0].fix, None);
        assert_eq!(track.segments[0][0].ele_m, Some(10.0));
        assert_eq!(file.skipped_points, 1);
    }

    #[test]
    fn not_gpx_is_refused() {
        for (bytes, why) in [
            (&b""[..], "empty"),
            (b"{\"type\":\"FeatureCollection\"}", "JSON"),
            (b"\x89PNG\r\n\x1a\n\0\0\0", "binary"),
            (
                b"<?xml version=\"1.0\"?><kml><Document/></kml>",
                "another XML format",
            ),
            (b"<gpx><trk><name>x</trk></gpx>", "mismatched end tag"),
            (
                b"<gpx><trk><trkseg><trkpt lat=\"1\" lon=\"2\">",
                "truncated",
            ),
            (b"<gpx></gpx><gpx></gpx>", "two roots"),
            (b"<gpx><trk a=\"1></trk></gpx>", "unterminated attribute"),
            (
                b"<gpx><!-- a comment that never ends </gpx>",
                "unterminated comment",
            ),
        ] {
            let err = parse_gpx(bytes).expect_err(why);
            assert_eq!(err.code(), "invalid_gpx", "{why}: {err}");
        }
    }

    #[test]
    fn write_then_read_round_trips_exactly() {
        let segments = vec![
            vec![
                GpxPoint {
                    lat: 28.228_212_345_678_9,
                    lon: 112.938_812_345_678_91,
                    ele_m: Some(45.123_456_789),
                    time_ms: Some(1_790_000_000_123),
                    hdop: Some(0.9),
                    fix: Some("3d".into()),
                    speed_mps: Some(1.3),
                    course_deg: Some(359.999),
                    accuracy_m: Some(3.7),
                    mock: Some(false),
                },
                GpxPoint {
                    lat: -0.000_000_1,
                    lon: -179.999_999_999,
                    time_ms: Some(-2_147_483_647_793),
                    accuracy_m: Some(12.0),
                    mock: Some(true),
                    ..GpxPoint::default()
                },
                GpxPoint {
                    lat: 1e-300,
                    lon: 180.0,
                    speed_mps: Some(0.0),
                    ..GpxPoint::default()
                },
            ],
            vec![GpxPoint {
                lat: 90.0,
                lon: 0.1 + 0.2,
                ele_m: Some(-0.5),
                fix: Some("dgps".into()),
                ..GpxPoint::default()
            }],
        ];
        let xml = write_gpx("巡查 <Route> & \"A\"\u{1}", &segments);
        let file = parse_gpx(xml.as_bytes()).unwrap();
        assert_eq!(file.skipped_points, 0);
        assert_eq!(file.tracks.len(), 1);
        assert_eq!(file.tracks[0].name.as_deref(), Some("巡查 <Route> & \"A\""));
        assert_eq!(file.tracks[0].segments, segments);
        assert!(xml.contains("xmlns=\"http://www.topografix.com/GPX/1/1\""));
        assert!(xml.contains("version=\"1.1\" creator=\"Fieldproof\""));
        assert!(xml.contains("<time>2026-09-21T14:13:20.123Z</time>"));
        assert!(xml.contains("<fieldproof:accuracy_m>3.7</fieldproof:accuracy_m>"));
        assert!(xml.contains("<fieldproof:mock>true</fieldproof:mock>"));
    }

    #[test]
    fn values_gpx_cannot_hold_are_left_out() {
        let segments = vec![vec![
            GpxPoint {
                lat: f64::NAN,
                lon: 112.0,
                ..GpxPoint::default()
            },
            GpxPoint {
                lat: 28.0,
                lon: 112.0,
                ele_m: Some(f64::INFINITY),
                time_ms: Some(i64::MAX),
                hdop: Some(f64::NAN),
                fix: Some("something_not_in_the_spec".into()),
                course_deg: Some(360.0),
                ..GpxPoint::default()
            },
        ]];
        let xml = write_gpx("", &segments);
        assert!(!xml.contains("<name>"));
        let file = parse_gpx(xml.as_bytes()).unwrap();
        assert_eq!(
            file.tracks[0].segments,
            vec![vec![GpxPoint {
                lat: 28.0,
                lon: 112.0,
                ..GpxPoint::default()
            }]]
        );
    }
}
