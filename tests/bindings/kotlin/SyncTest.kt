// Kotlin binding test, sync half: BureauSync against a real bureau on loopback (the
// `fieldproof serve` binary, over HTTPS with a self-signed certificate the device
// pins), with the built-in transport and with a Kotlin one (java.net.http, pinning
// the key with the Android glue's trust manager; the glue's own OkHttp transport is
// tested in android/src/test), a progress listener, an interrupt from another
// thread, and a revoked device. Called from BindingsTest.kt.

import org.fieldproof.*
import org.fieldproof.android.sync.PinMismatch
import org.fieldproof.android.sync.PinningTrustManager
import org.fieldproof.testing.Bureau
import org.fieldproof.testing.LARGE_PHOTO
import org.fieldproof.testing.SMALL_PHOTO
import org.fieldproof.testing.fieldWork
import org.fieldproof.testing.jsonField
import java.io.File
import java.io.IOException
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpTimeoutException
import java.util.Collections
import java.util.concurrent.ConcurrentHashMap
import javax.net.ssl.SSLContext
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit

private const val SYNC_TIMEOUT_MS = 60_000uL

/** The platform's HTTP stack as the sync transport: java.net.http, as an app would use OkHttp. */
private class JdkTransport : Transport {
    private val plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
    private val pinned = ConcurrentHashMap<String, HttpClient>()
    val requests: MutableList<String> = Collections.synchronizedList(mutableListOf())

    /** A client that completes a handshake only with the pinned key (one per pin). */
    private fun client(pin: String?): HttpClient = if (pin == null) plain else pinned.computeIfAbsent(pin) {
        val context = SSLContext.getInstance("TLS").apply { init(null, arrayOf(PinningTrustManager(it)), null) }
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(context).build()
    }

    override fun send(request: HttpRequest): HttpResponse {
        requests += "${request.method} ${request.url}"
        val builder = java.net.http.HttpRequest.newBuilder(URI.create(request.url))
            .timeout(java.time.Duration.ofMillis(request.timeoutMs.toLong()))
            .method(
                request.method,
                if (request.body.isEmpty()) java.net.http.HttpRequest.BodyPublishers.noBody()
                else java.net.http.HttpRequest.BodyPublishers.ofByteArray(request.body),
            )
        for (header in request.headers) {
            // java.net.http sets these itself and refuses them from callers.
            if (header.name.lowercase() !in setOf("content-length", "host", "connection", "expect", "upgrade")) {
                builder.header(header.name, header.value)
            }
        }
        val answer = try {
            client(request.tlsPin).send(builder.build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray())
        } catch (e: HttpTimeoutException) {
            throw TransportException.Timeout(e.toString())
        } catch (e: IOException) {
            if (generateSequence<Throwable>(e) { it.cause }.any { it is PinMismatch }) throw TransportException.PinMismatch()
            throw TransportException.Offline(e.toString())
        }
        val headers = answer.headers().map().flatMap { (name, values) -> values.map { HttpHeader(name, it) } }
        return HttpResponse(answer.statusCode().toUShort(), headers, answer.body())
    }
}

/** Keeps every progress event (called on the thread running the sync). */
private class Recorder(private val onFirst: () -> Unit = {}) : SyncListener {
    val events: MutableList<Progress> = Collections.synchronizedList(mutableListOf())

    override fun onProgress(progress: Progress) {
        events += progress
        if (events.size == 1) onFirst()
    }
}

/** Calls syncOnce until no work is left, at most [calls] times; the reports. */
private fun syncUntilDone(sync: BureauSync, calls: Int = 5): List<SyncReport> {
    val reports = mutableListOf<SyncReport>()
    repeat(calls) {
        val report = sync.syncOnce(SYNC_TIMEOUT_MS)
        reports += report
        check(report.lastError == null, "sync failed: $report")
        if (report.workLeft.ops == 0u && report.workLeft.uploads == 0u) return reports
    }
    throw AssertionError("work still left after $calls calls: ${reports.last()}")
}

/** The inspection applied, the photo held complete, its record's receipt verified. */
private fun checkDelivered(store: InspectionStore, inspectionId: String, photo: Photo) {
    val inspection = store.inspectionSync(inspectionId)
    check(inspection?.state == OpState.APPLIED && inspection.reason == null, "inspection applied: $inspection")
    val photoSync = store.photoSync(photo.id)
    check(photoSync.upload == UploadState.COMPLETE && photoSync.uploadedBytes == photo.size, "photo upload complete: $photoSync")
    check(photoSync.photoOp?.state == OpState.APPLIED && photoSync.recordOp?.state == OpState.APPLIED, "photo ops applied: $photoSync")
    val receipt = store.receipt(photo.recordSeq)
    check(receipt != null && receipt.checkpoint.root.size == 32 && receipt.inclusionProof.all { it.size == 32 }, "receipt kept: $receipt")
    val verified = store.verifyReceipts()
    check(verified.receipts >= 1uL && verified.failures.isEmpty(), "receipts verify: $verified")
    val checkpoint = store.latestCheckpoint()
    check(checkpoint != null && checkpoint.treeSize > receipt!!.leafIndex && checkpoint.signature.size == 64, "checkpoint: $checkpoint")
}

internal fun runSync(dir: File) {
    Bureau(File(dir, "bureau")).use { bureau ->
        syncWithBuiltInTransport(dir, bureau)
        syncWithKotlinTransport(dir, bureau)
        interruptFromAnotherThread(dir, bureau)
        revokedDevice(dir, bureau)
    }
}

private fun syncWithBuiltInTransport(dir: File, bureau: Bureau) {
    val store = InspectionStore.open(File(dir, "sync-builtin.db").path)
    expect<FieldproofException.InvalidState>("not_enrolled") { BureauSync(store).syncOnce(SYNC_TIMEOUT_MS) }
    check(store.enrollment() == null, "not enrolled yet")

    val listener = Recorder()
    val sync = BureauSync(store, listener = listener)
    val enrollment = sync.enroll(bureau.url, bureau.enrollmentCode(), bureau.tlsPin)
    check(enrollment.serverUrl == bureau.url && enrollment.jurisdiction == "430121" && enrollment.role == "township_staff", "enrollment: $enrollment")
    check(enrollment.bureauPublicKey.size == 65 && enrollment.certificate.isNotEmpty(), "bureau key and certificate kept")
    val stored = store.enrollment()
    // (Records with byte fields compare them by reference in Kotlin.)
    check(stored?.deviceId == enrollment.deviceId && stored.certificate.contentEquals(enrollment.certificate), "enrollment stored: $stored")

    val (inspectionId, photo) = fieldWork(store)
    check(store.inspectionSync(inspectionId)?.state == OpState.PENDING, "pending before sync")
    check(store.photoSync(photo.id).upload == UploadState.NOT_STARTED, "upload not started before sync")
    val task = bureau.admin("tasks", "create", "--jurisdiction", "430121", "--title", "核查卫星火点", "--lat", "28.25", "--lon", "113.08")

    val reports = syncUntilDone(sync)
    // The inspection, the photo's record, its photo.upload, and a task.state
    // (received) for each task pulled.
    val expectedOps = 3u + store.tasks().size.toUInt()
    check(reports.sumOf { it.opsPushed } == expectedOps, "the inspection, the photo's record, its photo.upload and the task taken in pushed: $reports")
    check(reports.sumOf { it.receipts } >= 1u, "a receipt for the record")
    check(reports.sumOf { it.bytesUploaded } == photo.size, "every photo byte uploaded once: $reports")
    check(reports.sumOf { it.recordsPulled } >= 1u, "the task pulled")
    check(!reports.last().cancelled && reports.last().nextAttemptMs == null, "nothing waits: ${reports.last()}")
    checkDelivered(store, inspectionId, photo)
    check(store.tasks().any { it.id == jsonField(task, "id") && it.title == "核查卫星火点" }, "task arrived: ${store.tasks()}")

    check(listener.events.any { it is Progress.Pushed && it.ops > 0u }, "pushed progress: ${listener.events}")
    check(listener.events.any { it is Progress.Pulled }, "pulled progress")
    val uploaded = listener.events.filterIsInstance<Progress.Uploading>().last { it.role == "original" }
    check(uploaded.photoId == photo.id && uploaded.sent == photo.size && uploaded.size == photo.size, "upload progress: $uploaded")

    // The bureau's review comes back by pull.
    bureau.admin("review", "accept", inspectionId, "--comment", "证据齐全")
    val again = sync.syncOnce(SYNC_TIMEOUT_MS)
    check(again.opsPushed == 0u && again.bytesUploaded == 0uL && again.recordsPulled >= 1u, "a second sync only pulls: $again")
    val review = store.review(inspectionId)
    check(review?.decision == Status.ACCEPTED && review.comment == "证据齐全", "review arrived: $review")
    check(store.getInspection(inspectionId).status == Status.ACCEPTED, "inspection accepted")

    // The task was taken in when pulled; declining it needs a reason, and the
    // dispatcher sees it declined after the next sync.
    val taskId = jsonField(task, "id")!!
    check(store.taskProgress(taskId)?.state == TaskState.RECEIVED, "task received: ${store.taskProgress(taskId)}")
    expect<FieldproofException.InvalidInput>("invalid_field") { store.declineTask(taskId, "  ") }
    val declined = store.declineTask(taskId, "道路中断，无法到达")
    check(declined.state == TaskState.DECLINED && declined.reason == "道路中断，无法到达", "declined: $declined")
    expect<FieldproofException.InvalidState>("task_finished") { store.declineTask(taskId, "再次") }
    check(sync.syncOnce(SYNC_TIMEOUT_MS).opsPushed == 1u, "the decline pushed")
    check(jsonField(bureau.admin("tasks", "list", "--state", "declined"), "id") == taskId, "the bureau sees it declined")
}

private fun syncWithKotlinTransport(dir: File, bureau: Bureau) {
    val store = InspectionStore.open(File(dir, "sync-kotlin.db").path)
    val transport = JdkTransport()
    val sync = BureauSync(store, transport = transport)
    sync.enroll(bureau.url, bureau.enrollmentCode(), bureau.tlsPin)
    check(
        transport.requests == listOf("POST ${bureau.url}/v1/enroll/challenge", "POST ${bureau.url}/v1/enroll"),
        "enrolled through the Kotlin transport, a challenge first: ${transport.requests}",
    )
    val (inspectionId, photo) = fieldWork(store, LARGE_PHOTO)
    val reports = syncUntilDone(sync)
    val expectedOps = 3u + store.tasks().size.toUInt() // tasks taken in: task.state
    check(reports.sumOf { it.opsPushed } == expectedOps && reports.sumOf { it.bytesUploaded } == photo.size, "full sync: $reports")
    checkDelivered(store, inspectionId, photo)
    val methods = transport.requests.map { it.substringBefore(' ') }.toSet()
    check(methods.containsAll(listOf("POST", "GET", "PATCH")), "push, pull and tus chunks went through it: ${transport.requests}")
    check(store.enrollment()?.tlsPin == bureau.tlsPin && bureau.url.startsWith("https://"), "pinned over HTTPS")

    // A server with another key posing as the bureau gets nothing, through either transport.
    fieldWork(store, SMALL_PHOTO)
    Bureau(File(dir, "impostor-bureau")).use { impostor ->
        check(impostor.tlsPin != bureau.tlsPin, "the impostor has its own key")
        for (platform in listOf(transport, null)) {
            val misled = BureauSync(store, transport = platform, options = SyncOptions(serverUrl = impostor.url))
            val report = misled.syncOnce(SYNC_TIMEOUT_MS)
            check(
                report.lastError?.code == "tls_pin_mismatch" && report.lastError?.errorClass == ErrorClass.AUTH,
                "refused before sending: $report",
            )
        }
    }
    syncUntilDone(sync)
}

private fun interruptFromAnotherThread(dir: File, bureau: Bureau) {
    val store = InspectionStore.open(File(dir, "sync-interrupt.db").path)
    // The sync runs on a worker thread (as under WorkManager); the test thread
    // interrupts it once it has started, then lets it go on.
    val started = CountDownLatch(1)
    val interrupted = CountDownLatch(1)
    val sync = BureauSync(store, listener = Recorder { started.countDown(); interrupted.await(10, TimeUnit.SECONDS) })
    sync.enroll(bureau.url, bureau.enrollmentCode(), bureau.tlsPin)
    val (inspectionId, photo) = fieldWork(store)
    var report: SyncReport? = null
    var failure: Throwable? = null
    val worker = Thread {
        try {
            report = sync.syncOnce(SYNC_TIMEOUT_MS)
        } catch (e: Throwable) {
            failure = e
        }
    }
    worker.start()
    check(started.await(30, TimeUnit.SECONDS), "the sync started")
    sync.interrupt()
    interrupted.countDown()
    worker.join(60_000)
    check(!worker.isAlive && failure == null, "the interrupted call returned: $failure")
    val cancelled = report!!
    check(cancelled.cancelled && cancelled.lastError == null, "report says cancelled: $cancelled")
    check(cancelled.opsPushed >= 1u && cancelled.workLeft.uploads == 1u && cancelled.nextAttemptMs != null, "the rest waits: $cancelled")
    // The interrupt ended that call only; the next one finishes.
    syncUntilDone(sync)
    checkDelivered(store, inspectionId, photo)
}

private fun revokedDevice(dir: File, bureau: Bureau) {
    val store = InspectionStore.open(File(dir, "sync-revoked.db").path)
    val transport = JdkTransport()
    val sync = BureauSync(store, transport = transport)
    val enrollment = sync.enroll(bureau.url, bureau.enrollmentCode(), bureau.tlsPin)
    fieldWork(store)
    val revoked = bureau.admin("devices", "revoke", enrollment.deviceId)
    check(revoked.contains("\"revoked_ms\":") && !revoked.contains("\"revoked_ms\":null"), "device revoked: $revoked")

    val report = sync.syncOnce(SYNC_TIMEOUT_MS)
    val error = report.lastError
    check(error?.code == "device_revoked" && error.errorClass == ErrorClass.AUTH, "auth error reported: $report")
    check(report.nextAttemptMs == null && report.workLeft.ops > 0u, "no retry; the work is kept: $report")
    val sent = transport.requests.size
    check(sync.syncOnce(SYNC_TIMEOUT_MS).lastError == error, "still refused")
    check(transport.requests.size == sent, "no request until the device enrolls again")
    // The revoked key cannot enroll again, even with a fresh code.
    val refused = expect<FieldproofException.InvalidState>("device_revoked") { sync.enroll(bureau.url, bureau.enrollmentCode(), bureau.tlsPin) }
    check(refused.reason.isNotEmpty(), "the refusal says why")
    expect<FieldproofException.InvalidInput>("unknown_enrollment_code") { sync.enroll(bureau.url, "AAAA-BBBB-CCCC-DDDD", bureau.tlsPin) }
}
