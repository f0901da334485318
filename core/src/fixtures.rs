//! Sample data for the tests and benchmarks of every crate (cargo feature
//! `fixtures`; never in a release build): a straw-burning inspection answered as
//! the default checklist requires, so that it can be submitted.

use crate::geo::datum::Datum;
use crate::geo::point::GeoPoint;
use crate::model::checklist::{Answer, AnswerValue};
use crate::model::inspection::DraftFields;

/// Every required item of the default straw-burning checklist, validly answered.
pub fn straw_burning_answers() -> Vec<Answer> {
    let yes = |item: &str| Answer {
        item_id: item.into(),
        value: AnswerValue::YesNo(true),
    };
    let mut answers: Vec<Answer> = [
        "fire_on_arrival",
        "extinguished",
        "responsible_party_identified",
        "warning_issued",
    ]
    .into_iter()
    .map(yes)
    .collect();
    answers.push(Answer {
        item_id: "burned_area_mu".into(),
        value: AnswerValue::Number(2.5),
    });
    answers.push(Answer {
        item_id: "material".into(),
        value: AnswerValue::Choice("rice_straw".into()),
    });
    answers
}

/// A draft in `township` at a field near Changsha (GCJ-02, as a phone map gives it);
/// callers change what their test is about with struct update syntax.
pub fn draft_fields(township: &str) -> DraftFields {
    DraftFields {
        township_code: township.into(),
        county_code: None,
        site: GeoPoint {
            lat: 28.2282,
            lon: 112.9388,
            datum: Datum::Gcj02,
        },
        address: "test field".into(),
        task_id: None,
        officer_id: "officer-test".into(),
        started_at_ms: 1_790_000_000_000,
        ended_at_ms: None,
        findings: String::new(),
        responsible_party: None,
    }
}
