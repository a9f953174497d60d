// Runs around every test: the register-semantics lint is on by default. Every Hal a test makes is
// linted after the test against the register maps of its bus; an error finding fails the test.
// A test whose trace breaks the rules on purpose sets `hal.lintInTests = false`.
import { afterEach, beforeEach } from "vitest";
import { Hal } from "../harness/hal.js";
import { lintTrace, lintReport } from "../harness/lint.js";

beforeEach(() => {
  Hal.created = [];
});

afterEach(() => {
  const hals = Hal.created ?? [];
  Hal.created = null;
  const problems: string[] = [];
  for (const hal of hals) {
    if (!hal.lintInTests) continue;
    const errors = lintTrace(hal.bus.trace, hal.bus.regions).filter((f) => f.severity === "error");
    if (errors.length > 0) problems.push(lintReport(errors));
  }
  if (problems.length > 0) {
    throw new Error(`the register-semantics lint found errors in this test's trace (set hal.lintInTests = false where that is the point):\n${problems.join("\n")}`);
  }
});
