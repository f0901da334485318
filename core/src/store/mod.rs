//! The device database: one SQLite file, one writer connection, a pool of readers.
//! Every write is one immediate transaction; a failed write leaves nothing behind.

mod boundaries;
mod capture;
mod connection;
mod evidence;
mod geofences;
mod inspections;
pub mod media;
pub mod outbox;
mod patrol;
mod received;
pub mod reference;
mod schema;
mod sync;
mod task_progress;

#[cfg(all(test, unix))]
mod file_modes;
mod tracks;

pub use capture::{PhotoSource, PreviewReport};
pub use media::MediaScan;
pub use outbox::OutboxOp;
pub use patrol::NewTrack;
pub(crate) use received::FeedItem;
pub use schema::VERSION as SCHEMA_VERSION;
pub(crate) use sync::{LeaseTake, UploadJob};

use crate::error::{Error, Result};
use crate::geo::jurisdiction::JurisdictionIndex;
use crate::model::checklist::{Answer, ChecklistTemplate};
use crate::model::id::{new_id, parse_id};
use crate::model::inspection::{DraftFields, Inspection, InspectionFilter, InspectionPage, Status};
use crate::model::matter::Matter;
use crate::model::task::TaskState;
use crate::time::now_ms;
use crate::wire::ops::OpKind;
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
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
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
            let now = now_ms();
            inspections::insert(tx, &row, &draft, now)?;
            inspections::upsert_answers(tx, &id, answers)?;
            self.place_site(tx, &id, &draft)?;
            if let Some(task_id) = &draft.fields.task_id {
                task_progress::advance(tx, task_id, TaskState::InProgress, Some(&id), now)?;
            }
            self.load(tx, &id)
        })
    }

    /// Replaces the editable fields of a draft.
    pub fn update_draft(&self, id: &str, fields: DraftFields) -> Result<Inspection> {
        let id = parse_id(id, "inspection id")?;
        let draft = fields.check()?;
        self.write(|tx| {
            editable(tx, &id)?;
            let now = now_ms();
            inspections::update_fields(tx, &id, &draft, now)?;
            self.place_site(tx, &id, &draft)?;
            if let Some(task_id) = &draft.fields.task_id {
                task_progress::advance(tx, task_id, TaskState::InProgress, Some(&id), now)?;
            }
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
            // Settles the end of the visit and the officer, as signing on site does.
            close_for_signing(tx, &current, now)?;
            inspections::mark_submitted(tx, &id, now)?;
            let submitted = self.load(tx, &id)?;
            let kind = match submitted.amends_id {
                Some(_) => OpKind::InspectionAmend,
                None => OpKind::InspectionSubmit,
            };
            outbox::enqueue(tx, kind, &id, &submitted, now)?;
            if let Some(task_id) = &submitted.task_id {
                task_progress::advance(tx, task_id, TaskState::Completed, Some(&id), now)?;
            }
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

    /// Loads an inspection with its answers in checklist order.
    pub(in crate::store) fn load(&self, conn: &Connection, id: &str) -> Result<Inspection> {
        let mut inspection = inspections::load(conn, id)?;
        let template =
            self.template(conn, &inspection.checklist_id, inspection.checklist_version)?;
        let position = |item: &str| template.items.iter().position(|i| i.id == item);
        inspection.answers.sort_by_key(|a| position(&a.item_id));
        Ok(inspection)
    }
}

/// What submitting settles in a draft, also settled when someone signs it on
/// site (so that the content they sign is the content submitted): the end of
/// the visit, if not set (never before its start), and the enrolled officer.
pub(in crate::store) fn close_for_signing(
    tx: &Connection,
    draft: &Inspection,
    now: i64,
) -> Result<()> {
    if draft.status != Status::Draft {
        return Ok(());
    }
    inspections::close_visit(tx, &draft.id, now.max(draft.started_at_ms))?;
    if let Some(officer) = sync::enrolled_officer(tx)? {
        inspections::set_officer(tx, &draft.id, &officer)?;
    }
    Ok(())
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
