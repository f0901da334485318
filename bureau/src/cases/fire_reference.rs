//! Reference data for satellite fire points, loaded like boundaries (in any
//! datum, stored in WGS-84 in `reference_data`, loading the same again
//! changes nothing):
//!
//! - static heat sources: power plants, kilns, steel works — points with a
//!   radius; a detection within one is filtered as `static_source`;
//! - key zones: a county's ban zones around towns, expressways and railways,
//!   as polygons, each with its ban period and a shorter due time for the
//!   task of a fire found in it.

use super::reference_data::{feature, put, unreadable};
use super::text_field;
use crate::error::{Error, Result};
use crate::now_ms;
use crate::params;
use crate::storage::Tx;
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::jurisdiction::JurisdictionIndex;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::wire::fires::{ReferenceLoad, StaticSource, StaticSourceList};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const STATIC_SOURCE: &str = "static_source";
const KEY_ZONE: &str = "key_zone";
const MAX_ID_CHARS: usize = 100;
const MAX_NAME_CHARS: usize = 200;
/// The largest radius a static source may claim: a steel works' site.
pub const MAX_STATIC_RADIUS_M: f64 = 20_000.0;

/// Checks static sources and converts them to WGS-84 (CPU only: before the
/// transaction).
pub fn parse_static_sources(list: &StaticSourceList, datum: Datum) -> Result<Vec<StaticSource>> {
    if list.sources.is_empty() {
        return Err(Error::InvalidRequest {
            reason: "no static sources in the list".into(),
        });
    }
    list.sources
        .iter()
        .map(|source| {
            let id = checked_id(&source.id)?;
            let name = text_field(&source.name, "name", MAX_NAME_CHARS)?;
            if !(source.radius_m.is_finite()
                && (1.0..=MAX_STATIC_RADIUS_M).contains(&source.radius_m))
            {
                return Err(Error::InvalidRequest {
                    reason: format!("radius_m must be 1 to {MAX_STATIC_RADIUS_M} metres"),
                });
            }
            let wgs84 = GeoPoint {
                lat: source.lat,
                lon: source.lon,
                datum,
            }
            .to_wgs84()
            .map_err(|_| Error::InvalidCoordinate { field: "lat/lon" })?;
            Ok(StaticSource {
                id,
                name,
                lat: wgs84.lat,
                lon: wgs84.lon,
                radius_m: source.radius_m,
            })
        })
        .collect()
}

pub fn store_static_sources(tx: &mut Tx, sources: &[StaticSource]) -> Result<ReferenceLoad> {
    store_all(
        tx,
        STATIC_SOURCE,
        sources.iter().map(|s| (s.id.as_str(), json!(s))),
    )
}

pub fn static_sources(tx: &mut Tx) -> Result<Vec<StaticSource>> {
    load_all(tx, STATIC_SOURCE)
}

/// A key zone as stored: its polygon (a GeoJSON Feature, WGS-84, coded by
/// the zone's id) and what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyZone {
    pub id: String,
    pub name: String,
    /// A fire task in the zone is due this many hours after the first
    /// detection, when that is sooner than the usual due time.
    pub due_h: Option<u64>,
    /// The ban period (UTC ms); without it the zone always applies.
    pub active_from_ms: Option<i64>,
    pub active_until_ms: Option<i64>,
    pub geojson: Value,
}

impl KeyZone {
    pub fn applies_at(&self, time_ms: i64) -> bool {
        self.active_from_ms.is_none_or(|from| time_ms >= from)
            && self.active_until_ms.is_none_or(|until| time_ms < until)
    }
}

/// Reads a GeoJSON FeatureCollection of polygon features, each with the
/// properties `code` (the zone's id), `name`, and optionally `due_hours`,
/// `active_from_ms` and `active_until_ms`, in `datum`.
pub fn parse_key_zones(bytes: &[u8], datum: Datum) -> Result<Vec<KeyZone>> {
    let document: Value = serde_json::from_slice(bytes).map_err(|e| Error::InvalidGeoJson {
        reason: format!("not JSON (line {} column {})", e.line(), e.column()),
    })?;
    let features = match document["type"].as_str() {
        Some("FeatureCollection") => document["features"].as_array().cloned().unwrap_or_default(),
        Some("Feature") => vec![document.clone()],
        _ => Vec::new(),
    };
    if features.is_empty() {
        return Err(Error::InvalidGeoJson {
            reason: "no key zone features".into(),
        });
    }
    features
        .iter()
        .enumerate()
        .map(|(i, feature)| key_zone(i, feature, datum))
        .collect()
}

fn key_zone(i: usize, feature: &Value, datum: Datum) -> Result<KeyZone> {
    let invalid = |reason: &str| Error::InvalidGeoJson {
        reason: format!("feature {i}: {reason}"),
    };
    let properties = &feature["properties"];
    let id = properties["code"]
        .as_str()
        .ok_or_else(|| invalid("no code property (the zone's id, a string)"))?;
    let id = checked_id(id)?;
    let name = text_field(
        properties["name"].as_str().unwrap_or_default(),
        "name",
        MAX_NAME_CHARS,
    )?;
    let number = |key: &str| -> Result<Option<i64>> {
        match &properties[key] {
            Value::Null => Ok(None),
            v => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| invalid(&format!("{key} must be an integer"))),
        }
    };
    let due_h = match number("due_hours")? {
        None => None,
        Some(h) if (1..=24 * 30).contains(&h) => Some(h as u64),
        Some(_) => return Err(invalid("due_hours must be 1 to 720")),
    };
    let (from, until) = (number("active_from_ms")?, number("active_until_ms")?);
    if let (Some(from), Some(until)) = (from, until) {
        if until <= from {
            return Err(invalid("active_until_ms must be after active_from_ms"));
        }
    }
    let mut index = JurisdictionIndex::new();
    index
        .load_geojson(feature.to_string().as_bytes(), datum)
        .map_err(|e| invalid(&e.to_string()))?;
    let polygon = index
        .get(&id)
        .ok_or_else(|| invalid("not a Polygon or MultiPolygon"))?;
    Ok(KeyZone {
        geojson: feature_of(polygon, &name),
        id,
        name,
        due_h,
        active_from_ms: from,
        active_until_ms: until,
    })
}

/// The zone's polygon as reference data stores boundaries.
fn feature_of(polygon: &fieldproof_core::geo::jurisdiction::Jurisdiction, name: &str) -> Value {
    let mut feature = feature(polygon);
    feature["properties"] = json!({ "code": polygon.code, "name": name });
    feature
}

pub fn store_key_zones(tx: &mut Tx, zones: &[KeyZone]) -> Result<ReferenceLoad> {
    store_all(
        tx,
        KEY_ZONE,
        zones.iter().map(|z| (z.id.as_str(), json!(z))),
    )
}

pub fn key_zones(tx: &mut Tx) -> Result<Vec<KeyZone>> {
    load_all(tx, KEY_ZONE)
}

fn checked_id(id: &str) -> Result<String> {
    let id = text_field(id, "id", MAX_ID_CHARS)?;
    if id.is_empty() || id.chars().any(char::is_control) {
        return Err(Error::InvalidRequest {
            reason: "an id must be 1 to 100 printable characters".into(),
        });
    }
    Ok(id)
}

fn store_all<'a>(
    tx: &mut Tx,
    kind: &str,
    items: impl Iterator<Item = (&'a str, Value)>,
) -> Result<ReferenceLoad> {
    let now = now_ms();
    let mut load = ReferenceLoad {
        loaded: 0,
        unchanged: 0,
    };
    for (key, body) in items {
        match put(tx, kind, key, &body.to_string(), now)? {
            true => load.loaded += 1,
            false => load.unchanged += 1,
        }
    }
    Ok(load)
}

fn load_all<T: serde::de::DeserializeOwned>(tx: &mut Tx, kind: &str) -> Result<Vec<T>> {
    tx.query(
        "SELECT body FROM reference_data WHERE kind = $1 ORDER BY key",
        params![kind],
    )?
    .iter()
    .map(|row| serde_json::from_str(&row.text(0)?).map_err(|_| unreadable()))
    .collect()
}
