//! GPX import of real files from the shared corpus (`gpx/`, see its
//! SOURCES.md): point counts and track structure as measured there with
//! gpxpy, times, device quirks, and export → import round trips.

mod support;

use fieldproof_core::geo::datum::LatLon;
use fieldproof_core::geo::geodesy::distance_m;
use fieldproof_core::geo::gpx::{parse_gpx, write_gpx, GpxFile, GpxPoint};
use std::path::PathBuf;

/// 1901-12-13T20:45:52.207Z: INT32_MIN seconds (the sentinel of a device
/// clock that was never set) plus the file's fraction.
const MOJSTROVKA_SENTINEL_MS: i64 = -2_147_483_647_793;

/// File, then points per segment of each track, as SOURCES.md states.
const FILES: [(&str, &[&[usize]]); 6] = [
    ("gpxpy_around-visnjan-with-car.gpx", &[&[104]]),
    ("gpxpy_Mojstrovka.gpx", &[&[184]]),
    ("georust_garmin-activity.gpx", &[&[988]]),
    ("georust_garmin_with_extensions.gpx", &[&[35, 3505]]),
    ("georust_caltopo-export.gpx", &[&[3], &[3]]),
    ("georust_with_accuracy.gpx", &[&[3]]),
];

fn gpx_dir() -> PathBuf {
    support::corpus_dir("gpx")
}

fn parse(file: &str) -> GpxFile {
    let path = gpx_dir().join(file);
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_gpx(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn points(file: &GpxFile) -> impl Iterator<Item = &GpxPoint> {
    file.tracks.iter().flat_map(|t| t.segments.iter().flatten())
}

fn times(file: &GpxFile) -> Vec<i64> {
    points(file)
        .map(|p| p.time_ms.expect("every point has a time"))
        .collect()
}

/// UTC ms of a whole-second RFC 3339 time, via an independent route: the
/// day count from a fixed anchor (2017-01-01 = 1 483 228 800 s).
fn utc_ms(year: i64, month: u32, day: u32, h: i64, m: i64, s: i64) -> i64 {
    let days_before_month = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap_days = (2017..year).filter(|y| y % 4 == 0).count() as i64;
    let mut days = (year - 2017) * 365 + leap_days + days_before_month[month as usize - 1];
    if year % 4 == 0 && month > 2 {
        days += 1;
    }
    days += i64::from(day) - 1;
    (1_483_228_800 + days * 86_400 + h * 3_600 + m * 60 + s) * 1_000
}

#[test]
fn corpus_files_have_the_documented_structure() {
    for (file, tracks) in FILES {
        let gpx = parse(file);
        let structure: Vec<Vec<usize>> = gpx
            .tracks
            .iter()
            .map(|t| t.segments.iter().map(Vec::len).collect())
            .collect();
        assert_eq!(structure, tracks, "{file}");
        assert_eq!(gpx.skipped_points, 0, "{file}");
        let total: usize = tracks.iter().flat_map(|t| t.iter()).sum();
        assert_eq!(points(&gpx).count(), total, "{file}");
    }
}

#[test]
fn garmin_activity_ignores_its_empty_route_and_extensions() {
    // The file ends with `<rte></rte>`; heart rate and cadence sit in
    // TrackPointExtension and are not ours to keep.
    let gpx = parse("georust_garmin-activity.gpx");
    assert_eq!(gpx.tracks.len(), 1);
    assert_eq!(gpx.tracks[0].name.as_deref(), Some("casual stroll"));
    let first = &gpx.tracks[0].segments[0][0];
    // Garmin Connect prints the exact decimal value of an f32.
    let (lat, lon) = (
        "37.24173816852271556854248046875",
        "-121.9723242335021495819091796875",
    );
    assert_eq!(first.lat, lat.parse::<f64>().unwrap());
    assert_eq!(first.lon, lon.parse::<f64>().unwrap());
    assert_eq!(first.ele_m, Some(104.0));
    assert_eq!(
        (first.speed_mps, first.course_deg, first.hdop),
        (None, None, None)
    );
    let t = times(&gpx);
    assert_eq!(t.first(), Some(&utc_ms(2017, 7, 29, 14, 46, 35)));
    assert_eq!(t.last(), Some(&utc_ms(2017, 7, 29, 16, 18, 13)));
    // 1 Hz walking with pauses: 1 s to 12 s between points.
    assert!(t
        .windows(2)
        .all(|w| (1_000..=12_000).contains(&(w[1] - w[0]))));
}

#[test]
fn time_ranges_match_sources() {
    for (file, first, last) in [
        (
            "gpxpy_around-visnjan-with-car.gpx",
            utc_ms(2020, 12, 18, 6, 15, 50),
            utc_ms(2020, 12, 18, 6, 24, 24),
        ),
        (
            "georust_garmin_with_extensions.gpx",
            utc_ms(2019, 5, 1, 4, 31, 11),
            utc_ms(2019, 5, 1, 14, 41, 35),
        ),
    ] {
        let t = times(&parse(file));
        assert_eq!((t[0], t[t.len() - 1]), (first, last), "{file}");
    }
    let caltopo = times(&parse("georust_caltopo-export.gpx"));
    // Duplicated times, then a 17 h gap between the two days.
    assert_eq!(caltopo[0], caltopo[1]);
    assert_eq!(
        caltopo[3] - caltopo[2],
        utc_ms(2019, 8, 13, 16, 51, 0) - utc_ms(2019, 8, 12, 23, 45, 0)
    );
}

#[test]
fn mojstrovka_times_are_all_the_1901_sentinel() {
    let gpx = parse("gpxpy_Mojstrovka.gpx");
    let t = times(&gpx);
    assert_eq!(t.len(), 184);
    // 183 are written with 7 fractional digits, one with 3; all are the
    // same millisecond.
    assert!(t.iter().all(|&ms| ms == MOJSTROVKA_SENTINEL_MS), "{t:?}");
    // GPX 1.0 without a track name; the metadata <time> is not a point's.
    assert_eq!(gpx.tracks[0].name, None);
}

#[test]
fn fix_hdop_and_elevation_as_written() {
    let gpx = parse("georust_with_accuracy.gpx");
    let p: Vec<&GpxPoint> = points(&gpx).collect();
    let fixes: Vec<Option<&str>> = p.iter().map(|p| p.fix.as_deref()).collect();
    assert_eq!(
        fixes,
        [Some("dgps"), Some("3d"), Some("something_not_in_the_spec")]
    );
    let hdops: Vec<Option<f64>> = p.iter().map(|p| p.hdop).collect();
    assert_eq!(hdops, [Some(5.0), Some(3.6), None]);
    let elevations: Vec<Option<f64>> = p.iter().map(|p| p.ele_m).collect();
    assert_eq!(elevations, [Some(50.3), Some(0.0), None]);
    assert_eq!(gpx.tracks[0].name.as_deref(), Some("Cycling"));
}

#[test]
fn visnjan_drive_hops_match_sources() {
    // SOURCES.md (gpxpy + haversine): max hop 274 m, max 26 m/s.
    let gpx = parse("gpxpy_around-visnjan-with-car.gpx");
    let p: Vec<&GpxPoint> = points(&gpx).collect();
    let (mut max_hop_m, mut max_speed_mps) = (0.0_f64, 0.0_f64);
    for w in p.windows(2) {
        let hop = distance_m(
            LatLon {
                lat: w[0].lat,
                lon: w[0].lon,
            },
            LatLon {
                lat: w[1].lat,
                lon: w[1].lon,
            },
        );
        let seconds = (w[1].time_ms.unwrap() - w[0].time_ms.unwrap()) as f64 / 1_000.0;
        max_hop_m = max_hop_m.max(hop);
        max_speed_mps = max_speed_mps.max(hop / seconds);
    }
    // Haversine on a sphere and Vincenty on the ellipsoid differ by < 0.5 %.
    assert!((max_hop_m / 274.0 - 1.0).abs() < 0.005, "{max_hop_m}");
    assert!((max_speed_mps / 26.0 - 1.0).abs() < 0.03, "{max_speed_mps}");
}

#[test]
fn every_corpus_track_round_trips_through_export() {
    for (file, _) in FILES {
        for track in parse(file).tracks {
            let xml = write_gpx(track.name.as_deref().unwrap_or(""), &track.segments);
            let back = parse_gpx(xml.as_bytes()).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(back.skipped_points, 0);
            assert_eq!(back.tracks.len(), 1, "{file}");
            assert_eq!(back.tracks[0].name, track.name, "{file}");
            // Export writes only the <fix> values GPX 1.1 defines.
            let mut expected = track.segments.clone();
            for p in expected.iter_mut().flatten() {
                if p.fix.as_deref() == Some("something_not_in_the_spec") {
                    p.fix = None;
                }
            }
            assert_eq!(back.tracks[0].segments, expected, "{file}");
        }
    }
}
