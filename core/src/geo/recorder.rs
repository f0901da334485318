//! The patrol track recorder: which fixes to keep, where segments break, and the
//! statistics. Pure logic; `store::tracks` persists the state between calls.

use super::datum::LatLon;
use super::fix::CheckedFix;
use super::geodesy::distance_m;
use serde::{Deserialize, Serialize};

/// Noise filters; every field has a default suited to patrols on foot, by bike or
/// by car at ~1 fix per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackFilter {
    /// Fixes with a worse (larger) accuracy radius are dropped.
    pub max_accuracy_m: f64,
    /// An implied speed above this between two fixes is a GNSS jump, not travel.
    pub max_speed_mps: f64,
    /// Fixes closer than this to the last kept one add nothing but noise.
    pub min_distance_m: f64,
    pub min_interval_ms: i64,
    /// No usable fix for this long starts a new segment.
    pub gap_ms: i64,
    /// Segments are sealed at least this often, so evidence of a long patrol
    /// accumulates while it goes on.
    pub segment_max_ms: i64,
}

impl Default for TrackFilter {
    fn default() -> Self {
        TrackFilter {
            max_accuracy_m: 50.0,
            max_speed_mps: 70.0,
            min_distance_m: 2.0,
            min_interval_ms: 1_000,
            gap_ms: 120_000,
            segment_max_ms: 600_000,
        }
    }
}

/// What happened to one fix. Codes are stable (statistics, CLI, FFI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    /// Failed validation (NaN, out of range, impossible time, …).
    Invalid,
    LowAccuracy,
    SpeedJump,
    TooClose,
    TooFrequent,
    DuplicateTime,
    OutOfOrder,
}

/// Why a new segment starts with an accepted fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentStart {
    First,
    Gap,
    /// The previous segment reached `segment_max_ms`; travel continues across.
    Interval,
    /// Fixes settled at a new place after a jump: the jump was real (e.g. the
    /// receiver re-acquired after a tunnel), so the track continues from there.
    Jump,
}

/// A fix as the recorder remembers it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    pub point: LatLon,
    pub time_ms: i64,
}

/// Recorder state carried from one fix to the next.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecorderState {
    /// The last accepted fix and when its segment started.
    pub last_accepted: Option<Anchor>,
    pub segment_started_ms: Option<i64>,
    /// The newest valid fix seen, kept or not: orders the stream.
    pub last_seen_ms: Option<i64>,
    /// The newest fix good enough to show the receiver had a usable signal
    /// (accepted or merely redundant): measures gaps.
    pub last_good_ms: Option<i64>,
    /// A fix rejected as a jump, remembered to tell a real relocation from noise.
    pub pending_jump: Option<Anchor>,
}

/// Movement between the previous accepted fix and this one, within a segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub distance_m: f64,
    pub duration_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    /// Set when an accepted fix opens a new segment (closing the previous one).
    pub segment_start: Option<SegmentStart>,
    /// Set for accepted fixes that continue the track (counted in its length).
    pub step: Option<Step>,
}

/// Below this a fix-to-fix speed is GNSS wander of someone standing still.
pub const MOVING_SPEED_MPS: f64 = 0.5;

impl Decision {
    fn rejected(verdict: Verdict) -> Decision {
        Decision {
            verdict,
            segment_start: None,
            step: None,
        }
    }

    fn accepted(segment_start: Option<SegmentStart>, step: Option<Step>) -> Decision {
        Decision {
            verdict: Verdict::Accepted,
            segment_start,
            step,
        }
    }
}

/// Decides about one validated fix and updates `state`.
pub fn decide(filter: &TrackFilter, state: &mut RecorderState, fix: &CheckedFix) -> Decision {
    let time = fix.fix.time_ms;
    let here = Anchor {
        point: fix.point,
        time_ms: time,
    };
    match state.last_seen_ms {
        Some(seen) if time == seen => return Decision::rejected(Verdict::DuplicateTime),
        Some(seen) if time < seen => return Decision::rejected(Verdict::OutOfOrder),
        _ => state.last_seen_ms = Some(time),
    }
    if fix
        .fix
        .accuracy_m
        .is_some_and(|a| a > filter.max_accuracy_m)
    {
        return Decision::rejected(Verdict::LowAccuracy);
    }
    let Some(last) = state.last_accepted else {
        return accept(state, here, Some(SegmentStart::First), None);
    };
    if state
        .last_good_ms
        .is_some_and(|good| time - good > filter.gap_ms)
    {
        return accept(state, here, Some(SegmentStart::Gap), None);
    }
    let step = Step {
        distance_m: distance_m(last.point, here.point),
        duration_ms: time - last.time_ms,
    };
    if speed_mps(step) > filter.max_speed_mps {
        let settled = state.pending_jump.is_some_and(|pending| {
            let from_pending = Step {
                distance_m: distance_m(pending.point, here.point),
                duration_ms: time - pending.time_ms,
            };
            speed_mps(from_pending) <= filter.max_speed_mps
        });
        if settled {
            return accept(state, here, Some(SegmentStart::Jump), None);
        }
        state.pending_jump = Some(here);
        return Decision::rejected(Verdict::SpeedJump);
    }
    state.last_good_ms = Some(time);
    if step.duration_ms < filter.min_interval_ms {
        return Decision::rejected(Verdict::TooFrequent);
    }
    if step.distance_m < filter.min_distance_m {
        return Decision::rejected(Verdict::TooClose);
    }
    let segment_full = state
        .segment_started_ms
        .is_some_and(|start| time - start >= filter.segment_max_ms);
    accept(
        state,
        here,
        segment_full.then_some(SegmentStart::Interval),
        Some(step),
    )
}

fn accept(
    state: &mut RecorderState,
    here: Anchor,
    start: Option<SegmentStart>,
    step: Option<Step>,
) -> Decision {
    state.last_accepted = Some(here);
    state.last_good_ms = Some(here.time_ms);
    state.pending_jump = None;
    if start.is_some() {
        state.segment_started_ms = Some(here.time_ms);
    }
    Decision::accepted(start, step)
}

/// Speed over a step; a zero-duration step is infinitely fast (two places at once).
pub fn speed_mps(step: Step) -> f64 {
    if step.duration_ms <= 0 {
        return f64::INFINITY;
    }
    step.distance_m / (step.duration_ms as f64 / 1_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::datum::Datum;
    use crate::geo::fix::Fix;

    const T0: i64 = 1_790_000_000_000;
    /// Roughly one metre of latitude, in degrees.
    const METRE: f64 = 1.0 / 111_000.0;

    fn fix_at(metres_north: f64, seconds: i64, accuracy: f64) -> CheckedFix {
        Fix {
            lat: 28.2 + metres_north * METRE,
            lon: 113.1,
            datum: Datum::Wgs84,
            accuracy_m: Some(accuracy),
            altitude_m: None,
            speed_mps: None,
            bearing_deg: None,
            time_ms: T0 + seconds * 1_000,
            provider: "gps".into(),
            mock: false,
        }
        .check()
        .unwrap()
    }

    fn run(fixes: &[CheckedFix]) -> Vec<Decision> {
        let filter = TrackFilter::default();
        let mut state = RecorderState::default();
        fixes
            .iter()
            .map(|f| decide(&filter, &mut state, f))
            .collect()
    }

    fn verdicts(fixes: &[CheckedFix]) -> Vec<Verdict> {
        run(fixes).into_iter().map(|d| d.verdict).collect()
    }

    #[test]
    fn walking_is_kept_with_steps() {
        let fixes: Vec<_> = (0..5).map(|s| fix_at(s as f64 * 2.5, s, 5.0)).collect();
        let decisions = run(&fixes);
        assert_eq!(decisions[0].segment_start, Some(SegmentStart::First));
        assert!(decisions.iter().all(|d| d.verdict == Verdict::Accepted));
        let step = decisions[1].step.unwrap();
        assert!((step.distance_m - 2.5).abs() < 0.05 && step.duration_ms == 1_000);
    }

    #[test]
    fn each_filter_rejects_its_case() {
        use Verdict::*;
        let fixes = [
            fix_at(0.0, 0, 5.0),
            fix_at(10.0, 0, 5.0),    // same timestamp
            fix_at(10.0, -5, 5.0),   // earlier than one already seen
            fix_at(10.0, 1, 80.0),   // poor accuracy
            fix_at(5_000.0, 2, 5.0), // 5 km in a second
            fix_at(1.0, 3, 5.0),     // one metre from the last kept fix
            fix_at(10.0, 4, 5.0),
        ];
        assert_eq!(
            verdicts(&fixes),
            [
                Accepted,
                DuplicateTime,
                OutOfOrder,
                LowAccuracy,
                SpeedJump,
                TooClose,
                Accepted
            ]
        );
    }

    #[test]
    fn too_frequent_fixes_are_dropped() {
        let mut a = fix_at(0.0, 0, 5.0);
        let mut b = fix_at(20.0, 0, 5.0);
        a.fix.time_ms = T0;
        b.fix.time_ms = T0 + 400;
        assert_eq!(verdicts(&[a, b]), [Verdict::Accepted, Verdict::TooFrequent]);
    }

    #[test]
    fn a_gap_starts_a_new_segment_but_standing_still_does_not() {
        // Standing still for five minutes: redundant fixes, no gap.
        let mut fixes: Vec<_> = (0..300).map(|s| fix_at(0.0, s, 5.0)).collect();
        fixes.push(fix_at(10.0, 300, 5.0));
        let decisions = run(&fixes);
        assert_eq!(decisions[300].segment_start, None);
        assert_eq!(decisions[300].verdict, Verdict::Accepted);
        // Three minutes without any fix.
        let decisions = run(&[fix_at(0.0, 0, 5.0), fix_at(100.0, 180, 5.0)]);
        assert_eq!(decisions[1].segment_start, Some(SegmentStart::Gap));
        assert_eq!(decisions[1].step, None, "a gap is not counted as travel");
    }

    #[test]
    fn a_settled_jump_continues_in_a_new_segment() {
        let fixes = [
            fix_at(0.0, 0, 5.0),
            fix_at(3_000.0, 5, 5.0), // jump…
            fix_at(3_005.0, 6, 5.0), // …and the next fix agrees with it
        ];
        let decisions = run(&fixes);
        assert_eq!(decisions[1].verdict, Verdict::SpeedJump);
        assert_eq!(decisions[2].verdict, Verdict::Accepted);
        assert_eq!(decisions[2].segment_start, Some(SegmentStart::Jump));
    }

    #[test]
    fn long_segments_are_split_on_schedule() {
        let fixes: Vec<_> = (0..=600).map(|s| fix_at(s as f64 * 3.0, s, 5.0)).collect();
        let decisions = run(&fixes);
        assert_eq!(decisions[600].segment_start, Some(SegmentStart::Interval));
        assert!(
            decisions[600].step.is_some(),
            "travel continues across a scheduled split"
        );
    }
}
