// Test support shared by the Kotlin binding tests and the Android glue's JVM tests:
// a real bureau (`fieldproof serve`) on loopback, and the shared corpus.
package org.fieldproof.testing

import java.io.File
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

private const val ADMIN_TOKEN = "kotlin-bindings-test-admin-token"

/** `fieldproof serve --json` on 127.0.0.1:0 with its own data folder; every wait bounded. */
class Bureau(data: File) : AutoCloseable {
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
    fun admin(vararg args: String): String = adminLines(*args).first()

    /** `fieldproof admin --json ARGS` against this bureau: every output line. */
    fun adminLines(vararg args: String): List<String> {
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
        if (admin.exitValue() != 0) throw AssertionError("fieldproof admin ${args.joinToString(" ")}: $output")
        return output.lines().filter { it.isNotEmpty() }
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
fun jsonField(line: String, name: String): String? =
    Regex("\"$name\":\"([^\"]*)\"").find(line)?.groupValues?.get(1)

/** The shared corpus (`FIELDPROOF_CORPUS`, or `../shared/corpus` beside the checkout). */
fun corpus(): File {
    val configured = System.getenv("FIELDPROOF_CORPUS")
    val dir = File(configured ?: "../shared/corpus")
    if (!dir.isDirectory) {
        throw AssertionError("shared corpus not found at ${dir.absolutePath}: set FIELDPROOF_CORPUS or place it beside the checkout")
    }
    return dir
}
