"""What every Python-driven suite shares (script/e2e, script/portable, script/ansible,
script/check-deps): running a program, one way, and the verdicts — each check prints PASS or FAIL
with its name (and, when it fails, what was seen); the run ends with one line of counts and exits
1 if any failed."""

import subprocess


class Failed(RuntimeError):
    """A program that had to succeed did not: the message names it, its exit and its output's end."""


def run(argv, check=True, capture=True, **kwargs):
    """Runs ARGV. Its output is captured as text unless CAPTURE is false (then it goes where ours
    goes: a scenario's log). With CHECK, a non-zero exit raises Failed naming the command, the exit
    status and the last 2000 characters of each output; without, the caller reads returncode."""
    result = subprocess.run([str(part) for part in argv], capture_output=capture, text=True, **kwargs)
    if check and result.returncode != 0:
        output = (result.stdout or "")[-2000:] + (result.stderr or "")[-2000:] if capture else ""
        raise Failed(f"{' '.join(map(str, argv))}: exit {result.returncode}" + (f": {output}" if output else ""))
    return result



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
