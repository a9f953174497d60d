#!/usr/bin/env node
// Size of build/hal.wasm and each driver's share of it: builds, into a temporary folder, the
// module with no driver, with each driver alone and with all of them, using the release target
// of asconfig.json (the options of build/hal.wasm), and prints a Markdown table.
//
//   node boards/sizes.mjs
//
// A driver's share is (base + that driver) - base; the shares add up to a little more than the
// whole, since the drivers share types and imports. docs/deploy.md quotes the figures.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const index = readFileSync(join(root, "assembly", "index.ts"), "utf8");
const driverLine = /^export \* from "\.\/(\w+)";\s*$/gm;
const drivers = [...index.matchAll(driverLine)].map((m) => m[1]);
const base = index.replace(driverLine, "");

const dir = mkdtempSync(join(tmpdir(), "hal-sizes-"));
try {
  const assembly = relative(dir, join(root, "assembly")).split("\\").join("/");
  const entry = (name, withDrivers) => {
    const source = base.replace(/from "\.\//g, `from "${assembly}/`) + withDrivers.map((d) => `export * from "${assembly}/${d}";\n`).join("");
    const file = join(dir, `${name}.ts`);
    writeFileSync(file, source);
    const out = join(dir, `${name}.wasm`);
    const asc = join(root, "node_modules", ".bin", "asc");
    const r = spawnSync(asc, [file, "--config", join(root, "asconfig.json"), "--target", "release", "--outFile", out, "--textFile", join(dir, `${name}.wat`)], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`asc ${name}: ${r.stderr}${r.stdout}`);
    return statSync(out).size;
  };
  const none = entry("base", []);
  const rows = drivers.map((d) => [d, entry(d, [d]) - none]);
  const all = entry("all", drivers);
  const built = statSync(join(root, "build", "hal.wasm")).size;
  const kib = (n) => (n / 1024).toFixed(2);
  console.log("| part | bytes | KiB |");
  console.log("|---|---:|---:|");
  console.log(`| exports of index.ts without drivers (hal_abi_version, hal_scratch, ...) | ${none} | ${kib(none)} |`);
  for (const [d, share] of rows) console.log(`| ${d} (its share) | ${share} | ${kib(share)} |`);
  console.log(`| all drivers: the module | ${all} | ${kib(all)} |`);
  if (all !== built) console.log(`\nbuild/hal.wasm is ${built} bytes: rebuild it (npm run build:wasm) to compare.`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
