import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { packageRoot, packageRegistry } from "../harness/project.js";
import { PL011_MAP, PL011_FR, PL011_FR_TXFF, PL011_LCR_H_WLEN_MASK, PL011_LCR_H_WLEN_8BIT } from "../harness/generated/pl011.js";
import { PL022_MAP } from "../harness/generated/pl022.js";
import { PL061_MAP } from "../harness/generated/pl061.js";
import { IRQC_MAP } from "../harness/generated/irqc.js";
import { PL080_MAP } from "../harness/generated/pl080.js";
import { USART_MAP } from "../harness/generated/usart.js";

const root = packageRoot();
// `wasm-hal gen` alone, as the package's build runs it (npm run gen); compiled by pretest.
const generator = join(root, "dist", "harness", "commands", "gen-main.js");

/** A copy of the package's register maps, generated files and config, to break on purpose. */
function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), "wasm-hal-gen-"));
  for (const sub of ["registers", "assembly/generated", "harness/generated", "wasm-hal.config.json"]) {
    cpSync(join(root, sub), join(dir, sub), { recursive: true });
  }
  return dir;
}

const gen = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [generator, ...args], { encoding: "utf8", cwd });
const sandboxes: string[] = [];
afterEach(() => {
  for (const d of sandboxes.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("generated register files", () => {
  it("are up to date with registers/*.json", () => {
    const run = gen(root, "--check");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("gen: 22 files up to date\n");
  });

  it("are reported stale by name when a map changes without regeneration", () => {
    const dir = sandbox();
    sandboxes.push(dir);
    const mapFile = join(dir, "registers", "pl011.json");
    writeFileSync(mapFile, readFileSync(mapFile, "utf8").replace('"name": "ILPR", "offset": "0x020"', '"name": "ILPR", "offset": "0x01C"'));
    const run = gen(dir, "--check");
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("assembly/generated/pl011.ts");
    expect(run.stderr).toContain("harness/generated/pl011.ts");
    expect(run.stderr).not.toContain("pl022.ts");
    // --check wrote nothing; without it, the two files are written and named.
    expect(gen(dir, "--check").status).toBe(1);
    const write = gen(dir);
    expect(write.status).toBe(0);
    expect(write.stdout).toMatch(/^gen: wrote .*assembly\/generated\/pl011\.ts, .*harness\/generated\/pl011\.ts; 20 files already up to date\n$/);
    expect(readFileSync(join(dir, "assembly", "generated", "pl011.ts"), "utf8")).toContain("@inline export const PL011_ILPR: u32 = 0x01C;");
    expect(gen(dir, "--check").status).toBe(0);
  });

  it("refuses a map with overlapping offsets, naming the file and register", () => {
    const dir = sandbox();
    sandboxes.push(dir);
    const mapFile = join(dir, "registers", "pl011.json");
    writeFileSync(mapFile, readFileSync(mapFile, "utf8").replace('"name": "ILPR", "offset": "0x020"', '"name": "ILPR", "offset": "0x024"'));
    const run = gen(dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/registers\/pl011\.json: registers\[\d+\]\.offset: offset 0x24 of (ILPR|IBRD) is taken by (IBRD|ILPR)\n$/);
  });

  it("refuses a field above the register's width", () => {
    const dir = sandbox();
    sandboxes.push(dir);
    const mapFile = join(dir, "registers", "pl011.json");
    writeFileSync(mapFile, readFileSync(mapFile, "utf8").replace('{ "name": "DIVFRAC", "bits": "5:0"', '{ "name": "DIVFRAC", "bits": "6:0"'));
    const run = gen(dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/registers\/pl011\.json: registers\[\d+\]\.fields\[0\]\.bits: bit 6 of DIVFRAC is above the register's 6 bits\n$/);
  });
});

describe("repeated register groups", () => {
  it("expand the PL080's channel registers: channel n at 0x100 + 0x20 x n (PL080 TRM 3.4)", () => {
    const pl080 = packageRegistry().block("pl080")!;
    const at = (name: string) => pl080.registers.find((r) => r.name === name)?.offset;
    expect(at("C0SrcAddr")).toBe(0x100);
    expect(at("C3Control")).toBe(0x100 + 3 * 0x20 + 0x0c);
    expect(at("C7Configuration")).toBe(0x1f0);
    expect(pl080.registers.filter((r) => /^C\dConfiguration$/.test(r.name))).toHaveLength(8);
    // Field constants exist once, for channel 0; every channel has its offset constant.
    const asText = readFileSync(join(root, "assembly", "generated", "pl080.ts"), "utf8");
    expect(asText).toContain("@inline export const PL080_C7Configuration: u32 = 0x1F0;");
    expect(asText).toContain("PL080_C0Configuration_E: u32 = 1 << 0;");
    expect(asText).not.toContain("PL080_C7Configuration_E");
  });
});

describe("the PL011 map (ARM DDI 0183G, Table 3-1)", () => {
  // Offsets and reset values as the TRM's register summary gives them.
  const summary: [string, number, number | null][] = [
    ["DR", 0x000, null], ["RSR", 0x004, 0x0], ["FR", 0x018, 0x090], ["ILPR", 0x020, 0x00],
    ["IBRD", 0x024, 0x0000], ["FBRD", 0x028, 0x00], ["LCR_H", 0x02c, 0x00], ["CR", 0x030, 0x0300],
    ["IFLS", 0x034, 0x12], ["IMSC", 0x038, 0x000], ["RIS", 0x03c, 0x000], ["MIS", 0x040, 0x000],
    ["ICR", 0x044, null], ["DMACR", 0x048, 0x00],
    ["PeriphID0", 0xfe0, 0x11], ["PeriphID1", 0xfe4, 0x10], ["PCellID0", 0xff0, 0x0d],
    ["PCellID1", 0xff4, 0xf0], ["PCellID2", 0xff8, 0x05], ["PCellID3", 0xffc, 0xb1],
  ];
  it.each(summary)("%s: offset %d, reset %s", (name, offset, reset) => {
    const reg = PL011_MAP.registers.find((r) => r.name === name);
    expect(reg?.offset).toBe(offset);
    expect(reg?.reset).toBe(reset);
  });

  it("gives the access kinds the TRM describes", () => {
    const kinds = Object.fromEntries(PL011_MAP.registers.map((r) => [r.name, `${r.read}/${r.write}`]));
    expect(kinds).toMatchObject({
      DR: "consumes/value", RSR: "value/clears", FR: "value/ignored", ICR: "undefined/w1c", RIS: "value/ignored", CR: "value/value",
    });
  });

  it("exports field constants for the AssemblyScript and TypeScript sides alike", () => {
    expect(PL011_FR).toBe(0x18);
    expect(PL011_FR_TXFF).toBe(0x20);
    expect(PL011_LCR_H_WLEN_MASK).toBe(0x60);
    expect(PL011_LCR_H_WLEN_8BIT).toBe(0x60);
    const asText = readFileSync(join(root, "assembly", "generated", "pl011.ts"), "utf8");
    expect(asText).toContain("@inline export const PL011_FR_TXFF: u32 = 1 << 5;");
    expect(asText).toContain("@inline export const PL011_LCR_H_WLEN_MASK: u32 = 0x00000060;");
  });

  it("is the block the package's registry loads from registers/pl011.json at run time", () => {
    expect(packageRegistry().block("pl011")).toEqual(PL011_MAP);
  });
});

describe("the package's registry", () => {
  it("holds the ten blocks its config names, equal to the generated metadata", () => {
    const registry = packageRegistry();
    expect(registry.names()).toEqual(["dma", "gpio", "irqc", "pl011", "pl022", "pl061", "pl080", "rcc", "spi", "usart"]);
    expect(registry.block("irqc")).toEqual(IRQC_MAP);
    expect(registry.block("usart")).toEqual(USART_MAP);
    expect(registry.sourceOf("usart")).toBe("registers/stm32f4/usart.json");
    expect(registry.block("pl022")).toEqual(PL022_MAP);
    expect(registry.block("pl061")).toEqual(PL061_MAP);
    expect(registry.block("pl080")).toEqual(PL080_MAP);
    expect(registry.sourceOf("pl061")).toBe("registers/pl061.json");
  });

  it("looks names up as data: constructor, toString and __proto__ are no blocks", () => {
    const registry = packageRegistry();
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) expect(registry.block(name)).toBeUndefined();
  });

  it("knows the API's status codes and export signatures", () => {
    const registry = packageRegistry();
    expect(registry.statusName(-3)).toBe("ERR_TIMEOUT");
    expect(registry.statusName(0)).toBe("OK");
    expect(registry.formatResult("pl061_read", 0)).toBe("0x0");
    expect(registry.formatResult("pl061_read", -1)).toBe("-1 (ERR_INVALID_ARG)");
    expect(registry.formatResult("pl011_write", 22)).toBe("22");
    expect(registry.formatResult("pl011_flush", 0)).toBe("0 (OK)");
    expect(registry.formatCall("pl011_write", [0x101f1000, 1024, 22])).toBe("pl011_write(0x101f1000, 0x400, 22)");
    expect(registry.formatCall("pl061_write", [0x101e4000, 4, 0])).toBe("pl061_write(0x101e4000, 0x4, 0x0)");
    // An export without a signature: hex inside a region only.
    expect(registry.formatCall("my_init", [0x1000, 9600], [{ base: 0x1000, end: 0x2000 }])).toBe("my_init(0x1000, 9600)");
  });
});

