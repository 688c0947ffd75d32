// The child process of the atomic-writer crash test: rewrites one file forever, alternating
// between two contents, until the test kills it with SIGKILL.
import Dom0Core
import TestSupport
import SystemPackage

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    print("usage: atomic-write-child ROOT HOSTPATH")
    fatalError("usage")
}
let root = try HostRoot(FilePath(arguments[1]))
let contents = AtomicWriteContents.both
var next = 0
while true {
    try AtomicWriter.write(contents[next], to: FilePath(arguments[2]), in: root)
    next = 1 - next
}
