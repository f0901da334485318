//! SQL for patrol tracks: the recorder state row, the append-only fixes, and
//! segment seals (`evidence::track_seal` defines the seal and the fixed-point
//! positions stored here).

use crate::error::{Error, Result};
use crate::evidence::track_seal::{accuracy_mm, degrees_e7, from_e7, seal_of, SealedFix};
use crate::geo::bounding_box::BoundingBox;
use crate::geo::datum::LatLon;
use crate::geo::fix::{CheckedFix, Fix};
use crate::geo::recorder::{
    self, Anchor, Decision, RecorderState, SegmentStart, TrackFilter, Verdict, MOVING_SPEED_MPS,
};
use crate::model::track::{FixOutcome, SealedSegment, Track, TrackPoint, TrackStats};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Row};

pub fn insert(conn: &Connection, track: &Track) -> Result<()> {
    let filter = serde_json::to_string(&track.filter).expect("filters serialise");
    conn.prepare_cached(
        "INSERT INTO tracks (id, officer_id, inspection_id, task_id, filter, started_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        track.id,
        track.officer_id,
        track.inspection_id,
        track.task_id,
        filter,
        track.started_at_ms
    ])?;
    Ok(())
}

const TRACK_COLUMNS: &str =
    "id, officer_id, inspection_id, task_id, filter, started_at_ms, stopped_at_ms,
    segments, accepted, mock, invalid, low_accuracy, speed_jump, too_close, too_frequent,
    duplicate_time, out_of_order, length_m, moving_ms, max_speed_mps, first_fix_ms, last_fix_ms,
    min_lat, min_lon, max_lat, max_lon,
    last_seen_ms, last_good_ms, segment_started_ms, last_lat, last_lon, pending_lat, pending_lon,
    pending_time_ms";

/// A track row with the recorder state that belongs to it.
struct TrackRow {
    track: Track,
    state: RecorderState,
}

pub fn load(conn: &Connection, id: &str) -> Result<Track> {
    Ok(load_row(conn, id)?.track)
}

/// The newest track still recording, if any: the patrol a restarted app resumes.
pub fn recording(conn: &Connection) -> Result<Option<Track>> {
    let sql = format!(
        "SELECT {TRACK_COLUMNS} FROM tracks WHERE stopped_at_ms IS NULL
         ORDER BY started_at_ms DESC, id DESC LIMIT 1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([], track_from_row)
        .optional()?
        .map(|row| row.track))
}

fn load_row(conn: &Connection, id: &str) -> Result<TrackRow> {
    let sql = format!("SELECT {TRACK_COLUMNS} FROM tracks WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], track_from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound {
            what: "track",
            id: id.to_owned(),
        })
}

/// Runs one fix through the recorder and stores the outcome: the fix if kept,
/// the counters and state always.
pub fn append(conn: &Connection, id: &str, fix: Fix, now_ms: i64) -> Result<FixOutcome> {
    let TrackRow {
        mut track,
        mut state,
    } = load_row(conn, id)?;
    if track.stopped_at_ms.is_some() {
        return Err(Error::TrackStopped { id: id.to_owned() });
    }
    let outcome = match fix.check() {
        Ok(checked) => {
            let decision = recorder::decide(&track.filter, &mut state, &checked);
            record(conn, &mut track, &checked, decision, now_ms)?
        }
        Err(err) => {
            track.stats.invalid += 1;
            FixOutcome {
                verdict: Verdict::Invalid,
                error_code: Some(err.code().to_owned()),
                segment: None,
                sealed: None,
            }
        }
    };
    save_state(conn, &track, &state)?;
    Ok(outcome)
}

fn record(
    conn: &Connection,
    track: &mut Track,
    fix: &CheckedFix,
    decision: Decision,
    now_ms: i64,
) -> Result<FixOutcome> {
    let stats = &mut track.stats;
    let counter = match decision.verdict {
        Verdict::Accepted => &mut stats.accepted,
        Verdict::Invalid => &mut stats.invalid,
        Verdict::LowAccuracy => &mut stats.low_accuracy,
        Verdict::SpeedJump => &mut stats.speed_jump,
        Verdict::TooClose => &mut stats.too_close,
        Verdict::TooFrequent => &mut stats.too_frequent,
        Verdict::DuplicateTime => &mut stats.duplicate_time,
        Verdict::OutOfOrder => &mut stats.out_of_order,
    };
    *counter += 1;
    let mut outcome = FixOutcome {
        verdict: decision.verdict,
        error_code: None,
        segment: None,
        sealed: None,
    };
    if decision.verdict != Verdict::Accepted {
        return Ok(outcome);
    }
    if let Some(reason) = decision.segment_start {
        if stats.segments > 0 {
            outcome.sealed = Some(seal(conn, &track.id, stats.segments - 1, now_ms)?);
        }
        let stats = &mut track.stats;
        conn.prepare_cached(
            "INSERT INTO track_segments (track_id, segment, start_reason) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![track.id, stats.segments, reason_code(reason)])?;
        stats.segments += 1;
    }
    let stats = &mut track.stats;
    let segment = stats.segments - 1;
    insert_fix(conn, &track.id, stats.accepted, segment, fix)?;
    update_stats(stats, fix, decision);
    outcome.segment = Some(segment);
    Ok(outcome)
}

fn update_stats(stats: &mut TrackStats, fix: &CheckedFix, decision: Decision) {
    let time = fix.fix.time_ms;
    if fix.fix.mock {
        stats.mock += 1;
    }
    if let Some(step) = decision.step {
        stats.length_m += step.distance_m;
        let speed = recorder::speed_mps(step);
        if speed >= MOVING_SPEED_MPS {
            stats.moving_ms += step.duration_ms;
        }
        stats.max_speed_mps = stats.max_speed_mps.max(speed);
    }
    let first = *stats.first_fix_ms.get_or_insert(time);
    stats.last_fix_ms = Some(time);
    stats.duration_ms = time - first;
    let here = BoundingBox::at(fix.point);
    stats.bbox = Some(stats.bbox.map_or(here, |b| b.union(here)));
}

fn insert_fix(
    conn: &Connection,
    track_id: &str,
    seq: u64,
    segment: u32,
    fix: &CheckedFix,
) -> Result<()> {
    let f = &fix.fix;
    conn.prepare_cached(
        "INSERT INTO track_fixes (track_id, seq, segment, time_ms, lat_e7, lon_e7, accuracy_m,
             altitude_m, speed_mps, bearing_deg, provider, mock, reported_datum)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        track_id,
        seq,
        segment,
        f.time_ms,
        degrees_e7(fix.point.lat),
        degrees_e7(fix.point.lon),
        f.accuracy_m,
        f.altitude_m,
        f.speed_mps,
        f.bearing_deg,
        f.provider,
        f.mock,
        f.datum.code(),
    ])?;
    Ok(())
}

fn save_state(conn: &Connection, track: &Track, state: &RecorderState) -> Result<()> {
    let s = &track.stats;
    let bbox = s.bbox;
    let last = state.last_accepted;
    let pending = state.pending_jump;
    conn.prepare_cached(
        "UPDATE tracks SET segments = ?2, accepted = ?3, mock = ?4, invalid = ?5, low_accuracy = ?6,
             speed_jump = ?7, too_close = ?8, too_frequent = ?9, duplicate_time = ?10,
             out_of_order = ?11, length_m = ?12, moving_ms = ?13, max_speed_mps = ?14,
             first_fix_ms = ?15, last_fix_ms = ?16, min_lat = ?17, min_lon = ?18, max_lat = ?19,
             max_lon = ?20, last_seen_ms = ?21, last_good_ms = ?22, segment_started_ms = ?23,
             last_lat = ?24, last_lon = ?25, pending_lat = ?26, pending_lon = ?27,
             pending_time_ms = ?28
         WHERE id = ?1",
    )?
    .execute(params![
        track.id,
        s.segments,
        s.accepted,
        s.mock,
        s.invalid,
        s.low_accuracy,
        s.speed_jump,
        s.too_close,
        s.too_frequent,
        s.duplicate_time,
        s.out_of_order,
        s.length_m,
        s.moving_ms,
        s.max_speed_mps,
        s.first_fix_ms,
        s.last_fix_ms,
        bbox.map(|b| b.min_lat),
        bbox.map(|b| b.min_lon),
        bbox.map(|b| b.max_lat),
        bbox.map(|b| b.max_lon),
        state.last_seen_ms,
        state.last_good_ms,
        state.segment_started_ms,
        last.map(|a| a.point.lat),
        last.map(|a| a.point.lon),
        pending.map(|a| a.point.lat),
        pending.map(|a| a.point.lon),
        pending.map(|a| a.time_ms),
    ])?;
    Ok(())
}

/// Stops recording and seals the open segment, if any. Stopping twice is harmless.
pub fn stop(conn: &Connection, id: &str, now_ms: i64) -> Result<Option<SealedSegment>> {
    let track = load(conn, id)?;
    if track.stopped_at_ms.is_some() {
        return Ok(None);
    }
    let sealed = match track.stats.segments {
        0 => None,
        n => Some(seal(conn, id, n - 1, now_ms)?),
    };
    conn.prepare_cached("UPDATE tracks SET stopped_at_ms = ?2 WHERE id = ?1")?
        .execute(params![id, now_ms])?;
    Ok(sealed)
}

/// Hashes a closed segment's points into its row; the segment's evidence
/// record (kind `track_segment`) signs this seal.
fn seal(conn: &Connection, track_id: &str, segment: u32, now_ms: i64) -> Result<SealedSegment> {
    let seal = seal_of(&sealed_fixes(conn, track_id, segment)?);
    let (count, first, last) = (seal.point_count, seal.first_time_ms, seal.last_time_ms);
    let digest = crate::hex::encode(&seal.finish());
    conn.prepare_cached(
        "UPDATE track_segments SET point_count = ?3, first_time_ms = ?4, last_time_ms = ?5,
             points_sha256 = ?6, sealed_at_ms = ?7
         WHERE track_id = ?1 AND segment = ?2",
    )?
    .execute(params![
        track_id, segment, count, first, last, digest, now_ms
    ])?;
    let start_reason: StartReason = conn
        .prepare_cached(
            "SELECT start_reason FROM track_segments WHERE track_id = ?1 AND segment = ?2",
        )?
        .query_row(params![track_id, segment], |row| row.get(0))?;
    Ok(SealedSegment {
        track_id: track_id.to_owned(),
        segment,
        start_reason: start_reason.0,
        point_count: count,
        first_time_ms: first.unwrap_or(last),
        last_time_ms: last,
        points_sha256: digest,
    })
}

/// A segment's fixes as its seal covers them, in order.
pub fn sealed_fixes(conn: &Connection, track_id: &str, segment: u32) -> Result<Vec<SealedFix>> {
    let mut stmt = conn.prepare_cached(
        "SELECT time_ms, lat_e7, lon_e7, accuracy_m, mock FROM track_fixes
         WHERE track_id = ?1 AND segment = ?2 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![track_id, segment], |row| {
        Ok(SealedFix {
            time_ms: row.get(0)?,
            lat_e7: row.get(1)?,
            lon_e7: row.get(2)?,
            accuracy_mm: row.get::<_, Option<f64>>(3)?.map(accuracy_mm),
            mock: row.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn sealed_segments(conn: &Connection, id: &str) -> Result<Vec<SealedSegment>> {
    let mut stmt = conn.prepare_cached(
        "SELECT segment, start_reason, point_count, first_time_ms, last_time_ms, points_sha256
         FROM track_segments WHERE track_id = ?1 AND points_sha256 IS NOT NULL ORDER BY segment",
    )?;
    let rows = stmt.query_map([id], |row| {
        Ok(SealedSegment {
            track_id: id.to_owned(),
            segment: row.get(0)?,
            start_reason: row.get::<_, StartReason>(1)?.0,
            point_count: row.get(2)?,
            first_time_ms: row.get(3)?,
            last_time_ms: row.get(4)?,
            points_sha256: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn points(conn: &Connection, id: &str) -> Result<Vec<TrackPoint>> {
    let mut stmt = conn.prepare_cached(
        "SELECT segment, lat_e7, lon_e7, time_ms, accuracy_m, altitude_m, speed_mps, bearing_deg,
             provider, mock
         FROM track_fixes WHERE track_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([id], |row| {
        Ok(TrackPoint {
            segment: row.get(0)?,
            lat: from_e7(row.get(1)?),
            lon: from_e7(row.get(2)?),
            time_ms: row.get(3)?,
            accuracy_m: row.get(4)?,
            altitude_m: row.get(5)?,
            speed_mps: row.get(6)?,
            bearing_deg: row.get(7)?,
            provider: row.get(8)?,
            mock: row.get(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn reason_code(reason: SegmentStart) -> &'static str {
    match reason {
        SegmentStart::First => "first",
        SegmentStart::Gap => "gap",
        SegmentStart::Interval => "interval",
        SegmentStart::Jump => "jump",
    }
}

struct StartReason(SegmentStart);

impl FromSql for StartReason {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let reason = [
            SegmentStart::First,
            SegmentStart::Gap,
            SegmentStart::Interval,
            SegmentStart::Jump,
        ]
        .into_iter()
        .find(|r| reason_code(*r) == value.as_str().unwrap_or_default());
        reason.map(StartReason).ok_or(FromSqlError::InvalidType)
    }
}

fn anchor(lat: Option<f64>, lon: Option<f64>, time_ms: Option<i64>) -> Option<Anchor> {
    Some(Anchor {
        point: LatLon {
            lat: lat?,
            lon: lon?,
        },
        time_ms: time_ms?,
    })
}

fn track_from_row(row: &Row) -> rusqlite::Result<TrackRow> {
    let filter: String = row.get(4)?;
    let filter: TrackFilter = serde_json::from_str(&filter).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let bbox = match (row.get(22)?, row.get(23)?, row.get(24)?, row.get(25)?) {
        (Some(min_lat), Some(min_lon), Some(max_lat), Some(max_lon)) => Some(BoundingBox {
            min_lat,
            min_lon,
            max_lat,
            max_lon,
        }),
        _ => None,
    };
    let first_fix_ms: Option<i64> = row.get(20)?;
    let last_fix_ms: Option<i64> = row.get(21)?;
    let stats = TrackStats {
        segments: row.get(7)?,
        accepted: row.get(8)?,
        mock: row.get(9)?,
        invalid: row.get(10)?,
        low_accuracy: row.get(11)?,
        speed_jump: row.get(12)?,
        too_close: row.get(13)?,
        too_frequent: row.get(14)?,
        duplicate_time: row.get(15)?,
        out_of_order: row.get(16)?,
        length_m: row.get(17)?,
        duration_ms: last_fix_ms.zip(first_fix_ms).map_or(0, |(l, f)| l - f),
        moving_ms: row.get(18)?,
        max_speed_mps: row.get(19)?,
        first_fix_ms,
        last_fix_ms,
        bbox,
    };
    let state = RecorderState {
        last_accepted: anchor(row.get(29)?, row.get(30)?, last_fix_ms),
        segment_started_ms: row.get(28)?,
        last_seen_ms: row.get(26)?,
        last_good_ms: row.get(27)?,
        pending_jump: anchor(row.get(31)?, row.get(32)?, row.get(33)?),
    };
    Ok(TrackRow {
        track: Track {
            id: row.get(0)?,
            officer_id: row.get(1)?,
            inspection_id: row.get(2)?,
            task_id: row.get(3)?,
            filter,
            started_at_ms: row.get(5)?,
            stopped_at_ms: row.get(6)?,
            stats,
        },
        state,
    })
}

/// Counts fixes rejected before they could reach the recorder (e.g. GPX points
/// without a readable position).
pub fn count_invalid(conn: &Connection, id: &str, n: u64) -> Result<()> {
    conn.prepare_cached("UPDATE tracks SET invalid = invalid + ?2 WHERE id = ?1")?
        .execute(params![id, n])?;
    Ok(())
}
