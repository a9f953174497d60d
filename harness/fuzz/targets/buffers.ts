// Where a fuzz step puts a buffer in linear memory: the scratch buffer, flush against the end of
// memory (valid), one byte past it, or at an address that wraps (both to be refused).
import fc from "fast-check";
import type { World } from "../world.js";

export type BufferPlace = "scratch" | "end" | "past" | "wrap";

export const bufferSteps: fc.Arbitrary<BufferPlace> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<BufferPlace>("scratch") },
  { weight: 1, arbitrary: fc.constantFrom<BufferPlace>("end", "past", "wrap") },
);

/** The pointer for a buffer of `len` bytes at `place`. */
export function bufferPointer(place: BufferPlace, len: number, world: World): number {
  switch (place) {
    case "scratch": return world.scratch;
    case "end": return world.memorySize - len;
    case "past": return world.memorySize - len + 1;
    case "wrap": return 0xffffff00;
  }
}

/** True when a buffer at `place` lies inside linear memory. */
export function bufferIsValid(place: BufferPlace): boolean {
  return place === "scratch" || place === "end";
}

export function describeBuffer(place: BufferPlace, len: number): string {
  const size = len >= 0 ? `${len} bytes ` : "";
  switch (place) {
    case "scratch": return `${size}in the scratch buffer`;
    case "end": return `${size}ending at the end of linear memory`;
    case "past": return `${size}ending one byte past linear memory`;
    case "wrap": return `${size}at 0xffffff00`;
  }
}
