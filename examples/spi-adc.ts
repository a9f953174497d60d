// A user-written SPI device model (docs/models.md): an MCP3008-style ADC, eight channels, 10 bits,
// one conversion per chip-select period. It models the serial protocol written out below and an
// ideal transfer function; it is not a model of any datasheet's timing (clock limits, setup and
// hold times, conversion time, the minimum chip-select high time are not checked).
//
// The protocol, one bit per SPI clock, MSB first, SPI mode 0 or 3:
//
//   DIN   0 .. 0  1      SGL  D2  D1  D0  x       x     x    ..  x    x   ..  x    x ..
//   DOUT  Z .. Z  Z      Z    Z   Z   Z   Z       0     B9   ..  B0   B1  ..  B9   0 ..
//         idle    start  ----- config ---- sample  null  result MSB   then LSB    then
//                                                       first       first       zeros
//
// - After chip select falls, the first 1 on DIN is the start bit; zeros before it are ignored, so
//   a frame may put the start bit anywhere.
// - The next four bits choose the input: SGL/DIFF, then D2 D1 D0.
//     SGL = 1: single-ended, channel D2 D1 D0 against ground.
//     SGL = 0: differential, the pair (D2 D1) = channels 2n and 2n + 1; D0 = 0 makes 2n the
//              positive input (IN+) and 2n + 1 the negative (IN-), D0 = 1 the other way round.
// - The clock after D0 completes the sample (DIN is ignored); the input is taken at that
//   moment. On the following clocks DOUT gives a null bit (0), the 10-bit result MSB first,
//   then, while chip select stays low, the result again LSB first from B1 (B0 is not repeated),
//   then zeros until chip select rises. A new conversion needs chip select to rise and fall.
// - DOUT is high impedance until the null bit. The PL022 model reads an undriven MISO as 1
//   (pulled up), and so does this model for the bits it does not drive.
// - The result is that of an ideal converter: code = floor(1024 x V / VREF), at most 1023, 0 for
//   V <= 0. V is the channel's voltage (single-ended) or IN+ minus IN- (differential: IN- above
//   IN+ gives 0).
//
// The usual framing is three bytes:
//
//   byte  MOSI                          MISO
//   0     0000 0001  (start bit)        1111 1111  (DOUT not driven)
//   1     SGL D2 D1 D0  0000            1111 1 0 B9 B8  (bit 3 the sample clock, bit 2 the null bit)
//   2     0000 0000                     B7 .. B0
//
//   code = ((rx[1] & 0x03) << 8) | rx[2];   a set null bit (rx[1] & 0x04) means no ADC answered
//
// Time: the SSP model hands over a frame's bits at the virtual time the frame completes; the
// sample is taken at the time of the frame that carries the sample clock. A channel's input is a
// constant or a function of virtual time, so a test can give it a waveform.
import { SPI_ACCEPTS_MODE_0, SPI_ACCEPTS_MODE_3, type SpiSlave } from "../harness/devices/spi.js";

/** Channels of the ADC. */
export const MCP3008_CHANNELS = 8;
/** Result bits. */
export const MCP3008_BITS = 10;
/** The largest code: full scale. */
export const MCP3008_MAX_CODE = (1 << MCP3008_BITS) - 1;
/** Config bits after the start bit: SGL/DIFF, D2, D1, D0. */
const CONFIG_BITS = 4;
/** The SGL/DIFF bit within the four config bits. */
const CONFIG_SINGLE = 1 << 3;

/** An analog input in millivolts: a constant, or a function of virtual time in ns. */
export type AnalogInput = number | ((timeNs: number) => number);

export interface Mcp3008Options {
  /** Reference voltage, millivolts: full scale. 3300 by default. */
  readonly vrefMillivolts?: number;
  /** Channel inputs, channel 0 first; missing channels are at 0 mV. */
  readonly inputs?: readonly AnalogInput[];
}

export interface Mcp3008Faults {
  /** The chip has no supply: it never drives DOUT, so every bit reads 1, null bit included. */
  unpowered: boolean;
}

/** One conversion, for tests to inspect. */
export interface Mcp3008Conversion {
  /** Virtual time of the sample, ns. */
  readonly time: number;
  /** SGL/DIFF: true for single-ended. */
  readonly single: boolean;
  /** D2 D1 D0 as sent. */
  readonly select: number;
  /** The voltage converted, millivolts (IN+ minus IN- for a differential pair). */
  readonly millivolts: number;
  readonly code: number;
}

// Where the ADC is within one chip-select period.
/** Chip select high: the ADC ignores the bus. */
const PHASE_DESELECTED = 0;
/** Waiting for the start bit. */
const PHASE_IDLE = 1;
/** Taking SGL/DIFF, D2, D1, D0. */
const PHASE_CONFIG = 2;
/** The clock that completes the sample. */
const PHASE_SAMPLE = 3;
/** Shifting out the null bit, the result, its LSB-first repeat, then zeros. */
const PHASE_OUTPUT = 4;

/** Output bits after the sample clock: the null bit, B9..B0, then B1..B9; zeros after that. */
const OUTPUT_BITS = 1 + MCP3008_BITS + (MCP3008_BITS - 1);

export class Mcp3008Model implements SpiSlave {
  /** SPI modes 0 and 3: the ADC samples DIN on rising clock edges. */
  readonly accepts = SPI_ACCEPTS_MODE_0 | SPI_ACCEPTS_MODE_3;
  readonly vrefMillivolts: number;
  /** Fault injection for tests; all off by default. */
  readonly faults: Mcp3008Faults = { unpowered: false };
  /** Conversions made, oldest first. */
  readonly conversions: Mcp3008Conversion[] = [];
  /** Chip-select periods begun (falls of chip select). */
  selects = 0;

  private readonly inputs: AnalogInput[];
  private phase = PHASE_DESELECTED;
  private config = 0;
  private configCount = 0;
  private code = 0;
  /** Index into the output sequence of the bit DOUT drives now. */
  private outputIndex = 0;

  constructor(options: Mcp3008Options = {}) {
    const vref = options.vrefMillivolts ?? 3300;
    if (!(vref > 0)) throw new RangeError(`VREF of ${vref} mV is not a positive voltage`);
    this.vrefMillivolts = vref;
    const given = options.inputs ?? [];
    if (given.length > MCP3008_CHANNELS) throw new RangeError(`${given.length} inputs for ${MCP3008_CHANNELS} channels`);
    this.inputs = Array.from({ length: MCP3008_CHANNELS }, (_, i) => given[i] ?? 0);
  }

  /** Sets a channel's input: millivolts, or a function of virtual time (ns) giving millivolts. */
  setInput(channel: number, input: AnalogInput): void {
    this.inputs[checkChannel(channel)] = input;
  }

  /** A channel's voltage at virtual time `timeNs`, millivolts. */
  inputAt(channel: number, timeNs: number): number {
    const input = this.inputs[checkChannel(channel)]!;
    return typeof input === "number" ? input : input(timeNs);
  }

  /** True while chip select is asserted. */
  get selected(): boolean {
    return this.phase !== PHASE_DESELECTED;
  }

  // ---- SpiSlave ----

  select(_time: number): void {
    this.selects++;
    this.phase = PHASE_IDLE;
  }

  deselect(_time: number): void {
    // A conversion cut short by chip select is abandoned; the next one starts afresh.
    this.phase = PHASE_DESELECTED;
  }

  exchange(mosi: number, bits: number, time: number): number {
    // Without a supply the chip neither listens nor drives DOUT.
    if (this.faults.unpowered) return (1 << bits) - 1;
    let miso = 0;
    for (let bit = bits - 1; bit >= 0; bit--) {
      // DOUT changes on the falling edge before the clock, DIN is sampled on its rising edge:
      // the bit going out is decided before the bit coming in is taken.
      miso = (miso << 1) | this.dout();
      this.clockIn((mosi >>> bit) & 1, time);
    }
    return miso;
  }

  // ---- Internals ----

  /** The level on DOUT for the clock about to come: 1 where it is not driven. */
  private dout(): number {
    if (this.phase !== PHASE_OUTPUT) return 1;
    const i = this.outputIndex;
    if (i === 0) return 0; // the null bit
    if (i <= MCP3008_BITS) return (this.code >>> (MCP3008_BITS - i)) & 1; // B9 .. B0
    if (i < OUTPUT_BITS) return (this.code >>> (i - MCP3008_BITS)) & 1; // B1 .. B9
    return 0;
  }

  /** One rising clock edge with DIN at `din`. */
  private clockIn(din: number, time: number): void {
    switch (this.phase) {
      case PHASE_IDLE:
        if (din === 1) {
          this.phase = PHASE_CONFIG;
          this.config = 0;
          this.configCount = 0;
        }
        return;
      case PHASE_CONFIG:
        this.config = (this.config << 1) | din;
        if (++this.configCount === CONFIG_BITS) this.phase = PHASE_SAMPLE;
        return;
      case PHASE_SAMPLE:
        this.convert(time);
        this.phase = PHASE_OUTPUT;
        this.outputIndex = 0;
        return;
      case PHASE_OUTPUT:
        this.outputIndex++;
        return;
      default:
        return; // deselected: the ADC ignores the clock
    }
  }

  /** Samples the selected input at `time` and converts it. */
  private convert(time: number): void {
    const single = (this.config & CONFIG_SINGLE) !== 0;
    const select = this.config & 0x7;
    let millivolts: number;
    if (single) {
      millivolts = this.inputAt(select, time);
    } else {
      // D2 D1 pick the pair, D0 which of its two channels is IN+.
      const pair = select & ~1;
      const swapped = select & 1;
      millivolts = this.inputAt(pair + swapped, time) - this.inputAt(pair + 1 - swapped, time);
    }
    this.code = this.idealCode(millivolts);
    this.conversions.push({ time, single, select, millivolts, code: this.code });
  }

  /** floor(1024 x V / VREF), clamped to 0..1023. */
  private idealCode(millivolts: number): number {
    if (!(millivolts > 0)) return 0;
    return Math.min(MCP3008_MAX_CODE, Math.floor(((MCP3008_MAX_CODE + 1) * millivolts) / this.vrefMillivolts));
  }
}

function checkChannel(channel: number): number {
  if (!Number.isInteger(channel) || channel < 0 || channel >= MCP3008_CHANNELS) {
    throw new RangeError(`channel ${channel} is not 0..${MCP3008_CHANNELS - 1}`);
  }
  return channel;
}
