// Behavioural model of the STM32F405/407 reset and clock control (RCC), RM0090 §7. Offsets and
// fields come from registers/stm32f4/rcc.json through harness/generated/rcc.ts.
//
// What it models:
// - Every register with its reset value from the map; bits the map marks read-only (the RDY
//   flags, HSICAL, SWS) ignore writes; byte, half-word and word accesses (RM0090 §7.3).
// - Oscillators and PLLs on the virtual clock (RM0090 §7.3.1): HSIRDY follows HSION at once;
//   HSERDY sets hseStartupNs after HSEON, PLLRDY pllLockNs after PLLON, PLLI2SRDY pllLockNs after
//   PLLI2SON; clearing an ON bit clears its RDY at once. The delays are the model's choice, not
//   the manual's (the RM gives none; a crystal's start-up depends on the board): 100 us each by
//   default, a thousand polls at the default 100 ns per access, so a driver's bounded poll works.
// - The system clock switch (RM0090 §7.3.3): SWS follows SW at once when the selected source is
//   ready, else as soon as it becomes ready. SW = 11 (not allowed) leaves SWS alone. A new
//   prescaler applies at once (the RM's 1 to 16 AHB cycles are not modelled).
// - Bus clocks from the SWS source, PLLCFGR (f = source / PLLM x PLLN / PLLP) and the CFGR
//   prescalers (RM0090 §7.2, §7.3.2-7.3.3): hclkHz(), pclk1Hz(), pclk2Hz().
// - Clock gating of the regions a board gates on this RCC (common.ts ClockGate): a peripheral
//   whose enable bit (AHB1ENR/APB1ENR/APB2ENR ...) is 0 reads 0 and ignores writes. A reset bit
//   (AHB1RSTR ... with the same bit number, RM0090 §7.3.5-7.3.9) set to 1 puts the model back to
//   its reset state and holds it there until the bit is cleared.
// - The erratum "Delay after an RCC peripheral clock enabling" (ES0182 §2.1.13), when
//   `enableErratum` is on: an access to a peripheral within 2 AHB cycles (AHB peripherals) or
//   1 + AHB/APB-prescaler-ratio AHB cycles (APB peripherals) of the write that set its enable bit
//   is lost (a write dropped, a read returns 0), unless a DSB came between; the gate counts it
//   with reason "enable-delay". The delay is timed as ES0182 gives it. The field report that a
//   read-back of the RCC register is not enough on some parts (docs/drivers/stm32f4.md, "The
//   delay after enabling a clock") is not modelled: at the default 100 ns per access a read-back
//   already outlasts 2 cycles of 16 MHz.
//
// Not modelled: the clock interrupts (CIR's flags stay 0, its clear bits read 0), the clock
// security system, LSE/LSI and the backup domain (BDCR, CSR are stored only), spread spectrum,
// the low-power enable registers (stored only).
import type { Device, VirtualClock } from "../../bus.js";
import {
  RCC_MAP,
  RCC_CR, RCC_CR_HSION, RCC_CR_HSIRDY, RCC_CR_HSEON, RCC_CR_HSERDY, RCC_CR_PLLON, RCC_CR_PLLRDY,
  RCC_CR_PLLI2SON, RCC_CR_PLLI2SRDY,
  RCC_PLLCFGR, RCC_PLLCFGR_PLLSRC,
  RCC_CFGR, RCC_CFGR_HPRE_MASK, RCC_CFGR_HPRE_SHIFT, RCC_CFGR_PPRE1_MASK, RCC_CFGR_PPRE1_SHIFT,
  RCC_CFGR_PPRE2_MASK, RCC_CFGR_PPRE2_SHIFT, RCC_CFGR_SW0, RCC_CFGR_SW1, RCC_CFGR_SWS0, RCC_CFGR_SWS1,
  RCC_CIR,
} from "../../generated/rcc.js";
import {
  ClockGate, fieldsMask, fieldsWithWrite, isResettable, laneRead, mergeLanes, registerOf, shiftOf,
  type ClockSwitch, type GatedReason,
} from "./common.js";

/** The internal 16 MHz RC oscillator (RM0090 §7.2.2). */
export const HSI_HZ = 16_000_000;
/** Default HSE crystal, a common 8 MHz part (the RM allows 4 to 26 MHz, §7.2.1). */
export const DEFAULT_HSE_HZ = 8_000_000;
/** Default time from HSEON to HSERDY and from PLLON to PLLRDY: the model's choice (see the
 * file header). */
export const DEFAULT_OSCILLATOR_STARTUP_NS = 100_000;

/** AHB cycles of the enable delay for an AHB peripheral (ES0182 §2.1.13). */
const ERRATUM_AHB_CYCLES = 2;

const WORDS = RCC_MAP.size / 4;
/** Every register's reset value by word (RM0090 §7.3, through the map). */
const RESET_IMAGE = new Uint32Array(WORDS);
for (const r of RCC_MAP.registers) RESET_IMAGE[r.offset >>> 2] = (r.reset ?? 0) >>> 0;

// CFGR.SW / SWS as two-bit fields (the SVD names each bit: SW0, SW1).
const SW_MASK = RCC_CFGR_SW0 | RCC_CFGR_SW1;
const SW_SHIFT = shiftOf(SW_MASK);
const SWS_MASK = RCC_CFGR_SWS0 | RCC_CFGR_SWS1;
const SWS_SHIFT = shiftOf(SWS_MASK);
/** SW/SWS codes (RM0090 §7.3.3). */
const SOURCE_HSI = 0;
const SOURCE_HSE = 1;
const SOURCE_PLL = 2;

// PLLCFGR fields as the SVD splits them (one field per bit), put back together.
const PLLM_MASK = fieldsMask(RCC_MAP, "PLLCFGR", /^PLLM\d$/);
const PLLN_MASK = fieldsMask(RCC_MAP, "PLLCFGR", /^PLLN\d$/);
const PLLP_MASK = fieldsMask(RCC_MAP, "PLLCFGR", /^PLLP\d$/);

/** HPRE codes 1000..1111 divide by these; 0xxx by 1 (RM0090 §7.3.3: there is no /32). */
const AHB_DIVIDERS = [2, 4, 8, 16, 64, 128, 256, 512] as const;
/** PPRE codes 100..111 divide by these; 0xx by 1 (RM0090 §7.3.3). */
const APB_DIVIDERS = [2, 4, 8, 16] as const;

/** Which bus an enable register's peripherals sit on (RM0090 §7.3.10-7.3.14). */
export type PeripheralBus = "ahb" | "apb1" | "apb2";

/** The bus of an enable register, from its name: AHBxENR, APB1ENR, APB2ENR. */
export function busOfEnableRegister(name: string): PeripheralBus | null {
  if (/^AHB\dENR$/.test(name)) return "ahb";
  if (name === "APB1ENR") return "apb1";
  if (name === "APB2ENR") return "apb2";
  return null;
}

export interface Stm32RccOptions {
  clock: VirtualClock;
  /** HSE crystal frequency, Hz. DEFAULT_HSE_HZ by default. */
  hseHz?: number;
  /** HSEON to HSERDY, ns. */
  hseStartupNs?: number;
  /** PLLON to PLLRDY (and PLLI2SON to PLLI2SRDY), ns. */
  pllLockNs?: number;
  /** Model the enable-delay erratum (file header). Off by default. */
  enableErratum?: boolean;
}

interface GateEntry {
  readonly gate: ClockGate;
  readonly enableWord: number;
  readonly resetWord: number;
  readonly bus: PeripheralBus;
}

export class Stm32RccModel implements Device, ClockSwitch {
  readonly clock: VirtualClock;
  readonly hseHz: number;
  readonly hseStartupNs: number;
  readonly pllLockNs: number;
  enableErratum: boolean;

  /** Registers by word index, as stored. CR's RDY bits and CFGR's SWS are worked out on read. */
  private readonly regs = new Uint32Array(WORDS);
  /** For each bit of each register: the time it last went from 0 to 1 (enable registers). */
  private readonly setAt = new Float64Array(WORDS * 32).fill(-Infinity);
  /** The words whose setAt entries were written since reset, which is all reset() puts back (the
   * whole table is 64 KiB: filled at every reset it was most of a fuzz execution's time). */
  private readonly setAtWords: number[] = [];
  private readonly setAtWritten = new Uint8Array(WORDS);
  private hseOnAt = 0;
  private pllOnAt = 0;
  private pllI2sOnAt = 0;
  /** SWS: the source the system clock runs from now. */
  private systemSource = SOURCE_HSI;
  /** Time of the last DSB the CPU executed. */
  private lastDsbAt = -Infinity;
  private readonly gates: GateEntry[] = [];

  constructor(options: Stm32RccOptions) {
    this.clock = options.clock;
    this.hseHz = options.hseHz ?? DEFAULT_HSE_HZ;
    if (!(this.hseHz > 0)) throw new RangeError(`HSE of ${this.hseHz} Hz is not a frequency`);
    this.hseStartupNs = options.hseStartupNs ?? DEFAULT_OSCILLATOR_STARTUP_NS;
    this.pllLockNs = options.pllLockNs ?? DEFAULT_OSCILLATOR_STARTUP_NS;
    this.enableErratum = options.enableErratum ?? false;
    this.reset();
  }

  /** Every register back to its reset value (RM0090 §7.3, through the map). Gates stay attached. */
  reset(): void {
    this.regs.set(RESET_IMAGE);
    for (const word of this.setAtWords) {
      this.setAt.fill(-Infinity, word * 32, word * 32 + 32);
      this.setAtWritten[word] = 0;
    }
    this.setAtWords.length = 0;
    this.systemSource = SOURCE_HSI;
    this.hseOnAt = this.pllOnAt = this.pllI2sOnAt = 0;
  }

  // ---- Clock gating ----

  /**
   * Puts a gate under this RCC: `enableRegister` (AHB1ENR, APB1ENR, APB2ENR ...) holds the
   * enable bit the gate was built with; the reset register with the same bit is found by name
   * (AHB1ENR -> AHB1RSTR). Throws when the register is not an enable register.
   */
  addGate(gate: ClockGate, enableRegister: string): void {
    const bus = busOfEnableRegister(enableRegister);
    if (bus === null) throw new Error(`${enableRegister} is not a peripheral clock enable register (AHBxENR, APB1ENR, APB2ENR)`);
    this.gates.push({ gate, enableWord: gate.enableOffset >>> 2, resetWord: gate.resetOffset < 0 ? -1 : gate.resetOffset >>> 2, bus });
    gate.attach(this);
  }

  /** The gates under this RCC, for a report over all peripherals. */
  get clockGates(): readonly ClockGate[] {
    return this.gates.map((g) => g.gate);
  }

  /** ClockSwitch: why an access to the gate's peripheral would not reach it now. */
  blockedReason(gate: ClockGate): GatedReason | null {
    const word = gate.enableOffset >>> 2;
    const mask = gate.enableMask;
    if ((this.regs[word]! & mask) === 0) return "clock-off";
    if (gate.resetOffset >= 0 && (this.regs[gate.resetOffset >>> 2]! & mask) !== 0) return "in-reset";
    if (this.enableErratum) {
      const enabledAt = this.setAt[word * 32 + shiftOf(mask)]!;
      if (this.lastDsbAt < enabledAt && this.clock.now - enabledAt < this.enableDelayNs(gate)) return "enable-delay";
    }
    return null;
  }

  /** The erratum's delay for a gate's peripheral, ns (ES0182 §2.1.13). */
  enableDelayNs(gate: ClockGate): number {
    const entry = this.gates.find((g) => g.gate === gate);
    const hclk = this.hclkHz();
    let cycles = ERRATUM_AHB_CYCLES;
    if (entry !== undefined && entry.bus !== "ahb") cycles = 1 + hclk / (entry.bus === "apb1" ? this.pclk1Hz() : this.pclk2Hz());
    return (cycles * 1e9) / hclk;
  }

  /** Device.barrier: a DSB ends the erratum's window for every enable written before it. */
  barrier(kind: number): void {
    if (kind === 1) this.lastDsbAt = this.clock.now;
  }

  // ---- Clocks ----

  /** The source the system clock runs from (SWS): "hsi", "hse" or "pll". */
  get systemClockSource(): "hsi" | "hse" | "pll" {
    this.updateSwitch();
    return this.systemSource === SOURCE_HSE ? "hse" : this.systemSource === SOURCE_PLL ? "pll" : "hsi";
  }

  /** SYSCLK, Hz (RM0090 §7.2). */
  sysclkHz(): number {
    this.updateSwitch();
    if (this.systemSource === SOURCE_HSE) return this.hseHz;
    if (this.systemSource === SOURCE_PLL) return this.pllOutputHz();
    return HSI_HZ;
  }

  /** The main PLL's system output: (HSI or HSE) / PLLM x PLLN / PLLP (RM0090 §7.3.2); 0 for a
   * PLLM below 2 (not allowed). */
  pllOutputHz(): number {
    const cfg = this.regs[RCC_PLLCFGR >>> 2]!;
    const m = (cfg & PLLM_MASK) >>> shiftOf(PLLM_MASK);
    const n = (cfg & PLLN_MASK) >>> shiftOf(PLLN_MASK);
    const p = 2 * (((cfg & PLLP_MASK) >>> shiftOf(PLLP_MASK)) + 1);
    if (m < 2) return 0;
    const input = (cfg & RCC_PLLCFGR_PLLSRC) !== 0 ? this.hseHz : HSI_HZ;
    return ((input / m) * n) / p;
  }

  /** HCLK: SYSCLK through HPRE (RM0090 §7.3.3). */
  hclkHz(): number {
    const code = (this.regs[RCC_CFGR >>> 2]! & RCC_CFGR_HPRE_MASK) >>> RCC_CFGR_HPRE_SHIFT;
    return this.sysclkHz() / (code < 8 ? 1 : AHB_DIVIDERS[code - 8]!);
  }

  /** PCLK1 (APB1): HCLK through PPRE1. */
  pclk1Hz(): number {
    return this.hclkHz() / apbDivider((this.regs[RCC_CFGR >>> 2]! & RCC_CFGR_PPRE1_MASK) >>> RCC_CFGR_PPRE1_SHIFT);
  }

  /** PCLK2 (APB2): HCLK through PPRE2. */
  pclk2Hz(): number {
    return this.hclkHz() / apbDivider((this.regs[RCC_CFGR >>> 2]! & RCC_CFGR_PPRE2_MASK) >>> RCC_CFGR_PPRE2_SHIFT);
  }

  /** The clock of a bus: HCLK for AHB, PCLK1, PCLK2. */
  busClockHz(bus: PeripheralBus): number {
    return bus === "ahb" ? this.hclkHz() : bus === "apb1" ? this.pclk1Hz() : this.pclk2Hz();
  }

  // ---- Device ----

  read(offset: number, _width: number): number {
    const word = offset >>> 2;
    switch (word << 2) {
      case RCC_CR: return laneRead(this.controlRegister(), offset);
      case RCC_CFGR: {
        this.updateSwitch();
        const cfgr = (this.regs[word]! & ~SWS_MASK) | (this.systemSource << SWS_SHIFT);
        return laneRead(cfgr >>> 0, offset);
      }
      case RCC_CIR: return laneRead(this.regs[word]! & ~CIR_CLEAR_BITS, offset);
      default: return laneRead(this.regs[word]!, offset);
    }
  }

  write(offset: number, value: number, width: number): void {
    const word = offset >>> 2;
    const old = this.regs[word]!;
    const merged = mergeLanes(old, offset, value, width);
    const readOnly = READ_ONLY_BITS[word]!;
    const next = ((old & readOnly) | (merged & ~readOnly)) >>> 0;
    this.regs[word] = next;
    const now = this.clock.now;
    if ((word << 2) === RCC_CR) {
      const rose = next & ~old;
      if (rose & RCC_CR_HSEON) this.hseOnAt = now;
      if (rose & RCC_CR_PLLON) this.pllOnAt = now;
      if (rose & RCC_CR_PLLI2SON) this.pllI2sOnAt = now;
      return;
    }
    if ((word << 2) === RCC_CIR) {
      // The clear bits act on flags the model never sets; nothing is stored for them.
      this.regs[word] = next & ~CIR_CLEAR_BITS;
      return;
    }
    let rose = next & ~old;
    if (rose !== 0 && this.setAtWritten[word] === 0) {
      this.setAtWritten[word] = 1;
      this.setAtWords.push(word);
    }
    for (let bit = 0; rose !== 0; bit++, rose >>>= 1) if (rose & 1) this.setAt[word * 32 + bit] = now;
    if (RESET_WORDS[word]) this.applyResets(word, old, next);
  }

  // ---- Internals ----

  /** CR with the ready flags as they are now. */
  private controlRegister(): number {
    const now = this.clock.now;
    let cr = this.regs[RCC_CR >>> 2]! & ~(RCC_CR_HSIRDY | RCC_CR_HSERDY | RCC_CR_PLLRDY | RCC_CR_PLLI2SRDY);
    if (cr & RCC_CR_HSION) cr |= RCC_CR_HSIRDY;
    if ((cr & RCC_CR_HSEON) && now - this.hseOnAt >= this.hseStartupNs) cr |= RCC_CR_HSERDY;
    if ((cr & RCC_CR_PLLON) && now - this.pllOnAt >= this.pllLockNs) cr |= RCC_CR_PLLRDY;
    if ((cr & RCC_CR_PLLI2SON) && now - this.pllI2sOnAt >= this.pllLockNs) cr |= RCC_CR_PLLI2SRDY;
    return cr >>> 0;
  }

  /** SWS follows SW once the selected source is ready (RM0090 §7.3.3). */
  private updateSwitch(): void {
    const sw = (this.regs[RCC_CFGR >>> 2]! & SW_MASK) >>> SW_SHIFT;
    if (sw === this.systemSource || sw > SOURCE_PLL) return;
    const cr = this.controlRegister();
    const ready = sw === SOURCE_HSI ? RCC_CR_HSIRDY : sw === SOURCE_HSE ? RCC_CR_HSERDY : RCC_CR_PLLRDY;
    if (cr & ready) this.systemSource = sw;
  }

  /** A reset register written: blocks whose bit rose go back to reset (RM0090 §7.3.5-7.3.9). */
  private applyResets(word: number, old: number, next: number): void {
    const rose = next & ~old;
    if (rose === 0) return;
    for (const g of this.gates) {
      if (g.resetWord === word && (rose & g.gate.enableMask) !== 0 && isResettable(g.gate.inner)) g.gate.inner.reset();
    }
  }
}

function apbDivider(code: number): number {
  return code < 4 ? 1 : APB_DIVIDERS[code - 4]!;
}

/** Per word: the bits the map marks read-only (write "ignored"): RDY flags, HSICAL, SWS, ... */
const READ_ONLY_BITS: Uint32Array = (() => {
  const bits = new Uint32Array(WORDS);
  for (const r of RCC_MAP.registers) bits[r.offset >>> 2] = fieldsWithWrite(RCC_MAP, r.name, "ignored");
  return bits;
})();

/** CIR's write-only clear bits (the map's read "undefined" fields). */
const CIR_CLEAR_BITS = (() => {
  let mask = 0;
  for (const f of registerOf(RCC_MAP, "CIR").fields) if (f.read === "undefined") mask |= fieldsMask(RCC_MAP, "CIR", new RegExp(`^${f.name}$`));
  return mask >>> 0;
})();

/** Words of the peripheral reset registers (AHB1RSTR ... APB2RSTR). */
const RESET_WORDS: Uint8Array = (() => {
  const words = new Uint8Array(WORDS);
  for (const r of RCC_MAP.registers) if (/^(AHB\d|APB\d)RSTR$/.test(r.name)) words[r.offset >>> 2] = 1;
  return words;
})();

/** The reset register that goes with an enable register (AHB1ENR -> AHB1RSTR), or null. */
export function resetRegisterOf(enableRegister: string): string | null {
  const name = enableRegister.replace(/ENR$/, "RSTR");
  return RCC_MAP.registers.some((r) => r.name === name) ? name : null;
}
