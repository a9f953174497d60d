// The bus behind the three imports: the checks every access passes, the clock, the access budget
// and other bus masters.
import { describe, expect, it } from "vitest";
import { AccessBudgetExceeded, Bus, BusFault, type BusMaster, type Device } from "../harness/bus.js";
import { FLAG_DMA, FLAG_FAULT, OP_READ, OP_WRITE } from "../harness/trace.js";
import { PL011_MAP } from "../harness/generated/pl011.js";

/** A register file that answers every read with a fixed 32-bit pattern and keeps writes. */
class Pattern implements Device {
  writes: [number, number, number][] = [];
  read(): number {
    return 0xa5b6c7d8;
  }
  write(offset: number, value: number, width: number): void {
    this.writes.push([offset, value, width]);
  }
}

function uartBus() {
  const bus = new Bus();
  const device = new Pattern();
  bus.map({ name: "uart0", base: 0x101f1000, size: 0x1000, device, map: PL011_MAP });
  bus.map({ name: "ram", base: 0x20000000, size: 0x100, device: new Pattern() });
  return { bus, device };
}

describe("every access is checked before it reaches a device", () => {
  it.each([
    ["an address no region maps", () => uartBus().bus.read(0x30000000, 4), "unmapped", "read of 4 bytes at 0x30000000: no region maps this address"],
    ["an unaligned word", () => uartBus().bus.read(0x101f1002, 4), "unaligned", "read of 4 bytes at 0x101f1002: not aligned to 4 bytes"],
    ["a width of 3", () => uartBus().bus.write(0x20000000, 1, 3), "width", "write of 3 bytes at 0x20000000: width 3 is none of 1, 2, 4"],
    ["a byte write to CR, which takes words only", () => uartBus().bus.write(0x101f1030, 1, 1), "width", "write of 1 byte at 0x101f1030: uart0+0x030 (CR) does not accept 1-byte accesses"],
    ["the first word after a region", () => uartBus().bus.read(0x20000100, 4), "unmapped", "read of 4 bytes at 0x20000100: no region maps this address"],
  ] as const)("%s is a bus fault", (_what, access, kind, message) => {
    let fault: unknown;
    try {
      access();
    } catch (e) {
      fault = e;
    }
    expect(fault).toBeInstanceOf(BusFault);
    expect((fault as BusFault).kind).toBe(kind);
    expect((fault as BusFault).message).toBe(`bus fault: ${message}`);
  });

  it("records a refused access in the trace, with the value a write tried to store", () => {
    const { bus, device } = uartBus();
    expect(() => bus.write(0x101f1030, 0x301, 2)).toThrow(BusFault);
    expect(device.writes).toEqual([]);
    expect(bus.trace.entry(0)).toMatchObject({ op: OP_WRITE, flags: FLAG_FAULT, width: 2, addr: 0x101f1030, value: 0x301 });
  });

  it("zero-extends a narrow read to the bytes the bus carried, and passes the low bytes of a narrow write", () => {
    const { bus } = uartBus();
    expect(bus.read(0x20000000, 1)).toBe(0xd8);
    expect(bus.read(0x20000002, 2)).toBe(0xc7d8);
    expect(bus.read(0x20000004, 4)).toBe(0xa5b6c7d8);
    const ram = bus.region("ram").device as Pattern;
    bus.write(0x20000010, 0x12345678, 1);
    bus.write(0x20000012, 0x12345678, 2);
    expect(ram.writes).toEqual([[0x10, 0x78, 1], [0x12, 0x5678, 2]]);
  });

  it("refuses overlapping regions, naming both", () => {
    const { bus } = uartBus();
    expect(() => bus.map({ name: "uart1", base: 0x101f1800, size: 0x1000, device: new Pattern() })).toThrow(
      "region uart1 (0x101f1800..0x101f27ff) overlaps uart0 (0x101f1000..0x101f1fff)",
    );
  });
});

describe("virtual time and the access budget", () => {
  it("advances the clock by accessNs on every access, barriers included", () => {
    const { bus } = uartBus();
    bus.clock.accessNs = 250;
    bus.read(0x20000000, 4);
    bus.write(0x20000000, 0, 4);
    bus.barrier(1);
    expect(bus.clock.now).toBe(750);
    expect([...bus.trace.entries()].map((e) => e.time)).toEqual([250, 500, 750]);
  });

  it("stops the CPU after the budget, with the number in the message", () => {
    const { bus } = uartBus();
    bus.setAccessBudget(3);
    bus.read(0x20000000, 4);
    bus.read(0x20000000, 4);
    bus.barrier(0);
    expect(bus.accessesSinceBudget).toBe(3);
    expect(() => bus.read(0x20000000, 4)).toThrow(new AccessBudgetExceeded(3).message);
  });
});

describe("other bus masters", () => {
  /** A master that copies one word every 1000 ns from ram+0 to ram+4 while it has work. */
  class Copier implements BusMaster {
    next = 1000;
    left = 3;
    constructor(private readonly bus: Bus) {}
    step(now: number): number {
      while (this.left > 0 && this.next <= now) {
        this.bus.masterWrite(0x20000004, this.bus.masterRead(0x20000000, 4), 4);
        this.left--;
        this.next += 1000;
      }
      return this.left > 0 ? this.next : Infinity;
    }
  }

  it("run their steps at the time each is due while the CPU waits in settle()", () => {
    const { bus } = uartBus();
    bus.attachMaster(new Copier(bus));
    bus.settle(10_000);
    const dma = [...bus.trace.entries()].filter((e) => e.flags === FLAG_DMA);
    expect(dma.map((e) => [e.op, e.time])).toEqual([
      [OP_READ, 1000], [OP_WRITE, 1000], [OP_READ, 2000], [OP_WRITE, 2000], [OP_READ, 3000], [OP_WRITE, 3000],
    ]);
    expect(bus.clock.now).toBe(10_000);
  });

  it("run before the CPU access that reaches their time", () => {
    const { bus } = uartBus();
    bus.attachMaster(new Copier(bus));
    bus.clock.accessNs = 1000;
    bus.read(0x101f1018, 4); // at 1000 ns: the copier's first step comes first
    const ops = [...bus.trace.entries()].map((e) => `${e.flags === FLAG_DMA ? "dma " : ""}${e.op === OP_READ ? "R" : "W"} ${e.addr.toString(16)}`);
    expect(ops).toEqual(["dma R 20000000", "dma W 20000004", "R 101f1018"]);
  });
});
