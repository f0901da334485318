package org.fieldproof.android.sync

import org.fieldproof.BureauSync
import org.fieldproof.InspectionStore
import org.fieldproof.SyncListener
import org.fieldproof.SyncOptions
import org.fieldproof.SyncPlan
import org.fieldproof.SyncReport
import org.fieldproof.planNextSync
import org.fieldproof.syncTimeoutMs

/** What one run did, and when the core wants the next. */
data class SyncOutcome(val report: SyncReport, val plan: SyncPlan)

/**
 * The one entry point every scheduler calls: [SyncJobService] here, a WorkManager
 * worker in an app that already uses WorkManager. The core decides how much of
 * the window to use and when to come back; this only carries the call.
 */
class SyncSession(
    store: InspectionStore,
    private val transport: OkHttpTransport = OkHttpTransport(),
    listener: SyncListener? = null,
    options: SyncOptions = SyncOptions(),
) {
    val sync: BureauSync = BureauSync(store, transport, listener, options)

    /**
     * Syncs within a background window of [windowMs] (the core keeps a margin)
     * and plans the next run. Blocks: call it off the main thread. Throws only
     * for the device's storage and `not_enrolled`; link and bureau failures are
     * in the report.
     */
    fun runOnce(windowMs: Long, nowMs: () -> Long = System::currentTimeMillis): SyncOutcome {
        val report = sync.syncOnce(syncTimeoutMs(windowMs.coerceAtLeast(0).toULong()))
        return SyncOutcome(report, planNextSync(report, nowMs()))
    }

    /**
     * Ends the run now (the OS stopped the job, the app is closing): the core at
     * its next step, and the request in flight at once. Any thread.
     */
    fun interrupt() {
        sync.interrupt()
        transport.cancelAll()
    }
}
