package org.fieldproof.android.evidence

import org.fieldproof.CaptureContext
import org.fieldproof.CaptureSource
import org.fieldproof.EvidenceSigner
import org.fieldproof.FieldproofException
import org.fieldproof.InspectionStore
import org.fieldproof.PhotoInput
import org.fieldproof.testing.SMALL_PHOTO
import org.fieldproof.testing.corpus
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec

/**
 * The Keystore signer's encoding (SEC1 public key, DER signatures) accepted by the
 * core, with a JDK key standing in for the Keystore's (which needs a phone).
 */
class PlatformSigningTest {
    @get:Rule
    val folder = TemporaryFolder()

    private class JdkSigner(val pair: KeyPair = newPair()) : EvidenceSigner {
        override fun publicKey(): ByteArray = sec1(pair.public as ECPublicKey)
        override fun sign(message: ByteArray): ByteArray = signDer(pair.private, message)
    }

    private val context = CaptureContext(CaptureSource.CAMERA, null, null, "officer-android", 5_000uL, "boot-1", "android-jvm-test")

    @Test
    fun aPlatformKeySignsTheChainAndHandsItOn() {
        val store = InspectionStore.open(File(folder.root, "device.db").path)
        val first = JdkSigner()
        assertEquals(65, first.publicKey().size)
        assertEquals(0x04.toByte(), first.publicKey()[0])
        store.usePlatformSigner(first)
        assertArrayEquals(first.publicKey(), store.devicePublicKey())
        store.capturePhoto(PhotoInput.Path(File(corpus(), SMALL_PHOTO).path), null, context)

        // Rotation as rotateIfDue does it: the old key signs the handover.
        val second = JdkSigner()
        val rotation = store.rotateKey(second, context)
        store.capturePhoto(PhotoInput.Path(File(corpus(), SMALL_PHOTO).path), null, context)
        val report = store.verifyEvidence()
        assertTrue("chain verifies across the rotation: $report", report.failures.isEmpty() && report.records == rotation + 1uL)

        // After a restart, only the key the chain was handed to is taken.
        val reopened = InspectionStore.open(File(folder.root, "device.db").path)
        try {
            reopened.usePlatformSigner(first)
            fail("the retired key was taken")
        } catch (e: FieldproofException.Storage) {
            assertEquals("key_unavailable", e.code)
        }
        reopened.usePlatformSigner(second)
    }
}

private fun newPair(): KeyPair =
    KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
