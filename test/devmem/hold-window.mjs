// Opens a window with its lock through the bridge and holds it until stdin closes (or 10 s pass),
// so that the test can find it busy from another process.
//
//   node hold-window.mjs <addon.node> <file> <offset> <size>
import { createRequire } from "node:module";

const [addonPath, file, offsetText, sizeText] = process.argv.slice(2);
const bridge = createRequire(import.meta.url)(addonPath);
const offset = Number(offsetText);
const mapOffset = Math.floor(offset / bridge.pageSize) * bridge.pageSize;
const window = bridge.open(file, mapOffset, offset - mapOffset, Number(sizeText), 1 /* OPEN_LOCK */);
process.stdout.write("locked\n");
const timer = setTimeout(() => process.exit(0), 10_000);
process.stdin.on("end", () => {
  window.close();
  clearTimeout(timer);
});
process.stdin.resume();
