package org.fieldproof.android.patrol

import android.annotation.SuppressLint
import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Build
import android.os.Bundle
import android.os.Handler
import android.os.HandlerThread
import android.os.IBinder
import android.os.SystemClock
import android.util.Log
import org.fieldproof.FieldproofException
import org.fieldproof.InspectionStore
import org.fieldproof.NewTrack
import org.fieldproof.android.Fieldproof

/**
 * Records a patrol: a foreground service (type `location`, with its notification)
 * feeding every fix from the GPS provider, or the network provider while GPS is
 * off, to the core's `appendFix`. The core filters and counts fixes and keeps the
 * recorder's state in the database, so a process restart loses nothing: the
 * system restarts this sticky service and it goes on with the open track
 * (`recordingTrack()`). Swiping the app away leaves a foreground service running.
 *
 * The app holds ACCESS_FINE_LOCATION (and, from Android 10, starts this from the
 * foreground) before calling [start].
 */
class PatrolService : Service(), LocationListener {
    private lateinit var store: InspectionStore
    private lateinit var locations: LocationManager
    private val worker = HandlerThread("fieldproof-patrol")
    private lateinit var handler: Handler
    private var trackId: String? = null

    override fun onCreate() {
        super.onCreate()
        store = Fieldproof.get(this).store
        locations = getSystemService(LocationManager::class.java)
        worker.start()
        handler = Handler(worker.looper)
    }

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        startInForeground()
        if (intent?.action == ACTION_STOP) {
            handler.post {
                store.recordingTrack()?.let { store.stopTrack(it.id) }
                stopSelf()
            }
            return START_NOT_STICKY
        }
        handler.post {
            // A restart by the system brings no intent: go on with the open track.
            val track = store.recordingTrack() ?: intent?.newTrack()?.let(store::startTrack)
            if (track == null) {
                stopSelf()
            } else {
                trackId = track.id
                listen()
            }
        }
        return START_STICKY
    }

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onDestroy() {
        locations.removeUpdates(this)
        worker.quitSafely()
        super.onDestroy()
    }

    override fun onLocationChanged(location: Location) {
        val track = trackId ?: return
        try {
            store.appendFix(track, location.toFix(SystemClock.elapsedRealtime()))
        } catch (e: FieldproofException) {
            // A stale or invalid position is not where the officer is: skipped.
            Log.d(TAG, "fix not recorded: ${e.javaClass.simpleName}")
        }
    }

    override fun onProviderEnabled(provider: String) {
        if (provider == LocationManager.GPS_PROVIDER) listen()
    }

    override fun onProviderDisabled(provider: String) {
        if (provider == LocationManager.GPS_PROVIDER) listen()
    }

    @Deprecated("Called before Android 10 only")
    override fun onStatusChanged(provider: String?, status: Int, extras: Bundle?) = Unit

    /** GPS when it is on, else the network provider; every fix on the worker thread. */
    @SuppressLint("MissingPermission") // the app holds it before starting the patrol
    private fun listen() {
        locations.removeUpdates(this)
        val provider = if (locations.isProviderEnabled(LocationManager.GPS_PROVIDER)) {
            LocationManager.GPS_PROVIDER
        } else {
            LocationManager.NETWORK_PROVIDER
        }
        locations.requestLocationUpdates(provider, INTERVAL_MS, 0f, this, worker.looper)
        // Keep hearing about GPS coming back while on the network provider.
        if (provider != LocationManager.GPS_PROVIDER) {
            locations.requestLocationUpdates(LocationManager.GPS_PROVIDER, INTERVAL_MS, 0f, this, worker.looper)
        }
    }

    private fun startInForeground() {
        val notification = notification()
        if (Build.VERSION.SDK_INT >= 29) {
            startForeground(NOTIFICATION_ID, notification, ServiceInfo.FOREGROUND_SERVICE_TYPE_LOCATION)
        } else {
            startForeground(NOTIFICATION_ID, notification)
        }
    }

    private fun notification(): Notification {
        val builder = if (Build.VERSION.SDK_INT >= 26) {
            val channel = NotificationChannel(CHANNEL_ID, PatrolNotice.channelName, NotificationManager.IMPORTANCE_LOW)
            getSystemService(NotificationManager::class.java).createNotificationChannel(channel)
            Notification.Builder(this, CHANNEL_ID)
        } else {
            @Suppress("DEPRECATION") Notification.Builder(this)
        }
        return builder
            .setSmallIcon(android.R.drawable.ic_menu_mylocation)
            .setContentTitle(PatrolNotice.title)
            .setContentText(PatrolNotice.text)
            .setOngoing(true)
            .build()
    }

    private fun Intent.newTrack(): NewTrack? {
        val officer = getStringExtra(EXTRA_OFFICER) ?: return null
        return NewTrack(officer, getStringExtra(EXTRA_INSPECTION), getStringExtra(EXTRA_TASK), null)
    }

    companion object {
        private const val TAG = "FieldproofPatrol"
        private const val CHANNEL_ID = "fieldproof-patrol"
        private const val NOTIFICATION_ID = 0x4650
        private const val ACTION_START = "org.fieldproof.android.patrol.START"
        private const val ACTION_STOP = "org.fieldproof.android.patrol.STOP"
        private const val EXTRA_OFFICER = "officer_id"
        private const val EXTRA_INSPECTION = "inspection_id"
        private const val EXTRA_TASK = "task_id"

        /** The recorder's pace: the core drops fixes closer than 1 s anyway. */
        private const val INTERVAL_MS = 1_000L

        /** Starts a patrol, or goes on with the one recording. */
        fun start(context: Context, officerId: String, inspectionId: String? = null, taskId: String? = null) {
            val intent = Intent(context, PatrolService::class.java)
                .setAction(ACTION_START)
                .putExtra(EXTRA_OFFICER, officerId)
                .putExtra(EXTRA_INSPECTION, inspectionId)
                .putExtra(EXTRA_TASK, taskId)
            if (Build.VERSION.SDK_INT >= 26) context.startForegroundService(intent) else context.startService(intent)
        }

        /** Stops the patrol: the core seals its last segment. */
        fun stop(context: Context) {
            val intent = Intent(context, PatrolService::class.java).setAction(ACTION_STOP)
            if (Build.VERSION.SDK_INT >= 26) context.startForegroundService(intent) else context.startService(intent)
        }
    }
}

/** The patrol notification's texts (zh-CN); an app may set its own before [PatrolService.start]. */
object PatrolNotice {
    var channelName = "巡查轨迹"
    var title = "正在记录巡查轨迹"
    var text = "Fieldproof 正在记录巡查路线，结束巡查后停止"
}
