// Kotlin binding test, sync half: BureauSync against a real bureau on loopback (the
// `fieldproof serve` binary, over HTTPS with a self-signed certificate the device
// pins), with the built-in transport and with a Kotlin one (java.net.http, as an
// app would plug in OkHttp, pinning the same key), a progress listener, an
// interrupt from another thread, and a revoked device. Called from BindingsTest.kt.

import org.fieldproof.*
import java.io.File
import java.io.IOException
import java.net.URI
import java.net.http.HttpClient
import java.net.Socket
import java.net.http.HttpTimeoutException
import java.security.MessageDigest
import java.security.cert.CertificateException
import java.security.cert.X509Certificate
import java.util.Base64
import java.util.Collections
import java.util.concurrent.ConcurrentHashMap
import javax.net.ssl.SSLContext
import javax.net.ssl.SSLEngine
import javax.net.ssl.X509ExtendedTrustManager
import java.util.concurrent.CountDownLatch
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

private const val ADMIN_TOKEN = "kotlin-bindings-test-admin-token"
private const val SYNC_TIMEOUT_MS = 60_000uL
private const val SMALL_PHOTO = "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg" // one tus request
private const val LARGE_PHOTO = "photos/camera/canon_sx60_orient6.jpg" // creation + PATCH chunks

/** `fieldproof serve --json` on 127.0.0.1:0 with its own data folder; every wait bounded. */
private class Bureau(data: File) : AutoCloseable {
    private val binary = File(System.getenv("FIELDPROOF_BIN") ?: "target/debug/fieldproof").also {
        if (!it.canExecute()) throw AssertionError("fieldproof binary not found at ${it.absolutePath}: set FIELDPROOF_BIN")
    }
    private val process: Process = ProcessBuilder(
        binary.path, "serve", "--data", data.path, "--listen", "127.0.0.1:0", "--tls-self-signed", "--json",
    )
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .also {
            it.environment()["FIELDPROOF_ADMIN_TOKEN"] = ADMIN_TOKEN
            it.environment().remove("FIELDPROOF_DATABASE_URL")
        }
        .start()
    val url: String
    val tlsPin: String

    init {
        val lines = LinkedBlockingQueue<String>()
        Thread {
            process.inputStream.bufferedReader().forEachLine { lines.put(it) }
            lines.put("")
        }.apply { isDaemon = true }.start()
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
        var found: String? = null
        var pin: String? = null
        try {
            while (found == null) {
                val line = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)
                    ?: throw AssertionError("fieldproof serve printed no listening line within 60 s")
                if (line.isEmpty()) throw AssertionError("fieldproof serve ended without a listening line")
                found = jsonField(line, "url")
                pin = jsonField(line, "tls_pin")
            }
        } catch (e: Throwable) {
            close()
            throw e
        }
        url = found
        tlsPin = pin ?: throw AssertionError("fieldproof serve --tls-self-signed printed no TLS pin")
    }

    /** `fieldproof admin --json ARGS` against this bureau: its first output line. */
    fun admin(vararg args: String): String {
        val admin = ProcessBuilder(listOf(binary.path, "admin", "--server", url, "--tls-pin", tlsPin, "--json") + args)
            .redirectErrorStream(true)
            .also { it.environment()["FIELDPROOF_ADMIN_TOKEN"] = ADMIN_TOKEN }
            .start()
        val output = StringBuilder()
        val reader = Thread { output.append(admin.inputStream.bufferedReader().readText()) }.apply { start() }
        if (!admin.waitFor(30, TimeUnit.SECONDS)) {
            admin.destroyForcibly()
            throw AssertionError("fieldproof admin ${args.joinToString(" ")} did not end within 30 s")
        }
        reader.join(10_000)
        check(admin.exitValue() == 0, "fieldproof admin ${args.joinToString(" ")}: $output")
        return output.lineSequence().first()
    }

    fun enrollmentCode(): String = jsonField(
        admin("enrollment-code", "create", "--officer", "测试员", "--jurisdiction", "430121", "--role", "township_staff"),
        "code",
    ) ?: throw AssertionError("no enrollment code printed")

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS)
        }
    }
}

/** One string field of a flat JSON line (enough for the CLI's output here). */
private fun jsonField(line: String, name: String): String? =
    Regex("\"$name\":\"([^\"]*)\"").find(line)?.groupValues?.get(1)

/** The server's key is not the pinned one. */
private class PinMismatch : CertificateException("the server's TLS key is not the pinned one")

/**
 * Trusts exactly the servers whose certificate holds the pinned key: `sha256/` and
 * the base64 SHA-256 of its SubjectPublicKeyInfo, as OkHttp's CertificatePinner
 * pins. The CA chain is not consulted: the pin is the bureau's identity.
 */
private class PinningTrustManager(private val pin: String) : X509ExtendedTrustManager() {
    private fun check(chain: Array<out X509Certificate>) {
        val digest = MessageDigest.getInstance("SHA-256").digest(chain.first().publicKey.encoded)
        if ("sha256/" + Base64.getEncoder().encodeToString(digest) != pin) throw PinMismatch()
    }
    override fun checkServerTrusted(chain: Array<out X509Certificate>, authType: String) = check(chain)
    override fun checkServerTrusted(chain: Array<out X509Certificate>, authType: String, socket: Socket) = check(chain)
    override fun checkServerTrusted(chain: Array<out X509Certificate>, authType: String, engine: SSLEngine) = check(chain)
    override fun checkClientTrusted(chain: Array<out X509Certificate>, authType: String) = throw CertificateException("server side only")
    override fun checkClientTrusted(chain: Array<out X509Certificate>, authType: String, socket: Socket) = throw CertificateException("server side only")
    override fun checkClientTrusted(chain: Array<out X509Certificate>, authType: String, engine: SSLEngine) = throw CertificateException("server side only")
    override fun getAcceptedIssuers(): Array<X509Certificate> = arrayOf()
}

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

private fun yes(item: String) = Answer(item, AnswerValue.YesNo(true))

/** A submitted straw-burning inspection with one corpus photo, recorded offline. */
private fun fieldWork(store: InspectionStore, photoPath: String = SMALL_PHOTO): Pair<String, Photo> {
    val fields = DraftFields(
        townshipCode = "430121101",
        countyCode = null,
        site = GeoPoint(lat = 28.25, lon = 113.08, datum = Datum.WGS84),
        address = "黄花镇村口",
        taskId = null,
        officerId = "officer-kt",
        startedAtMs = 1_790_000_000_000L,
        endedAtMs = null,
        findings = "",
        responsibleParty = null,
    )
    val answers = listOf("fire_on_arrival", "extinguished", "responsible_party_identified", "warning_issued").map(::yes) +
        Answer("burned_area_mu", AnswerValue.Number(1.5)) + Answer("material", AnswerValue.Choice("rice_straw"))
    val inspection = store.createDraft("straw_burning", fields, answers)
    val context = CaptureContext(CaptureSource.CAMERA, inspection.id, null, "officer-kt", null, null, "kotlin-sync-test")
    val photo = store.capturePhoto(PhotoInput.Path(File(corpus(), photoPath).path), null, context)
    store.submit(inspection.id)
    return inspection.id to photo
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
