//! The bureau's territory as an import sees it, loaded once per import from
//! reference data: the jurisdiction a detection lies in (the most specific
//! level loaded: township, else county, else above), the static heat source
//! it lies near, and the key zone it lies in.

use crate::cases::fire_reference::{self, KeyZone};
use crate::cases::reference_data;
use crate::error::{Error, Result};
use crate::storage::Tx;
use fieldproof_core::geo::datum::{Datum, LatLon};
use fieldproof_core::geo::geodesy::distance_m;
use fieldproof_core::geo::jurisdiction::JurisdictionIndex;
use fieldproof_core::wire::fires::StaticSource;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Metres per degree of latitude (WGS-84, mean): enough to bound a search.
const METRES_PER_DEGREE: f64 = 111_000.0;

pub struct Territory {
    /// Boundaries by level, most specific (longest code) first.
    levels: Vec<JurisdictionIndex>,
    /// Static heat sources by latitude, and the widest radius in degrees.
    statics: Vec<StaticSource>,
    widest_static_deg: f64,
    zones: JurisdictionIndex,
    zone_info: HashMap<String, KeyZone>,
}

impl Territory {
    pub fn load(tx: &mut Tx) -> Result<Territory> {
        let mut by_level: BTreeMap<std::cmp::Reverse<usize>, Vec<Value>> = BTreeMap::new();
        for boundary in reference_data::boundaries(tx)? {
            by_level
                .entry(std::cmp::Reverse(boundary.code.len()))
                .or_default()
                .push(boundary.geojson);
        }
        let levels = by_level
            .into_values()
            .map(index_of)
            .collect::<Result<Vec<_>>>()?;
        let mut statics = fire_reference::static_sources(tx)?;
        statics.sort_by(|a, b| a.lat.total_cmp(&b.lat));
        let widest_static_deg = statics
            .iter()
            .map(|s| s.radius_m / METRES_PER_DEGREE)
            .fold(0.0, f64::max);
        let zone_list = fire_reference::key_zones(tx)?;
        let zones = index_of(zone_list.iter().map(|z| z.geojson.clone()).collect())?;
        let zone_info = zone_list.into_iter().map(|z| (z.id.clone(), z)).collect();
        Ok(Territory {
            levels,
            statics,
            widest_static_deg,
            zones,
            zone_info,
        })
    }

    /// The code of the most specific loaded jurisdiction `p` (WGS-84) lies in.
    pub fn place(&self, p: LatLon) -> Option<String> {
        self.levels
            .iter()
            .find_map(|level| level.containing(p))
            .map(|jurisdiction| jurisdiction.code.clone())
    }

    /// The static heat source `p` lies within the radius of, if any.
    pub fn static_source(&self, p: LatLon) -> Option<&StaticSource> {
        let low = p.lat - self.widest_static_deg;
        let start = self.statics.partition_point(|s| s.lat < low);
        self.statics[start..]
            .iter()
            .take_while(|s| s.lat <= p.lat + self.widest_static_deg)
            .find(|s| {
                distance_m(
                    p,
                    LatLon {
                        lat: s.lat,
                        lon: s.lon,
                    },
                ) <= s.radius_m
            })
    }

    /// The key zone with id `id`.
    pub fn zone(&self, id: &str) -> Option<&KeyZone> {
        self.zone_info.get(id)
    }

    /// The key zone `p` lies in at `time_ms` (its ban period), if any.
    pub fn key_zone(&self, p: LatLon, time_ms: i64) -> Option<&KeyZone> {
        let zone = self.zone_info.get(&self.zones.containing(p)?.code)?;
        zone.applies_at(time_ms).then_some(zone)
    }
}

/// An index over WGS-84 features (as reference data stores them).
fn index_of(features: Vec<Value>) -> Result<JurisdictionIndex> {
    let mut index = JurisdictionIndex::new();
    if features.is_empty() {
        return Ok(index);
    }
    let collection = json!({ "type": "FeatureCollection", "features": features });
    index
        .load_geojson(collection.to_string().as_bytes(), Datum::Wgs84)
        .map_err(|_| Error::Storage {
            reason: "stored boundaries or key zones are not readable".into(),
        })?;
    Ok(index)
}
