// Golden traces: every scenario of the package's project (every scenario module its config names:
// PrimeCell and STM32F4) matches its file in fixtures/golden/ (the same check as `wasm-hal check`,
// called directly), drift is reported with the register and the field that changed, --update
// writes only into the folder it is given (a temp folder here: tests never write into fixtures/),
// and `wasm-hal show` lists a trace file with filters and colour rules.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { packageRoot } from "../harness/hal.js";
import { check, checkScenarios, defaultGoldenDir, goldenPath } from "../harness/commands/check.js";
import { colorWanted, renderTrace, show } from "../harness/commands/show.js";
import { UsageError, type Command } from "../harness/commands/common.js";
import { PACKAGE_CONTEXT, PROJECT_SCENARIOS as SCENARIOS } from "./context.js";
import { TraceParseError } from "../harness/trace-text.js";

const root = packageRoot();
const golden = defaultGoldenDir();
const temp = mkdtempSync(join(tmpdir(), "wasm-hal-golden-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** A fresh folder holding copies of the golden files. */
function copyOfGolden(name: string): string {
  const dir = join(temp, name);
  mkdirSync(dir);
  for (const f of readdirSync(golden)) copyFileSync(join(golden, f), join(dir, f));
  return dir;
}

/** Runs a command's run() with stdout captured. */
async function runCommand(command: Command, argv: string[]): Promise<{ status: number; out: string }> {
  let out = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  });
  try {
    const status = await command.run(argv, PACKAGE_CONTEXT);
    return { status, out };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("fixtures/golden", () => {
  it("holds one golden trace per scenario, and nothing else", () => {
    expect(readdirSync(golden).sort()).toEqual(SCENARIOS.map((s) => `${s.name}.trace`).sort());
  });

  it("every scenario's trace matches its golden file", () => {
    const results = checkScenarios(SCENARIOS);
    const problems = results.filter((r) => r.status !== "ok").map((r) => `${r.status} ${r.scenario}\n${r.detail}`);
    expect(problems, problems.join("\n\n")).toEqual([]);
    expect(results).toHaveLength(SCENARIOS.length);
  });
});

describe("drift", () => {
  it("one value changed in a copy of a golden trace fails the check with a diff naming the register and field", async () => {
    const dir = copyOfGolden("drift");
    const file = goldenPath("pl011-init-115200", dir);
    const text = readFileSync(file, "utf8");
    // FBRD for 115200 baud from 24 MHz is 1 (TRM 3.3.6); the copy claims 2.
    const line = "  W32 uart0+0x028 FBRD      0x00000001  ; DIVFRAC=1";
    expect(text).toContain(line);
    writeFileSync(file, text.replace(line, "  W32 uart0+0x028 FBRD      0x00000002  ; DIVFRAC=2"));
    const lineNo = text.split("\n").indexOf(line) + 1;

    const [result] = checkScenarios(SCENARIOS, ["pl011-init-115200"], { goldenDir: dir });
    expect(result!.status).toBe("drift");
    expect(result!.detail).toContain("traces differ at entry #5 during call pl011_init(0x101f1000, 24000000, 115200, 0x0)");
    expect(result!.detail).toContain(`${file}:${lineNo}`);
    expect(result!.detail).toContain("W32 uart0+0x028 FBRD      0x00000002  ; DIVFRAC=2");
    expect(result!.detail).toContain("W32 uart0+0x028 FBRD      0x00000001  ; DIVFRAC=1");
    expect(result!.detail).toContain("FBRD at uart0+0x028 written: DIVFRAC 2 -> 1");

    const { status, out } = await runCommand(check, ["--golden", dir, "pl011-init-115200", "pl011-hello"]);
    expect(status).toBe(1);
    expect(out).toContain("DRIFT    pl011-init-115200: the trace differs from");
    expect(out).toContain("to accept the new trace: wasm-hal check --update pl011-init-115200");
    expect(out).toContain("ok       pl011-hello");
    expect(out).toContain("2 scenarios: 1 ok, 1 drifted");
  });

  it("a poll of another length is drift too, told as a count", () => {
    const dir = copyOfGolden("poll");
    const file = goldenPath("pl011-hello", dir);
    const text = readFileSync(file, "utf8");
    const poll = /R32 uart0\+0x018 FR {8}0x00000018 x(\d+)/.exec(text)!;
    writeFileSync(file, text.replace(poll[0], poll[0].replace(`x${poll[1]}`, `x${Number(poll[1]) + 1}`)));
    const [result] = checkScenarios(SCENARIOS, ["pl011-hello"], { goldenDir: dir });
    expect(result!.status).toBe("drift");
    expect(result!.detail).toContain(`FR at uart0+0x018: the same value read ${Number(poll[1]) + 1} times in a row in the golden trace, ${poll[1]} now`);
  });

  it("a comment or a stale decoded field is not drift, but is said", () => {
    const dir = copyOfGolden("comments");
    const file = goldenPath("pl011-init-115200", dir);
    writeFileSync(file, readFileSync(file, "utf8").replace("; DIVFRAC=1", "; DIVFRAC=whatever").replace("# phase test:", "# phase test (edited):"));
    const [result] = checkScenarios(SCENARIOS, ["pl011-init-115200"], { goldenDir: dir });
    expect(result!.status).toBe("ok");
    expect(result!.staleText).toBe(true);
  });

  it("a missing golden file fails the check and says how to record it", async () => {
    const dir = join(temp, "empty");
    mkdirSync(dir);
    const { status, out } = await runCommand(check, ["--golden", dir, "pl061-pin-toggle-edge-irq"]);
    expect(status).toBe(1);
    expect(out).toContain(`MISSING  pl061-pin-toggle-edge-irq: no golden file ${join(dir, "pl061-pin-toggle-edge-irq.trace")}: record it with \`wasm-hal check --update pl061-pin-toggle-edge-irq\``);
    expect(existsSync(join(dir, "pl061-pin-toggle-edge-irq.trace"))).toBe(false);
  });

  it("a golden file that does not parse is an error naming its line", () => {
    const dir = copyOfGolden("broken");
    const file = goldenPath("pl061-pin-toggle-edge-irq", dir);
    writeFileSync(file, readFileSync(file, "utf8").replace("MIS       0x00000008", "MIS       0x0000zz08"));
    const [result] = checkScenarios(SCENARIOS, ["pl061-pin-toggle-edge-irq"], { goldenDir: dir });
    expect(result!.status).toBe("error");
    expect(result!.detail).toMatch(/the golden file does not parse: .*pl061-pin-toggle-edge-irq\.trace:\d+: bad hex value "0x0000zz08"/);
  });

  it("refuses an unknown scenario name before running anything", () => {
    expect(() => checkScenarios(SCENARIOS, ["pl011-hello", "pl011-goodbye"])).toThrow(UsageError);
    expect(() => checkScenarios(SCENARIOS, ["pl011-goodbye"])).toThrow('no scenario named "pl011-goodbye"');
  });
});

describe("--update", () => {
  it("writes the golden files only where it is told, says which changed, and leaves fixtures/ alone", async () => {
    const before = readdirSync(golden).map((f) => [f, statSync(join(golden, f)).mtimeMs, readFileSync(join(golden, f), "utf8")] as const);
    const dir = join(temp, "update");

    let r = await runCommand(check, ["--golden", dir, "--update"]);
    expect(r.status).toBe(0);
    for (const s of SCENARIOS) expect(r.out).toContain(`created  ${join(dir, `${s.name}.trace`)}`);
    expect(r.out).toContain(`${SCENARIOS.length} scenarios: ${SCENARIOS.length} created, 0 updated, 0 unchanged`);
    // What --update writes is what the golden files hold.
    for (const s of SCENARIOS) expect(readFileSync(join(dir, `${s.name}.trace`), "utf8")).toBe(readFileSync(goldenPath(s.name), "utf8"));

    r = await runCommand(check, ["--golden", dir, "--update"]);
    expect(r.out).toBe(`${SCENARIOS.length} scenarios: 0 created, 0 updated, ${SCENARIOS.length} unchanged\n`);

    const file = join(dir, "pl080-memcpy.trace");
    writeFileSync(file, readFileSync(file, "utf8").replace("W32 dmac+0x104  C0DestAddr 0x20000100", "W32 dmac+0x104  C0DestAddr 0x20000200"));
    r = await runCommand(check, ["--golden", dir, "--update", "pl080-memcpy", "pl011-hello"]);
    expect(r.out).toContain(`updated  ${file} (the trace drifted: traces differ at entry #`);
    expect(r.out).toContain("2 scenarios: 0 created, 1 updated, 1 unchanged");
    expect(readFileSync(file, "utf8")).toBe(readFileSync(goldenPath("pl080-memcpy"), "utf8"));

    const after = readdirSync(golden).map((f) => [f, statSync(join(golden, f)).mtimeMs, readFileSync(join(golden, f), "utf8")] as const);
    expect(after).toEqual(before);
  });

  it("--coverage lists the registers the scenarios touched", async () => {
    const { status, out } = await runCommand(check, ["--coverage", "pl011-init-115200"]);
    expect(status).toBe(0);
    expect(out).toContain("register coverage over 1 scenario (CPU and DMA accesses):");
    expect(out).toMatch(/uart0 \(pl011\): 8 of \d+ registers touched\n {2}read and written CR\n {2}read only +FR\n {2}written only +RSR\/ECR IBRD FBRD LCR_H IMSC ICR\n {2}never touched +DR ILPR/);
  });
});

describe("wasm-hal show", () => {
  const file = goldenPath("pl080-uart-tx");
  const text = readFileSync(file, "utf8");

  it("lists every line with its line number, entry index and decoded fields", () => {
    const listing = renderTrace(text, "uart-tx.trace");
    expect(listing.split("\n")[0]).toBe("uart-tx.trace: trace format 1, 5 calls, 19178 entries");
    expect(listing).toContain("  region uart0 0x101f1000 0x1000 pl011  (PrimeCell UART (PL011))");
    expect(listing).toMatch(/\n *\d+ +call pl011_init\(0x101f1000, 24000000, 115200, 0x0\)\n/);
    expect(listing).toMatch(/\n *\d+ #5 +  W32 uart0\+0x028 FBRD {6}0x00000001  ; DIVFRAC=1\n/);
    expect(listing).toMatch(/\n *\d+ +# phase test: /);
    // A blank line between calls, as in the file.
    expect(listing).toMatch(/return 0\n\n *\d+ #12 +W32 uart0\+0x048 DMACR/);
    expect(listing).not.toContain("\x1b[");
  });

  it("filters by register, keeping the calls that made the shown accesses", () => {
    const listing = renderTrace(text, "uart-tx.trace", { register: "DMACR" });
    const body = listing.split("\n").filter((l) => /^\s*\d/.test(l));
    expect(body).toHaveLength(1);
    expect(body[0]).toMatch(/#\d+ +W32 uart0\+0x048 DMACR {5}0x00000002  ; TXDMAE$/);
    expect(listing).toContain("shown: 1 of 102 access lines");
  });

  it("filters by region and register together: DMA writes to DR, inside pl080_wait", () => {
    const listing = renderTrace(text, "uart-tx.trace", { region: "uart0", register: "DR" });
    const body = listing.split("\n").filter((l) => /^\s*\d/.test(l));
    expect(body[0]).toMatch(/call pl080_wait\(0x10130000, 0\)$/);
    expect(body.filter((l) => l.includes("dma W8  uart0+0x000 DR"))).toHaveLength(22);
    expect(body[body.length - 1]).toMatch(/return 0$/);
    expect(listing).not.toContain("pl011_flush");
  });

  it("colours only when asked: writes, DMA, call results", () => {
    const listing = renderTrace(text, "uart-tx.trace", { color: true });
    expect(listing).toContain("\x1b[33mW32 uart0+0x048 DMACR     0x00000002\x1b[0m\x1b[2m  ; TXDMAE\x1b[0m");
    expect(listing).toContain("\x1b[35mdma W8  uart0+0x000 DR        0x48\x1b[0m");
    expect(listing).toContain("\x1b[32mreturn 0\x1b[0m");
  });

  it("uses colour on a terminal only, never with --no-color or NO_COLOR", () => {
    expect(colorWanted(false, {}, true)).toBe(true);
    expect(colorWanted(false, {}, false)).toBe(false);
    expect(colorWanted(true, {}, true)).toBe(false);
    expect(colorWanted(false, { NO_COLOR: "1" }, true)).toBe(false);
    expect(colorWanted(false, { NO_COLOR: "" }, true)).toBe(true);
  });

  it("refuses a region or register the trace does not have, and names file and line of a bad trace", () => {
    expect(() => renderTrace(text, "uart-tx.trace", { region: "uart1" })).toThrow("uart-tx.trace has no region named uart1 (regions: dmac, irqc, gpio0, uart0, ssp0, ram, linear)");
    expect(() => renderTrace(text, "uart-tx.trace", { region: "dmac", register: "FR" })).toThrow("no register named FR in region dmac (pl080)");
    const broken = text.replace("return 22", "return twenty-two").replace("return 0\n", "retrun 0\n");
    try {
      renderTrace(broken, "broken.trace");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TraceParseError);
      expect((e as Error).message).toMatch(/^broken\.trace:\d+: unknown line kind "retrun"/);
    }
  });

  it("as a command: no colour when stdout is not a terminal, exit 1 naming a missing file", async () => {
    const r = await runCommand(show, [file, "--register", "IBRD"]);
    expect(r.status).toBe(0);
    expect(r.out).not.toContain("\x1b[");
    expect(r.out).toContain("W32 uart0+0x024 IBRD      0x0000000d  ; DIVINT=0xd");
    // In-process the command throws the one-line error the CLI prints (exit 1): InputFileError.
    await expect(runCommand(show, [join(temp, "nothing.trace")])).rejects.toThrow(/nothing\.trace: cannot read it: no such trace file$/);
  });
});

describe("the CLI (compiled, in dist/)", () => {
  const cli = join(root, "dist", "harness", "cli.js");
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\``);
    return spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env } });
  };

  it("check, record and show work end to end", () => {
    const checked = run(["check", "pl011-init-115200", "pl061-pin-toggle-edge-irq"]);
    expect(checked.stderr).toBe("");
    expect(checked.stdout).toContain("2 scenarios: 2 ok");
    expect(checked.status).toBe(0);

    const out = join(temp, "recorded.trace");
    const recorded = run(["record", "pl061-pin-toggle-edge-irq", "-o", out]);
    expect(recorded.status).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(readFileSync(goldenPath("pl061-pin-toggle-edge-irq"), "utf8"));
    expect(run(["record", "pl011-init-115200"]).stdout).toBe(readFileSync(goldenPath("pl011-init-115200"), "utf8"));

    const listed = run(["show", out, "--region", "gpio0", "--register", "MIS"], { NO_COLOR: "1" });
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain("R32 gpio0+0x418 MIS       0x00000008  ; PIN3");

    const unknown = run(["record", "pl011-goodbye"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('wasm-hal: no scenario named "pl011-goodbye"');
  });
});
