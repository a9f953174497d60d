// The fuzz world's repeated-read responder: a WebAssembly module of 172 bytes that sits
// between the driver module and the world's mmio_read. While the world has armed it with a read
// that repeats for good (a register its device declared stable forever: a stuck flag, a FIFO that
// never fills), it answers the repeats itself, so that a poll running to its driver's limit (up
// to four million reads) stays inside WebAssembly instead of crossing into JavaScript on every
// read; everything else it passes on to the world. The driver module still imports env.mmio_read
// as the ABI says: a host may satisfy an import with a function of another module.
//
// The world takes the count of answered repeats back (take) before any other access, at the end
// of every call and whenever the responder passes a read on, and accounts for them as its own
// repeated-read path does (bus budget, trace counts, clock), so nothing it records changes.

import { nameBytes, section, uleb } from "../wasm-binary.js";

/** The responder's exports. */
export interface RepeatResponder {
  /** The driver's mmio_read: a repeat of the armed read while repeats are left, else `read`. */
  readonly mmio_read: (addr: number, width: number) => number;
  /** Answers up to `repeats` reads of `addr` at `width` with `value`. */
  readonly arm: (addr: number, width: number, value: number, repeats: number) => void;
  /** The repeats not answered, and disarms. */
  readonly take: () => number;
}

// Opcodes used below (WebAssembly core specification 1.0, 5.4).
const BLOCK = 0x02, END = 0x0b, BR_IF = 0x0d, RETURN = 0x0f, CALL = 0x10;
const LOCAL_GET = 0x20, GLOBAL_GET = 0x23, GLOBAL_SET = 0x24, I32_CONST = 0x41;
const I32_EQZ = 0x45, I32_NE = 0x47, I32_SUB = 0x6b;
const I32 = 0x7f, EMPTY = 0x40, FUNC = 0x60;

/** Globals of the responder, by index. */
const G_ADDR = 0, G_WIDTH = 1, G_VALUE = 2, G_LEFT = 3;

function body(code: number[]): number[] {
  const withLocals = [0, ...code, END]; // no locals
  return [...uleb(withLocals.length), ...withLocals];
}

function encode(): Uint8Array<ArrayBuffer> {
  const types = [3,
    FUNC, 2, I32, I32, 1, I32, //         0: (addr, width) -> value
    FUNC, 4, I32, I32, I32, I32, 0, //    1: arm
    FUNC, 0, 1, I32]; //                  2: take
  const imports = [1, ...nameBytes("host"), ...nameBytes("read"), 0x00, 0];
  const functions = [3, 0, 1, 2];
  const globals = [4, ...[0, 1, 2, 3].flatMap(() => [I32, 1, I32_CONST, 0, END])];
  const exports = [3, ...nameBytes("mmio_read"), 0x00, 1, ...nameBytes("arm"), 0x00, 2, ...nameBytes("take"), 0x00, 3];
  const mmioRead = body([
    BLOCK, EMPTY,
    LOCAL_GET, 0, GLOBAL_GET, G_ADDR, I32_NE, BR_IF, 0,
    LOCAL_GET, 1, GLOBAL_GET, G_WIDTH, I32_NE, BR_IF, 0,
    GLOBAL_GET, G_LEFT, I32_EQZ, BR_IF, 0,
    GLOBAL_GET, G_LEFT, I32_CONST, 1, I32_SUB, GLOBAL_SET, G_LEFT,
    GLOBAL_GET, G_VALUE, RETURN,
    END,
    LOCAL_GET, 0, LOCAL_GET, 1, CALL, 0,
  ]);
  const arm = body([LOCAL_GET, 0, GLOBAL_SET, G_ADDR, LOCAL_GET, 1, GLOBAL_SET, G_WIDTH, LOCAL_GET, 2, GLOBAL_SET, G_VALUE, LOCAL_GET, 3, GLOBAL_SET, G_LEFT]);
  const take = body([GLOBAL_GET, G_LEFT, I32_CONST, 0, GLOBAL_SET, G_LEFT]);
  const code = [3, ...mmioRead, ...arm, ...take];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types), ...section(2, imports), ...section(3, functions),
    ...section(6, globals), ...section(7, exports), ...section(10, code),
  ]);
}

let compiled: WebAssembly.Module | null = null;

/** A responder whose passed-on reads go to `read`. */
export function repeatResponder(read: (addr: number, width: number) => number): RepeatResponder {
  compiled ??= new WebAssembly.Module(encode());
  return new WebAssembly.Instance(compiled, { host: { read } }).exports as unknown as RepeatResponder;
}

/** Most repeats one arm hands over (the responder counts in an i32). */
export const RESPONDER_MAX_REPEATS = 2 ** 30;
