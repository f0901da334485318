package org.fieldproof.android.sync

import android.app.job.JobParameters
import android.app.job.JobService
import android.util.Log
import org.fieldproof.FieldproofException
import org.fieldproof.android.Fieldproof
import kotlin.concurrent.thread

/**
 * Runs one sync when JobScheduler starts the job, on a thread of its own, within
 * the job's time budget, and schedules the next run from the core's plan.
 */
class SyncJobService : JobService() {
    override fun onStartJob(params: JobParameters): Boolean {
        SyncScheduler.runStarted()
        // Opening the database (first use in this process) is disk work: off the main thread too.
        thread(name = "fieldproof-sync") {
            val plan = try {
                Fieldproof.get(this).session.runOnce(JOB_WINDOW_MS).plan
            } catch (e: FieldproofException) {
                // Not enrolled, or the device's storage failed: nothing to retry on a
                // timer; enrolling, a capture or a returning network asks again.
                Log.w(TAG, "sync did not run: ${e.javaClass.simpleName}")
                null
            }
            SyncScheduler.runEnded(this, plan)
            jobFinished(params, false)
        }
        return true
    }

    /** The OS ends the job early: stop the sync; its own plan schedules the rest. */
    override fun onStopJob(params: JobParameters): Boolean {
        Fieldproof.get(this).session.interrupt()
        return false
    }

    private companion object {
        const val TAG = "FieldproofSync"

        /** A job may run for 10 minutes (Android 5 to 14; less under restrictions, then onStopJob). */
        const val JOB_WINDOW_MS = 10 * 60 * 1000L
    }
}
