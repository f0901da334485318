//! Every GPX recording in the corpus replayed through the track recorder, with the
//! outcome each file's content calls for (see corpus gpx/SOURCES.md), plus seal
//! hashes recomputed independently and recording across a restart.

mod support;

use fieldproof_core::geo::datum::Datum;
use fieldproof_core::geo::fix::Fix;
use fieldproof_core::model::track::{Track, TrackStats};
use fieldproof_core::store::{NewTrack, Store};

fn import(store: &Store, file: &str) -> Track {
    let bytes = std::fs::read(support::corpus_dir("gpx").join(file)).unwrap();
    store.import_gpx(&bytes, "officer-17").unwrap()
}

fn rejected(s: &TrackStats) -> u64 {
    s.invalid
        + s.low_accuracy
        + s.speed_jump
        + s.too_close
        + s.too_frequent
        + s.duplicate_time
        + s.out_of_order
}

/// Expected per file: (trkpts, accepted, segments, counts that must be non-zero).
#[test]
fn corpus_recordings_give_the_expected_counts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();

    // Driving, 1–49 s spacing, up to 26 m/s: all plausible travel; a few stops
    // closer than 2 m to the last kept fix.
    let car = import(&store, "gpxpy_around-visnjan-with-car.gpx").stats;
    assert_eq!((car.accepted, car.too_close, rejected(&car)), (99, 5, 5));
    assert_eq!(car.segments, 1, "8 minutes, no gap over 2 minutes");
    assert!(
        (25.0..27.0).contains(&car.max_speed_mps),
        "{}",
        car.max_speed_mps
    );
    assert!(
        (2_500.0..3_000.0).contains(&car.length_m),
        "{}",
        car.length_m
    );

    // Every point carries the 1901 INT32_MIN sentinel: a broken clock, all invalid.
    let broken = import(&store, "gpxpy_Mojstrovka.gpx").stats;
    assert_eq!(
        (broken.invalid, broken.accepted, broken.segments),
        (184, 0, 0)
    );

    // 1 Hz walk for 92 minutes: sealed every 10 minutes, standing still dropped.
    let walk = import(&store, "georust_garmin-activity.gpx").stats;
    assert_eq!(
        (walk.accepted, walk.too_close, rejected(&walk)),
        (964, 24, 24)
    );
    assert_eq!(walk.segments, 10);
    assert_eq!(walk.duration_ms, 5_498_000);

    // 10-hour hike in two GPX segments with gaps under 43 s: one continuous track
    // for the recorder (gap threshold 2 min), sealed every 10 minutes.
    let hike = import(&store, "georust_garmin_with_extensions.gpx").stats;
    assert_eq!(hike.accepted + rejected(&hike), 3_540);
    assert_eq!(
        (hike.accepted, hike.too_close, hike.invalid),
        (2_965, 575, 0)
    );
    // Each sealed-on-schedule segment spans at least 10 minutes.
    assert_eq!(hike.segments, 60);
    assert!(hike.segments as i64 <= hike.duration_ms / 600_000 + 1);

    // Two tiny tracks with repeated timestamps and a 17-hour gap.
    let tiny = import(&store, "georust_caltopo-export.gpx").stats;
    assert_eq!(
        (tiny.accepted, tiny.duplicate_time, tiny.segments),
        (3, 3, 3)
    );
    assert_eq!(
        tiny.length_m, 0.0,
        "no two kept fixes are within one segment"
    );

    // Three points 500 m and 1 km apart one second each: two jumps.
    let jumpy = import(&store, "georust_with_accuracy.gpx").stats;
    assert_eq!((jumpy.accepted, jumpy.speed_jump), (1, 2));
}

/// The seal hash, recomputed from the exported points with the encoding that
/// `store::tracks` documents.
#[test]
fn seal_hashes_can_be_recomputed_from_the_points() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    let track = import(&store, "georust_garmin-activity.gpx");
    let points = store.track_points(&track.id).unwrap();
    let seals = store.sealed_segments(&track.id).unwrap();
    assert_eq!(
        seals.len() as u32,
        track.stats.segments,
        "stop sealed the last segment"
    );
    for seal in seals {
        let mut bytes = Vec::new();
        let mut count = 0;
        for p in points.iter().filter(|p| p.segment == seal.segment) {
            bytes.extend_from_slice(&p.time_ms.to_be_bytes());
            bytes.extend_from_slice(&((p.lat * 1e7).round() as i32).to_be_bytes());
            bytes.extend_from_slice(&((p.lon * 1e7).round() as i32).to_be_bytes());
            let accuracy = p.accuracy_m.map_or(-1, |a| (a * 1000.0).round() as i32);
            bytes.extend_from_slice(&accuracy.to_be_bytes());
            bytes.push(u8::from(p.mock));
            count += 1;
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(seal.points_sha256, hex, "segment {}", seal.segment);
        assert_eq!(seal.point_count, count);
    }
}

fn walk_fix(i: i64) -> Fix {
    Fix {
        lat: 28.2 + i as f64 * 2.0e-5,
        lon: 113.1,
        datum: Datum::Gcj02,
        accuracy_m: Some(5.0),
        altitude_m: None,
        speed_mps: None,
        bearing_deg: None,
        time_ms: 1_790_000_000_000 + i * 1_000,
        provider: "fused".into(),
        mock: false,
    }
}

/// A process killed mid-patrol loses nothing: the recorder state is in the
/// database, so a restarted app continues exactly as an uninterrupted one.
#[test]
fn recording_continues_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, restart_at: Option<i64>| {
        let path = dir.path().join(name);
        let mut store = Store::open(&path).unwrap();
        let mut id = store
            .start_track(NewTrack {
                officer_id: "officer-17".into(),
                ..NewTrack::default()
            })
            .unwrap()
            .id;
        for i in 0..400 {
            if Some(i) == restart_at {
                drop(store);
                store = Store::open(&path).unwrap();
                // The restarted patrol service asks which patrol is open.
                let open = store.recording_track().unwrap().expect("still recording");
                assert_eq!(open.id, id);
                id = open.id;
            }
            // A jump at 150 (rejected) and a 3-minute gap at 250.
            let mut fix = walk_fix(if i >= 250 { i + 180 } else { i });
            if i == 150 {
                fix.lat += 0.1;
            }
            store.append_fix(&id, fix).unwrap();
        }
        let track = store.stop_track(&id).unwrap();
        assert_eq!(store.recording_track().unwrap(), None, "stopped");
        (
            track.stats,
            store.sealed_segments(&id).unwrap(),
            store.track_points(&id).unwrap(),
        )
    };
    let uninterrupted = run("a.db", None);
    let restarted = run("b.db", Some(151));
    assert_eq!(uninterrupted.0, restarted.0);
    assert_eq!(uninterrupted.1.len(), restarted.1.len());
    for (a, b) in uninterrupted.1.iter().zip(&restarted.1) {
        assert_eq!(a.points_sha256, b.points_sha256);
    }
    assert_eq!(uninterrupted.2, restarted.2);
    assert_eq!(uninterrupted.0.speed_jump, 1);
    assert_eq!(uninterrupted.0.segments, 2);
}

/// The patrol to resume is the newest one still recording; stopped ones never.
#[test]
fn the_recording_track_is_the_newest_not_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("d.db")).unwrap();
    assert_eq!(store.recording_track().unwrap(), None);
    let start = |officer: &str| {
        store
            .start_track(NewTrack {
                officer_id: officer.into(),
                ..NewTrack::default()
            })
            .unwrap()
    };
    let older = start("officer-1");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let newer = start("officer-1");
    assert_eq!(store.recording_track().unwrap().unwrap().id, newer.id);
    store.stop_track(&newer.id).unwrap();
    assert_eq!(store.recording_track().unwrap().unwrap().id, older.id);
    store.stop_track(&older.id).unwrap();
    assert_eq!(store.recording_track().unwrap(), None);
}

/// Each sealed segment is vouched for by a signed `track_segment` evidence record
/// carrying the seal hash, and the device chain stays intact.
#[test]
fn seals_become_signed_evidence_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db")).unwrap();
    let track = import(&store, "georust_garmin-activity.gpx");
    let seals = store.sealed_segments(&track.id).unwrap();
    let report = store.verify_evidence().unwrap();
    assert!(report.is_intact(), "{:?}", report.failures);
    assert_eq!(report.records, seals.len() as u64);
    let key = store.device_public_key().unwrap();
    for (seq, seal) in (1..).zip(&seals) {
        let signed = store.evidence_record(seq).unwrap();
        let sign1 = fieldproof_core::evidence::cose::parse_sign1(&signed).unwrap();
        fieldproof_core::evidence::cose::verify_sign1(&sign1, &key).unwrap();
        let payload =
            fieldproof_core::evidence::record::EvidencePayload::decode(&sign1.payload).unwrap();
        match payload.event {
            fieldproof_core::evidence::record::Event::TrackSegment(segment) => {
                assert_eq!(segment.track_id, track.id);
                assert_eq!(segment.index, u64::from(seal.segment));
                let hex: String = segment
                    .points_sha256
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                assert_eq!(hex, seal.points_sha256);
                assert_eq!(segment.point_count, seal.point_count);
            }
            other => panic!("record {seq} is {}", other.kind()),
        }
    }
}
