//! Submitted inspections and amendments arriving by push. Both are immutable once
//! received: a second submission of one inspection id is a conflict, and changes
//! come as amendments (new inspections linked to the one they amend).

use super::payload;
use crate::enrollment::{check_jurisdiction, covers, Device};
use crate::error::{Error, Result};
use crate::storage::Tx;
use crate::{now_ms, params, parse_id};
use fieldproof_core::model::inspection::{Inspection, Status};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// Stores a submitted inspection (`amend`: an amendment) for the reviewers, as
/// the exact JSON text the device sent.
pub fn submit(tx: &mut Tx, device: &Device, body: &RawValue, amend: bool) -> Result<Value> {
    let inspection: Inspection = payload(body)?;
    let id = parse_id(&inspection.id, "inspection id")?;
    if inspection.status != Status::Submitted {
        return Err(Error::InvalidRequest {
            reason: "only submitted inspections are pushed".into(),
        });
    }
    let jurisdiction = if inspection.township_code.is_empty() {
        &inspection.county_code
    } else {
        &inspection.township_code
    };
    check_jurisdiction(jurisdiction)?;
    if !covers(&device.jurisdiction, jurisdiction) {
        return Err(Error::OutsideJurisdiction);
    }
    let amends_id = match (&inspection.amends_id, amend) {
        (Some(original), true) => Some(amended(tx, device, original)?),
        (None, false) => None,
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
        "INSERT INTO inspections (id, device_id, officer_id, jurisdiction, status, amends_id, body, received_ms)
         VALUES ($1, $2, $3, $4, 'submitted', $5, $6, $7)",
        params![
            &id,
            &device.id,
            &device.officer_id,
            jurisdiction,
            amends_id,
            body.get(),
            now_ms()
        ],
    )?;
    Ok(json!({ "inspection_id": id, "status": "submitted" }))
}

/// The inspection an amendment amends: it must be held, within the device's
/// jurisdiction.
fn amended(tx: &mut Tx, device: &Device, original: &str) -> Result<String> {
    let original = parse_id(original, "amended inspection id")?;
    let row = tx
        .query_opt(
            "SELECT jurisdiction FROM inspections WHERE id = $1",
            params![&original],
        )?
        .ok_or(Error::NotFound {
            what: "amended inspection",
        })?;
    if !covers(&device.jurisdiction, &row.text(0)?) {
        return Err(Error::OutsideJurisdiction);
    }
    Ok(original)
}
