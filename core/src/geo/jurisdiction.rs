//! Jurisdiction polygons (county or township boundaries from the bureau) and
//! the lookup of where a point lies relative to them.
//!
//! Boundary data often comes in GCJ-02 (DataV) and is converted to WGS-84 once,
//! at load, so every lookup compares like with like.
//!
//! Why our own: geo's `Contains` treats a point on the border as outside
//! (an officer standing on a township line is in both, never in neither) and
//! has no distance to the boundary in metres, which the placement reports.
//!
//! Containment is by ray casting with the even-odd rule over all rings of a
//! polygon, in plain lon/lat (RFC 7946 draws edges as straight lines in that
//! space). Distances to a boundary are measured in a local equirectangular
//! projection around the point ([`LocalProjection`]): exact in scale near the
//! point, about 1 % off for edges a degree of latitude away, which is ample
//! at county scale where the near edges are the ones that matter.

use super::bounding_box::BoundingBox;
use super::datum::{convert, Datum, LatLon};
use super::geodesy::{segment_distance_sq, LocalProjection};
use crate::error::{Error, Result};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A closed ring of vertices: the first equals the last.
pub type Ring = Vec<LatLon>;

/// An area with an administrative code, in WGS-84.
#[derive(Debug, Clone, PartialEq)]
pub struct Jurisdiction {
    /// Administrative division code (e.g. a 6-digit county adcode).
    pub code: String,
    /// Empty when the data has none.
    pub name: String,
    /// Each polygon is its outer ring followed by its holes.
    pub polygons: Vec<Vec<Ring>>,
    pub bbox: BoundingBox,
}

/// Where a point lies relative to one jurisdiction.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub code: String,
    pub name: String,
    pub inside: bool,
    /// Distance to the jurisdiction's boundary in metres, >= 0: how deep
    /// inside, or how far outside.
    pub distance_m: f64,
}

/// Which polygon of which jurisdiction an R-tree entry stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PolygonRef {
    jurisdiction: usize,
    polygon: usize,
}

/// Loaded jurisdictions with an R-tree over their polygons' bounding boxes,
/// so a lookup tests only the few polygons whose box holds the point.
#[derive(Debug, Default)]
pub struct JurisdictionIndex {
    jurisdictions: Vec<Jurisdiction>,
    by_code: HashMap<String, usize>,
    /// Boxes as `[lon, lat]` corners.
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, PolygonRef>>,
}

impl JurisdictionIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every Polygon/MultiPolygon feature of a GeoJSON FeatureCollection
    /// (or a single Feature), converting vertices from `datum` to WGS-84.
    /// Features with another geometry, or none, are ignored.
    ///
    /// The code is the `adcode` property (number or string, as in DataV) or
    /// else `code`; the name is `name`. A jurisdiction already loaded with
    /// the same code is replaced, so an updated boundary file can be loaded
    /// over an old one. All or nothing: on any error nothing is added.
    /// Returns how many features were added.
    pub fn load_geojson(&mut self, bytes: &[u8], datum: Datum) -> Result<usize> {
        let document: Value = serde_json::from_slice(bytes)
            .map_err(|e| invalid_geojson(format!("not JSON ({e})")))?;
        let features: Vec<&Value> = match document.get("type").and_then(Value::as_str) {
            Some("FeatureCollection") => document
                .get("features")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid_geojson("FeatureCollection without a features array"))?
                .iter()
                .collect(),
            Some("Feature") => vec![&document],
            _ => return Err(invalid_geojson("not a FeatureCollection or Feature")),
        };
        let mut loaded = Vec::new();
        for (i, feature) in features.into_iter().enumerate() {
            if let Some(jurisdiction) = parse_feature(feature, datum)
                .map_err(|reason| invalid_geojson(format!("feature {i}: {reason}")))?
            {
                loaded.push(jurisdiction);
            }
        }
        let added = loaded.len();
        for jurisdiction in loaded {
            match self.by_code.get(&jurisdiction.code) {
                Some(&i) => self.jurisdictions[i] = jurisdiction,
                None => {
                    self.by_code
                        .insert(jurisdiction.code.clone(), self.jurisdictions.len());
                    self.jurisdictions.push(jurisdiction);
                }
            }
        }
        self.rebuild_tree();
        Ok(added)
    }

    pub fn len(&self) -> usize {
        self.jurisdictions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jurisdictions.is_empty()
    }

    pub fn get(&self, code: &str) -> Option<&Jurisdiction> {
        self.by_code.get(code).map(|&i| &self.jurisdictions[i])
    }

    /// Loaded jurisdictions, in load order.
    pub fn iter(&self) -> impl Iterator<Item = &Jurisdiction> {
        self.jurisdictions.iter()
    }

    /// The box around every loaded jurisdiction, if any is loaded.
    pub fn bbox(&self) -> Option<BoundingBox> {
        self.iter().map(|j| j.bbox).reduce(BoundingBox::union)
    }

    /// The jurisdiction containing `p` (WGS-84), if any.
    ///
    /// Neighbouring boundaries digitised separately overlap (by up to a few
    /// hundred metres between Hunan's per-city DataV files), so a point near
    /// a border can lie in two. The answer is then the one
    /// `p` lies deepest inside (farthest from its boundary), and on a tie the
    /// lowest code, so the same point always gets the same answer.
    pub fn locate(&self, p: LatLon) -> Option<Placement> {
        self.deepest(self.hits(p), p)
    }

    /// The jurisdiction [`Self::locate`] answers, without measuring how deep
    /// inside it `p` lies unless another one contains `p` too: for placing
    /// many points (a satellite fire file) where the depth is not wanted.
    pub fn containing(&self, p: LatLon) -> Option<&Jurisdiction> {
        match self.hits(p).as_slice() {
            [] => None,
            &[only] => Some(&self.jurisdictions[only]),
            several => self.get(&self.deepest(several.iter().copied(), p)?.code),
        }
    }

    /// The jurisdictions with a polygon containing `p`, by index, each once.
    fn hits(&self, p: LatLon) -> Vec<usize> {
        let mut hits: Vec<usize> = self
            .tree
            .locate_all_at_point(&[p.lon, p.lat])
            .filter(|entry| {
                let r = entry.data;
                contains(&self.jurisdictions[r.jurisdiction].polygons[r.polygon], p)
            })
            .map(|entry| entry.data.jurisdiction)
            .collect();
        hits.sort_unstable();
        hits.dedup();
        hits
    }

    /// [`Self::locate`] without the R-tree: every polygon is tested. The
    /// baseline for the geofence benchmark and an oracle for tests.
    #[doc(hidden)]
    pub fn brute_force_locate(&self, p: LatLon) -> Option<Placement> {
        let hits = self
            .jurisdictions
            .iter()
            .enumerate()
            .filter(|(_, j)| j.polygons.iter().any(|polygon| contains(polygon, p)))
            .map(|(i, _)| i);
        self.deepest(hits, p)
    }

    /// Where `p` (WGS-84) lies relative to the jurisdiction `code`: inside or
    /// not, and how far from its boundary.
    pub fn placement(&self, code: &str, p: LatLon) -> Result<Placement> {
        let jurisdiction = self.get(code).ok_or_else(|| Error::UnknownJurisdiction {
            code: code.to_owned(),
        })?;
        Ok(Placement {
            code: jurisdiction.code.clone(),
            name: jurisdiction.name.clone(),
            inside: jurisdiction
                .polygons
                .iter()
                .any(|polygon| contains(polygon, p)),
            distance_m: boundary_distance_m(jurisdiction, &LocalProjection::new(p)),
        })
    }

    /// Of the jurisdictions `hits` (indices containing `p`, each once), the
    /// one `p` is deepest inside; ties go to the lowest code.
    fn deepest(&self, hits: impl IntoIterator<Item = usize>, p: LatLon) -> Option<Placement> {
        let projection = LocalProjection::new(p);
        let (best, depth_m) = hits
            .into_iter()
            .map(|i| {
                (
                    &self.jurisdictions[i],
                    boundary_distance_m(&self.jurisdictions[i], &projection),
                )
            })
            .reduce(|best, candidate| {
                let deeper = candidate.1 > best.1
                    || (candidate.1 == best.1 && candidate.0.code < best.0.code);
                if deeper {
                    candidate
                } else {
                    best
                }
            })?;
        Some(Placement {
            code: best.code.clone(),
            name: best.name.clone(),
            inside: true,
            distance_m: depth_m,
        })
    }

    fn rebuild_tree(&mut self) {
        let entries = self
            .jurisdictions
            .iter()
            .enumerate()
            .flat_map(|(j, jurisdiction)| {
                jurisdiction
                    .polygons
                    .iter()
                    .enumerate()
                    .filter_map(move |(k, rings)| {
                        let b = BoundingBox::of(rings.iter().flatten())?;
                        Some(GeomWithData::new(
                            Rectangle::from_corners([b.min_lon, b.min_lat], [b.max_lon, b.max_lat]),
                            PolygonRef {
                                jurisdiction: j,
                                polygon: k,
                            },
                        ))
                    })
            })
            .collect();
        self.tree = RTree::bulk_load(entries);
    }
}

fn invalid_geojson(reason: impl Into<String>) -> Error {
    Error::InvalidGeoJson {
        reason: reason.into(),
    }
}

/// Even-odd ray casting over all rings, so holes are excluded.
fn contains(rings: &[Ring], p: LatLon) -> bool {
    let mut inside = false;
    for ring in rings {
        for edge in ring.windows(2) {
            let (a, b) = (edge[0], edge[1]);
            if (a.lat > p.lat) != (b.lat > p.lat)
                && p.lon < (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon
            {
                inside = !inside;
            }
        }
    }
    inside
}

/// Metres from the projection's origin to the nearest edge of any ring.
fn boundary_distance_m(jurisdiction: &Jurisdiction, projection: &LocalProjection) -> f64 {
    let mut nearest_sq = f64::INFINITY;
    for ring in jurisdiction.polygons.iter().flatten() {
        let mut vertices = ring.iter().map(|&v| projection.to_xy(v));
        let Some(mut previous) = vertices.next() else {
            continue;
        };
        for vertex in vertices {
            nearest_sq = nearest_sq.min(segment_distance_sq((0.0, 0.0), previous, vertex));
            previous = vertex;
        }
    }
    nearest_sq.sqrt()
}

/// A jurisdiction from a polygonal feature, `None` for other geometries;
/// `Err` says what is wrong (never echoing values from the file).
fn parse_feature(
    feature: &Value,
    datum: Datum,
) -> std::result::Result<Option<Jurisdiction>, String> {
    if feature.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err("not a Feature".into());
    }
    let Some(geometry) = feature.get("geometry").filter(|g| !g.is_null()) else {
        return Ok(None);
    };
    let coordinates = geometry.get("coordinates");
    let polygons = match geometry.get("type").and_then(Value::as_str) {
        Some("Polygon") => vec![parse_polygon(coordinates, datum)?],
        Some("MultiPolygon") => coordinates
            .and_then(Value::as_array)
            .ok_or("MultiPolygon coordinates are not an array")?
            .iter()
            .map(|polygon| parse_polygon(Some(polygon), datum))
            .collect::<std::result::Result<Vec<_>, _>>()?,
        _ => return Ok(None),
    };
    if polygons.is_empty() {
        return Err("MultiPolygon without polygons".into());
    }
    let empty = Map::new();
    let properties = feature
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let code = ["adcode", "code"]
        .iter()
        .find_map(|key| match properties.get(*key)? {
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            _ => None,
        })
        .ok_or("no adcode or code property (an integer or a string)")?;
    let name = properties
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let bbox = BoundingBox::of(polygons.iter().flatten().flatten()).ok_or("no coordinates")?;
    Ok(Some(Jurisdiction {
        code,
        name,
        polygons,
        bbox,
    }))
}

/// Rings of one polygon, validated as RFC 7946 requires (at least four
/// positions, closed) and converted to WGS-84.
fn parse_polygon(
    coordinates: Option<&Value>,
    datum: Datum,
) -> std::result::Result<Vec<Ring>, String> {
    let rings = coordinates
        .and_then(Value::as_array)
        .ok_or("polygon coordinates are not an array of rings")?;
    if rings.is_empty() {
        return Err("polygon without rings".into());
    }
    rings
        .iter()
        .map(|ring| {
            let positions = ring.as_array().ok_or("ring is not an array of positions")?;
            if positions.len() < 4 {
                return Err("ring with fewer than 4 positions".to_owned());
            }
            let vertices = positions
                .iter()
                .map(parse_position)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            if vertices.first() != vertices.last() {
                return Err("ring is not closed (first and last positions differ)".into());
            }
            Ok(vertices
                .into_iter()
                .map(|v| convert(v, datum, Datum::Wgs84))
                .collect())
        })
        .collect()
}

/// A `[lon, lat, …]` position in range (any altitude is ignored).
fn parse_position(position: &Value) -> std::result::Result<LatLon, String> {
    let numbers = position
        .as_array()
        .filter(|p| p.len() >= 2)
        .ok_or("position is not an array of at least 2 numbers")?;
    let (Some(lon), Some(lat)) = (numbers[0].as_f64(), numbers[1].as_f64()) else {
        return Err("position is not an array of at least 2 numbers".into());
    };
    if !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0) {
        return Err("position out of range".into());
    }
    Ok(LatLon { lat, lon })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A square of `half` degrees around (lat, lon), optionally with a
    /// square hole of `hole` degrees, as a GeoJSON Feature.
    fn square(code: &str, lat: f64, lon: f64, half: f64, hole: Option<f64>) -> Value {
        let ring = |h: f64| {
            serde_json::json!([
                [lon - h, lat - h],
                [lon + h, lat - h],
                [lon + h, lat + h],
                [lon - h, lat + h],
                [lon - h, lat - h]
            ])
        };
        let mut rings = vec![ring(half)];
        rings.extend(hole.map(ring));
        serde_json::json!({
            "type": "Feature",
            "properties": { "code": code, "name": format!("area {code}") },
            "geometry": { "type": "Polygon", "coordinates": rings }
        })
    }

    fn collection(features: Vec<Value>) -> Vec<u8> {
        serde_json::to_vec(
            &serde_json::json!({ "type": "FeatureCollection", "features": features }),
        )
        .unwrap()
    }

    fn ll(lat: f64, lon: f64) -> LatLon {
        LatLon { lat, lon }
    }

    #[test]
    fn holes_are_outside() {
        let mut index = JurisdictionIndex::new();
        let added = index
            .load_geojson(
                &collection(vec![square("A", 0.0, 0.0, 1.0, Some(0.5))]),
                Datum::Wgs84,
            )
            .unwrap();
        assert_eq!(added, 1);
        assert_eq!(index.locate(ll(0.0, 0.0)), None);
        let ring = index.locate(ll(0.75, 0.0)).unwrap();
        assert_eq!(ring.code, "A");
        // 0.25° of latitude from both the hole's and the outer edge.
        assert!(
            (ring.distance_m - 27_640.0).abs() < 20.0,
            "{}",
            ring.distance_m
        );
        let hole = index.placement("A", ll(0.0, 0.0)).unwrap();
        assert!(!hole.inside);
        assert!(
            (hole.distance_m - 55_300.0).abs() < 100.0,
            "{}",
            hole.distance_m
        );
    }

    #[test]
    fn overlap_goes_to_the_deepest_then_the_lowest_code() {
        let mut index = JurisdictionIndex::new();
        index
            .load_geojson(
                &collection(vec![
                    square("B", 0.0, 0.0, 1.0, None),
                    square("A", 0.0, 1.75, 1.0, None),
                ]),
                Datum::Wgs84,
            )
            .unwrap();
        // Overlap strip lon 0.75..1.0: deeper in B at 0.8, deeper in A at 0.95.
        assert_eq!(index.locate(ll(0.0, 0.8)).unwrap().code, "B");
        assert_eq!(index.locate(ll(0.0, 0.95)).unwrap().code, "A");
        // Exactly equidistant from both boundaries (binary-exact degrees):
        // the lowest code.
        assert_eq!(index.locate(ll(0.0, 0.875)).unwrap().code, "A");
        for lon in [0.8, 0.875, 0.95, -0.5, 2.5, 3.5] {
            let p = ll(0.3, lon);
            assert_eq!(index.locate(p), index.brute_force_locate(p), "{lon}");
            let code = index.locate(p).map(|l| l.code);
            assert_eq!(index.containing(p).map(|j| j.code.clone()), code, "{lon}");
        }
    }

    #[test]
    fn reloading_a_code_replaces_it() {
        let mut index = JurisdictionIndex::new();
        index
            .load_geojson(
                &collection(vec![square("A", 0.0, 0.0, 1.0, None)]),
                Datum::Wgs84,
            )
            .unwrap();
        index
            .load_geojson(
                &collection(vec![square("A", 10.0, 10.0, 1.0, None)]),
                Datum::Wgs84,
            )
            .unwrap();
        assert_eq!(index.len(), 1);
        assert_eq!(index.locate(ll(0.0, 0.0)), None);
        assert_eq!(index.locate(ll(10.0, 10.0)).unwrap().code, "A");
        assert_eq!(index.get("A").unwrap().bbox.min_lat, 9.0);
    }

    #[test]
    fn gcj02_boundaries_are_moved_to_wgs84() {
        let mut index = JurisdictionIndex::new();
        let feature = serde_json::to_vec(&square("430102", 28.2, 113.0, 0.01, None)).unwrap();
        index.load_geojson(&feature, Datum::Gcj02).unwrap();
        let j = index.get("430102").unwrap();
        let gcj_corner = ll(28.19, 112.99);
        let wgs_corner = convert(gcj_corner, Datum::Gcj02, Datum::Wgs84);
        assert_eq!(j.polygons[0][0][0], wgs_corner);
        assert_eq!(j.polygons[0][0][0], j.polygons[0][0][4]);
    }

    #[test]
    fn codes_from_adcode_numbers_and_strings() {
        let mut index = JurisdictionIndex::new();
        let mut a = square("x", 0.0, 0.0, 1.0, None);
        a["properties"] = serde_json::json!({ "adcode": 430102, "name": "芙蓉区" });
        let mut b = square("x", 5.0, 5.0, 1.0, None);
        b["properties"] = serde_json::json!({ "adcode": "431121" });
        let not_polygonal = serde_json::json!({
            "type": "Feature", "properties": {},
            "geometry": { "type": "Point", "coordinates": [1.0, 2.0] }
        });
        let unlocated =
            serde_json::json!({ "type": "Feature", "properties": {}, "geometry": null });
        let added = index
            .load_geojson(
                &collection(vec![a, b, not_polygonal, unlocated]),
                Datum::Wgs84,
            )
            .unwrap();
        assert_eq!(added, 2);
        assert_eq!(index.get("430102").unwrap().name, "芙蓉区");
        assert_eq!(index.get("431121").unwrap().name, "");
    }

    #[test]
    fn unknown_code_is_reported() {
        let err = JurisdictionIndex::new()
            .placement("430102", ll(28.2, 113.0))
            .unwrap_err();
        assert_eq!(err.code(), "unknown_jurisdiction");
    }

    #[test]
    fn errors_load_nothing() {
        let mut index = JurisdictionIndex::new();
        let mut bad = square("B", 0.0, 0.0, 1.0, None);
        bad["properties"] = serde_json::json!({ "name": "no code" });
        let err = index
            .load_geojson(
                &collection(vec![square("A", 5.0, 5.0, 1.0, None), bad]),
                Datum::Wgs84,
            )
            .unwrap_err();
        assert_eq!(err.code(), "invalid_geojson");
        assert!(err.to_string().contains("feature 1"), "{err}");
        assert!(index.is_empty());
        assert_eq!(index.locate(ll(5.0, 5.0)), None);
    }
}
