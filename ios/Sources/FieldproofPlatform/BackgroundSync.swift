import BackgroundTasks
import Fieldproof
import Foundation

/// Background sync with BGTaskScheduler: a processing task (network required) while
/// photos wait to upload, an app-refresh task to pull news otherwise. Each run calls
/// `SyncSession.runOnce` within the task's time and schedules the next from the
/// core's plan (mirrors Android's SyncScheduler and SyncJobService).
///
/// The app lists both identifiers under `BGTaskSchedulerPermittedIdentifiers` in
/// Info.plist, enables the "Background fetch" and "Background processing" modes,
/// and calls `register()` before the end of `application(_:didFinishLaunchingWithOptions:)`.
public final class BackgroundSync {
    public static let uploadTask = "org.fieldproof.sync.upload"
    public static let refreshTask = "org.fieldproof.sync.refresh"

    /// An app refresh gets about 30 s; a processing task minutes, ended early by
    /// its expiration handler (then `interrupt()`).
    static let refreshWindowMs: UInt64 = 30_000
    static let processingWindowMs: UInt64 = 5 * 60_000

    private let session: SyncSession

    public init(session: SyncSession) {
        self.session = session
    }

    public func register() {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: Self.uploadTask, using: nil) { task in
            self.run(task, windowMs: Self.processingWindowMs)
        }
        BGTaskScheduler.shared.register(forTaskWithIdentifier: Self.refreshTask, using: nil) { task in
            self.run(task, windowMs: Self.refreshWindowMs)
        }
    }

    /// Asks for a run now: after a capture, a submit, or when the app comes to the front.
    public func requestNow() {
        schedule(SyncPlan(next: .continue, delayMs: 0, needsNetwork: true, uploadsWaiting: true))
    }

    /// Submits the task the plan asks for, or cancels both when it asks for none.
    public func schedule(_ plan: SyncPlan) {
        guard let delayMs = plan.delayMs else {
            BGTaskScheduler.shared.cancelAllTaskRequests()
            return
        }
        let begin = Date(timeIntervalSinceNow: TimeInterval(delayMs) / 1000)
        let request: BGTaskRequest
        if plan.uploadsWaiting {
            let processing = BGProcessingTaskRequest(identifier: Self.uploadTask)
            processing.requiresNetworkConnectivity = plan.needsNetwork
            processing.requiresExternalPower = false
            request = processing
        } else {
            request = BGAppRefreshTaskRequest(identifier: Self.refreshTask)
        }
        request.earliestBeginDate = begin
        // A failure (too many pending requests, the simulator) leaves the next
        // foreground or capture to ask again.
        try? BGTaskScheduler.shared.submit(request)
    }

    private func run(_ task: BGTask, windowMs: UInt64) {
        task.expirationHandler = { [session] in session.interrupt() }
        DispatchQueue.global(qos: .utility).async {
            let plan = try? self.session.runOnce(windowMs: windowMs).plan
            // Not enrolled, or the device's storage failed: nothing to retry on a timer.
            self.schedule(plan ?? SyncPlan(next: .reenroll, delayMs: nil, needsNetwork: true, uploadsWaiting: false))
            task.setTaskCompleted(success: plan != nil)
        }
    }
}
