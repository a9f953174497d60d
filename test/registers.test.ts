import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { packageRoot } from "../harness/hal.js";
import { PL011_MAP, PL011_FR, PL011_FR_TXFF, PL011_LCR_H_WLEN_MASK, PL011_LCR_H_WLEN_8BIT } from "../harness/generated/pl011.js";
import { BLOCKS } from "../harness/generated/blocks.js";

const root = packageRoot();
const generator = join(root, "scripts", "gen-registers.mjs");

/** A copy of the generator with the register maps and generated files, to break on purpose. */
function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), "wasm-hal-gen-"));
  for (const sub of ["scripts", "registers", "assembly/generated", "harness/generated"]) {
    cpSync(join(root, sub), join(dir, sub), { recursive: true });
  }
  return dir;
}
const sandboxes: string[] = [];
afterEach(() => {
  for (const d of sandboxes.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("generated register files", () => {
  it("are up to date with registers/*.json", () => {
    const run = spawnSync(process.execPath, [generator, "--check"], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it("are reported stale by name when a map changes without regeneration", () => {
    const dir = sandbox();
    sandboxes.push(dir);
    const mapFile = join(dir, "registers", "pl011.json");
    writeFileSync(mapFile, readFileSync(mapFile, "utf8").replace('"name": "ILPR", "offset": "0x020"', '"name": "ILPR", "offset": "0x01C"'));
    const run = spawnSync(process.execPath, [join(dir, "scripts", "gen-registers.mjs"), "--check"], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("assembly/generated/pl011.ts");
    expect(run.stderr).toContain("harness/generated/pl011.ts");
  });

  it("refuses a map with overlapping offsets, naming the file and register", () => {
    const dir = sandbox();
    sandboxes.push(dir);
    const mapFile = join(dir, "registers", "pl011.json");
    writeFileSync(mapFile, readFileSync(mapFile, "utf8").replace('"name": "ILPR", "offset": "0x020"', '"name": "ILPR", "offset": "0x024"'));
    const run = spawnSync(process.execPath, [join(dir, "scripts", "gen-registers.mjs")], { encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/pl011\.json: register (ILPR|IBRD): offset 0x24 is taken by (IBRD|ILPR)/);
  });

  it("refuses a field above the register's width", () => {
    const dir = sandbox();
    sandboxes.push(dir);
    const mapFile = join(dir, "registers", "pl011.json");
    writeFileSync(mapFile, readFileSync(mapFile, "utf8").replace('{ "name": "DIVFRAC", "bits": "5:0"', '{ "name": "DIVFRAC", "bits": "6:0"'));
    const run = spawnSync(process.execPath, [join(dir, "scripts", "gen-registers.mjs")], { encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("pl011.json: register FBRD field DIVFRAC: bit 6 is above the register's 6 bits");
  });
});

describe("repeated register groups", () => {
  it("expand the PL080's channel registers: channel n at 0x100 + 0x20 x n (PL080 TRM 3.4)", () => {
    const pl080 = BLOCKS["pl080"]!;
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

  it("is listed among the blocks by name", () => {
    expect(BLOCKS["pl011"]).toBe(PL011_MAP);
  });
});

