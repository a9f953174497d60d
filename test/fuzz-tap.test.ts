// The fuzzer's lint tap reads the accesses from its ring when asked for the finding: the first
// finding and its index must be those of checking every access as it happened, however many
// accesses came after it, across the ring's wrap, and with repeated reads left out.
import { describe, expect, it, vi } from "vitest";
import { Bus, VirtualClock } from "../harness/bus.js";
import { Pl011Model } from "../harness/devices/pl011.js";
import { PL011_MAP } from "../harness/generated/pl011.js";
import { SequenceLintStream } from "../harness/lint.js";
import { FuzzTrace, RING_SIZE } from "../harness/fuzz/tap.js";
import { OP_READ, OP_WRITE } from "../harness/trace.js";

const BASE = 0x101f1000;
const FR = BASE + 0x18; // read-only flags (TRM 3.3.3): a clean read
const DR = BASE + 0x00;
const RESERVED = BASE + 0x08; // 0x008-0x014 are reserved (TRM 3.2, Table 3-1)

function tap(): FuzzTrace {
  const clock = new VirtualClock();
  const trace = new FuzzTrace();
  const bus = new Bus({ clock, trace });
  bus.map({ name: "uart0", base: BASE, size: PL011_MAP.size, device: new Pl011Model({ clock, uartclkHz: 24_000_000 }), map: PL011_MAP });
  trace.useRegions(bus.regions);
  trace.enabled = false;
  trace.restart();
  return trace;
}

describe("the fuzz trace's lint, read from its ring", () => {
  it("finds nothing in clean accesses, past several wraps of the ring", () => {
    const t = tap();
    for (let i = 0; i < 3 * RING_SIZE + 7; i++) t.record(i % 2 === 0 ? OP_READ : OP_WRITE, 4, i % 2 === 0 ? FR : DR, i % 2 === 0 ? 0x90 : 0x41, i);
    expect(t.finding).toBeNull();
    expect(t.seen).toBe(3 * RING_SIZE + 7);
  });

  it("gives the index of the first finding made after the ring wrapped", () => {
    const t = tap();
    const at = RING_SIZE + 44;
    for (let i = 0; i < at; i++) t.record(OP_READ, 4, FR, 0x90, i);
    t.record(OP_WRITE, 4, RESERVED, 1, at);
    // Accesses after it, clean or not, do not replace it.
    for (let i = 0; i < 2 * RING_SIZE; i++) t.record(OP_WRITE, 4, i === 5 ? FR : DR, 0x41, at + 1 + i);
    expect(t.finding).toEqual({ rule: "reserved-offset", index: at, op: OP_WRITE, width: 4, addr: RESERVED, value: 1 });
  });

  it("keeps a finding made before the ring wrapped over it", () => {
    const t = tap();
    t.record(OP_READ, 4, FR, 0x90, 0);
    t.record(OP_WRITE, 4, FR, 0, 1); // FR is read-only
    for (let i = 0; i < 3 * RING_SIZE; i++) t.record(OP_WRITE, 4, RESERVED, 0, i + 2);
    expect(t.finding).toMatchObject({ rule: "write-to-read-only", index: 1, addr: FR });
  });

  it("counts repeated reads in the index without linting them, and starts again at restart", () => {
    const t = tap();
    t.record(OP_READ, 4, FR, 0x90, 0);
    t.repeatReads(1000);
    t.record(OP_WRITE, 4, RESERVED, 2, 1001);
    expect(t.finding).toMatchObject({ rule: "reserved-offset", index: 1001, value: 2 });
    t.restart();
    expect(t.finding).toBeNull();
    t.record(OP_WRITE, 4, RESERVED, 3, 0);
    expect(t.finding).toMatchObject({ rule: "reserved-offset", index: 0, value: 3 });
  });

  // FR 0x80: RXFE clear, a character to read (TRM 3.3.3); 0x90: RXFE set, the RX FIFO empty.
  it("leaves out a status read the sequence rules were fed just before, and only that", () => {
    const t = tap();
    const fed = vi.spyOn(SequenceLintStream.prototype, "observeIn");
    try {
      for (let i = 0; i < 8; i++) {
        t.record(OP_READ, 4, FR, 0x80, 2 * i);
        t.record(OP_WRITE, 4, DR, 0x41, 2 * i + 1);
      }
      expect(t.finding).toBeNull();
      // DR writes are not theirs; the seven FR reads after the first repeat it.
      expect(fed).toHaveBeenCalledTimes(1);
      // Another value is fed, and what it says holds: RXFE set, so the DR read is unguarded.
      t.record(OP_READ, 4, FR, 0x90, 16);
      t.record(OP_READ, 2, DR, 0x41, 17);
      expect(t.finding).toMatchObject({ rule: "unguarded-consuming-read", index: 17 });
      expect(fed).toHaveBeenCalledTimes(3);
    } finally {
      fed.mockRestore();
    }
  });

  it("feeds every read that consumes, a repeat too", () => {
    const t = tap();
    t.record(OP_READ, 4, FR, 0x80, 0);
    t.record(OP_READ, 2, DR, 0x41, 1);
    expect(t.finding).toBeNull();
    // The FR read allowed one DR read; the same read again takes a second entry unguarded.
    t.record(OP_READ, 2, DR, 0x41, 2);
    expect(t.finding).toMatchObject({ rule: "unguarded-consuming-read", index: 2 });
  });

  it("feeds a repeat after a restart, when the rules have forgotten the first", () => {
    const t = tap();
    t.record(OP_READ, 4, FR, 0x80, 0);
    expect(t.finding).toBeNull();
    t.restart();
    t.record(OP_READ, 4, FR, 0x80, 0);
    t.record(OP_READ, 2, DR, 0x41, 1);
    expect(t.finding).toBeNull();
  });
});
