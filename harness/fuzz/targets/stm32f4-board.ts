// What the STM32F4 fuzz targets share: the world built from the board file
// (fixtures/boards/stm32f405.json: addresses, sizes, RCC clock wiring and model options), with
// each peripheral behind the clock gate its RCC enable bit opens (RM0090 §7.3.10-7.3.14), and a
// session that calls the block's setup (stm32_rcc_enable of its clock) before the case's first
// driver call, unless the case begins with the clock left off. After the clock is on, no access
// of a driver call may be lost at the gate (the enable-delay erratum, ES0182 §2.1.13, is on in
// the board file). Every target fuzzes build/stm32f4.wasm, the family's own module.
import { packageProject } from "../../project.js";
import { loadBoardFile, type BoardDescription, type RegionDescription } from "../../board-file.js";
import type { Device } from "../../bus.js";
import type { RegisterBlock } from "../../regmap.js";
import { ClockGate, fieldsMask } from "../../devices/stm32f4/common.js";
import { Stm32RccModel, resetRegisterOf } from "../../devices/stm32f4/rcc.js";
import { RCC_MAP, RCC_CFGR } from "../../generated/rcc.js";
import { OK, ERR_INVALID_ARG, STM32_CLOCK_REGISTER_SHIFT } from "../../generated/api.js";
import type { World } from "../world.js";
import type { FuzzDevice } from "../device.js";
import { FuzzFailure, Session, hex, showResult, type ExportSpec, type Step, type Target } from "../target.js";
import fc from "fast-check";

/** The board the STM32F4 targets run on. */
export const STM32F4_BOARD = "stm32f405";

/** The module the STM32F4 targets fuzz: the config's "stm32f4" module. */
export function stm32f4Module(): string {
  return packageProject().modulePath("stm32f4");
}

let board: BoardDescription | undefined;

/** The board description, read once per process. */
export function stm32f4Board(): BoardDescription {
  board ??= loadBoardFile(STM32F4_BOARD, packageProject());
  return board;
}

export function regionOf(name: string): RegionDescription {
  const r = stm32f4Board().regions.find((x) => x.name === name);
  if (r === undefined) throw new Error(`board ${STM32F4_BOARD} has no region ${name}`);
  return r;
}

/** A device option of a region as the board file gives it (numbers may be written in hex). */
export function optionOf(region: RegionDescription, key: string): number | boolean | undefined {
  const v = (region.device.options as Record<string, unknown>)[key];
  if (typeof v === "number" || typeof v === "boolean") return v;
  if (typeof v === "string" && /^0x[0-9a-f]+$/i.test(v)) return Number(v);
  return undefined;
}

// The RCC's register exports: enable, disable and reset make one read-modify-write each (reset:
// two) and a DSB; bus_clock_hz two reads.
export const RCC_EXPORTS: readonly ExportSpec[] = [
  { name: "stm32_rcc_enable", statuses: [OK, ERR_INVALID_ARG], budget: () => 4 },
  { name: "stm32_rcc_disable", statuses: [OK, ERR_INVALID_ARG], budget: () => 3 },
  { name: "stm32_rcc_reset", statuses: [OK, ERR_INVALID_ARG], budget: () => 6 },
];

/** A gated peripheral of the board as a session maps it. */
export interface GatedRegion {
  readonly name: string;
  readonly base: number;
  readonly device: FuzzDevice;
  readonly gate: ClockGate;
  /** Its STM32_CLOCK_* id, from the region's clock entry: (enable register offset << 8) | bit. */
  readonly clockId: number;
}

/**
 * The RCC and the named regions of the board on the world's bus: the RCC model with the board's
 * options, then each region's model (made by `make`) behind a clock gate wired to the RCC as the
 * board file says.
 */
export class Stm32Board {
  readonly rcc: Stm32RccModel;
  readonly rccDevice: FuzzDevice;
  readonly rccBase: number;
  private readonly gated = new Map<string, GatedRegion>();

  constructor(readonly world: World) {
    const r = regionOf("rcc");
    const hseHz = optionOf(r, "hseHz");
    const hseStartupNs = optionOf(r, "hseStartupNs");
    const pllLockNs = optionOf(r, "pllLockNs");
    this.rcc = new Stm32RccModel({
      clock: world.clock,
      enableErratum: optionOf(r, "enableErratum") === true,
      ...(typeof hseHz === "number" ? { hseHz } : {}),
      ...(typeof hseStartupNs === "number" ? { hseStartupNs } : {}),
      ...(typeof pllLockNs === "number" ? { pllLockNs } : {}),
    });
    this.rccBase = r.base;
    this.rccDevice = world.mapDevice(r.name, r.base, r.size, this.rcc, RCC_MAP);
  }

  /** Maps a region's model behind its clock gate. */
  map(name: string, model: Device, map: RegisterBlock): GatedRegion {
    const r = regionOf(name);
    const clock = r.clock;
    if (clock === undefined) throw new Error(`region ${name} of ${STM32F4_BOARD} has no clock entry`);
    const enable = RCC_MAP.registers.find((x) => x.name === clock.register)!;
    const mask = fieldsMask(RCC_MAP, enable.name, new RegExp(`^${clock.field}$`));
    const resetName = resetRegisterOf(clock.register);
    const reset = resetName === null ? undefined : RCC_MAP.registers.find((x) => x.name === resetName);
    const gate = new ClockGate(name, model, this.world.clock, enable.offset, mask, `${clock.register}.${clock.field}`, reset?.offset ?? -1);
    this.rcc.addGate(gate, clock.register);
    const device = this.world.mapDevice(name, r.base, r.size, gate, map);
    const region: GatedRegion = { name, base: r.base, device, gate, clockId: (enable.offset << STM32_CLOCK_REGISTER_SHIFT) | (31 - Math.clz32(mask)) };
    this.gated.set(name, region);
    return region;
  }

  region(name: string): GatedRegion {
    const g = this.gated.get(name);
    if (g === undefined) throw new Error(`region ${name} is not mapped`);
    return g;
  }

  /** Power-on: the RCC back to reset (clocks off), the gates' records emptied. The caller
   * resets the peripheral models. */
  reset(): void {
    this.rcc.reset();
    this.rcc.enableErratum = optionOf(regionOf("rcc"), "enableErratum") === true;
    for (const g of this.gated.values()) g.gate.clear();
  }
}

/** CFGR settings a step may give the clock tree, as firmware before the drivers would: the
 * prescaler fields only (RM0090 §7.3.3). Slow AHB clocks make the enable delay long. */
export const CLOCK_TREES = [
  { name: "reset (HSI 16 MHz, all prescalers 1)", cfgr: 0 },
  { name: "APB1 / 2", cfgr: 0b100 << 10 },
  { name: "APB1 / 4, APB2 / 2", cfgr: (0b101 << 10) | (0b100 << 13) },
  { name: "AHB / 2", cfgr: 0b1000 << 4 },
  { name: "AHB / 512", cfgr: 0b1111 << 4 },
] as const;

export const clockTreeStep: fc.Arbitrary<Step> = fc.integer({ min: 0, max: CLOCK_TREES.length - 1 }).map((tree): Step => ({ op: "clock-tree", tree }));

/** Clock steps every block target has: enable, disable or reset its clock through the driver. */
export const clockSteps: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Step>({ op: "clock", action: "enable" }) },
  { weight: 2, arbitrary: fc.constant<Step>({ op: "clock", action: "disable" }) },
  { weight: 1, arbitrary: fc.constant<Step>({ op: "clock", action: "reset" }) },
  // As the first step: the case runs with the clock never enabled.
  { weight: 2, arbitrary: fc.constant<Step>({ op: "clock", action: "off" }) },
);

export function describeClockStep(step: Step): string | null {
  if (step.op === "clock-tree") return `firmware sets the clock tree: ${CLOCK_TREES[step["tree"] as number]!.name}`;
  if (step.op !== "clock") return null;
  const action = step["action"];
  return action === "off" ? "the block's clock is left off" : `stm32_rcc_${String(action)}(the block's clock)`;
}

/**
 * A session on an STM32F4 block: the board, the block's clock as the simple model keeps it, the
 * setup call before the first driver call, and the gate check after every driver call.
 */
export abstract class Stm32Session extends Session {
  readonly board: Stm32Board;
  /** The simple model's view of the clock: enabled by a call that returned OK. */
  protected clockOn = false;
  /** True once the case has set the clock up (or chosen to leave it off). */
  protected setUp = false;
  private gateCounts = 0;

  constructor(world: World, target: Target) {
    super(world, target);
    this.board = new Stm32Board(world);
  }

  /** The block's gated region (the one whose clock the case switches). */
  protected abstract get block(): GatedRegion;
  /** The block's model back to reset, and the simple model emptied. */
  protected abstract resetBlock(): void;

  reset(): void {
    this.board.reset();
    this.clockOn = false;
    this.setUp = false;
    this.resetBlock();
  }

  /** Runs clock steps; sets the clock up before the first other step that calls the driver.
   * True when the step was a clock step. */
  protected runClock(step: Step): boolean {
    if (step.op === "clock-tree") {
      const cfgr = CLOCK_TREES[step["tree"] as number]!.cfgr;
      this.board.rcc.write(RCC_CFGR, cfgr, 4);
      return true;
    }
    if (step.op !== "clock") return false;
    const action = step["action"] as string;
    if (action === "off") {
      this.setUp = true;
      return true;
    }
    this.setUp = true;
    this.clockCall(action as "enable" | "disable" | "reset");
    return true;
  }

  /** Before a driver step: the setup call, once. */
  protected setup(): void {
    if (this.setUp) return;
    this.setUp = true;
    this.clockCall("enable");
  }

  private clockCall(action: "enable" | "disable" | "reset"): void {
    const name = `stm32_rcc_${action}`;
    const result = this.call(name, [this.board.rccBase, this.block.clockId]);
    if (result !== OK) this.fail(name, `${name}(${hex(this.block.clockId)}) returned ${showResult(result)} for the board's clock id of ${this.block.name}`);
    if (action === "enable") this.clockOn = true;
    else if (action === "disable") this.clockOn = false;
    else this.onBlockReset();
  }

  /** The RCC reset the block: the simple model forgets its configuration. */
  protected abstract onBlockReset(): void;

  protected override beforeCall(_name: string): void {
    this.gateCounts = this.block.gate.count;
  }

  /**
   * Calls a block export (this.call) and checks that, with the clock on, none of its accesses
   * was kept from the peripheral by the gate: RM0090 §7.3.10-7.3.14, ES0182 §2.1.13.
   */
  protected callBlock(name: string, args: readonly number[]): number {
    const result = this.call(name, args);
    const gate = this.block.gate;
    if (this.clockOn && !this.world.overridden && gate.count !== this.gateCounts) {
      this.fail(name, `${gate.count - this.gateCounts} access(es) of ${name} did not reach ${this.block.name} although its clock was enabled: ${gate.describe()}`);
    }
    return result;
  }

  /** The block's clock will be open for the next driver step: it is, or the setup call comes
   * first. */
  protected get gateOpens(): boolean {
    return this.block.gate.open || !this.setUp;
  }

  /** A protocol finding noticed once a call has returned (an access sequence that cleared a
   * flag the driver never reported). */
  protected protocol(call: string, message: string): never {
    throw new FuzzFailure("protocol", message, call);
  }

  /** The block answers: its clock is on and no read was replaced. */
  protected get judged(): boolean {
    return this.clockOn && !this.world.overridden;
  }
}
