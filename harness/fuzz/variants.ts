// Proof that the fuzzer finds bugs: broken variants of the drivers (the bug zoo, harness/zoo.ts,
// or any list of .wasm files with the same ABI) are fuzzed from a fixed seed, and a variant counts
// as found when the fuzzer reports a finding that the real driver does not share (the same case
// passes on build/hal.wasm). Findings the real driver shares are rejected and the search goes on.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot, wasmPath } from "../hal.js";
import { ZOO } from "../zoo.js";
import { Fuzzer, findingKey, type Finding } from "./engine.js";
import { fuzzTarget, type RunOptions } from "./runner.js";
import { targetByName } from "./target-table.js";
import "./targets/index.js";
import { TARGET_NAMES, type TargetName } from "./target.js";
import { runWorker, workerScript } from "./campaign.js";

export interface Variant {
  readonly name: string;
  /** The broken module, a .wasm with the ABI and export names of build/hal.wasm. */
  readonly path: string;
  /** The driver it breaks; taken from the name's prefix (pl011-...) when absent. */
  readonly target?: TargetName;
  /** What is wrong with it, for the report. */
  readonly defect?: string;
}

export interface VariantResult {
  readonly variant: Variant;
  readonly target: TargetName;
  /** The first finding the real driver does not share, or null. */
  readonly finding: Finding | null;
  /** Runs of the search until it was found, or all the runs made. */
  readonly runs: number;
  readonly executions: number;
  readonly elapsedMs: number;
  /** Findings dropped because build/hal.wasm fails the same case. */
  readonly shared: number;
}

export interface VariantOptions extends Omit<RunOptions, "modulePath" | "accept" | "maxFindings"> {}

/** The driver a variant breaks. */
export function variantTarget(variant: Variant): TargetName {
  if (variant.target !== undefined) return variant.target;
  // The longest target name the variant's name starts with: pl011-irq-... breaks pl011-irq.
  const prefix = [...TARGET_NAMES, "pl011-irq"].filter((t) => variant.name.startsWith(t)).sort((a, b) => b.length - a.length)[0];
  if (prefix === undefined) throw new Error(`variant ${variant.name}: name the driver it breaks (target), or start its name with one of ${TARGET_NAMES.join(", ")}`);
  return prefix;
}

/** Fuzzes one variant until a finding of its own, or the runs or the time run out. */
export function fuzzVariant(variant: Variant, options: VariantOptions): VariantResult {
  if (!existsSync(variant.path)) throw new Error(`${variant.path} does not exist`);
  const target = variantTarget(variant);
  // The real driver of the variant's family: the target's own module (build/stm32f4.wasm for the
  // STM32 targets), else the package's.
  const real = targetByName(target, options);
  const release = new Fuzzer(real, real.module ?? wasmPath("release"));
  const result = fuzzTarget(target, {
    ...options,
    modulePath: variant.path,
    maxFindings: 1,
    // The case as found, without the shortened budget of its saved trace: that budget is the
    // variant's, not the driver's.
    accept: (finding) => release.runCase({ target: finding.case.target, steps: finding.case.steps }).failure === null,
  });
  const finding = result.findings[0] ?? null;
  return {
    variant,
    target,
    finding,
    runs: finding === null ? result.runs : result.firstFailureRun ?? result.runs,
    executions: result.executions,
    elapsedMs: result.elapsedMs,
    shared: result.rejected,
  };
}

/**
 * Fuzzes every variant, in this thread with one job or spread over `jobs` worker threads; each
 * variant gets the same options (the same seed), so the result does not depend on the jobs.
 */
export async function fuzzVariants(variants: readonly Variant[], options: VariantOptions & { readonly jobs?: number }): Promise<VariantResult[]> {
  const { jobs: requested, ...rest } = options;
  const jobs = Math.max(1, Math.min(Math.floor(requested ?? 1), variants.length));
  if (jobs === 1) return variants.map((v) => fuzzVariant(v, rest));
  const script = workerScript();
  if (script === null) throw new Error("jobs need the compiled harness (dist/harness/fuzz/worker.js): run `npm run build:ts` first");
  const shares: Variant[][] = Array.from({ length: jobs }, () => []);
  variants.forEach((v, i) => shares[i % jobs]!.push(v));
  const parts = await Promise.all(shares.map((share, j) => runWorker<VariantResult[]>(
    script,
    { kind: "variants", variants: share, options: rest },
    j,
    (message) => (message.kind === "variants" ? message.results : undefined),
  )));
  // Back in the order of the list.
  const byName = new Map(parts.flat().map((r) => [r.variant.name, r]));
  return variants.map((v) => byName.get(v.name)!);
}

/** A summary line per variant and a total: found/seeded, and in how many runs. */
export function variantReport(results: readonly VariantResult[], seed: number): string {
  const lines = results.map((r) => {
    const head = `${r.finding === null ? "missed" : "found "} ${r.variant.name.padEnd(32)}`;
    if (r.finding === null) return `${head} not found in ${r.runs} runs (${(r.elapsedMs / 1000).toFixed(1)} s)`;
    const f = r.finding;
    return `${head} after ${r.runs} runs: [${f.world}] ${f.property} in ${f.call ?? "the end checks"}: ${f.message.split("\n")[0]}`;
  });
  const found = results.filter((r) => r.finding !== null).length;
  lines.push(`${found}/${results.length} seeded bugs found from seed ${seed}`);
  return lines.join("\n");
}

export { findingKey };

/** The bug zoo's variants (harness/zoo.ts) whose modules are built (build/zoo/<name>.wasm). */
export function zooVariants(): Variant[] {
  return ZOO.filter((bug) => bug.fuzz !== false)
    .map((bug) => ({ name: bug.name, path: join(packageRoot(), "build", "zoo", `${bug.name}.wasm`), target: bug.driver, defect: bug.defect }))
    .filter((v) => existsSync(v.path));
}
