"""The verdicts of the Python-driven suites (script/portable, script/ansible, script/check-deps):
each check prints PASS or FAIL with its name (and, when it fails, what was seen); the run ends
with one line of counts and exits 1 if any failed."""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, name, ok, detail=""):
        print(f"    {'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed.append(name)
        return ok

    def verdict(self, suite):
        """Prints SUITE's closing line ("SUITE: N passed, N failed", then the failed checks' names)
        and returns the exit status: 0 when every check passed."""
        print(f"{suite}: {self.passed} passed, {len(self.failed)} failed", flush=True)
        for name in self.failed:
            print(f"    failed: {name}", flush=True)
        return 1 if self.failed else 0
