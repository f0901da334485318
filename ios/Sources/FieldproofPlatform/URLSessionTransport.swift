import CryptoKit
import Fieldproof
import Foundation

/// The core's `Transport` over URLSession. It carries bytes only: no redirects
/// followed (the core follows its bureau's own origin), no caching, no retries, no
/// cookies. With a `tlsPin`, the TLS handshake completes only with a server holding
/// that key (`sha256/` + base64 SHA-256 of its SubjectPublicKeyInfo), whoever
/// signed its certificate: the bureau's may be self-signed.
/// (`@unchecked Sendable`: its mutable state is behind `lock`.)
public final class URLSessionTransport: NSObject, Transport, URLSessionTaskDelegate, @unchecked Sendable {
    private var session: URLSession!
    private let lock = NSLock()
    private var inFlight: [Int: URLSessionTask] = [:]
    private var cancelled: Set<Int> = []
    private var pins: [Int: String] = [:]

    public override init() {
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpShouldSetCookies = false
        configuration.waitsForConnectivity = false
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }

    public func send(request: HttpRequest) throws -> HttpResponse {
        guard let url = URL(string: request.url) else { throw TransportError.Offline(reason: "bad URL") }
        var urlRequest = URLRequest(url: url, timeoutInterval: TimeInterval(request.timeoutMs) / 1000)
        urlRequest.httpMethod = request.method
        for header in request.headers where !["content-length", "host", "connection"].contains(header.name.lowercased()) {
            urlRequest.setValue(header.value, forHTTPHeaderField: header.name)
        }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }

        let done = DispatchSemaphore(value: 0)
        var answer: (Data?, URLResponse?, Error?)
        let task = session.dataTask(with: urlRequest) { data, response, error in
            answer = (data, response, error)
            done.signal()
        }
        lock.withLock {
            inFlight[task.taskIdentifier] = task
            pins[task.taskIdentifier] = request.tlsPin
        }
        task.resume()
        done.wait()
        let wasCancelled = lock.withLock { () -> Bool in
            inFlight[task.taskIdentifier] = nil
            pins[task.taskIdentifier] = nil
            return cancelled.remove(task.taskIdentifier) != nil
        }
        if let error = answer.2 as? URLError {
            if wasCancelled { throw TransportError.Cancelled }
            // A refused pin cancels the handshake's challenge (below).
            let handshakeRefused: [URLError.Code] = [.cancelled, .serverCertificateUntrusted, .secureConnectionFailed]
            if request.tlsPin != nil && handshakeRefused.contains(error.code) { throw TransportError.PinMismatch }
            if error.code == .timedOut { throw TransportError.Timeout(reason: error.localizedDescription) }
            throw TransportError.Offline(reason: error.localizedDescription)
        }
        if let error = answer.2 { throw TransportError.Offline(reason: error.localizedDescription) }
        guard let http = answer.1 as? HTTPURLResponse else { throw TransportError.Offline(reason: "no HTTP answer") }
        let headers = http.allHeaderFields.map { HttpHeader(name: "\($0.key)", value: "\($0.value)") }
        return HttpResponse(status: UInt16(http.statusCode), headers: headers, body: answer.0 ?? Data())
    }

    /// Ends every request in flight; each fails as `Cancelled`. Any thread.
    public func cancelAll() {
        lock.withLock {
            for (id, task) in inFlight {
                cancelled.insert(id)
                task.cancel()
            }
        }
    }

    // The core follows redirects itself, on its bureau's origin only.
    public func urlSession(_ session: URLSession, task: URLSessionTask,
                           willPerformHTTPRedirection response: HTTPURLResponse,
                           newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
                           completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
        let pin = lock.withLock { pins[task.taskIdentifier] }
        guard challenge.protectionSpace.authenticationMethod == NSURLAuthenticationMethodServerTrust,
              let trust = challenge.protectionSpace.serverTrust, let pin else {
            completionHandler(.performDefaultHandling, nil)
            return
        }
        if let leaf = (SecTrustCopyCertificateChain(trust) as? [SecCertificate])?.first,
           let key = SecCertificateCopyKey(leaf), spkiPin(of: key) == pin {
            completionHandler(.useCredential, URLCredential(trust: trust))
        } else {
            completionHandler(.cancelAuthenticationChallenge, nil)
        }
    }
}

/// The pin of a P-256 key: SHA-256 over its SubjectPublicKeyInfo (the fixed
/// prefix for EC P-256 followed by the 65-byte X9.63 point iOS exports).
func spkiPin(of key: SecKey) -> String? {
    guard let point = SecKeyCopyExternalRepresentation(key, nil) as Data?, point.count == 65 else { return nil }
    let prefix = Data([0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                       0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00])
    return "sha256/" + Data(SHA256.hash(data: prefix + point)).base64EncodedString()
}
