import Fieldproof
import Foundation

/// What one run did, and when the core wants the next.
public struct SyncOutcome {
    public let report: SyncReport
    public let plan: SyncPlan
}

/// The one entry point both background tasks call (mirrors Android's SyncSession).
/// The core decides how much of the window to use and when to come back.
public final class SyncSession {
    public let sync: BureauSync
    private let transport: URLSessionTransport

    public init(store: InspectionStore, transport: URLSessionTransport = URLSessionTransport(),
                listener: SyncListener? = nil, options: SyncOptions = SyncOptions()) {
        self.transport = transport
        self.sync = BureauSync(store: store, transport: transport, listener: listener, options: options)
    }

    /// Syncs within a background window of `windowMs` and plans the next run.
    /// Blocks: call it off the main thread.
    public func runOnce(windowMs: UInt64) throws -> SyncOutcome {
        let report = try sync.syncOnce(timeoutMs: syncTimeoutMs(windowMs: windowMs))
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        return SyncOutcome(report: report, plan: planNextSync(report: report, nowMs: nowMs))
    }

    /// Ends the run now (the task's expiration handler): the core at its next
    /// step, and the request in flight at once.
    public func interrupt() {
        sync.interrupt()
        transport.cancelAll()
    }
}
