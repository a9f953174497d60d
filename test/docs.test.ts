// The reference pages must say what the module does: every export and every status code listed,
// with the values the code uses.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../harness/hal.js";
import { packageProject } from "../harness/project.js";
import { readModuleAbi } from "../harness/wasm-abi.js";
import { STATUS_CODES } from "../harness/generated/api.js";

const root = packageRoot();
const apiDoc = readFileSync(join(root, "docs", "api.md"), "utf8");

/** Each family's module and the page whose table lists its exports, one row per export. */
const REFERENCES = [
  { module: "hal", page: "docs/api.md" },
  { module: "stm32f4", page: "docs/drivers/stm32f4.md" },
];

describe.each(REFERENCES)("$page", ({ module, page }) => {
  const text = readFileSync(join(root, page), "utf8");
  const exports = readModuleAbi(readFileSync(packageProject().modulePath(module, "release"))).exports.filter((e) => e.kind === "function");
  // The ABI exports every module has are listed once, in docs/api.md.
  const own = exports.filter((e) => page === "docs/api.md" || !e.name.startsWith("hal_"));

  it.each(own.map((e) => [e.name, e.signature]))(`lists the ${module} export %s with its arity`, (name, signature) => {
    const row = text.split("\n").find((line) => line.startsWith(`| \`${name}(`));
    expect(row, `no table row for ${name}`).toBeDefined();
    const params = /\(([^)]*)\)/.exec(row!)![1]!.trim();
    const documented = params === "" ? 0 : params.split(",").length;
    const actual = /^\(([^)]*)\)/.exec(signature!)![1]!.split(",").filter(Boolean).length;
    expect(documented).toBe(actual);
  });

  it(`lists no export build/${module}.wasm does not have`, () => {
    const names = new Set(exports.map((e) => e.name));
    const documented = [...text.matchAll(/^\| `([a-z0-9_]+)\(/gm)].map((m) => m[1]!);
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.filter((n) => !names.has(n))).toEqual([]);
  });
});

describe("docs/api.md", () => {
  it.each(STATUS_CODES.map((c) => [c.name, c.value]))("gives status code %s the value %i", (name, value) => {
    expect(apiDoc).toContain(`| \`${name}\` | ${value} |`);
  });
});
