//! Submitted inspections and amendments arriving by push. Both are immutable once
//! received: a second submission of one inspection id is a conflict, and changes
//! come as amendments (new inspections linked to the one they amend).

use super::payload;
use crate::enrollment::{check_jurisdiction, covers, Device};
use crate::error::{Error, Result};
use crate::storage::Tx;
use crate::{now_ms, params, parse_id};
use fieldproof_core::model::division::DivisionCode;
use fieldproof_core::model::inspection::{Inspection, Status};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// Stores a submitted inspection (`amend`: an amendment) for the reviewers, as
/// the exact JSON text the device sent, once what it claims is checked against
/// the device's enrollment: its officer is the device's, its place is a real
/// county and a place in it within the device's jurisdiction, and an amendment
/// continues its line (see [`amended`]).
pub fn submit(tx: &mut Tx, device: &Device, body: &RawValue, amend: bool) -> Result<Value> {
    let inspection: Inspection = payload(body)?;
    let id = parse_id(&inspection.id, "inspection id")?;
    if inspection.status != Status::Submitted {
        return Err(Error::InvalidRequest {
            reason: "only submitted inspections are pushed".into(),
        });
    }
    if inspection.officer_id != device.officer_id {
        return Err(Error::OfficerMismatch);
    }
    let jurisdiction = filed_under(&inspection)?;
    if !covers(&device.jurisdiction, jurisdiction) {
        return Err(Error::OutsideJurisdiction);
    }
    let amends_id = match (&inspection.amends_id, amend) {
        (Some(original), true) => Some(amended(tx, device, original, inspection.revision)?),
        (None, false) if inspection.revision == 0 => None,
        (None, false) => return Err(Error::RevisionMismatch { expected: 0 }),
        _ => return Err(Error::InvalidRequest {
            reason:
                "inspection.amend must name the inspection it amends, inspection.submit must not"
                    .into(),
        }),
    };
    if tx
        .query_opt("SELECT 1 FROM inspections WHERE id = $1", params![&id])?
        .is_some()
    {
        return Err(Error::InspectionExists);
    }
    tx.execute(
        "INSERT INTO inspections (id, device_id, officer_id, jurisdiction, status, amends_id, body,
                                  received_ms, matter, search_text)
         VALUES ($1, $2, $3, $4, 'submitted', $5, $6, $7, $8, $9)",
        params![
            &id,
            &device.id,
            &device.officer_id,
            jurisdiction,
            amends_id.clone(),
            body.get(),
            now_ms(),
            &inspection.matter,
            // What a reviewer's search looks in: never the responsible party.
            format!("{} {}", inspection.site.address, inspection.findings)
        ],
    )?;
    if let Some(original) = &amends_id {
        // The case's officers stay its officers down the amendment line.
        tx.execute(
            "INSERT INTO inspection_officers (inspection_id, officer_id, assigned_ms)
             SELECT $1, officer_id, assigned_ms FROM inspection_officers WHERE inspection_id = $2",
            params![&id, original],
        )?;
    }
    Ok(json!({ "inspection_id": id, "status": "submitted" }))
}

/// The division an inspection is filed under: its township (or village, or the
/// county itself), else its county. The county is a county code and contains it,
/// as the device checked when the officer entered them.
fn filed_under(inspection: &Inspection) -> Result<&str> {
    let county = DivisionCode::parse_level(&inspection.county_code, &[6]).ok_or_else(|| {
        Error::InvalidRequest {
            reason: "county_code must be a county's 6-digit division code".into(),
        }
    })?;
    let place = &inspection.township_code;
    if place.is_empty() {
        return Ok(&inspection.county_code);
    }
    check_jurisdiction(place)?;
    if place.len() < 6 || !county.covers(place) {
        return Err(Error::DivisionMismatch {
            county: inspection.county_code.clone(),
            township: place.clone(),
        });
    }
    Ok(place)
}

/// The inspection an amendment amends, once the amendment is found to continue
/// its line: an amendment amends the newest revision (one not amended yet), is
/// its revision + 1, lies in the device's jurisdiction, and comes from a device
/// of one of the case's officers (the one who submitted it, or one the bureau
/// assigned). The amended row is locked first, so two amendments of one
/// revision are judged one after the other and the second is `already_amended`.
fn amended(tx: &mut Tx, device: &Device, original: &str, revision: u32) -> Result<String> {
    let original = parse_id(original, "amended inspection id")?;
    let row = tx
        .query_opt(
            "UPDATE inspections SET status = status WHERE id = $1
             RETURNING jurisdiction, officer_id, body",
            params![&original],
        )?
        .ok_or(Error::NotFound {
            what: "amended inspection",
        })?;
    if !covers(&device.jurisdiction, &row.text(0)?) {
        return Err(Error::OutsideJurisdiction);
    }
    if !is_case_officer(tx, &original, &row.text(1)?, &device.officer_id)? {
        return Err(Error::NotCaseOfficer);
    }
    if tx
        .query_opt(
            "SELECT 1 FROM inspections WHERE amends_id = $1",
            params![&original],
        )?
        .is_some()
    {
        return Err(Error::AlreadyAmended);
    }
    // Checked on receipt of the original, so a missing number is a storage fault.
    let held: Inspection = serde_json::from_str(&row.text(2)?).map_err(|_| Error::Storage {
        reason: "a stored inspection body is unreadable".into(),
    })?;
    let expected = u64::from(held.revision) + 1;
    if u64::from(revision) != expected {
        return Err(Error::RevisionMismatch { expected });
    }
    Ok(original)
}

/// Whether `officer_id` is one of inspection `id`'s officers: the one who
/// submitted it (`submitted_by`), or one the bureau assigned to it.
pub fn is_case_officer(
    tx: &mut Tx,
    id: &str,
    submitted_by: &str,
    officer_id: &str,
) -> Result<bool> {
    if officer_id == submitted_by {
        return Ok(true);
    }
    Ok(tx
        .query_opt(
            "SELECT 1 FROM inspection_officers WHERE inspection_id = $1 AND officer_id = $2",
            params![id, officer_id],
        )?
        .is_some())
}
