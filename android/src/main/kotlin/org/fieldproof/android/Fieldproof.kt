package org.fieldproof.android

import android.content.Context
import org.fieldproof.CaptureContext
import org.fieldproof.CaptureSource
import org.fieldproof.Enrollment
import org.fieldproof.Fix
import org.fieldproof.Inspection
import org.fieldproof.InspectionStore
import org.fieldproof.Photo
import org.fieldproof.PhotoInput
import org.fieldproof.android.evidence.DeviceClock
import org.fieldproof.android.evidence.KeystoreSigner
import org.fieldproof.android.sync.ConnectivityTrigger
import org.fieldproof.android.sync.SyncScheduler
import org.fieldproof.android.sync.SyncSession
import java.io.File

/**
 * The engine of this process: one device database, its Keystore signer and one
 * sync session, opened on first use by whichever part the OS starts first (the
 * app, the sync job, the patrol service after a restart). The database lives in
 * `noBackupFilesDir`: it holds the bureau token and must not travel in a cloud
 * backup. Everything here hands work to the core and asks for a sync after it.
 */
class Fieldproof private constructor(
    private val context: Context,
    val store: InspectionStore,
    private var signer: KeystoreSigner,
) {
    val session: SyncSession = SyncSession(store)

    /**
     * Call from `Application.onCreate`: records the start as evidence, hands the
     * chain to a fresh key when the Keystore key nears its end, listens for the
     * network to return, and asks for a sync.
     */
    fun start(appVersion: String) {
        val clock = DeviceClock.captureContext(CaptureSource.CAMERA, appVersion)
        store.recordAppStart(clock)
        signer = signer.rotateIfDue(store, clock)
        ConnectivityTrigger(context).register()
        SyncScheduler.requestNow(context)
    }

    /** Enrolls with the bureau, sending the Keystore's attestation of the evidence key. */
    fun enroll(serverUrl: String, code: String, tlsPin: String?, externalGnss: Boolean = false): Enrollment =
        session.sync.enroll(serverUrl, code, tlsPin, externalGnss, signer.attestationChain()).also {
            SyncScheduler.requestNow(context)
        }

    /** The core's capture (stored, hashed, signed before it returns), then a sync request. */
    fun capturePhoto(input: PhotoInput, fix: Fix?, capture: CaptureContext): Photo =
        store.capturePhoto(input, fix, capture).also { SyncScheduler.requestNow(context) }

    /** The core's submit (the op queued in the same transaction), then a sync request. */
    fun submit(inspectionId: String): Inspection =
        store.submit(inspectionId).also { SyncScheduler.requestNow(context) }

    companion object {
        @Volatile
        private var instance: Fieldproof? = null

        fun get(context: Context): Fieldproof = instance ?: synchronized(this) {
            instance ?: open(context.applicationContext).also { instance = it }
        }

        private fun open(context: Context): Fieldproof {
            val folder = File(context.noBackupFilesDir, "fieldproof").apply { mkdirs() }
            val store = InspectionStore.open(File(folder, "device.db").path)
            return Fieldproof(context, store, KeystoreSigner.install(store))
        }
    }
}
