// Plays the transmit side of a PL011 UART on a file-backed window that the test maps as the
// UART's registers: a second process changing "hardware" state under the driver, as a peripheral
// does. Every wait is bounded; stdout lines tell the test where it is.
//
//   node uart-peer.mjs <addon.node> <file> <byte count>   one byte per pl011_write call
//   node uart-peer.mjs <addon.node> <file> line           a whole buffer in one call, up to 0x0a
//
// 1. prints "ready", waits 20 ms (a character from before still shifting out), clears FR.BUSY;
// 2. waits for the driver's init to end (IBRD written and CR enabled again), clears FR.TXFF;
// 3. with a byte count, for each byte the driver writes to DR: sets TXFF and BUSY (shifting it
//    out), puts the sentinel back in DR, prints "tx <hex>", waits 2 ms, clears TXFF and BUSY;
//    prints "done" after <byte count> bytes. The test waits for each "tx" line before the next
//    call, so no byte overwrites another in DR;
// 4. with "line", whenever DR changes: sets TXFF and BUSY, prints "tx <hex>", waits 1 ms, clears
//    them; prints "done" once DR holds 0x0a, the last byte of the line. A file has no FIFO, so a
//    byte written before this process looks overwrites the one before it (the bytes are checked
//    in the driver's trace), and DR is never written here: a reset of DR racing the driver's next
//    write could lose that byte, and with it the end of the line this process waits for.
import { createRequire } from "node:module";

const [addonPath, file, mode] = process.argv.slice(2);
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
      process.stderr.write(`uart-peer: timed out waiting for ${what}\n`);
      process.exit(3);
    }
    sleep(0.2);
  }
}

const setFlags = (bits) => window.write(FR, (window.read(FR, 4) | bits) >>> 0, 4);
const clearFlags = (bits) => window.write(FR, (window.read(FR, 4) & ~bits) >>> 0, 4);

/** One byte shifting out: TXFF and BUSY held for `ms`, then cleared. */
function transmit(byte, ms) {
  setFlags(FR_TXFF | FR_BUSY);
  if (mode !== "line") window.write(DR, SENTINEL, 4);
  process.stdout.write(`tx ${byte.toString(16)}\n`);
  sleep(ms);
  clearFlags(FR_TXFF | FR_BUSY);
}

process.stdout.write("ready\n");
sleep(20);
clearFlags(FR_BUSY);
waitFor("the end of pl011_init", () => window.read(IBRD, 4) !== 0 && window.read(CR, 4) === CR_ENABLED);
clearFlags(FR_TXFF);

if (mode === "line") {
  let last = SENTINEL;
  for (;;) {
    waitFor("a byte in DR", () => window.read(DR, 4) !== last);
    last = window.read(DR, 4);
    transmit(last, 1);
    if (last === 0x0a) break;
  }
} else {
  for (let i = 0; i < Number(mode); i++) {
    waitFor(`byte ${i} in DR`, () => window.read(DR, 4) !== SENTINEL);
    transmit(window.read(DR, 4), 2);
  }
}
process.stdout.write("done\n");
window.close();
