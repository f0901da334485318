package org.fieldproof.android.sync

import okhttp3.Call
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import org.fieldproof.HttpHeader
import org.fieldproof.HttpRequest
import org.fieldproof.HttpResponse
import org.fieldproof.Transport
import org.fieldproof.TransportException
import java.io.IOException
import java.io.InterruptedIOException
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit
import javax.net.ssl.SSLContext

/**
 * The core's [Transport] over OkHttp, the HTTP stack Android apps use.
 *
 * It carries bytes and nothing more: redirects are not followed (the core follows
 * a `Location` on the bureau's own origin only), nothing is retried (the core
 * decides retries), and bodies are not decompressed (the core asks for gzip and
 * decodes it itself). A request with a `tlsPin` completes its TLS handshake only
 * with a server holding that key, whoever signed its certificate: the bureau's
 * certificate may be self-signed, so the pin is checked in the trust manager
 * (OkHttp's `CertificatePinner` runs only after a CA accepted the chain).
 *
 * [cancelAll] ends the requests in flight at once; [SyncSession.interrupt] calls
 * it beside `BureauSync.interrupt()`, which the core only sees between requests.
 */
class OkHttpTransport(client: OkHttpClient = OkHttpClient()) : Transport {
    private val plain: OkHttpClient = client.newBuilder()
        .followRedirects(false)
        .followSslRedirects(false)
        .retryOnConnectionFailure(false)
        .build()
    private val pinned = ConcurrentHashMap<String, OkHttpClient>()
    private val inFlight: MutableSet<Call> = ConcurrentHashMap.newKeySet()
    private val cancelled: MutableSet<Call> = ConcurrentHashMap.newKeySet()

    override fun send(request: HttpRequest): HttpResponse {
        val call = client(request.tlsPin).newCall(okHttpRequest(request))
        call.timeout().timeout(request.timeoutMs.toLong(), TimeUnit.MILLISECONDS)
        inFlight += call
        try {
            call.execute().use { answer ->
                val headers = answer.headers.map { (name, value) -> HttpHeader(name, value) }
                return HttpResponse(answer.code.toUShort(), headers, answer.body.bytes())
            }
        } catch (e: IOException) {
            throw when {
                call in cancelled -> TransportException.Cancelled()
                e.causes().any { it is PinMismatch } -> TransportException.PinMismatch()
                e is InterruptedIOException -> TransportException.Timeout(e.toString())
                else -> TransportException.Offline(e.toString())
            }
        } finally {
            inFlight -= call
            cancelled -= call
        }
    }

    /** Ends every request in flight; each fails as `Cancelled`. Any thread. */
    fun cancelAll() {
        for (call in inFlight) {
            cancelled += call
            call.cancel()
        }
    }

    private fun okHttpRequest(request: HttpRequest): Request {
        val builder = Request.Builder().url(request.url)
        for (header in request.headers) {
            // OkHttp writes these from the body and the connection itself.
            if (header.name.lowercase() !in MANAGED_HEADERS) builder.addHeader(header.name, header.value)
        }
        val body = if (request.method in BODILESS_METHODS) null else request.body.toRequestBody(null)
        return builder.method(request.method, body).build()
    }

    /** A client that completes a handshake only with the pinned key (one per pin). */
    private fun client(pin: String?): OkHttpClient = if (pin == null) plain else pinned.computeIfAbsent(pin) {
        val trust = PinningTrustManager(it)
        val context = SSLContext.getInstance("TLS").apply { init(null, arrayOf(trust), null) }
        plain.newBuilder()
            .sslSocketFactory(context.socketFactory, trust)
            // The pin is the bureau's identity; its certificate may name any host.
            .hostnameVerifier { _, _ -> true }
            .build()
    }

    private companion object {
        val MANAGED_HEADERS = setOf("content-length", "host", "connection", "transfer-encoding")
        val BODILESS_METHODS = setOf("GET", "HEAD")
    }
}

private fun Throwable.causes(): Sequence<Throwable> = generateSequence(this) { it.cause }
