//! The device database as a uniffi object. Calls block: platforms make them off
//! the main thread.

use crate::error::FieldproofError;
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::fix::Fix;
use fieldproof_core::geo::jurisdiction::Placement;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::model::checklist::{Answer, ChecklistTemplate};
use fieldproof_core::model::inspection::{
    DraftFields, Inspection, InspectionFilter, InspectionPage,
};
use fieldproof_core::model::matter::Matter;
use fieldproof_core::model::track::{FixOutcome, SealedSegment, Track, TrackPoint};
use fieldproof_core::store::{NewTrack, OpenOptions, OutboxOp, Store};
use std::sync::Arc;

type Result<T> = std::result::Result<T, FieldproofError>;

#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct StoreOptions {
    /// Cap on the database size in bytes; writes past it fail with `storage_full`.
    #[uniffi(default)]
    pub max_size_bytes: Option<u64>,
}

#[derive(uniffi::Object)]
pub struct InspectionStore {
    /// Shared with the sync engines made for this store.
    store: Arc<Store>,
}

#[uniffi::export]
impl InspectionStore {
    /// Opens (creating if absent) the database at `path`.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Arc<Self>> {
        Self::open_with_options(path, StoreOptions::default())
    }

    #[uniffi::constructor]
    pub fn open_with_options(path: String, options: StoreOptions) -> Result<Arc<Self>> {
        let options = OpenOptions {
            max_size_bytes: options.max_size_bytes,
        };
        let store = Store::open_with(path, &options)?;
        Ok(Arc::new(InspectionStore {
            store: Arc::new(store),
        }))
    }

    pub fn list_matters(&self) -> Result<Vec<Matter>> {
        Ok(self.store.list_matters()?)
    }

    pub fn checklist_for_matter(&self, matter: String) -> Result<ChecklistTemplate> {
        Ok(self.store.checklist_for_matter(&matter)?)
    }

    /// The template version an existing inspection was recorded against.
    pub fn checklist_for_version(&self, id: String, version: u32) -> Result<ChecklistTemplate> {
        Ok(self.store.checklist_for_version(&id, version)?)
    }

    pub fn put_checklist_template(&self, template: ChecklistTemplate) -> Result<()> {
        Ok(self.store.put_checklist_template(&template)?)
    }

    pub fn put_matter(&self, matter: Matter) -> Result<()> {
        Ok(self.store.put_matter(&matter)?)
    }

    pub fn create_draft(
        &self,
        matter: String,
        fields: DraftFields,
        answers: Vec<Answer>,
    ) -> Result<Inspection> {
        Ok(self.store.create_draft(&matter, fields, &answers)?)
    }

    pub fn update_draft(&self, id: String, fields: DraftFields) -> Result<Inspection> {
        Ok(self.store.update_draft(&id, fields)?)
    }

    pub fn set_answers(&self, id: String, answers: Vec<Answer>) -> Result<Inspection> {
        Ok(self.store.set_answers(&id, &answers)?)
    }

    pub fn clear_answer(&self, id: String, item_id: String) -> Result<Inspection> {
        Ok(self.store.clear_answer(&id, &item_id)?)
    }

    pub fn submit(&self, id: String) -> Result<Inspection> {
        Ok(self.store.submit(&id)?)
    }

    pub fn amend(&self, id: String) -> Result<Inspection> {
        Ok(self.store.amend(&id)?)
    }

    pub fn get_inspection(&self, id: String) -> Result<Inspection> {
        Ok(self.store.get_inspection(&id)?)
    }

    pub fn list_inspections(
        &self,
        filter: InspectionFilter,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<InspectionPage> {
        Ok(self
            .store
            .list_inspections(&filter, limit, cursor.as_deref())?)
    }

    pub fn pending_outbox(&self, limit: u32) -> Result<Vec<OutboxOp>> {
        Ok(self.store.pending_outbox(limit)?)
    }

    // --- patrol tracks ---

    pub fn start_track(&self, new: NewTrack) -> Result<Track> {
        Ok(self.store.start_track(new)?)
    }

    /// One fix, committed before returning; rejections are outcomes, not errors.
    pub fn append_fix(&self, track_id: String, fix: Fix) -> Result<FixOutcome> {
        Ok(self.store.append_fix(&track_id, fix)?)
    }

    pub fn append_fixes(&self, track_id: String, fixes: Vec<Fix>) -> Result<Vec<FixOutcome>> {
        Ok(self.store.append_fixes(&track_id, fixes)?)
    }

    pub fn stop_track(&self, track_id: String) -> Result<Track> {
        Ok(self.store.stop_track(&track_id)?)
    }

    pub fn get_track(&self, track_id: String) -> Result<Track> {
        Ok(self.store.get_track(&track_id)?)
    }

    pub fn track_points(&self, track_id: String) -> Result<Vec<TrackPoint>> {
        Ok(self.store.track_points(&track_id)?)
    }

    pub fn sealed_segments(&self, track_id: String) -> Result<Vec<SealedSegment>> {
        Ok(self.store.sealed_segments(&track_id)?)
    }

    pub fn import_gpx(&self, gpx: Vec<u8>, officer_id: String) -> Result<Track> {
        Ok(self.store.import_gpx(&gpx, &officer_id)?)
    }

    pub fn export_track_gpx(&self, track_id: String, simplify_m: Option<f64>) -> Result<String> {
        Ok(self.store.export_track_gpx(&track_id, simplify_m)?)
    }

    pub fn export_track_geojson(
        &self,
        track_id: String,
        simplify_m: Option<f64>,
    ) -> Result<String> {
        Ok(self.store.export_track_geojson(&track_id, simplify_m)?)
    }

    // --- jurisdictions ---

    /// Loads jurisdiction polygons (GeoJSON in `datum`); returns how many.
    pub fn load_boundaries(&self, geojson: String, datum: Datum) -> Result<u32> {
        Ok(self.store.load_boundaries(geojson.as_bytes(), datum)?)
    }

    pub fn locate(&self, point: GeoPoint) -> Result<Option<Placement>> {
        Ok(self.store.locate(point)?)
    }

    pub fn placement(&self, jurisdiction_code: String, point: GeoPoint) -> Result<Placement> {
        Ok(self.store.placement(&jurisdiction_code, point)?)
    }
}

impl InspectionStore {
    /// For the other exported impl blocks (one per area, e.g. evidence).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// For the sync engine, which keeps the store as long as it lives.
    pub(crate) fn shared_store(&self) -> Arc<Store> {
        self.store.clone()
    }
}

/// Converts a point to another datum, e.g. WGS-84 fixes to GCJ-02 for a Chinese
/// base map.
#[uniffi::export]
pub fn convert_point(point: GeoPoint, to: Datum) -> Result<GeoPoint> {
    Ok(point.to_datum(to)?)
}
