// The package as a user meets it, end to end and offline: `npm pack` the repository, install the
// tarball with AssemblyScript, vitest and fast-check into a fresh project, `wasm-hal init`, build,
// run the scaffolded project's own `npm test`, check its golden trace, fuzz its timer, and then
// add a peripheral the package has never seen (register map, API file, driver, model, board
// region, scenario), record its golden trace, check it, change the driver and see `check`
// report the drift by register. These are the commands of docs/guide.md.
//
// Offline: the tarball is packed here, and everything else comes from the local npm cache. A
// plain `npm install --offline` needs registry metadata that a fresh machine's cache may lack
// (`npm ci` of this repository caches the tarballs it installs, not always the metadata a new
// resolution asks for); when it fails with ENOTCACHED, the same versions are installed with
// `npm ci --offline` from a lockfile made from this repository's own package-lock.json, which
// needs only those tarballs.
//
// The suite's pretest has built dist/ and build/, so the pack skips the package's scripts.
// Every step's output is kept; a step that fails fails the test with it. It takes about a
// minute; each step's time is printed at the end.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Far more than the minute it takes: a slow shared machine must not fail it, a hang must. */
const TEST_TIMEOUT_MS = 15 * 60_000;
const STEP_TIMEOUT_MS = 5 * 60_000;

interface StepRecord {
  readonly what: string;
  readonly ms: number;
}

const steps: StepRecord[] = [];
const work = mkdtempSync(join(tmpdir(), "wasm-hal-e2e-"));
const project = join(work, "my-hal");
let passed = false;

/** npm settings a command keeps from the environment: where the cache and the config files are. */
const KEPT_NPM_CONFIG = new Set(["npm_config_cache", "npm_config_userconfig", "npm_config_globalconfig", "npm_config_cafile", "npm_config_registry"]);

/**
 * The environment of a command: this process's, without what npm and vitest set for the suite
 * itself (the repository's `npm_config_local_prefix` would send the project's npm to the
 * repository; vitest's worker variables would confuse the project's vitest), so that the
 * project's npm and vitest start as they would in a terminal. No colours, no network for npm.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|NODE_OPTIONS$|TEST$|NODE_ENV$)/.test(k) && !KEPT_NPM_CONFIG.has(k)) continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: "1", FORCE_COLOR: "0", npm_config_offline: "true", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
}

interface RunResult {
  readonly stdout: string;
  /** The command line, stdout and stderr, for messages. */
  readonly output: string;
}

/** Runs a command in the project (or `cwd`) and times it as a step. */
function run(what: string, command: string, args: readonly string[], options: { cwd?: string; expect?: number; hint?: string } = {}): RunResult {
  const started = Date.now();
  const r = spawnSync(command, args, { cwd: options.cwd ?? project, env: cleanEnv(), encoding: "utf8", timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  steps.push({ what, ms: Date.now() - started });
  const output = `$ ${command} ${args.join(" ")}\n${r.stdout ?? ""}${r.stderr ?? ""}${r.error === undefined ? "" : `\n${r.error.message}`}`;
  const wanted = options.expect ?? 0;
  if (r.status !== wanted) {
    throw new Error(`step "${what}" exited with ${r.status === null ? `signal ${r.signal ?? "?"}` : r.status}, expected ${wanted} (project left in ${project}):\n${output}${options.hint === undefined ? "" : `\n${options.hint}`}`);
  }
  return { stdout: r.stdout ?? "", output };
}

/** A step's output must say something. */
function says(step: RunResult, text: string | RegExp): void {
  const found = typeof text === "string" ? step.output.includes(text) : text.test(step.output);
  if (!found) throw new Error(`expected the output to contain ${String(text)}:\n${step.output}`);
}

function write(path: string, text: string): void {
  mkdirSync(dirname(join(project, path)), { recursive: true });
  writeFileSync(join(project, path), text);
}

function read(path: string): string {
  return readFileSync(join(project, path), "utf8");
}

interface Lockfile {
  packages: Record<string, { version?: string; [key: string]: unknown }>;
}

/** The version this repository locks a package at. */
function lockedVersion(lock: Lockfile, name: string): string {
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (version === undefined) throw new Error(`package-lock.json has no ${name}`);
  return version;
}

/**
 * Installs the tarball with the repository's own versions of AssemblyScript, vitest and
 * fast-check, from the npm cache only: as a user would (npm install), else from a lockfile made
 * of the repository's.
 */
function install(tarball: string): void {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as Lockfile;
  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
  const versions = Object.fromEntries(["assemblyscript", "vitest", "fast-check"].map((n) => [n, lockedVersion(lock, n)]));
  const started = Date.now();
  const plain = spawnSync("npm", ["install", "--offline", "--save-dev", tarball, ...Object.entries(versions).map(([n, v]) => `${n}@${v}`)], {
    cwd: project, env: cleanEnv(), encoding: "utf8", timeout: STEP_TIMEOUT_MS,
  });
  if (plain.status === 0) {
    steps.push({ what: "npm install --offline (tarball, assemblyscript, vitest, fast-check)", ms: Date.now() - started });
    return;
  }
  const output = `${plain.stdout}${plain.stderr}`;
  if (!output.includes("ENOTCACHED")) throw new Error(`npm install --offline failed (project left in ${project}):\n${output}`);

  // The same install from a lockfile: the repository's locked packages, and the tarball.
  rmSync(join(project, "node_modules"), { recursive: true, force: true });
  const devDependencies: Record<string, string> = { ...versions, "wasm-hal": `file:${tarball}` };
  const packages: Lockfile["packages"] = { "": { name: "my-hal", version: "0.0.0", devDependencies } };
  for (const [path, entry] of Object.entries(lock.packages)) if (path !== "") packages[path] = { ...entry, dev: true };
  packages["node_modules/wasm-hal"] = {
    version: manifest.version as string, resolved: `file:${tarball}`, dev: true,
    dependencies: manifest.dependencies, peerDependencies: manifest.peerDependencies,
    peerDependenciesMeta: manifest.peerDependenciesMeta, bin: manifest.bin, engines: manifest.engines,
  };
  write("package.json", JSON.stringify({ name: "my-hal", version: "0.0.0", private: true, devDependencies }, null, 2) + "\n");
  write("package-lock.json", JSON.stringify({ name: "my-hal", version: "0.0.0", lockfileVersion: 3, requires: true, packages }, null, 2) + "\n");
  steps.push({ what: "npm install --offline: ENOTCACHED (registry metadata not in the cache)", ms: Date.now() - started });
  run("npm ci --offline (a lockfile of the repository's versions)", "npm", ["ci", "--offline"]);
}

/** What to do when the scaffold's golden trace no longer matches what the scaffold records. */
const STALE_TEMPLATE = "If `wasm-hal check` reports timer-periodic-100us: the scaffold must pass as generated, and its golden trace " +
  "(templates/init/fixtures/golden/timer-periodic-100us.trace) is what init copies. If the change in the trace is meant, run " +
  "`npx wasm-hal check --update` in the project left above, read the new trace, and copy it to the template.";

// ---------------------------------------------------------------------------------------------
// The peripheral the package has never seen: a random number generator

const RNG_MAP = `{
  "block": "rng",
  "title": "Random number generator (RNG)",
  "manual": "written for the end-to-end test of wasm-hal",
  "size": "0x100",
  "registers": [
    { "name": "CTRL", "offset": "0x00", "bits": 8, "read": "value", "write": "value", "reset": "0x00", "section": "1",
      "doc": "Control", "fields": [
        { "name": "IE", "bits": "1", "doc": "interrupt when a value is ready" },
        { "name": "EN", "bits": "0", "doc": "the generator runs" } ] },
    { "name": "STATUS", "offset": "0x04", "bits": 8, "read": "value", "write": "ignored", "reset": "0x00", "section": "2",
      "doc": "Status", "fields": [ { "name": "READY", "bits": "0", "doc": "DATA holds a value not yet read" } ] },
    { "name": "DATA", "offset": "0x08", "bits": 32, "read": "consumes", "write": "ignored", "reset": null, "section": "3",
      "doc": "The next random word; reading it clears READY and starts the next one" }
  ]
}
`;

const RNG_API = `{
  "exports": [
    { "name": "rng_fill", "args": ["base:address", "ptr:address", "words"], "returns": "count", "doc": "fills words 32-bit words at ptr" }
  ]
}
`;

const RNG_DRIVER = `// The RNG driver: rng_fill(base, ptr, words) enables the generator and stores that many words.
import { read32, write32 } from "wasm-hal/assembly/mmio";
import { isValidBase, isValidBuffer } from "wasm-hal/assembly/common";
import { RNG_CTRL, RNG_CTRL_EN, RNG_STATUS, RNG_STATUS_READY, RNG_DATA } from "./generated/rng";
import { ERR_INVALID_ARG, ERR_TIMEOUT } from "./generated/api";

/** Reads of STATUS per word: a value takes 1 µs, 10 reads at 100 ns. */
@inline const RNG_READY_POLL_LIMIT: u32 = 1024;

export function rng_fill(base: u32, ptr: u32, words: u32): i32 {
  if (!isValidBase(base) || words > 0x10000 || !isValidBuffer(ptr, words << 2)) return ERR_INVALID_ARG;
  write32(base + RNG_CTRL, RNG_CTRL_EN);
  for (let i: u32 = 0; i < words; i++) {
    let ready = false;
    for (let n: u32 = 0; n < RNG_READY_POLL_LIMIT && !ready; n++) ready = (read32(base + RNG_STATUS) & RNG_STATUS_READY) != 0;
    if (!ready) return ERR_TIMEOUT;
    store<u32>(ptr + (i << 2), read32(base + RNG_DATA));
  }
  return <i32>words;
}
`;

const RNG_MODEL = `// @ts-check
// The RNG model: a xorshift32 sequence from a seed; each value is ready 1 µs after the enable or
// after the previous one was read.
import { defineDeviceKind } from "wasm-hal";

const READY_NS = 1000;

export class RngModel {
  /** @param {{ clock: import("wasm-hal").VirtualClock, seed: number }} options */
  constructor({ clock, seed }) {
    this.clock = clock;
    this.state = seed >>> 0 || 1;
    this.ctrl = 0;
    this.readyAt = Infinity;
    /** @type {number[]} */
    this.delivered = [];
  }

  next() {
    let x = this.state;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.state = x;
    return x;
  }

  /** @param {number} offset */
  read(offset) {
    const ready = this.clock.now >= this.readyAt;
    if (offset === 0x00) return this.ctrl;
    if (offset === 0x04) return ready ? 1 : 0;
    if (offset === 0x08) {
      if (!ready) return 0;
      const value = this.next();
      this.delivered.push(value);
      this.readyAt = this.clock.now + READY_NS;
      return value;
    }
    return 0;
  }

  /** @param {number} offset @param {number} value */
  write(offset, value) {
    if (offset !== 0x00) return;
    if ((value & 1) !== 0 && (this.ctrl & 1) === 0) this.readyAt = this.clock.now + READY_NS;
    if ((value & 1) === 0) this.readyAt = Infinity;
    this.ctrl = value & 3;
  }
}

export default [
  defineDeviceKind({
    kind: "rng",
    block: "rng",
    doc: "the RNG model: seed",
    create: (c) => new RngModel({ clock: c.clock, seed: c.options.integer("seed", { default: 1 }) }),
  }),
];
`;

const RNG_SCENARIO = `// @ts-check
import { defineScenario } from "wasm-hal";
import { RngModel } from "../models/rng.mjs";

export default [
  defineScenario({
    name: "rng-fill-4-words",
    summary: "the RNG delivers four words of its xorshift32 sequence, each 1 µs after the last",
    board: "devboard",
    run(s) {
      const rng = s.board.model("rng0", RngModel);
      const hal = s.board.hal;
      s.phase("test", "rng_fill of 4 words into the scratch buffer");
      s.expect(4, "rng_fill", s.board.base("rng0"), hal.scratch, 4);
      const words = new Uint32Array(hal.readBytes(hal.scratch, 16).buffer);
      s.check(rng.delivered.length === 4 && rng.delivered.every((w, i) => w === words[i]), "the buffer holds the words the RNG delivered");
    },
  }),
];
`;

afterAll(() => {
  const total = steps.reduce((t, s) => t + s.ms, 0);
  const lines = steps.map((s) => `  ${(s.ms / 1000).toFixed(1).padStart(6)} s  ${s.what}`);
  console.log(`project end to end (${project}): ${(total / 1000).toFixed(1)} s\n${lines.join("\n")}`);
  if (passed) rmSync(work, { recursive: true, force: true });
});

describe("a project made with wasm-hal init, from the packed package", () => {
  it("installs offline, scaffolds, builds, passes its tests, fuzzes, and takes a new peripheral", () => {
    for (const built of ["dist/harness/cli.js", "build/hal.wasm"]) {
      if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: the package is built by npm run build (the suite's pretest)`);
    }

    // 1. The package, as npm publishes it.
    const pack = run("npm pack --ignore-scripts", "npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT });
    const [packed] = JSON.parse(pack.stdout) as { filename: string }[];
    const tarball = join(work, packed!.filename);

    // 2. A fresh project, with the package installed from the tarball.
    mkdirSync(project);
    install(tarball);

    // 3. The scaffold, next to the package.json the install made.
    const init = run("npx wasm-hal init", "npx", ["wasm-hal", "init"]);
    says(init, "created   registers/timer.json");
    says(init, /updated {3}package\.json: added scripts gen, build, test/);
    says(init, "npm test");
    const manifest = JSON.parse(read("package.json")) as { devDependencies: Record<string, string> };
    expect(manifest.devDependencies["wasm-hal"]).toMatch(/^file:/);
    // Again, and it refuses: nothing is overwritten without --force.
    const again = run("npx wasm-hal init (again: refused)", "npx", ["wasm-hal", "init"], { expect: 1 });
    says(again, "nothing was written (--force overwrites them)");

    // 4. Build, and the scaffold's own test script: build, check, vitest.
    const build = run("npm run build", "npm", ["run", "build"]);
    says(build, "gen: wrote assembly/generated/timer.ts");
    expect(existsSync(join(project, "build/hal.wasm")) && existsSync(join(project, "build/hal.debug.wasm"))).toBe(true);
    const test = run("npm test (the scaffold's: build, wasm-hal check, vitest run)", "npm", ["test"], { hint: STALE_TEMPLATE });
    says(test, "ok       timer-periodic-100us");
    says(test, /Tests\s+\d+ passed/);
    says(run("npx wasm-hal check", "npx", ["wasm-hal", "check"], { hint: STALE_TEMPLATE }), "1 scenario: 1 ok");
    says(run("npx wasm-hal gen --check", "npx", ["wasm-hal", "gen", "--check"]), "files up to date");
    const recorded = run("npx wasm-hal record timer-periodic-100us", "npx", ["wasm-hal", "record", "timer-periodic-100us"]);
    expect(recorded.stdout).toBe(read("fixtures/golden/timer-periodic-100us.trace"));
    says(run("npx wasm-hal show (the golden trace)", "npx", ["wasm-hal", "show", "fixtures/golden/timer-periodic-100us.trace", "--no-color"]), "STATUS");
    says(run("npx wasm-hal fuzz timer --runs 50 --seed 1", "npx", ["wasm-hal", "fuzz", "timer", "--runs", "50", "--seed", "1"]), "no findings");

    // 5. A peripheral of the project's own: map, API, driver, model, board region, scenario.
    write("registers/rng.json", RNG_MAP);
    write("api/rng.json", RNG_API);
    write("assembly/rng.ts", RNG_DRIVER);
    write("assembly/index.ts", read("assembly/index.ts") + 'export * from "./rng";\n');
    write("models/rng.mjs", RNG_MODEL);
    write("scenarios/rng.mjs", RNG_SCENARIO);
    const board = JSON.parse(read("boards/devboard.json")) as { regions: unknown[] };
    board.regions.push({ name: "rng0", base: "0x40003000", size: "0x100", block: "rng", device: { kind: "rng", seed: 2463534242 } });
    write("boards/devboard.json", JSON.stringify(board, null, 2) + "\n");
    says(run("npm run build (with the RNG)", "npm", ["run", "build"]), "assembly/generated/rng.ts");
    const missing = run("npx wasm-hal check (no golden yet)", "npx", ["wasm-hal", "check"], { expect: 1 });
    says(missing, "MISSING  rng-fill-4-words");
    says(missing, "ok       timer-periodic-100us");
    says(run("npx wasm-hal check --update rng-fill-4-words", "npx", ["wasm-hal", "check", "--update", "rng-fill-4-words"]), "created  fixtures/golden/rng-fill-4-words.trace");
    const golden = read("fixtures/golden/rng-fill-4-words.trace");
    expect(golden).toContain("call rng_fill(0x40003000, ");
    expect(golden).toMatch(/R32 rng0\+0x004 +STATUS +0x00000000 x9\n/);
    says(run("npx wasm-hal check (both goldens)", "npx", ["wasm-hal", "check"]), "2 scenarios: 2 ok");

    // 6. One change in the driver (it sets IE too), and check names the register and the field.
    write("assembly/rng.ts", RNG_DRIVER.replace("write32(base + RNG_CTRL, RNG_CTRL_EN);", "write32(base + RNG_CTRL, RNG_CTRL_EN | RNG_CTRL_IE);").replace("RNG_CTRL_EN, RNG_STATUS", "RNG_CTRL_EN, RNG_CTRL_IE, RNG_STATUS"));
    run("npm run build (the changed driver)", "npm", ["run", "build"]);
    const drift = run("npx wasm-hal check (drift)", "npx", ["wasm-hal", "check"], { expect: 1 });
    says(drift, "DRIFT    rng-fill-4-words");
    says(drift, "CTRL at rng0+0x000 written: IE 0 -> 1");
    says(drift, "ok       timer-periodic-100us");
    passed = true;
  }, TEST_TIMEOUT_MS);
});
