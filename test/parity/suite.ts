// The parity check itself, for any module of the package: each scenario runs in Node against the
// behavioural models, then in the wasm2c host with the Node run's read values as scripted answers,
// and the two traces must be one in canonical form (test/wasm2c-parity.test.ts says why).
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Bus } from "../../harness/bus.js";
import { packageRoot } from "../../harness/hal.js";
import { readModuleAbi } from "../../harness/wasm-abi.js";
import { diffTraces, formatTrace, parseTrace } from "../../harness/trace-text.js";
import type { RecordingHal } from "./recording-hal.js";
import { cpuReadAnswers, interruptScript, scenarioText } from "./scenario.js";
import { canonicalTrace } from "./canonical.js";
import { buildParityHost, type ParityHost, type Toolchain } from "./toolchain.js";

export interface Rig {
  readonly bus: Bus;
  readonly hal: RecordingHal;
}

export interface ParityScenario {
  readonly title: string;
  readonly run: () => Rig;
}

export interface NodeRun {
  readonly title: string;
  readonly traceText: string;
  readonly scenario: string;
  readonly peeks: string[];
  readonly calls: string[];
}

export function runInNode(s: ParityScenario): NodeRun {
  const { bus, hal } = s.run();
  // Handlers the host ran after the last step are steps too.
  hal.syncInterrupts();
  const mode = hal.interrupts?.mode;
  const script = mode === undefined ? { raises: [], steps: hal.steps } : interruptScript(bus.trace, mode, hal.steps);
  return {
    title: s.title,
    traceText: formatTrace(bus.trace, bus.regions),
    scenario: scenarioText(bus.regions, script.steps, cpuReadAnswers(bus.trace), mode === undefined ? undefined : { mode, raises: script.raises }),
    peeks: hal.peekLines(),
    calls: hal.steps.filter((x) => x.kind === "call").map((x) => (x.kind === "call" ? x.name : "")),
  };
}

/** Runs a Node run's scenario file in the C host; returns its trace and output. */
export function runInC(host: ParityHost, run: NodeRun, index: number): { trace: string; stdout: string; stderr: string } {
  const scenarioFile = join(host.dir, `parity-${index}.scn`);
  const traceFile = join(host.dir, `parity-${index}.trace`);
  writeFileSync(scenarioFile, run.scenario);
  writeFileSync(join(host.dir, `parity-${index}.node.trace`), run.traceText);
  const r = spawnSync(host.program, ["--trace", traceFile, scenarioFile], { encoding: "utf8", timeout: 20_000 });
  if (r.error !== undefined) throw r.error;
  expect(r.status, `${host.program} exited with ${r.status}:\n${r.stderr}`).toBe(0);
  return { trace: readFileSync(traceFile, "utf8"), stdout: r.stdout, stderr: r.stderr };
}

/**
 * The tests for one module: every scenario's C trace is its Node trace, and the scenarios call
 * every function the module exports. `folder` keeps the module's C build apart (build/c/<folder>).
 * `more` adds tests that need the built host. Without wasm2c or a C compiler (`tools` is then
 * findToolchain's reason) the tests are skipped with that reason, except in CI (CI=true), where
 * they fail: there the parity check is part of the promise.
 */
export function parityChecks(what: string, modulePath: string, tools: Toolchain | string, scenarios: readonly ParityScenario[], folder = "", more?: (host: () => ParityHost, toolchain: Toolchain) => void): void {
  if (typeof tools === "string") {
    describe(`${what} under wasm2c + the C natives`, () => {
      if (process.env.CI === "true") {
        it("has wasm2c and a C compiler to run on (required in CI)", () => {
          throw new Error(`the wasm2c parity check cannot run: ${tools}`);
        });
      } else {
        it.skip(`skipped: ${tools}. Install them to check that the C natives trace what Node traces.`, () => {});
      }
    });
    return;
  }
  const toolchain = tools;
  describe(`${what} under wasm2c + the C natives`, () => {
    let host: ParityHost;

    beforeAll(() => {
      host = buildParityHost(toolchain, modulePath, folder);
    }, 60_000);

    scenarios.forEach((s, index) => {
      it(`${s.title}: the C host's trace is the Node trace`, () => {
        const node = runInNode(s);
        const c = runInC(host, node, index);
        const shown = relative(packageRoot(), join(host.dir, `parity-${index}`));
        // The C trace is a valid trace file in its own right (docs/trace-format.md) ...
        const cParsed = parseTrace(c.trace, `${shown}.trace`);
        const nodeParsed = parseTrace(node.traceText, `node:${index}`);
        // ... and, in canonical form, identical to Node's.
        const expected = canonicalTrace(nodeParsed);
        const actual = canonicalTrace(cParsed);
        if (actual !== expected) {
          const difference = diffTraces(parseTrace(expected.replace(/^/, "wasm-hal-trace 1\n"), "node"), parseTrace(actual.replace(/^/, "wasm-hal-trace 1\n"), "c"));
          expect.fail(`the C trace differs from the Node trace (${shown}.trace, ${shown}.node.trace):\n${difference?.text ?? ""}`);
        }
        expect(actual).toBe(expected);
        expect(c.stdout.trim().split("\n").filter((l) => l !== "")).toEqual(node.peeks);
        expect(c.stderr).not.toMatch(/scripted answers were not used|scripted interrupts were not raised|raised but not delivered|the handler of line \d+ did not return/);
        // Every call the scenario made shows up on both sides.
        expect(cParsed.calls.map((call) => call.name)).toEqual(node.calls);
      });
    });

    it(`exercises every function ${what} exports`, () => {
      const exported = readModuleAbi(readFileSync(modulePath)).exports.filter((e) => e.kind === "function").map((e) => e.name);
      const called = new Set(scenarios.flatMap((s) => runInNode(s).calls));
      const missing = exported.filter((name) => !called.has(name));
      expect(missing, `exports with no parity scenario: add them to a parity scenario`).toEqual([]);
    });

    more?.(() => host, toolchain);
  });
}
