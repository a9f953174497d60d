// Width-specific register accessors and barriers. Drivers use these, never the raw imports, and
// never load/store on a device address (those touch WebAssembly memory, not the bus).
import { mmio_read, mmio_write, barrier } from "./env";

/** barrier() kinds, named after the ARM instructions a board host issues for them. */
@inline export const BARRIER_DMB: u32 = 0;
@inline export const BARRIER_DSB: u32 = 1;
@inline export const BARRIER_ISB: u32 = 2;

@inline export function read8(addr: u32): u32 {
  return mmio_read(addr, 1);
}

@inline export function read16(addr: u32): u32 {
  return mmio_read(addr, 2);
}

@inline export function read32(addr: u32): u32 {
  return mmio_read(addr, 4);
}

@inline export function write8(addr: u32, value: u32): void {
  mmio_write(addr, value & 0xFF, 1);
}

@inline export function write16(addr: u32, value: u32): void {
  mmio_write(addr, value & 0xFFFF, 2);
}

@inline export function write32(addr: u32, value: u32): void {
  mmio_write(addr, value, 4);
}

/** Read-modify-write of a 32-bit register: two bus transactions, never atomic. Never use it on a
 * write-1-to-clear register or one whose read has side effects. */
@inline export function modify32(addr: u32, clear: u32, set: u32): void {
  mmio_write(addr, (mmio_read(addr, 4) & ~clear) | set, 4);
}

/** Data memory barrier: orders the accesses before it against those after it. */
@inline export function dmb(): void {
  barrier(BARRIER_DMB);
}

/** Data synchronization barrier: waits until every access before it has completed. */
@inline export function dsb(): void {
  barrier(BARRIER_DSB);
}

/** Instruction synchronization barrier: refetches instructions after a context change. */
@inline export function isb(): void {
  barrier(BARRIER_ISB);
}
