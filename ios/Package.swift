// swift-tools-version:5.9
// The Fieldproof Swift package: `Fieldproof` is the uniffi-generated Swift over the
// Rust core (made by scripts/build-xcframework, never committed), `FieldproofPlatform`
// the iOS glue (background sync, URLSession transport, CoreLocation patrols, the
// Secure Enclave signer). Swift cannot be compiled on the project's CI machines:
// see ../README.md, iOS, for what is untested.
import PackageDescription

let package = Package(
    name: "Fieldproof",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "Fieldproof", targets: ["Fieldproof"]),
        .library(name: "FieldproofPlatform", targets: ["FieldproofPlatform"]),
    ],
    targets: [
        // The static library per slice (device, simulator) with the C header of the
        // generated bindings and its module map.
        .binaryTarget(name: "FieldproofFFI", path: "build/FieldproofFFI.xcframework"),
        .target(name: "Fieldproof", dependencies: ["FieldproofFFI"], path: "Sources/Fieldproof"),
        .target(name: "FieldproofPlatform", dependencies: ["Fieldproof"], path: "Sources/FieldproofPlatform"),
    ]
)
