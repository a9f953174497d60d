// Helpers shared by the STM32F4 drivers: bounded waits on a status register. Every caller names
// its own limit and says where it comes from.
import { read32 } from "../mmio";

/** Reads the register at `addr` until all of `bits` are set, at most `limit` times. */
export function waitBitsSet(addr: u32, bits: u32, limit: u32): bool {
  for (let polls: u32 = 0; polls < limit; polls++) {
    if ((read32(addr) & bits) == bits) return true;
  }
  return false;
}

/** Reads the register at `addr` until none of `bits` is set, at most `limit` times. */
export function waitBitsClear(addr: u32, bits: u32, limit: u32): bool {
  for (let polls: u32 = 0; polls < limit; polls++) {
    if ((read32(addr) & bits) == 0) return true;
  }
  return false;
}
