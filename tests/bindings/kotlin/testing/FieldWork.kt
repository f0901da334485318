// A day of field work recorded offline, for the sync tests of the bindings and of
// the Android glue.
package org.fieldproof.testing

import org.fieldproof.Answer
import org.fieldproof.AnswerValue
import org.fieldproof.CaptureContext
import org.fieldproof.CaptureSource
import org.fieldproof.Datum
import org.fieldproof.DraftFields
import org.fieldproof.GeoPoint
import org.fieldproof.InspectionStore
import org.fieldproof.Photo
import org.fieldproof.PhotoInput
import java.io.File

/** A photo of the corpus that one tus request carries. */
const val SMALL_PHOTO = "photos/camera/nikon_coolpix_p6000_gps_DSCN0010.jpg"

/** A photo of the corpus that takes a creation and several PATCH chunks. */
const val LARGE_PHOTO = "photos/camera/canon_sx60_orient6.jpg"

/** A submitted straw-burning inspection with one corpus photo, recorded offline. */
fun fieldWork(store: InspectionStore, photoPath: String = SMALL_PHOTO, officerId: String = "officer-kt"): Pair<String, Photo> {
    val fields = DraftFields(
        townshipCode = "430121101",
        countyCode = null,
        site = GeoPoint(lat = 28.25, lon = 113.08, datum = Datum.WGS84),
        address = "黄花镇村口",
        taskId = null,
        officerId = officerId,
        startedAtMs = 1_790_000_000_000L,
        endedAtMs = null,
        findings = "",
        responsibleParty = null,
    )
    val yes = { item: String -> Answer(item, AnswerValue.YesNo(true)) }
    val answers = listOf("fire_on_arrival", "extinguished", "responsible_party_identified", "warning_issued").map(yes) +
        Answer("burned_area_mu", AnswerValue.Number(1.5)) + Answer("material", AnswerValue.Choice("rice_straw"))
    val inspection = store.createDraft("straw_burning", fields, answers)
    val context = CaptureContext(CaptureSource.CAMERA, inspection.id, null, officerId, null, null, "kotlin-sync-test")
    val photo = store.capturePhoto(PhotoInput.Path(File(corpus(), photoPath).path), null, context)
    store.submit(inspection.id)
    return inspection.id to photo
}
