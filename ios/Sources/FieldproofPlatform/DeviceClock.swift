import Fieldproof
import Foundation

/// The monotonic clock and the boot it counts from, for evidence records
/// (mirrors Android's DeviceClock).
public enum DeviceClock {
    /// The kernel's boot time, as an id of this boot.
    public static let bootId: String? = {
        var boottime = timeval()
        var size = MemoryLayout<timeval>.size
        guard sysctlbyname("kern.boottime", &boottime, &size, nil, 0) == 0 else { return nil }
        return "\(boottime.tv_sec).\(boottime.tv_usec)"
    }()

    /// Who and when at the shutter, with the monotonic time of this moment.
    public static func captureContext(source: CaptureSource, appVersion: String, inspectionId: String? = nil,
                                      taskId: String? = nil, officerId: String? = nil) -> CaptureContext {
        CaptureContext(source: source, inspectionId: inspectionId, taskId: taskId, officerId: officerId,
                       monotonicMs: UInt64(ProcessInfo.processInfo.systemUptime * 1000),
                       bootId: bootId, appVersion: appVersion)
    }
}
