//! Writing a case file: everything that proves one inspection's amendment line,
//! for legal review, a case transfer or a court (format: the core's
//! [`fieldproof_core::case_file`], specified in `docs/evidence-bundle.md`).
//!
//! Two steps, so that no transaction stays open while bytes go out:
//! [`plan_now`] takes the checkpoint, then reads in one transaction what the
//! case file holds (small things in memory, photos by hash); then
//! [`CasePlan::write`] streams it as a zip to any
//! writer, photo by photo, hashing each file as it goes; the manifest and its
//! signature come last. Memory stays at the plan plus one copy buffer,
//! whatever the photos weigh, and the printed record (`report.pdf`, rendered
//! before the first byte goes out, so a missing font is a clean refusal).
//!
//! What goes in: every accepted record that names an inspection of the line and
//! attaches to it (the case officers' devices), the track segments of those
//! devices that overlap the visit, and their key rotations. Records of the same
//! devices that lie between those but are not this case's are not copied: the
//! manifest names each by payload hash and log leaf (`omitted`), so a verifier
//! sees an unbroken chain without reading another case's data.

use super::inspections::{self, amended_by};
use super::on_site_record::{self, OnSiteRecord};
use super::reference_data;
use super::{amended_revisions, RECORDS_OF_CASES, REFUSAL};
use crate::bureau::Bureau;
use crate::config::FireSettings;
use crate::custody_log::persisted::latest_checkpoint;
use crate::custody_log::{BureauKey, LogCache, SignedCheckpoint};
use crate::error::{Error, Result};
use crate::storage::photo_store::StoredPhoto;
use crate::storage::{parameters, PhotoStore, Tx, Value};
use crate::{now_ms, params};
use fieldproof_core::case_file::consistency::Revision;
use fieldproof_core::case_file::format::{
    self, CaseOfficer, FileEntry, Manifest, OmittedRecord, RecordEntry,
};
use fieldproof_core::case_file::track_files as track;
use fieldproof_core::evidence::certificate::verify_certificate;
use fieldproof_core::evidence::cose;
use fieldproof_core::evidence::keys::key_id;
use fieldproof_core::evidence::record::{Event, EvidencePayload, TrackSegment};
use fieldproof_core::evidence::track_seal::SealedFix;
use fieldproof_core::hex;
use fieldproof_core::model::checklist::defaults;
use fieldproof_core::wire::admin::InspectionCase;
use ring::digest::{Context, SHA256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// What a case file holds, read from the database, before it is written.
pub struct CasePlan {
    manifest: Manifest,
    files: Vec<(String, Content)>,
    photos: PhotoStore,
}

enum Content {
    Bytes(Vec<u8>),
    /// A stored photo, by SHA-256, copied from the photo store.
    Photo([u8; 32]),
}

/// One accepted record of a device, as the plan needs it.
struct Row {
    device_id: String,
    seq: u64,
    signed: Vec<u8>,
    leaf_index: u64,
    payload: EvidencePayload,
}

/// The plan of inspection `id`'s case file against the bureau's latest
/// checkpoint (signed now if the log has grown).
pub fn plan_now(bureau: &Bureau, id: &str) -> Result<CasePlan> {
    let font = bureau
        .report_font
        .as_ref()
        .ok_or(Error::ReportFontMissing)?;
    let checkpoint = latest_checkpoint(&bureau.db, &bureau.log, &bureau.key)?;
    let (mut plan, record) = bureau.db.read(|tx| {
        plan(
            tx,
            id,
            &bureau.log,
            &checkpoint,
            &bureau.key,
            &bureau.photos,
            &bureau.fires,
        )
    })?;
    // Rendered outside the transaction, before the first byte goes out.
    let report = record.render(font, &bureau.photos)?;
    plan.files
        .push((format::REPORT.into(), Content::Bytes(report)));
    plan.files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(plan)
}

/// Reads what the case file of inspection `id` holds: its whole amendment line,
/// whichever revision `id` names. Proofs lead to `checkpoint`, which must cover
/// every record read here (take it first, then plan).
fn plan(
    tx: &mut Tx,
    id: &str,
    log: &LogCache,
    checkpoint: &SignedCheckpoint,
    bureau_key: &BureauKey,
    photos: &PhotoStore,
    fires: &FireSettings,
) -> Result<(CasePlan, OnSiteRecord)> {
    let line = amendment_line(tx, id)?;
    let latest = line
        .last()
        .expect("a line holds at least the inspection")
        .clone();
    let mut files = Vec::new();
    let mut window = (i64::MAX, i64::MIN);
    let mut submitted = BTreeSet::new();
    let mut revisions = Vec::new();
    for (i, revision) in line.iter().enumerate() {
        let row = tx
            .query_opt(
                "SELECT body, officer_id FROM inspections WHERE id = $1",
                params![revision],
            )?
            .ok_or(Error::NotFound { what: "inspection" })?;
        let body = row.text(0)?;
        let times: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if let Some(start) = times["started_at_ms"].as_i64() {
            window.0 = window.0.min(start);
            window.1 = window.1.max(times["ended_at_ms"].as_i64().unwrap_or(start));
        }
        submitted.insert(row.text(1)?);
        revisions.push(
            Revision::from_json(body.as_bytes()).ok_or_else(|| Error::Storage {
                reason: "a stored inspection no longer reads as one".into(),
            })?,
        );
        files.push((
            format::revision_path(i + 1, revision),
            Content::Bytes(body.into_bytes()),
        ));
    }
    let case = inspections::get(tx, &latest, fires)?;
    files.push((format::CASE.into(), Content::Bytes(pretty_json(&case)?)));
    // Records logged after the checkpoint go in the next case file.
    let in_checkpoint = |r: &Row| r.leaf_index < checkpoint.tree_size;
    let mut rows: Vec<Row> = case_records(tx, &line)?
        .into_iter()
        .filter(in_checkpoint)
        .collect();
    let devices: BTreeSet<String> = rows.iter().map(|r| r.device_id.clone()).collect();
    for device in &devices {
        let last = rows
            .iter()
            .filter(|r| &r.device_id == device)
            .map(|r| r.seq)
            .max()
            .unwrap_or(0);
        rows.extend(
            device_context_records(tx, device, last, window)?
                .into_iter()
                .filter(in_checkpoint),
        );
    }
    rows.sort_by(|a, b| (&a.device_id, a.seq).cmp(&(&b.device_id, b.seq)));
    rows.dedup_by(|a, b| a.device_id == b.device_id && a.seq == b.seq);

    let proof = |leaf: u64| log.with(|tree| tree.inclusion_proof(leaf, checkpoint.tree_size));
    let mut records = Vec::new();
    let mut media = BTreeMap::new();
    for row in &rows {
        let path = format::record_path(&row.device_id, row.seq);
        records.push(RecordEntry {
            path: path.clone(),
            device_id: row.device_id.clone(),
            seq: row.seq,
            leaf_index: row.leaf_index,
            inclusion_proof: proof(row.leaf_index)?,
        });
        files.push((path, Content::Bytes(row.signed.clone())));
        if let Some(m) = row.payload.event.media() {
            if has_photo(tx, &m.sha256)? && photos.contains_photo(&m.sha256)? {
                media.insert(format::media_path(&m.sha256, &m.mime), m.sha256);
            }
        }
    }
    let media_of = |payload: &EvidencePayload| {
        let m = payload.event.media()?;
        let path = format::media_path(&m.sha256, &m.mime);
        media.contains_key(&path).then_some(path)
    };
    let mut items = Vec::new();
    for row in &rows {
        let track = match &row.payload.event {
            Event::TrackSegment(segment) => track_files(tx, row, segment, &mut files)?,
            _ => None,
        };
        items.push(on_site_record::Item {
            device_id: row.device_id.clone(),
            seq: row.seq,
            leaf_index: row.leaf_index,
            payload: row.payload.clone(),
            media: media_of(&row.payload),
            track,
        });
    }
    files.extend(
        media
            .into_iter()
            .map(|(path, sha256)| (path, Content::Photo(sha256))),
    );
    let mut omitted = Vec::new();
    let mut officers: BTreeMap<String, CaseOfficer> = BTreeMap::new();
    let mut device_keys = BTreeMap::new();
    for device in &devices {
        let held: BTreeSet<u64> = rows
            .iter()
            .filter(|r| &r.device_id == device)
            .map(|r| r.seq)
            .collect();
        let (first, last) = (
            held.first().copied().unwrap_or(0),
            held.last().copied().unwrap_or(0),
        );
        for o in omitted_between(tx, device, first, last)? {
            if !held.contains(&o.seq) {
                omitted.push(OmittedRecord {
                    inclusion_proof: proof(o.leaf_index)?,
                    ..o
                });
            }
        }
        let cert = tx
            .query_opt(
                "SELECT certificate, officer_id FROM devices WHERE id = $1",
                params![device],
            )?
            .ok_or(Error::NotFound { what: "device" })?;
        let certificate = cert.blob(0)?;
        let issued = verify_certificate(&certificate, bureau_key.public_key()).map_err(|_| {
            Error::Storage {
                reason: "a device certificate no longer verifies".into(),
            }
        })?;
        device_keys.insert(
            device.clone(),
            (key_id(&issued.public_key), issued.issued_ms),
        );
        files.push((
            format::certificate_path(device),
            Content::Bytes(certificate),
        ));
        officer(&mut officers, &cert.text(1)?, &submitted)
            .devices
            .push(device.clone());
    }
    for officer_id in submitted.iter().chain(&case.assigned_officers) {
        officer(&mut officers, officer_id, &submitted);
    }
    let record = on_site_record_of(
        tx,
        &case,
        revisions,
        &officers,
        &device_keys,
        items,
        checkpoint,
        bureau_key,
        omitted.len(),
    )?;

    let key_text = format!("{}\n", hex::encode(bureau_key.public_key()));
    files.push((
        format::BUREAU_KEY.into(),
        Content::Bytes(key_text.into_bytes()),
    ));
    Ok((
        CasePlan {
            manifest: Manifest {
                format: format::FORMAT.into(),
                inspection_id: latest,
                amendment_line: line,
                created_ms: now_ms(),
                bureau_key_id: key_id(bureau_key.public_key()),
                checkpoint: checkpoint.clone(),
                files: Vec::new(),
                officers: officers.into_values().collect(),
                records,
                omitted,
            },
            files,
            photos: photos.clone(),
        },
        record,
    ))
}

/// The GPX and GeoJSON of a track segment record, added to `files` when the
/// bureau holds its points (kept at ingest only if they match the seal).
fn track_files(
    tx: &mut Tx,
    row: &Row,
    segment: &TrackSegment,
    files: &mut Vec<(String, Content)>,
) -> Result<Option<on_site_record::TrackFiles>> {
    let Some(held) = tx.query_opt(
        "SELECT points FROM track_points WHERE device_id = $1 AND seq = $2",
        params![&row.device_id, row.seq],
    )?
    else {
        return Ok(None);
    };
    let fixes = SealedFix::decode_all(&held.blob(0)?).ok_or_else(|| Error::Storage {
        reason: "stored track points no longer decode".into(),
    })?;
    let name = format!("{} #{}", segment.track_id, segment.index);
    let properties = serde_json::Map::from_iter([
        ("device_id".to_owned(), row.device_id.clone().into()),
        ("seq".to_owned(), row.seq.into()),
        ("track_id".to_owned(), segment.track_id.clone().into()),
        ("segment".to_owned(), segment.index.into()),
        (
            "points_sha256".to_owned(),
            hex::encode(&segment.points_sha256).into(),
        ),
    ]);
    let gpx = format::track_path(&row.device_id, row.seq, format::GPX);
    let geojson = format::track_path(&row.device_id, row.seq, format::GEOJSON);
    files.push((
        gpx.clone(),
        Content::Bytes(track::gpx(&name, &fixes).into_bytes()),
    ));
    files.push((
        geojson.clone(),
        Content::Bytes(track::geojson(properties, &fixes)),
    ));
    Ok(Some(on_site_record::TrackFiles {
        length_m: track::length_m(&fixes),
        gpx,
        geojson,
    }))
}

impl CasePlan {
    /// Streams the case file as a zip into `out`; returns `out`.
    pub fn write<W: Write>(mut self, out: W, bureau_key: &BureauKey) -> Result<W> {
        let mut zip = ZipWriter::new_stream(out);
        let mut buffer = vec![0u8; 256 * 1024];
        for (path, content) in std::mem::take(&mut self.files) {
            let (size, sha256) = match content {
                Content::Bytes(bytes) => {
                    start(
                        &mut zip,
                        &path,
                        CompressionMethod::Deflated,
                        bytes.len() as u64,
                    )?;
                    zip.write_all(&bytes)?;
                    (
                        bytes.len() as u64,
                        fieldproof_core::evidence::sha256(&bytes),
                    )
                }
                Content::Photo(sha256) => {
                    copy_photo(&mut zip, &path, &self.photos, &sha256, &mut buffer)?
                }
            };
            self.manifest.files.push(FileEntry { path, size, sha256 });
        }
        let manifest = pretty_json(&self.manifest)?;
        let signature = bureau_key.sign_message(&format::manifest_message(&manifest))?;
        for (path, bytes) in [
            (format::MANIFEST, &manifest),
            (format::MANIFEST_SIGNATURE, &signature),
        ] {
            start(
                &mut zip,
                path,
                CompressionMethod::Deflated,
                bytes.len() as u64,
            )?;
            zip.write_all(bytes)?;
        }
        Ok(zip.finish().map_err(zip_error)?.into_inner())
    }

    pub fn inspection_id(&self) -> &str {
        &self.manifest.inspection_id
    }
}

fn start<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    path: &str,
    method: CompressionMethod,
    size: u64,
) -> Result<()> {
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(size >= u64::from(u32::MAX))
        .unix_permissions(0o644);
    zip.start_file(path, options).map_err(zip_error)
}

/// Copies one stored photo into the zip, hashing what goes in (so the manifest
/// states the bytes written, not what the file held before).
fn copy_photo<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    path: &str,
    photos: &PhotoStore,
    sha256: &[u8; 32],
    buffer: &mut [u8],
) -> Result<(u64, [u8; 32])> {
    let StoredPhoto {
        size,
        reader: mut source,
    } = photos
        .photo(sha256)?
        .ok_or(Error::NotFound { what: "photo" })?;
    // Photos are already compressed: stored, not deflated again.
    start(zip, path, CompressionMethod::Stored, size)?;
    let mut context = Context::new(&SHA256);
    let mut total = 0u64;
    loop {
        let n = source.read(buffer)?;
        if n == 0 {
            break;
        }
        context.update(&buffer[..n]);
        zip.write_all(&buffer[..n])?;
        total += n as u64;
    }
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(context.finish().as_ref());
    Ok((total, sha256))
}

/// The case officer `id`, listed once: `submitted` when an inspection of the
/// line names them, else `assigned`.
fn officer<'a>(
    officers: &'a mut BTreeMap<String, CaseOfficer>,
    id: &str,
    submitted: &BTreeSet<String>,
) -> &'a mut CaseOfficer {
    let role = if submitted.contains(id) {
        "submitted"
    } else {
        "assigned"
    };
    officers
        .entry(id.to_owned())
        .or_insert_with(|| CaseOfficer {
            officer_id: id.to_owned(),
            role: role.into(),
            devices: Vec::new(),
        })
}

/// The printed record's content, from what the plan read.
#[allow(clippy::too_many_arguments)]
fn on_site_record_of(
    tx: &mut Tx,
    case: &InspectionCase,
    revisions: Vec<Revision>,
    officers: &BTreeMap<String, CaseOfficer>,
    device_keys: &BTreeMap<String, ([u8; 32], i64)>,
    items: Vec<on_site_record::Item>,
    checkpoint: &SignedCheckpoint,
    bureau_key: &BureauKey,
    omitted: usize,
) -> Result<OnSiteRecord> {
    let latest = &revisions.last().expect("a line is never empty").inspection;
    let published = reference_data::checklist(tx, &latest.checklist_id, latest.checklist_version)?;
    let matter_name = published
        .as_ref()
        .and_then(|p| p.matter.as_ref())
        .filter(|m| m.code == latest.matter)
        .map(|m| m.name.clone())
        .or_else(|| {
            defaults::MATTERS
                .iter()
                .find(|(code, _)| *code == latest.matter)
                .map(|(_, name)| (*name).to_owned())
        })
        .unwrap_or_else(|| latest.matter.clone());
    let checklist = published.map(|p| p.template).or_else(|| {
        defaults::template_for(&latest.checklist_id)
            .filter(|t| t.version == latest.checklist_version)
    });
    let officers = officers
        .values()
        .map(|o| on_site_record::Officer {
            officer_id: o.officer_id.clone(),
            submitted: o.role == "submitted",
            devices: o
                .devices
                .iter()
                .filter_map(|d| {
                    device_keys
                        .get(d)
                        .map(|(key, issued)| (d.clone(), *key, *issued))
                })
                .collect(),
        })
        .collect();
    let not_accepted = case
        .evidence_records
        .iter()
        .filter(|r| r.status != "accepted")
        .chain(&case.refused_records)
        .map(|r| {
            let why = r
                .refusal
                .as_deref()
                .or(r.failure.as_deref())
                .unwrap_or(&r.status);
            format!(
                "设备 {} 第 {} 条（{}）：{why}",
                r.device_id,
                r.seq.map_or_else(|| "?".into(), |s| s.to_string()),
                r.kind.as_deref().unwrap_or("无法解读")
            )
        })
        .collect();
    Ok(OnSiteRecord {
        revisions,
        review: on_site_record::Review {
            status: case.summary.status.clone(),
            reviewed_ms: case.summary.reviewed_ms,
            comment: case.summary.review_comment.clone(),
        },
        matter_name,
        checklist,
        officers,
        items,
        checkpoint: checkpoint.clone(),
        bureau_key_id: key_id(bureau_key.public_key()),
        omitted,
        not_accepted,
    })
}

fn zip_error(e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(io) => io.into(),
        other => Error::Storage {
            reason: format!("writing the case file: {other}"),
        },
    }
}

fn pretty_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Storage {
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The inspections of `id`'s amendment line, the original first.
fn amendment_line(tx: &mut Tx, id: &str) -> Result<Vec<String>> {
    let mut back = amended_revisions(tx, id)?;
    back.reverse();
    while let Some(next) = amended_by(tx, back.last().expect("not empty"))? {
        if back.contains(&next) {
            break;
        }
        back.push(next);
    }
    Ok(back)
}

const ROW_COLUMNS: &str = "e.device_id, e.seq, e.signed, e.leaf_index";

fn to_row(row: &crate::storage::Row) -> Result<Row> {
    let signed = row.blob(2)?;
    let payload = cose::parse_sign1(&signed)
        .and_then(|s| EvidencePayload::decode(&s.payload))
        .map_err(|_| Error::Storage {
            reason: "an accepted record no longer decodes".into(),
        })?;
    Ok(Row {
        device_id: row.text(0)?,
        seq: row.int(1)? as u64,
        signed,
        leaf_index: row.int(3)? as u64,
        payload,
    })
}

/// Accepted, logged records that name an inspection of the line and attach to it.
fn case_records(tx: &mut Tx, line: &[String]) -> Result<Vec<Row>> {
    let values: Vec<Value> = line.iter().map(Value::from).collect();
    tx.query(
        &format!(
            "SELECT {ROW_COLUMNS} FROM {RECORDS_OF_CASES}
             WHERE e.inspection_id IN ({}) AND e.status = 'accepted'
               AND e.leaf_index IS NOT NULL AND ({REFUSAL}) IS NULL",
            parameters(1, line.len())
        ),
        &values,
    )?
    .iter()
    .map(to_row)
    .collect()
}

/// A device's records that give the case's records their context: the track
/// segments overlapping the visit's time `window`, and every key rotation up to
/// seq `last` (a verifier needs them to follow the chain to its current key).
fn device_context_records(
    tx: &mut Tx,
    device: &str,
    last: u64,
    window: (i64, i64),
) -> Result<Vec<Row>> {
    let rows = tx.query(
        &format!(
            "SELECT {ROW_COLUMNS} FROM evidence_records e
             WHERE e.device_id = $1 AND e.kind IN ('track_segment', 'key_rotation')
               AND e.status = 'accepted' AND e.leaf_index IS NOT NULL"
        ),
        params![device],
    )?;
    let mut out = Vec::new();
    for row in &rows {
        let row = to_row(row)?;
        let keep = match &row.payload.event {
            Event::KeyRotation { .. } => row.seq <= last,
            Event::TrackSegment(s) => s.first_time_ms <= window.1 && s.last_time_ms >= window.0,
            _ => false,
        };
        if keep {
            out.push(row);
        }
    }
    Ok(out)
}

/// The accepted records of `device` with seqs `first..=last`, by hash only.
fn omitted_between(tx: &mut Tx, device: &str, first: u64, last: u64) -> Result<Vec<OmittedRecord>> {
    tx.query(
        "SELECT e.seq, e.payload_sha256, e.leaf_index, c.leaf_hash
         FROM evidence_records e JOIN custody_log c ON c.leaf_index = e.leaf_index
         WHERE e.device_id = $1 AND e.seq >= $2 AND e.seq <= $3 AND e.status = 'accepted'
         ORDER BY e.seq",
        params![device, first as i64, last as i64],
    )?
    .iter()
    .map(|row| {
        Ok(OmittedRecord {
            device_id: device.to_owned(),
            seq: row.int(0)? as u64,
            payload_sha256: row.hash(1)?,
            leaf_index: row.int(2)? as u64,
            leaf_hash: row.hash(3)?,
            inclusion_proof: Vec::new(),
        })
    })
    .collect()
}

fn has_photo(tx: &mut Tx, sha256: &[u8; 32]) -> Result<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM photos WHERE sha256 = $1 LIMIT 1",
            params![sha256],
        )?
        .is_some())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn without_a_report_font_a_case_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        let (mut bureau, _) = crate::Bureau::open(&config).unwrap();
        bureau.report_font = None;
        let refused = super::plan_now(&bureau, "01a23d4f-7f5d-723b-a86f-65ea0abdac1a")
            .err()
            .unwrap();
        assert_eq!(refused.code(), "report_font_missing");
        assert!(
            refused.to_string().contains("fonts-wqy-microhei"),
            "{refused}"
        );
    }
}
