// SPI slaves for the SSP model (harness/devices/pl022.ts): the interface a slave implements, a
// SPI NOR flash behind it, and a host-side helper that runs the flash's command sequences through
// any full-duplex byte transfer (the real driver's pl022_transfer, for one).
//
// Frames reach a slave one at a time, MSB first, at the virtual time the frame completes on the
// wire. Chip select is not part of a frame: the master (or a GPIO pin wired to the model) asserts
// and releases it, and the slave hears about it through select() and deselect(). A SPI NOR flash
// acts on most commands only when chip select rises, so the host drives it around each command.
import type { VirtualClock } from "../bus.js";
import type { Hal } from "../hal.js";
import { STATUS_CODES } from "../generated/api.js";

/** Frame kinds a slave understands, for SpiSlave.accepts: Motorola SPI modes 0..3 (mode =
 * CPOL x 2 + CPHA), TI synchronous serial and National Microwire frames. */
export const SPI_ACCEPTS_MODE_0 = 1 << 0;
export const SPI_ACCEPTS_MODE_1 = 1 << 1;
export const SPI_ACCEPTS_MODE_2 = 1 << 2;
export const SPI_ACCEPTS_MODE_3 = 1 << 3;
export const SPI_ACCEPTS_TI = 1 << 4;
export const SPI_ACCEPTS_MICROWIRE = 1 << 5;
export const SPI_ACCEPTS_ANY = 0x3f;

/** A device on a SPI bus, as a master sees it. */
export interface SpiSlave {
  /** The frame kinds this slave samples correctly (SPI_ACCEPTS_* bits; absent = all). A frame
   * of another kind never reaches exchange(): the slave does not drive MISO, which reads all
   * ones, as a mode mismatch on a real board turns into garbage rather than an error. */
  readonly accepts?: number;
  /** Chip select asserted at virtual time `time` (ns): a command begins. */
  select?(time: number): void;
  /** Chip select released at virtual time `time` (ns): the command ends. */
  deselect?(time: number): void;
  /** One frame of `bits` bits (4..16), MSB first: takes the master's MOSI frame and returns the
   * MISO frame shifted out at the same time (only the low `bits` bits count). `time` is the
   * virtual time the frame completes on the wire (ns). */
  exchange(mosi: number, bits: number, time: number): number;
}

// ---- SPI NOR flash ----

/** Command opcodes of the flash model (the common 25-series set; Winbond W25Q datasheets). */
export const SPI_NOR_PAGE_PROGRAM = 0x02;
export const SPI_NOR_READ = 0x03;
export const SPI_NOR_WRITE_DISABLE = 0x04;
export const SPI_NOR_READ_STATUS = 0x05;
export const SPI_NOR_WRITE_ENABLE = 0x06;
export const SPI_NOR_SECTOR_ERASE = 0x20;
export const SPI_NOR_READ_ID = 0x9f;

/** Status register bits: write in progress (busy) and write enable latch. */
export const SPI_NOR_STATUS_WIP = 1 << 0;
export const SPI_NOR_STATUS_WEL = 1 << 1;

/** Bytes in a program page: a page program wraps within it. */
export const SPI_NOR_PAGE_SIZE = 256;
/** Bytes in a sector: the unit of SECTOR ERASE. */
export const SPI_NOR_SECTOR_SIZE = 4096;

export interface SpiNorFlashOptions {
  clock: VirtualClock;
  /** Capacity in bytes: a power of two from 4 KiB to 16 MiB (24-bit addresses). 1 MiB by default. */
  sizeBytes?: number;
  /** The three bytes RDID returns: manufacturer, memory type, capacity. EF 40 14 by default
   * (a Winbond W25Q80, 1 MiB). */
  jedecId?: readonly [number, number, number];
  /** Time a page program keeps WIP set, ns. 0.7 ms by default (W25Q typical tPP). */
  pageProgramNs?: number;
  /** Time a sector erase keeps WIP set, ns. 45 ms by default (W25Q typical tSE). */
  sectorEraseNs?: number;
}

// Where the flash is within a command (one chip-select period).
/** Chip select released: the flash ignores the bus. */
const PHASE_DESELECTED = 0;
/** Waiting for the opcode byte. */
const PHASE_OPCODE = 1;
/** Collecting address bytes, then data, for the current opcode. */
const PHASE_COMMAND = 2;
/** A command the flash does not act on: it ignores the rest of this chip-select period. */
const PHASE_IGNORED = 3;

/**
 * A SPI NOR flash with the basic 25-series command set, on the virtual clock.
 *
 * - RDID (9F): three ID bytes, then the flash stops driving MISO (ones).
 * - READ (03) + 24-bit address: data from the address on, wrapping at the end of the array.
 * - RDSR (05): the status register, again and again while chip select stays low, each byte
 *   current at its own time (so WIP can be seen to clear within one command).
 * - WREN (06) / WRDI (04): set / clear WEL when chip select rises after exactly one byte.
 * - PAGE PROGRAM (02) + address + data: needs WEL. Data goes into a 256-byte page buffer
 *   starting at the address's column and wrapping within the page (past 256 bytes the latest
 *   byte for a column wins); when chip select rises on a byte boundary after at least one data
 *   byte, the page is programmed: bits only go from 1 to 0 (stored = old AND new).
 * - SECTOR ERASE (20) + address: needs WEL; when chip select rises after exactly four bytes, the
 *   4 KiB sector holding the address reads 0xFF.
 * Programming and erasing set WIP for pageProgramNs / sectorEraseNs from the moment chip select
 * rises; WEL reads 1 until the operation completes, then 0. While WIP is set every command but
 * RDSR is ignored. The array changes at once when the operation starts; nothing can read it
 * before WIP clears, so the difference cannot be seen.
 */
export class SpiNorFlash implements SpiSlave {
  /** Motorola SPI modes 0 and 3, as 25-series flashes sample on the rising edge. */
  readonly accepts = SPI_ACCEPTS_MODE_0 | SPI_ACCEPTS_MODE_3;
  readonly clock: VirtualClock;
  readonly sizeBytes: number;
  readonly jedecId: readonly [number, number, number];
  readonly pageProgramNs: number;
  readonly sectorEraseNs: number;
  /** The flash array, inspectable and writable by tests (erased = 0xFF). */
  readonly memory: Uint8Array;

  /** Opcodes received, one per chip-select period that had at least one full byte. */
  readonly commands: number[] = [];
  /** Commands ignored: unknown opcodes, program/erase without WEL, anything but RDSR while
   * busy, and program/erase/WREN/WRDI whose chip select rose at the wrong byte count. */
  ignoredCommands = 0;

  private writeEnabled = false;
  private busyUntil = 0;

  private phase = PHASE_DESELECTED;
  private opcode = 0;
  /** Bytes received in this chip-select period, the opcode included. */
  private byteCount = 0;
  private address = 0;
  /** Shift registers: bits received so far of the current byte, and the byte going out. */
  private inByte = 0;
  private inBits = 0;
  private outByte = 0xff;
  /** Page program: the page buffer (0xFF = leave the bit alone) and whether it has data. */
  private readonly pageBuffer = new Uint8Array(SPI_NOR_PAGE_SIZE);
  private pageColumn = 0;
  private pageHasData = false;

  constructor(options: SpiNorFlashOptions) {
    const size = options.sizeBytes ?? 1 << 20;
    if (!Number.isInteger(size) || size < SPI_NOR_SECTOR_SIZE || size > 1 << 24 || (size & (size - 1)) !== 0) {
      throw new RangeError(`flash size ${size} is not a power of two from 4 KiB to 16 MiB`);
    }
    this.clock = options.clock;
    this.sizeBytes = size;
    this.jedecId = options.jedecId ?? [0xef, 0x40, 0x14];
    this.pageProgramNs = options.pageProgramNs ?? 700_000;
    this.sectorEraseNs = options.sectorEraseNs ?? 45_000_000;
    this.memory = new Uint8Array(size).fill(0xff);
  }

  /** The status register at `time` (ns; now by default). */
  status(time = this.clock.now): number {
    const busy = time < this.busyUntil;
    // WEL stays set until the program or erase it enabled has completed.
    return (busy ? SPI_NOR_STATUS_WIP | SPI_NOR_STATUS_WEL : 0) | (this.writeEnabled ? SPI_NOR_STATUS_WEL : 0);
  }

  /** True while a program or erase is in progress at `time` (ns; now by default). */
  busy(time = this.clock.now): boolean {
    return time < this.busyUntil;
  }

  select(_time: number): void {
    this.phase = PHASE_OPCODE;
    this.byteCount = 0;
    this.inByte = 0;
    this.inBits = 0;
    this.outByte = 0xff;
  }

  deselect(time: number): void {
    const onByteBoundary = this.inBits === 0;
    if (this.phase === PHASE_COMMAND) this.finishCommand(time, onByteBoundary);
    this.phase = PHASE_DESELECTED;
  }

  exchange(mosi: number, bits: number, time: number): number {
    if (this.phase === PHASE_DESELECTED) return (1 << bits) - 1;
    let miso = 0;
    for (let bit = bits - 1; bit >= 0; bit--) {
      miso = (miso << 1) | ((this.outByte >> 7) & 1);
      this.outByte = (this.outByte << 1) & 0xff;
      this.inByte = ((this.inByte << 1) | ((mosi >> bit) & 1)) & 0xff;
      if (++this.inBits === 8) {
        this.inBits = 0;
        this.outByte = this.receiveByte(this.inByte, time);
      }
    }
    return miso;
  }

  /** Takes one whole byte from MOSI; returns the byte to shift out next. */
  private receiveByte(value: number, time: number): number {
    const index = this.byteCount++;
    if (this.phase === PHASE_OPCODE) return this.startCommand(value, time);
    if (this.phase === PHASE_IGNORED) return 0xff;
    switch (this.opcode) {
      case SPI_NOR_READ_ID:
        return index < 3 ? this.jedecId[index]! : 0xff;
      case SPI_NOR_READ_STATUS:
        return this.status(time);
      case SPI_NOR_READ:
        if (index <= 3) {
          this.address = ((this.address << 8) | value) & 0xffffff;
          if (index < 3) return 0xff;
          this.address &= this.sizeBytes - 1;
        } else {
          this.address = (this.address + 1) & (this.sizeBytes - 1);
        }
        return this.memory[this.address]!;
      case SPI_NOR_PAGE_PROGRAM:
        if (index <= 3) {
          this.address = ((this.address << 8) | value) & 0xffffff;
          if (index === 3) this.pageColumn = this.address & (SPI_NOR_PAGE_SIZE - 1);
        } else {
          this.pageBuffer[this.pageColumn] = value;
          this.pageColumn = (this.pageColumn + 1) & (SPI_NOR_PAGE_SIZE - 1);
          this.pageHasData = true;
        }
        return 0xff;
      case SPI_NOR_SECTOR_ERASE:
        if (index <= 3) this.address = ((this.address << 8) | value) & 0xffffff;
        return 0xff;
      default:
        return 0xff;
    }
  }

  /** The opcode byte: decides whether the command runs; returns the first byte to shift out. */
  private startCommand(opcode: number, time: number): number {
    this.commands.push(opcode);
    this.opcode = opcode;
    this.address = 0;
    this.phase = PHASE_COMMAND;
    const busy = this.busy(time);
    const known = opcode === SPI_NOR_READ_ID || opcode === SPI_NOR_READ || opcode === SPI_NOR_READ_STATUS ||
      opcode === SPI_NOR_WRITE_ENABLE || opcode === SPI_NOR_WRITE_DISABLE ||
      opcode === SPI_NOR_PAGE_PROGRAM || opcode === SPI_NOR_SECTOR_ERASE;
    const needsWel = opcode === SPI_NOR_PAGE_PROGRAM || opcode === SPI_NOR_SECTOR_ERASE;
    if (!known || (busy && opcode !== SPI_NOR_READ_STATUS) || (needsWel && !this.writeEnabled)) {
      this.phase = PHASE_IGNORED;
      this.ignoredCommands++;
      return 0xff;
    }
    if (opcode === SPI_NOR_PAGE_PROGRAM) {
      this.pageBuffer.fill(0xff);
      this.pageHasData = false;
    }
    if (opcode === SPI_NOR_READ_ID) return this.jedecId[0];
    if (opcode === SPI_NOR_READ_STATUS) return this.status(time);
    return 0xff;
  }

  /** Chip select rose during a command that runs: commit what only completes there. */
  private finishCommand(time: number, onByteBoundary: boolean): void {
    const bytes = this.byteCount;
    switch (this.opcode) {
      case SPI_NOR_WRITE_ENABLE:
      case SPI_NOR_WRITE_DISABLE:
        if (bytes !== 1 || !onByteBoundary) { this.ignoredCommands++; return; }
        this.writeEnabled = this.opcode === SPI_NOR_WRITE_ENABLE;
        return;
      case SPI_NOR_PAGE_PROGRAM: {
        if (bytes < 5 || !onByteBoundary || !this.pageHasData) { this.ignoredCommands++; return; }
        const page = this.address & (this.sizeBytes - 1) & ~(SPI_NOR_PAGE_SIZE - 1);
        for (let column = 0; column < SPI_NOR_PAGE_SIZE; column++) {
          // Programming only clears bits; a 1 in the buffer leaves the cell as it was.
          this.memory[page + column] = this.memory[page + column]! & this.pageBuffer[column]!;
        }
        this.startOperation(time, this.pageProgramNs);
        return;
      }
      case SPI_NOR_SECTOR_ERASE: {
        if (bytes !== 4 || !onByteBoundary) { this.ignoredCommands++; return; }
        const sector = this.address & (this.sizeBytes - 1) & ~(SPI_NOR_SECTOR_SIZE - 1);
        this.memory.fill(0xff, sector, sector + SPI_NOR_SECTOR_SIZE);
        this.startOperation(time, this.sectorEraseNs);
        return;
      }
      default:
        return;
    }
  }

  private startOperation(time: number, durationNs: number): void {
    this.busyUntil = time + durationNs;
    // WEL is reset when the operation completes; status() keeps reporting it while WIP is set.
    this.writeEnabled = false;
  }
}

// ---- Host-side command sequences ----

/** A full-duplex byte link to one SPI device with its chip select. */
export interface SpiPort {
  /** Asserts (true) or releases (false) the device's chip select. */
  chipSelect(active: boolean): void;
  /** Sends `tx` and returns the bytes received meanwhile (as many as were sent). Throws when
   * the transfer fails. */
  transfer(tx: Uint8Array): Uint8Array;
}

/** A transfer that the driver refused or could not finish. */
export class SpiTransferError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = "SpiTransferError";
  }
}

export interface HalSpiPortOptions {
  /** Drives the chip select: the model's select()/chipSelect(), or a GPIO pin through the board. */
  chipSelect: (active: boolean) => void;
  /** Where in linear memory the bytes go: the scratch buffer by default, sent bytes in its first
   * half and received bytes in its second. */
  buffer?: number;
  bufferSize?: number;
}

/**
 * A SpiPort over hal.wasm's pl022_transfer for a port configured with 8-bit frames: each call
 * copies the bytes into linear memory, calls the export (in chunks of half the buffer) and
 * copies the received bytes out. A negative status becomes a SpiTransferError.
 */
export function halSpiPort(hal: Hal, base: number, options: HalSpiPortOptions): SpiPort {
  const buffer = options.buffer ?? hal.scratch;
  const chunk = Math.floor((options.bufferSize ?? hal.scratchSize) / 2);
  if (chunk < 1) throw new RangeError("the transfer buffer needs at least two bytes");
  const txPtr = buffer;
  const rxPtr = buffer + chunk;
  return {
    chipSelect: options.chipSelect,
    transfer(tx: Uint8Array): Uint8Array {
      const rx = new Uint8Array(tx.length);
      for (let done = 0; done < tx.length; done += chunk) {
        const part = tx.subarray(done, Math.min(tx.length, done + chunk));
        hal.writeBytes(part, txPtr);
        const result = hal.call("pl022_transfer", base, txPtr, rxPtr, part.length);
        if (result !== part.length) {
          const name = STATUS_CODES.find((c) => c.value === result)?.name ?? String(result);
          throw new SpiTransferError(`pl022_transfer of ${part.length} frames returned ${name}`, result);
        }
        rx.set(hal.readBytes(rxPtr, part.length), done);
      }
      return rx;
    },
  };
}

export interface SpiNorHostOptions {
  /** Status reads before waitReady() gives up. 100 000 by default. */
  maxPolls?: number;
  /** Called between status reads with pollIntervalNs, as firmware would sleep (in tests,
   * (ns) => bus.settle(ns)). Without it the host polls back to back. */
  delay?: (ns: number) => void;
  /** Time between status reads, ns. 100 us by default. */
  pollIntervalNs?: number;
}

/** A program or erase that did not finish within the poll limit. */
export class SpiNorTimeoutError extends Error {
  constructor(readonly polls: number, readonly status: number) {
    super(`flash still busy (status 0x${status.toString(16).padStart(2, "0")}) after ${polls} status reads`);
    this.name = "SpiNorTimeoutError";
  }
}

/**
 * The command sequences of a 25-series SPI NOR flash, as firmware runs them, over a SpiPort:
 * one chip-select period per command, WREN before every program and erase, and a bounded RDSR
 * poll until WIP clears after it.
 */
export class SpiNorHost {
  readonly maxPolls: number;
  readonly pollIntervalNs: number;
  /** Status reads made by the last waitReady(). */
  lastPolls = 0;
  private readonly delay: ((ns: number) => void) | undefined;

  constructor(readonly port: SpiPort, options: SpiNorHostOptions = {}) {
    this.maxPolls = options.maxPolls ?? 100_000;
    if (!(this.maxPolls >= 1)) throw new RangeError(`maxPolls must be at least 1, not ${this.maxPolls}`);
    this.pollIntervalNs = options.pollIntervalNs ?? 100_000;
    this.delay = options.delay;
  }

  /** One command: chip select low, the bytes out (opcode, address, data or dummies), chip
   * select high. Returns the bytes received. */
  command(bytes: ArrayLike<number>): Uint8Array {
    this.port.chipSelect(true);
    try {
      return this.port.transfer(Uint8Array.from(bytes));
    } finally {
      this.port.chipSelect(false);
    }
  }

  /** RDID: manufacturer, memory type, capacity. */
  readJedecId(): [number, number, number] {
    const rx = this.command([SPI_NOR_READ_ID, 0xff, 0xff, 0xff]);
    return [rx[1]!, rx[2]!, rx[3]!];
  }

  readStatus(): number {
    return this.command([SPI_NOR_READ_STATUS, 0xff])[1]!;
  }

  writeEnable(): void {
    this.command([SPI_NOR_WRITE_ENABLE]);
  }

  writeDisable(): void {
    this.command([SPI_NOR_WRITE_DISABLE]);
  }

  /** Polls RDSR until WIP clears, at most maxPolls times; returns the final status. */
  waitReady(): number {
    for (let polls = 1; ; polls++) {
      const status = this.readStatus();
      this.lastPolls = polls;
      if ((status & SPI_NOR_STATUS_WIP) === 0) return status;
      if (polls >= this.maxPolls) throw new SpiNorTimeoutError(polls, status);
      this.delay?.(this.pollIntervalNs);
    }
  }

  /** READ from `address`: `length` bytes. */
  read(address: number, length: number): Uint8Array {
    const tx = new Uint8Array(4 + length).fill(0xff);
    tx.set(addressed(SPI_NOR_READ, address));
    return this.command(tx).slice(4);
  }

  /** WREN, SECTOR ERASE of the 4 KiB sector holding `address`, wait until done. */
  sectorErase(address: number): number {
    this.writeEnable();
    this.command(addressed(SPI_NOR_SECTOR_ERASE, address));
    return this.waitReady();
  }

  /** WREN, PAGE PROGRAM of `data` at `address`, wait until done. The flash wraps within the
   * 256-byte page, so data that would cross a page boundary is refused here. */
  pageProgram(address: number, data: ArrayLike<number>): number {
    const column = address % SPI_NOR_PAGE_SIZE;
    if (data.length === 0 || column + data.length > SPI_NOR_PAGE_SIZE) {
      throw new RangeError(`${data.length} bytes at 0x${address.toString(16)} do not fit one ${SPI_NOR_PAGE_SIZE}-byte page`);
    }
    this.writeEnable();
    const tx = new Uint8Array(4 + data.length);
    tx.set(addressed(SPI_NOR_PAGE_PROGRAM, address));
    tx.set(Array.from(data), 4);
    this.command(tx);
    return this.waitReady();
  }
}

/** An opcode followed by a 24-bit address, MSB first. */
function addressed(opcode: number, address: number): number[] {
  return [opcode, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff];
}
