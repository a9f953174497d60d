// Argument checks shared by every driver. They run before the first register access.

/** A register block base must be word-aligned: PrimeCell registers are 32-bit words at word-aligned
 * offsets (docs/primecell.md 0.2). */
@inline export function isValidBase(base: u32): bool {
  return (base & 3) == 0;
}

/** A buffer passed by pointer and length must lie inside the module's linear memory, and its
 * length must fit the i32 count the exports return. */
export function isValidBuffer(ptr: u32, len: u32): bool {
  if (len > <u32>i32.MAX_VALUE) return false;
  const end = <u64>ptr + <u64>len;
  return end <= (<u64>memory.size() << 16);
}
