// The WebAssembly binary format as the harness's own passes over modules read and write it: a
// bounded reader of bytes and LEB128 integers, the list of a module's sections, and the encodings of
// integers, names and sections.
// The coverage pass (coverage/instrument.ts), the fuzz world's copy of a module with its globals
// exported (fuzz/module-globals.ts) and the world's repeat responder (fuzz/repeat-responder.ts)
// share them.

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

export function nameBytes(s: string): number[] {
  const b = Array.from(new TextEncoder().encode(s));
  return [...uleb(b.length), ...b];
}

export function section(id: number, body: ArrayLike<number>): number[] {
  return [id, ...uleb(body.length), ...Array.from(body)];
}
