// The WebAssembly binary format as the harness's own passes over modules read and write it: a
// bounded reader of bytes and LEB128 integers, the list of a module's sections, the encodings of
// integers, names and sections, and the immediates of instructions.
// The coverage pass (coverage/instrument.ts), the fuzz world's copy of a module with its globals
// exported (fuzz/module-globals.ts) and the world's repeat responder, standalone and inlined
// (fuzz/repeat-responder.ts), share them.

/** Reads `bytes` from `start` up to `end`; a malformed or truncated input fails with the error
 * `error` makes of a message naming `what` and the byte offset. */
export class WasmReader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
    start = 0,
    readonly end = bytes.length,
    private readonly error: (message: string) => Error = (message) => new Error(message),
  ) {
    this.pos = start;
  }
  fail(message: string, at = this.pos): never {
    throw this.error(`${this.what}: byte ${at}: ${message}`);
  }
  byte(): number {
    if (this.pos >= this.end) this.fail("unexpected end of the module: expected more bytes");
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 35) this.fail("an unsigned LEB128 longer than 5 bytes");
    }
    return result;
  }
  /** Skips a signed LEB128 of up to `bits` bits; returns its value when it fits in a double. */
  sleb(bits: number): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (shift > bits + 7) this.fail(`a signed LEB128 longer than ${bits} bits`);
    } while ((b & 0x80) !== 0);
    if ((b & 0x40) !== 0) result -= 2 ** shift;
    return result;
  }
  skip(n: number): void {
    if (this.pos + n > this.end) this.fail("unexpected end of the module: expected more bytes");
    this.pos += n;
  }
  name(): string {
    const len = this.u32();
    const start = this.pos;
    this.skip(len);
    return new TextDecoder().decode(this.bytes.subarray(start, start + len));
  }
}

/** A section of a module: where its id byte is, where its contents start and end. */
export interface RawSection {
  readonly id: number;
  /** Offsets of the contents (after the size). */
  readonly start: number;
  readonly end: number;
  /** Offset of the section's id byte. */
  readonly header: number;
  readonly customName?: string;
}

/** The sections of a module, in order, after checking its header; `error` as for WasmReader. */
export function readModuleSections(bytes: Uint8Array, what: string, error: (message: string) => Error = (message) => new Error(message)): RawSection[] {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw error(`${what}: not a WebAssembly module (no \\0asm header): expected a .wasm file built by asc`);
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) throw error(`${what}: binary format version ${bytes[4]}: expected version 1`);
  const r = new WasmReader(bytes, what, 8, bytes.length, error);
  const out: RawSection[] = [];
  while (r.pos < bytes.length) {
    const header = r.pos;
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    if (id === 0) {
      const c = new WasmReader(bytes, what, start, start + size, error);
      out.push({ id, start, end: start + size, header, customName: c.name() });
    } else {
      out.push({ id, start, end: start + size, header });
    }
  }
  return out;
}

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb32(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** Bytes preceded by their count (a name's UTF-8, a function body). */
export function sized(bytes: readonly number[]): number[] {
  return [...uleb(bytes.length), ...bytes];
}

/** A vector: the number of its items, then each item's bytes. */
export function vector(items: readonly (readonly number[])[]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

export function nameBytes(s: string): number[] {
  return sized(Array.from(new TextEncoder().encode(s)));
}

export function section(id: number, body: ArrayLike<number>): number[] {
  return [id, ...uleb(body.length), ...Array.from(body)];
}

// Decoding function bodies: what the passes need to step over an instruction's immediates.

/** A value type without an index: i32, i64, f32, f64, v128, funcref, externref. */
export function isPlainValType(b: number): boolean {
  return b === 0x7f || b === 0x7e || b === 0x7d || b === 0x7c || b === 0x7b || b === 0x70 || b === 0x6f;
}

export function skipValType(r: WasmReader): void {
  const b = r.byte();
  if (isPlainValType(b)) return;
  if (b === 0x63 || b === 0x64) {
    r.sleb(33);
    return;
  }
  r.fail(`value type 0x${b.toString(16)}: expected i32, i64, f32, f64, v128, funcref or externref`, r.pos - 1);
}

/** Skips a block type: empty, one value type, or a type index. */
export function skipBlockType(r: WasmReader): void {
  const b = r.bytes[r.pos]!;
  if (b === 0x40 || isPlainValType(b)) {
    r.pos++;
    return;
  }
  if (b === 0x63 || b === 0x64) {
    r.pos++;
    r.sleb(33);
    return;
  }
  if ((b & 0xc0) === 0x40 && (b & 0x80) === 0) r.fail(`value type 0x${b.toString(16)} in a block type: expected an MVP value type or a type index`);
  r.sleb(33);
}

/** Skips a load's or store's alignment and memory index; returns its offset. */
export function skipMemarg(r: WasmReader): number {
  const align = r.u32();
  if ((align & 0x40) !== 0) r.u32(); // a memory index (multi-memory)
  return r.u32();
}

/** A function body's local declarations, read from the body's start: the number of groups, the
 * locals they declare, and where the groups and the code begin. */
export interface BodyLocals {
  readonly groups: number;
  readonly count: number;
  readonly declarations: number;
  readonly code: number;
}

export function readBodyLocals(r: WasmReader): BodyLocals {
  const groups = r.u32();
  const declarations = r.pos;
  let count = 0;
  for (let g = 0; g < groups; g++) {
    count += r.u32();
    skipValType(r);
  }
  return { groups, count, declarations, code: r.pos };
}

/** The body's local declarations with one more group of `n` locals of `type` last: their
 * indices follow every other local's (parameters + locals.count and up). */
export function localsWithGroup(bytes: Uint8Array, locals: BodyLocals, n: number, type: number): number[] {
  return [...uleb(locals.groups + 1), ...bytes.subarray(locals.declarations, locals.code), ...uleb(n), type];
}

/** Where a section goes in a module, by id: the order the binary format requires of the
 * non-custom sections (the data count section, 12, comes before the code). */
export function sectionRank(id: number): number {
  return [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11].indexOf(id);
}

/** An entry of the import section. `kind` is the binary format's: 0 function, 1 table, 2 memory,
 * 3 global. */
export interface WasmImport {
  readonly module: string;
  readonly name: string;
  readonly kind: number;
  /** A function's type index (-1 for the other kinds). */
  readonly type: number;
  /** A memory with 64-bit addresses (memory64). */
  readonly memory64: boolean;
}

/** The limits flag of a 64-bit memory. */
export const LIMITS_64 = 4;

/** The entries of an import section (none without one); null when one is of a kind other than
 * function, table, memory or global (a tag of the exception handling proposal). */
export function readImports(bytes: Uint8Array, what: string, s: { start: number; end: number } | undefined, error?: (message: string) => Error): WasmImport[] | null {
  const imports: WasmImport[] = [];
  if (s === undefined) return imports;
  const r = new WasmReader(bytes, what, s.start, s.end, error);
  for (let n = r.u32(); n > 0; n--) {
    const module = r.name();
    const name = r.name();
    const kind = r.byte();
    let type = -1;
    let memory64 = false;
    if (kind === 0) {
      type = r.u32();
    } else if (kind === 1) {
      skipValType(r);
      skipLimits(r);
    } else if (kind === 2) {
      memory64 = (r.bytes[r.pos]! & LIMITS_64) !== 0;
      skipLimits(r);
    } else if (kind === 3) {
      skipValType(r);
      r.byte();
    } else {
      return null;
    }
    imports.push({ module, name, kind, type, memory64 });
  }
  return imports;
}

export function skipLimits(r: WasmReader): void {
  const flags = r.byte();
  r.u32();
  if ((flags & 1) !== 0) r.u32();
}

/**
 * Skips the immediates of the instruction whose opcode `op` was just read. Knows MVP, sign
 * extension, saturating truncation, bulk memory and reference types; false for any other opcode
 * (SIMD, atomics, exceptions, GC), whose immediates it cannot step over.
 */
export function skipImmediates(r: WasmReader, op: number): boolean {
  switch (op) {
    case 0x00: case 0x01: case 0x05: case 0x0b: case 0x0f: case 0x1a: case 0x1b: case 0xd1: case 0xd3: case 0xd4:
      return true;
    case 0x02: case 0x03: case 0x04:
      skipBlockType(r);
      return true;
    case 0x0c: case 0x0d: case 0xd5: case 0xd6: case 0x10: case 0x12: case 0x14: case 0x15:
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0xd2: case 0x3f: case 0x40:
      r.u32();
      return true;
    case 0x0e: {
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
      return true;
    }
    case 0x11: case 0x13:
      r.u32();
      r.u32();
      return true;
    case 0x1c: {
      const n = r.u32();
      for (let i = 0; i < n; i++) skipValType(r);
      return true;
    }
    case 0x41: r.sleb(32); return true;
    case 0x42: r.sleb(64); return true;
    case 0x43: r.skip(4); return true;
    case 0x44: r.skip(8); return true;
    case 0xd0: r.sleb(33); return true;
    case 0xfc: {
      const sub = r.u32();
      if (sub > 17) return false;
      if (sub === 8 || sub === 10 || sub === 12 || sub === 14) { r.u32(); r.u32(); }
      else if (sub > 7) r.u32();
      return true;
    }
    default:
      if (op >= 0x28 && op <= 0x3e) {
        skipMemarg(r);
        return true;
      }
      return op >= 0x45 && op <= 0xc4;
  }
}

/** A section's contents after its leading count (the entries of a vector section), or nothing
 * for a section the module lacks: what a pass keeps when it appends entries. */
export function sectionEntries(bytes: Uint8Array, what: string, s: { start: number; end: number } | undefined): number[] {
  if (s === undefined) return [];
  const r = new WasmReader(bytes, what, s.start, s.end);
  r.u32();
  return Array.from(bytes.subarray(r.pos, s.end));
}

/**
 * The module `sections` were read from, with the sections of `replaced` (whole sections, header
 * included, by id) put in place of the module's own; one the module lacks goes where the binary
 * format's order puts it. A custom section named `sourceMappingURL` is left out: a pass that
 * moves code offsets makes the source map wrong.
 */
export function assembleModule(bytes: Uint8Array, sections: readonly RawSection[], replaced: ReadonlyMap<number, readonly number[]>): Uint8Array<ArrayBuffer> {
  const missing = [...replaced.keys()].filter((id) => !sections.some((s) => s.id === id)).sort((a, b) => sectionRank(a) - sectionRank(b));
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  for (const s of sections) {
    if (s.id === 0) {
      if (s.customName !== "sourceMappingURL") out.push(...bytes.subarray(s.header, s.end));
      continue;
    }
    while (missing.length > 0 && sectionRank(missing[0]!) < sectionRank(s.id)) out.push(...replaced.get(missing.shift()!)!);
    out.push(...(replaced.get(s.id) ?? bytes.subarray(s.header, s.end)));
  }
  for (const id of missing) out.push(...replaced.get(id)!);
  return new Uint8Array(out);
}
