// Kotlin binding test: drives every exported InspectionStore operation through the
// generated uniffi code on the JVM (JNA), including the error paths an app handles,
// and sync with a real bureau on loopback (SyncTest.kt).
// Run by scripts/test-bindings; exits non-zero on the first failed check.

import org.fieldproof.*
import org.fieldproof.testing.corpus
import java.io.File
import java.nio.file.Files
import kotlin.system.exitProcess

private var checks = 0

internal fun check(condition: Boolean, what: String) {
    checks++
    if (!condition) throw AssertionError("check failed: $what")
}

/** Runs [block] and returns the exception of type [T] it must throw. */
internal inline fun <reified T : FieldproofException> expect(code: String, block: () -> Unit): T {
    try {
        block()
    } catch (e: FieldproofException) {
        check(e is T, "expected ${T::class.simpleName} for $code, got ${e::class.simpleName}: ${e.message}")
        val actual = when (e) {
            is FieldproofException.InvalidInput -> e.code
            is FieldproofException.NotFound -> e.code
            is FieldproofException.InvalidState -> e.code
            is FieldproofException.Storage -> e.code
            is FieldproofException.Network -> e.code
        }
        check(actual == code, "expected code $code, got $actual")
        return e as T
    }
    throw AssertionError("expected $code, but the call succeeded")
}

private const val START = 1_790_000_000_000L

private fun fields(lat: Double = 28.2282, datum: Datum = Datum.GCJ02) = DraftFields(
    townshipCode = "430121101",
    countyCode = null,
    site = GeoPoint(lat = lat, lon = 112.9388, datum = datum),
    address = "长沙县黄花镇某村",
    taskId = null,
    officerId = "officer-17",
    startedAtMs = START,
    endedAtMs = null,
    findings = "",
    responsibleParty = null,
)

private fun yes(item: String) = Answer(item, AnswerValue.YesNo(true))

private val complete = listOf(
    yes("fire_on_arrival"), yes("extinguished"), yes("responsible_party_identified"), yes("warning_issued"),
    Answer("burned_area_mu", AnswerValue.Number(2.5)),
    Answer("material", AnswerValue.Choice("rice_straw")),
)

private val noFilter = InspectionFilter(null, null, null, null, null, null)

fun main() {
    val dir = Files.createTempDirectory("fieldproof-kotlin").toFile()
    try {
        run(dir)
        println("kotlin: $checks passed, 0 failed")
    } catch (e: Throwable) {
        e.printStackTrace()
        // A failed check was counted before it threw; any other exception was not.
        val passed = if (e is AssertionError) checks - 1 else checks
        println("kotlin: $passed passed, 1 failed")
        exitProcess(1)
    } finally {
        dir.deleteRecursively()
    }
}

private fun fix(metresNorth: Double, seconds: Long, accuracy: Double = 5.0, mock: Boolean = false) = Fix(
    lat = 28.2 + metresNorth / 111_000.0,
    lon = 113.1,
    datum = Datum.WGS84,
    accuracyM = accuracy,
    altitudeM = null,
    speedMps = null,
    bearingDeg = null,
    timeMs = START + seconds * 1000,
    provider = "fused",
    mock = mock,
)

/** Patrol tracks and jurisdiction lookups, the location half of the API. */
private fun runLocation(dir: File) {
    val store = InspectionStore.open(File(dir, "location.db").path)
    val track = store.startTrack(NewTrack(officerId = "officer-17", inspectionId = null, taskId = null, filter = null))
    check(track.stoppedAtMs == null && track.filter.gapMs == 120_000L, "a new track records with default filters")
    val first = store.appendFix(track.id, fix(0.0, 0))
    check(first.verdict == Verdict.ACCEPTED && first.segment == 0u, "first fix opens segment 0")
    val batch = store.appendFixes(
        track.id,
        listOf(fix(3.0, 1), fix(3.0, 1), fix(6.0, 2, accuracy = 200.0), fix(6.0, 3, mock = true), fix(Double.NaN, 4), fix(9.0, 300)),
    )
    check(
        batch.map { it.verdict } == listOf(Verdict.ACCEPTED, Verdict.DUPLICATE_TIME, Verdict.LOW_ACCURACY, Verdict.ACCEPTED, Verdict.INVALID, Verdict.ACCEPTED),
        "verdicts: ${batch.map { it.verdict }}",
    )
    check(batch[4].errorCode == "invalid_coordinate", "invalid fixes name their error")
    check(batch[5].sealed?.segment == 0u && batch[5].sealed?.pointsSha256?.length == 64, "a gap seals the segment")
    val stopped = store.stopTrack(track.id)
    check(stopped.stats.accepted == 4uL && stopped.stats.mock == 1uL && stopped.stats.segments == 2u, "stats: ${stopped.stats}")
    check(store.sealedSegments(track.id).map { it.startReason } == listOf(SegmentStart.FIRST, SegmentStart.GAP), "segment reasons")
    check(store.trackPoints(track.id).size == 4, "every accepted fix is stored")
    check(store.exportTrackGpx(track.id, null).contains("<trkseg>"), "GPX export")
    check(store.exportTrackGeojson(track.id, 1.0).contains("\"LineString\""), "GeoJSON export (the one-point segment has no line)")
    expect<FieldproofException.InvalidState>("track_stopped") { store.appendFix(track.id, fix(20.0, 400)) }
    expect<FieldproofException.InvalidInput>("invalid_gpx") { store.importGpx("no gpx here".toByteArray(), "officer-17") }
    val car = store.importGpx(File(corpus(), "gpx/gpxpy_around-visnjan-with-car.gpx").readBytes(), "officer-17")
    check(car.stats.accepted == 99uL && car.stats.tooClose == 5uL, "GPX replay counts")

    val gcj = GeoPoint(28.2282, 112.9388, Datum.GCJ02)
    val back = convertPoint(convertPoint(gcj, Datum.WGS84), Datum.GCJ02)
    check(Math.abs(back.lat - gcj.lat) < 1e-7 && Math.abs(back.lon - gcj.lon) < 1e-7, "datum round trip")
    val changsha = File(corpus(), "boundaries/counties_by_city/430100.json").readText()
    check(store.loadBoundaries(changsha, Datum.GCJ02) == 9u, "nine Changsha counties")
    val inFurong = GeoPoint(28.1934, 112.9880, Datum.GCJ02)
    val located = store.locate(inFurong)
    check(located?.code == "430102" && located.inside, "point in Furong district: $located")
    check(store.locate(GeoPoint(30.5928, 114.3055, Datum.WGS84)) == null, "Wuhan is in no Hunan county")
    expect<FieldproofException.NotFound>("unknown_jurisdiction") { store.placement("999999", inFurong) }
    expect<FieldproofException.InvalidInput>("invalid_geojson") { store.loadBoundaries("{}", Datum.GCJ02) }
    val site = store.createDraft("straw_burning", fields().copy(townshipCode = "430102001", site = inFurong), emptyList())
    check(site.siteJurisdiction?.code == "430102" && site.siteJurisdiction?.inside == true, "site placed in its county")
}

/** A platform key as Android would hold it: JCA P-256, DER signatures from SHA256withECDSA. */
private class JcaSigner : EvidenceSigner {
    val pair: java.security.KeyPair = java.security.KeyPairGenerator.getInstance("EC")
        .apply { initialize(java.security.spec.ECGenParameterSpec("secp256r1")) }
        .generateKeyPair()

    override fun publicKey(): ByteArray {
        val point = (pair.public as java.security.interfaces.ECPublicKey).w
        fun fixed(n: java.math.BigInteger): ByteArray {
            val raw = n.toByteArray().dropWhile { it == 0.toByte() }.toByteArray()
            return ByteArray(32 - raw.size) + raw
        }
        return byteArrayOf(4) + fixed(point.affineX) + fixed(point.affineY)
    }

    override fun sign(message: ByteArray): ByteArray =
        java.security.Signature.getInstance("SHA256withECDSA").run {
            initSign(pair.private)
            update(message)
            sign()
        }
}

/** A keystore that fails (locked, user not authenticated). */
private class LockedSigner(private val key: JcaSigner) : EvidenceSigner {
    override fun publicKey() = key.publicKey()
    override fun sign(message: ByteArray): ByteArray =
        throw FieldproofException.Storage("key_unavailable", "keystore locked")
}

private fun context(source: CaptureSource = CaptureSource.CAMERA) =
    CaptureContext(source, null, null, "officer-17", 7_000_000uL, "boot-kt", "kotlin-test")

/** Photo evidence signed by a Kotlin-implemented platform signer. */
private fun runEvidence(dir: File) {
    val store = InspectionStore.open(File(dir, "evidence.db").path)
    val signer = JcaSigner()
    store.usePlatformSigner(signer)
    check(store.devicePublicKey().contentEquals(signer.publicKey()), "the platform key is the device key")
    val photoFile = File(corpus(), "photos/camera/canon_sx60_orient6.jpg")
    val photo = store.capturePhoto(PhotoInput.Path(photoFile.path), null, context())
    check(photo.recordSeq == 1uL && photo.orientation == 6.toUShort(), "capture: $photo")
    check(photo.thumbnail == Derivative.OK && store.thumbnail(photo.id)!!.size > 1000, "thumbnail made")
    val digest = java.security.MessageDigest.getInstance("SHA-256").digest(photoFile.readBytes())
    check(photo.sha256 == digest.joinToString("") { "%02x".format(it) }, "SHA-256 of the exact original bytes")
    val imported = store.capturePhoto(PhotoInput.Bytes(photoFile.readBytes()), null, context(CaptureSource.IMPORT))
    check(imported.recordSeq == 2uL && imported.sha256 == photo.sha256, "bytes import")
    check(store.recordNote("已责令停止焚烧", context()) == 3uL, "note record")
    val report = store.verifyEvidence()
    check(report.records == 3uL && report.failures.isEmpty(), "chain verifies: ${report.failures}")
    check(store.evidenceRecord(1uL)[0] == 0xD2.toByte(), "records are tagged COSE_Sign1")
    check(store.preparePreviews(60_000uL).remaining == 0u, "previews made")

    expect<FieldproofException.InvalidInput>("unsupported_media") {
        store.capturePhoto(PhotoInput.Bytes("not a photo".toByteArray()), null, context())
    }
    val successor = JcaSigner()
    check(store.rotateKey(successor, context()) == 4uL, "rotation record")
    check(store.recordNote("换用新密钥后的记录", context()) == 5uL, "signed by the new key")
    check(store.devicePublicKey().contentEquals(successor.publicKey()), "the new key is the device key")
    check(store.verifyEvidence().failures.isEmpty(), "the chain verifies across the rotation")
    expect<FieldproofException.Storage>("key_unavailable") { store.usePlatformSigner(signer) }
    expect<FieldproofException.Storage>("key_unavailable") { store.usePlatformSigner(JcaSigner()) }
    store.usePlatformSigner(LockedSigner(successor))
    expect<FieldproofException.Storage>("key_unavailable") { store.recordAppStart(context()) }
    check(store.verifyEvidence().records == 5uL, "failed signing stored nothing")
}

/** A PNG of signature strokes, as a signing pad on the screen would give it. */
private fun signaturePng(): ByteArray {
    val image = java.awt.image.BufferedImage(240, 80, java.awt.image.BufferedImage.TYPE_BYTE_GRAY)
    val pen = image.createGraphics()
    pen.color = java.awt.Color.WHITE
    pen.fillRect(0, 0, 240, 80)
    pen.color = java.awt.Color.BLACK
    pen.drawPolyline(intArrayOf(10, 60, 110, 160, 230), intArrayOf(60, 20, 55, 15, 50), 5)
    pen.dispose()
    val out = java.io.ByteArrayOutputStream()
    javax.imageio.ImageIO.write(image, "png", out)
    return out.toByteArray()
}

/** The party's acknowledgement on site, and a refusal signed by a witness. */
private fun runAcknowledgement(dir: File) {
    val store = InspectionStore.open(File(dir, "acknowledgement.db").path)
    val inspection = store.createDraft("straw_burning", fields(), complete)
    val png = signaturePng()
    val ack = store.acknowledge(inspection.id, AcknowledgementInput(SignerRole.PARTY, "张三", false, png), null, context())
    check(ack.role == SignerRole.PARTY && ack.revision == 0u && !ack.refused, "acknowledged: $ack")
    check(ack.inspectionSha256.length == 64 && ack.recordSeq == 1uL, "binds the content hash in record 1")
    val digest = java.security.MessageDigest.getInstance("SHA-256").digest(png)
    check(ack.imageSha256 == digest.joinToString("") { "%02x".format(it) }, "the signature image as given")
    check(store.photosOfInspection(inspection.id).isEmpty(), "a signature is not a photo of the scene")
    val witness = store.acknowledge(inspection.id, AcknowledgementInput(SignerRole.WITNESS, null, true, png), null, context())
    check(witness.refused && witness.inspectionSha256 == ack.inspectionSha256, "the refusal, over the same content")
    expect<FieldproofException.InvalidInput>("invalid_field") {
        store.acknowledge(inspection.id, AcknowledgementInput(SignerRole.PARTY, null, true, png), null, context())
    }
    expect<FieldproofException.InvalidInput>("unsupported_media") {
        store.acknowledge(inspection.id, AcknowledgementInput(SignerRole.PARTY, null, false, "strokes".toByteArray()), null, context())
    }
    check(store.verifyEvidence().records == 2uL, "refusals stored nothing")
}

private fun run(dir: File) {
    runEvidence(dir)
    runAcknowledgement(dir)
    runLocation(dir)
    runSync(dir)
    val store = InspectionStore.open(File(dir, "device.db").path)

    // Reference data.
    check(store.listMatters().map { it.code } == listOf("straw_burning", "waste_burning"), "default matters")
    val template = store.checklistForMatter("straw_burning")
    check(template.items.any { it.required && it.kind is ItemKind.YesNo }, "template has required yes/no items")
    val area = template.items.first { it.id == "burned_area_mu" }.kind as ItemKind.Number
    check(area.unit == "亩", "area is in mu")
    val v2 = template.copy(version = template.version + 1u, title = "秸秆焚烧检查 v2")
    store.putChecklistTemplate(v2)
    store.putMatter(Matter("straw_burning", "露天焚烧秸秆", template.id))
    check(store.checklistForMatter("straw_burning").version == v2.version, "new template version is current")
    check(store.checklistForVersion(template.id, template.version) == template, "old version still readable")
    expect<FieldproofException.NotFound>("not_found") { store.checklistForVersion(template.id, 99u) }
    expect<FieldproofException.InvalidInput>("invalid_template") {
        store.putChecklistTemplate(v2.copy(title = "changed"))
    }
    expect<FieldproofException.InvalidInput>("unknown_matter") { store.checklistForMatter("fishing") }

    // Draft → answers → submit → amend.
    val draft = store.createDraft("straw_burning", fields(), listOf(yes("fire_on_arrival")))
    check(draft.status == Status.DRAFT, "new inspection is a draft")
    check(draft.site.reportedDatum == Datum.GCJ02 && Math.abs(draft.site.lat - 28.2282) > 0.001, "site converted to WGS-84")
    check(draft.countyCode == "430121", "county derived from township")
    val updated = store.updateDraft(draft.id, fields().copy(findings = "田间有焚烧痕迹"))
    check(updated.findings == "田间有焚烧痕迹", "update draft")
    store.setAnswers(draft.id, complete + Answer("extinguish_method", AnswerValue.Choices(listOf("water"))))
    val cleared = store.clearAnswer(draft.id, "extinguish_method")
    check(cleared.answers.none { it.itemId == "extinguish_method" }, "clear answer")
    check(store.pendingOutbox(10u).isEmpty(), "drafts are not queued")
    val submitted = store.submit(draft.id)
    check(submitted.status == Status.SUBMITTED && submitted.endedAtMs != null, "submitted")
    val ops = store.pendingOutbox(10u)
    check(ops.size == 1 && ops[0].kind == "inspection.submit" && ops[0].entityId == draft.id, "outbox op")
    check(store.getInspection(draft.id) == submitted, "get returns what submit returned")

    val amendment = store.amend(draft.id)
    check(amendment.amendsId == draft.id && amendment.revision == 1u, "amendment links to original")
    expect<FieldproofException.InvalidState>("amendment_pending") { store.amend(draft.id) }

    // Listing with filters and keyset paging.
    for (i in 1..4) store.createDraft("waste_burning", fields().copy(startedAtMs = START + i * 1000L, taskId = "task-$i"), emptyList())
    val first = store.listInspections(noFilter, 3u, null)
    check(first.items.size == 3 && first.nextCursor != null, "first page")
    val second = store.listInspections(noFilter, 3u, first.nextCursor)
    check(second.items.size == 3 && second.nextCursor == null, "last page")
    check((first.items + second.items).map { it.id }.toSet().size == 6, "pages do not overlap")
    check(store.listInspections(noFilter.copy(matter = "waste_burning"), 50u, null).items.size == 4, "matter filter")
    check(store.listInspections(noFilter.copy(status = Status.SUBMITTED), 50u, null).items.single().id == draft.id, "status filter")
    check(store.listInspections(noFilter.copy(taskId = "task-2"), 50u, null).items.size == 1, "task filter")
    check(store.listInspections(noFilter.copy(text = "焚烧痕迹"), 50u, null).items.size == 2, "text filter (original and amendment)")
    check(
        store.listInspections(noFilter.copy(startedFromMs = START + 2000, startedBeforeMs = START + 4000), 50u, null).items.size == 2,
        "date range filter",
    )

    // Bad input: each a typed exception with a stable code, and nothing changes.
    expect<FieldproofException.InvalidInput>("invalid_coordinate") { store.createDraft("straw_burning", fields(lat = Double.NaN), emptyList()) }
    expect<FieldproofException.InvalidInput>("invalid_coordinate") { store.createDraft("straw_burning", fields(lat = 91.0), emptyList()) }
    expect<FieldproofException.InvalidInput>("invalid_time_range") {
        store.updateDraft(amendment.id, fields().copy(endedAtMs = START - 1))
    }
    expect<FieldproofException.InvalidInput>("unknown_checklist_item") { store.setAnswers(amendment.id, listOf(yes("nope"))) }
    expect<FieldproofException.InvalidInput>("wrong_answer_type") {
        store.setAnswers(amendment.id, listOf(Answer("fire_on_arrival", AnswerValue.Number(1.0))))
    }
    expect<FieldproofException.InvalidInput>("number_out_of_range") {
        store.setAnswers(amendment.id, listOf(Answer("burned_area_mu", AnswerValue.Number(-3.0))))
    }
    expect<FieldproofException.InvalidInput>("text_too_long") {
        store.setAnswers(amendment.id, listOf(Answer("remarks", AnswerValue.Text("火".repeat(501)))))
    }
    val incomplete = store.createDraft("straw_burning", fields(), emptyList())
    val missing = expect<FieldproofException.InvalidInput>("required_item_missing") { store.submit(incomplete.id) }
    check(missing.reason.contains("burned_area_mu"), "missing items are named")
    expect<FieldproofException.InvalidState>("not_draft") { store.submit(draft.id) }
    expect<FieldproofException.InvalidState>("not_draft") { store.updateDraft(draft.id, fields()) }
    expect<FieldproofException.NotFound>("not_found") { store.getInspection("0190f5c2-0000-7000-8000-00000000abcd") }
    expect<FieldproofException.InvalidInput>("invalid_id") { store.getInspection("not an id") }
    expect<FieldproofException.InvalidInput>("invalid_cursor") { store.listInspections(noFilter, 3u, "garbage") }
    check(store.getInspection(draft.id) == submitted, "the submitted inspection is unchanged")
    check(store.pendingOutbox(10u).size == 1, "still exactly one outbox op")

    // Storage failures.
    val notDb = File(dir, "photo.jpg").apply { writeBytes(ByteArray(4096) { 0x5a }) }
    expect<FieldproofException.Storage>("not_a_database") { InspectionStore.open(notDb.path) }
    // A fresh database (schema v5, with the sync tables) takes 160 KiB.
    val small = InspectionStore.openWithOptions(File(dir, "small.db").path, StoreOptions(maxSizeBytes = 200uL * 1024uL))
    val kept = mutableListOf<String>()
    val full = expect<FieldproofException.Storage>("storage_full") {
        repeat(1000) { kept += small.createDraft("straw_burning", fields().copy(findings = "焚烧".repeat(1000)), complete).id }
    }
    check(kept.isNotEmpty() && full.reason.isNotEmpty(), "some drafts fit before the cap")
    check(small.listInspections(noFilter, 500u, null).items.map { it.id }.toSet() == kept.toSet(), "full database keeps what it had")
}
