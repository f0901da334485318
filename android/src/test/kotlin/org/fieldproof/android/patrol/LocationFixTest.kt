package org.fieldproof.android.patrol

import android.location.Location
import org.fieldproof.Datum
import org.fieldproof.FieldproofException
import org.fieldproof.InspectionStore
import org.fieldproof.NewTrack
import org.fieldproof.Verdict
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File

/** `Location` (the real framework class) → the core's `Fix`, and a patrol resumed after a restart. */
class LocationFixTest {
    @get:Rule
    val folder = TemporaryFolder()

    private val bootMs = 7_200_000L
    private val startMs = System.currentTimeMillis() - 60_000

    /** A GPS fix `seconds` into the patrol, `metresNorth` of the start, made at that moment. */
    private fun gps(seconds: Long, metresNorth: Double = seconds * 3.0) = Location("gps").apply {
        latitude = 28.2282 + metresNorth / 111_320.0
        longitude = 112.9388
        accuracy = 4.0f
        altitude = 52.5
        speed = 3.0f
        bearing = 0.5f
        time = startMs + seconds * 1000
        elapsedRealtimeNanos = (bootMs + seconds * 1000) * 1_000_000
    }

    @Test
    fun everyFieldOfAGpsLocationReachesTheFix() {
        val fix = gps(3).toFix(nowElapsedMs = bootMs + 3_500, sdkInt = 34)
        assertEquals(Datum.WGS84, fix.datum)
        assertEquals(28.2282 + 9.0 / 111_320.0, fix.lat, 1e-12)
        assertEquals(112.9388, fix.lon, 1e-12)
        assertEquals(4.0, fix.accuracyM!!, 1e-6)
        assertEquals(52.5, fix.altitudeM!!, 1e-9)
        assertEquals(3.0, fix.speedMps!!, 1e-6)
        assertEquals(0.5, fix.bearingDeg!!, 1e-6)
        assertEquals(startMs + 3_000, fix.timeMs)
        assertEquals("gps", fix.provider)
        assertFalse(fix.mock)
        val platform = gps(3).toPlatformLocation(sdkInt = 34)
        assertEquals((bootMs + 3_000).toULong(), platform.elapsedRealtimeMs)
    }

    @Test
    fun valuesALocationDoesNotHaveAreAbsent() {
        val bare = Location("network").apply {
            latitude = 28.2
            longitude = 112.9
            time = startMs
        }
        val fix = bare.toFix(nowElapsedMs = bootMs, sdkInt = 34)
        assertNull(fix.accuracyM)
        assertNull(fix.altitudeM)
        assertNull(fix.speedMps)
        assertNull(fix.bearingDeg)
        assertEquals("network", fix.provider)
        assertNull("no monotonic time: freshness cannot be judged", bare.toPlatformLocation(34).elapsedRealtimeMs)
    }

    @Test
    fun theMockFlagIsReadOnEveryAndroidVersion() {
        val mocked = gps(1).apply { setMock(true) }
        assertTrue(mocked.toFix(bootMs + 1_000, sdkInt = 34).mock)
        assertTrue("isFromMockProvider before Android 12", mocked.toFix(bootMs + 1_000, sdkInt = 30).mock)
        assertFalse(gps(1).toFix(bootMs + 1_000, sdkInt = 30).mock)
    }

    @Test
    fun aCachedLocationIsRefusedAsStale() {
        try {
            gps(0).toFix(nowElapsedMs = bootMs + 31_000, sdkInt = 34)
            fail("a 31 s old location was taken")
        } catch (e: FieldproofException.InvalidInput) {
            assertEquals("stale_location", e.code)
        }
    }

    @Test
    fun aPatrolGoesOnWithTheSameTrackAfterTheProcessRestarts() {
        val path = File(folder.root, "device.db").path
        val store = InspectionStore.open(path)
        assertNull(store.recordingTrack())
        val track = store.startTrack(NewTrack("officer-android", null, null, null))
        for (s in 0L..4L) {
            assertEquals(Verdict.ACCEPTED, store.appendFix(track.id, gps(s).toFix(bootMs + s * 1000 + 200, 34)).verdict)
        }
        // The process dies; the service comes back and asks the core which patrol is open.
        val restarted = InspectionStore.open(path)
        val resumed = restarted.recordingTrack()
        assertEquals(track.id, resumed?.id)
        assertEquals(5uL, resumed!!.stats.accepted)
        assertEquals(Verdict.ACCEPTED, restarted.appendFix(track.id, gps(5).toFix(bootMs + 5_200, 34)).verdict)
        restarted.stopTrack(track.id)
        assertNull(restarted.recordingTrack())
    }
}
