"""What the platform glue asks the core instead of deciding (android/, ios/): the
next sync run from a report, a call's share of a background window, a platform
location read as a fix, and the patrol to resume. Swift cannot run here; these are
the same exports the iOS glue calls."""

import pytest

from fieldproof_ffi import (
    Datum,
    ErrorClass,
    FieldproofError,
    InspectionStore,
    NewTrack,
    NextSync,
    PlatformLocation,
    SyncError,
    SyncReport,
    Verdict,
    WorkLeft,
    fix_from_location,
    plan_next_sync,
    sync_timeout_ms,
)

NOW = 1_790_000_000_000
QUARTER_HOUR_MS = 15 * 60 * 1000


def report(ops=0, uploads=0, error=None, next_attempt_ms=None, cancelled=False):
    return SyncReport(
        ops_pushed=0,
        records_pulled=0,
        bytes_uploaded=0,
        receipts=0,
        work_left=WorkLeft(ops=ops, uploads=uploads),
        next_attempt_ms=next_attempt_ms,
        last_error=None if error is None else SyncError(code=error[1], error_class=error[0], message="test"),
        cancelled=cancelled,
    )


def test_the_plan_follows_the_report():
    idle = plan_next_sync(report(), NOW)
    assert (idle.next, idle.delay_ms, idle.needs_network, idle.uploads_waiting) == (NextSync.POLL, QUARTER_HOUR_MS, True, False)

    cut_short = plan_next_sync(report(uploads=2, cancelled=True, next_attempt_ms=NOW + 5_000), NOW)
    assert (cut_short.next, cut_short.delay_ms, cut_short.uploads_waiting) == (NextSync.CONTINUE, 0, True)

    offline = plan_next_sync(report(ops=1, error=(ErrorClass.OFFLINE, "offline"), next_attempt_ms=NOW + 12_345), NOW)
    assert (offline.next, offline.delay_ms) == (NextSync.RETRY, 12_345)

    revoked = plan_next_sync(report(ops=1, error=(ErrorClass.AUTH, "device_revoked")), NOW)
    assert (revoked.next, revoked.delay_ms) == (NextSync.REENROLL, None)
    rewritten = plan_next_sync(report(error=(ErrorClass.CUSTODY, "log_inconsistent")), NOW)
    assert (rewritten.next, rewritten.delay_ms) == (NextSync.CUSTODY_ALARM, None)


def test_a_background_window_keeps_a_margin():
    assert sync_timeout_ms(30_000) == 27_000  # iOS app refresh
    assert sync_timeout_ms(600_000) == 540_000  # an Android job
    assert sync_timeout_ms(1_000) == 0


def core_location(**overrides):
    """A CLLocation as the iOS glue copies it: -1 marks what is unknown."""
    values = dict(
        lat=28.2282,
        lon=112.9388,
        accuracy_m=8.0,
        altitude_m=None,
        speed_mps=-1.0,
        bearing_deg=-1.0,
        time_ms=NOW,
        provider="core_location",
        mock=False,
        elapsed_realtime_ms=1_000_000,
    )
    values.update(overrides)
    return PlatformLocation(**values)


def test_a_platform_location_becomes_a_wgs84_fix():
    fix = fix_from_location(core_location(mock=True), 1_000_500)
    assert fix.datum == Datum.WGS84
    assert (fix.lat, fix.lon, fix.accuracy_m) == (28.2282, 112.9388, 8.0)
    assert (fix.speed_mps, fix.bearing_deg, fix.altitude_m) == (None, None, None)
    assert fix.mock and fix.provider == "core_location" and fix.time_ms == NOW


@pytest.mark.parametrize(
    ("location", "now", "code"),
    [
        (core_location(), 1_000_000 + 30_001, "stale_location"),
        (core_location(accuracy_m=-1.0), 1_000_000, "invalid_coordinate"),
        (core_location(), 999_999, "invalid_time"),
    ],
)
def test_locations_the_core_refuses(location, now, code):
    with pytest.raises(FieldproofError.InvalidInput) as refused:
        fix_from_location(location, now)
    assert refused.value.code == code


def test_a_restarted_patrol_finds_its_track(tmp_path):
    path = str(tmp_path / "device.db")
    store = InspectionStore.open(path)
    assert store.recording_track() is None
    track = store.start_track(NewTrack(officer_id="officer-py", inspection_id=None, task_id=None, filter=None))
    outcome = store.append_fix(track.id, fix_from_location(core_location(time_ms=NOW), 1_000_000))
    assert outcome.verdict == Verdict.ACCEPTED
    reopened = InspectionStore.open(path)
    assert reopened.recording_track().id == track.id
    reopened.stop_track(track.id)
    assert reopened.recording_track() is None
