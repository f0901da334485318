import CoreLocation
import Fieldproof
import Foundation

/// Records a patrol: CoreLocation fixes (best accuracy, background location mode)
/// fed to the core's `appendFix`, which filters, counts and keeps the recorder's
/// state in the database. After the app was terminated, `resume()` goes on with the
/// open track (`recordingTrack()`). Mirrors Android's PatrolService.
///
/// The app declares `UIBackgroundModes: location` and
/// `NSLocationWhenInUseUsageDescription`/`NSLocationAlwaysAndWhenInUseUsageDescription`
/// in Info.plist and holds the officer's permission before `start`.
public final class PatrolRecorder: NSObject, CLLocationManagerDelegate {
    private let store: InspectionStore
    private let manager = CLLocationManager()
    private let queue = DispatchQueue(label: "org.fieldproof.patrol")
    private var trackId: String?

    public init(store: InspectionStore) {
        self.store = store
        super.init()
        manager.delegate = self
        manager.desiredAccuracy = kCLLocationAccuracyBest
        manager.distanceFilter = kCLDistanceFilterNone
        manager.activityType = .otherNavigation
        manager.allowsBackgroundLocationUpdates = true
        manager.pausesLocationUpdatesAutomatically = false
        manager.showsBackgroundLocationIndicator = true
    }

    /// Starts a patrol, or goes on with the one recording.
    public func start(officerId: String, inspectionId: String? = nil, taskId: String? = nil) throws {
        let track = try store.recordingTrack()
            ?? store.startTrack(new: NewTrack(officerId: officerId, inspectionId: inspectionId, taskId: taskId, filter: nil))
        trackId = track.id
        manager.startUpdatingLocation()
    }

    /// After a relaunch: goes on with the open patrol, if there is one.
    public func resume() throws {
        guard let track = try store.recordingTrack() else { return }
        trackId = track.id
        manager.startUpdatingLocation()
    }

    /// Stops the patrol: the core seals its last segment.
    public func stop() throws {
        manager.stopUpdatingLocation()
        if let track = try store.recordingTrack() { _ = try store.stopTrack(trackId: track.id) }
        trackId = nil
    }

    public func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        guard let trackId else { return }
        let uptime = ProcessInfo.processInfo.systemUptime
        // Refused locations (stale, invalid) are not where the officer is: skipped.
        let fixes = locations.compactMap { try? $0.fix(uptimeNow: uptime) }
        queue.async { [store] in _ = try? store.appendFixes(trackId: trackId, fixes: fixes) }
    }
}
