// CMSIS-SVD import: a vendor's XML description of a chip becomes register maps in the project's
// own format (registers/*.json, read by harness/regmap-json.ts), then an overlay corrects and
// completes them. Vendor files are imported as they are; what they get wrong or leave out (ST's
// files give no side effects at all: no modifiedWriteValues, no readAction) is fixed in the overlay,
// reviewed in one place, like the Rust community's svdtools patches. User guide: docs/svd.md.
//
// The import runs in four steps, in this order through the file:
//   1. the XML is checked and read into a plain element tree (fast-xml-parser);
//   2. each peripheral is resolved (derivedFrom copies, dim arrays, clusters flattened, register
//      properties inherited) into a draft map, and peripherals derived from one another whose
//      drafts come out equal share one map;
//   3. the overlay, if any, patches the drafts;
//   4. every map is checked (names, offsets, fields inside their register and not overlapping) and
//      written out in the format's key order.
// Checks run after the overlay so that an overlay can repair a vendor error (delete a field that
// overlaps another, move a misplaced register) that would otherwise stop the import.
//
// Facts about the SVD format come from the CMSIS-SVD format description (schema 1.3).
import { existsSync, readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import type { FieldReadKind, FieldWriteKind, ReadKind, RegisterBlock, WriteKind } from "./regmap.js";
import { BLOCK_NAME, FIELD_READ_KINDS, FIELD_WRITE_KINDS, READ_KINDS, WRITE_KINDS, parseRegisterMap } from "./regmap-json.js";
import { excerpt, parseJsonText } from "./json-text.js";
import { ConfigError, type SvdConfig, displayPath, setSvdImporter } from "./project.js";

// ---------------------------------------------------------------------------------------------
// The register-map format as JSON (docs/register-maps.md), and what an import returns

export interface FieldJson {
  name: string;
  /** "N" or "MSB:LSB". */
  bits: string;
  /** Present where the field's read differs from its register's (a flag cleared by reading). */
  read?: FieldReadKind;
  /** Present where the field's write differs from its register's, or the SVD gives the field a
   * write side effect of its own. */
  write?: FieldWriteKind;
  doc: string;
  values?: Record<string, number>;
}

export interface RegisterJson {
  name: string;
  /** Hex string, "0x018". */
  offset: string;
  bits: number;
  read: ReadKind;
  write: WriteKind;
  /** Hex string, or null where the reset value is not known. */
  reset: string | null;
  widths: number[];
  section: string;
  doc: string;
  fields: FieldJson[];
}

export interface RegisterMapJson {
  block: string;
  title: string;
  manual: string;
  /** Hex string, "0x400". */
  size: string;
  widths: number[];
  notes: string;
  registers: RegisterJson[];
  /** Rules over sequences of accesses (docs/register-maps.md, "Rules"): an overlay adds them. */
  rules?: unknown;
}

export interface SvdDevice {
  name: string;
  description: string;
  version: string | null;
  vendor: string | null;
  /** Bus width in bits (the SVD's `width`). */
  width: number;
}

/** One peripheral instance: where it is and which map describes it. */
export interface SvdPeripheral {
  name: string;
  base: number;
  /** Bytes of its register block. */
  size: number;
  /** The `block` of its register map; peripherals derived from one another may share one. */
  block: string;
  derivedFrom: string | null;
  description: string;
}

export interface SvdImport {
  device: SvdDevice;
  /** One map per distinct register block, in the order of the file. */
  blocks: RegisterMapJson[];
  /** Every imported peripheral, in the order of the file. */
  peripherals: SvdPeripheral[];
}

export interface SvdImportOptions {
  /** The overlay as parsed JSON (docs/svd.md, "The overlay"). */
  overlay?: unknown;
  /** The overlay's name in error messages. */
  overlayFile?: string;
  /** Import only these peripherals (names or `*` patterns) and what they derive from. */
  peripherals?: readonly string[];
}

/**
 * What is wrong with an SVD file or an overlay. `path` is the SVD element path
 * (`peripherals/USART1/registers/SR/fields/TC`), the JSON path into the overlay
 * (`peripherals.USART1.registers.SR`), or `line L, column C` for XML that does not parse.
 */
export class SvdError extends Error {
  readonly problem: string;

  constructor(readonly fileName: string, readonly path: string, problem: string) {
    const oneLine = problem.replace(/\s+/g, " ").trim();
    super(`${fileName}: ${path}: ${oneLine}`);
    this.name = "SvdError";
    this.problem = oneLine;
  }
}

// Named limits: a malformed or hostile file must not make the import run for ever.
/** Elements of one dim array. */
const MAX_DIM = 4096;
/** Links of one derivedFrom chain (a cycle is reported when it is exceeded). */
const MAX_DERIVATION_DEPTH = 16;
/** Clusters nested in clusters. */
const MAX_CLUSTER_DEPTH = 8;
/** Registers of one peripheral, after dim arrays and clusters are expanded. */
const MAX_REGISTERS = 65536;

/** Register size when neither the register nor anything above it gives one. */
const DEFAULT_REGISTER_BITS = 32;

/**
 * Imports an SVD file: every peripheral (or those of `options.peripherals`) becomes a register
 * map, corrected by `options.overlay`. `fileName` names the file in errors and in the maps' notes.
 * Throws SvdError.
 */
export function importSvd(xmlText: string, fileName: string, options: SvdImportOptions = {}): SvdImport {
  return readSvd(xmlText, fileName).import(options);
}

/** Parses an SVD file once (the XML is most of an import's time), to import it as often as
 * needed: with and without an overlay, or a few peripherals at a time. Throws SvdError. */
export function readSvd(xmlText: string, fileName: string): SvdDocument {
  return new SvdDocument(xmlText, fileName);
}

export class SvdDocument {
  private readonly svd: SvdReader;

  constructor(xmlText: string, fileName: string) {
    this.svd = new SvdReader(parseXml(xmlText, fileName), fileName);
  }

  get fileName(): string {
    return this.svd.fileName;
  }

  get device(): SvdDevice {
    return { ...this.svd.device };
  }

  /** The import of the parsed file: see importSvd. */
  import(options: SvdImportOptions = {}): SvdImport {
    const overlay = options.overlay === undefined ? null : parseOverlay(options.overlay, options.overlayFile ?? "overlay");
    const selected = this.svd.select(options.peripherals);
    const groups = groupShared(selected.map((entry) => this.svd.build(entry)));
    if (overlay !== null) applyOverlay(overlay, groups, this.svd);
    return assemble(this.svd, groups);
  }
}

/** importSvd on files: reads the SVD and the overlay (JSON) from disk. Throws SvdError, and
 * JsonFileError for an overlay that is not JSON; a file that cannot be read throws the error of
 * node:fs. `svdPath` and `overlayPath` name the files in errors as given. */
export function importSvdFile(svdPath: string, options: { overlayPath?: string; peripherals?: readonly string[] } = {}): SvdImport {
  const xml = readFileSync(svdPath, "utf8");
  const opts: SvdImportOptions = {};
  if (options.peripherals !== undefined) opts.peripherals = options.peripherals;
  if (options.overlayPath !== undefined) {
    opts.overlay = parseJsonText(readFileSync(options.overlayPath, "utf8"), options.overlayPath);
    opts.overlayFile = options.overlayPath;
  }
  return importSvd(xml, svdPath, opts);
}

/**
 * A project config's `svd` entries (harness/project.ts): each file imported with its overlay and
 * its maps read by the format's one checker, so that an SVD import and a hand-written map are
 * the same thing to the registry. Registered when this module is loaded.
 */
function importForProject(config: SvdConfig, root: string, configFile: string): { block: RegisterBlock; source: string }[] {
  const svdPath = resolve(root, config.file);
  if (!existsSync(svdPath)) throw new ConfigError(configFile, "svd", `${config.file} does not exist`);
  const overlayPath = config.overlay === undefined ? undefined : resolve(root, config.overlay);
  if (overlayPath !== undefined && !existsSync(overlayPath)) throw new ConfigError(configFile, "svd", `overlay ${config.overlay ?? ""} does not exist`);
  // The files by their paths for messages (relative to the working folder), which read the same.
  const shown = displayPath(svdPath);
  const imported = importSvdFile(shown, {
    ...(overlayPath === undefined ? {} : { overlayPath: displayPath(overlayPath) }),
    ...(config.peripherals === undefined ? {} : { peripherals: config.peripherals }),
  });
  return imported.blocks.map((map) => {
    const source = `${shown} (${map.block})`;
    return { block: parseRegisterMap(map, source), source };
  });
}

setSvdImporter(importForProject);

// ---------------------------------------------------------------------------------------------
// Step 1: XML into a plain element tree

interface XmlElement {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's own text, trimmed. */
  readonly text: string;
}

const XML_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
} as const;

function parseXml(text: string, fileName: string): XmlElement {
  const verdict = XMLValidator.validate(text);
  if (verdict !== true) {
    const { line, col, msg } = verdict.err;
    throw new SvdError(fileName, col === undefined ? `line ${line}` : `line ${line}, column ${col}`, `not well-formed XML: ${excerpt(msg, 120)}`);
  }
  const nodes = new XMLParser(XML_OPTIONS).parse(text) as unknown[];
  const root = nodes.map(toElement).find((e): e is XmlElement => e !== null);
  if (root === undefined) throw new SvdError(fileName, "device", "not a CMSIS-SVD file: the document has no root element");
  if (root.tag !== "device") throw new SvdError(fileName, root.tag, `not a CMSIS-SVD file: the root element is <${excerpt(root.tag)}>, expected <device>`);
  return root;
}

/** One node of fast-xml-parser's ordered output: `{ tag: [children], ":@": { attrs } }` or
 * `{ "#text": text }`. */
function toElement(node: unknown): XmlElement | null {
  if (typeof node !== "object" || node === null) return null;
  const record = node as Record<string, unknown>;
  let tag: string | undefined;
  for (const key in record) {
    if (key !== ":@" && key !== "#text") {
      tag = key;
      break;
    }
  }
  if (tag === undefined) return null;
  const kids = record[tag];
  const children: XmlElement[] = [];
  let text = "";
  if (Array.isArray(kids)) {
    for (const kid of kids) {
      if (typeof kid !== "object" || kid === null) continue;
      const t = (kid as Record<string, unknown>)["#text"];
      if (t !== undefined) text += String(t);
      else {
        const element = toElement(kid);
        if (element !== null) children.push(element);
      }
    }
  }
  const rawAttrs = record[":@"];
  const attrs: Record<string, string> = {};
  if (typeof rawAttrs === "object" && rawAttrs !== null) {
    for (const [k, v] of Object.entries(rawAttrs)) attrs[k] = String(v);
  }
  return { tag, attrs, children, text: text.trim() };
}

function child(el: XmlElement, tag: string): XmlElement | undefined {
  return el.children.find((c) => c.tag === tag);
}

function childText(el: XmlElement, tag: string): string | undefined {
  return child(el, tag)?.text;
}

function childrenOf(el: XmlElement, tag: string): XmlElement[] {
  return el.children.filter((c) => c.tag === tag);
}

function nameOf(el: XmlElement): string {
  return childText(el, "name") ?? "";
}

/** Descriptions are wrapped in the XML: one line, single spaces. */
function docOf(el: XmlElement): string {
  return (childText(el, "description") ?? "").replace(/\s+/g, " ").trim();
}

/** What a derivedFrom may name from inside an element: a peripheral's registers and clusters, a
 * cluster's, a register's fields. */
function members(el: XmlElement): XmlElement[] {
  switch (el.tag) {
    case "peripheral":
      return (child(el, "registers")?.children ?? []).filter((c) => c.tag === "register" || c.tag === "cluster");
    case "cluster":
      return el.children.filter((c) => c.tag === "register" || c.tag === "cluster");
    case "register":
      return (child(el, "fields")?.children ?? []).filter((c) => c.tag === "field");
    default:
      return [];
  }
}

/**
 * An element derived from another: a copy of the source with the element's own children in place
 * of the source's children of the same tag. Registers, clusters and fields are merged by name:
 * the element's own replace the source's of the same name, the others are kept.
 */
function derive(own: XmlElement, source: XmlElement): XmlElement {
  const memberTags = own.tag === "cluster" ? ["register", "cluster"] : [];
  const ownTags = new Set(own.children.map((c) => c.tag).filter((t) => !memberTags.includes(t)));
  const children: XmlElement[] = [];
  for (const c of source.children) {
    if (memberTags.includes(c.tag)) continue;
    if (!ownTags.has(c.tag)) children.push(c);
  }
  for (const c of own.children) {
    if (memberTags.includes(c.tag)) continue;
    const inherited = c.tag === "registers" || c.tag === "fields" ? child(source, c.tag) : undefined;
    children.push(inherited === undefined ? c : { ...c, children: mergeByName(c.children, inherited.children) });
  }
  if (memberTags.length > 0) {
    const pick = (el: XmlElement): XmlElement[] => el.children.filter((c) => memberTags.includes(c.tag));
    children.push(...mergeByName(pick(own), pick(source)));
  }
  const { derivedFrom: _derivedFrom, ...attrs } = own.attrs;
  return { tag: own.tag, attrs, children, text: own.text };
}

function mergeByName(own: readonly XmlElement[], inherited: readonly XmlElement[]): XmlElement[] {
  const ownNames = new Set(own.map(nameOf));
  return [...inherited.filter((c) => !ownNames.has(nameOf(c))), ...own];
}

// ---------------------------------------------------------------------------------------------
// SVD values: numbers, access, side effects, names

/** SVD numbers: decimal, 0x hex, 0b or # binary (scaledNonNegativeInteger without a scale). */
function parseSvdNumber(text: string): number | null {
  const t = text.trim().replace(/^\+/, "");
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(t)) n = parseInt(t.slice(2), 16);
  else if (/^0b[01]+$/i.test(t)) n = parseInt(t.slice(2), 2);
  else if (/^#[01]+$/.test(t)) n = parseInt(t.slice(1), 2);
  else if (/^[0-9]+$/.test(t)) n = parseInt(t, 10);
  else return null;
  return Number.isSafeInteger(n) ? n : null;
}

type SvdAccess = "read-only" | "write-only" | "read-write" | "writeOnce" | "read-writeOnce";
const SVD_ACCESS: readonly SvdAccess[] = ["read-only", "write-only", "read-write", "writeOnce", "read-writeOnce"];

/** SVD modifiedWriteValues, per field: what writing it does. */
const MODIFIED_WRITE_VALUES: Readonly<Record<string, FieldWriteKind>> = {
  oneToClear: "w1c",
  zeroToClear: "w0c",
  oneToSet: "w1s",
  zeroToSet: "w0s",
  oneToToggle: "w1t",
  zeroToToggle: "w0t",
  clear: "clears",
  set: "sets",
  modify: "value",
};

/** SVD readAction values: every one changes state when read. */
const READ_ACTIONS: readonly string[] = ["clear", "set", "modify", "modifyExternal"];

/** Register and field names: identifiers. An invalid character becomes `_`; a name that does not
 * start with a letter gets `prefix` in front. */
function identifier(name: string, prefix: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z]/.test(cleaned) ? cleaned : `${prefix}${cleaned}`;
}

/** A block is named after its peripheral, lower-cased. */
function blockNameOf(peripheral: string): string {
  const cleaned = peripheral.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  return /^[a-z]/.test(cleaned) ? cleaned : `p_${cleaned}`;
}

function hex(n: number, digits = 1): string {
  return "0x" + n.toString(16).toUpperCase().padStart(digits, "0");
}

/** `*` patterns of the overlay and of --peripherals. */
function globMatcher(pattern: string): (name: string) => boolean {
  if (!pattern.includes("*")) return (name) => name === pattern;
  const re = new RegExp("^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
  return (name) => re.test(name);
}

/** A list of names for a message: all of them up to a point, then how many more. */
function nameList(names: readonly string[], max = 40): string {
  if (names.length === 0) return "none";
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

// ---------------------------------------------------------------------------------------------
// Step 2: peripherals into draft maps

/** Where an element of a map comes from, for errors: the SVD element, or the overlay entry. */
interface Origin {
  readonly file: string;
  readonly path: string;
}

interface DraftField {
  name: string;
  msb: number;
  lsb: number;
  read?: FieldReadKind;
  write?: FieldWriteKind;
  doc: string;
  values?: Record<string, number>;
  origin: Origin;
}

interface DraftRegister {
  name: string;
  offset: number;
  bits: number;
  read: ReadKind;
  write: WriteKind;
  reset: number | null;
  widths: number[];
  section: string;
  doc: string;
  fields: DraftField[];
  /** An alternate view of another register at the same offset (SVD alternateRegister or
   * alternateGroup): left out of the map where it collides with the register it stands for. */
  alternateOf: string | null;
  origin: Origin;
}

interface DraftMap {
  size: number;
  /** How the size was found, for the notes. */
  sizeFrom: "addressBlock" | "registers";
  widths: number[];
  registers: DraftRegister[];
}

/** A peripheral of the file as listed: arrays of peripherals (dim) are one entry per element. */
interface PeripheralEntry {
  readonly name: string;
  readonly element: XmlElement;
  readonly path: string;
  /** Added to the base address: an element of a peripheral array. */
  readonly step: number;
  /** The first element of the array this one belongs to, which it shares a map with. */
  readonly arrayHead: string | null;
}

/** A built peripheral. */
interface PeripheralDraft {
  readonly name: string;
  readonly base: number;
  readonly description: string;
  readonly derivedFrom: string | null;
  /** The peripheral at the root of its derivedFrom chain: only peripherals with the same root
   * may share a map. */
  readonly family: string;
  readonly draft: DraftMap;
}

/** Register properties, inherited device -> peripheral -> cluster -> register. */
interface RegisterProps {
  readonly size?: number;
  readonly access?: SvdAccess;
  readonly resetValue?: number;
  readonly resetMask?: number;
}

/** A field as the SVD describes it, before the register's kinds are known. */
interface SvdField {
  readonly name: string;
  readonly msb: number;
  readonly lsb: number;
  readonly doc: string;
  readonly values: Record<string, number> | undefined;
  readonly access: SvdAccess | undefined;
  readonly modifiedWrite: FieldWriteKind | undefined;
  readonly consumes: boolean;
  readonly origin: Origin;
}

class SvdReader {
  readonly device: SvdDevice;
  private readonly deviceProps: RegisterProps;
  readonly entries: readonly PeripheralEntry[];
  private readonly byName = new Map<string, PeripheralEntry>();
  private readonly resolved = new Map<string, XmlElement>();
  private readonly resolving = new Set<string>();

  constructor(root: XmlElement, readonly fileName: string) {
    const name = childText(root, "name");
    if (name === undefined || name === "") this.fail("name", "the device has no <name>");
    const unitBits = childText(root, "addressUnitBits");
    if (unitBits !== undefined && this.number(unitBits, "addressUnitBits", "addressUnitBits") !== 8) {
      this.fail("addressUnitBits", `${excerpt(unitBits)}: only byte-addressed devices (8) are supported`);
    }
    const width = childText(root, "width");
    this.device = {
      name,
      description: docOf(root),
      version: childText(root, "version") ?? null,
      vendor: childText(root, "vendor") ?? null,
      width: width === undefined ? 32 : this.number(width, "width", "width"),
    };
    this.deviceProps = this.props(root, "device", {});
    const list = child(root, "peripherals");
    if (list === undefined) this.fail("peripherals", "the device has no <peripherals>");
    const entries: PeripheralEntry[] = [];
    childrenOf(list, "peripheral").forEach((el, i) => {
      const raw = nameOf(el);
      const path = `peripherals/${raw === "" ? `#${i + 1}` : raw}`;
      if (raw === "") this.fail(path, "a peripheral has no <name>");
      const dims = this.dim(el, raw, path);
      for (const d of dims) entries.push({ name: d.name, element: el, path: dims.length > 1 ? `peripherals/${d.name}` : path, step: d.step, arrayHead: dims.length > 1 ? dims[0]!.name : null });
    });
    for (const e of entries) {
      if (this.byName.has(e.name)) this.fail(e.path, `a second peripheral named ${e.name}`);
      this.byName.set(e.name, e);
    }
    this.entries = entries;
  }

  fail(path: string, problem: string): never {
    throw new SvdError(this.fileName, path, problem);
  }

  number(text: string, path: string, what: string): number {
    const n = parseSvdNumber(text);
    if (n === null) this.fail(path, `${what} "${excerpt(text)}" is not a number (decimal, 0x hex, 0b or # binary)`);
    return n;
  }

  private flag(text: string | undefined, path: string, what: string): boolean {
    if (text === undefined) return false;
    if (text === "true" || text === "1") return true;
    if (text === "false" || text === "0") return false;
    this.fail(path, `${what} "${excerpt(text)}" is not true or false`);
  }

  /** The peripherals to import: all, or those named (exactly, or by a `*` pattern) with what
   * they derive from, in the order of the file. */
  select(names: readonly string[] | undefined): PeripheralEntry[] {
    if (names === undefined) return [...this.entries];
    const wanted = new Set<string>();
    for (const name of names) {
      let found = this.entries.filter((e) => globMatcher(name)(e.name));
      if (found.length === 0) found = this.entries.filter((e) => e.name.toLowerCase() === name.toLowerCase());
      if (found.length === 0) this.fail("peripherals", `no peripheral named ${excerpt(name)} (peripherals: ${nameList(this.entries.map((e) => e.name), 200)})`);
      for (const e of found) wanted.add(e.name);
    }
    // What they derive from: the source of a derived peripheral, the head of an array.
    for (const name of [...wanted]) {
      let e = this.byName.get(name);
      for (let depth = 0; e !== undefined && depth < MAX_DERIVATION_DEPTH; depth++) {
        const next = e.element.attrs.derivedFrom ?? e.arrayHead ?? undefined;
        if (next === undefined || next === e.name) break;
        wanted.add(next);
        e = this.byName.get(next);
      }
    }
    return this.entries.filter((e) => wanted.has(e.name));
  }

  /** The family of a peripheral: the root of its derivedFrom chain. */
  private family(entry: PeripheralEntry): string {
    let e = entry;
    for (let depth = 0; depth < MAX_DERIVATION_DEPTH; depth++) {
      const next = e.element.attrs.derivedFrom ?? e.arrayHead;
      const source = next === null || next === undefined ? undefined : this.byName.get(next);
      if (source === undefined || source === e) return e.name;
      e = source;
    }
    return e.name;
  }

  /** A peripheral's element with its derivedFrom copy made. */
  peripheral(name: string): XmlElement | undefined {
    const entry = this.byName.get(name);
    if (entry === undefined) return undefined;
    const done = this.resolved.get(name);
    if (done !== undefined) return done;
    const ref = entry.element.attrs.derivedFrom;
    if (ref === undefined) {
      this.resolved.set(name, entry.element);
      return entry.element;
    }
    if (this.resolving.has(name)) this.fail(entry.path, `derivedFrom="${excerpt(ref)}" makes a cycle (${[...this.resolving].join(" -> ")} -> ${name})`);
    this.resolving.add(name);
    let source: XmlElement | undefined;
    try {
      source = this.peripheral(ref);
    } finally {
      this.resolving.delete(name);
    }
    if (source === undefined) this.fail(entry.path, `derivedFrom="${excerpt(ref)}" names no peripheral of the device`);
    const merged = derive(entry.element, source);
    this.resolved.set(name, merged);
    return merged;
  }

  /** Register properties of an element over the inherited ones. */
  private props(el: XmlElement, path: string, inherited: RegisterProps): RegisterProps {
    const size = childText(el, "size");
    const access = childText(el, "access");
    const resetValue = childText(el, "resetValue");
    const resetMask = childText(el, "resetMask");
    if (access !== undefined && !(SVD_ACCESS as readonly string[]).includes(access)) {
      this.fail(path, `access "${excerpt(access)}" is not one of ${SVD_ACCESS.join(", ")}`);
    }
    return {
      ...inherited,
      ...(size === undefined ? {} : { size: this.number(size, path, "size") }),
      ...(access === undefined ? {} : { access: access as SvdAccess }),
      ...(resetValue === undefined ? {} : { resetValue: this.number(resetValue, path, "resetValue") }),
      ...(resetMask === undefined ? {} : { resetMask: this.number(resetMask, path, "resetMask") }),
    };
  }

  /** The elements of a dim array: names with %s (or [%s]) replaced, address steps. An element
   * without dim is one element. */
  private dim(el: XmlElement, name: string, path: string): { name: string; index: string; step: number }[] {
    const dimText = childText(el, "dim");
    if (dimText === undefined) return [{ name, index: "", step: 0 }];
    const count = this.number(dimText, path, "dim");
    if (count < 1 || count > MAX_DIM) this.fail(path, `dim ${count} is not 1..${MAX_DIM}`);
    const incrementText = childText(el, "dimIncrement");
    if (incrementText === undefined) this.fail(path, `dim ${count} without dimIncrement: an array needs the address step between its elements`);
    const increment = this.number(incrementText, path, "dimIncrement");
    if (!name.includes("%s")) this.fail(path, `dim ${count} needs %s in the name, got "${excerpt(name)}"`);
    const indexText = childText(el, "dimIndex");
    const indices = indexText === undefined ? Array.from({ length: count }, (_, i) => String(i)) : this.dimIndex(indexText, path);
    if (indices.length !== count) this.fail(path, `dimIndex "${excerpt(indexText ?? "")}" gives ${indices.length} indices for dim ${count}`);
    return indices.map((index, i) => ({ name: name.replace("[%s]", index).replaceAll("%s", index), index, step: i * increment }));
  }

  /** dimIndex: `0-3`, `A-D`, or a comma-separated list. */
  private dimIndex(text: string, path: string): string[] {
    const numbers = /^(\d+)\s*-\s*(\d+)$/.exec(text);
    if (numbers !== null) {
      const first = Number(numbers[1]);
      const last = Number(numbers[2]);
      if (last < first || last - first >= MAX_DIM) this.fail(path, `dimIndex "${excerpt(text)}" is not an ascending range`);
      return Array.from({ length: last - first + 1 }, (_, i) => String(first + i));
    }
    const letters = /^([A-Z])\s*-\s*([A-Z])$/.exec(text);
    if (letters !== null) {
      const first = letters[1]!.charCodeAt(0);
      const last = letters[2]!.charCodeAt(0);
      if (last < first) this.fail(path, `dimIndex "${excerpt(text)}" is not an ascending range`);
      return Array.from({ length: last - first + 1 }, (_, i) => String.fromCharCode(first + i));
    }
    const list = text.split(",").map((s) => s.trim());
    if (!list.every((s) => /^[_0-9a-zA-Z]+$/.test(s))) this.fail(path, `dimIndex "${excerpt(text)}" is not a range (0-3, A-D) or a list of names`);
    return list;
  }

  /**
   * An element with its derivedFrom copy made. `scopes` are the elements it sits in, innermost
   * first (its register, cluster, peripheral): the name is looked up in each, as a sibling or a
   * dotted path (CLUSTER.REGISTER), then from the device (PERIPHERAL.REGISTER.FIELD).
   */
  private resolve(el: XmlElement, scopes: readonly XmlElement[], path: string, depth = 0): XmlElement {
    const ref = el.attrs.derivedFrom;
    if (ref === undefined) return el;
    if (depth >= MAX_DERIVATION_DEPTH) this.fail(path, `derivedFrom chains longer than ${MAX_DERIVATION_DEPTH} links (a cycle?) at "${excerpt(ref)}"`);
    const found = this.lookup(ref.split("."), scopes, el);
    if (found === undefined) {
      const siblings = scopes[0] === undefined ? [] : members(scopes[0]).map(nameOf).filter((n) => n !== nameOf(el));
      this.fail(path, `derivedFrom="${excerpt(ref)}" names no ${el.tag} (${el.tag}s beside it: ${nameList(siblings, 12)})`);
    }
    const source = this.resolve(found.element, found.scopes, path, depth + 1);
    return derive(el, source);
  }

  private lookup(segments: readonly string[], scopes: readonly XmlElement[], self: XmlElement): { element: XmlElement; scopes: XmlElement[] } | undefined {
    const walk = (start: XmlElement, chain: XmlElement[], rest: readonly string[]): { element: XmlElement; scopes: XmlElement[] } | undefined => {
      let container = start;
      let outer = chain;
      for (const [i, segment] of rest.entries()) {
        const next = members(container).find((m) => nameOf(m) === segment);
        if (next === undefined) return undefined;
        if (i === rest.length - 1) return { element: next, scopes: [container, ...outer] };
        outer = [container, ...outer];
        container = next;
      }
      return undefined;
    };
    for (let i = 0; i < scopes.length; i++) {
      const found = walk(scopes[i]!, scopes.slice(i + 1), segments);
      if (found !== undefined && found.element !== self) return found;
    }
    const [first, ...rest] = segments;
    const peripheral = first === undefined ? undefined : this.peripheral(first);
    if (peripheral === undefined || rest.length === 0) return undefined;
    const found = walk(peripheral, [], rest);
    return found !== undefined && found.element !== self ? found : undefined;
  }

  /** One peripheral as a draft map. */
  build(entry: PeripheralEntry): PeripheralDraft {
    const el = this.peripheral(entry.name)!;
    const path = entry.path;
    // A derived peripheral takes everything from its source but its base address.
    const baseText = childText(entry.element, "baseAddress");
    if (baseText === undefined) this.fail(path, "no <baseAddress>");
    const base = this.number(baseText, path, "baseAddress") + entry.step;
    const props = this.props(el, path, this.deviceProps);
    const registers: DraftRegister[] = [];
    for (const m of members(el)) this.member(m, props, "", 0, [el], path, registers, 0);
    const defaultBits = props.size ?? DEFAULT_REGISTER_BITS;
    let size = 0;
    let sizeFrom: DraftMap["sizeFrom"] = "addressBlock";
    for (const block of childrenOf(el, "addressBlock")) {
      const offset = this.number(childText(block, "offset") ?? "0", `${path}/addressBlock`, "offset");
      const bytes = this.number(childText(block, "size") ?? this.fail(`${path}/addressBlock`, "no <size>"), `${path}/addressBlock`, "size");
      size = Math.max(size, offset + bytes);
    }
    if (size === 0) {
      sizeFrom = "registers";
      for (const r of registers) size = Math.max(size, r.offset + r.bits / 8);
    }
    size = Math.ceil(size / 4) * 4;
    return {
      name: entry.name,
      base,
      description: docOf(el),
      derivedFrom: entry.element.attrs.derivedFrom ?? null,
      family: this.family(entry),
      draft: { size, sizeFrom, widths: [Math.max(1, defaultBits / 8)], registers },
    };
  }

  /** A register or a cluster of a peripheral or cluster, appended to `out`, flattened. */
  private member(raw: XmlElement, inherited: RegisterProps, prefix: string, base: number, scopes: readonly XmlElement[], parentPath: string, out: DraftRegister[], depth: number): void {
    const rawName = nameOf(raw);
    const kind = raw.tag === "cluster" ? "clusters" : "registers";
    const path = `${parentPath}/${kind}/${rawName === "" ? "#" + (members(scopes[0]!).indexOf(raw) + 1) : rawName}`;
    if (rawName === "") this.fail(path, `a ${raw.tag} has no <name>`);
    const el = this.resolve(raw, scopes, path);
    const props = this.props(el, path, inherited);
    const offsetText = childText(el, "addressOffset");
    if (offsetText === undefined) this.fail(path, "no <addressOffset>");
    const offset = this.number(offsetText, path, "addressOffset");
    if (el.tag === "cluster") {
      if (depth >= MAX_CLUSTER_DEPTH) this.fail(path, `clusters nested deeper than ${MAX_CLUSTER_DEPTH}`);
      for (const d of this.dim(el, rawName, path)) {
        const clusterPrefix = `${prefix}${identifier(d.name, "C")}_`;
        for (const m of members(el)) this.member(m, props, clusterPrefix, base + offset + d.step, [el, ...scopes], path, out, depth + 1);
      }
      return;
    }
    const bits = props.size ?? DEFAULT_REGISTER_BITS;
    if (bits !== 8 && bits !== 16 && bits !== 32) this.fail(path, `size ${bits}: only 8-, 16- and 32-bit registers fit the register-map format`);
    const fields = this.fields(el, [el, ...scopes], path);
    const kinds = registerKinds(el, props.access, fields, (text) => this.modifiedWrite(text, path), (text) => this.readAction(text, path));
    const reset = props.resetValue === undefined || props.resetMask === 0
      ? null
      : Number(BigInt(props.resetValue) & BigInt(props.resetMask ?? 0xffffffff) & ((1n << BigInt(bits)) - 1n));
    const alternateGroup = childText(el, "alternateGroup");
    const alternateRegister = childText(el, "alternateRegister");
    const doc = docOf(el);
    for (const d of this.dim(el, rawName, path)) {
      if (out.length >= MAX_REGISTERS) this.fail(path, `more than ${MAX_REGISTERS} registers in one peripheral once its arrays are expanded`);
      out.push({
        name: identifier(prefix + (alternateGroup === undefined ? d.name : `${d.name}_${alternateGroup}`), "R"),
        offset: base + offset + d.step,
        bits,
        read: kinds.read,
        write: kinds.write,
        reset,
        widths: [bits / 8],
        section: "",
        doc: doc.replaceAll("%s", d.index),
        fields: kinds.fields.map((f) => ({ ...f, ...(f.values === undefined ? {} : { values: { ...f.values } }) })),
        alternateOf: alternateRegister !== undefined ? identifier(prefix + alternateRegister, "R") : alternateGroup !== undefined ? `group ${alternateGroup}` : null,
        origin: { file: this.fileName, path },
      });
    }
  }

  private modifiedWrite(text: string, path: string): FieldWriteKind {
    const kind = MODIFIED_WRITE_VALUES[text];
    if (kind === undefined || !Object.prototype.hasOwnProperty.call(MODIFIED_WRITE_VALUES, text)) {
      this.fail(path, `modifiedWriteValues "${excerpt(text)}" is not one of ${Object.keys(MODIFIED_WRITE_VALUES).join(", ")}`);
    }
    return kind;
  }

  private readAction(text: string, path: string): boolean {
    if (!READ_ACTIONS.includes(text)) this.fail(path, `readAction "${excerpt(text)}" is not one of ${READ_ACTIONS.join(", ")}`);
    return true;
  }

  /** The fields of a register as the SVD gives them. */
  private fields(register: XmlElement, scopes: readonly XmlElement[], registerPath: string): SvdField[] {
    const out: SvdField[] = [];
    for (const raw of members(register)) {
      const rawName = nameOf(raw);
      const path = `${registerPath}/fields/${rawName === "" ? "#" + (members(register).indexOf(raw) + 1) : rawName}`;
      if (rawName === "") this.fail(path, "a field has no <name>");
      const el = this.resolve(raw, scopes, path);
      const { msb, lsb } = this.bitRange(el, path);
      const access = childText(el, "access");
      if (access !== undefined && !(SVD_ACCESS as readonly string[]).includes(access)) this.fail(path, `access "${excerpt(access)}" is not one of ${SVD_ACCESS.join(", ")}`);
      const mwv = childText(el, "modifiedWriteValues");
      const readAction = childText(el, "readAction");
      const values = this.values(el, register, scopes, path, msb - lsb + 1);
      const doc = docOf(el);
      for (const d of this.dim(el, rawName, path)) {
        out.push({
          name: identifier(d.name, "F"),
          msb: msb + d.step,
          lsb: lsb + d.step,
          doc: doc.replaceAll("%s", d.index),
          values,
          access: access as SvdAccess | undefined,
          modifiedWrite: mwv === undefined ? undefined : this.modifiedWrite(mwv, path),
          consumes: readAction === undefined ? false : this.readAction(readAction, path),
          origin: { file: this.fileName, path },
        });
      }
    }
    return out;
  }

  /** A field's bits from bitOffset + bitWidth, lsb + msb, or bitRange "[msb:lsb]". */
  private bitRange(el: XmlElement, path: string): { msb: number; lsb: number } {
    const offset = childText(el, "bitOffset");
    const lsbText = childText(el, "lsb");
    const msbText = childText(el, "msb");
    const range = childText(el, "bitRange");
    let msb: number;
    let lsb: number;
    if (offset !== undefined) {
      lsb = this.number(offset, path, "bitOffset");
      const width = this.number(childText(el, "bitWidth") ?? "1", path, "bitWidth");
      if (width < 1) this.fail(path, `bitWidth ${width}: a field has at least one bit`);
      msb = lsb + width - 1;
    } else if (lsbText !== undefined && msbText !== undefined) {
      lsb = this.number(lsbText, path, "lsb");
      msb = this.number(msbText, path, "msb");
    } else if (range !== undefined) {
      const m = /^\[\s*(\d+)\s*:\s*(\d+)\s*\]$/.exec(range);
      if (m === null) this.fail(path, `bitRange "${excerpt(range)}" is not [msb:lsb]`);
      msb = Number(m[1]);
      lsb = Number(m[2]);
    } else {
      this.fail(path, "no bit position: expected bitOffset (+ bitWidth), lsb + msb, or bitRange [msb:lsb]");
    }
    if (msb < lsb) this.fail(path, `msb ${msb} is below lsb ${lsb}`);
    return { msb, lsb };
  }

  /** A field's enumeratedValues as named values: isDefault entries and values with don't-care
   * bits (#1x0) are left out, names made valid and unique. */
  private values(field: XmlElement, register: XmlElement, scopes: readonly XmlElement[], fieldPath: string, width: number): Record<string, number> | undefined {
    const sets = childrenOf(field, "enumeratedValues");
    if (sets.length === 0) return undefined;
    const values = new Map<string, number>();
    for (const rawSet of sets) {
      const set = this.enumSet(rawSet, register, scopes, fieldPath);
      for (const ev of childrenOf(set, "enumeratedValue")) {
        const rawName = nameOf(ev);
        const path = `${fieldPath}/enumeratedValues/${rawName === "" ? "#" : rawName}`;
        if (this.flag(childText(ev, "isDefault"), path, "isDefault")) continue;
        const text = childText(ev, "value");
        if (text === undefined) this.fail(path, "an enumeratedValue has neither <value> nor isDefault");
        const binary = /^(?:#|0b)([01x]+)$/i.exec(text.trim());
        if (binary !== null && /x/i.test(binary[1]!)) continue;
        const value = binary !== null ? parseInt(binary[1]!, 2) : this.number(text, path, "value");
        if (value >= 2 ** width) this.fail(path, `value ${value} does not fit the ${width}-bit field`);
        let name = rawName.replace(/[^A-Za-z0-9_]/g, "_");
        if (name === "" || /^_+$/.test(name)) name = `V${value}`;
        if (values.get(name) === value) continue;
        const base = name;
        for (let n = 2; values.has(name); n++) name = `${base}_${n}`;
        values.set(name, value);
      }
    }
    return values.size === 0 ? undefined : Object.fromEntries(values);
  }

  /** An enumeratedValues element with its derivedFrom resolved: the name of another
   * enumeratedValues of the register's fields, or a dotted path ending in one. */
  private enumSet(set: XmlElement, register: XmlElement, scopes: readonly XmlElement[], fieldPath: string): XmlElement {
    const ref = set.attrs.derivedFrom;
    if (ref === undefined) return set;
    const segments = ref.split(".");
    const setName = segments.pop()!;
    const fieldsToSearch = segments.length === 0 ? members(register) : (() => {
      const found = this.lookup(segments, scopes, set);
      return found === undefined ? [] : [found.element];
    })();
    for (const f of fieldsToSearch) {
      const source = childrenOf(f, "enumeratedValues").find((e) => nameOf(e) === setName && e !== set);
      if (source !== undefined) return source.attrs.derivedFrom === undefined ? source : this.fail(fieldPath, `enumeratedValues derivedFrom="${excerpt(ref)}" names a set that is itself derived`);
    }
    this.fail(`${fieldPath}/enumeratedValues`, `derivedFrom="${excerpt(ref)}" names no enumeratedValues`);
  }
}

/**
 * Read and write kinds of a register and its fields from SVD access, modifiedWriteValues and
 * readAction. The register's kinds summarise its fields (every writable field write-1-to-clear
 * makes a w1c register, any field cleared by reading a register that consumes); a field carries
 * its own kind where it differs from the register's or where the SVD gives it a side effect.
 */
function registerKinds(
  el: XmlElement,
  statedAccess: SvdAccess | undefined,
  fields: readonly SvdField[],
  modifiedWrite: (text: string) => FieldWriteKind,
  readAction: (text: string) => boolean,
): { read: ReadKind; write: WriteKind; fields: DraftField[] } {
  // With no access on the register or anything above it, its fields decide (the SVD's default
  // is read-write).
  const access: SvdAccess = statedAccess
    ?? (fields.length > 0 && fields.every((f) => f.access === "read-only") ? "read-only"
      : fields.length > 0 && fields.every((f) => f.access === "write-only") ? "write-only" : "read-write");
  const mwvText = childText(el, "modifiedWriteValues");
  const registerWrite = mwvText === undefined ? undefined : modifiedWrite(mwvText);
  const readActionText = childText(el, "readAction");
  const registerConsumes = readActionText === undefined ? false : readAction(readActionText);

  const fieldWrite = (f: SvdField): FieldWriteKind => ((f.access ?? access) === "read-only" ? "ignored" : f.modifiedWrite ?? registerWrite ?? "value");
  const writable = fields.map(fieldWrite).filter((k) => k !== "ignored");
  let write: WriteKind;
  if (access === "read-only") write = "ignored";
  else if (registerWrite === "w1c" || registerWrite === "clears") write = registerWrite;
  else if (writable.length > 0 && writable.every((k) => k === "w1c")) write = "w1c";
  else if (writable.length > 0 && writable.every((k) => k === "clears")) write = "clears";
  else write = "value";
  const read: ReadKind = access === "write-only" ? "undefined" : registerConsumes || fields.some((f) => f.consumes) ? "consumes" : "value";

  const draftFields = fields.map((f): DraftField => {
    const out: DraftField = { name: f.name, msb: f.msb, lsb: f.lsb, doc: f.doc, origin: f.origin };
    const fw = fieldWrite(f);
    if (fw !== write || (f.modifiedWrite !== undefined && fw !== "value")) out.write = fw;
    if (f.consumes) out.read = "consumes";
    else if ((f.access ?? access) === "write-only" && read !== "undefined") out.read = "undefined";
    if (f.values !== undefined) out.values = f.values;
    return out;
  });
  return { read, write, fields: draftFields };
}

// ---------------------------------------------------------------------------------------------
// Shared maps

/** A register map and the peripherals it describes. */
interface MapGroup {
  /** The block name before any overlay: the name of the peripheral the others derive from. */
  readonly importedName: string;
  readonly members: PeripheralDraft[];
  draft: DraftMap;
  /** Block keys set by the overlay, with the entry that set them. */
  block?: { name: string; origin: Origin };
  title?: string;
  manual?: string;
  notes?: string;
  rules?: unknown;
  sizeOrigin?: Origin;
}

/** Peripherals of one derivedFrom family whose drafts are equal share one map, named after the
 * family's root where it is one of them (GPIOC..GPIOK share gpioi). */
function groupShared(drafts: readonly PeripheralDraft[]): MapGroup[] {
  const byKey = new Map<string, PeripheralDraft[]>();
  const withoutOrigin = (key: string, value: unknown): unknown => (key === "origin" ? undefined : value);
  for (const p of drafts) {
    const key = `${p.family}\u0000${JSON.stringify(p.draft, withoutOrigin)}`;
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [p]);
    else list.push(p);
  }
  const groups: MapGroup[] = [];
  const taken = new Set<string>();
  for (const list of byKey.values()) {
    const principal = list.find((p) => p.name === p.family) ?? list[0]!;
    let name = blockNameOf(principal.name);
    for (let n = 2; taken.has(name); n++) name = `${blockNameOf(principal.name)}_${n}`;
    taken.add(name);
    groups.push({ importedName: name, members: list, draft: principal.draft });
  }
  return groups;
}

// ---------------------------------------------------------------------------------------------
// Step 3: the overlay

/** A parsed, checked overlay (docs/svd.md, "The overlay"). */
export interface Overlay {
  readonly file: string;
  readonly peripherals: readonly PeripheralPatch[];
}

export interface PeripheralPatch {
  readonly pattern: string;
  readonly path: string;
  readonly block?: string;
  readonly title?: string;
  readonly manual?: string;
  readonly notes?: string;
  readonly size?: number;
  /** The block's rules as the register-map format has them, checked with the imported map. */
  readonly rules?: unknown;
  readonly registers: readonly RegisterPatch[];
  readonly addRegisters: readonly NewRegister[];
}

export interface RegisterChanges {
  readonly read?: ReadKind;
  readonly write?: WriteKind;
  readonly widths?: readonly number[];
  readonly reset?: number | null;
  readonly doc?: string;
  readonly section?: string;
  readonly bits?: number;
  readonly offset?: number;
}

export interface RegisterPatch {
  readonly pattern: string;
  readonly path: string;
  /** `null` in the overlay: the register is deleted. */
  readonly remove: boolean;
  readonly set: RegisterChanges;
  readonly fields: readonly FieldPatch[];
  readonly addFields: readonly NewField[];
}

export interface FieldChanges {
  readonly read?: FieldReadKind;
  readonly write?: FieldWriteKind;
  readonly doc?: string;
  /** null removes the field's named values. */
  readonly values?: Readonly<Record<string, number>> | null;
  readonly bits?: { readonly msb: number; readonly lsb: number };
}

export interface FieldPatch {
  readonly pattern: string;
  readonly path: string;
  readonly remove: boolean;
  readonly set: FieldChanges;
}

export interface NewField {
  readonly name: string;
  readonly path: string;
  readonly bits: { readonly msb: number; readonly lsb: number };
  readonly read?: FieldReadKind;
  readonly write?: FieldWriteKind;
  readonly doc: string;
  readonly values?: Readonly<Record<string, number>>;
}

export interface NewRegister {
  readonly name: string;
  readonly path: string;
  readonly offset: number;
  readonly bits?: number;
  readonly read: ReadKind;
  readonly write: WriteKind;
  readonly reset: number | null;
  readonly widths?: readonly number[];
  readonly section: string;
  readonly doc: string;
  readonly fields: readonly NewField[];
}

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;
const PATTERN = /^[A-Za-z0-9_*]+$/;
/** A key any overlay object may carry, for people: the import ignores it. */
const COMMENT_KEY = "$comment";

/** Reads an overlay object key by key: a misspelt key is named, not ignored. */
class OverlayObject {
  readonly value: Readonly<Record<string, unknown>>;

  constructor(readonly file: string, readonly path: string, raw: unknown, known: readonly string[]) {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new SvdError(file, path || "(top)", `${shown(raw)}: expected an object`);
    this.value = raw as Record<string, unknown>;
    for (const key of Object.keys(this.value)) {
      if (key !== COMMENT_KEY && !known.includes(key)) this.fail(key, `unknown key: expected one of ${known.join(", ")}`);
    }
  }

  at(key: string): string {
    return this.path === "" ? key : `${this.path}.${key}`;
  }

  fail(key: string | null, problem: string): never {
    throw new SvdError(this.file, key === null ? this.path || "(top)" : this.at(key), problem);
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.value, key);
  }

  get(key: string): unknown {
    return this.has(key) ? this.value[key] : undefined;
  }

  string(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "string") this.fail(key, `${shown(v)}: expected a string`);
    return v;
  }

  integer(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const n = typeof v === "number" ? v : typeof v === "string" ? parseSvdNumber(v) : null;
    if (n === null || !Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) this.fail(key, `${shown(v)}: expected an integer 0..0xFFFFFFFF (a number or a string such as "0x40")`);
    return n;
  }

  oneOf<T extends string>(key: string, kinds: readonly T[]): T | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "string" || !(kinds as readonly string[]).includes(v)) this.fail(key, `${shown(v)}: expected one of ${kinds.join(", ")}`);
    return v as T;
  }

  widths(key: string): number[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0 || !v.every((w) => w === 1 || w === 2 || w === 4)) this.fail(key, `${shown(v)}: expected a list of access widths in bytes (1, 2, 4)`);
    return [...new Set(v as number[])].sort((a, b) => a - b);
  }

  bits(key: string): { msb: number; lsb: number } | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const m = /^(\d{1,2})(?::(\d{1,2}))?$/.exec(typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
    if (m === null) this.fail(key, `${shown(v)}: expected "N" or "MSB:LSB"`);
    const msb = Number(m[1]);
    const lsb = m[2] === undefined ? msb : Number(m[2]);
    if (lsb > msb || msb > 31) this.fail(key, `${shown(v)}: expected MSB:LSB within 31:0`);
    return { msb, lsb };
  }

  reset(key: string): number | null | undefined {
    return this.get(key) === null ? null : this.integer(key);
  }

  values(key: string): Record<string, number> | null | undefined {
    const v = this.get(key);
    if (v === undefined || v === null) return v;
    const o = new OverlayObject(this.file, this.at(key), v, Object.keys(v as object));
    const out = new Map<string, number>();
    for (const name of Object.keys(o.value)) {
      if (name === COMMENT_KEY) continue;
      if (!/^[A-Za-z0-9_]+$/.test(name)) o.fail(name, "a value name is letters, digits and _");
      out.set(name, o.integer(name)!);
    }
    return Object.fromEntries(out);
  }

  /** A `{ name: entry }` object of names or patterns. */
  entries(key: string, nameRule: RegExp, what: string): [string, unknown, string][] {
    const v = this.get(key);
    if (v === undefined) return [];
    const o = new OverlayObject(this.file, this.at(key), v, Object.keys(v as object));
    return Object.keys(o.value).filter((k) => k !== COMMENT_KEY).map((k) => {
      if (!nameRule.test(k)) o.fail(k, `"${excerpt(k)}" is not a ${what}`);
      return [k, o.value[k], o.at(k)];
    });
  }
}

function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return excerpt(JSON.stringify(value) ?? String(value));
}

const PERIPHERAL_KEYS = ["block", "title", "manual", "notes", "size", "rules", "registers", "addRegisters"];
const REGISTER_PATCH_KEYS = ["read", "write", "widths", "reset", "doc", "section", "bits", "offset", "fields", "addFields"];
const NEW_REGISTER_KEYS = ["offset", "bits", "read", "write", "reset", "widths", "section", "doc", "fields"];
const FIELD_PATCH_KEYS = ["read", "write", "doc", "values", "bits"];
const NEW_FIELD_KEYS = ["bits", "read", "write", "doc", "values"];

/** Checks an overlay (a parsed JSON value) and returns it typed. Throws SvdError naming the JSON
 * path of the first bad entry. */
export function parseOverlay(raw: unknown, overlayFile: string): Overlay {
  const top = new OverlayObject(overlayFile, "", raw, ["peripherals"]);
  const peripherals = top.entries("peripherals", PATTERN, "peripheral name or pattern").map(([pattern, value, path]): PeripheralPatch => {
    const p = new OverlayObject(overlayFile, path, value, PERIPHERAL_KEYS);
    const block = p.string("block");
    if (block !== undefined && !BLOCK_NAME.test(block)) p.fail("block", `"${excerpt(block)}": a block name is lower case (letters, digits, _; starting with a letter)`);
    const size = p.integer("size");
    if (size !== undefined && (size === 0 || size % 4 !== 0)) p.fail("size", `${hex(size)}: expected a positive multiple of 4 bytes`);
    return {
      pattern,
      path,
      ...optional({ block, title: p.string("title"), manual: p.string("manual"), notes: p.string("notes"), size, rules: p.get("rules") }),
      registers: p.entries("registers", PATTERN, "register name or pattern").map(([name, v, at]) => registerPatch(overlayFile, name, v, at)),
      addRegisters: p.entries("addRegisters", IDENTIFIER, "register name (an identifier)").map(([name, v, at]) => newRegister(overlayFile, name, v, at)),
    };
  });
  return { file: overlayFile, peripherals };
}

/** An object without its undefined values (so that `"key" in x` means the overlay set it). */
function optional<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function registerPatch(file: string, pattern: string, raw: unknown, path: string): RegisterPatch {
  if (raw === null) return { pattern, path, remove: true, set: {}, fields: [], addFields: [] };
  const r = new OverlayObject(file, path, raw, REGISTER_PATCH_KEYS);
  const bits = r.integer("bits");
  if (bits !== undefined && (bits < 1 || bits > 32)) r.fail("bits", `${bits}: expected 1..32 significant bits`);
  const set: RegisterChanges = optional({
    read: r.oneOf("read", READ_KINDS),
    write: r.oneOf("write", WRITE_KINDS),
    widths: r.widths("widths"),
    reset: r.reset("reset"),
    doc: r.string("doc"),
    section: r.string("section"),
    bits,
    offset: r.integer("offset"),
  });
  return {
    pattern,
    path,
    remove: false,
    set,
    fields: r.entries("fields", PATTERN, "field name or pattern").map(([name, v, at]) => fieldPatch(file, name, v, at)),
    addFields: r.entries("addFields", IDENTIFIER, "field name (an identifier)").map(([name, v, at]) => newField(file, name, v, at)),
  };
}

function fieldPatch(file: string, pattern: string, raw: unknown, path: string): FieldPatch {
  if (raw === null) return { pattern, path, remove: true, set: {} };
  const f = new OverlayObject(file, path, raw, FIELD_PATCH_KEYS);
  const set: FieldChanges = optional({
    read: f.oneOf("read", FIELD_READ_KINDS),
    write: f.oneOf("write", FIELD_WRITE_KINDS),
    doc: f.string("doc"),
    values: f.values("values"),
    bits: f.bits("bits"),
  });
  // values: null removes them, which optional() would drop.
  return { pattern, path, remove: false, set: f.get("values") === null ? { ...set, values: null } : set };
}

function newField(file: string, name: string, raw: unknown, path: string): NewField {
  const f = new OverlayObject(file, path, raw, NEW_FIELD_KEYS);
  const bits = f.bits("bits") ?? f.fail(null, `a new field needs "bits"`);
  const values = f.values("values");
  return { name, path, bits, doc: f.string("doc") ?? "", ...optional({ read: f.oneOf("read", FIELD_READ_KINDS), write: f.oneOf("write", FIELD_WRITE_KINDS), values: values ?? undefined }) };
}

function newRegister(file: string, name: string, raw: unknown, path: string): NewRegister {
  const r = new OverlayObject(file, path, raw, NEW_REGISTER_KEYS);
  const offset = r.integer("offset") ?? r.fail(null, `a new register needs "offset"`);
  const bits = r.integer("bits");
  if (bits !== undefined && (bits < 1 || bits > 32)) r.fail("bits", `${bits}: expected 1..32 significant bits`);
  return {
    name,
    path,
    offset,
    read: r.oneOf("read", READ_KINDS) ?? "value",
    write: r.oneOf("write", WRITE_KINDS) ?? "value",
    reset: r.reset("reset") ?? null,
    section: r.string("section") ?? "",
    doc: r.string("doc") ?? "",
    fields: r.entries("fields", IDENTIFIER, "field name (an identifier)").map(([n, v, at]) => newField(file, n, v, at)),
    ...optional({ bits, widths: r.widths("widths") }),
  };
}

/**
 * Applies an overlay to the maps. An entry applies to the map of every imported peripheral it
 * names, once per map: peripherals that share a map (GPIOC..GPIOK share gpioi) are patched
 * together, whichever of them the entry names. Entries apply in the order of the overlay.
 */
function applyOverlay(overlay: Overlay, groups: readonly MapGroup[], svd: SvdReader): void {
  const everyName = svd.entries.map((e) => e.name);
  for (const patch of overlay.peripherals) {
    const matches = globMatcher(patch.pattern);
    if (!everyName.some(matches)) {
      throw new SvdError(overlay.file, patch.path, `names no peripheral of ${svd.fileName} (peripherals: ${nameList(everyName, 200)})`);
    }
    // Peripherals left out by --peripherals are not patched.
    for (const group of groups.filter((g) => g.members.some((m) => matches(m.name)))) {
      const shownAs = group.members.find((m) => matches(m.name))!.name;
      patchGroup(overlay.file, patch, group, shownAs);
    }
  }
}

function patchGroup(file: string, patch: PeripheralPatch, group: MapGroup, peripheral: string): void {
  const origin = (path: string): Origin => ({ file, path });
  if (patch.block !== undefined) {
    if (group.block !== undefined && group.block.name !== patch.block) {
      throw new SvdError(file, `${patch.path}.block`, `${group.importedName} is already renamed to ${group.block.name} by ${group.block.origin.path}`);
    }
    group.block = { name: patch.block, origin: origin(`${patch.path}.block`) };
  }
  if (patch.title !== undefined) group.title = patch.title;
  if (patch.manual !== undefined) group.manual = patch.manual;
  if (patch.notes !== undefined) group.notes = patch.notes;
  if (patch.rules !== undefined) group.rules = patch.rules;
  if (patch.size !== undefined) {
    group.draft.size = patch.size;
    group.sizeOrigin = origin(`${patch.path}.size`);
  }
  const draft = group.draft;
  for (const rp of patch.registers) {
    const matches = globMatcher(rp.pattern);
    const targets = draft.registers.filter((r) => matches(r.name));
    if (targets.length === 0) {
      throw new SvdError(file, rp.path, `${peripheral} has no register ${rp.pattern} (registers: ${nameList(draft.registers.map((r) => r.name))})`);
    }
    if (rp.remove) {
      draft.registers = draft.registers.filter((r) => !targets.includes(r));
      continue;
    }
    for (const r of targets) patchRegister(file, rp, r, `${peripheral}.${r.name}`);
  }
  for (const add of patch.addRegisters) {
    if (draft.registers.some((r) => r.name === add.name)) {
      throw new SvdError(file, add.path, `${peripheral} already has a register ${add.name}: patch it under "registers"`);
    }
    const bits = add.bits ?? draft.widths[0]! * 8;
    draft.registers.push({
      name: add.name,
      offset: add.offset,
      bits,
      read: add.read,
      write: add.write,
      reset: add.reset,
      widths: [...(add.widths ?? draft.widths)],
      section: add.section,
      doc: add.doc,
      fields: add.fields.map((f) => draftFieldOf(file, f)),
      alternateOf: null,
      origin: origin(add.path),
    });
  }
}

function patchRegister(file: string, rp: RegisterPatch, r: DraftRegister, shownAs: string): void {
  const s = rp.set;
  if (s.read !== undefined) r.read = s.read;
  if (s.write !== undefined) r.write = s.write;
  if (s.doc !== undefined) r.doc = s.doc;
  if (s.section !== undefined) r.section = s.section;
  // What the map's checks look at: a problem they find is now the overlay's.
  if (s.widths !== undefined || s.reset !== undefined || s.bits !== undefined || s.offset !== undefined) r.origin = { file, path: rp.path };
  if (s.widths !== undefined) r.widths = [...s.widths];
  if (s.reset !== undefined) r.reset = s.reset;
  if (s.bits !== undefined) r.bits = s.bits;
  if (s.offset !== undefined) r.offset = s.offset;
  for (const fp of rp.fields) {
    const matches = globMatcher(fp.pattern);
    const targets = r.fields.filter((f) => matches(f.name));
    if (targets.length === 0) {
      throw new SvdError(file, fp.path, `${shownAs} has no field ${fp.pattern} (fields: ${nameList(r.fields.map((f) => f.name))})`);
    }
    if (fp.remove) {
      r.fields = r.fields.filter((f) => !targets.includes(f));
      continue;
    }
    for (const f of targets) {
      const c = fp.set;
      if (c.read !== undefined) f.read = c.read;
      if (c.write !== undefined) f.write = c.write;
      if (c.doc !== undefined) f.doc = c.doc;
      if (c.values === null) delete f.values;
      else if (c.values !== undefined) f.values = { ...c.values };
      if (c.bits !== undefined || c.values !== undefined) f.origin = { file, path: fp.path };
      if (c.bits !== undefined) {
        f.msb = c.bits.msb;
        f.lsb = c.bits.lsb;
      }
    }
  }
  for (const add of rp.addFields) {
    if (r.fields.some((f) => f.name === add.name)) throw new SvdError(file, add.path, `${shownAs} already has a field ${add.name}: patch it under "fields"`);
    r.fields.push(draftFieldOf(file, add));
  }
}

function draftFieldOf(file: string, f: NewField): DraftField {
  const out: DraftField = { name: f.name, msb: f.bits.msb, lsb: f.bits.lsb, doc: f.doc, origin: { file, path: f.path } };
  if (f.read !== undefined) out.read = f.read;
  if (f.write !== undefined) out.write = f.write;
  if (f.values !== undefined) out.values = { ...f.values };
  return out;
}

// ---------------------------------------------------------------------------------------------
// Step 4: checks and the format

/** The registers of a map in offset order, checked; alternates that collide with the register
 * they stand for are left out (and returned, for the notes). */
function checkMap(group: MapGroup): { registers: DraftRegister[]; dropped: DraftRegister[] } {
  const draft = group.draft;
  const fail = (origin: Origin, problem: string): never => {
    throw new SvdError(origin.file, origin.path, problem);
  };
  // At one offset, the register itself before its alternates.
  const sorted = [...draft.registers].sort((a, b) => a.offset - b.offset || Number(a.alternateOf !== null) - Number(b.alternateOf !== null));
  const byWord = new Map<number, DraftRegister>();
  const names = new Map<string, DraftRegister>();
  const kept: DraftRegister[] = [];
  const dropped: DraftRegister[] = [];
  for (const r of sorted) {
    const word = r.offset - (r.offset % 4);
    const holder = byWord.get(word);
    if (holder !== undefined) {
      if (r.alternateOf !== null) {
        dropped.push(r);
        continue;
      }
      fail(r.origin, `${r.name} at ${hex(r.offset, 3)} shares its 32-bit word with ${holder.name} (${holder.origin.path}): the register-map format has one register per word`);
    }
    const twin = names.get(r.name);
    if (twin !== undefined) fail(r.origin, `a second register named ${r.name} (the first: ${twin.origin.path})`);
    if (r.offset % 4 !== 0) fail(r.origin, `${r.name} at offset ${hex(r.offset, 3)} is not word-aligned: the register-map format has one register per 32-bit word`);
    if (r.offset + 4 > draft.size) {
      fail(r.origin, `${r.name} at offset ${hex(r.offset, 3)} lies beyond the block size ${hex(draft.size)} (${group.sizeOrigin?.path ?? (draft.sizeFrom === "addressBlock" ? "from the addressBlock" : "the registers' extent")})`);
    }
    if (r.bits < 1 || r.bits > 32) fail(r.origin, `${r.name} has ${r.bits} bits: expected 1..32`);
    if (r.reset !== null && r.reset >= 2 ** r.bits) fail(r.origin, `reset value ${hex(r.reset)} of ${r.name} does not fit in ${r.bits} bits`);
    checkFields(r, fail);
    byWord.set(word, r);
    names.set(r.name, r);
    kept.push(r);
  }
  return { registers: kept, dropped };
}

function checkFields(r: DraftRegister, fail: (origin: Origin, problem: string) => never): void {
  const seen = new Map<string, DraftField>();
  const placed: DraftField[] = [];
  for (const f of r.fields) {
    const bits = f.msb === f.lsb ? `bit ${f.msb}` : `bits ${f.msb}:${f.lsb}`;
    if (seen.has(f.name)) fail(f.origin, `a second field named ${f.name} in ${r.name}`);
    if (f.msb >= r.bits) fail(f.origin, `${bits} lie outside the ${r.bits}-bit register ${r.name}`);
    const other = placed.find((o) => o.lsb <= f.msb && f.lsb <= o.msb);
    if (other !== undefined) fail(f.origin, `${bits} overlap field ${other.name} (${other.msb}:${other.lsb}) of ${r.name}`);
    for (const [name, value] of Object.entries(f.values ?? {})) {
      if (value >= 2 ** (f.msb - f.lsb + 1)) fail(f.origin, `value ${name} = ${value} does not fit the ${f.msb - f.lsb + 1}-bit field`);
    }
    seen.set(f.name, f);
    placed.push(f);
  }
}

function assemble(svd: SvdReader, groups: readonly MapGroup[]): SvdImport {
  const blockOf = new Map<PeripheralDraft, string>();
  const owner = new Map<string, MapGroup>();
  // Imported names are unique (groupShared); a name the overlay gives must not take another's.
  const finalName = new Map<MapGroup, string>();
  for (const g of groups) finalName.set(g, g.block?.name ?? g.importedName);
  for (const g of groups) {
    const name = finalName.get(g)!;
    const clash = owner.get(name);
    if (clash !== undefined) {
      const renamed = g.block ?? clash.block!;
      throw new SvdError(renamed.origin.file, renamed.origin.path, `block name ${name} is already that of the map of ${(g.block === undefined ? g : clash).members.map((m) => m.name).join(", ")}, whose registers differ from ${(g.block === undefined ? clash : g).members[0]!.name}'s`);
    }
    owner.set(name, g);
  }
  const source = basename(svd.fileName);
  const blocks: RegisterMapJson[] = [];
  for (const g of groups) {
    const name = finalName.get(g)!;
    const { registers, dropped } = checkMap(g);
    for (const m of g.members) blockOf.set(m, name);
    const principal = g.members.find((m) => m.name === m.family) ?? g.members[0]!;
    const notes = [
      g.notes,
      `Imported from ${source} (${svd.device.name}${svd.device.version === null ? "" : `, SVD version ${svd.device.version}`}) by wasm-hal svd.`,
      `Instances: ${g.members.map((m) => `${m.name} at ${hex(m.base, 8)}`).join(", ")}.`,
      g.draft.sizeFrom === "registers" && g.sizeOrigin === undefined ? "The SVD gives no addressBlock: the size is the registers' extent." : undefined,
      dropped.length === 0 ? undefined : `Left out, alternate views of a register at the same offset: ${dropped.map((r) => `${r.name} (${hex(r.offset, 3)}, alternate of ${r.alternateOf})`).join(", ")}.`,
    ].filter((n): n is string => n !== undefined && n !== "");
    blocks.push(mapJson(g, name, g.title ?? (principal.description === "" ? principal.name : principal.description), notes.join(" "), registers));
  }
  const order = new Map(svd.entries.map((e, i) => [e.name, i]));
  const peripherals = groups
    .flatMap((g) => g.members.map((p): SvdPeripheral => ({ name: p.name, base: p.base, size: g.draft.size, block: blockOf.get(p)!, derivedFrom: p.derivedFrom, description: p.description })))
    .sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  return { device: { ...svd.device }, blocks, peripherals };
}

function mapJson(g: MapGroup, block: string, title: string, notes: string, registers: readonly DraftRegister[]): RegisterMapJson {
  const offsetDigits = Math.max(3, (g.draft.size - 1).toString(16).length);
  return {
    block,
    title,
    manual: g.manual ?? "",
    size: hex(g.draft.size),
    widths: [...g.draft.widths],
    notes,
    ...(g.rules === undefined ? {} : { rules: g.rules }),
    registers: registers.map((r): RegisterJson => ({
      name: r.name,
      offset: hex(r.offset, offsetDigits),
      bits: r.bits,
      read: r.read,
      write: r.write,
      reset: r.reset === null ? null : hex(r.reset, Math.ceil(r.bits / 4)),
      widths: [...r.widths],
      section: r.section,
      doc: r.doc,
      // Most significant first, as the manuals draw them.
      fields: [...r.fields].sort((a, b) => b.lsb - a.lsb).map((f): FieldJson => ({
        name: f.name,
        bits: f.msb === f.lsb ? String(f.msb) : `${f.msb}:${f.lsb}`,
        ...(f.read === undefined ? {} : { read: f.read }),
        ...(f.write === undefined ? {} : { write: f.write }),
        doc: f.doc,
        ...(f.values === undefined ? {} : { values: { ...f.values } }),
      })),
    })),
  };
}

/**
 * A map as the text of a file: JSON in the format's key order, one line per field and one head
 * line per register (as registers/*.json are written), ending in a newline. JSON.parse gives the
 * map back.
 */
export function formatRegisterMap(map: RegisterMapJson): string {
  const j = (v: unknown): string => JSON.stringify(v);
  const lines = ["{"];
  for (const key of ["block", "title", "manual", "size", "widths", "notes"] as const) lines.push(`  ${j(key)}: ${j(map[key])},`);
  if (map.rules !== undefined) lines.push(`  "rules": ${j(map.rules)},`);
  lines.push(`  "registers": [`);
  map.registers.forEach((r, i) => {
    const { fields, ...head } = r;
    const headText = Object.entries(head).map(([k, v]) => `${j(k)}: ${j(v)}`).join(", ");
    const end = i === map.registers.length - 1 ? "" : ",";
    if (fields.length === 0) {
      lines.push(`    { ${headText}, "fields": [] }${end}`);
      return;
    }
    lines.push(`    { ${headText},`, `      "fields": [`);
    fields.forEach((f, k) => {
      const fieldText = Object.entries(f).map(([key, v]) => `${j(key)}: ${j(v)}`).join(", ");
      lines.push(`        { ${fieldText} }${k === fields.length - 1 ? "" : ","}`);
    });
    lines.push(`      ] }${end}`);
  });
  lines.push("  ]", "}");
  return lines.join("\n") + "\n";
}
