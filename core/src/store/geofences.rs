//! Jurisdiction boundaries on the device: loading, lookups, and where an
//! inspection's site or a capture's fix lies relative to its jurisdiction.

use super::{boundaries, inspections, lock, Store};
use crate::error::{Error, Result};
use crate::geo::datum::{Datum, LatLon};
use crate::geo::jurisdiction::{JurisdictionIndex, Placement};
use crate::geo::point::GeoPoint;
use crate::model::inspection::{CheckedDraft, SiteJurisdiction};
use crate::time::now_ms;
use rusqlite::Connection;
use std::sync::Arc;

impl Store {
    /// Stores jurisdiction polygons (a GeoJSON FeatureCollection in `datum`, e.g.
    /// the bureau's GCJ-02 DataV exports); returns how many it holds. A later load
    /// of the same code replaces the polygon.
    pub fn load_boundaries(&self, geojson: &[u8], datum: Datum) -> Result<u32> {
        let mut check = JurisdictionIndex::new();
        let count = check.load_geojson(geojson, datum)?;
        if count == 0 {
            // Storing a file that adds no polygon would hide a wrong upload.
            return Err(Error::InvalidGeoJson {
                reason: "no Polygon or MultiPolygon feature".into(),
            });
        }
        let text = std::str::from_utf8(geojson).map_err(|_| Error::InvalidGeoJson {
            reason: "not UTF-8".into(),
        })?;
        self.write(|tx| boundaries::insert_source(tx, text, datum, now_ms()))?;
        *lock(&self.jurisdictions) = None;
        Ok(count as u32)
    }

    /// The loaded jurisdiction containing a point, if any.
    pub fn locate(&self, point: GeoPoint) -> Result<Option<Placement>> {
        let p = point.to_wgs84()?;
        Ok(self.read(|conn| self.jurisdictions(conn))?.locate(p))
    }

    /// Where a point lies relative to one jurisdiction: inside or not, and how far
    /// from its boundary.
    pub fn placement(&self, jurisdiction_code: &str, point: GeoPoint) -> Result<Placement> {
        let p = point.to_wgs84()?;
        self.read(|conn| self.jurisdictions(conn))?
            .placement(jurisdiction_code, p)
    }

    fn jurisdictions(&self, conn: &Connection) -> Result<Arc<JurisdictionIndex>> {
        if let Some(index) = lock(&self.jurisdictions).as_ref() {
            return Ok(index.clone());
        }
        let index = Arc::new(boundaries::build_index(conn)?);
        *lock(&self.jurisdictions) = Some(index.clone());
        Ok(index)
    }

    /// Records where a site lies relative to its jurisdiction.
    pub(super) fn place_site(
        &self,
        conn: &Connection,
        id: &str,
        draft: &CheckedDraft,
    ) -> Result<()> {
        let township = &draft.fields.township_code;
        let site = self.placement_for(conn, township, &draft.county_code, draft.wgs84)?;
        inspections::set_site_jurisdiction(conn, id, site.as_ref())
    }

    /// Where a point lies relative to the most specific loaded jurisdiction: the
    /// township's polygon, else the county's; `None` when neither is loaded.
    pub(super) fn placement_for(
        &self,
        conn: &Connection,
        township: &str,
        county: &str,
        point: LatLon,
    ) -> Result<Option<SiteJurisdiction>> {
        let index = self.jurisdictions(conn)?;
        let Some(code) = [township, county]
            .into_iter()
            .find(|code| index.get(code).is_some())
        else {
            return Ok(None);
        };
        let placement = index.placement(code, point)?;
        Ok(Some(SiteJurisdiction {
            code: placement.code,
            inside: placement.inside,
            boundary_distance_m: placement.distance_m,
        }))
    }
}
