import Dom0Core
import SystemPackage

/// Pack versions as XenServer compares them: numeric parts only (the build is ignored), and a
/// shorter version that is a prefix of a longer one is lower (8.2 < 8.2.0).
public enum VersionNumber {
    /// The tests requirements may use.
    public static let tests: Set<String> = ["eq", "ne", "lt", "gt", "le", "ge"]

    /// -1, 0 or 1.
    public static func compare(_ a: String, _ b: String) -> Int {
        let left = parts(a), right = parts(b)
        for (x, y) in zip(left, right) where x != y { return x < y ? -1 : 1 }
        return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
    }

    /// Whether `version test wanted` holds.
    public static func satisfies(_ version: String, _ test: String, _ wanted: String) -> Bool {
        let order = compare(version, wanted)
        switch test {
        case "eq": return order == 0
        case "ne": return order != 0
        case "lt": return order < 0
        case "gt": return order > 0
        case "le": return order <= 0
        case "ge": return order >= 0
        default: return false
        }
    }

    static func parts(_ version: String) -> [Int] {
        version.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
    }
}

/// The host's product, which packs name and require.
public struct HostProduct: Sendable, Codable, Equatable {
    public var brand: String
    public var version: String
    public var platformName: String?
    public var platformVersion: String?

    public init(brand: String, version: String, platformName: String? = nil, platformVersion: String? = nil) {
        self.brand = brand
        self.version = version
        self.platformName = platformName
        self.platformVersion = platformVersion
    }

    /// Parses `NAME:VERSION` (supp-pack's --product), `option` naming where it was given.
    public init(parsing text: String, option: String) throws(Dom0Error) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw Dom0Error(.usage, "\(option) takes NAME:VERSION", at: text.quotedForDisplay, fix: "as in \(option) XCP-ng:8.3.0")
        }
        self.init(brand: String(parts[0]), version: String(parts[1]))
    }


    /// The product given (`--product`), else /etc/xensource-inventory's, else /etc/os-release's.
    public static func read(_ root: HostRoot, override: HostProduct?) throws(Dom0Error) -> HostProduct? {
        if let override { return override }
        if let inventory = try root.readText("/etc/xensource-inventory") {
            let values = shellValues(inventory)
            if let brand = values["PRODUCT_BRAND"], let version = values["PRODUCT_VERSION"] {
                return HostProduct(brand: brand, version: version, platformName: values["PLATFORM_NAME"],
                                   platformVersion: values["PLATFORM_VERSION"])
            }
        }
        if let release = try root.readText("/etc/os-release") {
            let values = shellValues(release)
            if let name = values["NAME"] ?? values["ID"], let version = values["VERSION_ID"] {
                return HostProduct(brand: name, version: version, platformName: values["ID"], platformVersion: nil)
            }
        }
        return nil
    }

    /// KEY='value' / KEY="value" / KEY=value lines.
    static func shellValues(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "="), !line.hasPrefix("#") else { continue }
            var value = line[line.index(after: equals)...].trimmingWhitespace
            if value.count >= 2, let first = value.first, first == value.last, first == "'" || first == "\"" {
                value = String(value.dropFirst().dropLast())
            }
            values[line[..<equals].trimmingWhitespace] = value
        }
        return values
    }

    /// Whether a pack made for `product` fits this host (brand or platform name, case aside).
    public func matches(_ product: String) -> Bool {
        [brand, platformName].compactMap { $0 }.contains { $0.lowercased() == product.lowercased() }
    }

    /// The version a requirement on `originator:name` sees in the product itself, if it names it
    /// (xs:main is the base product on XenServer; a name may also be the brand or platform).
    public func version(for requirement: Requirement) -> String? {
        if requirement.originator == "xs" && requirement.name == "main" { return version }
        if requirement.name.lowercased() == brand.lowercased() { return version }
        if let platformName, requirement.name.lowercased() == platformName.lowercased() { return platformVersion ?? version }
        return nil
    }
}
