//! `fieldproof demo`: a scripted patrol on a fresh device database — the main job
//! README's first command runs. At the office the device enrolls with an embedded
//! bureau on loopback ([`bureau`]). Offline, the officer records a straw-burning
//! inspection, photographs the site (a generated photo, signed into evidence),
//! walks a patrol track, submits, amends, and the device chain is verified. Back
//! online the device syncs: the bureau verifies and logs the evidence, reviews the
//! case and sends a task, and the next sync brings the decision, the task and the
//! receipts back. Then, unless `--no-serve`, the bureau is left running with
//! the demo's data, and the console's address and a login are printed.

mod bureau;
mod console;

use crate::output::Output;
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::fix::Fix;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::model::checklist::{Answer, AnswerValue};
use fieldproof_core::model::inspection::{DraftFields, InspectionFilter};
use fieldproof_core::model::photo::{CaptureContext, CaptureSource};
use fieldproof_core::store::{NewTrack, PhotoSource, Store};
use fieldproof_core::time::now_ms;
use fieldproof_core::{Error, Result};
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Database to record into; a new one in a fresh temporary directory by default.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Stop the bureau at the end instead of leaving it running with the
    /// demo's data and its console.
    #[arg(long)]
    no_serve: bool,
    #[arg(long)]
    pub json: bool,
}

/// A township post near Changsha; the phone's map SDK reports GCJ-02.
fn site_fields(lat: f64, lon: f64, address: &str, started_at_ms: i64) -> DraftFields {
    DraftFields {
        township_code: "430121101".into(),
        county_code: None,
        site: GeoPoint {
            lat,
            lon,
            datum: Datum::Gcj02,
        },
        address: address.into(),
        task_id: None,
        officer_id: "demo-officer".into(),
        started_at_ms,
        ended_at_ms: None,
        findings: String::new(),
        responsible_party: None,
    }
}

fn answer(item: &str, value: AnswerValue) -> Answer {
    Answer {
        item_id: item.into(),
        value,
    }
}

pub fn run(args: Args, out: &Output) -> Result<()> {
    let path = match args.db {
        Some(path) => path,
        None => tempfile::Builder::new()
            .prefix("fieldproof-demo-")
            .tempdir()?
            .keep()
            .join("device.db"),
    };
    let store = std::sync::Arc::new(Store::open(&path)?);
    let step = |what: &str, detail: serde_json::Value| {
        let line = json!({ "step": what, "detail": detail });
        out.print(&line, || format!("{what:<10} {detail}"));
    };
    step("database", json!(path.display().to_string()));
    let office = bureau::enroll(store.clone(), &step)?;

    let now = now_ms();
    // 1. Straw burning found on patrol: recorded, answered, submitted.
    let mut fields = site_fields(28.2282, 112.9388, "黄花镇某村东侧稻田", now - 3_600_000);
    fields.findings = "稻田内有秸秆焚烧，现场明火，已组织扑灭。".into();
    let straw = store.create_draft(
        "straw_burning",
        fields,
        &[answer("fire_on_arrival", AnswerValue::YesNo(true))],
    )?;
    step(
        "recorded",
        json!({ "id": straw.id, "matter": straw.matter, "reported_gcj02": [28.2282, 112.9388],
                "stored_wgs84": [straw.site.lat, straw.site.lon] }),
    );
    match store.submit(&straw.id) {
        Err(Error::RequiredItemsMissing { items }) => {
            step("incomplete", json!({ "missing": items }))
        }
        other => other.map(|_| ())?,
    }
    store.set_answers(
        &straw.id,
        &[
            answer("burned_area_mu", AnswerValue::Number(3.5)),
            answer("material", AnswerValue::Choice("rice_straw".into())),
            answer("extinguished", AnswerValue::YesNo(true)),
            answer(
                "extinguish_method",
                AnswerValue::Choices(vec!["water".into(), "soil_cover".into()]),
            ),
            answer("responsible_party_identified", AnswerValue::YesNo(false)),
            answer("warning_issued", AnswerValue::YesNo(true)),
        ],
    )?;
    let submitted = store.submit(&straw.id)?;
    step(
        "submitted",
        json!({ "id": submitted.id, "answers": submitted.answers.len() }),
    );

    // 2. Later the officer learns more: an amendment, the original stays as it was.
    let amendment = store.amend(&straw.id)?;
    let mut fields = site_fields(28.2282, 112.9388, "黄花镇某村东侧稻田", now - 3_600_000);
    fields.findings = "复查：过火面积约5亩，责任人已查明。".into();
    store.update_draft(&amendment.id, fields)?;
    store.set_answers(
        &amendment.id,
        &[
            answer("burned_area_mu", AnswerValue::Number(5.0)),
            answer("responsible_party_identified", AnswerValue::YesNo(true)),
        ],
    )?;
    let amended = store.submit(&amendment.id)?;
    step(
        "amended",
        json!({ "id": amended.id, "amends": amended.amends_id, "revision": amended.revision }),
    );

    // 3. Waste burning, still a draft when the patrol ends.
    let waste = store.create_draft(
        "waste_burning",
        site_fields(28.2401, 112.9511, "村道旁垃圾堆", now - 600_000),
        &[answer("fire_on_arrival", AnswerValue::YesNo(false))],
    )?;
    step("draft", json!({ "id": waste.id, "matter": waste.matter }));

    // 4. Evidence: a photo of the burned field, with the phone's GCJ-02 fix.
    let fix = |i: usize, lat: f64, accuracy: f64| Fix {
        lat,
        lon: 112.9388 + i as f64 * 1.0e-5,
        datum: Datum::Gcj02,
        accuracy_m: Some(accuracy),
        altitude_m: Some(45.0),
        speed_mps: None,
        bearing_deg: None,
        time_ms: now - 3_000_000 + i as i64 * 1_000,
        provider: "fused".into(),
        mock: false,
    };
    let context = CaptureContext {
        source: CaptureSource::Camera,
        inspection_id: Some(straw.id.clone()),
        task_id: None,
        officer_id: Some("demo-officer".into()),
        monotonic_ms: None,
        boot_id: None,
        app_version: concat!("fieldproof-demo/", env!("CARGO_PKG_VERSION")).into(),
    };
    let photo = store.capture_photo(
        PhotoSource::Bytes(field_photo()?),
        Some(fix(0, 28.2282, 4.0)),
        context.clone(),
    )?;
    step(
        "photo",
        json!({ "photo_id": photo.id, "sha256": photo.sha256, "record_seq": photo.record_seq,
                "size": [photo.width, photo.height], "thumbnail": photo.thumbnail }),
    );

    // 5. The patrol: 15 minutes on an e-bike, one fix a second, with the noise
    // phones make.
    let track = store.start_track(NewTrack {
        officer_id: "demo-officer".into(),
        inspection_id: Some(straw.id.clone()),
        ..NewTrack::default()
    })?;
    let fixes = (0..900)
        .map(|i| match i {
            300 => fix(i, 28.2382, 4.0),  // a GNSS jump of a kilometre
            450 => fix(i, 28.2282, 80.0), // poor accuracy under trees
            _ => fix(i, 28.2282 + i as f64 * 3.0e-5, 4.0),
        })
        .collect();
    store.append_fixes(&track.id, fixes)?;
    let track = store.stop_track(&track.id)?;
    let stats = &track.stats;
    step(
        "patrol",
        json!({ "track_id": track.id, "accepted": stats.accepted, "segments": stats.segments,
                "length_m": stats.length_m.round(), "speed_jump": stats.speed_jump,
                "low_accuracy": stats.low_accuracy, "too_close": stats.too_close }),
    );

    let report = store.verify_evidence()?;
    step(
        "verified",
        json!({ "records": report.records, "photos": report.photos, "intact": report.is_intact() }),
    );

    let listed = store.list_inspections(&InspectionFilter::default(), 50, None)?;
    let outbox = store.pending_outbox(100)?;
    step(
        "summary",
        json!({ "inspections": listed.items.len(), "outbox": outbox.iter().map(|op| &op.kind).collect::<Vec<_>>() }),
    );

    // 6. A connection: everything goes to the bureau, and its answers come back.
    bureau::round_trip(office, &straw.id, &amended.id, !args.no_serve, &step)
}

/// A generated 1600×1200 "photo" of a field at dusk, JPEG-encoded, so the demo
/// needs no files of its own.
fn field_photo() -> Result<Vec<u8>> {
    let (width, height) = (1600u16, 1200u16);
    let mut pixels = Vec::with_capacity(usize::from(width) * usize::from(height) * 3);
    for y in 0..height {
        for x in 0..width {
            let ground = y > height / 2;
            let stripe = ((x / 40 + y / 30) % 2) as u8 * 18;
            let (r, g, b) = if ground {
                (120 + stripe, 90, 40)
            } else {
                (200, 120 + (y / 8) as u8, 80)
            };
            pixels.extend_from_slice(&[r, g, b]);
        }
    }
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 85)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(jpeg)
}
