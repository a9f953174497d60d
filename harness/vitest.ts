// `wasm-hal/vitest`: the trace matchers for a project's own vitest. Importing this module (from a
// test file or a setup file) registers them with expect.extend, and its types add them to vitest's
// Assertion, so `expect(bus).toContainAccessesInOrder("W uart0.IBRD", "W uart0.LCR_H")` type-checks.
// The augmentation names the module "vitest", which TypeScript resolves from this package's
// folder: to the user's own vitest, as the package's peer dependency. `wasm-hal/vitest/setup`
// (harness/vitest-setup.ts) adds the lint after every test.
import "./matchers.js";

export { traceMatchers, type TraceMatchers } from "./matchers.js";
export type {
  BarrierKind, BarrierOptions, LintOptions, PollOptions, Step, TouchOptions, TraceSource, ValueSpec,
} from "./assert.js";
