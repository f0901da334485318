//! A patrol track segment's points in a case file, as GPX 1.1 and as GeoJSON
//! (RFC 7946): exactly the fixes the segment's signed seal covers, and those
//! fixes read back from either file, so a verifier recomputes the seal from the
//! very file a reader opens in a map or GIS.
//!
//! Both files carry every sealed value losslessly: positions as the shortest
//! decimal of `lat_e7 / 10^7` (which reads back to the same `lat_e7`), times
//! in milliseconds, accuracy in millimetres / 1000, and the mock flag
//! (`docs/evidence-bundle.md`, "Track files"). GPX goes through
//! [`crate::geo::gpx`]; the GeoJSON is written here because a track's
//! per-point values (time, accuracy, mock) have no place in a plain
//! LineString and ride along as arrays in its properties.

use crate::evidence::track_seal::{accuracy_mm, degrees_e7, from_e7, SealedFix};
use crate::geo::datum::LatLon;
use crate::geo::geodesy::distance_m;
use crate::geo::gpx::{parse_gpx, write_gpx, GpxPoint};
use serde_json::{json, Map, Value};

/// The segment as a GPX 1.1 track named `name` with one `<trkseg>`.
pub fn gpx(name: &str, fixes: &[SealedFix]) -> String {
    let points: Vec<GpxPoint> = fixes
        .iter()
        .map(|f| GpxPoint {
            lat: from_e7(f.lat_e7),
            lon: from_e7(f.lon_e7),
            time_ms: Some(f.time_ms),
            accuracy_m: f.accuracy_mm.map(|mm| f64::from(mm) / 1_000.0),
            mock: Some(f.mock),
            ..GpxPoint::default()
        })
        .collect();
    write_gpx(name, &[points])
}

/// The fixes of a [`gpx`] file, or `None` unless it holds exactly one track
/// of one segment whose every point has a time.
pub fn fixes_from_gpx(bytes: &[u8]) -> Option<Vec<SealedFix>> {
    let file = parse_gpx(bytes).ok()?;
    let [track] = file.tracks.as_slice() else {
        return None;
    };
    let [segment] = track.segments.as_slice() else {
        return None;
    };
    if file.skipped_points > 0 {
        return None;
    }
    segment
        .iter()
        .map(|p| {
            Some(SealedFix {
                time_ms: p.time_ms?,
                lat_e7: degrees_e7(p.lat),
                lon_e7: degrees_e7(p.lon),
                accuracy_mm: p.accuracy_m.map(accuracy_mm),
                mock: p.mock.unwrap_or(false),
            })
        })
        .collect()
}

/// The segment as a GeoJSON Feature: a LineString (a Point for a single fix),
/// `[lon, lat]` in WGS-84, and in `properties`, besides `properties` given,
/// `time_ms`, `accuracy_mm` (null when unknown) and `mock`: one entry per
/// position, in order.
pub fn geojson(mut properties: Map<String, Value>, fixes: &[SealedFix]) -> Vec<u8> {
    let positions: Vec<[f64; 2]> = fixes
        .iter()
        .map(|f| [from_e7(f.lon_e7), from_e7(f.lat_e7)])
        .collect();
    let geometry = match positions.as_slice() {
        [] => Value::Null,
        [one] => json!({ "type": "Point", "coordinates": one }),
        _ => json!({ "type": "LineString", "coordinates": positions }),
    };
    let column = |value: fn(&SealedFix) -> Value| fixes.iter().map(value).collect::<Value>();
    properties.insert("time_ms".into(), column(|f| f.time_ms.into()));
    properties.insert("accuracy_mm".into(), column(|f| f.accuracy_mm.into()));
    properties.insert("mock".into(), column(|f| f.mock.into()));
    let feature = json!({ "type": "Feature", "geometry": geometry, "properties": properties });
    let mut bytes = serde_json::to_vec_pretty(&feature).expect("JSON values serialise");
    bytes.push(b'\n');
    bytes
}

/// The fixes of a [`geojson`] file, or `None` unless its positions and its
/// three property arrays are all there and of one length.
pub fn fixes_from_geojson(bytes: &[u8]) -> Option<Vec<SealedFix>> {
    let feature: Value = serde_json::from_slice(bytes).ok()?;
    let geometry = &feature["geometry"];
    let positions: Vec<&Value> = match geometry["type"].as_str() {
        Some("LineString") => geometry["coordinates"].as_array()?.iter().collect(),
        Some("Point") => vec![&geometry["coordinates"]],
        _ if geometry.is_null() => Vec::new(),
        _ => return None,
    };
    let properties = &feature["properties"];
    let column = |name: &str| {
        let values = properties[name].as_array()?;
        (values.len() == positions.len()).then_some(values)
    };
    let (times, accuracies, mocks) = (column("time_ms")?, column("accuracy_mm")?, column("mock")?);
    positions
        .iter()
        .zip(times.iter().zip(accuracies.iter().zip(mocks)))
        .map(|(position, (time, (accuracy, mock)))| {
            let [lon, lat] = position.as_array()?.as_slice() else {
                return None;
            };
            Some(SealedFix {
                time_ms: time.as_i64()?,
                lat_e7: degrees_e7(lat.as_f64()?),
                lon_e7: degrees_e7(lon.as_f64()?),
                accuracy_mm: match accuracy {
                    Value::Null => None,
                    mm => Some(i32::try_from(mm.as_i64()?).ok()?),
                },
                mock: mock.as_bool()?,
            })
        })
        .collect()
}

/// The length of the path through `fixes`, in metres on the ellipsoid.
pub fn length_m(fixes: &[SealedFix]) -> f64 {
    let at = |f: &SealedFix| LatLon {
        lat: from_e7(f.lat_e7),
        lon: from_e7(f.lon_e7),
    };
    fixes
        .windows(2)
        .map(|pair| distance_m(at(&pair[0]), at(&pair[1])))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixes() -> Vec<SealedFix> {
        vec![
            SealedFix {
                time_ms: 1_790_000_000_123,
                lat_e7: 281_940_001,
                lon_e7: 1_129_820_007,
                accuracy_mm: Some(4_567),
                mock: false,
            },
            SealedFix {
                time_ms: 1_790_000_001_123,
                lat_e7: -1,
                lon_e7: -1_799_999_999,
                accuracy_mm: None,
                mock: true,
            },
            SealedFix {
                time_ms: 1_790_000_002_000,
                lat_e7: 900_000_000,
                lon_e7: 1_800_000_000,
                accuracy_mm: Some(i32::MAX),
                mock: false,
            },
        ]
    }

    #[test]
    fn both_files_give_back_the_sealed_fixes_exactly() {
        let fixes = fixes();
        let gpx_text = gpx("巡查 <1>", &fixes);
        assert!(gpx_text.contains("<fieldproof:mock>true</fieldproof:mock>"));
        assert_eq!(fixes_from_gpx(gpx_text.as_bytes()).unwrap(), fixes);
        let properties = Map::from_iter([("seq".to_owned(), json!(7))]);
        let geojson_bytes = geojson(properties, &fixes);
        let feature: Value = serde_json::from_slice(&geojson_bytes).unwrap();
        assert_eq!(feature["geometry"]["type"], "LineString");
        assert_eq!(
            feature["geometry"]["coordinates"][0],
            json!([112.9820007, 28.1940001])
        );
        assert_eq!(feature["properties"]["seq"], 7);
        assert_eq!(fixes_from_geojson(&geojson_bytes).unwrap(), fixes);
        // One fix: a Point, still read back.
        let one = geojson(Map::new(), &fixes[..1]);
        assert!(String::from_utf8_lossy(&one).contains("\"Point\""));
        assert_eq!(fixes_from_geojson(&one).unwrap(), fixes[..1]);
        // 0.001° of latitude near 28° N is about 110.8 m on the ellipsoid.
        let north = SealedFix {
            lat_e7: fixes[0].lat_e7 + 10_000,
            ..fixes[0]
        };
        let metres = length_m(&[fixes[0], north]);
        assert!((110.0..111.5).contains(&metres), "{metres}");
        assert_eq!(length_m(&fixes[..1]), 0.0);
    }

    #[test]
    fn files_that_do_not_hold_one_whole_segment_are_not_read() {
        let fixes = fixes();
        let gpx_text = gpx("t", &fixes);
        let no_time = gpx_text
            .replacen("<time>", "<desc>", 1)
            .replacen("</time>", "</desc>", 1);
        assert_eq!(fixes_from_gpx(no_time.as_bytes()), None);
        let two_segments = gpx_text.replace(
            "</trkseg>",
            "</trkseg><trkseg><trkpt lat=\"1\" lon=\"1\"/></trkseg>",
        );
        assert_eq!(fixes_from_gpx(two_segments.as_bytes()), None);
        let bad_point = gpx_text.replacen("lat=\"28.1940001\"", "lat=\"north\"", 1);
        assert_eq!(fixes_from_gpx(bad_point.as_bytes()), None);
        assert_eq!(fixes_from_gpx(b"not xml <"), None);

        let mut feature: Value = serde_json::from_slice(&geojson(Map::new(), &fixes)).unwrap();
        feature["properties"]["mock"].as_array_mut().unwrap().pop();
        assert_eq!(
            fixes_from_geojson(&serde_json::to_vec(&feature).unwrap()),
            None
        );
        feature["geometry"]["type"] = "Polygon".into();
        assert_eq!(
            fixes_from_geojson(&serde_json::to_vec(&feature).unwrap()),
            None
        );
        assert_eq!(fixes_from_geojson(b"[]"), None);
    }
}
