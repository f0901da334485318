//! Patrol tracks on the device: recording through the recorder, sealing closed
//! segments into evidence, GPX import and GPX/GeoJSON export.

use super::{inspections, tracks, Store};
use crate::error::{Error, Result};
use crate::geo::datum::{Datum, LatLon};
use crate::geo::fix::Fix;
use crate::geo::gpx::{self, GpxPoint};
use crate::geo::recorder::TrackFilter;
use crate::geo::{geojson, simplify};
use crate::model::id::{new_id, parse_id};
use crate::model::inspection::check_reference;
use crate::model::track::{FixOutcome, SealedSegment, Track, TrackPoint, TrackStats};
use crate::time::now_ms;
use rusqlite::Connection;

/// What a new track is linked to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewTrack {
    pub officer_id: String,
    pub inspection_id: Option<String>,
    pub task_id: Option<String>,
    pub filter: Option<TrackFilter>,
}

impl Store {
    /// Starts recording a patrol. `filter` defaults to [`TrackFilter::default`].
    pub fn start_track(&self, new: NewTrack) -> Result<Track> {
        let inspection_id = new
            .inspection_id
            .as_deref()
            .map(|id| parse_id(id, "inspection id"))
            .transpose()?;
        let track = Track {
            id: new_id(),
            officer_id: new.officer_id,
            inspection_id,
            task_id: new.task_id,
            filter: new.filter.unwrap_or_default(),
            started_at_ms: now_ms(),
            stopped_at_ms: None,
            stats: TrackStats::default(),
        };
        check_reference(&track.officer_id, "officer_id")?;
        if let Some(task) = &track.task_id {
            check_reference(task, "task_id")?;
        }
        self.write(|tx| {
            if let Some(inspection) = &track.inspection_id {
                inspections::load(tx, inspection)?;
            }
            tracks::insert(tx, &track)?;
            Ok(track.clone())
        })
    }

    /// Appends one fix (the platform delivers about one a second), committed
    /// before returning.
    pub fn append_fix(&self, track_id: &str, fix: Fix) -> Result<FixOutcome> {
        let id = parse_id(track_id, "track id")?;
        self.write(|tx| self.append_and_seal(tx, &id, fix, now_ms()))
    }

    /// Appends a batch of fixes in one transaction (e.g. after the app was
    /// suspended, or a GPX replay); one outcome per fix, in order.
    pub fn append_fixes(&self, track_id: &str, fixes: Vec<Fix>) -> Result<Vec<FixOutcome>> {
        let id = parse_id(track_id, "track id")?;
        self.write(|tx| {
            let now = now_ms();
            fixes
                .into_iter()
                .map(|fix| self.append_and_seal(tx, &id, fix, now))
                .collect()
        })
    }

    /// Appends a fix; a segment it closes is sealed into a `track_segment`
    /// evidence record in the same transaction.
    fn append_and_seal(&self, tx: &Connection, id: &str, fix: Fix, now: i64) -> Result<FixOutcome> {
        let outcome = tracks::append(tx, id, fix, now)?;
        if let Some(sealed) = &outcome.sealed {
            self.record_segment(tx, sealed, now)?;
        }
        Ok(outcome)
    }

    fn stop_and_seal(&self, tx: &Connection, id: &str, now: i64) -> Result<()> {
        if let Some(sealed) = tracks::stop(tx, id, now)? {
            self.record_segment(tx, &sealed, now)?;
        }
        Ok(())
    }

    /// Stops recording and seals the last segment.
    pub fn stop_track(&self, track_id: &str) -> Result<Track> {
        let id = parse_id(track_id, "track id")?;
        self.write(|tx| {
            self.stop_and_seal(tx, &id, now_ms())?;
            tracks::load(tx, &id)
        })
    }

    pub fn get_track(&self, track_id: &str) -> Result<Track> {
        let id = parse_id(track_id, "track id")?;
        self.read(|conn| tracks::load(conn, &id))
    }

    /// The newest track still recording (not stopped), if any. A platform's
    /// patrol service calls this when its process restarts, to go on feeding
    /// the patrol the officer started instead of beginning another.
    pub fn recording_track(&self) -> Result<Option<Track>> {
        self.read(tracks::recording)
    }

    /// Every stored fix of a track, in order: the full record.
    pub fn track_points(&self, track_id: &str) -> Result<Vec<TrackPoint>> {
        let id = parse_id(track_id, "track id")?;
        self.read(|conn| {
            tracks::load(conn, &id)?;
            tracks::points(conn, &id)
        })
    }

    /// Closed segments with their seal hashes.
    pub fn sealed_segments(&self, track_id: &str) -> Result<Vec<SealedSegment>> {
        let id = parse_id(track_id, "track id")?;
        self.read(|conn| {
            tracks::load(conn, &id)?;
            tracks::sealed_segments(conn, &id)
        })
    }

    /// Replays a GPX recording through the recorder into a new, stopped track, in
    /// one transaction. Points without a usable position or time count as invalid.
    pub fn import_gpx(&self, gpx_bytes: &[u8], officer_id: &str) -> Result<Track> {
        let file = gpx::parse_gpx(gpx_bytes)?;
        let track = self.start_track(NewTrack {
            officer_id: officer_id.to_owned(),
            ..NewTrack::default()
        })?;
        let fixes = file
            .tracks
            .iter()
            .flat_map(|t| &t.segments)
            .flatten()
            .map(|p| Fix {
                lat: p.lat,
                lon: p.lon,
                datum: Datum::Wgs84, // GPX coordinates are WGS-84 by definition
                accuracy_m: p.accuracy_m,
                altitude_m: p.ele_m,
                speed_mps: p.speed_mps,
                bearing_deg: p.course_deg,
                // A point without a time cannot be placed in the track: time 0 fails
                // validation, so it is counted as invalid like any other bad value.
                time_ms: p.time_ms.unwrap_or(0),
                provider: "gpx".into(),
                // A file Fieldproof wrote says which fixes were mocked; others do not.
                mock: p.mock.unwrap_or(false),
            });
        self.write(|tx| {
            let now = now_ms();
            for fix in fixes {
                self.append_and_seal(tx, &track.id, fix, now)?;
            }
            tracks::count_invalid(tx, &track.id, file.skipped_points as u64)?;
            self.stop_and_seal(tx, &track.id, now)?;
            tracks::load(tx, &track.id)
        })
    }

    /// GPX 1.1 of the whole track (or simplified for display), one `trkseg` per segment.
    pub fn export_track_gpx(&self, track_id: &str, simplify_m: Option<f64>) -> Result<String> {
        let segments = self.segment_points(track_id, simplify_m)?;
        let segments: Vec<Vec<GpxPoint>> = segments
            .into_iter()
            .map(|points| {
                points
                    .into_iter()
                    .map(|p| GpxPoint {
                        lat: p.lat,
                        lon: p.lon,
                        ele_m: p.altitude_m,
                        time_ms: Some(p.time_ms),
                        hdop: None,
                        fix: None,
                        speed_mps: p.speed_mps,
                        course_deg: p.bearing_deg,
                        accuracy_m: p.accuracy_m,
                        mock: Some(p.mock),
                    })
                    .collect()
            })
            .collect();
        Ok(gpx::write_gpx(track_id, &segments))
    }

    /// An RFC 7946 GeoJSON Feature of the track with its statistics as properties.
    pub fn export_track_geojson(&self, track_id: &str, simplify_m: Option<f64>) -> Result<String> {
        let track = self.get_track(track_id)?;
        let lines = self
            .segment_points(track_id, simplify_m)?
            .into_iter()
            .map(|points| {
                points
                    .iter()
                    .map(|p| LatLon {
                        lat: p.lat,
                        lon: p.lon,
                    })
                    .collect()
            })
            .collect::<Vec<Vec<LatLon>>>();
        let mut properties = serde_json::Map::new();
        properties.insert("id".into(), track.id.clone().into());
        properties.insert("officer_id".into(), track.officer_id.clone().into());
        properties.insert(
            "stats".into(),
            serde_json::to_value(&track.stats).expect("stats serialise"),
        );
        Ok(geojson::track_feature(&lines, properties).to_string())
    }

    /// Stored points grouped by segment, optionally simplified.
    fn segment_points(
        &self,
        track_id: &str,
        simplify_m: Option<f64>,
    ) -> Result<Vec<Vec<TrackPoint>>> {
        if simplify_m.is_some_and(|t| !(t.is_finite() && t >= 0.0)) {
            return Err(Error::InvalidField {
                field: "simplify_m",
                reason: "must be a finite number of metres, 0 or more",
            });
        }
        let mut segments: Vec<Vec<TrackPoint>> = Vec::new();
        for point in self.track_points(track_id)? {
            match segments.last_mut() {
                Some(current) if current[0].segment == point.segment => current.push(point),
                _ => segments.push(vec![point]),
            }
        }
        if let Some(tolerance) = simplify_m {
            for points in &mut segments {
                let coords: Vec<LatLon> = points
                    .iter()
                    .map(|p| LatLon {
                        lat: p.lat,
                        lon: p.lon,
                    })
                    .collect();
                let keep = simplify::simplify(&coords, tolerance);
                let mut kept = keep.into_iter().peekable();
                let mut index = 0;
                points.retain(|_| {
                    let keep_this = kept.next_if_eq(&index).is_some();
                    index += 1;
                    keep_this
                });
            }
        }
        Ok(segments)
    }
}
