//! The device database: one SQLite file, one writer connection, a pool of readers.
//! Every write is one immediate transaction; a failed write leaves nothing behind.

mod boundaries;
mod capture;
mod connection;
mod evidence;
mod inspections;
pub mod media;
pub mod outbox;
pub mod reference;
mod schema;
mod tracks;

pub use capture::{EvidenceFailure, EvidenceReport, PhotoSource, PreviewReport};
pub use media::MediaScan;
pub use outbox::OutboxOp;
pub use reference::Matter;
pub use schema::VERSION as SCHEMA_VERSION;

use crate::error::{Error, Result};
use crate::geo::datum::{Datum, LatLon};
use crate::geo::fix::Fix;
use crate::geo::gpx::{self, GpxPoint};
use crate::geo::jurisdiction::{JurisdictionIndex, Placement};
use crate::geo::point::GeoPoint;
use crate::geo::recorder::TrackFilter;
use crate::geo::{geojson, simplify};
use crate::model::checklist::{Answer, ChecklistTemplate};
use crate::model::id::{new_id, parse_id};
use crate::model::inspection::{
    CheckedDraft, DraftFields, Inspection, InspectionFilter, InspectionPage, SiteJurisdiction,
    Status,
};
use crate::model::time::now_ms;
use crate::model::track::{FixOutcome, SealedSegment, Track, TrackPoint, TrackStats};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The most rows one list call returns.
pub const MAX_PAGE_SIZE: u32 = 500;

#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Cap on the database size; writes past it fail with `storage_full` and change
    /// nothing. Keeps a runaway device from filling the phone.
    pub max_size_bytes: Option<u64>,
}

pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Template versions are immutable, so caching them can never serve stale data.
    templates: Mutex<HashMap<(String, u32), Arc<ChecklistTemplate>>>,
    /// Built from `boundary_sources` on first use; dropped when boundaries change.
    jurisdictions: Mutex<Option<Arc<JurisdictionIndex>>>,
    /// Loaded on the first evidence record, unless the platform supplied one.
    signer: Mutex<Option<capture::DeviceSigner>>,
}

/// A panic elsewhere cannot leave a connection mid-transaction (rusqlite rolls back
/// on drop), so a poisoned lock still guards a usable connection.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Store {
    /// Opens the database at `path`, creating it if absent and upgrading an older
    /// schema. Refuses files that are not ours, damaged, or from a newer app.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, &OpenOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let mut conn = connection::open_writer(&path)?;
        schema::check_version(&conn)?;
        connection::configure_writer(&conn, options.max_size_bytes)?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            path,
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            templates: Mutex::new(HashMap::new()),
            jurisdictions: Mutex::new(None),
            signer: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write<T>(&self, work: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = lock(&self.readers).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => connection::open_reader(&self.path)?,
        };
        let value = work(&conn);
        lock(&self.readers).push(conn);
        value
    }

    fn template(
        &self,
        conn: &Connection,
        id: &str,
        version: u32,
    ) -> Result<Arc<ChecklistTemplate>> {
        let key = (id.to_owned(), version);
        if let Some(found) = lock(&self.templates).get(&key) {
            return Ok(found.clone());
        }
        let template = Arc::new(reference::template(conn, id, version)?);
        lock(&self.templates).insert(key, template.clone());
        Ok(template)
    }

    // --- reference data ---

    pub fn list_matters(&self) -> Result<Vec<Matter>> {
        self.read(reference::list_matters)
    }

    /// The checklist a new inspection for `matter` is recorded against.
    pub fn checklist_for_matter(&self, matter: &str) -> Result<ChecklistTemplate> {
        self.read(|conn| reference::current_template_for(conn, matter))
    }

    /// A given template version: what an existing inspection is recorded against.
    pub fn checklist_for_version(&self, id: &str, version: u32) -> Result<ChecklistTemplate> {
        self.read(|conn| Ok(self.template(conn, id, version)?.as_ref().clone()))
    }

    pub fn put_checklist_template(&self, template: &ChecklistTemplate) -> Result<()> {
        self.write(|tx| reference::put_template(tx, template))
    }

    pub fn put_matter(&self, matter: &Matter) -> Result<()> {
        self.write(|tx| reference::put_matter(tx, matter))
    }

    // --- inspections ---

    /// Records a new draft, with any answers already given, in one transaction.
    pub fn create_draft(
        &self,
        matter: &str,
        fields: DraftFields,
        answers: &[Answer],
    ) -> Result<Inspection> {
        let draft = fields.check()?;
        self.write(|tx| {
            let template = reference::current_template_for(tx, matter)?;
            for answer in answers {
                template.check_answer(answer)?;
            }
            let id = new_id();
            let row = inspections::NewRow {
                id: &id,
                matter,
                checklist_id: &template.id,
                checklist_version: template.version,
                amends_id: None,
                revision: 0,
            };
            inspections::insert(tx, &row, &draft, now_ms())?;
            inspections::upsert_answers(tx, &id, answers)?;
            self.place_site(tx, &id, &draft)?;
            self.load(tx, &id)
        })
    }

    /// Replaces the editable fields of a draft.
    pub fn update_draft(&self, id: &str, fields: DraftFields) -> Result<Inspection> {
        let id = parse_id(id, "inspection id")?;
        let draft = fields.check()?;
        self.write(|tx| {
            editable(tx, &id)?;
            inspections::update_fields(tx, &id, &draft, now_ms())?;
            self.place_site(tx, &id, &draft)?;
            self.load(tx, &id)
        })
    }

    /// Adds or changes answers; all of them are checked before any is stored.
    pub fn set_answers(&self, id: &str, answers: &[Answer]) -> Result<Inspection> {
        let id = parse_id(id, "inspection id")?;
        self.write(|tx| {
            let current = editable(tx, &id)?;
            let template = self.template(tx, &current.checklist_id, current.checklist_version)?;
            for answer in answers {
                template.check_answer(answer)?;
            }
            inspections::upsert_answers(tx, &id, answers)?;
            inspections::touch(tx, &id, now_ms())?;
            self.load(tx, &id)
        })
    }

    pub fn clear_answer(&self, id: &str, item_id: &str) -> Result<Inspection> {
        let id = parse_id(id, "inspection id")?;
        self.write(|tx| {
            let current = editable(tx, &id)?;
            let template = self.template(tx, &current.checklist_id, current.checklist_version)?;
            template.item(item_id)?;
            inspections::delete_answer(tx, &id, item_id)?;
            inspections::touch(tx, &id, now_ms())?;
            self.load(tx, &id)
        })
    }

    /// Freezes a complete draft and queues it for the bureau, atomically. The end
    /// time defaults to now (never before the start, whatever the clock says).
    pub fn submit(&self, id: &str) -> Result<Inspection> {
        let id = parse_id(id, "inspection id")?;
        self.write(|tx| {
            let current = editable(tx, &id)?;
            let template = self.template(tx, &current.checklist_id, current.checklist_version)?;
            let missing = template.missing_required(&current.answers);
            if !missing.is_empty() {
                return Err(Error::RequiredItemsMissing {
                    items: missing.into_iter().map(String::from).collect(),
                });
            }
            let now = now_ms();
            let ended = current
                .ended_at_ms
                .unwrap_or(now.max(current.started_at_ms));
            inspections::mark_submitted(tx, &id, ended, now)?;
            let submitted = self.load(tx, &id)?;
            let kind = match submitted.amends_id {
                Some(_) => "inspection.amend",
                None => "inspection.submit",
            };
            outbox::enqueue(tx, kind, &id, &submitted, now)?;
            Ok(submitted)
        })
    }

    /// Starts an amendment of a submitted inspection: a new draft that copies it and
    /// links back to it. The original is never changed.
    pub fn amend(&self, id: &str) -> Result<Inspection> {
        let id = parse_id(id, "inspection id")?;
        self.write(|tx| {
            let original = inspections::load(tx, &id)?;
            if original.status == Status::Draft {
                return Err(Error::NotSubmitted { id });
            }
            if let Some((amendment, status)) = inspections::latest_amendment(tx, &id)? {
                // Amendments form a line, not a tree: amend the newest revision.
                return Err(match status {
                    Status::Draft => Error::AmendmentPending { id, amendment },
                    _ => Error::Superseded { id, by: amendment },
                });
            }
            let fields = DraftFields {
                township_code: original.township_code.clone(),
                county_code: Some(original.county_code.clone()),
                site: crate::geo::point::GeoPoint {
                    lat: original.site.reported_lat,
                    lon: original.site.reported_lon,
                    datum: original.site.reported_datum,
                },
                address: original.site.address.clone(),
                task_id: original.task_id.clone(),
                officer_id: original.officer_id.clone(),
                started_at_ms: original.started_at_ms,
                ended_at_ms: original.ended_at_ms,
                findings: original.findings.clone(),
                responsible_party: original.responsible_party.clone(),
            };
            let new = new_id();
            let row = inspections::NewRow {
                id: &new,
                matter: &original.matter,
                checklist_id: &original.checklist_id,
                checklist_version: original.checklist_version,
                amends_id: Some(&id),
                revision: original.revision + 1,
            };
            let draft = fields.check()?;
            inspections::insert(tx, &row, &draft, now_ms())?;
            inspections::upsert_answers(tx, &new, &original.answers)?;
            self.place_site(tx, &new, &draft)?;
            self.load(tx, &new)
        })
    }

    pub fn get_inspection(&self, id: &str) -> Result<Inspection> {
        let id = parse_id(id, "inspection id")?;
        self.read(|conn| self.load(conn, &id))
    }

    /// One page of inspections, newest first; pass `next_cursor` back for the next.
    pub fn list_inspections(
        &self,
        filter: &InspectionFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<InspectionPage> {
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(Error::InvalidField {
                field: "limit",
                reason: "must be between 1 and 500",
            });
        }
        self.read(|conn| inspections::list(conn, filter, limit, cursor))
    }

    /// Ops waiting for the bureau, oldest first.
    pub fn pending_outbox(&self, limit: u32) -> Result<Vec<OutboxOp>> {
        self.read(|conn| outbox::pending(conn, limit))
    }

    // --- patrol tracks ---

    /// Starts recording a patrol. `filter` defaults to [`TrackFilter::default`].
    pub fn start_track(&self, new: NewTrack) -> Result<Track> {
        let inspection_id = new
            .inspection_id
            .as_deref()
            .map(|id| parse_id(id, "inspection id"))
            .transpose()?;
        let track = Track {
            id: new_id(),
            officer_id: new.officer_id,
            inspection_id,
            task_id: new.task_id,
            filter: new.filter.unwrap_or_default(),
            started_at_ms: now_ms(),
            stopped_at_ms: None,
            stats: TrackStats::default(),
        };
        crate::model::inspection::check_reference(&track.officer_id, "officer_id")?;
        if let Some(task) = &track.task_id {
            crate::model::inspection::check_reference(task, "task_id")?;
        }
        self.write(|tx| {
            if let Some(inspection) = &track.inspection_id {
                inspections::load(tx, inspection)?;
            }
            tracks::insert(tx, &track)?;
            Ok(track.clone())
        })
    }

    /// Appends one fix (the platform delivers about one a second), committed
    /// before returning.
    pub fn append_fix(&self, track_id: &str, fix: Fix) -> Result<FixOutcome> {
        let id = parse_id(track_id, "track id")?;
        self.write(|tx| self.append_and_seal(tx, &id, fix, now_ms()))
    }

    /// Appends a batch of fixes in one transaction (e.g. after the app was
    /// suspended, or a GPX replay); one outcome per fix, in order.
    pub fn append_fixes(&self, track_id: &str, fixes: Vec<Fix>) -> Result<Vec<FixOutcome>> {
        let id = parse_id(track_id, "track id")?;
        self.write(|tx| {
            let now = now_ms();
            fixes
                .into_iter()
                .map(|fix| self.append_and_seal(tx, &id, fix, now))
                .collect()
        })
    }

    /// Appends a fix; a segment it closes is sealed into a `track_segment`
    /// evidence record in the same transaction.
    fn append_and_seal(&self, tx: &Connection, id: &str, fix: Fix, now: i64) -> Result<FixOutcome> {
        let outcome = tracks::append(tx, id, fix, now)?;
        if let Some(sealed) = &outcome.sealed {
            self.record_segment(tx, sealed, now)?;
        }
        Ok(outcome)
    }

    fn stop_and_seal(&self, tx: &Connection, id: &str, now: i64) -> Result<()> {
        if let Some(sealed) = tracks::stop(tx, id, now)? {
            self.record_segment(tx, &sealed, now)?;
        }
        Ok(())
    }

    /// Stops recording and seals the last segment.
    pub fn stop_track(&self, track_id: &str) -> Result<Track> {
        let id = parse_id(track_id, "track id")?;
        self.write(|tx| {
            self.stop_and_seal(tx, &id, now_ms())?;
            tracks::load(tx, &id)
        })
    }

    pub fn get_track(&self, track_id: &str) -> Result<Track> {
        let id = parse_id(track_id, "track id")?;
        self.read(|conn| tracks::load(conn, &id))
    }

    /// Every stored fix of a track, in order: the full record.
    pub fn track_points(&self, track_id: &str) -> Result<Vec<TrackPoint>> {
        let id = parse_id(track_id, "track id")?;
        self.read(|conn| {
            tracks::load(conn, &id)?;
            tracks::points(conn, &id)
        })
    }

    /// Closed segments with their seal hashes.
    pub fn sealed_segments(&self, track_id: &str) -> Result<Vec<SealedSegment>> {
        let id = parse_id(track_id, "track id")?;
        self.read(|conn| {
            tracks::load(conn, &id)?;
            tracks::sealed_segments(conn, &id)
        })
    }

    /// Replays a GPX recording through the recorder into a new, stopped track, in
    /// one transaction. Points without a usable position or time count as invalid.
    pub fn import_gpx(&self, gpx_bytes: &[u8], officer_id: &str) -> Result<Track> {
        let file = gpx::parse_gpx(gpx_bytes)?;
        let track = self.start_track(NewTrack {
            officer_id: officer_id.to_owned(),
            ..NewTrack::default()
        })?;
        let fixes = file
            .tracks
            .iter()
            .flat_map(|t| &t.segments)
            .flatten()
            .map(|p| Fix {
                lat: p.lat,
                lon: p.lon,
                datum: Datum::Wgs84, // GPX coordinates are WGS-84 by definition
                accuracy_m: p.accuracy_m,
                altitude_m: p.ele_m,
                speed_mps: p.speed_mps,
                bearing_deg: p.course_deg,
                // A point without a time cannot be placed in the track: time 0 fails
                // validation, so it is counted as invalid like any other bad value.
                time_ms: p.time_ms.unwrap_or(0),
                provider: "gpx".into(),
                mock: false,
            });
        self.write(|tx| {
            let now = now_ms();
            for fix in fixes {
                self.append_and_seal(tx, &track.id, fix, now)?;
            }
            tracks::count_invalid(tx, &track.id, file.skipped_points as u64)?;
            self.stop_and_seal(tx, &track.id, now)?;
            tracks::load(tx, &track.id)
        })
    }

    /// GPX 1.1 of the whole track (or simplified for display), one `trkseg` per segment.
    pub fn export_track_gpx(&self, track_id: &str, simplify_m: Option<f64>) -> Result<String> {
        let segments = self.segment_points(track_id, simplify_m)?;
        let segments: Vec<Vec<GpxPoint>> = segments
            .into_iter()
            .map(|points| {
                points
                    .into_iter()
                    .map(|p| GpxPoint {
                        lat: p.lat,
                        lon: p.lon,
                        ele_m: p.altitude_m,
                        time_ms: Some(p.time_ms),
                        hdop: None,
                        fix: None,
                        speed_mps: p.speed_mps,
                        course_deg: p.bearing_deg,
                        accuracy_m: p.accuracy_m,
                    })
                    .collect()
            })
            .collect();
        Ok(gpx::write_gpx(track_id, &segments))
    }

    /// An RFC 7946 GeoJSON Feature of the track with its statistics as properties.
    pub fn export_track_geojson(&self, track_id: &str, simplify_m: Option<f64>) -> Result<String> {
        let track = self.get_track(track_id)?;
        let lines = self
            .segment_points(track_id, simplify_m)?
            .into_iter()
            .map(|points| {
                points
                    .iter()
                    .map(|p| LatLon {
                        lat: p.lat,
                        lon: p.lon,
                    })
                    .collect()
            })
            .collect::<Vec<Vec<LatLon>>>();
        let mut properties = serde_json::Map::new();
        properties.insert("id".into(), track.id.clone().into());
        properties.insert("officer_id".into(), track.officer_id.clone().into());
        properties.insert(
            "stats".into(),
            serde_json::to_value(&track.stats).expect("stats serialise"),
        );
        Ok(geojson::track_feature(&lines, properties).to_string())
    }

    /// Stored points grouped by segment, optionally simplified.
    fn segment_points(
        &self,
        track_id: &str,
        simplify_m: Option<f64>,
    ) -> Result<Vec<Vec<TrackPoint>>> {
        if simplify_m.is_some_and(|t| !(t.is_finite() && t >= 0.0)) {
            return Err(Error::InvalidField {
                field: "simplify_m",
                reason: "must be a finite number of metres, 0 or more",
            });
        }
        let mut segments: Vec<Vec<TrackPoint>> = Vec::new();
        for point in self.track_points(track_id)? {
            match segments.last_mut() {
                Some(current) if current[0].segment == point.segment => current.push(point),
                _ => segments.push(vec![point]),
            }
        }
        if let Some(tolerance) = simplify_m {
            for points in &mut segments {
                let coords: Vec<LatLon> = points
                    .iter()
                    .map(|p| LatLon {
                        lat: p.lat,
                        lon: p.lon,
                    })
                    .collect();
                let keep = simplify::simplify(&coords, tolerance);
                let mut kept = keep.into_iter().peekable();
                let mut index = 0;
                points.retain(|_| {
                    let keep_this = kept.next_if_eq(&index).is_some();
                    index += 1;
                    keep_this
                });
            }
        }
        Ok(segments)
    }

    // --- jurisdictions ---

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
    fn place_site(&self, conn: &Connection, id: &str, draft: &CheckedDraft) -> Result<()> {
        let township = &draft.fields.township_code;
        let site = self.placement_for(conn, township, &draft.county_code, draft.wgs84)?;
        inspections::set_site_jurisdiction(conn, id, site.as_ref())
    }

    /// Where a point lies relative to the most specific loaded jurisdiction: the
    /// township's polygon, else the county's; `None` when neither is loaded.
    fn placement_for(
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

    /// Loads an inspection with its answers in checklist order.
    fn load(&self, conn: &Connection, id: &str) -> Result<Inspection> {
        let mut inspection = inspections::load(conn, id)?;
        let template =
            self.template(conn, &inspection.checklist_id, inspection.checklist_version)?;
        let position = |item: &str| template.items.iter().position(|i| i.id == item);
        inspection.answers.sort_by_key(|a| position(&a.item_id));
        Ok(inspection)
    }
}

/// What a new track is linked to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewTrack {
    pub officer_id: String,
    pub inspection_id: Option<String>,
    pub task_id: Option<String>,
    pub filter: Option<TrackFilter>,
}

/// Loads an inspection that must still be a draft.
fn editable(conn: &Connection, id: &str) -> Result<Inspection> {
    let inspection = inspections::load(conn, id)?;
    if inspection.status != Status::Draft {
        return Err(Error::NotDraft {
            id: id.to_owned(),
            status: inspection.status.code(),
        });
    }
    Ok(inspection)
}
