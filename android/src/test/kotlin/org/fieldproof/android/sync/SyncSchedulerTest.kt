package org.fieldproof.android.sync

import android.app.job.JobInfo
import org.fieldproof.ErrorClass
import org.fieldproof.NextSync
import org.fieldproof.SyncError
import org.fieldproof.SyncReport
import org.fieldproof.WorkLeft
import org.fieldproof.planNextSync
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * The core's plan from a report, as the job the glue schedules. (The JobInfo
 * itself needs the framework's native code: JobSpec holds what the plan sets.)
 */
class SyncSchedulerTest {
    private val now = 1_790_000_000_000L

    private fun report(ops: UInt = 0u, uploads: UInt = 0u, error: Pair<ErrorClass, String>? = null, nextAttemptMs: Long? = null) =
        SyncReport(
            opsPushed = 0u, recordsPulled = 0u, bytesUploaded = 0uL, receipts = 0u,
            workLeft = WorkLeft(ops, uploads),
            nextAttemptMs = nextAttemptMs,
            lastError = error?.let { (errorClass, code) -> SyncError(code, errorClass, "test") },
            cancelled = false,
        )

    private fun job(report: SyncReport): JobSpec? = JobSpec.of(planNextSync(report, now))

    @Test
    fun anOfflineFailureWaitsOutTheBackoffAndForANetwork() {
        val plan = planNextSync(report(ops = 2u, uploads = 1u, error = ErrorClass.OFFLINE to "offline", nextAttemptMs = now + 40_000), now)
        assertEquals(NextSync.RETRY, plan.next)
        assertTrue(plan.uploadsWaiting)
        assertEquals(JobSpec(minimumLatencyMs = 40_000L, networkType = JobInfo.NETWORK_TYPE_ANY), JobSpec.of(plan))
    }

    @Test
    fun workLeftGoesOnAtOnceAndNothingLeftPollsEveryQuarterHour() {
        assertEquals(0L, job(report(uploads = 3u))!!.minimumLatencyMs)
        assertEquals(15 * 60 * 1000L, job(report())!!.minimumLatencyMs)
    }

    @Test
    fun aRefusedTokenOrACustodyAlarmSchedulesNothing() {
        assertNull(job(report(ops = 1u, error = ErrorClass.AUTH to "device_revoked")))
        assertNull(job(report(ops = 1u, error = ErrorClass.CUSTODY to "log_inconsistent")))
    }

    @Test
    fun anImmediateRequestIsAZeroDelayNetworkJob() {
        assertEquals(JobSpec(minimumLatencyMs = 0L, networkType = JobInfo.NETWORK_TYPE_ANY), JobSpec.of(SyncScheduler.NOW))
    }
}
