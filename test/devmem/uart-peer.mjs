// Plays the transmit side of a PL011 UART on a file-backed window that the test maps as the
// UART's registers: a second process changing "hardware" state under the driver, as a peripheral
// does. Every wait is bounded; stdout lines tell the test where it is.
//
//   node uart-peer.mjs <addon.node> <file> <byte count>
//
// 1. prints "ready", waits 20 ms (a character from before still shifting out), clears FR.BUSY;
// 2. waits for the driver's init to end (IBRD written and CR enabled again), clears FR.TXFF;
// 3. for each byte the driver writes to DR: sets TXFF and BUSY (shifting it out), puts the
//    sentinel back in DR, prints "tx <hex>", waits 2 ms, clears TXFF and BUSY;
// 4. prints "done" after <byte count> bytes.
import { createRequire } from "node:module";

const [addonPath, file, countText] = process.argv.slice(2);
const bridge = createRequire(import.meta.url)(addonPath);

// PL011 TRM (DDI 0183G) Table 3-1 offsets and 3.3.3 flag bits.
const DR = 0x000, FR = 0x018, IBRD = 0x024, CR = 0x030;
const FR_BUSY = 1 << 3, FR_TXFF = 1 << 5;
const CR_ENABLED = 0x301; // UARTEN | TXE | RXE
// Not a value the driver can write to DR (it writes one byte): DR holds it while "empty".
const SENTINEL = 0xffffffff;
const DEADLINE_MS = 10_000;

const window = bridge.open(file, 0, 0, 0x1000, 0); // no lock: the test holds the window
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

process.stdout.write("ready\n");
sleep(20);
clearFlags(FR_BUSY);
waitFor("the end of pl011_init", () => window.read(IBRD, 4) !== 0 && window.read(CR, 4) === CR_ENABLED);
clearFlags(FR_TXFF);

for (let i = 0; i < Number(countText); i++) {
  waitFor(`byte ${i} in DR`, () => window.read(DR, 4) !== SENTINEL);
  const byte = window.read(DR, 4);
  setFlags(FR_TXFF | FR_BUSY);
  window.write(DR, SENTINEL, 4);
  process.stdout.write(`tx ${byte.toString(16)}\n`);
  sleep(2);
  clearFlags(FR_TXFF | FR_BUSY);
}
process.stdout.write("done\n");
window.close();
