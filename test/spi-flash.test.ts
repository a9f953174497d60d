// The SPI NOR flash model on its own, then end to end: hal.wasm's pl022_transfer drives the PL022
// model, which shifts frames into the flash; the host-side SpiNorHost runs the command sequences
// (RDID, WREN + SECTOR ERASE + RDSR polling, PAGE PROGRAM, READ) the way firmware would.
// Timings are the flash's datasheet-typical values given to the model (0.7 ms page program,
// 45 ms sector erase); frame times follow the PL022 bit-rate formula.
import { describe, expect, it } from "vitest";
import { Bus, VirtualClock } from "../harness/bus.js";
import { Hal } from "../harness/hal.js";
import { Pl022Model } from "../harness/devices/pl022.js";
import {
  SpiNorFlash, SpiNorHost, SpiNorTimeoutError, SpiTransferError, halSpiPort,
  SPI_NOR_READ_ID, SPI_NOR_READ, SPI_NOR_READ_STATUS, SPI_NOR_WRITE_ENABLE, SPI_NOR_WRITE_DISABLE,
  SPI_NOR_PAGE_PROGRAM, SPI_NOR_SECTOR_ERASE, SPI_NOR_STATUS_WIP, SPI_NOR_STATUS_WEL,
} from "../harness/devices/spi.js";
import { expectLintClean, lintTrace } from "../harness/lint.js";
import { PL022_MAP } from "../harness/generated/pl022.js";
import { OK, ERR_TIMEOUT, PL022_CONFIG_MODE_1, PL022_CONFIG_MODE_3 } from "../harness/generated/api.js";

const PAGE_PROGRAM_NS = 700_000;
const SECTOR_ERASE_NS = 45_000_000;

/** Drives the flash directly, one chip-select period per command, one byte per frame. */
function directFlash(options: { sizeBytes?: number } = {}) {
  const clock = new VirtualClock();
  const flash = new SpiNorFlash({ clock, ...options });
  /** One command at the current time; returns the bytes shifted out. */
  const command = (bytes: number[]): number[] => {
    flash.select(clock.now);
    const out = bytes.map((b) => flash.exchange(b, 8, clock.now));
    flash.deselect(clock.now);
    return out;
  };
  const addressed = (opcode: number, address: number, rest: number[] = []): number[] =>
    [opcode, (address >> 16) & 0xff, (address >> 8) & 0xff, address & 0xff, ...rest];
  return { clock, flash, command, addressed };
}

describe("SPI NOR flash model", () => {
  it("RDID returns the JEDEC ID, manufacturer first", () => {
    const { command } = directFlash();
    expect(command([SPI_NOR_READ_ID, 0, 0, 0])).toEqual([0xff, 0xef, 0x40, 0x14]);
  });

  it("a 16-bit frame carries two bytes, MSB first", () => {
    const { clock, flash } = directFlash();
    flash.select(clock.now);
    expect(flash.exchange((SPI_NOR_READ_ID << 8) | 0xff, 16, clock.now)).toBe(0xffef);
    expect(flash.exchange(0xffff, 16, clock.now)).toBe(0x4014);
    flash.deselect(clock.now);
  });

  it("READ streams from a 24-bit address and wraps at the end of the array", () => {
    const { flash, command, addressed } = directFlash({ sizeBytes: 1 << 16 });
    flash.memory.set([1, 2], 0xfffe);
    flash.memory.set([3], 0);
    expect(command(addressed(SPI_NOR_READ, 0xfffe, [0, 0, 0])).slice(4)).toEqual([1, 2, 3]);
    // Address bits above the array size are ignored: 0x01FFFE is 0xFFFE in 64 KiB.
    expect(command(addressed(SPI_NOR_READ, 0x01fffe, [0])).slice(4)).toEqual([1]);
  });

  it("PAGE PROGRAM without WREN is ignored; with it, bits only go from 1 to 0", () => {
    const { clock, flash, command, addressed } = directFlash();
    flash.memory[0x100] = 0xf0;
    command(addressed(SPI_NOR_PAGE_PROGRAM, 0x100, [0x0f]));
    expect(flash.memory[0x100]).toBe(0xf0);
    expect(flash.ignoredCommands).toBe(1);
    command([SPI_NOR_WRITE_ENABLE]);
    expect(flash.status()).toBe(SPI_NOR_STATUS_WEL);
    command(addressed(SPI_NOR_PAGE_PROGRAM, 0x100, [0x3c]));
    expect(flash.memory[0x100]).toBe(0x30); // 0xF0 AND 0x3C
    clock.advance(PAGE_PROGRAM_NS);
    expect(flash.status()).toBe(0); // WIP and WEL clear once done
  });

  it("PAGE PROGRAM wraps within its 256-byte page", () => {
    const { clock, flash, command, addressed } = directFlash();
    command([SPI_NOR_WRITE_ENABLE]);
    command(addressed(SPI_NOR_PAGE_PROGRAM, 0x2fe, [0xa0, 0xa1, 0xa2, 0xa3]));
    clock.advance(PAGE_PROGRAM_NS);
    expect(Array.from(flash.memory.subarray(0x2fe, 0x300))).toEqual([0xa0, 0xa1]);
    expect(Array.from(flash.memory.subarray(0x200, 0x202))).toEqual([0xa2, 0xa3]);
    expect(flash.memory[0x300]).toBe(0xff);
  });

  it("WIP stays set 0.7 ms after a page program; only RDSR is obeyed meanwhile", () => {
    const { clock, flash, command, addressed } = directFlash();
    flash.memory.set([0x12, 0x34], 0x40);
    command([SPI_NOR_WRITE_ENABLE]);
    command(addressed(SPI_NOR_PAGE_PROGRAM, 0x80, [0x00]));
    const started = clock.now;
    expect(command([SPI_NOR_READ_STATUS, 0])[1]).toBe(SPI_NOR_STATUS_WIP | SPI_NOR_STATUS_WEL);
    // A READ while busy is ignored: the flash does not drive MISO.
    expect(command(addressed(SPI_NOR_READ, 0x40, [0, 0])).slice(4)).toEqual([0xff, 0xff]);
    clock.advance(PAGE_PROGRAM_NS - 1);
    expect(flash.status() & SPI_NOR_STATUS_WIP).toBe(SPI_NOR_STATUS_WIP);
    clock.now = started + PAGE_PROGRAM_NS;
    expect(command([SPI_NOR_READ_STATUS, 0])[1]).toBe(0);
    expect(command(addressed(SPI_NOR_READ, 0x40, [0, 0])).slice(4)).toEqual([0x12, 0x34]);
  });

  it("RDSR repeats the status while chip select stays low, each byte current at its time", () => {
    const { clock, flash, command, addressed } = directFlash();
    command([SPI_NOR_WRITE_ENABLE]);
    command(addressed(SPI_NOR_PAGE_PROGRAM, 0, [0x55]));
    flash.select(clock.now);
    flash.exchange(SPI_NOR_READ_STATUS, 8, clock.now);
    expect(flash.exchange(0, 8, clock.now) & SPI_NOR_STATUS_WIP).toBe(SPI_NOR_STATUS_WIP);
    clock.advance(PAGE_PROGRAM_NS);
    // The byte shifted out now was prepared at the previous byte's end; the one after is current.
    flash.exchange(0, 8, clock.now);
    expect(flash.exchange(0, 8, clock.now) & SPI_NOR_STATUS_WIP).toBe(0);
    flash.deselect(clock.now);
  });

  it("SECTOR ERASE sets the whole 4 KiB sector to 0xFF, takes 45 ms and needs WEL", () => {
    const { clock, flash, command, addressed } = directFlash();
    flash.memory.fill(0x00, 0x0000, 0x3000);
    command(addressed(SPI_NOR_SECTOR_ERASE, 0x1234));
    expect(flash.memory[0x1000]).toBe(0x00); // no WEL: ignored
    command([SPI_NOR_WRITE_ENABLE]);
    command([SPI_NOR_WRITE_DISABLE]);
    command(addressed(SPI_NOR_SECTOR_ERASE, 0x1234));
    expect(flash.memory[0x1000]).toBe(0x00); // WRDI cleared WEL
    command([SPI_NOR_WRITE_ENABLE]);
    command(addressed(SPI_NOR_SECTOR_ERASE, 0x1234));
    expect(flash.memory.subarray(0x1000, 0x2000).every((b) => b === 0xff)).toBe(true);
    expect(flash.memory[0x0fff]).toBe(0x00);
    expect(flash.memory[0x2000]).toBe(0x00);
    expect(flash.busy(clock.now + SECTOR_ERASE_NS - 1)).toBe(true);
    expect(flash.busy(clock.now + SECTOR_ERASE_NS)).toBe(false);
  });

  it("a command whose chip select rises at the wrong byte count does nothing", () => {
    const { flash, command, addressed } = directFlash();
    command([SPI_NOR_WRITE_ENABLE, 0]); // two bytes
    expect(flash.status() & SPI_NOR_STATUS_WEL).toBe(0);
    command([SPI_NOR_WRITE_ENABLE]);
    flash.memory.fill(0x00, 0, 0x1000);
    command(addressed(SPI_NOR_SECTOR_ERASE, 0, [0])); // five bytes
    expect(flash.memory[0]).toBe(0x00);
    expect(flash.status() & SPI_NOR_STATUS_WEL).toBe(SPI_NOR_STATUS_WEL);
  });
});

// ---- End to end through hal.wasm ----

const BASE = 0x10006000;
const SSPCLK = 24_000_000;
/** 24 MHz / (2 x (1 + 0)) = 12 MHz, the fastest the PL022 makes from 24 MHz. */
const BIT_RATE = 12_000_000;

function board(config = 0) {
  const bus = new Bus();
  const ssp = new Pl022Model({ clock: bus.clock, sspclkHz: SSPCLK });
  bus.map({ name: "ssp0", base: BASE, size: 0x1000, device: ssp, map: PL022_MAP });
  const flash = new SpiNorFlash({ clock: bus.clock });
  const cs = ssp.attach(flash);
  const hal = new Hal(bus);
  expect(hal.call("pl022_init", BASE, SSPCLK, BIT_RATE, config)).toBe(OK);
  const port = halSpiPort(hal, BASE, { chipSelect: (active) => ssp.chipSelect(cs, active) });
  const host = new SpiNorHost(port, { delay: (ns) => bus.settle(ns), pollIntervalNs: 100_000 });
  return { bus, ssp, flash, hal, port, host };
}

describe("SPI NOR flash through pl022_transfer", () => {
  it("reads the JEDEC ID EF 40 14", () => {
    const { host, flash } = board();
    expect(host.readJedecId()).toEqual([0xef, 0x40, 0x14]);
    expect(flash.commands).toEqual([SPI_NOR_READ_ID]);
  });

  it("erases a sector, programs a page and reads it back", () => {
    const { bus, host, flash } = board();
    flash.memory.fill(0x00, 0x0000, 0x3000); // old contents around and in the sector

    let start = bus.clock.now;
    const erased = host.sectorErase(0x1000);
    expect(erased & (SPI_NOR_STATUS_WIP | SPI_NOR_STATUS_WEL)).toBe(0);
    expect(bus.clock.now - start).toBeGreaterThanOrEqual(SECTOR_ERASE_NS);
    // Polled every 100 us: about 450 status reads, not one and not unbounded.
    expect(host.lastPolls).toBeGreaterThan(400);
    expect(host.lastPolls).toBeLessThan(500);
    expect(flash.memory.subarray(0x1000, 0x2000).every((b) => b === 0xff)).toBe(true);
    expect(flash.memory[0x0fff]).toBe(0x00);
    expect(flash.memory[0x2000]).toBe(0x00);

    const page = Uint8Array.from({ length: 256 }, (_, i) => (i * 7 + 3) & 0xff);
    start = bus.clock.now;
    host.pageProgram(0x1100, page);
    expect(bus.clock.now - start).toBeGreaterThanOrEqual(PAGE_PROGRAM_NS);
    expect(Array.from(flash.memory.subarray(0x1100, 0x1200))).toEqual(Array.from(page));

    expect(Array.from(host.read(0x1100, 256))).toEqual(Array.from(page));
    expect(flash.commands.filter((c) => c !== SPI_NOR_READ_STATUS)).toEqual([
      SPI_NOR_WRITE_ENABLE, SPI_NOR_SECTOR_ERASE, SPI_NOR_WRITE_ENABLE, SPI_NOR_PAGE_PROGRAM, SPI_NOR_READ,
    ]);
    // Every access the driver made respects the register map (access kinds, widths, fields).
    expectLintClean(lintTrace(bus.trace, bus.regions));
  });

  it("a read longer than the transfer buffer spans several pl022_transfer calls in one command", () => {
    const { flash, host, hal, bus } = board();
    for (let i = 0; i < 5000; i++) flash.memory[0x20000 + i] = (i * 31) & 0xff;
    const calls = bus.trace.calls.length;
    const data = host.read(0x20000, 5000);
    expect(Array.from(data)).toEqual(Array.from(flash.memory.subarray(0x20000, 0x20000 + 5000)));
    const chunk = hal.scratchSize / 2;
    expect(bus.trace.calls.length - calls).toBe(Math.ceil((4 + 5000) / chunk));
  });

  it("works in SPI mode 3, and gets no answer in mode 1, which the flash does not sample", () => {
    expect(board(PL022_CONFIG_MODE_3).host.readJedecId()).toEqual([0xef, 0x40, 0x14]);
    const { host, flash } = board(PL022_CONFIG_MODE_1);
    expect(host.readJedecId()).toEqual([0xff, 0xff, 0xff]);
    expect(flash.commands).toEqual([]);
  });

  it("stops polling after maxPolls and says so", () => {
    const { port, bus } = board();
    const impatient = new SpiNorHost(port, { maxPolls: 5, delay: (ns) => bus.settle(ns), pollIntervalNs: 1_000 });
    expect(() => impatient.sectorErase(0)).toThrow(SpiNorTimeoutError);
    expect(impatient.lastPolls).toBe(5);
  });

  it("a driver error surfaces as a SpiTransferError carrying the status", () => {
    const { ssp, host } = board();
    ssp.faults.busyStuck = true;
    try {
      host.readStatus();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SpiTransferError);
      expect((e as SpiTransferError).status).toBe(ERR_TIMEOUT);
    }
  });
});
