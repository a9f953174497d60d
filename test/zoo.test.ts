// The bug zoo (harness/zoo.ts, zoo/*.ts): every deliberately broken driver is caught by an
// assertion or the lint with a message that says what and where, and the real driver passes the
// same scenario and check. Each zoo module keeps the ABI, so it loads in place of hal.wasm.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ZOO, runZoo, zooSummary, zooModule, driverModule } from "../harness/zoo.js";
import { readModuleAbi, abiViolations } from "../harness/wasm-abi.js";
import { packageRoot, wasmPath } from "../harness/hal.js";

const root = packageRoot();

/** Words the message of each caught bug must contain: the register, what is wrong, the export. */
const KEY_WORDS: Readonly<Record<string, readonly string[]>> = {
  "pl011-fr-read-hoisted": ["uart0.FR is not read on every iteration", "iteration 2 of 40", "W32 uart0+0x000 DR", "in pl011_write(", "hoisted"],
  "pl011-lcrh-flush-merged": ["writes to uart0.LCR_H", "[0x0, 0x70]", "1 write is missing: merged", "in pl011_init("],
  "pl011-lcrh-before-divisor": ["TRM 3.3.7: IBRD and FBRD, then LCR_H", "W uart0.LCR_H: none after", "LCR_H 0x00000070 (WLEN=8BIT FEN)", "too early"],
  "pl011-reinit-while-enabled": ["write-while-enabled", "IBRD written while CR.UARTEN = 1", "FBRD written", "LCR_H written", "pl011 3.3.7", "in pl011_init(0x101f1000, 24000000, 9600, 0x0)"],
  "pl011-fr-byte-read": ["every access to uart0", "32-bit", "fault R8 uart0+0x018 FR", "in pl011_flush("],
  "pl011-read-unguarded": ["unguarded-consuming-read", "R32 uart0+0x000 DR", "FR.RXFE = 0", "in pl011_read("],
  "pl061-ic-read-modify-write": ["w1c-read-modify-write", "W32 gpio0+0x41c IC", "writes back bits 0x3 that read as set", "in pl061_irq_clear("],
  "pl061-data-read-modify-write": ["never to read gpio0.DATA", "R32 gpio0+0x3fc DATA", "pl061_write("],
  "pl022-rx-never-drained": ["ssp0.DR was read", "the device needed 32", "pl022_transfer("],
  "pl080-missing-dsb": ["a DSB between W dmac.C0Control and W dmac.C0Configuration E=1", "C0Configuration 0x00000001", "in pl080_memcpy("],
  "pl080-enable-poll-unbounded": ["pl080_init(0x10130000) did not return within 1000 bus accesses", "R32 dmac+0x030 Configuration"],
};

describe("the zoo's modules", () => {
  it("has one entry per zoo/*.ts source, with a message test for each", () => {
    const sources = readdirSync(join(root, "zoo")).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort();
    expect(ZOO.map((b) => b.name).sort()).toEqual(sources);
    expect(Object.keys(KEY_WORDS).sort()).toEqual(sources);
  });

  const driver = readModuleAbi(readFileSync(wasmPath("release")), "hal.wasm");
  const signature = new Map(driver.exports.map((e) => [e.name, e.signature]));

  it.each(ZOO.map((b) => [b.name, b] as const))("%s keeps the ABI and the export names of its driver", (_name, bug) => {
    const module = zooModule(bug.name);
    const abi = readModuleAbi(readFileSync(module.path), module.path);
    expect(abiViolations(abi)).toEqual([]);
    const exports = new Map(abi.exports.filter((e) => e.kind === "function").map((e) => [e.name, e.signature]));
    const wanted = [...signature.keys()].filter((n) => n.startsWith(`${bug.driver}_`) || n.startsWith("hal_"));
    for (const name of wanted) expect(exports.get(name), name).toBe(signature.get(name));
    // Nothing else: a Hal sees the same functions as in hal.wasm for this driver.
    expect([...exports.keys()].sort()).toEqual(wanted.sort());
    for (const name of bug.broken) expect(wanted).toContain(name);
  });
});

describe("every seeded bug is caught; the real driver passes the same check", () => {
  it.each(ZOO.map((b) => [b.name, b] as const))("%s", (_name, bug) => {
    const broken = bug.run(zooModule(bug.name));
    expect(broken, `${bug.name} was not caught by ${bug.caughtBy}`).not.toBeNull();
    for (const word of KEY_WORDS[bug.name] ?? []) expect(broken).toContain(word);
    expect(bug.run(driverModule())).toBeNull();
  });

  it("counts them", () => {
    const summary = zooSummary(runZoo());
    console.log(`bug zoo: ${summary.text}`);
    expect(summary.seeded).toBeGreaterThanOrEqual(7);
    expect(summary.caught).toBe(summary.seeded);
    expect(summary.correctPasses).toBe(summary.seeded);
  });
});

describe("with the debug builds, messages name the AssemblyScript line of the defect", () => {
  const lineIn = (name: string, text: string): number => {
    const lines = readFileSync(join(root, "zoo", `${name}.ts`), "utf8").split("\n");
    return lines.findIndex((l) => l.includes(text)) + 1;
  };

  it.each([
    ["pl011-fr-read-hoisted", "write32(base + PL011_DR", "pl011_write"],
    ["pl080-missing-dsb", "write32(channelRegister(base, channel, PL080_C0Configuration)", "pl080_memcpy"],
    ["pl061-ic-read-modify-write", "write32(base + PL061_IC", "pl061_irq_clear"],
  ])("%s", (name, statement, fn) => {
    const bug = ZOO.find((b) => b.name === name)!;
    expect(bug.run(zooModule(name, "debug"))).toContain(`at zoo/${name}.ts:${lineIn(name, statement)} (${fn})`);
    expect(bug.run(driverModule("debug"))).toBeNull();
  });
});
