# SPDX-License-Identifier: ISC
"""Run one integration test module and print a countable summary.

unittest's own output only says "FAILED (failures=2)"; run.sh needs the
number of passed and failed test cases of every file, so this prints one
line per test case and ends with "== P passed, F failed".  Errors (an
exception outside an assertion, or a failing setUpClass) count as failed;
a failing setUpClass counts every test of its class.
"""

import sys
import time
import unittest


class CountingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0
        self.failed = 0
        self.started = 0.0

    def startTest(self, test):
        self.started = time.monotonic()
        super().startTest(test)

    def _line(self, word, test):
        self.stream.write("%-5s %s (%.1fs)\n" % (word, test.id(),
                                                  time.monotonic() - self.started))
        self.stream.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1
        self._line("ok", test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.failed += 1
        self._line("FAIL", test)

    def addError(self, test, err):
        super().addError(test, err)
        if isinstance(test, unittest.TestCase):
            self.failed += 1
            self._line("ERROR", test)
        elif str(test).startswith("setUpClass"):
            # the tests of the class could not run: each one failed
            self.failed += max(1, getattr(self, "_class_size", 1))
            self.stream.write("ERROR %s\n" % test)
        else:
            # tearDownClass and module fixtures: the tests were counted
            self.failed += 1
            self.stream.write("ERROR %s\n" % test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.failed += 1
        self._line("SKIP", test)
        self.stream.write("      skipped tests count as failed: %s\n" % reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.failed += 1

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.failed += 1


def count_classes(suite, out):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            count_classes(t, out)
        else:
            out[type(t)] = out.get(type(t), 0) + 1


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: runner.py MODULE\n")
        return 2
    suite = unittest.defaultTestLoader.loadTestsFromName(argv[1])
    sizes = {}
    count_classes(suite, sizes)
    total = sum(sizes.values())

    class Result(CountingResult):
        def addError(self, test, err):
            if not isinstance(test, unittest.TestCase):
                # "setUpClass (module.Class)": find the class by name.
                name = str(test)
                self._class_size = next((n for c, n in sizes.items()
                                         if c.__name__ in name), 1)
            super().addError(test, err)

    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=0,
                                     resultclass=Result)
    result = runner.run(suite)
    if result.passed + result.failed == 0 and total:
        result.failed = total
    sys.stdout.write("== %d passed, %d failed\n" % (result.passed, result.failed))
    return 0 if result.failed == 0 and result.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
