// swift-tools-version: 6.2
import PackageDescription

/// The six tools people run. Each is a one-line executable over `Dom0KitCLI`, and all of
/// them are also names of the multi-call `dom0kit` binary.
let tools = ["host-prepare", "dom0-partition", "xen-cmdline", "supp-pack", "control-slice", "pciback-agent"]

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Dom0Kit",
    products: [
        .executable(name: "dom0kit", targets: ["dom0kit"]),
        .library(name: "Dom0KitCLI", targets: ["Dom0KitCLI"]),
    ] + tools.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    ],
    targets: [
        // System libraries, found with pkg-config; the apt hint is what SwiftPM prints when one is missing.
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CPci", pkgConfig: "libpci", providers: [.apt(["libpci-dev"])]),
        // Header only (no pkgConfig, no link): libyaml is opened when a host spec is read.
        .systemLibrary(name: "CYaml", providers: [.apt(["libyaml-dev"])]),
        // Header only: the Linux calls Glibc's module lacks (openat2, O_PATH).
        .systemLibrary(name: "CLinux"),

        .target(
            name: "Dom0Core",
            dependencies: [
                "CLinux",
                "CSystemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict
        ),
        .target(name: "PCIDevices", dependencies: ["Dom0Core", "CPci", "CUdev", .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        // Test scaffolding: fake host trees and the kernel simulator. Linked by tests, benchmarks
        // and the demo only, never by the libraries or the tools.
        .target(name: "FakeHost", dependencies: ["Dom0Core", "PCIDevices"], swiftSettings: strict),
        .target(name: "BootConfig", dependencies: ["Dom0Core", "PCIDevices"], swiftSettings: strict),
        .target(name: "DiskLayout", dependencies: ["Dom0Core"], swiftSettings: strict),
        .target(name: "SuppPack", dependencies: ["Dom0Core"], swiftSettings: strict),
        .target(name: "ControlSlice", dependencies: ["Dom0Core"], swiftSettings: strict),
        .target(name: "Health", dependencies: ["Dom0Core", "PCIDevices", "BootConfig", "DiskLayout", "ControlSlice", "SuppPack"],
                swiftSettings: strict),
        .target(
            name: "HostSpec",
            dependencies: ["CYaml", "Dom0Core", "BootConfig", "DiskLayout", "SuppPack", "ControlSlice", "PCIDevices", "Health",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "Dom0KitCLI",
            dependencies: [
                "HostSpec", "BootConfig", "DiskLayout", "ControlSlice", "SuppPack", "Health", "PCIDevices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "dom0kit", dependencies: ["Dom0KitCLI"], swiftSettings: strict),
        // The demo: a demo host with a simulated kernel, prepared by host-prepare's own code.
        // `host-prepare demo` runs this program; the tools themselves hold none of it.
        .target(
            name: "Dom0KitDemo",
            dependencies: ["Dom0KitCLI", "HostSpec", "Health", "FakeHost", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .executableTarget(name: "dom0kit-demo", dependencies: ["Dom0KitCLI", "Dom0KitDemo"], swiftSettings: strict),
        // The benchmarks' helper: large fake hosts, and timing of library passes (benchmarks/*.sh).
        .executableTarget(name: "dom0kit-bench", dependencies: ["BootConfig", "Dom0Core", "FakeHost", "Health", "PCIDevices"],
                          path: "benchmarks/dom0kit-bench", swiftSettings: strict),

        // Test support: fixtures and helpers shared by the suites, and a child process for crash tests.
        .target(name: "TestSupport", dependencies: ["Dom0Core", "FakeHost"], path: "Tests/TestSupport",
                exclude: ["Fixtures"], swiftSettings: strict),
        .executableTarget(name: "atomic-write-child", dependencies: ["Dom0Core", "TestSupport"], path: "Tests/AtomicWriteChild",
                          swiftSettings: strict),
        // Fuzzing: one target per parser (a library the seed tests run too), and the libFuzzer
        // driver script/fuzz builds with coverage and libFuzzer's runtime.
        .target(name: "Dom0KitFuzz", dependencies: ["BootConfig", "ControlSlice", "Dom0Core", "Health", "HostSpec", "PCIDevices", "SuppPack"],
                path: "Tests/Fuzz/Dom0KitFuzz", swiftSettings: strict),
        .executableTarget(name: "dom0kit-fuzz", dependencies: ["Dom0KitFuzz"], path: "Tests/Fuzz/dom0kit-fuzz", swiftSettings: strict),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["Dom0KitFuzz", "TestSupport"], path: "Tests/FuzzTargetsTests",
                    swiftSettings: strict),
        // The tools with the fake kernel and crash injection, for end-to-end tests on fake trees.
        .executableTarget(name: "fakehost-dom0kit", dependencies: ["Dom0KitCLI", "FakeHost", "TestSupport"],
                          path: "Tests/FakeHostTools", swiftSettings: strict),
        .testTarget(name: "Dom0CoreTests", dependencies: ["Dom0Core", "TestSupport", "atomic-write-child"], swiftSettings: strict),
        .testTarget(name: "BootConfigTests", dependencies: ["BootConfig", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "HealthTests", dependencies: ["ControlSlice", "Health", "TestSupport", "FakeHost", "Dom0KitDemo"], swiftSettings: strict),
        .testTarget(name: "SuppPackTests", dependencies: ["SuppPack", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ControlSliceTests", dependencies: ["ControlSlice", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DiskLayoutTests", dependencies: ["DiskLayout", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "PCIDevicesTests", dependencies: ["PCIDevices", "CUdev", "TestSupport", "FakeHost"], swiftSettings: strict),
        .testTarget(name: "FakeHostTests", dependencies: ["FakeHost", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "HostSpecTests", dependencies: ["HostSpec", "Dom0KitDemo", "FakeHost", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "Dom0KitCLITests",
                    dependencies: ["Dom0KitCLI", "Dom0KitDemo", "FakeHost", "TestSupport", "dom0kit", "dom0kit-demo", "fakehost-dom0kit"]
                        + tools.map { .target(name: $0) },
                    swiftSettings: strict),
    ] + tools.map { .executableTarget(name: $0, dependencies: ["Dom0KitCLI"], swiftSettings: strict) }
)
