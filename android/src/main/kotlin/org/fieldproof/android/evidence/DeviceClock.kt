package org.fieldproof.android.evidence

import android.os.SystemClock
import org.fieldproof.CaptureContext
import org.fieldproof.CaptureSource
import java.io.File

/**
 * The monotonic clock and the boot it counts from, for evidence records: they let
 * a reviewer order events even when the wall clock was set wrong.
 */
object DeviceClock {
    /** The kernel's id of this boot; null where the platform hides it. */
    val bootId: String? by lazy {
        runCatching { File("/proc/sys/kernel/random/boot_id").readText().trim() }.getOrNull()?.takeIf { it.isNotEmpty() }
    }

    fun elapsedRealtimeMs(): Long = SystemClock.elapsedRealtime()

    /** Who and when at the shutter, with the monotonic time of this moment. */
    fun captureContext(
        source: CaptureSource,
        appVersion: String,
        inspectionId: String? = null,
        taskId: String? = null,
        officerId: String? = null,
    ) = CaptureContext(
        source = source,
        inspectionId = inspectionId,
        taskId = taskId,
        officerId = officerId,
        monotonicMs = elapsedRealtimeMs().toULong(),
        bootId = bootId,
        appVersion = appVersion,
    )
}
