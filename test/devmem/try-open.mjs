// Tries to open a window through the bridge and prints the outcome as one JSON line: {"opened":
// true} or the error's code, errno, syscall and message. Run by the test under another user.
//
//   node try-open.mjs <addon.node> <file> <offset> <size> <flags>
import { createRequire } from "node:module";

const [addonPath, file, offsetText, sizeText, flagsText] = process.argv.slice(2);
const bridge = createRequire(import.meta.url)(addonPath);
const offset = Number(offsetText);
const mapOffset = Math.floor(offset / bridge.pageSize) * bridge.pageSize;
try {
  bridge.open(file, mapOffset, offset - mapOffset, Number(sizeText), Number(flagsText)).close();
  process.stdout.write(JSON.stringify({ opened: true }) + "\n");
} catch (e) {
  process.stdout.write(JSON.stringify({ opened: false, code: e.code, errno: e.errno, syscall: e.syscall, message: e.message }) + "\n");
}
