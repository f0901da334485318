package org.fieldproof.android.sync

import android.app.job.JobInfo
import android.app.job.JobScheduler
import android.content.ComponentName
import android.content.Context
import org.fieldproof.NextSync
import org.fieldproof.SyncPlan
import java.util.concurrent.atomic.AtomicBoolean

/**
 * Maps the core's [SyncPlan] onto JobScheduler (no Google Play services needed):
 * one persisted job, network required, not before the plan's delay. The plan
 * decides; this only translates it.
 */
/**
 * The JobInfo fields a plan sets, as plain values (building a JobInfo with a
 * network constraint reaches native framework code, which the JVM tests cannot run).
 */
data class JobSpec(val minimumLatencyMs: Long, val networkType: Int) {
    companion object {
        fun of(plan: SyncPlan): JobSpec? = plan.delayMs?.let { delay ->
            JobSpec(
                minimumLatencyMs = delay.toLong(),
                networkType = if (plan.needsNetwork) JobInfo.NETWORK_TYPE_ANY else JobInfo.NETWORK_TYPE_NONE,
            )
        }
    }
}

object SyncScheduler {
    /** JobScheduler ids are per app; change it if the app's own jobs use this one. */
    const val JOB_ID = 0x46_50_53_01

    /** The plan that asks for a run as soon as a network allows it. */
    val NOW = SyncPlan(next = NextSync.CONTINUE, delayMs = 0uL, needsNetwork = true, uploadsWaiting = true)

    private val running = AtomicBoolean(false)
    private val requestedWhileRunning = AtomicBoolean(false)

    /** The job for [plan], or null when the plan schedules nothing. */
    fun jobFor(service: ComponentName, plan: SyncPlan): JobInfo? = JobSpec.of(plan)?.let { spec ->
        JobInfo.Builder(JOB_ID, service)
            .setRequiredNetworkType(spec.networkType)
            .setMinimumLatency(spec.minimumLatencyMs)
            .setPersisted(true)
            .build()
    }

    /** Schedules the run [plan] asks for, replacing any pending one, or cancels it. */
    fun schedule(context: Context, plan: SyncPlan) {
        val scheduler = context.getSystemService(JobScheduler::class.java)
        when (val job = jobFor(ComponentName(context, SyncJobService::class.java), plan)) {
            null -> scheduler.cancel(JOB_ID)
            else -> scheduler.schedule(job)
        }
    }

    /**
     * Asks for a run now: after a capture, a submit, or when a network returns.
     * While a run is going, scheduling the same job would stop it; the request is
     * kept and the run that ends goes again at once instead.
     */
    fun requestNow(context: Context) {
        if (running.get()) requestedWhileRunning.set(true) else schedule(context, NOW)
    }

    internal fun runStarted() {
        running.set(true)
        requestedWhileRunning.set(false)
    }

    /** After a run: the plan it ended with, unless a run was asked for meanwhile. */
    internal fun runEnded(context: Context, plan: SyncPlan?) {
        running.set(false)
        val next = if (requestedWhileRunning.getAndSet(false)) NOW else plan
        if (next == null) context.getSystemService(JobScheduler::class.java).cancel(JOB_ID) else schedule(context, next)
    }
}
