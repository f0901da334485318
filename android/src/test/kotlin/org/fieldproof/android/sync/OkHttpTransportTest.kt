package org.fieldproof.android.sync

import okhttp3.OkHttpClient
import org.fieldproof.ErrorClass
import org.fieldproof.InspectionStore
import org.fieldproof.NextSync
import org.fieldproof.OpState
import org.fieldproof.Photo
import org.fieldproof.Progress
import org.fieldproof.SyncListener
import org.fieldproof.SyncOptions
import org.fieldproof.UploadState
import org.fieldproof.testing.LARGE_PHOTO
import org.fieldproof.testing.SMALL_PHOTO
import org.fieldproof.testing.fieldWork
import org.fieldproof.testing.Bureau
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.BeforeClass
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File
import java.net.URI
import java.nio.file.Files
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit

/**
 * The glue's OkHttp transport doing whole syncs with a real bureau on loopback
 * (`fieldproof serve`, HTTPS with a self-signed certificate the device pins),
 * through a relay that cuts or stalls the link.
 */
class OkHttpTransportTest {
    @get:Rule
    val folder = TemporaryFolder()

    /** The background window a JobService run has. */
    private val window = 10 * 60 * 1000L

    private fun enrolledSession(
        name: String,
        options: SyncOptions = SyncOptions(),
        listener: SyncListener? = null,
        transport: OkHttpTransport = OkHttpTransport(),
    ): Pair<InspectionStore, SyncSession> {
        val store = InspectionStore.open(File(folder.root, "$name.db").path)
        val session = SyncSession(store, transport, listener, options)
        session.sync.enroll(bureau.url, bureau.enrollmentCode(), bureau.tlsPin, false, emptyList())
        return store to session
    }

    /** Runs until nothing is left, at most [runs] times; the last outcome. */
    private fun syncUntilDone(session: SyncSession, runs: Int = 8): SyncOutcome {
        repeat(runs) {
            val outcome = session.runOnce(window)
            val left = outcome.report.workLeft
            if (outcome.report.lastError == null && left.ops == 0u && left.uploads == 0u) return outcome
        }
        throw AssertionError("work still left after $runs runs")
    }

    private fun assertDelivered(store: InspectionStore, inspectionId: String, photo: Photo) {
        assertEquals(OpState.APPLIED, store.inspectionSync(inspectionId)?.state)
        val photoSync = store.photoSync(photo.id)
        // The bureau counts an upload complete only once the whole file's SHA-256 matched.
        assertEquals(UploadState.COMPLETE, photoSync.upload)
        assertEquals(photo.size, photoSync.uploadedBytes)
        assertEquals(OpState.APPLIED, photoSync.recordOp?.state)
        assertNotNull("a receipt for the photo's record", store.receipt(photo.recordSeq))
        val verified = store.verifyReceipts()
        assertTrue("receipts verify: $verified", verified.receipts >= 1uL && verified.failures.isEmpty())
    }

    @Test
    fun aFullSyncThroughOkHttpWithTheKeyAttestation() {
        val store = InspectionStore.open(File(folder.root, "full.db").path)
        val session = SyncSession(store)
        val chain = listOf(ByteArray(300) { 1 }, ByteArray(200) { 2 })
        val enrollment = session.sync.enroll(bureau.url, bureau.enrollmentCode(), bureau.tlsPin, false, chain)
        val device = bureau.adminLines("devices", "list").first { it.contains(enrollment.deviceId) }
        assertEquals("the attestation chain reached the bureau", "500", Regex("\"attestation_bytes\":(\\d+)").find(device)?.groupValues?.get(1))

        val (inspectionId, photo) = fieldWork(store, LARGE_PHOTO)
        val done = syncUntilDone(session)
        assertDelivered(store, inspectionId, photo)
        assertEquals("nothing left: poll for news", NextSync.POLL, done.plan.next)
        assertEquals(15uL * 60uL * 1000uL, done.plan.delayMs)

        // The bureau's decision comes back through the same transport.
        bureau.admin("review", "accept", inspectionId, "--comment", "证据齐全")
        val pulled = session.runOnce(window)
        assertTrue(pulled.report.recordsPulled >= 1u)
        assertEquals("证据齐全", store.review(inspectionId)?.comment)
    }

    @Test
    fun aCutConnectionLosesNothingAndTheNextRunFinishes() {
        LoopbackProxy(URI(bureau.url).port).use { proxy ->
            val (store, session) = enrolledSession("cut", SyncOptions(serverUrl = "https://127.0.0.1:${proxy.port}"))
            val (inspectionId, photo) = fieldWork(store, LARGE_PHOTO)
            proxy.cutAfterBytes = 96 * 1024L
            proxy.mode = LoopbackProxy.Mode.CUT
            val cut = session.runOnce(window)
            assertEquals("the cut is a link failure: $cut", ErrorClass.OFFLINE, cut.report.lastError?.errorClass)
            assertEquals(NextSync.RETRY, cut.plan.next)
            assertTrue("the photo waits", cut.plan.uploadsWaiting && cut.report.workLeft.uploads == 1u)
            assertTrue("a backoff before the retry: ${cut.plan}", cut.plan.delayMs!! > 0uL)

            proxy.mode = LoopbackProxy.Mode.PASS
            syncUntilDone(session)
            assertDelivered(store, inspectionId, photo)
        }
    }

    @Test
    fun interruptEndsTheRequestInFlightAtOnce() {
        LoopbackProxy(URI(bureau.url).port).use { proxy ->
            val uploading = CountDownLatch(1)
            val listener = object : SyncListener {
                override fun onProgress(progress: Progress) {
                    if (progress is Progress.Pushed) uploading.countDown()
                }
            }
            // A read timeout longer than the wait below: only the transport's cancel
            // can end the hanging request in time (the core's interrupt alone waits
            // for the request in flight).
            val patient = OkHttpTransport(OkHttpClient.Builder().readTimeout(90, TimeUnit.SECONDS).build())
            val (store, session) = enrolledSession("stall", SyncOptions(serverUrl = "https://127.0.0.1:${proxy.port}"), listener, patient)
            val (inspectionId, photo) = fieldWork(store, LARGE_PHOTO)
            // The upload hangs mid-body.
            proxy.cutAfterBytes = 128 * 1024L
            proxy.mode = LoopbackProxy.Mode.STALL
            var outcome: SyncOutcome? = null
            val worker = Thread { outcome = session.runOnce(window) }.apply { start() }
            assertTrue("the sync pushed and went on to upload", uploading.await(60, TimeUnit.SECONDS))
            // Bounded wait for the relay to swallow the stalled chunk.
            val until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
            while (proxy.upstreamBytes.get() < 100 * 1024 && System.nanoTime() < until) Thread.sleep(20)
            Thread.sleep(300)
            session.interrupt()
            worker.join(20_000)
            assertFalse("interrupt() ended the hanging request", worker.isAlive)
            val report = outcome!!.report
            assertTrue("the report says cancelled: $report", report.cancelled)
            assertNull(report.lastError)
            assertEquals(NextSync.CONTINUE, outcome?.plan?.next)
            assertEquals(1u, report.workLeft.uploads)

            proxy.mode = LoopbackProxy.Mode.PASS
            syncUntilDone(session)
            assertDelivered(store, inspectionId, photo)
        }
    }

    @Test
    fun aServerWithAnotherKeyGetsNothing() {
        val (store, _) = enrolledSession("pinned")
        fieldWork(store, SMALL_PHOTO)
        Bureau(Files.createTempDirectory("impostor").toFile()).use { impostor ->
            val misled = SyncSession(store, OkHttpTransport(), null, SyncOptions(serverUrl = impostor.url))
            val outcome = misled.runOnce(window)
            assertEquals("tls_pin_mismatch", outcome.report.lastError?.code)
            assertEquals("enroll again: nothing scheduled", NextSync.REENROLL, outcome.plan.next)
            assertNull(outcome.plan.delayMs)
        }
    }

    companion object {
        private lateinit var data: File
        private lateinit var bureau: Bureau

        @BeforeClass
        @JvmStatic
        fun startBureau() {
            data = Files.createTempDirectory("fieldproof-android-bureau").toFile()
            bureau = Bureau(data)
        }

        @AfterClass
        @JvmStatic
        fun stopBureau() {
            bureau.close()
            data.deleteRecursively()
        }
    }
}
