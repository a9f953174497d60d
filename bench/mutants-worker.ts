// The worker thread of bench/mutants.ts: fuzzes one mutant in one mode per request, with the
// harness's fuzzVariant, and answers with the verdict only (not the finding's trace, which can be
// large). The mutants are fuzzed here rather than in the main thread so that a mutant that makes
// the fuzzer itself fail (run out of memory, or never return) costs that mutant's verdict and a
// new worker, not the whole run: the main thread gives each worker a heap limit and each request
// a time limit (bench/mutants.ts, FuzzLane).
import { parentPort } from "node:worker_threads";
import "../harness/fuzz/targets/index.js";
import "../harness/fuzz/targets/stm32f4.js";
import { fuzzVariant, type Variant, type VariantOptions, type VariantResult } from "../harness/fuzz/variants.js";

/** What one fuzzing mode did to one mutant. */
export interface ModeOutcome {
  readonly killed: boolean;
  /** Runs until the finding, or all the runs made. */
  readonly runs: number;
  readonly executions: number;
  readonly elapsedMs: number;
  readonly finding: { readonly property: string; readonly call: string | null; readonly world: string; readonly message: string } | null;
  /** The fuzzer (or the coverage build, or the worker running it) failed on this mutant: no
   * verdict. */
  readonly error: string | null;
}

export interface FuzzRequest {
  readonly variant: Variant;
  readonly options: VariantOptions;
}

export interface FuzzReply {
  readonly name: string;
  readonly outcome: ModeOutcome;
}

export function outcomeOf(r: VariantResult): ModeOutcome {
  const f = r.finding;
  return {
    killed: f !== null,
    runs: r.runs,
    executions: r.executions,
    elapsedMs: r.elapsedMs,
    finding: f === null ? null : { property: f.property, call: f.call, world: f.world, message: f.message.split("\n")[0]! },
    error: null,
  };
}

export function failedOutcome(error: unknown, elapsedMs = 0): ModeOutcome {
  const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
  return { killed: false, runs: 0, executions: 0, elapsedMs, finding: null, error: message };
}

// In the main thread (bench/mutants.ts imports the types and helpers above) there is no port.
const port = parentPort;
if (port !== null) {
  port.on("message", (request: FuzzRequest) => {
    let outcome: ModeOutcome;
    const started = Date.now();
    try {
      outcome = outcomeOf(fuzzVariant(request.variant, request.options));
    } catch (e) {
      outcome = failedOutcome(e, Date.now() - started);
    }
    const reply: FuzzReply = { name: request.variant.name, outcome };
    port.postMessage(reply);
  });
}
