// The child process of the atomic-writer crash test: rewrites one file, alternating between two
// contents, until the test kills it with SIGKILL.
import Glibc
import Dom0Core
import SystemPackage
import TestSupport

// Stop when the test process is gone (we are reparented), or after ten minutes at worst, so no child
// outlives a crashed test; a busy CI machine may starve the test for a while, so the bound is generous.
let parent = getppid()
let deadline = ContinuousClock.now + .seconds(600)

let arguments = CommandLine.arguments
guard arguments.count == 3 else { fatalError("usage: atomic-write-child ROOT HOSTPATH") }
let root = try HostRoot(FilePath(arguments[1]))
let contents = AtomicWriteContents.both
var next = 0
while getppid() == parent, ContinuousClock.now < deadline {
    try AtomicWriter.write(contents[next], to: FilePath(arguments[2]), in: root)
    next = 1 - next
}
