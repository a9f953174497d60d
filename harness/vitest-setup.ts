// `wasm-hal/vitest/setup`, for a vitest config's `setupFiles: ["wasm-hal/vitest/setup"]`: the
// register-semantics lint runs after every test. Every Hal a test makes is linted against the
// register maps of its bus once the test is over, and an error finding fails the test; a test
// whose trace breaks the rules on purpose sets `hal.lintInTests = false`. The trace matchers are
// registered too (this imports `wasm-hal/vitest`), so tests need no import of their own for them
// at run time; for their types, a test imports "wasm-hal/vitest" (or lists it in tsconfig
// "types").
//
// The package's own suite runs this very module (test/setup.ts imports it).
import { afterEach, beforeEach } from "vitest";
import { Hal } from "./hal.js";
import { lintTrace, lintReport } from "./lint.js";
import "./vitest.js";

export type { TraceMatchers } from "./vitest.js";

/** The lint's error findings over the traces of `hals` (those that opted out are skipped), one
 * report per Hal that has any; empty when all are clean. */
export function lintErrorReports(hals: readonly Hal[]): string[] {
  const reports: string[] = [];
  for (const hal of hals) {
    if (!hal.lintInTests) continue;
    const errors = lintTrace(hal.bus.trace, hal.bus.regions).filter((f) => f.severity === "error");
    if (errors.length > 0) reports.push(lintReport(errors));
  }
  return reports;
}

beforeEach(() => {
  // Hal's constructor adds every instance to this list while it is an array.
  Hal.created = [];
});

afterEach(() => {
  const hals = Hal.created ?? [];
  Hal.created = null;
  const reports = lintErrorReports(hals);
  if (reports.length > 0) {
    throw new Error(`the register-semantics lint found errors in this test's trace (set hal.lintInTests = false where that is the point):\n${reports.join("\n")}`);
  }
});
