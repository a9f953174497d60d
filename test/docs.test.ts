// The reference pages must say what the module does: every export and every status code listed,
// with the values the code uses.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot, wasmPath } from "../harness/hal.js";
import { readModuleAbi } from "../harness/wasm-abi.js";
import { STATUS_CODES } from "../harness/generated/api.js";

const root = packageRoot();
const apiDoc = readFileSync(join(root, "docs", "api.md"), "utf8");

describe("docs/api.md", () => {
  const exports = readModuleAbi(readFileSync(wasmPath("release"))).exports.filter((e) => e.kind === "function");

  it.each(exports.map((e) => [e.name, e.signature]))("lists the export %s with its arity", (name, signature) => {
    const row = apiDoc.split("\n").find((line) => line.startsWith(`| \`${name}(`));
    expect(row, `no table row for ${name}`).toBeDefined();
    const params = /\(([^)]*)\)/.exec(row!)![1]!.trim();
    const documented = params === "" ? 0 : params.split(",").length;
    const actual = /^\(([^)]*)\)/.exec(signature!)![1]!.split(",").filter(Boolean).length;
    expect(documented).toBe(actual);
  });

  it("lists no export the module does not have", () => {
    const names = new Set(exports.map((e) => e.name));
    const documented = [...apiDoc.matchAll(/^\| `([a-z0-9_]+)\(/gm)].map((m) => m[1]!);
    expect(documented.filter((n) => !names.has(n))).toEqual([]);
  });

  it.each(STATUS_CODES.map((c) => [c.name, c.value]))("gives status code %s the value %i", (name, value) => {
    expect(apiDoc).toContain(`| \`${name}\` | ${value} |`);
  });
});
