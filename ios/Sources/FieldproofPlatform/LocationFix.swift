import CoreLocation
import Fieldproof
import Foundation

extension CLLocation {
    /// The location's fields as the core's `PlatformLocation`; the reading (datum,
    /// iOS's negative "invalid" marks, a stale cached position) is the core's
    /// `fixFromLocation`. `uptimeNow` is `ProcessInfo.processInfo.systemUptime`.
    func platformLocation(uptimeNow: TimeInterval) -> PlatformLocation {
        let ageS = Date().timeIntervalSince(timestamp)
        let madeAtUptimeMs = (uptimeNow - ageS) * 1000
        var mock = false
        if #available(iOS 15.0, *) {
            mock = sourceInformation?.isSimulatedBySoftware ?? false
        }
        return PlatformLocation(
            lat: coordinate.latitude,
            lon: coordinate.longitude,
            accuracyM: horizontalAccuracy,
            altitudeM: verticalAccuracy >= 0 ? altitude : nil,
            speedMps: speed,
            bearingDeg: course,
            timeMs: Int64(timestamp.timeIntervalSince1970 * 1000),
            provider: "core_location",
            mock: mock,
            elapsedRealtimeMs: madeAtUptimeMs >= 0 ? UInt64(madeAtUptimeMs) : nil
        )
    }

    /// The core's fix for this location; throws for one it refuses (`stale_location`).
    public func fix(uptimeNow: TimeInterval = ProcessInfo.processInfo.systemUptime) throws -> Fix {
        try fixFromLocation(location: platformLocation(uptimeNow: uptimeNow),
                            nowElapsedMs: UInt64(uptimeNow * 1000))
    }
}
