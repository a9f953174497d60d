// What `npm pack` puts in the package, checked from npm's own file list (a dry run with scripts
// off: it neither builds nor writes a tarball, and needs no network). A user's project gets the
// compiled harness, the prebuilt module, the AssemblyScript sources and the project data, and
// none of the repository's tests, zoo, CI or benchmarks; every entry point that package.json
// names is a file of the package. The install into a real project is tested elsewhere.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

interface PackResult {
  files: { path: string }[];
}

type ExportTarget = string | { [condition: string]: ExportTarget };

interface Manifest {
  bin: Record<string, string>;
  exports: Record<string, ExportTarget>;
}

/** The strings an exports entry can resolve to, under any condition. */
function targetsOf(target: ExportTarget): string[] {
  return typeof target === "string" ? [target] : Object.values(target).flatMap(targetsOf);
}

/** Whether an exports target (a path, or a pattern with one `*`) names at least one packed file. */
function matchesAPackedFile(target: string, packed: ReadonlySet<string>): boolean {
  const path = target.replace(/^\.\//, "");
  const star = path.indexOf("*");
  if (star < 0) return packed.has(path);
  const [before, after] = [path.slice(0, star), path.slice(star + 1)];
  return [...packed].some((file) => file.length > before.length + after.length && file.startsWith(before) && file.endsWith(after));
}

let packed: Set<string>;
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Manifest;

beforeAll(() => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000,
  });
  const [result] = JSON.parse(out) as PackResult[];
  packed = new Set(result!.files.map((f) => f.path));
});

describe("npm pack", () => {
  it("carries the compiled harness with its types, the prebuilt module and the AssemblyScript sources", () => {
    for (const file of [
      "dist/harness/index.js", "dist/harness/index.d.ts", "dist/harness/cli.js",
      "dist/harness/vitest.js", "dist/harness/vitest.d.ts", "dist/harness/vitest-setup.js", "dist/harness/vitest-setup.d.ts",
      "dist/harness/matchers.d.ts", "dist/harness/hal.js.map",
      "build/hal.wasm", "build/hal.debug.wasm", "build/hal.debug.wasm.map",
      "assembly/env.ts", "assembly/mmio.ts", "assembly/common.ts", "assembly/index.ts", "assembly/generated/api.ts", "assembly/pl011.ts",
    ]) {
      expect(packed, file).toContain(file);
    }
  });

  it("carries the register maps, the docs, the board and golden data, and what builds the bridge and runs on boards", () => {
    for (const file of [
      "registers/pl011.json", "registers/api.json", "docs/api.md", "docs/install.md",
      "fixtures/boards/versatile.json", "fixtures/golden/pl011-hello.trace",
      "harness/devmem/devmem.cc", "harness/devmem/binding.gyp", "scripts/build-bridge.mjs",
      "boards/wamr/hal_natives.c", "boards/wamr/hal_natives.h", "README.md", "package.json",
    ]) {
      expect(packed, file).toContain(file);
    }
    expect([...packed].filter((f) => f.startsWith("fixtures/fuzz/")).length).toBeGreaterThan(0);
  });

  it("leaves out the tests, the zoo, CI, the benchmarks, build by-products and the bridge's local build", () => {
    // Of the harness's sources, only what builds the bridge and the two files vitest transforms
    // in a user's project (its setup file is run through Vite, which wants a map's sources).
    const harnessSources = new Set(["harness/devmem/devmem.cc", "harness/devmem/binding.gyp", "harness/vitest.ts", "harness/vitest-setup.ts"]);
    const unwanted = [...packed].filter((f) =>
      /^(test|zoo|\.ci|bench|examples|dist\/bench|dist\/test|build\/zoo|build\/c|node_modules)\//.test(f) ||
      f.includes("/node_modules/") ||
      (f.startsWith("harness/") && !harnessSources.has(f)) ||
      f.endsWith(".wat") || f === "build/.built");
    expect(unwanted).toEqual([]);
  });

  it("names only packed files as entry points", () => {
    const targets = Object.entries(manifest.exports).flatMap(([key, target]) => targetsOf(target).map((t) => ({ key, t })));
    expect(targets.filter(({ t }) => !matchesAPackedFile(t, packed))).toEqual([]);
    for (const bin of Object.values(manifest.bin)) expect(packed, bin).toContain(bin.replace(/^\.\//, ""));
  });

  it("has a bin that runs under node from any PATH", () => {
    for (const bin of Object.values(manifest.bin)) {
      expect(readFileSync(join(ROOT, bin), "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
    }
  });
});
