// The trace text form round-trips: whatever the bus records (accesses of every width, faults of
// any kind, DMA accesses, barriers, calls that return, throw or are still running), the writer
// writes lines its own parser takes, and the parsed trace formats to the very same text.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Bus, BusFault, VirtualClock } from "../harness/bus.js";
import { RegisterFile } from "../harness/devices/register-file.js";
import { Ram } from "../harness/devices/ram.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { formatTrace, parseTrace, traceRegions } from "../harness/trace-text.js";
import { rebuildTrace } from "./rebuild-trace.js";

const UART = 0x101f1000;
const RAM = 0x20000000;

type Access = { readonly kind: "read" | "write" | "dma-read" | "dma-write"; readonly addr: number; readonly width: number; readonly value: number };
type Op =
  | Access
  | { readonly kind: "barrier"; readonly barrier: number }
  | { readonly kind: "call"; readonly name: string; readonly args: readonly number[]; readonly ops: readonly Op[]; readonly end: "return" | "throw" | "running"; readonly result: number };

// Addresses: registers of the PL011 (mapped with its map), RAM, just past a region, and nowhere;
// aligned or not. Widths: the three the ABI has and the ones a broken module could ask for.
const address = fc.oneof(
  fc.integer({ min: 0, max: 0xfff }).map((o) => UART + o),
  fc.integer({ min: 0, max: 0xff }).map((o) => RAM + o),
  fc.constantFrom(UART + 0xffe, RAM + 0xffff, 0x0, 0xfffffffc, 0x30000000),
);
const width = fc.constantFrom(1, 2, 4, 4, 4, 0, 3, 8, 16);
const u32 = fc.oneof(fc.constantFrom(0, 1, 0x100, 0xff, 0xffffffff, 0x80000000), fc.nat({ max: 0xffffffff }));
const access: fc.Arbitrary<Access> = fc.record({
  kind: fc.constantFrom("read", "read", "write", "dma-read", "dma-write") as fc.Arbitrary<"read" | "write" | "dma-read" | "dma-write">,
  addr: address,
  width,
  value: u32,
});
const barrier: fc.Arbitrary<Op> = fc.record({ kind: fc.constant("barrier" as const), barrier: fc.constantFrom(0, 1, 2, 3, 0xffffffff) });
const plain = fc.oneof({ weight: 6, arbitrary: access }, { weight: 1, arbitrary: barrier });
// A poll: the same read again and again, which the writer collapses to one line with a count.
const poll: fc.Arbitrary<Op[]> = fc.tuple(access, fc.integer({ min: 2, max: 5 })).map(([a, n]) => Array.from({ length: n }, () => ({ ...a, kind: "read" as const })));
const body = fc.array(fc.oneof(plain.map((o) => [o]), poll), { maxLength: 8 }).map((xs) => xs.flat());
const call: fc.Arbitrary<Op> = fc.record({
  kind: fc.constant("call" as const),
  // One export with a signature in the package's API (hex base and config), one without.
  name: fc.constantFrom("pl011_init", "my_driver_step"),
  args: fc.array(fc.oneof(u32, fc.integer({ min: -(2 ** 31), max: -1 })), { maxLength: 4 }),
  ops: body,
  end: fc.constantFrom("return", "return", "throw") as fc.Arbitrary<"return" | "throw">,
  result: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
});
const program = fc.tuple(fc.array(fc.oneof(plain, call), { maxLength: 12 }), fc.option(call, { nil: undefined }))
  // A last call may still be running when the trace is written (a hang cut by the budget).
  .map(([ops, last]) => (last === undefined ? ops : [...ops, { ...(last as Extract<Op, { kind: "call" }>), end: "running" as const }]));

function busFor(): Bus {
  const bus = new Bus({ clock: new VirtualClock(100) });
  bus.map({ name: "uart0", base: UART, size: 0x1000, device: new RegisterFile(), map: PL011_MAP });
  bus.map({ name: "ram", base: RAM, size: 0x10000, device: new Ram(0x10000) });
  return bus;
}

function play(bus: Bus, ops: readonly Op[]): void {
  for (const op of ops) {
    try {
      switch (op.kind) {
        case "read": bus.read(op.addr, op.width); break;
        case "write": bus.write(op.addr, op.value, op.width); break;
        case "dma-read": bus.masterRead(op.addr, op.width); break;
        case "dma-write": bus.masterWrite(op.addr, op.value, op.width); break;
        case "barrier": bus.barrier(op.barrier); break;
        case "call": {
          const index = bus.trace.beginCall(op.name, op.args);
          play(bus, op.ops);
          if (op.end !== "running") bus.trace.endCall(index, op.end === "return" ? op.result : undefined);
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof BusFault)) throw e;
    }
  }
}


describe("the trace text form", () => {
  it("round-trips every trace the bus records: format, parse, format gives the same text", () => {
    fc.assert(fc.property(program, (ops) => {
      const bus = busFor();
      play(bus, ops);
      const text = formatTrace(bus.trace, bus.regions);
      const parsed = parseTrace(text, "recorded.trace");
      // Nothing lost: the same entries as the bus recorded, in order.
      expect(parsed.length).toBe(bus.trace.length);
      const again = formatTrace(rebuildTrace(parsed), traceRegions(parsed.regions, parsed.registry));
      expect(again).toBe(text);
    }), { numRuns: 400, seed: 13 });
  });

  it("writes a faulted byte write with the byte the bus would have carried", () => {
    const bus = busFor();
    expect(() => bus.write(0x30000000, 0x1ff, 1)).toThrow(BusFault);
    const text = formatTrace(bus.trace, bus.regions);
    expect(text).toMatch(/\nfault W8 +0x30000000 +0xff\n/);
    expect(parseTrace(text, "t").accesses[0]!.value).toBe(0xff);
  });

  it("writes a faulted access wider than a word with 8 hex digits at most", () => {
    const bus = busFor();
    expect(() => bus.write(RAM, 0x12345678, 8)).toThrow(BusFault);
    const text = formatTrace(bus.trace, bus.regions);
    expect(text).toMatch(/\nfault W64 ram\+0x000 +0x12345678\n/);
    expect(parseTrace(text, "t").accesses[0]!.width).toBe(8);
  });
});
