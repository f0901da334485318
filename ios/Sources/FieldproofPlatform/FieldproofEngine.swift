import Fieldproof
import Foundation

/// The engine of this app process: one device database, its Secure Enclave signer,
/// one sync session and the background tasks (mirrors Android's `Fieldproof`). The
/// database lives in Application Support, excluded from iCloud backup: it holds the
/// bureau token. Everything here hands work to the core and asks for a sync after it.
public final class FieldproofEngine {
    public let store: InspectionStore
    public let session: SyncSession
    public let background: BackgroundSync
    private let signer: SecureEnclaveSigner

    /// Opens the database and installs the Secure Enclave key; call before the end
    /// of `application(_:didFinishLaunchingWithOptions:)`, then `start(appVersion:)`.
    public init() throws {
        var folder = try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask,
                                                 appropriateFor: nil, create: true)
            .appendingPathComponent("fieldproof", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try folder.setResourceValues(values)
        store = try InspectionStore.open(path: folder.appendingPathComponent("device.db").path)
        signer = try SecureEnclaveSigner.install(store: store)
        session = SyncSession(store: store)
        background = BackgroundSync(session: session)
        background.register()
    }

    /// Records the start as evidence and asks for a sync.
    public func start(appVersion: String) throws {
        _ = try store.recordAppStart(context: DeviceClock.captureContext(source: .camera, appVersion: appVersion))
        background.requestNow()
    }

    /// Enrolls with the bureau. A Secure Enclave key has no attestation chain to send
    /// (App Attest vouches for the app, not for this key).
    public func enroll(serverUrl: String, code: String, tlsPin: String?, externalGnss: Bool = false) throws -> Enrollment {
        let enrollment = try session.sync.enroll(serverUrl: serverUrl, code: code, tlsPin: tlsPin,
                                                 externalGnss: externalGnss, attestationChain: [])
        background.requestNow()
        return enrollment
    }

    /// The core's capture (stored, hashed, signed before it returns), then a sync request.
    public func capturePhoto(input: PhotoInput, fix: Fix?, context: CaptureContext) throws -> Photo {
        let photo = try store.capturePhoto(input: input, fix: fix, context: context)
        background.requestNow()
        return photo
    }

    /// The core's submit (the op queued in the same transaction), then a sync request.
    public func submit(inspectionId: String) throws -> Inspection {
        let inspection = try store.submit(id: inspectionId)
        background.requestNow()
        return inspection
    }
}
