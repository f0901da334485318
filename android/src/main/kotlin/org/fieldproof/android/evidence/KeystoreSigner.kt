package org.fieldproof.android.evidence

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import org.fieldproof.CaptureContext
import org.fieldproof.EvidenceSigner
import org.fieldproof.FieldproofException
import org.fieldproof.InspectionStore
import java.math.BigInteger
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.util.Date

/**
 * The evidence key in the Android Keystore: P-256, made in StrongBox where the
 * phone has one, else in the TEE; the private half never leaves that hardware.
 * Its attestation chain goes to the bureau at enrollment
 * (`BureauSync.enroll(..., attestationChain = signer.attestationChain())`).
 *
 * A key is made valid for [KEY_LIFETIME_MS]. An expired or invalidated key can
 * sign nothing, not even the record handing the chain on, so [rotateIfDue] hands
 * the chain to a fresh key while the old one still signs. The chain itself (which
 * key signed what, the `key_rotation` records) is the core's.
 */
class KeystoreSigner private constructor(val alias: String, private val keyStore: KeyStore) : EvidenceSigner {
    override fun publicKey(): ByteArray = sec1(keyStore.getCertificate(alias).publicKey as ECPublicKey)

    override fun sign(message: ByteArray): ByteArray {
        val key = try {
            keyStore.getKey(alias, null) as PrivateKey
        } catch (e: Exception) {
            throw FieldproofException.Storage("key_unavailable", "the Keystore key cannot be used: ${e.javaClass.simpleName}")
        }
        return signDer(key, message)
    }

    /** The Keystore's attestation of this key: certificates, leaf first, DER. */
    fun attestationChain(): List<ByteArray> = keyStore.getCertificateChain(alias)?.map { it.encoded }.orEmpty()

    /** When this key stops signing (UTC ms), from its alias. */
    val validUntilMs: Long get() = createdMs(alias) + KEY_LIFETIME_MS

    /**
     * Hands the chain to a new key when this one ends within [ROTATE_BEFORE_MS]:
     * this key signs the `key_rotation` record, the new key signs from then on,
     * and this one is deleted. Returns the signer in use afterwards.
     */
    fun rotateIfDue(store: InspectionStore, context: CaptureContext, nowMs: Long = System.currentTimeMillis()): KeystoreSigner {
        if (validUntilMs - nowMs > ROTATE_BEFORE_MS) return this
        val next = generate(keyStore, nowMs)
        try {
            store.rotateKey(next, context)
        } catch (e: FieldproofException) {
            keyStore.deleteEntry(next.alias)
            throw e
        }
        keyStore.deleteEntry(alias)
        return next
    }

    companion object {
        private const val PROVIDER = "AndroidKeyStore"
        private const val ALIAS_PREFIX = "fieldproof-evidence-"
        const val KEY_LIFETIME_MS = 2L * 365 * 24 * 3600 * 1000
        const val ROTATE_BEFORE_MS = 30L * 24 * 3600 * 1000

        /**
         * Installs the key that signs this device's chain, making one for a fresh
         * device. A key made but never handed the chain (the app died mid-rotation)
         * is deleted. Throws `key_unavailable` when the chain's key is gone (the
         * Keystore was reset): the device must then be enrolled as a new one.
         */
        fun install(store: InspectionStore): KeystoreSigner {
            val keyStore = KeyStore.getInstance(PROVIDER).apply { load(null) }
            val aliases = keyStore.aliases().toList().filter { it.startsWith(ALIAS_PREFIX) }.sortedByDescending(::createdMs)
            for ((index, alias) in aliases.withIndex()) {
                val signer = KeystoreSigner(alias, keyStore)
                try {
                    store.usePlatformSigner(signer)
                } catch (e: FieldproofException) {
                    continue
                }
                aliases.take(index).forEach(keyStore::deleteEntry)
                return signer
            }
            val fresh = generate(keyStore, System.currentTimeMillis())
            try {
                store.usePlatformSigner(fresh)
            } catch (e: FieldproofException) {
                keyStore.deleteEntry(fresh.alias)
                throw e
            }
            return fresh
        }

        private fun createdMs(alias: String): Long = alias.removePrefix(ALIAS_PREFIX).toLongOrNull() ?: 0L

        private fun generate(keyStore: KeyStore, nowMs: Long): KeystoreSigner {
            val alias = ALIAS_PREFIX + nowMs
            fun spec(strongBox: Boolean): KeyGenParameterSpec {
                val builder = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
                    .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
                    .setDigests(KeyProperties.DIGEST_SHA256)
                    .setKeyValidityEnd(Date(nowMs + KEY_LIFETIME_MS))
                // The challenge binds the attestation to this key's moment of birth.
                if (Build.VERSION.SDK_INT >= 24) builder.setAttestationChallenge(BigInteger.valueOf(nowMs).toByteArray())
                if (strongBox && Build.VERSION.SDK_INT >= 28) builder.setIsStrongBoxBacked(true)
                return builder.build()
            }
            val generator = KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, PROVIDER)
            try {
                generator.initialize(spec(strongBox = true))
                generator.generateKeyPair()
            } catch (e: Exception) {
                // No StrongBox on this phone (StrongBoxUnavailableException, API 28+): the TEE.
                if (Build.VERSION.SDK_INT < 28 || e !is StrongBoxUnavailableException) throw e
                generator.initialize(spec(strongBox = false))
                generator.generateKeyPair()
            }
            return KeystoreSigner(alias, keyStore)
        }
    }
}

/** SEC1 uncompressed encoding of a P-256 public key: 0x04 ‖ x ‖ y, 65 bytes. */
fun sec1(key: ECPublicKey): ByteArray {
    fun coordinate(value: BigInteger): ByteArray {
        val bytes = value.toByteArray().dropWhile { it == 0.toByte() }.toByteArray()
        require(bytes.size <= 32) { "not a P-256 key" }
        return ByteArray(32 - bytes.size) + bytes
    }
    return byteArrayOf(0x04) + coordinate(key.w.affineX) + coordinate(key.w.affineY)
}

/** ECDSA over SHA-256, DER-encoded: the form the core accepts from platform keys. */
fun signDer(key: PrivateKey, message: ByteArray): ByteArray =
    Signature.getInstance("SHA256withECDSA").run {
        initSign(key)
        update(message)
        sign()
    }
