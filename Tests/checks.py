"""The verdicts of the Python-driven suites (script/portable, script/ansible): each check prints
PASS or FAIL with its name (and, when it fails, what was seen); the run exits 1 if any failed."""


class Checks:
    def __init__(self):
        self.failed = []

    def check(self, name, ok, detail=""):
        print(f"    {'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""), flush=True)
        if not ok:
            self.failed.append(name)
        return ok
