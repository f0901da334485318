package org.fieldproof.android.sync

import java.net.Socket
import java.security.MessageDigest
import java.security.cert.CertificateException
import java.security.cert.X509Certificate
import java.util.Base64
import javax.net.ssl.SSLEngine
import javax.net.ssl.X509ExtendedTrustManager

/** The server's key is not the pinned one. */
class PinMismatch : CertificateException("the server's TLS key is not the pinned one")

/**
 * Trusts exactly the servers whose certificate holds the pinned key: `sha256/` and
 * the base64 SHA-256 of its SubjectPublicKeyInfo, the form OkHttp pins use. The CA
 * chain is not consulted: the pin is the bureau's identity. Plain JDK (no Android
 * class), so any JVM transport can use it.
 */
class PinningTrustManager(private val pin: String) : X509ExtendedTrustManager() {
    private fun check(chain: Array<out X509Certificate>) {
        val leaf = chain.firstOrNull() ?: throw PinMismatch()
        val digest = MessageDigest.getInstance("SHA-256").digest(leaf.publicKey.encoded)
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
