// Board description files (docs/scenarios.md): a JSON file that lists the regions of a board's
// address space, the register block in each and the device behind it, with the connections
// between the models (a chip select from a GPIO pin, DMA request lines, the module's linear
// memory on the bus for a DMA master). parseBoardFile() checks a file and names the bad entry
// by its JSON path; buildBoard() turns a description into a Bus with its devices and the module
// instantiated on it.
//
// Device kinds are a registry: the built-in models register here, and another module adds a
// kind (a replay of a recorded trace, a bridge to real hardware) with registerDeviceKind(),
// without editing this file.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { Bus, VirtualClock, type Device, type Region } from "./bus.js";
import { Hal, type HalOptions, type HalVariant } from "./hal.js";
import type { RegisterBlock } from "./regmap.js";
import type { Registry } from "./registry.js";
import { packageProject, packageRegistry, type Project } from "./project.js";
import { JsonFileError, excerpt, parseJsonText } from "./json-text.js";
import { closeTo, suggest } from "./near-miss.js";
import { Pl011Model, type Pl011Revision } from "./devices/pl011.js";
import { Pl022Model } from "./devices/pl022.js";
import { Pl061Model, PL061_PIN_COUNT } from "./devices/pl061.js";
import { Pl080Model, PL080_REQUEST_LINE_COUNT } from "./devices/pl080.js";
import { LinearMemoryRam, Ram } from "./devices/ram.js";
import { SpiNorFlash, type SpiSlave } from "./devices/spi.js";
import type { DmaDirection, DmaRequester, PinListener } from "./devices/signals.js";
import { ClockGate, fieldsMask } from "./devices/stm32f4/common.js";
import { Stm32GpioModel, STM32_GPIO_PIN_COUNT } from "./devices/stm32f4/gpio.js";
import { Stm32RccModel, busOfEnableRegister, resetRegisterOf } from "./devices/stm32f4/rcc.js";
import { registerStm32f4DeviceKinds } from "./devices/stm32f4/kinds.js";
import { IrqController, IRQC_LINE_COUNT } from "./devices/irqc.js";
import { Interrupts, type InterruptOptions } from "./interrupts.js";
import type { InterruptSource } from "./devices/signals.js";

// ---------------------------------------------------------------------------------------------
// Errors and JSON reading

/** A board file that does not follow docs/scenarios.md: the file, the JSON path of the bad
 * entry (`regions[2].base`) and what was expected. */
export class BoardFileError extends Error {
  constructor(
    readonly fileName: string,
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${fileName}: ${path === "" ? "" : `${path}: `}${problem}`);
    this.name = "BoardFileError";
  }
}

/** A JSON value as JSON.parse returns it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const HEX_TEXT = /^0x[0-9a-fA-F]+$/;
const DECIMAL_TEXT = /^[0-9]+$/;

function describe(value: Json | undefined): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return JSON.stringify(value);
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface IntegerOptions {
  min?: number;
  max?: number;
}

/**
 * One JSON object of a board file, read key by key. Every reader names the key's JSON path in
 * its error; done() refuses the keys nobody read, so that a misspelt option is an error rather
 * than silently ignored. Device factories read their options through it.
 */
export class JsonObject {
  private readonly read = new Set<string>();

  constructor(
    readonly fileName: string,
    readonly path: string,
    readonly value: { readonly [key: string]: Json },
  ) {}

  /** The JSON path of a key of this object. */
  pathOf(key: string): string {
    return this.path === "" ? key : `${this.path}.${key}`;
  }

  fail(key: string | null, problem: string): never {
    throw new BoardFileError(this.fileName, key === null ? this.path : this.pathOf(key), problem);
  }

  /** For a key that is missing: a key of the object that looks like a misspelling of it is
   * named as the unknown key it is, rather than the right key reported missing. */
  private failMissing(key: string, expected: string): never {
    const near = Object.keys(this.value).find((k) => !this.read.has(k) && k !== key && closeTo(k, key));
    if (near !== undefined) this.fail(near, `unknown key (did you mean ${key}?): expected ${key}, ${expected}`);
    this.fail(key, `missing: expected ${expected}`);
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.value, key) && this.value[key] !== undefined;
  }

  /** The raw value of a key (marked as read); never an inherited property. */
  raw(key: string): Json | undefined {
    this.read.add(key);
    return Object.prototype.hasOwnProperty.call(this.value, key) ? this.value[key] : undefined;
  }

  /** An integer, written as a JSON number, a decimal string or a 0x-prefixed hex string. */
  integer(key: string, options: IntegerOptions & { default?: number } = {}): number {
    const value = this.raw(key);
    if (value === undefined) {
      if (options.default !== undefined) return options.default;
      this.failMissing(key, "an integer (a number, or a string such as \"0x1000\")");
    }
    return integerValue(value, options, (problem) => this.fail(key, problem));
  }

  optionalInteger(key: string, options: IntegerOptions = {}): number | undefined {
    return this.has(key) ? this.integer(key, options) : undefined;
  }

  string(key: string, options: { oneOf?: readonly string[]; default?: string; pattern?: RegExp; what?: string } = {}): string {
    const value = this.raw(key);
    if (value === undefined) {
      if (options.default !== undefined) return options.default;
      this.failMissing(key, `${options.what ?? "a string"}${options.oneOf ? ` (one of ${options.oneOf.join(", ")})` : ""}`);
    }
    if (typeof value !== "string") this.fail(key, `${describe(value)} is not a string: expected ${options.what ?? "a string"}`);
    if (options.oneOf !== undefined && !options.oneOf.includes(value)) this.fail(key, `"${value}" is not allowed: expected one of ${options.oneOf.join(", ")}`);
    if (options.pattern !== undefined && !options.pattern.test(value)) this.fail(key, `"${value}" is not ${options.what ?? "valid"}`);
    return value;
  }

  optionalString(key: string, options: { oneOf?: readonly string[]; pattern?: RegExp; what?: string } = {}): string | undefined {
    return this.has(key) ? this.string(key, options) : undefined;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") this.fail(key, `${describe(value)} is not a boolean: expected true or false`);
    return value;
  }

  object(key: string): JsonObject {
    const value = this.raw(key);
    if (!isObject(value)) this.fail(key, `${value === undefined ? "missing" : `${describe(value)} is not an object`}: expected an object { ... }`);
    return new JsonObject(this.fileName, this.pathOf(key), value);
  }

  optionalObject(key: string): JsonObject | undefined {
    return this.has(key) ? this.object(key) : undefined;
  }

  /** The items of an array (empty when the key is absent and `required` is false). */
  array(key: string, options: { required?: boolean; nonEmpty?: boolean } = {}): JsonItem[] {
    const value = this.raw(key);
    if (value === undefined && !options.required) return [];
    if (!Array.isArray(value)) this.fail(key, `${value === undefined ? "missing" : `${describe(value)} is not an array`}: expected an array [ ... ]`);
    if (options.nonEmpty && value.length === 0) this.fail(key, "empty: expected at least one entry");
    return value.map((item, i) => new JsonItem(this.fileName, `${this.pathOf(key)}[${i}]`, item));
  }

  /** Refuses the keys that no reader asked for. */
  done(): void {
    const unknown = Object.keys(this.value).filter((k) => !this.read.has(k));
    if (unknown.length > 0) {
      const known = [...this.read].sort().join(", ");
      this.fail(unknown[0]!, `unknown key "${unknown[0]}": expected ${known === "" ? "no keys here" : `one of ${known}`}`);
    }
  }
}

/** One element of a JSON array, with its path (`regions[2]`). */
export class JsonItem {
  constructor(
    readonly fileName: string,
    readonly path: string,
    readonly value: Json,
  ) {}

  fail(problem: string): never {
    throw new BoardFileError(this.fileName, this.path, problem);
  }

  object(): JsonObject {
    if (!isObject(this.value)) this.fail(`${describe(this.value)} is not an object: expected an object { ... }`);
    return new JsonObject(this.fileName, this.path, this.value);
  }

  integer(options: IntegerOptions = {}): number {
    return integerValue(this.value, options, (problem) => this.fail(problem));
  }
}

function integerValue(value: Json, options: IntegerOptions, fail: (problem: string) => never): number {
  let n: number;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) fail(`${value} is not an integer`);
    n = value;
  } else if (typeof value === "string") {
    if (value.startsWith("0x") || value.startsWith("0X")) {
      if (!HEX_TEXT.test(value)) fail(`bad hex "${value}": expected 0x followed by hex digits`);
      n = parseInt(value.slice(2), 16);
    } else if (DECIMAL_TEXT.test(value)) {
      n = Number(value);
    } else {
      fail(`"${value}" is not a number: expected a decimal integer or 0x-prefixed hex`);
    }
  } else {
    fail(`${describe(value)} is not an integer: expected a number, or a string such as "0x1000"`);
  }
  const min = options.min ?? 0;
  const max = options.max ?? 0xffffffff;
  if (n < min || n > max) fail(`${n < 0 ? n : `${n} (0x${n.toString(16)})`} is out of range: expected ${min}..${max}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Device kinds

/** What a factory gets: the region it fills, its options and the bus it will sit on. */
export interface DeviceContext {
  readonly fileName: string;
  /** Folder of the board file: relative paths in options are relative to it. */
  readonly baseDir: string;
  readonly region: RegionDescription;
  /** The device object of the region, `kind` already read. Read every option through it:
   * options nobody read are refused after the factory returns. */
  readonly options: JsonObject;
  readonly bus: Bus;
  readonly clock: VirtualClock;
  /** The register blocks of the board's project. */
  readonly registry: Registry;
  /** Work that needs the other devices or the module (connections): run in file order once
   * every device exists and the module is instantiated, before the board is handed out. */
  connect(step: (board: Board) => void): void;
  /** Gives a part of the device (an SPI flash behind an SSP) a name scenarios can look up. */
  addPart(name: string, part: object, path: string): void;
}

export type DeviceFactory = (context: DeviceContext) => Device;

export interface DeviceKindOptions {
  /** The kind stands for the real peripheral (hardware through a bridge, a replay of a
   * recording): a scenario cannot stimulate or inspect it as a model. */
  readonly hardware?: boolean;
  /** The register block the kind implements (a block name; the board's registry must have it
   * when a board uses the kind), null for plain memory; absent
   * for a kind that fits any region (a replay, a bridge to hardware). */
  readonly block?: string | null;
  /** One line for documentation and error messages. */
  readonly doc?: string;
}

interface DeviceKind {
  readonly factory: DeviceFactory;
  readonly hardware: boolean;
  readonly block: string | null | undefined;
  readonly doc: string;
}

const KINDS = new Map<string, DeviceKind>();

/** Adds a device kind that board files may name in `device.kind`. A kind is registered once. */
export function registerDeviceKind(kind: string, factory: DeviceFactory, options: DeviceKindOptions = {}): void {
  if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`device kind "${kind}": expected lower-case letters, digits and -`);
  if (KINDS.has(kind)) throw new Error(`device kind "${kind}" is already registered`);
  KINDS.set(kind, { factory, block: options.block, doc: options.doc ?? "", hardware: options.hardware === true });
}

/** True for a kind that stands for the real peripheral (DeviceKindOptions.hardware). */
export function isHardwareKind(kind: string): boolean {
  return KINDS.get(kind)?.hardware === true;
}

/** The registered kinds, sorted, with the block each implements. */
export function deviceKinds(): { kind: string; block: string | null | undefined; doc: string }[] {
  return [...KINDS.entries()].map(([kind, k]) => ({ kind, block: k.block, doc: k.doc })).sort((a, b) => a.kind.localeCompare(b.kind));
}

// ---------------------------------------------------------------------------------------------
// Descriptions

export interface DeviceDescription {
  readonly kind: string;
  /** The device object as written, `kind` included. */
  readonly options: { readonly [key: string]: Json };
  /** JSON path of the device object (`regions[2].device`). */
  readonly path: string;
}

export interface RegionDescription {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  /** A block of the board's registry, or null for plain memory. */
  readonly block: string | null;
  readonly doc: string;
  readonly device: DeviceDescription;
  /** Facts of the board about the peripheral that driver calls need (a clock rate), whatever
   * device backs the region: `"facts": { "uartclkHz": 24000000 }`. */
  readonly facts: Readonly<Record<string, number>>;
  /** The RCC enable bit that gates the region's clock (`"clock": { "rcc": "rcc", "enable":
   * "APB2ENR.USART1EN" }`), or absent for a region whose clock is always on. */
  readonly clock?: RegionClock;
  /** JSON path of the region (`regions[2]`). */
  readonly path: string;
}

/** A region's clock gate: the RCC region and the enable bit, checked against the RCC's map. */
export interface RegionClock {
  /** The region of the RCC model. */
  readonly rcc: string;
  /** The enable register (AHB1ENR, APB1ENR, APB2ENR ...) and its one-bit field. */
  readonly register: string;
  readonly field: string;
  /** JSON path of the clock object (`regions[3].clock`). */
  readonly path: string;
}

export interface BoardDescription {
  readonly fileName: string;
  readonly name: string;
  readonly doc: string;
  /** Virtual time of one CPU bus access, ns. */
  readonly accessNs: number;
  /** In file order. */
  readonly regions: readonly RegionDescription[];
  /** The register blocks the regions name. */
  readonly registry: Registry;
}

const REGION_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Regions a board file may have: checking them against each other stays quick. */
export const MAX_BOARD_REGIONS = 4096;
const hex8 = (n: number): string => "0x" + (n >>> 0).toString(16).padStart(8, "0");

/** Parses and checks a board file's text. Device options are checked when the board is built. */
export function parseBoardFile(text: string, fileName: string, registry: Registry = packageRegistry()): BoardDescription {
  let json: Json;
  try {
    json = parseJsonText(text, fileName);
  } catch (e) {
    if (e instanceof JsonFileError) throw new BoardFileError(fileName, e.where, e.problem);
    throw e;
  }
  if (!isObject(json)) throw new BoardFileError(fileName, "", `the file holds ${describe(json)}: expected a JSON object with "regions"`);
  const top = new JsonObject(fileName, "", json);
  const name = top.string("name", { default: fileName.replace(/^.*[\\/]/, "").replace(/\.json$/, ""), what: "a board name" });
  const doc = top.string("doc", { default: "" });
  const accessNs = top.integer("accessNs", { default: 100, min: 1, max: 1_000_000 });
  const regions: RegionDescription[] = [];
  const items = top.array("regions", { required: true, nonEmpty: true });
  if (items.length > MAX_BOARD_REGIONS) top.fail("regions", `${items.length} regions: expected at most ${MAX_BOARD_REGIONS} (a SoC has a few hundred peripherals at most)`);
  const clocks = new Map<RegionDescription, JsonObject>();
  for (const item of items) {
    const o = item.object();
    const region = parseRegion(o, regions, registry, clocks);
    regions.push(region);
  }
  for (const [region, clock] of clocks) checkRegionClock(region, clock, regions, registry);
  top.done();
  return { fileName, name, doc, accessNs, regions, registry };
}

function parseRegion(o: JsonObject, before: readonly RegionDescription[], registry: Registry, clocks: Map<RegionDescription, JsonObject>): RegionDescription {
  const name = o.string("name", { pattern: REGION_NAME, what: "a region name (a letter or _, then letters, digits, _ . or -)" });
  const twice = before.find((r) => r.name === name);
  if (twice !== undefined) o.fail("name", `region name ${name} is used twice (also ${twice.path}): expected each name once`);
  const base = o.integer("base");
  if ((base & 3) !== 0) o.fail("base", `${hex8(base)} is not word-aligned: expected a multiple of 4`);
  const size = o.integer("size", { min: 1 });
  if (base + size > 2 ** 32) o.fail("size", `0x${size.toString(16)} at ${hex8(base)} runs past the 32-bit address space: expected base + size <= 0x100000000`);

  const blockValue = o.raw("block");
  let block: string | null;
  let map: RegisterBlock | undefined;
  if (blockValue === null) {
    block = null;
  } else if (typeof blockValue === "string") {
    map = registry.block(blockValue);
    if (map === undefined) o.fail("block", `unknown register block "${excerpt(blockValue, 40)}"${suggest(blockValue, registry.names())}: ${registry.expected()}, or null for memory`);
    block = blockValue;
    if (size > map.size) o.fail("size", `0x${size.toString(16)} exceeds the ${block} block (0x${map.size.toString(16)}): expected at most 0x${map.size.toString(16)}`);
  } else {
    o.fail("block", `${describe(blockValue)}: expected a register block name (${registry.names().join(", ")}) or null for memory`);
  }
  const doc = o.string("doc", { default: "" });
  const facts: Record<string, number> = {};
  if (o.raw("facts") !== undefined) {
    const f = o.object("facts");
    for (const key of Object.keys(f.value)) {
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(key)) f.fail(key, `a fact's name is an identifier (uartclkHz), got ${JSON.stringify(key)}`);
      facts[key] = f.integer(key);
    }
    f.done();
  }

  for (const r of before) {
    if (base < r.base + r.size && r.base < base + size) {
      o.fail("base", `region ${name} (${hex8(base)}..${hex8(base + size - 1)}) overlaps ${r.path} ${r.name} (${hex8(r.base)}..${hex8(r.base + r.size - 1)}): expected disjoint regions`);
    }
  }

  const deviceObject: JsonObject = o.object("device");
  const kind = deviceObject.string("kind", { what: "a device kind" });
  const registered = KINDS.get(kind);
  if (registered === undefined) deviceObject.fail("kind", `unknown device kind "${kind}": expected one of ${[...KINDS.keys()].sort().join(", ")}`);
  if (registered.block !== undefined && registered.block !== block) {
    const wants = registered.block === null ? "null (memory)" : `"${registered.block}"`;
    o.fail("block", `a ${kind} device needs block ${wants}, not ${block === null ? "null" : `"${block}"`}`);
  }
  let clock: RegionClock | undefined;
  let clockObject: JsonObject | undefined;
  if (o.raw("clock") !== undefined) {
    clockObject = o.object("clock");
    const rcc = clockObject.string("rcc", { what: "the name of the region of the RCC that gates this region's clock" });
    const enable = clockObject.string("enable", { pattern: /^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/, what: "an enable bit as REGISTER.FIELD (APB2ENR.USART1EN)" });
    clockObject.done();
    const [register, field] = enable.split(".") as [string, string];
    clock = { rcc, register, field, path: clockObject.path };
  }
  o.done();
  const region: RegionDescription = {
    name, base, size, block, doc, device: { kind, options: deviceObject.value, path: deviceObject.path }, facts,
    ...(clock === undefined ? {} : { clock }), path: o.path,
  };
  if (clockObject !== undefined) clocks.set(region, clockObject);
  return region;
}

/** A region's `clock`: the RCC region exists, has a register map, and its map has the enable
 * register (an AHBxENR, APB1ENR or APB2ENR) with a one-bit field of that name. */
function checkRegionClock(region: RegionDescription, o: JsonObject, regions: readonly RegionDescription[], registry: Registry): void {
  const clock = region.clock!;
  const rcc = regions.find((r) => r.name === clock.rcc);
  if (rcc === undefined) o.fail("rcc", `no region named ${clock.rcc}: expected the name of the RCC region (one of ${regions.map((r) => r.name).join(", ")})`);
  const map = rcc.block === null ? undefined : registry.block(rcc.block);
  if (map === undefined) o.fail("rcc", `region ${clock.rcc} has no register map (block null): expected the RCC region, block "rcc"`);
  const reg = map.registers.find((r) => r.name === clock.register);
  const enableRegisters = map.registers.filter((r) => busOfEnableRegister(r.name) !== null).map((r) => r.name);
  if (reg === undefined) o.fail("enable", `block ${map.block} has no register ${clock.register}: expected one of ${enableRegisters.join(", ")}`);
  if (busOfEnableRegister(reg.name) === null) o.fail("enable", `${reg.name} is not a peripheral clock enable register: expected one of ${enableRegisters.join(", ")}`);
  const field = reg.fields.find((f) => f.name === clock.field);
  if (field === undefined) o.fail("enable", `${reg.name} has no field ${clock.field}: expected one of ${reg.fields.map((f) => f.name).join(", ")}`);
  if (field.msb !== field.lsb) o.fail("enable", `${reg.name}.${field.name} is ${field.msb - field.lsb + 1} bits wide: expected a one-bit enable`);
}

/** The folder of the package's own board files. */
export function boardsDir(): string {
  return packageProject().boardsDir;
}

/** A board file's path: a board's name (`versatile`, looked up in the project's boards folder)
 * or a path. */
export function boardFilePath(nameOrPath: string, project: Project = packageProject()): string {
  return project.boardPath(nameOrPath);
}

/** Reads and parses a board file; `nameOrPath` as for boardFilePath. Its blocks are looked up
 * in the project's registry. */
export function loadBoardFile(nameOrPath: string, project: Project = packageProject()): BoardDescription {
  const path = boardFilePath(nameOrPath, project);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BoardFileError(path, "", code === "ENOENT" ? `no such board file (a board's name in ${project.boardsDir}, or the path of a .json file)` : code === "EISDIR" ? "is a folder: expected a board's .json file" : `cannot read it: ${(e as Error).message}`);
  }
  return parseBoardFile(text, path, project.registry);
}

// ---------------------------------------------------------------------------------------------
// Building

/** A type a model can be checked against with instanceof. */
export type ModelClass<T> = abstract new (...args: never[]) => T;

/** A call the board made while it was built (telling the driver where linear memory is). */
export interface SetupCall {
  readonly name: string;
  readonly args: readonly number[];
  readonly result: number;
}

/** A built board: the bus with its devices, and the module instantiated on it. */
export class Board {
  /** Calls made while building; the trace was cleared after them. */
  readonly setupCalls: SetupCall[] = [];

  constructor(
    readonly description: BoardDescription,
    readonly bus: Bus,
    readonly hal: Hal,
    private readonly devices: ReadonlyMap<string, Device>,
    private readonly parts: ReadonlyMap<string, object>,
    private readonly chipSelects: ReadonlyMap<string, ChipSelectWiring>,
    private readonly gates: ReadonlyMap<string, ClockGate> = new Map(),
  ) {}

  /** The clock gate of a region with a `clock` entry (its gated-access count and record), or
   * null for a region whose clock is always on. */
  clockGate(region: string): ClockGate | null {
    this.regionDescription(region);
    return this.gates.get(region) ?? null;
  }

  /** Every clock gate of the board, by region. */
  get clockGates(): ReadonlyMap<string, ClockGate> {
    return this.gates;
  }

  get clock(): VirtualClock {
    return this.bus.clock;
  }

  /** The region of that name; an error names the board file and the regions it has. */
  region(name: string): Region {
    const r = this.bus.regions.find((x) => x.name === name);
    if (r === undefined) throw new Error(`board ${this.description.name} (${this.description.fileName}) has no region named ${name} (regions: ${this.bus.regions.map((x) => x.name).join(", ") || "none"})`);
    return r;
  }

  /** A region's base address. */
  base(name: string): number {
    return this.region(name).base;
  }

  regionDescription(name: string): RegionDescription {
    const r = this.description.regions.find((x) => x.name === name);
    if (r === undefined) throw new Error(`board ${this.description.name} (${this.description.fileName}) has no region named ${name} (regions: ${this.description.regions.map((x) => x.name).join(", ")})`);
    return r;
  }

  device(name: string): Device {
    const d = this.devices.get(name);
    if (d === undefined) throw new Error(`board ${this.description.name} (${this.description.fileName}) has no region named ${name} (regions: ${[...this.devices.keys()].join(", ")})`);
    return d;
  }

  /** The device of a region, checked to be of a model class. */
  model<T>(name: string, type: ModelClass<T>): T {
    const d = this.device(name);
    if (!(d instanceof type)) {
      throw new Error(`board ${this.description.name}: region ${name} holds a ${this.regionDescription(name).device.kind} device, not a ${type.name}`);
    }
    return d as T;
  }

  /** True when a device of the board gave a part this name. */
  hasPart(name: string): boolean {
    return this.parts.has(name);
  }

  /** The board's interrupt controller (a region of kind irq-controller); an error when the board
   * has none, or more than one and no name is given. */
  interruptController(region?: string): IrqController {
    if (region !== undefined) return this.model(region, IrqController);
    const found = [...this.devices.entries()].filter(([, d]) => d instanceof IrqController);
    if (found.length !== 1) throw new Error(`board ${this.description.name} (${this.description.fileName}) has ${found.length === 0 ? "no interrupt controller: add a region of kind irq-controller (docs/interrupts.md)" : `${found.length} interrupt controllers (${found.map(([n]) => n).join(", ")}): name one`}`);
    return found[0]![1] as IrqController;
  }

  /** Starts delivering the controller's interrupts into the module, in the mode the options say
   * (deferred unless told otherwise; docs/interrupts.md). */
  deliverInterrupts(options: InterruptOptions & { readonly controller?: string } = {}): Interrupts {
    return new Interrupts(this.hal, this.interruptController(options.controller), options);
  }

  /** A named part (an SPI slave), checked to be of a class. */
  part<T>(name: string, type: ModelClass<T>): T {
    const p = this.parts.get(name);
    if (p === undefined) throw new Error(`board ${this.description.name} has no part named ${name} (have: ${[...this.parts.keys()].join(", ") || "none"})`);
    if (!(p instanceof type)) throw new Error(`board ${this.description.name}: part ${name} is not a ${type.name}`);
    return p as T;
  }

  /**
   * A fact of the board about a region's peripheral that driver calls need (a clock rate): the
   * region's `facts`, else the option of that name of its device (a model's own clock). Any
   * device kind can have facts, so the same scenario runs on models, a replay or hardware.
   */
  fact(region: string, key: string): number {
    const r = this.regionDescription(region);
    const fact = Object.prototype.hasOwnProperty.call(r.facts, key) ? r.facts[key] : undefined;
    if (fact !== undefined) return fact;
    const o = new JsonObject(this.description.fileName, r.device.path, r.device.options);
    if (!o.has(key)) {
      throw new BoardFileError(this.description.fileName, `${r.path}.facts`, `region ${region} has no fact ${key}, which this scenario needs: add "facts": { "${key}": ... } to the region (any device kind), or give its model the option ${key}`);
    }
    return o.integer(key);
  }

  /** The same as fact(): the name older code uses. */
  deviceInteger(region: string, key: string): number {
    return this.fact(region, key);
  }

  /** True when the region's device stands for the real peripheral (devmem, replay): no model. */
  isHardware(region: string): boolean {
    return isHardwareKind(this.regionDescription(region).device.kind);
  }

  /** The chip-select wiring of an SPI slave part, or null when nothing on the board drives it. */
  chipSelectOf(part: string): ChipSelectWiring | null {
    return this.chipSelects.get(part) ?? null;
  }

  /** Ends the run on every device and part that checks its end (a replay: nothing recorded
   * may be left). Throws what such a check finds. */
  finish(): void {
    const seen = new Set<object>();
    for (const thing of [...this.devices.values(), ...this.parts.values()]) {
      if (seen.has(thing)) continue;
      seen.add(thing);
      const finishing = thing as { finish?: () => void };
      if (typeof finishing.finish === "function") finishing.finish();
    }
  }

  /** Releases what the devices hold outside the process's memory (a /dev/mem window's mapping
   * and lock): every device with a close() method is closed. The board is not usable after. */
  close(): void {
    for (const device of new Set(this.devices.values())) {
      const closable = device as Device & { close?: () => void };
      if (typeof closable.close === "function") closable.close();
    }
  }
}

/** An SPI slave's chip select driven by a GPIO pin. */
export interface ChipSelectWiring {
  /** The region of the PL061. */
  readonly gpio: string;
  readonly pin: number;
  /** Asserted while the pin is low (the usual SPI chip select). */
  readonly activeLow: boolean;
  /** The SSP region the slave hangs on, and the slave's chip-select index there. */
  readonly ssp: string;
  readonly index: number;
}

export interface BuildOptions {
  variant?: HalVariant;
  /** Another .wasm with the same ABI. */
  modulePath?: string;
  /** What to do when the module file is missing. */
  buildHint?: string;
  /** Makes the module's Hal on the board's bus instead of a plain Hal (a test's Hal that
   * records what it did, say); called with the arguments a Hal is made with. */
  makeHal?: (bus: Bus, variant: HalVariant, modulePath: string | undefined, options: HalOptions) => Hal;
}

/** Builds the bus, its devices and the module from a description. Device options are checked
 * here (a BoardFileError names the entry); the trace starts empty. */
export function buildBoard(description: BoardDescription, options: BuildOptions = {}): Board {
  const clock = new VirtualClock(description.accessNs);
  const bus = new Bus({ clock });
  const devices = new Map<string, Device>();
  const parts = new Map<string, object>();
  const partPaths = new Map<string, string>();
  const steps: ((board: Board) => void)[] = [];
  const gates = new Map<string, ClockGate>();
  const baseDir = dirname(isAbsolute(description.fileName) ? description.fileName : resolve(description.fileName));

  for (const region of description.regions) {
    const kind = KINDS.get(region.device.kind);
    if (kind === undefined) throw new BoardFileError(description.fileName, `${region.device.path}.kind`, `unknown device kind "${region.device.kind}": expected one of ${[...KINDS.keys()].sort().join(", ")}`);
    const deviceOptions = new JsonObject(description.fileName, region.device.path, region.device.options);
    deviceOptions.raw("kind");
    const context: DeviceContext = {
      fileName: description.fileName,
      baseDir,
      region,
      options: deviceOptions,
      bus,
      clock,
      registry: description.registry,
      connect: (step) => steps.push(step),
      addPart: (name, part, path) => {
        if (!REGION_NAME.test(name)) throw new BoardFileError(description.fileName, path, `bad part name "${name}": expected a letter or _, then letters, digits, _ . or -`);
        const other = partPaths.get(name);
        if (other !== undefined) throw new BoardFileError(description.fileName, path, `part name ${name} is used twice (also ${other}): expected each name once`);
        parts.set(name, part);
        partPaths.set(name, path);
      },
    };
    const device = kind.factory(context);
    deviceOptions.done();
    devices.set(region.name, device);
    const map = region.block === null ? undefined : description.registry.block(region.block);
    const onBus = region.clock === undefined ? device : gateOf(description, region, device, clock, gates);
    bus.map({ name: region.name, base: region.base, size: region.size, device: onBus, ...(map === undefined ? {} : { map }) });
  }
  for (const region of description.regions) {
    const clockEntry = region.clock;
    if (clockEntry === undefined) continue;
    const rcc = devices.get(clockEntry.rcc);
    if (!(rcc instanceof Stm32RccModel)) {
      const kindName = description.regions.find((r) => r.name === clockEntry.rcc)!.device.kind;
      throw new BoardFileError(description.fileName, `${clockEntry.path}.rcc`, `region ${clockEntry.rcc} holds a ${kindName} device: expected an stm32f4-rcc, whose enable registers gate the clock`);
    }
    rcc.addGate(gates.get(region.name)!, clockEntry.register);
  }

  const halOptions: HalOptions = {
    registry: description.registry,
    ...(options.buildHint === undefined ? {} : { buildHint: options.buildHint }),
  };
  const hal = options.makeHal !== undefined
    ? options.makeHal(bus, options.variant ?? "release", options.modulePath, halOptions)
    : new Hal(bus, options.variant ?? "release", options.modulePath, halOptions);
  const board = new Board(description, bus, hal, devices, parts, chipSelectsOf(bus), gates);
  for (const step of steps) step(board);
  bus.trace.clear();
  return board;
}

/** The clock gate in front of a region's device, from its checked `clock` entry. */
function gateOf(description: BoardDescription, region: RegionDescription, device: Device, clock: VirtualClock, gates: Map<string, ClockGate>): ClockGate {
  const entry = region.clock!;
  const rccRegion = description.regions.find((r) => r.name === entry.rcc)!;
  const map = description.registry.block(rccRegion.block!)!;
  const reg = map.registers.find((r) => r.name === entry.register)!;
  const resetName = resetRegisterOf(entry.register);
  const resetReg = resetName === null ? undefined : map.registers.find((r) => r.name === resetName);
  const gate = new ClockGate(region.name, device, clock, reg.offset, fieldsMask(map, reg.name, new RegExp(`^${entry.field}$`)), `${entry.register}.${entry.field}`, resetReg === undefined ? -1 : resetReg.offset);
  gates.set(region.name, gate);
  return gate;
}

/** Loads, parses and builds a board file in one go, with the project's module by default. */
export function loadBoard(nameOrPath: string, options: BuildOptions & { project?: Project } = {}): Board {
  const project = options.project ?? packageProject();
  const { project: _project, ...build } = options;
  return buildBoard(loadBoardFile(nameOrPath, project), {
    modulePath: build.modulePath ?? project.modulePath(undefined, build.variant ?? "release"),
    buildHint: project.buildHint(),
    ...build,
  });
}

// ---------------------------------------------------------------------------------------------
// Built-in device kinds

/** A region another entry refers to, checked to exist and to hold the expected kind of device. */
function referencedRegion(board: Board, o: JsonObject, key: string, name: string): RegionDescription {
  const r = board.description.regions.find((x) => x.name === name);
  if (r === undefined) o.fail(key, `no region named ${name}: expected one of ${board.description.regions.map((x) => x.name).join(", ")}`);
  return r;
}

registerDeviceKind("pl011", (c) => {
  const revision = c.options.string("revision", { oneOf: ["r1p4", "r1p5"], default: "r1p4" }) as Pl011Revision;
  return new Pl011Model({ clock: c.clock, uartclkHz: c.options.integer("uartclkHz", { min: 1 }), revision });
}, { block: "pl011", doc: "PL011 UART model (harness/devices/pl011.ts): uartclkHz (required), revision r1p4 (16-deep FIFOs, default) or r1p5 (32)" });

registerDeviceKind("pl022", (c) => {
  const periphId2 = c.options.optionalInteger("periphId2", { max: 0xff });
  const ssp = new Pl022Model({ clock: c.clock, sspclkHz: c.options.integer("sspclkHz", { min: 1 }), ...(periphId2 === undefined ? {} : { periphId2 }) });
  for (const item of c.options.array("slaves")) attachSlave(c, ssp, item.object());
  return ssp;
}, { block: "pl022", doc: "PL022 SSP model (harness/devices/pl022.ts): sspclkHz (required), periphId2, slaves (SPI devices on its bus)" });

/** The chip-select wiring of the named SPI slaves of the board being built on a bus. */
const chipSelectWiring = new WeakMap<Bus, Map<string, ChipSelectWiring>>();

function chipSelectsOf(bus: Bus): Map<string, ChipSelectWiring> {
  let wiring = chipSelectWiring.get(bus);
  if (wiring === undefined) {
    wiring = new Map();
    chipSelectWiring.set(bus, wiring);
  }
  return wiring;
}

/** What an SPI master model offers the board for its slaves (the PL022 and STM32F4 SPI models). */
export interface SpiMasterModel {
  attach(slave: SpiSlave): number;
  chipSelectListener(index: number, options?: { pin?: number; activeLow?: boolean }): PinListener;
}

/** The GPIO models whose output pins can drive a chip select, with their pin counts. */
function chipSelectGpio(device: Device): { model: Pl061Model | Stm32GpioModel; pins: number } | null {
  if (device instanceof Pl061Model) return { model: device, pins: PL061_PIN_COUNT };
  if (device instanceof Stm32GpioModel) return { model: device, pins: STM32_GPIO_PIN_COUNT };
  return null;
}

/** An SPI slave entry of a pl022 or stm32f4-spi device: `{ "kind": "spi-nor", "name": ...,
 * "chipSelect": ... }`. */
export function attachSlave(c: DeviceContext, ssp: SpiMasterModel, o: JsonObject): void {
  const kind = o.string("kind", { oneOf: ["spi-nor"] });
  let slave: SpiNorFlash;
  if (kind === "spi-nor") {
    const idItems = o.array("jedecId");
    let jedecId: [number, number, number] | undefined;
    if (o.has("jedecId")) {
      if (idItems.length !== 3) o.fail("jedecId", `${idItems.length} bytes: expected three (manufacturer, memory type, capacity)`);
      jedecId = [idItems[0]!.integer({ max: 0xff }), idItems[1]!.integer({ max: 0xff }), idItems[2]!.integer({ max: 0xff })];
    }
    const sizeBytes = o.optionalInteger("sizeBytes", { min: 1 });
    if (sizeBytes !== undefined && (sizeBytes < 0x1000 || sizeBytes > 1 << 24 || (sizeBytes & (sizeBytes - 1)) !== 0)) {
      o.fail("sizeBytes", `0x${sizeBytes.toString(16)}: expected a power of two from 0x1000 (4 KiB) to 0x1000000 (16 MiB)`);
    }
    const pageProgramNs = o.optionalInteger("pageProgramNs");
    const sectorEraseNs = o.optionalInteger("sectorEraseNs");
    slave = new SpiNorFlash({
      clock: c.clock,
      ...(sizeBytes === undefined ? {} : { sizeBytes }),
      ...(jedecId === undefined ? {} : { jedecId }),
      ...(pageProgramNs === undefined ? {} : { pageProgramNs }),
      ...(sectorEraseNs === undefined ? {} : { sectorEraseNs }),
    });
  } else {
    o.fail("kind", `unknown slave kind "${kind}": expected spi-nor`);
  }
  const index = ssp.attach(slave);
  const name = o.optionalString("name");
  if (name !== undefined) c.addPart(name, slave, o.pathOf("name"));

  const cs: JsonObject | undefined = o.optionalObject("chipSelect");
  if (cs !== undefined) {
    const wiring: JsonObject = cs;
    const gpio = cs.string("gpio", { what: "the name of a GPIO region (pl061 or stm32f4-gpio)" });
    const pin = cs.integer("pin", { max: STM32_GPIO_PIN_COUNT - 1 });
    const activeLow = cs.boolean("activeLow", true);
    cs.done();
    if (name !== undefined) chipSelectsOf(c.bus).set(name, { gpio, pin, activeLow, ssp: c.region.name, index });
    c.connect((board) => {
      const target = referencedRegion(board, wiring, "gpio", gpio);
      const found = chipSelectGpio(board.device(target.name));
      if (found === null) wiring.fail("gpio", `region ${gpio} holds a ${target.device.kind} device: expected a pl061 or stm32f4-gpio, whose output pin drives the chip select`);
      if (pin >= found.pins) wiring.fail("pin", `${pin} is out of range: expected 0..${found.pins - 1} (the pins of ${target.device.kind} region ${gpio})`);
      const listener = ssp.chipSelectListener(index, { pin, activeLow });
      found.model.onOutputChange(listener);
      // The line starts at the pin's present level (an input pulled up or down).
      listener(pin, found.model.pinLevel(pin));
    });
  }
  o.done();
}

registerDeviceKind("pl061", (c) => {
  return new Pl061Model({ clock: c.clock, inputs: c.options.integer("inputs", { default: 0, max: 0xff }) });
}, { block: "pl061", doc: "PL061 GPIO model (harness/devices/pl061.ts): inputs, the levels of undriven pins (pull-ups), bit n = pin n" });

registerDeviceKind("pl080", (c) => {
  const cycleNs = c.options.optionalInteger("cycleNs", { min: 1 });
  const dmac = new Pl080Model(c.bus, c.clock, cycleNs === undefined ? {} : { cycleNs });
  const linesUsed = new Map<number, string>();
  for (const item of c.options.array("requests")) {
    const o = item.object();
    const line = o.integer("line", { max: PL080_REQUEST_LINE_COUNT - 1 });
    const regionName = o.string("region", { what: "the name of the region of the requesting peripheral" });
    const direction = o.string("direction", { oneOf: ["tx", "rx"] }) as DmaDirection;
    o.done();
    const other = linesUsed.get(line);
    if (other !== undefined) o.fail("line", `request line ${line} is already connected by ${other}: expected each line once`);
    linesUsed.set(line, o.path);
    c.connect((board) => {
      const target = referencedRegion(board, o, "region", regionName);
      const device = board.device(target.name) as Device & Partial<DmaRequester>;
      if (typeof device.dmaRequests !== "function") o.fail("region", `region ${regionName} holds a ${target.device.kind} device, which has no DMA request lines`);
      dmac.connectRequest(line, device as Device & DmaRequester, direction);
    });
  }
  const linear = c.options.optionalString("linearMemory", { what: "the name of a linear-memory region" });
  if (linear !== undefined) {
    c.connect((board) => {
      const target = referencedRegion(board, c.options, "linearMemory", linear);
      if (!(board.device(target.name) instanceof LinearMemoryRam)) c.options.fail("linearMemory", `region ${linear} holds a ${target.device.kind} device: expected a linear-memory region`);
      if (typeof board.hal.exports.pl080_set_memory_address !== "function") c.options.fail("linearMemory", "the module has no export pl080_set_memory_address to tell the driver where linear memory is");
      const args = [target.base];
      const result = board.hal.call("pl080_set_memory_address", ...args);
      board.setupCalls.push({ name: "pl080_set_memory_address", args, result });
      if (result !== 0) c.options.fail("linearMemory", `pl080_set_memory_address(${hex8(target.base)}) returned ${result}: expected 0 (a word-aligned address with all of linear memory below 4 GiB)`);
    });
  }
  return dmac;
}, { block: "pl080", doc: "PL080 DMA controller model (harness/devices/pl080.ts): cycleNs, requests (request lines from peripherals), linearMemory (the region where it reaches the module's memory)" });

registerDeviceKind("irq-controller", (c) => {
  const controller = new IrqController();
  const linesUsed = new Map<number, string>();
  for (const item of c.options.array("lines")) {
    const o = item.object();
    const line = o.integer("line", { max: IRQC_LINE_COUNT - 1 });
    const regionName = o.string("region", { what: "the name of the region of the interrupting peripheral" });
    const priority = o.integer("priority", { default: 0, max: 255 });
    o.done();
    const other = linesUsed.get(line);
    if (other !== undefined) o.fail("line", `interrupt line ${line} is already connected by ${other}: expected each line once`);
    linesUsed.set(line, o.path);
    controller.priorities[line] = priority;
    c.connect((board) => {
      const target = referencedRegion(board, o, "region", regionName);
      const device = board.device(target.name) as Device & Partial<InterruptSource>;
      if (typeof device.interruptPending !== "function") o.fail("region", `region ${regionName} holds a ${target.device.kind} device, which has no interrupt output`);
      controller.connect(line, device as Device & InterruptSource, target.name);
    });
  }
  return controller;
}, { block: "irqc", doc: "the harness's generic interrupt controller, NVIC register layout (harness/devices/irqc.ts): lines (line, region of the interrupting peripheral, priority)" });

registerDeviceKind("ram", (c) => new Ram(c.region.size), {
  block: null, doc: "zero-filled RAM of the region's size (harness/devices/ram.ts)",
});

registerDeviceKind("linear-memory", (c) => {
  let hal: Hal | undefined;
  const device = new LinearMemoryRam(() => {
    if (hal === undefined) throw new Error(`region ${c.region.name}: linear memory used before the module was instantiated`);
    return hal.memory.buffer;
  });
  c.connect((board) => {
    hal = board.hal;
    const bytes = board.hal.memory.buffer.byteLength;
    if (c.region.size > bytes) {
      throw new BoardFileError(c.fileName, `${c.region.path}.size`, `0x${c.region.size.toString(16)} is larger than the module's linear memory (0x${bytes.toString(16)} bytes): expected at most 0x${bytes.toString(16)}`);
    }
  });
  return device;
}, { block: null, doc: "the module's own linear memory, offset 0 at the region's base (harness/devices/ram.ts), for a DMA master" });

// The STM32F4 family's models (harness/devices/stm32f4/kinds.ts), beside the PrimeCells.
registerStm32f4DeviceKinds(registerDeviceKind, { attachSlave });
