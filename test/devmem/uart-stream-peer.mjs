// Plays a PL011 on a file-backed window while a driver streams bytes through it (a scenario's
// pl011_write of a whole buffer): a second process changing "hardware" state under the driver.
// A file has no FIFO, so a byte the driver writes before this process looks overwrites the one
// before it; the bytes themselves are checked in the driver's trace, and this process only makes
// the flags move as a transmitting UART's do. Every wait is bounded.
//
//   node uart-stream-peer.mjs <addon.node> <file>
//
// 1. prints "ready", waits 20 ms (a character from before still shifting out), clears FR.BUSY;
// 2. waits for the driver's init to end (IBRD written and CR enabled again), clears FR.TXFF;
// 3. whenever DR changes: sets TXFF and BUSY (shifting it out), prints "tx <hex>", waits 1 ms,
//    clears TXFF and BUSY. DR is never written here: a reset of DR racing the driver's next write
//    could lose that byte, and with it the end of the line this process waits for;
// 4. prints "done" once DR holds 0x0a (the end of a line), the last byte the driver writes.
import { createRequire } from "node:module";

const [addonPath, file] = process.argv.slice(2);
const bridge = createRequire(import.meta.url)(addonPath);

// PL011 TRM (DDI 0183G) Table 3-1 offsets and 3.3.3 flag bits.
const DR = 0x000, FR = 0x018, IBRD = 0x024, CR = 0x030;
const FR_BUSY = 1 << 3, FR_TXFF = 1 << 5;
const CR_ENABLED = 0x301; // UARTEN | TXE | RXE
// Not a value the driver can write to DR (it writes one byte): DR holds it while "empty".
const SENTINEL = 0xffffffff;
const DEADLINE_MS = 30_000;

const window = bridge.open(file, 0, 0, 0x1000, 0); // no lock: the driver's process holds the window
const pause = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => Atomics.wait(pause, 0, 0, ms);
const started = Date.now();

function waitFor(what, done) {
  while (!done()) {
    if (Date.now() - started > DEADLINE_MS) {
      process.stderr.write(`uart-stream-peer: timed out waiting for ${what}\n`);
      process.exit(3);
    }
    sleep(0.2);
  }
}

const setFlags = (bits) => window.write(FR, (window.read(FR, 4) | bits) >>> 0, 4);
const clearFlags = (bits) => window.write(FR, (window.read(FR, 4) & ~bits) >>> 0, 4);

process.stdout.write("ready\n");
sleep(20);
clearFlags(FR_BUSY);
waitFor("the end of pl011_init", () => window.read(IBRD, 4) !== 0 && window.read(CR, 4) === CR_ENABLED);
clearFlags(FR_TXFF);

let last = SENTINEL;
for (;;) {
  waitFor("a byte in DR", () => window.read(DR, 4) !== last);
  const byte = window.read(DR, 4);
  last = byte;
  setFlags(FR_TXFF | FR_BUSY);
  process.stdout.write(`tx ${byte.toString(16)}\n`);
  sleep(1);
  clearFlags(FR_TXFF | FR_BUSY);
  if (byte === 0x0a) break;
}
process.stdout.write("done\n");
window.close();
