// Builds the bug zoo: every zoo/<name>.ts (not zoo/parts/) to build/zoo/<name>.wasm and, with a
// name section and a source map, build/zoo/<name>.debug.wasm. The asc options are those of the
// real module: asconfig.json is read as for build/hal.wasm (its "release" and "debug" targets and
// shared options), and only the output files are named here. A module whose outputs are newer
// than its sources, assembly/, zoo/parts/ and asconfig.json is left alone; --force rebuilds all.
import { readdirSync, statSync, mkdirSync, existsSync, rmSync } from "node:fs";
import { join, dirname, basename } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const zooDir = join(root, "zoo");
const outDir = join(root, "build", "zoo");
const force = process.argv.includes("--force");

/** Newest modification time of the .ts files under a folder (recursively). */
function newestIn(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestIn(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0);
const shared = Math.max(newestIn(join(root, "assembly")), newestIn(join(zooDir, "parts")), mtime(join(root, "asconfig.json")));

const entries = readdirSync(zooDir, { withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith(".ts"))
  .map((e) => basename(e.name, ".ts"))
  .sort();
mkdirSync(outDir, { recursive: true });

// Outputs of modules whose source is gone would be loaded by nothing, but could mislead.
for (const file of readdirSync(outDir)) {
  const name = file.replace(/(\.debug)?\.(wasm|wat|wasm\.map)$/, "");
  if (!entries.includes(name)) rmSync(join(outDir, file));
}

const targets = [
  { target: "release", suffix: "" },
  { target: "debug", suffix: ".debug" },
];

let built = 0;
/** The compiler, loaded once the first module needs building. */
let asc;
for (const name of entries) {
  const source = join("zoo", `${name}.ts`);
  const inputs = Math.max(shared, mtime(join(root, source)));
  for (const { target, suffix } of targets) {
    const outFile = join("build", "zoo", `${name}${suffix}.wasm`);
    if (!force && mtime(join(root, outFile)) > inputs) continue;
    asc ??= (await import("assemblyscript/asc")).default;
    // --outFile and --textFile override the target's own (build/hal*.wasm/.wat); every other
    // option comes from asconfig.json, which asc reads from the package root.
    const { error, stderr } = await asc.main(
      [source, "--target", target, "--outFile", outFile, "--textFile", join("build", "zoo", `${name}${suffix}.wat`)],
      { stdout: process.stdout, stderr: process.stderr },
    );
    if (error) {
      process.stderr.write(String(stderr ?? ""));
      console.error(`build-zoo: ${source} (${target}) failed: ${error.message}`);
      process.exit(1);
    }
    built++;
  }
}
console.log(`build-zoo: ${entries.length} modules in build/zoo (${built} outputs rebuilt)`);
