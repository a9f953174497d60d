// A project's register blocks and API, by name: what the trace parser and writer, `show`, `vcd`,
// the lint, board files, device kinds, assertions and the fuzzer consult instead of a table of
// their own. A registry is built from the project's data (register maps in the project's JSON
// format, CMSIS-SVD imports, API files), through harness/regmap-json.ts; the package's own four
// PrimeCell blocks are one such project (its wasm-hal.config.json), loaded the same way.
import { readFileSync } from "node:fs";
import type { RegisterBlock } from "./regmap.js";
import { parseJsonText } from "./json-text.js";
import {
  parseRegisterMap, parseApiMap, mergeApiMaps,
  type ApiMap, type ExportSignature, type StatusCode, type ValueKind,
} from "./regmap-json.js";

export const EMPTY_API: ApiMap = { doc: "", status: [], constants: [], exports: [] };

/** A region as far as call formatting needs it: addresses inside one print in hex. */
interface AddressRange {
  readonly base: number;
  readonly end: number;
}

export class Registry {
  private readonly blocks = new Map<string, RegisterBlock>();
  private readonly sources = new Map<string, string>();
  private readonly statusByValue = new Map<number, StatusCode>();
  private readonly statusByName = new Map<string, StatusCode>();
  private readonly exportsByName = new Map<string, ExportSignature>();

  /**
   * `blocks` with the file each came from (for messages); a block name given twice is refused,
   * naming both files.
   */
  constructor(blocks: readonly { readonly block: RegisterBlock; readonly source: string }[] = [], readonly api: ApiMap = EMPTY_API) {
    for (const { block, source } of blocks) {
      const first = this.sources.get(block.block);
      if (first !== undefined) throw new Error(`register block ${block.block} is defined twice: in ${first} and in ${source}`);
      this.blocks.set(block.block, block);
      this.sources.set(block.block, source);
    }
    for (const c of api.status) {
      this.statusByValue.set(c.value, c);
      this.statusByName.set(c.name, c);
    }
    for (const e of api.exports) this.exportsByName.set(e.name, e);
  }

  /** The block of that name, or undefined (never an inherited property: names are data). */
  block(name: string): RegisterBlock | undefined {
    return this.blocks.get(name);
  }

  has(name: string): boolean {
    return this.blocks.has(name);
  }

  /** Block names, sorted. */
  names(): string[] {
    return [...this.blocks.keys()].sort();
  }

  /** Where a block was defined (a file path), for messages. */
  sourceOf(name: string): string | undefined {
    return this.sources.get(name);
  }

  /** `expected one of a, b, c` for messages about a block name. */
  expected(extra: readonly string[] = []): string {
    const names = [...this.names(), ...extra];
    return names.length === 0 ? "this project defines no register blocks" : `expected one of ${names.join(", ")}`;
  }

  get statusCodes(): readonly StatusCode[] {
    return this.api.status;
  }

  statusName(value: number): string | undefined {
    return this.statusByValue.get(value)?.name;
  }

  /** The value of the status code of that name, or undefined where the API has none. */
  statusValue(name: string): number | undefined {
    return this.statusByName.get(name)?.value;
  }

  signature(exportName: string): ExportSignature | undefined {
    return this.exportsByName.get(exportName);
  }

  /** This registry with another's blocks and API added (a user's project on top of nothing, or
   * a test's extra block). */
  with(other: Registry): Registry {
    const blocks = [...this.entries(), ...other.entries()];
    const api = mergeApiMaps([{ api: this.api, source: "the first registry" }, { api: other.api, source: "the second registry" }]);
    return new Registry(blocks, api);
  }

  entries(): { block: RegisterBlock; source: string }[] {
    return [...this.blocks.values()].map((block) => ({ block, source: this.sources.get(block.block)! }));
  }

  // -------------------------------------------------------------------------------------------
  // Printing calls and results the same way everywhere

  /**
   * One argument of a call as people read it: by the export's signature (an address or a bit
   * pattern in hex, a count or a rate in decimal); for an export without one, in hex when it is
   * an address inside a region, else in decimal.
   */
  formatArgument(exportName: string, index: number, value: number, regions: readonly AddressRange[] = []): string {
    const kind: ValueKind | undefined = this.exportsByName.get(exportName)?.args[index]?.kind;
    const unsigned = value >>> 0;
    if (kind === "address" || kind === "hex") return value < 0 && kind === "hex" ? String(value) : "0x" + unsigned.toString(16);
    if (kind === "decimal") return String(value);
    if (value >= 0 && regions.some((r) => unsigned >= r.base && unsigned < r.end)) return "0x" + unsigned.toString(16);
    return String(value);
  }

  formatArguments(exportName: string, args: readonly number[], regions: readonly AddressRange[] = []): string {
    return args.map((a, i) => this.formatArgument(exportName, i, a, regions)).join(", ");
  }

  /** `name(args)` for messages. */
  formatCall(exportName: string, args: readonly number[], regions: readonly AddressRange[] = []): string {
    return `${exportName}(${this.formatArguments(exportName, args, regions)})`;
  }

  /**
   * A result as people read it: `0 (OK)` or `-3 (ERR_TIMEOUT)` for a status; a count, a pin
   * set or a plain value without a status label unless it is negative (a status code).
   */
  formatResult(exportName: string, value: number): string {
    const returns = this.exportsByName.get(exportName)?.returns ?? "status";
    if (returns === "value") return String(value);
    const name = returns === "status" || value < 0 ? this.statusName(value) : undefined;
    const shown = returns === "bits" && value >= 0 ? `0x${value.toString(16)}` : String(value);
    return name === undefined ? shown : `${shown} (${name})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Loading from files

/** A register-map JSON file: its block. */
export function readRegisterMapFile(path: string, shownAs = path): RegisterBlock {
  return parseRegisterMap(parseJsonText(readFileSync(path, "utf8"), shownAs), shownAs);
}

/** An API JSON file. */
export function readApiFile(path: string, shownAs = path): ApiMap {
  return parseApiMap(parseJsonText(readFileSync(path, "utf8"), shownAs), shownAs);
}

export interface RegistrySources {
  /** Register-map files: [path, name shown in messages]. */
  readonly maps: readonly (readonly [string, string])[];
  /** API files, merged in this order. */
  readonly api: readonly (readonly [string, string])[];
  /** Blocks from elsewhere (SVD imports), with their source. */
  readonly extra?: readonly { readonly block: RegisterBlock; readonly source: string }[];
}

export function loadRegistry(sources: RegistrySources): Registry {
  const blocks = sources.maps.map(([path, shown]) => ({ block: readRegisterMapFile(path, shown), source: shown }));
  const api = mergeApiMaps(sources.api.map(([path, shown]) => ({ api: readApiFile(path, shown), source: shown })));
  return new Registry([...blocks, ...(sources.extra ?? [])], api);
}
