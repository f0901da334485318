"""Patrol tracks and jurisdiction lookups through the Python bindings; exports are
checked with independent parsers (gpxpy for GPX 1.1, shapely/geojson for RFC 7946)."""

import json

import geojson
import gpxpy
import pytest
import shapely.geometry

from fieldproof_ffi import (
    Datum,
    FieldproofError,
    Fix,
    GeoPoint,
    InspectionStore,
    NewTrack,
    SegmentStart,
    TrackFilter,
    Verdict,
    convert_point,
)
from support import corpus

T0 = 1_790_000_000_000
METRE = 1 / 111_000


def fix(metres_north, seconds, accuracy=5.0, **overrides):
    values = dict(
        lat=28.2 + metres_north * METRE,
        lon=113.1,
        datum=Datum.WGS84,
        accuracy_m=accuracy,
        altitude_m=40.0,
        speed_mps=None,
        bearing_deg=None,
        time_ms=T0 + seconds * 1000,
        provider="gps",
        mock=False,
    )
    values.update(overrides)
    return Fix(**values)


@pytest.fixture
def store(tmp_path):
    return InspectionStore.open(str(tmp_path / "device.db"))


def new_track(store, **kw):
    return store.start_track(NewTrack(officer_id="officer-17", inspection_id=None, task_id=None, filter=kw.get("filter")))


def test_recording_counts_every_filter(store):
    track = new_track(store)
    outcomes = [store.append_fix(track.id, f) for f in [fix(0, 0), fix(3, 1), fix(6, 2)]]
    assert [o.verdict for o in outcomes] == [Verdict.ACCEPTED] * 3
    assert outcomes[0].segment == 0
    batch = store.append_fixes(
        track.id,
        [
            fix(9, 2),  # same time as the last one
            fix(9, 1),  # earlier
            fix(9, 3, accuracy=500.0),
            fix(9_000, 4),  # 9 km in a second
            fix(6.5, 5),  # half a metre from the last kept fix
            fix(9, 6, mock=True),  # kept, flagged
            fix(float("nan"), 7),
            fix(12, 200),  # three minutes later: a new segment
        ],
    )
    verdicts = [o.verdict for o in batch]
    assert verdicts == [
        Verdict.DUPLICATE_TIME,
        Verdict.OUT_OF_ORDER,
        Verdict.LOW_ACCURACY,
        Verdict.SPEED_JUMP,
        Verdict.TOO_CLOSE,
        Verdict.ACCEPTED,
        Verdict.INVALID,
        Verdict.ACCEPTED,
    ]
    assert batch[6].error_code == "invalid_coordinate"
    assert batch[7].segment == 1 and batch[7].sealed.segment == 0
    assert batch[7].sealed.point_count == 4 and len(batch[7].sealed.points_sha256) == 64

    stopped = store.stop_track(track.id)
    s = stopped.stats
    assert stopped.stopped_at_ms is not None
    assert (s.accepted, s.segments, s.mock) == (5, 2, 1)
    counts = (s.invalid, s.low_accuracy, s.speed_jump, s.too_close, s.too_frequent, s.duplicate_time, s.out_of_order)
    assert counts == (1, 1, 1, 1, 0, 1, 1)
    assert 8.5 < s.length_m < 9.5, "length counts 0→3→6→9 m, not the gap"
    assert s.duration_ms == 200_000
    assert [seg.start_reason for seg in store.sealed_segments(track.id)] == [SegmentStart.FIRST, SegmentStart.GAP]
    points = store.track_points(track.id)
    assert len(points) == 5 and points[3].mock and points[4].segment == 1
    with pytest.raises(FieldproofError.InvalidState) as stopped_err:
        store.append_fix(track.id, fix(20, 300))
    assert stopped_err.value.code == "track_stopped"
    with pytest.raises(FieldproofError.NotFound):
        store.get_track("0190f5c2-0000-7000-8000-00000000abcd")


def test_custom_filter_and_bad_tracks(store):
    strict = TrackFilter(max_accuracy_m=3.0, max_speed_mps=70.0, min_distance_m=2.0, min_interval_ms=1000, gap_ms=120_000, segment_max_ms=600_000)
    track = new_track(store, filter=strict)
    assert store.append_fix(track.id, fix(0, 0, accuracy=5.0)).verdict == Verdict.LOW_ACCURACY
    with pytest.raises(FieldproofError.InvalidInput) as err:
        store.start_track(NewTrack(officer_id="", inspection_id=None, task_id=None, filter=None))
    assert err.value.code == "invalid_field"


def test_gpx_import_export_round_trip_through_gpxpy(store):
    data = (corpus() / "gpx" / "gpxpy_around-visnjan-with-car.gpx").read_bytes()
    track = store.import_gpx(data, "officer-17")
    assert track.stopped_at_ms is not None and track.stats.accepted > 50
    exported = store.export_track_gpx(track.id, None)
    parsed = gpxpy.parse(exported)
    ours = store.track_points(track.id)
    theirs = [p for t in parsed.tracks for seg in t.segments for p in seg.points]
    assert len(theirs) == len(ours)
    for a, b in zip(ours, theirs):
        assert (a.lat, a.lon) == pytest.approx((b.latitude, b.longitude), abs=1e-9)
        assert int(b.time.timestamp() * 1000) == a.time_ms
        assert b.elevation == pytest.approx(a.altitude_m)
    assert sum(len(t.segments) for t in parsed.tracks) == track.stats.segments


def test_geojson_export_is_valid_rfc7946(store):
    data = (corpus() / "gpx" / "georust_garmin-activity.gpx").read_bytes()
    track = store.import_gpx(data, "officer-17")
    feature = json.loads(store.export_track_geojson(track.id, None))
    assert geojson.GeoJSON.to_instance(feature).is_valid
    geometry = shapely.geometry.shape(feature["geometry"])
    assert geometry.is_valid and not geometry.is_empty
    assert feature["properties"]["stats"]["accepted"] == track.stats.accepted
    simplified = json.loads(store.export_track_geojson(track.id, 5.0))
    simple = shapely.geometry.shape(simplified["geometry"])
    assert len(simple.coords if simple.geom_type == "LineString" else [c for g in simple.geoms for c in g.coords]) < track.stats.accepted
    # The simplified line stays within the tolerance of the full one (in degrees, ~5 m).
    assert geometry.hausdorff_distance(simple) < 10 / 111_000
    with pytest.raises(FieldproofError.InvalidInput):
        store.export_track_geojson(track.id, -1.0)


def test_bad_gpx_is_refused(store):
    with pytest.raises(FieldproofError.InvalidInput) as err:
        store.import_gpx(b"this is not xml", "officer-17")
    assert err.value.code == "invalid_gpx"


def test_datum_conversion_and_jurisdictions(store):
    gcj = GeoPoint(lat=28.2282, lon=112.9388, datum=Datum.GCJ02)
    wgs = convert_point(gcj, Datum.WGS84)
    back = convert_point(wgs, Datum.GCJ02)
    assert abs(back.lat - gcj.lat) < 1e-7 and abs(back.lon - gcj.lon) < 1e-7
    assert 0.001 < abs(wgs.lat - gcj.lat) < 0.01
    with pytest.raises(FieldproofError.InvalidInput):
        convert_point(GeoPoint(lat=float("inf"), lon=0.0, datum=Datum.WGS84), Datum.GCJ02)

    changsha = (corpus() / "boundaries" / "counties_by_city" / "430100.json").read_text()
    assert store.load_boundaries(changsha, Datum.GCJ02) == 9
    features = json.loads(changsha)["features"]
    furong = next(f for f in features if f["properties"]["adcode"] == 430102)
    lon, lat = furong["properties"]["center"]
    placement = store.locate(GeoPoint(lat=lat, lon=lon, datum=Datum.GCJ02))
    assert placement.code == "430102" and placement.inside and placement.distance_m > 0
    wuhan = GeoPoint(lat=30.5928, lon=114.3055, datum=Datum.WGS84)
    assert store.locate(wuhan) is None
    outside = store.placement("430102", wuhan)
    assert not outside.inside and outside.distance_m > 100_000
    with pytest.raises(FieldproofError.NotFound) as err:
        store.placement("999999", wuhan)
    assert err.value.code == "unknown_jurisdiction"
    square = '{"type": "Polygon", "coordinates": [[[112, 28], [113, 28], [113, 29], [112, 28]]]}'
    for bad in [
        "not json",
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": null}]}',
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "x"}, "geometry": %s}]}' % square,
        '{"type": "Feature", "properties": {"adcode": 1}, "geometry": {"type": "Polygon", "coordinates": [[[112, 28], [113, 28]]]}}',
        '{"type": "Feature", "properties": {"adcode": 1}, "geometry": {"type": "Polygon", "coordinates": [[[112, 95], [113, 28], [113, 29], [112, 95]]]}}',
    ]:
        with pytest.raises(FieldproofError.InvalidInput) as err:
            store.load_boundaries(bad, Datum.GCJ02)
        assert err.value.code == "invalid_geojson", bad
    assert store.locate(GeoPoint(lat=lat, lon=lon, datum=Datum.GCJ02)).code == "430102", "bad loads changed nothing"
