// What the benchmarks share: the "PL011 init + 16-byte write" workload on the release module, its
// floor (imports that do nothing), and the arithmetic of timing and medians.
import { performance } from "node:perf_hooks";
import { compileModule, wasmPath } from "../harness/hal.js";

export const UART = 0x101f1000;
export const UARTCLK_HZ = 24_000_000;
export const BAUD = 115_200;
/** 16 bytes: exactly the depth of an r1p4 TX FIFO, so the driver never waits on the model. */
export const MESSAGE = Buffer.from("0123456789abcdef", "latin1");

export interface Pl011Exports {
  memory: WebAssembly.Memory;
  hal_scratch(): number;
  pl011_init(base: number, clk: number, baud: number, config: number): number;
  pl011_write(base: number, ptr: number, len: number): number;
}

/** A workload ready to run `iterations` times, and the accesses one iteration makes. */
export interface Runner {
  run(iterations: number): void;
  accesses: number;
}

/** The release module on `imports`, with MESSAGE in its scratch buffer. */
export function instantiate(imports: WebAssembly.Imports): { hal: Pl011Exports; ptr: number } {
  const hal = new WebAssembly.Instance(compileModule(wasmPath("release")), imports).exports as unknown as Pl011Exports;
  const ptr = hal.hal_scratch();
  new Uint8Array(hal.memory.buffer).set(MESSAGE, ptr);
  return { hal, ptr };
}

/** One "PL011 init + 16-byte write". */
export function workload(hal: Pl011Exports, ptr: number): void {
  if (hal.pl011_init(UART, UARTCLK_HZ, BAUD, 0) !== 0) throw new Error("pl011_init failed in the benchmark");
  if (hal.pl011_write(UART, ptr, MESSAGE.length) !== MESSAGE.length) throw new Error("pl011_write failed in the benchmark");
}

/** Counts the accesses of one workload run through the imports `make` builds around a counter. */
export function countAccesses(make: (count: () => void) => WebAssembly.Imports): number {
  let n = 0;
  const { hal, ptr } = instantiate(make(() => { n++; }));
  workload(hal, ptr);
  return n;
}

/** The floor: imports that do nothing. Reads return 0, which the PL011 driver takes as "FIFO
 * not full, not busy", so it runs the same path without ever waiting. */
export function floorRunner(): Runner {
  const accesses = countAccesses((count) => ({ env: { mmio_read: () => { count(); return 0; }, mmio_write: () => { count(); }, barrier: () => { count(); } } }));
  const { hal, ptr } = instantiate({ env: { mmio_read: () => 0, mmio_write: () => {}, barrier: () => {} } });
  return { run: (n) => { for (let i = 0; i < n; i++) workload(hal, ptr); }, accesses };
}

/** Wall time of `iterations` runs, in ns. */
export function timeNs(run: (n: number) => void, iterations: number): number {
  const start = performance.now();
  run(iterations);
  return (performance.now() - start) * 1e6;
}

/** Runs per second of `run(n)`, with n grown until one call lasts at least `minMs`. */
export function ratePerSecond(run: (n: number) => void, minMs: number): number {
  let n = 64;
  for (;;) {
    const start = performance.now();
    run(n);
    const ms = performance.now() - start;
    if (ms >= minMs) return (n * 1000) / ms;
    n *= ms < minMs / 8 ? 8 : 2;
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function round2(x: number): number {
  return Number(x.toFixed(2));
}
