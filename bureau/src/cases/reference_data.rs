//! Reference data the bureau publishes to devices: jurisdiction boundaries (for
//! geofences) and checklist templates (what an inspection asks).
//!
//! Both are validated with the core's own readers — the code every device runs —
//! before anything is stored, so a device is never sent data it would refuse.
//! Both are stored in `reference_data` (kind, key, body) and announced in the
//! change feed in the same transaction. Loading the same data again changes
//! nothing and announces nothing.

use super::text_field;
use crate::enrollment::check_jurisdiction;
use crate::error::{Error, Result};
use crate::storage::Tx;
use crate::sync::feed::{self, Audience};
use crate::{now_ms, params};
use fieldproof_core::geo::datum::{Datum, LatLon};
use fieldproof_core::geo::jurisdiction::{Jurisdiction, JurisdictionIndex};
use fieldproof_core::model::checklist::ChecklistTemplate;
use fieldproof_core::wire::pull::ChangeKind;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use fieldproof_core::wire::admin::{
    BoundaryLoad, BoundarySummary, ChecklistMatter, ChecklistPublication, PublishedChecklist,
    StoredBoundary,
};

const BOUNDARY: &str = "boundary";
const CHECKLIST: &str = "checklist";

// --- boundaries ---

/// One jurisdiction's boundary, converted to WGS-84: what is stored and what a
/// device receives (feed kind `boundaries`). `geojson` is a Feature that the
/// core's `load_boundaries(geojson, datum)` reads as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Boundary {
    pub code: String,
    pub name: String,
    /// Always `wgs84`: converted at load.
    pub datum: Datum,
    pub geojson: Value,
}

/// Reads a GeoJSON FeatureCollection (or Feature) of Polygon/MultiPolygon
/// features coded by `adcode` or `code`, in `datum`, with the core's loader, and
/// converts each to WGS-84. Blocking CPU work: call it before opening the
/// transaction. Refuses (`invalid_geojson`) anything the loader refuses, a
/// collection without a polygon, and codes that are not division codes.
pub fn parse_boundaries(bytes: &[u8], datum: Datum) -> Result<Vec<Boundary>> {
    let mut index = JurisdictionIndex::new();
    index.load_geojson(bytes, datum).map_err(|e| match e {
        fieldproof_core::Error::InvalidGeoJson { reason } => Error::InvalidGeoJson { reason },
        other => Error::InvalidGeoJson {
            reason: other.to_string(),
        },
    })?;
    if index.is_empty() {
        return Err(Error::InvalidGeoJson {
            reason: "no Polygon or MultiPolygon feature".into(),
        });
    }
    index
        .iter()
        .map(|j| {
            check_jurisdiction(&j.code).map_err(|_| Error::InvalidGeoJson {
                reason: "a feature's adcode/code is not a division code of 2 to 12 digits".into(),
            })?;
            Ok(Boundary {
                code: j.code.clone(),
                name: j.name.clone(),
                datum: Datum::Wgs84,
                geojson: feature(j),
            })
        })
        .collect()
}

/// Stores boundaries, each announced to its own jurisdiction (which reaches the
/// devices within it and those above it). Unchanged ones are left alone.
pub fn store_boundaries(
    tx: &mut Tx,
    datum: Datum,
    boundaries: &[Boundary],
) -> Result<BoundaryLoad> {
    let now = now_ms();
    let mut load = BoundaryLoad {
        datum,
        loaded: 0,
        unchanged: 0,
        jurisdictions: Vec::with_capacity(boundaries.len()),
    };
    for boundary in boundaries {
        let body = serde_json::to_string(boundary).expect("boundaries serialise");
        if put(tx, BOUNDARY, &boundary.code, &body, now)? {
            feed::append(
                tx,
                Audience::Jurisdiction(&boundary.code),
                ChangeKind::Boundaries,
                boundary,
            )?;
            load.loaded += 1;
        } else {
            load.unchanged += 1;
        }
        load.jurisdictions.push(BoundarySummary {
            code: boundary.code.clone(),
            name: boundary.name.clone(),
        });
    }
    Ok(load)
}

/// Every stored boundary, by code.
pub fn list_boundaries(tx: &mut Tx) -> Result<Vec<StoredBoundary>> {
    #[derive(Deserialize)]
    struct Named {
        name: String,
    }
    tx.query(
        "SELECT key, body, loaded_ms FROM reference_data WHERE kind = $1 ORDER BY key",
        params![BOUNDARY],
    )?
    .iter()
    .map(|row| {
        let named: Named = serde_json::from_str(&row.text(1)?).map_err(|_| unreadable())?;
        Ok(StoredBoundary {
            code: row.text(0)?,
            name: named.name,
            loaded_ms: row.int(2)?,
        })
    })
    .collect()
}

/// Every stored boundary in one index (WGS-84), for drawing and placing points.
pub fn boundary_index(tx: &mut Tx) -> Result<JurisdictionIndex> {
    let mut index = JurisdictionIndex::new();
    for boundary in boundaries(tx)? {
        let bytes = serde_json::to_vec(&boundary.geojson).map_err(|_| unreadable())?;
        index
            .load_geojson(&bytes, Datum::Wgs84)
            .map_err(|_| unreadable())?;
    }
    Ok(index)
}

/// The checklist an inspection was recorded with, for its labels: the version
/// the bureau published, else the app's built-in one of that id (the same
/// version, or failing that the newest the bureau knows, whose items keep
/// their labels across versions).
pub fn checklist_used(tx: &mut Tx, id: &str, version: u32) -> Result<Option<ChecklistTemplate>> {
    if let Some(published) = checklist(tx, id, version)? {
        return Ok(Some(published.template));
    }
    Ok(fieldproof_core::model::checklist::defaults::template_for(id).filter(|t| t.id == id))
}

/// Every stored boundary, as devices receive it.
pub fn boundaries(tx: &mut Tx) -> Result<Vec<Boundary>> {
    tx.query(
        "SELECT body FROM reference_data WHERE kind = $1 ORDER BY key",
        params![BOUNDARY],
    )?
    .iter()
    .map(|row| serde_json::from_str(&row.text(0)?).map_err(|_| unreadable()))
    .collect()
}

/// A jurisdiction as a GeoJSON MultiPolygon Feature, WGS-84, 7 decimals (about
/// 1 cm, finer than any boundary survey; keeps the feed small).
pub(super) fn feature(j: &Jurisdiction) -> Value {
    let position = |p: &LatLon| json!([round7(p.lon), round7(p.lat)]);
    let polygons: Vec<Value> = j
        .polygons
        .iter()
        .map(|rings| {
            rings
                .iter()
                .map(|ring| ring.iter().map(position).collect::<Vec<_>>())
                .collect()
        })
        .collect();
    json!({
        "type": "Feature",
        "properties": { "adcode": j.code, "name": j.name },
        "geometry": { "type": "MultiPolygon", "coordinates": polygons },
    })
}

fn round7(degrees: f64) -> f64 {
    (degrees * 1e7).round() / 1e7
}

// --- checklists ---

const MAX_TEMPLATE_ID_CHARS: usize = 100;
const MAX_TITLE_CHARS: usize = 200;
const MAX_MATTER_NAME_CHARS: usize = 100;

/// Checks a publication: the template with the core's rules (what a device
/// checks before storing it) plus the bureau's limits, the matter's code and the
/// jurisdiction.
pub fn check_checklist(publication: &ChecklistPublication) -> Result<()> {
    let template = &publication.template;
    let invalid = |reason: String| Err(Error::InvalidTemplate { reason });
    if template.id.chars().count() > MAX_TEMPLATE_ID_CHARS || template.id.trim() != template.id {
        return invalid(format!(
            "the template id must be at most {MAX_TEMPLATE_ID_CHARS} characters, without surrounding spaces"
        ));
    }
    if template.version == 0 {
        return invalid("versions start at 1".into());
    }
    if text_field(&template.title, "title", MAX_TITLE_CHARS)?.is_empty() {
        return invalid("the template needs a title".into());
    }
    template.check().map_err(|e| match e {
        fieldproof_core::Error::InvalidTemplate { reason } => Error::InvalidTemplate { reason },
        other => Error::InvalidTemplate {
            reason: other.to_string(),
        },
    })?;
    if let Some(matter) = &publication.matter {
        if !fieldproof_core::model::matter::Matter::is_valid_code(&matter.code) {
            return Err(Error::InvalidRequest {
                reason: "matter.code must be 1 to 64 lowercase letters, digits and underscores"
                    .into(),
            });
        }
        if text_field(&matter.name, "matter.name", MAX_MATTER_NAME_CHARS)?.is_empty() {
            return Err(Error::InvalidRequest {
                reason: "matter.name must not be empty".into(),
            });
        }
    }
    if let Some(code) = &publication.jurisdiction {
        check_jurisdiction(code)?;
    }
    Ok(())
}

/// Publishes a checklist version (feed kind `checklist`). A version is never
/// changed once published: the same template again is accepted and changes
/// nothing (or re-announces it if only its matter or audience changed); other
/// content under a published id and version is `checklist_version_published`.
pub fn publish_checklist(
    tx: &mut Tx,
    publication: &ChecklistPublication,
) -> Result<PublishedChecklist> {
    check_checklist(publication)?;
    let template = &publication.template;
    let key = checklist_key(&template.id, template.version);
    if let Some(stored) = checklist(tx, &template.id, template.version)? {
        if stored.template != *template {
            return Err(Error::ChecklistVersionPublished);
        }
    }
    let body = serde_json::to_string(publication).expect("checklists serialise");
    let now = now_ms();
    let changed = put(tx, CHECKLIST, &key, &body, now)?;
    if changed {
        let audience = match &publication.jurisdiction {
            Some(code) => Audience::Jurisdiction(code),
            None => Audience::Everyone,
        };
        feed::append(tx, audience, ChangeKind::Checklist, publication)?;
    }
    let loaded_ms = tx
        .query_one(
            "SELECT loaded_ms FROM reference_data WHERE kind = $1 AND key = $2",
            params![CHECKLIST, &key],
        )?
        .int(0)?;
    Ok(summary(publication, loaded_ms, !changed))
}

fn checklist_key(id: &str, version: u32) -> String {
    format!("{id}@{version}")
}

/// The published checklist `id` at `version`, if the bureau published it.
pub fn checklist(tx: &mut Tx, id: &str, version: u32) -> Result<Option<ChecklistPublication>> {
    tx.query_opt(
        "SELECT body FROM reference_data WHERE kind = $1 AND key = $2",
        params![CHECKLIST, &checklist_key(id, version)],
    )?
    .map(|row| serde_json::from_str(&row.text(0)?).map_err(|_| unreadable()))
    .transpose()
}

/// Every published checklist version, by id and version.
pub fn list_checklists(tx: &mut Tx) -> Result<Vec<PublishedChecklist>> {
    let mut list = tx
        .query(
            "SELECT body, loaded_ms FROM reference_data WHERE kind = $1",
            params![CHECKLIST],
        )?
        .iter()
        .map(|row| {
            let publication: ChecklistPublication =
                serde_json::from_str(&row.text(0)?).map_err(|_| unreadable())?;
            Ok(summary(&publication, row.int(1)?, true))
        })
        .collect::<Result<Vec<_>>>()?;
    list.sort_by(|a, b| (&a.id, a.version).cmp(&(&b.id, b.version)));
    Ok(list)
}

fn summary(
    publication: &ChecklistPublication,
    loaded_ms: i64,
    unchanged: bool,
) -> PublishedChecklist {
    PublishedChecklist {
        id: publication.template.id.clone(),
        version: publication.template.version,
        title: publication.template.title.clone(),
        items: publication.template.items.len(),
        matter: publication.matter.clone(),
        jurisdiction: publication.jurisdiction.clone(),
        loaded_ms,
        unchanged,
    }
}

// --- storage ---

/// Inserts or replaces one item; false when it was stored exactly so already.
pub(super) fn put(tx: &mut Tx, kind: &str, key: &str, body: &str, now: i64) -> Result<bool> {
    let stored = tx.query_opt(
        "SELECT body FROM reference_data WHERE kind = $1 AND key = $2",
        params![kind, key],
    )?;
    match stored {
        Some(row) if row.text(0)? == body => Ok(false),
        Some(_) => {
            tx.execute(
                "UPDATE reference_data SET body = $1, loaded_ms = $2 WHERE kind = $3 AND key = $4",
                params![body, now, kind, key],
            )?;
            Ok(true)
        }
        None => {
            tx.execute(
                "INSERT INTO reference_data (kind, key, body, loaded_ms) VALUES ($1, $2, $3, $4)",
                params![kind, key, body, now],
            )?;
            Ok(true)
        }
    }
}

pub(super) fn unreadable() -> Error {
    Error::Storage {
        reason: "stored reference data is not readable".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
        "properties":{"adcode":430121,"name":"长沙县"},
        "geometry":{"type":"Polygon","coordinates":[[[113.0,28.0],[113.2,28.0],[113.2,28.2],[113.0,28.2],[113.0,28.0]]]}}]}"#;

    #[test]
    fn boundaries_are_converted_to_wgs84_features_the_core_reads_back() {
        let boundaries = parse_boundaries(SQUARE.as_bytes(), Datum::Gcj02).unwrap();
        assert_eq!(boundaries.len(), 1);
        let b = &boundaries[0];
        assert_eq!(
            (b.code.as_str(), b.name.as_str(), b.datum),
            ("430121", "长沙县", Datum::Wgs84)
        );
        let mut index = JurisdictionIndex::new();
        let bytes = serde_json::to_vec(&b.geojson).unwrap();
        assert_eq!(index.load_geojson(&bytes, Datum::Wgs84).unwrap(), 1);
        let j = index.get("430121").unwrap();
        // The GCJ-02 corner (28.0, 113.0) moved by the datum offset, not left as is.
        let corner = j.polygons[0][0][0];
        assert!((corner.lat - 28.0).abs() > 1e-3 && (corner.lat - 28.0).abs() < 1e-2);
    }

    #[test]
    fn bad_geojson_is_refused() {
        for bad in [
            "not json",
            r#"{"type":"Point","coordinates":[1,2]}"#,
            r#"{"type":"FeatureCollection","features":[]}"#,
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":"x1"},
               "geometry":{"type":"Polygon","coordinates":[[[1,1],[2,1],[2,2],[1,1]]]}}]}"#,
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":1},
               "geometry":{"type":"Polygon","coordinates":[[[1,1],[2,1],[2,2]]]}}]}"#,
        ] {
            let err = parse_boundaries(bad.as_bytes(), Datum::Wgs84).unwrap_err();
            assert_eq!(err.code(), "invalid_geojson", "{bad}");
        }
    }

    #[test]
    fn checklists_are_checked_with_the_core_rules() {
        let template =
            fieldproof_core::model::checklist::defaults::template_for("straw_burning").unwrap();
        let ok = ChecklistPublication {
            template: template.clone(),
            matter: Some(ChecklistMatter {
                code: "straw_burning".into(),
                name: "露天焚烧秸秆".into(),
            }),
            jurisdiction: None,
        };
        check_checklist(&ok).unwrap();
        let mut empty = ok.clone();
        empty.template.items.clear();
        assert_eq!(
            check_checklist(&empty).unwrap_err().code(),
            "invalid_template"
        );
        let mut zero = ok.clone();
        zero.template.version = 0;
        assert_eq!(
            check_checklist(&zero).unwrap_err().code(),
            "invalid_template"
        );
        let mut matter = ok.clone();
        matter.matter.as_mut().unwrap().code = "Straw Burning".into();
        assert_eq!(
            check_checklist(&matter).unwrap_err().code(),
            "invalid_request"
        );
        let mut place = ok;
        place.jurisdiction = Some("43x".into());
        assert_eq!(
            check_checklist(&place).unwrap_err().code(),
            "invalid_request"
        );
    }
}
