import Dom0Core
import Testing

@Suite("Boot command-line tokens")
struct BootArgumentsTests {
    @Test func aDoubleQuotedValueWithSpacesIsOneToken() {
        let arguments = BootArguments(parsing: "quiet dyndbg=\"file drivers/xen/* +p\"  console=hvc0\t splash")
        #expect(arguments.tokens == ["quiet", "dyndbg=\"file drivers/xen/* +p\"", "console=hvc0", "splash"])
    }

    @Test func aKeyMatchesItselfAndKeyEqualsButNotLongerKeys() {
        let arguments = BootArguments(parsing: "console=hvc0 console=tty0 consoleblank=0 console")
        #expect(arguments.values(of: "console") == ["console=hvc0", "console=tty0", "console"])
        #expect(arguments.values(of: "consoleblank") == ["consoleblank=0"])
    }

    @Test func setRemovesEveryTokenOfTheKeyAndAppends() {
        var arguments = BootArguments(parsing: "console=hvc0 quiet console=tty0 splash")
        arguments.set("console=ttyS0")
        #expect(arguments.description == "quiet splash console=ttyS0")
    }

    @Test func deleteRemovesEveryTokenOfTheKey() {
        var arguments = BootArguments(parsing: "a=1 b a=2 ab=3")
        arguments.delete("a")
        #expect(arguments.tokens == ["b", "ab=3"])
    }

    @Test func theValueIsAfterTheFirstEquals() {
        #expect(BootArguments(parsing: "xpti=dom0=false,domu=true").value(of: "xpti") == "dom0=false,domu=true")
        #expect(BootArguments.key(of: "xpti=dom0=false") == "xpti")
    }
}
