#!/usr/bin/env node
// Size of each family's module (build/hal.wasm for the PrimeCell drivers, build/stm32f4.wasm for
// the STM32F4 ones) and each driver's share of it: builds, into a temporary folder, the module
// with no driver, with each driver alone and with all of them, using the release target of
// asconfig.json (the options of the built modules), and prints a Markdown table per module.
//
//   node boards/sizes.mjs            every family
//   node boards/sizes.mjs stm32f4    one family (hal or stm32f4)
//
// A driver's share is (base + that driver) - base; the shares add up to a little more than the
// whole, since the drivers share types and imports. docs/deploy.md quotes the figures.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The families: the entry file each module is built from and the module the build wrote. */
const FAMILIES = [
  { name: "hal", index: "assembly/index.ts", built: "build/hal.wasm" },
  { name: "stm32f4", index: "assembly/stm32f4/index.ts", built: "build/stm32f4.wasm" },
];

/** The exports every module has whatever its drivers (assembly/abi.ts): part of the base. */
const SHARED = new Set(["abi"]);

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !FAMILIES.some((f) => f.name === w));
if (unknown.length > 0) {
  console.error(`sizes: unknown family ${unknown.join(", ")}: expected ${FAMILIES.map((f) => f.name).join(" or ")}`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "hal-sizes-"));
try {
  for (const family of FAMILIES.filter((f) => wanted.length === 0 || wanted.includes(f.name))) {
    const indexPath = join(root, family.index);
    const index = readFileSync(indexPath, "utf8");
    // `export * from "./pl011";` names a driver; `export * from "../abi";` the shared exports;
    // `export { pl011_irq_open, ... } from "./pl011-irq";` a driver whose file also holds helpers
    // that are not exports (the interrupt-driven ones).
    const reexport = /^export (\*|\{[^}]*\}) from "(\.{1,2}\/[\w/.-]+)";\s*$/gm;
    const lines = [...index.matchAll(reexport)].map((m) => ({ what: m[1], path: m[2] }));
    const drivers = lines.filter((l) => !SHARED.has(l.path.split("/").at(-1)));
    const shared = lines.filter((l) => SHARED.has(l.path.split("/").at(-1)));
    /** The temporary entry's import path for a path relative to the family's index.ts. */
    const from = (p) => {
      const path = relative(dir, resolve(dirname(indexPath), p)).split("\\").join("/");
      return path.startsWith(".") ? path : `./${path}`;
    };
    const entry = (name, withDrivers) => {
      const source = [...shared, ...withDrivers].map((l) => `export ${l.what} from "${from(l.path)}";\n`).join("");
      const file = join(dir, `${family.name}-${name}.ts`);
      writeFileSync(file, source);
      const out = join(dir, `${family.name}-${name}.wasm`);
      const asc = join(root, "node_modules", ".bin", "asc");
      const r = spawnSync(asc, [file, "--config", join(root, "asconfig.json"), "--target", "release", "--outFile", out, "--textFile", join(dir, `${family.name}-${name}.wat`)], { cwd: root, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`asc ${family.name} ${name}: ${r.stderr}${r.stdout}`);
      return statSync(out).size;
    };
    const none = entry("base", []);
    const rows = drivers.map((d) => [d.path.split("/").at(-1), entry(d.path.split("/").at(-1), [d]) - none]);
    const all = entry("all", drivers);
    const built = statSync(join(root, family.built)).size;
    const kib = (n) => (n / 1024).toFixed(2);
    console.log(`### ${family.built} (${family.index})\n`);
    console.log("| part | bytes | KiB |");
    console.log("|---|---:|---:|");
    console.log(`| shared exports without drivers (hal_abi_version, hal_scratch, ...) | ${none} | ${kib(none)} |`);
    for (const [d, share] of rows) console.log(`| ${d} (its share) | ${share} | ${kib(share)} |`);
    console.log(`| all drivers: the module | ${all} | ${kib(all)} |`);
    if (all !== built) console.log(`\n${family.built} is ${built} bytes: rebuild it (npm run build:wasm) to compare.`);
    console.log("");
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
