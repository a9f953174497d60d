// vitest matchers over traces: `expect(bus).toContainAccessesInOrder("W uart0.IBRD", ...)`. Each
// one runs the check of the same name in harness/assert.ts and hands vitest its message and the
// actual/expected texts, so a failure shows a diff. The received value is a Bus (any
// { trace, regions }) or a view from within(); `.not` works on every matcher.
//
// Importing this module registers the matchers (expect.extend) and adds their types to vitest's
// Assertion, so a test file needs only `import "../harness/matchers.js";`.
import { expect } from "vitest";
import type { Hal } from "./hal.js";
import {
  checkAccessesInOrder, checkBarrierBetween, checkPolls, checkWrites, checkWidths, checkNeverTouches,
  checkLintClean, checkReturnsWithin, anyOrder,
  type BarrierKind, type BarrierOptions, type LintOptions, type Outcome, type PollOptions, type Step,
  type TouchOptions, type TraceSource, type ValueSpec,
} from "./assert.js";

export interface TraceMatchers<R = unknown> {
  /** The steps occur in this order (other accesses may come between); groups nest. */
  toContainAccessesInOrder(...steps: Step[]): R;
  /** The steps all occur, in any order. */
  toContainAccessesInAnyOrder(...steps: Step[]): R;
  /** A barrier of `kind` stands between every access matching `b` and the last `a` before it. */
  toHaveBarrierBetween(kind: BarrierKind | "any", a: Step, b: Step, options?: BarrierOptions): R;
  /** The poll reads its register `times` times, and/or again on every iteration. */
  toPollEveryIteration(options: PollOptions): R;
  /** The CPU writes to a register are exactly these, in order: none merged, dropped or reordered. */
  toWriteExactly(register: string, values: readonly (number | ValueSpec)[]): R;
  /** Every access to a region or register has one of these widths, in bytes. */
  toUseWidth(where: string, widths: number | readonly number[], options?: TouchOptions): R;
  /** No access (or no read, or no write) to a region or register. */
  toNeverTouch(where: string, options?: TouchOptions): R;
  /** The register-semantics lint (harness/lint.ts) finds nothing. */
  toBeLintClean(options?: LintOptions): R;
  /** For a Hal: the export returns within `budget` bus accesses (no unbounded wait). */
  toReturnWithin(budget: number, name: string, ...args: number[]): R;
}

declare module "vitest" {
  interface Assertion<T = any> extends TraceMatchers<T> {}
  interface AsymmetricMatchersContaining extends TraceMatchers {}
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
  actual?: unknown;
  expected?: unknown;
}

function result(outcome: Outcome): MatcherResult {
  return {
    pass: outcome.pass,
    message: () => outcome.message,
    ...(outcome.actual === undefined ? {} : { actual: outcome.actual }),
    ...(outcome.expected === undefined ? {} : { expected: outcome.expected }),
  };
}

function traced(received: unknown): TraceSource {
  // The checks validate the shape themselves and throw a TypeError that says what they take.
  return received as TraceSource;
}

function isHal(received: unknown): received is Hal {
  return typeof received === "object" && received !== null && "bus" in received && typeof (received as Hal).call === "function";
}

export const traceMatchers = {
  toContainAccessesInOrder(received: unknown, ...steps: Step[]): MatcherResult {
    return result(checkAccessesInOrder(traced(received), ...steps));
  },
  toContainAccessesInAnyOrder(received: unknown, ...steps: Step[]): MatcherResult {
    return result(checkAccessesInOrder(traced(received), anyOrder(...steps)));
  },
  toHaveBarrierBetween(received: unknown, kind: BarrierKind | "any", a: Step, b: Step, options?: BarrierOptions): MatcherResult {
    return result(checkBarrierBetween(traced(received), kind, a, b, options));
  },
  toPollEveryIteration(received: unknown, options: PollOptions): MatcherResult {
    return result(checkPolls(traced(received), options));
  },
  toWriteExactly(received: unknown, register: string, values: readonly (number | ValueSpec)[]): MatcherResult {
    return result(checkWrites(traced(received), register, values));
  },
  toUseWidth(received: unknown, where: string, widths: number | readonly number[], options?: TouchOptions): MatcherResult {
    return result(checkWidths(traced(received), where, widths, options));
  },
  toNeverTouch(received: unknown, where: string, options?: TouchOptions): MatcherResult {
    return result(checkNeverTouches(traced(received), where, options));
  },
  toBeLintClean(received: unknown, options?: LintOptions): MatcherResult {
    return result(checkLintClean(traced(received), options));
  },
  toReturnWithin(received: unknown, budget: number, name: string, ...args: number[]): MatcherResult {
    if (!isHal(received)) throw new TypeError("toReturnWithin takes a Hal: expect(hal).toReturnWithin(budget, name, ...args)");
    return result(checkReturnsWithin(received, budget, name, ...args));
  },
};

expect.extend(traceMatchers);
