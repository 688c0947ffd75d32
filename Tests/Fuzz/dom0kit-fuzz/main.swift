// dom0kit-fuzz: libFuzzer over one of Dom0Kit's parsers, chosen by DOM0KIT_FUZZ_TARGET.
// Built by script/fuzz with coverage instrumentation and libFuzzer's runtime linked in; in an
// ordinary build the runtime is absent and this only says how to get it.
import Glibc
import Dom0Core
import Dom0KitFuzz

typealias Driver = @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                                   @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

var standardError = StandardError()
let name = getenv("DOM0KIT_FUZZ_TARGET").map { String(cString: $0) } ?? ""
guard let chosen = FuzzTarget(rawValue: name) else {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    standardError.write("dom0kit-fuzz: set DOM0KIT_FUZZ_TARGET to one of \(names)\n")
    exit(64)
}
// One target per process; the C callback cannot capture, so it reads this.
nonisolated(unsafe) let target = chosen

// RTLD_DEFAULT: the program and what it links; script/fuzz links libFuzzer's runtime and exports it.
guard let symbol = dlsym(nil, "LLVMFuzzerRunDriver") else {
    standardError.write("dom0kit-fuzz: libFuzzer is not linked in; build and run it with script/fuzz\n")
    exit(64)
}
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
let status = unsafeBitCast(symbol, to: Driver.self)(&argc, &argv) { data, size in
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try target.run(bytes)
    } catch {
        var standardError = StandardError()
        standardError.write("dom0kit-fuzz: \(target.rawValue): invariant broken: \(error)\n")
        abort()
    }
    return 0
}
exit(status)
