package org.fieldproof.android.sync

import java.io.InputStream
import java.io.OutputStream
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.util.Collections
import java.util.concurrent.atomic.AtomicLong
import kotlin.concurrent.thread

/**
 * A TCP relay on 127.0.0.1 in front of the bureau, to make a link fail the way 2G
 * does: [Mode.CUT] resets every connection after [cutAfterBytes] bytes sent
 * upstream; [Mode.STALL] stops forwarding upstream after that many (a request
 * hanging mid-body). TLS passes through untouched.
 */
class LoopbackProxy(private val upstreamPort: Int) : AutoCloseable {
    enum class Mode { PASS, CUT, STALL }

    @Volatile
    var mode = Mode.PASS

    @Volatile
    var cutAfterBytes = 64 * 1024L

    /** Bytes forwarded to the bureau, over every connection. */
    val upstreamBytes = AtomicLong()

    private val server = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
    private val sockets: MutableSet<Socket> = Collections.synchronizedSet(mutableSetOf())
    val port: Int get() = server.localPort

    init {
        thread(isDaemon = true, name = "proxy-accept") {
            while (!server.isClosed) {
                val client = runCatching { server.accept() }.getOrNull() ?: break
                val upstream = Socket(InetAddress.getLoopbackAddress(), upstreamPort)
                sockets += client
                sockets += upstream
                thread(isDaemon = true) { relay(client.getInputStream(), upstream.getOutputStream(), true, client, upstream) }
                thread(isDaemon = true) { relay(upstream.getInputStream(), client.getOutputStream(), false, client, upstream) }
            }
        }
    }

    /** Copies one direction; the mode applies to the way up, read at every block. */
    private fun relay(from: InputStream, to: OutputStream, up: Boolean, vararg ends: Socket) {
        val buffer = ByteArray(8 * 1024)
        var sent = 0L
        var stalled = false
        try {
            while (true) {
                val n = from.read(buffer)
                if (n < 0) break
                if (up && mode != Mode.PASS && (stalled || sent + n > cutAfterBytes)) {
                    if (mode == Mode.CUT) break
                    // STALL: read on, forward nothing more on this connection.
                    stalled = true
                    continue
                }
                to.write(buffer, 0, n)
                to.flush()
                sent += n
                if (up) upstreamBytes.addAndGet(n.toLong())
            }
        } catch (_: Exception) {
            // The other side closed: close both.
        } finally {
            ends.forEach { runCatching { it.close() } }
        }
    }

    override fun close() {
        server.close()
        synchronized(sockets) { sockets.forEach { runCatching { it.close() } } }
    }
}
