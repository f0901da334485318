//! `fieldproof demo`: a short scripted patrol on a fresh device database — the
//! main job README's first command runs. Later work (evidence, tracks, sync)
//! grows it into the full demo.

use crate::output::Output;
use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::point::GeoPoint;
use fieldproof_core::model::checklist::{Answer, AnswerValue};
use fieldproof_core::model::inspection::{DraftFields, InspectionFilter};
use fieldproof_core::model::time::now_ms;
use fieldproof_core::store::Store;
use fieldproof_core::{Error, Result};
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Database to record into; a new one in a fresh temporary directory by default.
    #[arg(long)]
    db: Option<PathBuf>,
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
    let store = Store::open(&path)?;
    let step = |what: &str, detail: serde_json::Value| {
        let line = json!({ "step": what, "detail": detail });
        out.print(&line, || format!("{what:<10} {detail}"));
    };
    step("database", json!(path.display().to_string()));

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

    let listed = store.list_inspections(&InspectionFilter::default(), 50, None)?;
    let outbox = store.pending_outbox(100)?;
    step(
        "summary",
        json!({ "inspections": listed.items.len(), "outbox": outbox.iter().map(|op| &op.kind).collect::<Vec<_>>() }),
    );
    Ok(())
}
