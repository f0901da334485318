package org.fieldproof.android.patrol

import android.location.Location
import android.os.Build
import org.fieldproof.Fix
import org.fieldproof.PlatformLocation
import org.fieldproof.fixFromLocation

/**
 * A `Location` as the core's [PlatformLocation]: fields copied, "has no value"
 * as null. The reading (datum, unknown marks, a stale cached position) is the
 * core's `fixFromLocation`.
 *
 * [sdkInt] picks the mock flag's accessor: `isMock` from Android 12,
 * `isFromMockProvider` before.
 */
fun Location.toPlatformLocation(sdkInt: Int = Build.VERSION.SDK_INT): PlatformLocation = PlatformLocation(
    lat = latitude,
    lon = longitude,
    accuracyM = if (hasAccuracy()) accuracy.toDouble() else null,
    altitudeM = if (hasAltitude()) altitude else null,
    speedMps = if (hasSpeed()) speed.toDouble() else null,
    bearingDeg = if (hasBearing()) bearing.toDouble() else null,
    timeMs = time,
    provider = provider ?: "unknown",
    mock = if (sdkInt >= 31) isMock else @Suppress("DEPRECATION") isFromMockProvider,
    elapsedRealtimeMs = elapsedRealtimeNanos.takeIf { it > 0 }?.let { (it / 1_000_000).toULong() },
)

/**
 * The core's fix for this location, judged fresh against [nowElapsedMs]
 * (`SystemClock.elapsedRealtime()`). Throws `FieldproofException` for a location
 * the core refuses (`stale_location`, `invalid_coordinate`).
 */
fun Location.toFix(nowElapsedMs: Long, sdkInt: Int = Build.VERSION.SDK_INT): Fix =
    fixFromLocation(toPlatformLocation(sdkInt), nowElapsedMs.toULong())
