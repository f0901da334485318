//! The device database as a uniffi object. Calls block: platforms make them off
//! the main thread.

use crate::error::FieldproofError;
use fieldproof_core::model::checklist::{Answer, ChecklistTemplate};
use fieldproof_core::model::inspection::{
    DraftFields, Inspection, InspectionFilter, InspectionPage,
};
use fieldproof_core::store::{Matter, OpenOptions, OutboxOp, Store};
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
    store: Store,
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
        Ok(Arc::new(InspectionStore { store }))
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
}
