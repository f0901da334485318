//! GeoJSON (RFC 7946) export of tracks, for the bureau's web maps and GIS.

use super::datum::LatLon;
use serde_json::{json, Map, Value};

/// RFC 7946 §11.2: 7 decimals (about 1 cm) are more than any GNSS fix
/// resolves; more only inflates the file.
const DECIMALS_SCALE: f64 = 1e7;

/// An RFC 7946 Feature for a track: a LineString for one segment, a
/// MultiLineString for several, positions `[lon, lat]` in WGS-84 (the only
/// datum RFC 7946 allows, hence no "crs" member), with a "bbox".
///
/// A LineString needs at least two positions, so segments with fewer (after
/// dropping any non-finite point, which JSON cannot carry) are left out; if
/// none remain the geometry is `null`, which RFC 7946 allows for "unlocated"
/// features, and there is no bbox. The bbox is a plain min/max: tracks
/// crossing the antimeridian are not expected in this app.
pub fn track_feature(segments: &[Vec<LatLon>], properties: Map<String, Value>) -> Value {
    let lines: Vec<Vec<[f64; 2]>> = segments
        .iter()
        .map(|segment| {
            segment
                .iter()
                .filter(|p| p.lat.is_finite() && p.lon.is_finite())
                .map(|p| [round(p.lon), round(p.lat)])
                .collect::<Vec<_>>()
        })
        .filter(|line| line.len() >= 2)
        .collect();

    let mut feature = Map::new();
    feature.insert("type".into(), "Feature".into());
    if let Some(bbox) = bbox(&lines) {
        feature.insert("bbox".into(), json!(bbox));
    }
    let geometry = match lines.len() {
        0 => Value::Null,
        1 => json!({ "type": "LineString", "coordinates": lines[0] }),
        _ => json!({ "type": "MultiLineString", "coordinates": lines }),
    };
    feature.insert("geometry".into(), geometry);
    feature.insert("properties".into(), Value::Object(properties));
    Value::Object(feature)
}

fn round(deg: f64) -> f64 {
    (deg * DECIMALS_SCALE).round() / DECIMALS_SCALE
}

/// `[west, south, east, north]` over all positions, or `None` when empty.
fn bbox(lines: &[Vec<[f64; 2]>]) -> Option<[f64; 4]> {
    let mut positions = lines.iter().flatten();
    let first = positions.next()?;
    Some(positions.fold(
        [first[0], first[1], first[0], first[1]],
        |[w, s, e, n], p| [w.min(p[0]), s.min(p[1]), e.max(p[0]), n.max(p[1])],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(lat: f64, lon: f64) -> LatLon {
        LatLon { lat, lon }
    }

    fn props() -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("track_id".into(), "t-1".into());
        m
    }

    #[test]
    fn one_segment_is_a_line_string_in_lon_lat_order() {
        let f = track_feature(
            &[vec![ll(28.123456789, 112.987654321), ll(28.2, 113.0)]],
            props(),
        );
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "LineString");
        assert_eq!(
            f["geometry"]["coordinates"],
            json!([[112.9876543, 28.1234568], [113.0, 28.2]])
        );
        assert_eq!(f["bbox"], json!([112.9876543, 28.1234568, 113.0, 28.2]));
        assert_eq!(f["properties"]["track_id"], "t-1");
        assert!(f.get("crs").is_none());
    }

    #[test]
    fn several_segments_are_a_multi_line_string() {
        let f = track_feature(
            &[
                vec![ll(28.0, 112.0), ll(28.1, 112.1)],
                vec![ll(27.9, 112.3), ll(28.0, 112.4), ll(28.05, 112.2)],
            ],
            Map::new(),
        );
        assert_eq!(f["geometry"]["type"], "MultiLineString");
        assert_eq!(f["geometry"]["coordinates"].as_array().unwrap().len(), 2);
        assert_eq!(f["bbox"], json!([112.0, 27.9, 112.4, 28.1]));
        assert_eq!(f["properties"], json!({}));
    }

    #[test]
    fn short_segments_are_dropped() {
        let f = track_feature(
            &[
                vec![ll(28.0, 112.0)],
                vec![ll(28.0, 112.0), ll(28.1, 112.1)],
                vec![],
                vec![ll(f64::NAN, 112.0), ll(28.3, 112.3)],
            ],
            Map::new(),
        );
        assert_eq!(f["geometry"]["type"], "LineString");
        assert_eq!(
            f["geometry"]["coordinates"],
            json!([[112.0, 28.0], [112.1, 28.1]])
        );
    }

    #[test]
    fn nothing_drawable_gives_null_geometry_and_no_bbox() {
        for segments in [vec![], vec![vec![ll(28.0, 112.0)]], vec![vec![]]] {
            let f = track_feature(&segments, props());
            assert!(f["geometry"].is_null());
            assert!(f.get("bbox").is_none());
            assert!(f.as_object().unwrap().contains_key("geometry"));
            assert_eq!(f["properties"]["track_id"], "t-1");
        }
    }
}
