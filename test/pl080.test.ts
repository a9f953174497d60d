// The PL080 driver (assembly/pl080.ts) run through hal.wasm against the PL080 model, RAM, the
// module's own linear memory mapped on the bus, and small fake peripherals. Register offsets and
// values are those of docs/primecell.md, PL080 section 4 (DDI 0196G), written out here rather
// than taken from the generated map, so that a wrong map fails these tests too.
import { describe, expect, it } from "vitest";
import { Bus, type Device, type VirtualClock } from "../harness/bus.js";
import { Hal } from "../harness/hal.js";
import { OP_READ, OP_WRITE, OP_BARRIER, FLAG_DMA, FLAG_FAULT, type TraceEntry } from "../harness/trace.js";
import { Pl080Model } from "../harness/devices/pl080.js";
import { Ram, LinearMemoryRam } from "../harness/devices/ram.js";
import { DMA_BREQ, DMA_LSREQ, DMA_SREQ, type DmaDirection, type DmaRequester } from "../harness/devices/signals.js";
import { PL080_MAP } from "../harness/generated/pl080.js";
import {
  OK, ERR_INVALID_ARG, ERR_TIMEOUT, ERR_DMA, ERR_BUSY,
  PL080_CONFIG_WIDTH_BYTE, PL080_CONFIG_WIDTH_HALFWORD, PL080_CONFIG_WIDTH_WORD,
  PL080_CONFIG_BURST_4, PL080_CONFIG_IRQ, PL080_CONFIG_PERIPH_FLOW,
} from "../harness/generated/api.js";

// ---------------------------------------------------------------------------------------------
// The board: where each block sits on the bus.

const DMAC = 0x1013_0000;
const RAM = 0x2000_0000;
const RAM_SIZE = 0x1_0000;
/** Where the board maps the module's linear memory (offset 0) for the DMA master. */
const LINEAR = 0x8000_0000;
const PERIPHERAL = 0x101f_1000;
/** An address in no region. */
const NOWHERE = 0x3000_0000;

// Register offsets, docs/primecell.md, PL080 4.1 and 4.2.
const IntStatus = 0x000;
const IntTCStatus = 0x004;
const IntTCClear = 0x008;
const IntErrorStatus = 0x00c;
const IntErrClr = 0x010;
const RawIntTCStatus = 0x014;
const RawIntErrorStatus = 0x018;
const EnbldChns = 0x01c;
const SoftSReq = 0x024;
const Configuration = 0x030;
const channelBase = (n: number): number => 0x100 + 0x20 * n;
const SrcAddr = (n: number): number => channelBase(n) + 0x00;
const DestAddr = (n: number): number => channelBase(n) + 0x04;
const LLI = (n: number): number => channelBase(n) + 0x08;
const Control = (n: number): number => channelBase(n) + 0x0c;
const ChannelConfiguration = (n: number): number => channelBase(n) + 0x10;

// Fields, docs/primecell.md, PL080 4.3.
const CONTROL_I = 0x8000_0000;
const CONTROL_DI = 1 << 27;
const CONTROL_SI = 1 << 26;
const SWIDTH_BYTE = 0 << 18;
const DWIDTH_WORD = 2 << 21;
const TRANSFER_SIZE_MASK = 0xfff;
const CONFIG_H = 1 << 18;
const CONFIG_ITC = 1 << 15;
const CONFIG_E = 1;
const FLOW_M2M_DMAC = 0 << 11;
const FLOW_M2P_DMAC = 1 << 11;
const DEST_PERIPHERAL_SHIFT = 6;

interface Board {
  bus: Bus;
  dmac: Pl080Model;
  ram: Ram;
  hal: Hal;
}

function board(options: { mapLinearMemory?: boolean } = {}): Board {
  const bus = new Bus();
  const dmac = new Pl080Model(bus, bus.clock);
  bus.map({ name: "dmac", base: DMAC, size: 0x1000, device: dmac, map: PL080_MAP });
  const ram = new Ram(RAM_SIZE);
  bus.map({ name: "ram", base: RAM, size: RAM_SIZE, device: ram });
  const hal = new Hal(bus);
  if (options.mapLinearMemory ?? true) {
    bus.map({ name: "linear", base: LINEAR, size: hal.memory.buffer.byteLength, device: new LinearMemoryRam(() => hal.memory.buffer) });
    expect(hal.call("pl080_set_memory_address", LINEAR)).toBe(OK);
  }
  return { bus, dmac, ram, hal };
}

function initialized(options: { mapLinearMemory?: boolean } = {}): Board {
  const b = board(options);
  expect(b.hal.call("pl080_init", DMAC)).toBe(OK);
  return b;
}

/** A recognisable byte pattern. */
function fill(bytes: Uint8Array, from: number, length: number, seed: number): void {
  for (let i = 0; i < length; i++) bytes[from + i] = (seed + i * 7) & 0xff;
}

/** The entries made during the calls at `from`.. of the trace (all when omitted). */
function entriesOf(bus: Bus, fromCall = 0): TraceEntry[] {
  const call = bus.trace.calls[fromCall];
  return [...bus.trace.entries(call === undefined ? 0 : call.start)];
}

const dmaEntries = (entries: TraceEntry[]): TraceEntry[] => entries.filter((e) => (e.flags & FLAG_DMA) !== 0);
const cpuEntries = (entries: TraceEntry[]): TraceEntry[] => entries.filter((e) => (e.flags & FLAG_DMA) === 0);
/** DMA data accesses as a string: R or W per access. */
const pattern = (entries: TraceEntry[]): string => dmaEntries(entries).map((e) => (e.op === OP_READ ? "R" : "W")).join("");
const inside = (addr: number, base: number, size: number): boolean => addr >= base && addr < base + size;

// ---------------------------------------------------------------------------------------------
// Fake peripherals

/** A transmit FIFO (as a UART's): `depth` places, one byte leaves every `byteNs`. It asks for
 * data while it has room: SREQ for one free place, BREQ too when a whole burst fits. A write to
 * a full FIFO is counted as an overflow and lost. Its data register is at offset 0. */
class FifoSink implements Device, DmaRequester {
  private readonly shifted: number[] = [];
  readonly fifo: number[] = [];
  overflows = 0;
  clears = 0;
  accepting = true;
  private drainedUntil: number;

  constructor(private readonly clock: VirtualClock, readonly depth: number, readonly burst: number, readonly byteNs: number) {
    this.drainedUntil = clock.now;
  }

  private update(): void {
    if (this.fifo.length === 0) {
      this.drainedUntil = this.clock.now;
      return;
    }
    while (this.fifo.length > 0 && this.clock.now - this.drainedUntil >= this.byteNs) {
      this.shifted.push(this.fifo.shift()!);
      this.drainedUntil += this.byteNs;
    }
    if (this.fifo.length === 0) this.drainedUntil = this.clock.now;
  }

  /** The bytes sent on the line by now. */
  sent(): number[] {
    this.update();
    return [...this.shifted];
  }

  read(): number {
    this.update();
    return this.fifo.length;
  }

  write(offset: number, value: number): void {
    this.update();
    if (offset !== 0) return;
    if (this.fifo.length >= this.depth) this.overflows++;
    else this.fifo.push(value & 0xff);
  }

  dmaRequests(direction: DmaDirection): number {
    if (direction !== "tx" || !this.accepting) return 0;
    this.update();
    const room = this.depth - this.fifo.length;
    if (room >= this.burst) return DMA_SREQ | DMA_BREQ;
    return room >= 1 ? DMA_SREQ : 0;
  }

  dmaClear(): void {
    this.clears++;
  }
}

/** A receiver that gets `message` one byte every `byteNs` and, as the flow controller, marks
 * the last byte with LSREQ. A read of offset 0 takes the oldest byte received. */
class MessageSource implements Device, DmaRequester {
  private taken = 0;
  underruns = 0;
  private readonly start: number;

  constructor(private readonly clock: VirtualClock, readonly message: readonly number[], readonly byteNs: number) {
    this.start = clock.now;
  }

  private get available(): number {
    const arrived = Math.min(this.message.length, Math.floor((this.clock.now - this.start) / this.byteNs));
    return arrived - this.taken;
  }

  read(): number {
    if (this.available === 0) {
      this.underruns++;
      return 0;
    }
    return this.message[this.taken++]!;
  }

  write(): void {}

  dmaRequests(direction: DmaDirection): number {
    if (direction !== "rx" || this.available === 0) return 0;
    return this.taken === this.message.length - 1 ? DMA_SREQ | DMA_LSREQ : DMA_SREQ;
  }
}

// ---------------------------------------------------------------------------------------------

describe("PL080 registers after reset (docs/primecell.md 4.1, 4.2, 4.5)", () => {
  const ids: [string, number, number][] = [
    ["PeriphID0", 0xfe0, 0x80], ["PeriphID1", 0xfe4, 0x10], ["PeriphID2", 0xfe8, 0x04], ["PeriphID3", 0xfec, 0x0a],
    ["PCellID0", 0xff0, 0x0d], ["PCellID1", 0xff4, 0xf0], ["PCellID2", 0xff8, 0x05], ["PCellID3", 0xffc, 0xb1],
  ];
  it.each(ids)("%s at 0x%s reads its ID byte", (_name, offset, value) => {
    const { bus } = board();
    expect(bus.read(DMAC + offset, 4)).toBe(value);
  });

  it("identifies as an ARM PL080 with 8 channels, 2 AHB masters and 16 request lines", () => {
    const { bus } = board();
    const word = (offsets: number[]): number => offsets.reduce((acc, off, i) => (acc | (bus.read(DMAC + off, 4) << (8 * i))) >>> 0, 0);
    expect(word([0xff0, 0xff4, 0xff8, 0xffc])).toBe(0xb105f00d);
    const id = word([0xfe0, 0xfe4, 0xfe8, 0xfec]);
    // Linux amba-pl08x matches 0x00041080 under mask 0x000fffff.
    expect(id & 0x000fffff).toBe(0x00041080);
    // PeriphID3 decoding of DDI0196G Table 3-28 (through MUTEKH).
    const configuration = id >>> 24;
    expect(2 << (configuration & 7)).toBe(8);
    expect(((configuration >> 3) & 1) + 1).toBe(2);
    expect(configuration & 0x80 ? 32 : 16).toBe(16);
  });

  it("reads 0 from every status, request, configuration and channel register", () => {
    const { bus } = board();
    const offsets = [IntStatus, IntTCStatus, IntErrorStatus, RawIntTCStatus, RawIntErrorStatus, EnbldChns,
      0x020, 0x024, 0x028, 0x02c, Configuration, 0x034];
    for (let n = 0; n < 8; n++) offsets.push(SrcAddr(n), DestAddr(n), LLI(n), Control(n), ChannelConfiguration(n));
    for (const offset of offsets) expect([offset, bus.read(DMAC + offset, 4)]).toEqual([offset, 0]);
  });

  it("lays the eight channels out with a stride of 0x20 from 0x100 in the register map", () => {
    const names = ["SrcAddr", "DestAddr", "LLI", "Control", "Configuration"];
    for (let n = 0; n < 8; n++) {
      names.forEach((name, i) => {
        const reg = PL080_MAP.registers.find((r) => r.name === `C${n}${name}`);
        expect([reg?.name, reg?.offset]).toEqual([`C${n}${name}`, 0x100 + 0x20 * n + 4 * i]);
      });
    }
    expect(PL080_MAP.registers.find((r) => r.name === "IntTCClear")).toMatchObject({ read: "undefined", write: "w1c" });
    expect(PL080_MAP.registers.find((r) => r.name === "EnbldChns")).toMatchObject({ read: "value", write: "ignored" });
  });
});

describe("pl080_init", () => {
  it("enables the controller, stops running channels by halting them first, and clears stale status", () => {
    const { bus, hal, dmac } = board();
    // A previous user left things behind: the controller on, channel 3 waiting on a peripheral
    // that never asks, channel 1 with terminal-count status, channel 2 with an error.
    const silent = new FifoSink(bus.clock, 4, 4, 1000);
    silent.accepting = false;
    bus.map({ name: "silent", base: PERIPHERAL, size: 0x1000, device: silent });
    dmac.connectRequest(5, silent, "tx");
    bus.write(DMAC + Configuration, 1, 4);
    bus.write(DMAC + SrcAddr(3), RAM, 4);
    bus.write(DMAC + DestAddr(3), PERIPHERAL, 4);
    bus.write(DMAC + Control(3), CONTROL_SI | 16, 4);
    bus.write(DMAC + ChannelConfiguration(3), FLOW_M2P_DMAC | (5 << DEST_PERIPHERAL_SHIFT) | CONFIG_E, 4);
    for (const [channel, src] of [[1, RAM], [2, NOWHERE]] as const) {
      bus.write(DMAC + SrcAddr(channel), src, 4);
      bus.write(DMAC + DestAddr(channel), RAM + 0x100, 4);
      bus.write(DMAC + Control(channel), CONTROL_I | CONTROL_SI | CONTROL_DI | 4, 4);
      bus.write(DMAC + ChannelConfiguration(channel), CONFIG_E, 4);
    }
    bus.settle(1000);
    expect(bus.read(DMAC + RawIntTCStatus, 4)).toBe(0b010);
    expect(bus.read(DMAC + RawIntErrorStatus, 4)).toBe(0b100);
    expect(bus.read(DMAC + EnbldChns, 4)).toBe(0b1000);

    const call = bus.trace.calls.length;
    expect(hal.call("pl080_init", DMAC)).toBe(OK);
    expect(bus.read(DMAC + Configuration, 4)).toBe(1);
    expect(bus.read(DMAC + EnbldChns, 4)).toBe(0);
    expect(bus.read(DMAC + RawIntTCStatus, 4)).toBe(0);
    expect(bus.read(DMAC + RawIntErrorStatus, 4)).toBe(0);
    // docs/primecell.md, PL080 4.6 "Stop": H set, A polled, then E cleared.
    const writes = cpuEntries(entriesOf(bus, call)).filter((e) => e.op === OP_WRITE && e.addr === DMAC + ChannelConfiguration(3));
    expect(writes.map((e) => e.value & (CONFIG_H | CONFIG_E))).toEqual([CONFIG_H | CONFIG_E, 0]);
  });
});

describe("memory to memory", () => {
  it("copies a buffer in RAM and changes nothing outside the destination", () => {
    const { bus, hal, ram } = initialized();
    fill(ram.bytes, 0x100, 256, 3);
    fill(ram.bytes, 0x1000 - 16, 256 + 32, 0x55); // guard bytes around the destination
    const expected = ram.bytes.slice();
    expected.copyWithin(0x1000, 0x100, 0x100 + 256);

    expect(hal.call("pl080_memcpy", DMAC, 0, RAM + 0x100, RAM + 0x1000, 256, 0)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 0)).toBe(OK);
    expect(Buffer.from(ram.bytes).equals(Buffer.from(expected))).toBe(true);
    expect(bus.read(DMAC + EnbldChns, 4)).toBe(0);
  });

  it("marks the DMA master's accesses apart from the CPU's in the trace", () => {
    const { bus, hal, ram } = initialized();
    fill(ram.bytes, 0x200, 64, 9);
    const firstCall = bus.trace.calls.length;
    expect(hal.call("pl080_memcpy", DMAC, 0, RAM + 0x200, RAM + 0x800, 64, 0)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 0)).toBe(OK);
    const entries = entriesOf(bus, firstCall);
    // The CPU only touches the DMAC's registers (and issues barriers); it never copies data.
    for (const e of cpuEntries(entries)) {
      if (e.op !== OP_BARRIER) expect(inside(e.addr, DMAC, 0x1000)).toBe(true);
    }
    // The DMA master reads the source and writes the destination, word by word (the default
    // width for word-aligned addresses and length): 16 reads and 16 writes.
    const dma = dmaEntries(entries);
    expect(dma.filter((e) => e.op === OP_READ).map((e) => e.addr)).toEqual(Array.from({ length: 16 }, (_, i) => RAM + 0x200 + 4 * i));
    expect(dma.filter((e) => e.op === OP_WRITE).map((e) => e.addr)).toEqual(Array.from({ length: 16 }, (_, i) => RAM + 0x800 + 4 * i));
    expect(dma.every((e) => e.width === 4)).toBe(true);
  });

  it("moves bytes one at a time with single transfers: read, write, read, write", () => {
    const { bus, hal, ram } = initialized();
    fill(ram.bytes, 0, 8, 1);
    const firstCall = bus.trace.calls.length;
    expect(hal.call("pl080_memcpy", DMAC, 0, RAM, RAM + 0x100, 8, PL080_CONFIG_WIDTH_BYTE)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 0)).toBe(OK);
    const entries = entriesOf(bus, firstCall);
    expect(pattern(entries)).toBe("RW".repeat(8));
    expect(dmaEntries(entries).every((e) => e.width === 1)).toBe(true);
    expect(Array.from(ram.bytes.slice(0x100, 0x108))).toEqual(Array.from(ram.bytes.slice(0, 8)));
  });

  it("groups transfers in bursts of four on both sides", () => {
    const { bus, hal, ram } = initialized();
    fill(ram.bytes, 0, 32, 2);
    let firstCall = bus.trace.calls.length;
    expect(hal.call("pl080_memcpy", DMAC, 0, RAM, RAM + 0x100, 16, PL080_CONFIG_WIDTH_BYTE | PL080_CONFIG_BURST_4)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 0)).toBe(OK);
    expect(pattern(entriesOf(bus, firstCall))).toBe("RRRRWWWW".repeat(4));

    firstCall = bus.trace.calls.length;
    expect(hal.call("pl080_memcpy", DMAC, 0, RAM, RAM + 0x200, 32, PL080_CONFIG_WIDTH_WORD | PL080_CONFIG_BURST_4)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 0)).toBe(OK);
    expect(pattern(entriesOf(bus, firstCall))).toBe("RRRRWWWW".repeat(2));
    expect(Array.from(ram.bytes.slice(0x200, 0x220))).toEqual(Array.from(ram.bytes.slice(0, 32)));
  });

  it("uses halfwords when the addresses are only halfword-aligned", () => {
    const { bus, hal, ram } = initialized();
    fill(ram.bytes, 0x12, 12, 4);
    const firstCall = bus.trace.calls.length;
    expect(hal.call("pl080_memcpy", DMAC, 0, RAM + 0x12, RAM + 0x106, 12, 0)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 0)).toBe(OK);
    const dma = dmaEntries(entriesOf(bus, firstCall));
    expect(dma.length).toBe(12);
    expect(dma.every((e) => e.width === 2)).toBe(true);
    expect(Array.from(ram.bytes.slice(0x106, 0x112))).toEqual(Array.from(ram.bytes.slice(0x12, 0x1e)));
  });

  it("packs bytes read from the source into words written to the destination (little-endian)", () => {
    const { bus, ram } = board();
    ram.bytes.set([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88], 0);
    bus.write(DMAC + Configuration, 1, 4);
    bus.write(DMAC + SrcAddr(0), RAM, 4);
    bus.write(DMAC + DestAddr(0), RAM + 0x40, 4);
    bus.write(DMAC + Control(0), CONTROL_SI | CONTROL_DI | SWIDTH_BYTE | DWIDTH_WORD | 8, 4);
    const from = bus.trace.length;
    bus.write(DMAC + ChannelConfiguration(0), FLOW_M2M_DMAC | CONFIG_E, 4);
    bus.settle(1000);
    const dma = dmaEntries([...bus.trace.entries(from)]);
    expect(dma.map((e) => `${e.op === OP_READ ? "R" : "W"}${e.width}`).join(" ")).toBe("R1 R1 R1 R1 W4 R1 R1 R1 R1 W4");
    expect(bus.read(RAM + 0x40, 4)).toBe(0x44332211);
    expect(bus.read(RAM + 0x44, 4)).toBe(0x88776655);
  });

  it("gives channel 0 the bus before channel 1 when both start together", () => {
    const { bus, ram } = board();
    fill(ram.bytes, 0, 64, 5);
    for (const n of [1, 0]) {
      bus.write(DMAC + SrcAddr(n), RAM + 0x100 * n, 4);
      bus.write(DMAC + DestAddr(n), RAM + 0x1000 + 0x100 * n, 4);
      bus.write(DMAC + Control(n), CONTROL_SI | CONTROL_DI | (2 << 18) | (2 << 21) | 8, 4);
      bus.write(DMAC + ChannelConfiguration(n), CONFIG_E, 4);
    }
    const from = bus.trace.length;
    bus.write(DMAC + Configuration, 1, 4); // both channels become able to run at the same time
    bus.settle(10_000);
    const owners = dmaEntries([...bus.trace.entries(from)]).map((e) => ((e.addr - RAM) & 0x100 ? 1 : 0));
    expect(owners.join("")).toBe("0".repeat(16) + "1".repeat(16));
  });

  it("reports the source transfers still to do in TransferSize while a peripheral holds the channel", () => {
    const { bus, hal, dmac } = initialized();
    const sink = new FifoSink(bus.clock, 5, 4, 1e9); // room for 5 bytes, then none for a long time
    bus.map({ name: "sink", base: PERIPHERAL, size: 0x1000, device: sink });
    dmac.connectRequest(2, sink, "tx");
    expect(hal.call("pl080_mem_to_periph", DMAC, 0, RAM, PERIPHERAL, 16, 2, 0)).toBe(OK);
    bus.settle(10_000);
    expect(sink.fifo.length).toBe(5);
    expect(bus.read(DMAC + Control(0), 4) & TRANSFER_SIZE_MASK).toBe(16 - 5);
    expect(bus.read(DMAC + SrcAddr(0), 4)).toBe(RAM + 5);
    expect(bus.read(DMAC + DestAddr(0), 4)).toBe(PERIPHERAL);
    expect(bus.read(DMAC + EnbldChns, 4)).toBe(1);
  });
});

describe("linked lists", () => {
  /** Writes pl080_sg entries (src, dst, len) at the scratch buffer; returns its address. */
  function sgList(hal: Hal, entries: readonly (readonly [number, number, number])[]): number {
    const words = new Uint32Array(entries.flat());
    return hal.writeBytes(new Uint8Array(words.buffer));
  }

  it("gathers three buffers through three linked-list items, fetched from linear memory by the DMA master", () => {
    const { bus, hal, ram } = initialized();
    fill(ram.bytes, 0x000, 0x400, 11);
    const items = [[RAM + 0x000, RAM + 0x2000, 16], [RAM + 0x100, RAM + 0x2010, 40], [RAM + 0x300, RAM + 0x2100, 100]] as const;
    const expected = ram.bytes.slice();
    for (const [src, dst, len] of items) expected.copyWithin(dst - RAM, src - RAM, src - RAM + len);
    const list = sgList(hal, items);
    const firstCall = bus.trace.calls.length;
    expect(hal.call("pl080_sg", DMAC, 4, list, 3, 0)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 4)).toBe(OK);
    expect(Buffer.from(ram.bytes).equals(Buffer.from(expected))).toBe(true);

    const entries = entriesOf(bus, firstCall);
    // The CPU writes the first item into the registers (docs/primecell.md, PL080 4.4) ...
    const cpuWrite = (offset: number): number => cpuEntries(entries).find((e) => e.op === OP_WRITE && e.addr === DMAC + offset)!.value;
    expect([cpuWrite(SrcAddr(4)), cpuWrite(DestAddr(4))]).toEqual([RAM, RAM + 0x2000]);
    expect((cpuWrite(Control(4)) & TRANSFER_SIZE_MASK) >>> 0).toBe(16 / 4);
    expect(cpuWrite(Control(4)) & CONTROL_I).toBe(0);
    // ... and the DMA master fetches the other two, four words each, from linear memory.
    const fetches = dmaEntries(entries).filter((e) => inside(e.addr, LINEAR, hal.memory.buffer.byteLength));
    expect(fetches.length).toBe(8);
    expect(fetches.every((e) => e.op === OP_READ && e.width === 4)).toBe(true);
    expect(fetches[0]!.addr).toBe(cpuWrite(LLI(4)));
    const second = fetches.slice(0, 4).map((e) => e.value);
    const third = fetches.slice(4, 8).map((e) => e.value);
    expect(second.slice(0, 2)).toEqual([RAM + 0x100, RAM + 0x2010]);
    expect(fetches[4]!.addr).toBe(second[2]);
    expect(third.slice(0, 3)).toEqual([RAM + 0x300, RAM + 0x2100, 0]);
    // Terminal count only at the end of the chain.
    expect(second[3]! & CONTROL_I).toBe(0);
    expect((third[3]! & CONTROL_I) >>> 0).toBe(CONTROL_I);
    expect(third[3]! & TRANSFER_SIZE_MASK).toBe(100 / 4);
  });

  it("splits a copy of more than 4095 transfers into chained items", () => {
    const { bus, hal, ram } = initialized();
    fill(ram.bytes, 0, 5000, 13);
    const firstCall = bus.trace.calls.length;
    expect(hal.call("pl080_memcpy", DMAC, 1, RAM, RAM + 0x8000, 5000, PL080_CONFIG_WIDTH_BYTE)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 1)).toBe(OK);
    expect(Buffer.from(ram.bytes.subarray(0x8000, 0x8000 + 5000)).equals(Buffer.from(ram.bytes.subarray(0, 5000)))).toBe(true);
    const entries = entriesOf(bus, firstCall);
    const first = cpuEntries(entries).find((e) => e.op === OP_WRITE && e.addr === DMAC + Control(1))!;
    expect(first.value & TRANSFER_SIZE_MASK).toBe(4095);
    const fetched = dmaEntries(entries).filter((e) => inside(e.addr, LINEAR, hal.memory.buffer.byteLength));
    expect(fetched.map((e) => e.value)).toEqual([RAM + 4095, RAM + 0x8000 + 4095, 0, expect.any(Number)]);
    expect(fetched[3]!.value & TRANSFER_SIZE_MASK).toBe(5000 - 4095);
  });

  it("refuses a chain when the board has not said where linear memory is, but runs a single item", () => {
    const { hal, ram } = initialized({ mapLinearMemory: false });
    fill(ram.bytes, 0, 64, 17);
    expect(hal.call("pl080_memcpy", DMAC, 0, RAM, RAM + 0x8000, 5000, PL080_CONFIG_WIDTH_BYTE)).toBe(ERR_INVALID_ARG);
    expect(hal.call("pl080_memcpy", DMAC, 0, RAM, RAM + 0x100, 64, 0)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 0)).toBe(OK);
    expect(Array.from(ram.bytes.slice(0x100, 0x140))).toEqual(Array.from(ram.bytes.slice(0, 64)));
  });
});

describe("interrupts and completion", () => {
  it("raises terminal count on DMACINTTC when the channel passes it, and pl080_wait clears it", () => {
    const { bus, hal, dmac } = initialized();
    expect(hal.call("pl080_memcpy", DMAC, 2, RAM, RAM + 0x100, 32, PL080_CONFIG_IRQ)).toBe(OK);
    bus.settle(10_000);
    expect(bus.read(DMAC + RawIntTCStatus, 4)).toBe(1 << 2);
    expect(bus.read(DMAC + IntTCStatus, 4)).toBe(1 << 2);
    expect(bus.read(DMAC + IntStatus, 4)).toBe(1 << 2);
    expect(dmac.tcInterruptPending()).toBe(true);
    expect(dmac.interruptPending()).toBe(true);
    expect(hal.call("pl080_wait", DMAC, 2)).toBe(OK);
    expect(bus.read(DMAC + RawIntTCStatus, 4)).toBe(0);
    expect(dmac.interruptPending()).toBe(false);
  });

  it("keeps DMACINTTC low when the channel masks terminal count, with the raw status still set", () => {
    const { bus, hal, dmac } = initialized();
    expect(hal.call("pl080_memcpy", DMAC, 2, RAM, RAM + 0x100, 32, 0)).toBe(OK);
    bus.settle(10_000);
    expect(bus.read(DMAC + RawIntTCStatus, 4)).toBe(1 << 2);
    expect(bus.read(DMAC + IntTCStatus, 4)).toBe(0);
    expect(dmac.interruptPending()).toBe(false);
  });

  it("stops the channel with an error when the source is in no region: pl080_wait returns ERR_DMA", () => {
    const { bus, hal, dmac } = initialized();
    expect(hal.call("pl080_memcpy", DMAC, 3, NOWHERE, RAM + 0x100, 32, PL080_CONFIG_IRQ)).toBe(OK);
    bus.settle(10_000);
    expect(bus.read(DMAC + RawIntErrorStatus, 4)).toBe(1 << 3);
    expect(bus.read(DMAC + IntErrorStatus, 4)).toBe(1 << 3);
    expect(dmac.errorInterruptPending()).toBe(true);
    expect(bus.read(DMAC + EnbldChns, 4)).toBe(0);
    const fault = dmaEntries(entriesOf(bus)).find((e) => (e.flags & FLAG_FAULT) !== 0);
    expect(fault).toMatchObject({ op: OP_READ, addr: NOWHERE });

    expect(hal.call("pl080_wait", DMAC, 3)).toBe(ERR_DMA);
    expect(bus.read(DMAC + RawIntErrorStatus, 4)).toBe(0);
    expect(dmac.interruptPending()).toBe(false);
  });

  it("times out, distinctly from an error, on a channel whose peripheral never asks; pl080_stop ends it", () => {
    const { bus, hal, dmac } = initialized();
    const silent = new FifoSink(bus.clock, 4, 4, 1000);
    silent.accepting = false;
    bus.map({ name: "silent", base: PERIPHERAL, size: 0x1000, device: silent });
    dmac.connectRequest(7, silent, "tx");
    expect(hal.call("pl080_mem_to_periph", DMAC, 6, RAM, PERIPHERAL, 16, 7, 0)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 6)).toBe(ERR_TIMEOUT);
    expect(ERR_TIMEOUT).not.toBe(ERR_DMA);
    expect(bus.read(DMAC + EnbldChns, 4)).toBe(1 << 6);
    expect(bus.read(DMAC + RawIntErrorStatus, 4)).toBe(0);
    // Still running: another start on the channel is refused without touching its registers.
    const call = bus.trace.calls.length;
    expect(hal.call("pl080_memcpy", DMAC, 6, RAM, RAM + 0x100, 16, 0)).toBe(ERR_BUSY);
    expect(entriesOf(bus, call).filter((e) => e.op === OP_WRITE)).toEqual([]);
    expect(hal.call("pl080_stop", DMAC, 6)).toBe(OK);
    expect(bus.read(DMAC + EnbldChns, 4)).toBe(0);
    expect(silent.fifo.length).toBe(0);
  });
});

describe("the barrier before the channel starts", () => {
  /** A bus that notes when the module changed its linear memory: before each access it compares
   * linear memory with a copy taken after the previous one. DMA writes happen inside an access
   * and are part of the copy, so only the module's own stores (and the host's) are noticed. */
  class StoreWatchingBus extends Bus {
    memory: WebAssembly.Memory | undefined;
    /** Trace index of the first access made after the latest store into linear memory. */
    lastStoreBefore = -1;
    private copy = new Uint8Array(0);

    private look(): void {
      if (this.memory === undefined) return;
      const now = new Uint8Array(this.memory.buffer);
      if (!Buffer.from(now).equals(Buffer.from(this.copy))) this.lastStoreBefore = this.trace.length;
    }

    private keep(): void {
      if (this.memory !== undefined) this.copy = new Uint8Array(this.memory.buffer).slice();
    }

    override read(addr: number, width: number): number {
      this.look();
      const value = super.read(addr, width);
      this.keep();
      return value;
    }

    override write(addr: number, value: number, width: number): void {
      this.look();
      super.write(addr, value, width);
      this.keep();
    }

    override barrier(kind: number): void {
      this.look();
      super.barrier(kind);
      this.keep();
    }
  }

  /** Throws unless a DSB stands between the latest store into linear memory (LLIs, buffers) and
   * the write that sets E in channel `channel`'s Configuration. */
  function expectDsbBeforeEnable(entries: readonly TraceEntry[], lastStoreBefore: number, channel: number): void {
    const enable = entries.find((e) => e.op === OP_WRITE && (e.flags & FLAG_DMA) === 0
      && e.addr === DMAC + ChannelConfiguration(channel) && (e.value & CONFIG_E) !== 0);
    if (enable === undefined) throw new Error(`no write sets E in channel ${channel}'s Configuration`);
    if (lastStoreBefore < 0 || lastStoreBefore > enable.seq) throw new Error("no store into linear memory before the enabling write");
    const dsb = entries.find((e) => e.op === OP_BARRIER && e.value === 1 && e.seq >= lastStoreBefore && e.seq < enable.seq);
    if (dsb === undefined) {
      throw new Error(`no DSB between the last store into linear memory (before #${lastStoreBefore}) and the enabling write #${enable.seq}`);
    }
  }

  function watchedBoard(): { bus: StoreWatchingBus; hal: Hal; ram: Ram } {
    const bus = new StoreWatchingBus();
    const dmac = new Pl080Model(bus, bus.clock);
    bus.map({ name: "dmac", base: DMAC, size: 0x1000, device: dmac, map: PL080_MAP });
    const ram = new Ram(RAM_SIZE);
    bus.map({ name: "ram", base: RAM, size: RAM_SIZE, device: ram });
    const hal = new Hal(bus);
    bus.map({ name: "linear", base: LINEAR, size: hal.memory.buffer.byteLength, device: new LinearMemoryRam(() => hal.memory.buffer) });
    bus.memory = hal.memory;
    expect(hal.call("pl080_set_memory_address", LINEAR)).toBe(OK);
    expect(hal.call("pl080_init", DMAC)).toBe(OK);
    return { bus, hal, ram };
  }

  it("issues a DSB after writing the linked-list items and before the write that sets E", () => {
    const { bus, hal, ram } = watchedBoard();
    fill(ram.bytes, 0, 5000, 19);
    const call = bus.trace.calls.length;
    expect(hal.call("pl080_memcpy", DMAC, 0, RAM, RAM + 0x8000, 5000, PL080_CONFIG_WIDTH_BYTE)).toBe(OK);
    const entries = entriesOf(bus, call);
    // The items were written during the call, after its first register access.
    expect(bus.lastStoreBefore).toBeGreaterThan(bus.trace.calls[call]!.start);
    expectDsbBeforeEnable(entries, bus.lastStoreBefore, 0);
    expect(hal.call("pl080_wait", DMAC, 0)).toBe(OK);
  });

  it("covers a buffer the host filled in linear memory just before the call", () => {
    const { bus, hal } = watchedBoard();
    const buffer = hal.writeBytes([1, 2, 3, 4, 5, 6, 7, 8]);
    const call = bus.trace.calls.length;
    expect(hal.call("pl080_memcpy", DMAC, 1, LINEAR + buffer, RAM, 8, 0)).toBe(OK);
    expectDsbBeforeEnable(entriesOf(bus, call), bus.lastStoreBefore, 1);
    expect(hal.call("pl080_wait", DMAC, 1)).toBe(OK);
    expect(bus.read(RAM, 4)).toBe(0x04030201);
  });

  it("is caught missing: the same trace with its barriers removed fails the check", () => {
    const { bus, hal, ram } = watchedBoard();
    fill(ram.bytes, 0, 256, 23);
    const call = bus.trace.calls.length;
    expect(hal.call("pl080_memcpy", DMAC, 0, RAM, RAM + 0x400, 256, 0)).toBe(OK);
    const entries = entriesOf(bus, call);
    expect(() => expectDsbBeforeEnable(entries, bus.lastStoreBefore, 0)).not.toThrow();
    const withoutBarrier = entries.filter((e) => e.op !== OP_BARRIER);
    expect(() => expectDsbBeforeEnable(withoutBarrier, bus.lastStoreBefore, 0)).toThrow(/no DSB between/);
    // A DMB in its place is not enough either.
    const withDmb = entries.map((e) => (e.op === OP_BARRIER ? { ...e, value: 0 } : e));
    expect(() => expectDsbBeforeEnable(withDmb, bus.lastStoreBefore, 0)).toThrow(/no DSB between/);
  });
});

describe("peripheral transfers", () => {
  it("feeds a transmit FIFO as fast as it drains, in bursts when a burst fits, never overflowing it", () => {
    const { bus, hal, dmac, ram } = initialized();
    const sink = new FifoSink(bus.clock, 8, 4, 2000);
    bus.map({ name: "sink", base: PERIPHERAL, size: 0x1000, device: sink });
    dmac.connectRequest(9, sink, "tx");
    fill(ram.bytes, 0x40, 64, 29);
    const firstCall = bus.trace.calls.length;
    expect(hal.call("pl080_mem_to_periph", DMAC, 5, RAM + 0x40, PERIPHERAL, 64, 9, PL080_CONFIG_BURST_4)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 5)).toBe(OK);
    bus.settle(8 * 2000);
    expect(sink.sent()).toEqual(Array.from(ram.bytes.slice(0x40, 0x80)));
    expect(sink.overflows).toBe(0);
    expect(sink.clears).toBeGreaterThan(0);
    const writes = dmaEntries(entriesOf(bus, firstCall)).filter((e) => e.op === OP_WRITE);
    // The destination does not increment: every byte goes to the data register.
    expect(writes.length).toBe(64);
    expect(writes.every((e) => e.addr === PERIPHERAL && e.width === 1)).toBe(true);
    // Never more than a burst of writes without a read between (one request at a time).
    expect(Math.max(...pattern(entriesOf(bus, firstCall)).split("R").map((run) => run.length))).toBeLessThanOrEqual(4);
  });

  it("lets a receiver end the transfer with a last request when it is the flow controller", () => {
    const { bus, hal, dmac, ram } = initialized();
    const message = [0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x2c, 0x20, 0x44, 0x4d, 0x41];
    const source = new MessageSource(bus.clock, message, 1500);
    bus.map({ name: "receiver", base: PERIPHERAL, size: 0x1000, device: source });
    dmac.connectRequest(4, source, "rx");
    ram.bytes.fill(0xee, 0x600, 0x640);
    expect(hal.call("pl080_periph_to_mem", DMAC, 0, PERIPHERAL, RAM + 0x600, 64, 4, PL080_CONFIG_PERIPH_FLOW)).toBe(OK);
    expect(hal.call("pl080_wait", DMAC, 0)).toBe(OK);
    expect(Array.from(ram.bytes.slice(0x600, 0x600 + message.length))).toEqual(message);
    expect(Array.from(ram.bytes.slice(0x600 + message.length, 0x640)).every((b) => b === 0xee)).toBe(true);
    expect(source.underruns).toBe(0);
    expect(bus.read(DMAC + DestAddr(0), 4)).toBe(RAM + 0x600 + message.length);
  });

  it("serves a software single request on a line no peripheral drives, then clears it", () => {
    const { bus, dmac } = board();
    const sink = new FifoSink(bus.clock, 16, 4, 1e9);
    bus.map({ name: "sink", base: PERIPHERAL, size: 0x1000, device: sink });
    sink.accepting = false; // not connected anyway: only software requests reach line 12
    bus.write(RAM, 0x5a, 1);
    bus.write(DMAC + Configuration, 1, 4);
    bus.write(DMAC + SrcAddr(0), RAM, 4);
    bus.write(DMAC + DestAddr(0), PERIPHERAL, 4);
    bus.write(DMAC + Control(0), CONTROL_SI | 3, 4);
    bus.write(DMAC + ChannelConfiguration(0), FLOW_M2P_DMAC | (12 << DEST_PERIPHERAL_SHIFT) | CONFIG_E, 4);
    bus.settle(1000);
    expect(sink.fifo).toEqual([]);
    bus.write(DMAC + SoftSReq, 1 << 12, 4);
    // Pending until the engine runs, which the next access or a settle lets it do.
    expect(dmac.softSingle).toBe(1 << 12);
    bus.settle(1000);
    expect(sink.fifo).toEqual([0x5a]);
    expect(bus.read(DMAC + SoftSReq, 4)).toBe(0);
    expect(bus.read(DMAC + Control(0), 4) & TRANSFER_SIZE_MASK).toBe(2);
  });
});

describe("arguments the driver refuses before touching a register", () => {
  const cases: [string, string, number[]][] = [
    ["a channel above 7", "pl080_memcpy", [DMAC, 8, RAM, RAM + 0x100, 16, 0]],
    ["a length of 0", "pl080_memcpy", [DMAC, 0, RAM, RAM + 0x100, 0, 0]],
    ["a word copy from a source that is not word-aligned", "pl080_memcpy", [DMAC, 0, RAM + 2, RAM + 0x100, 16, PL080_CONFIG_WIDTH_WORD]],
    ["a halfword copy of an odd length", "pl080_memcpy", [DMAC, 0, RAM, RAM + 0x100, 15, PL080_CONFIG_WIDTH_HALFWORD]],
    ["a reserved config bit", "pl080_memcpy", [DMAC, 0, RAM, RAM + 0x100, 16, 0x200]],
    ["peripheral flow control for a memory copy", "pl080_memcpy", [DMAC, 0, RAM, RAM + 0x100, 16, PL080_CONFIG_PERIPH_FLOW]],
    ["a destination that wraps past 4 GiB", "pl080_memcpy", [DMAC, 0, RAM, 0xffff_ff00, 0x200, 0]],
    ["a copy longer than 32 items of 4095 transfers", "pl080_memcpy", [DMAC, 0, RAM, RAM, 32 * 4095 + 1, PL080_CONFIG_WIDTH_BYTE]],
    ["an unaligned controller base", "pl080_memcpy", [DMAC + 2, 0, RAM, RAM + 0x100, 16, 0]],
    ["request line 16", "pl080_mem_to_periph", [DMAC, 0, RAM, PERIPHERAL, 16, 16, 0]],
    ["a halfword peripheral register at an odd address", "pl080_periph_to_mem", [DMAC, 0, PERIPHERAL + 1, RAM, 16, 0, PL080_CONFIG_WIDTH_HALFWORD]],
    ["an empty scatter-gather list", "pl080_sg", [DMAC, 0, 0x100, 0, 0]],
    ["a scatter-gather list of 33 entries", "pl080_sg", [DMAC, 0, 0x100, 33, 0]],
    ["a scatter-gather list outside linear memory", "pl080_sg", [DMAC, 0, 0xffff_fff0, 2, 0]],
    ["waiting on channel 8", "pl080_wait", [DMAC, 8]],
    ["stopping channel 8", "pl080_stop", [DMAC, 8]],
    ["an unaligned base to init", "pl080_init", [DMAC + 1]],
    ["linear memory at an unaligned bus address", "pl080_set_memory_address", [LINEAR + 2]],
    ["linear memory that would reach past 4 GiB", "pl080_set_memory_address", [0xffff_0004]],
  ];
  it.each(cases)("%s", (_what, name, args) => {
    const { bus, hal } = board();
    const call = bus.trace.calls.length;
    expect(hal.call(name, ...args)).toBe(ERR_INVALID_ARG);
    const record = bus.trace.calls[call]!;
    expect(record.end - record.start).toBe(0);
  });

  it("refuses a scatter-gather entry of length 0 among valid ones", () => {
    const { bus, hal } = board();
    const list = hal.writeBytes(new Uint8Array(new Uint32Array([RAM, RAM + 0x100, 16, RAM + 0x20, RAM + 0x200, 0]).buffer));
    const call = bus.trace.calls.length;
    expect(hal.call("pl080_sg", DMAC, 0, list, 2, 0)).toBe(ERR_INVALID_ARG);
    expect(bus.trace.calls[call]!.end - bus.trace.calls[call]!.start).toBe(0);
  });
});
