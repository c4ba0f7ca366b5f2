"""One line per check, and the verdict: what check_manifests.py prints and self_test.py reads."""

import sys


class Report:
    """Collects check results; prints each as it comes unless quiet (the self-test's copies)."""

    def __init__(self, quiet=False):
        self.quiet = quiet
        self.failures = []  # "where: problem", in order
        self.checks = 0

    def _print(self, line):
        if not self.quiet:
            print(line, flush=True)

    def ok(self, where, what):
        self.checks += 1
        self._print(f"ok    {where}: {what}")

    def fail(self, where, problem):
        self.checks += 1
        self.failures.append(f"{where}: {problem}")
        self._print(f"FAIL  {where}: {problem}")

    def skip(self, what, why):
        self._print(f"skip  {what}: {why}")

    def expect(self, condition, where, what, problem):
        """ok(where, what) if condition, else fail(where, problem); returns condition."""
        if condition:
            self.ok(where, what)
        else:
            self.fail(where, problem)
        return condition

    def summary(self, name):
        verdict = "FAILED" if self.failures else "passed"
        print(f"{name}: {self.checks} checks, {len(self.failures)} failed: {verdict}",
              file=sys.stderr if self.failures else sys.stdout)
        return 1 if self.failures else 0
