// Real hardware as a bus device: a window of /dev/mem (or of a UIO node, a PCI resourceN file, any
// file) mapped by the native bridge. Each read or write of the bus is one load or store of that
// width on the mapping, checked first (inside the window, aligned, legal width). A failure says
// which file and address, and what is missing: the path, a permission, a capability, a kernel
// option, or the window's lock, held by another process.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { constants as osConstants, release as kernelRelease } from "node:os";
import { dirname, basename } from "node:path";
import { gunzipSync } from "node:zlib";
import type { Device } from "../bus.js";
import { loadBridge, OPEN_LOCK, type NativeBridge, type NativeWindow } from "./native.js";

export { bridgeStatus, DevmemUnavailable, addonPath, ADDON_ENV } from "./native.js";

export const DEFAULT_PATH = "/dev/mem";

export interface DevmemOptions {
  /** The file to map: /dev/mem (the default), /dev/uioN, a PCI resourceN file, or any file. */
  path?: string;
  /** Where the window starts in the file: the physical address for /dev/mem, the offset inside
   * the BAR for a PCI resource file, the offset inside map `uioMap` for a UIO node. Word-aligned. */
  offset: number;
  /** Bytes in the window: the size of the peripheral's register block. */
  size: number;
  /** UIO only: which map of the node (the kernel picks map N by the mmap offset N x page size).
   * The offset is then counted from the map's first register (its sysfs `offset` attribute). */
  uioMap?: number;
  /** Take the window's advisory lock (default true). false shares the peripheral deliberately:
   * with a debugger poking at it, or a second process that plays the device in a test. */
  lock?: boolean;
}

/** A failure of the bridge: `code` is the errno name of a failed system call (ENOENT, EACCES,
 * EPERM, EINVAL, ...) or one of the bridge's own ERR_DEVMEM_* codes. */
export class DevmemError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly path: string,
    /** The file offset of the window or access (for /dev/mem, the physical address). */
    readonly address: number,
    /** For ERR_DEVMEM_BUSY: the processes found holding an overlapping window (may be empty). */
    readonly holders: readonly number[] = [],
  ) {
    super(message);
    this.name = "DevmemError";
  }
}

const hex = (n: number): string => "0x" + n.toString(16);

/** A peripheral on real hardware, mapped through the bridge. Map it on the bus at the address the
 * driver uses; the window's size must be the region's size, so that nothing outside the board
 * description is reachable. Close it to unmap and drop the lock (the process ending does too). */
export class DevmemDevice implements Device {
  readonly path: string;
  /** File offset of the window's first byte (the physical address for /dev/mem). */
  readonly offset: number;
  readonly size: number;
  /** The physical address of the window's first byte, where the bridge can tell. */
  readonly physical: number | undefined;
  readonly locked: boolean;
  private readonly native: NativeWindow;
  private readonly bridge: NativeBridge;
  private isClosed = false;

  constructor(options: DevmemOptions) {
    const path = options.path ?? DEFAULT_PATH;
    checkOptions(path, options);
    this.bridge = loadBridge();
    const placement = placeWindow(this.bridge.pageSize, path, options);
    this.path = path;
    this.offset = placement.fileOffset;
    this.size = options.size;
    this.physical = placement.physical;
    this.locked = options.lock !== false;
    try {
      this.native = this.bridge.open(path, placement.mapOffset, placement.inner, options.size, this.locked ? OPEN_LOCK : 0);
    } catch (e) {
      throw explainOpenFailure(e, { path, fileOffset: placement.fileOffset, size: options.size, description: placement.description });
    }
  }

  /** "/dev/mem 0x101f1000..0x101f1fff" and the like. */
  get description(): string {
    return describeWindow(this.path, this.offset, this.size, this.physical);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  read(offset: number, width: number): number {
    try {
      return this.native.read(offset, width);
    } catch (e) {
      throw this.accessError(e, offset);
    }
  }

  write(offset: number, value: number, width: number): void {
    try {
      this.native.write(offset, value, width);
    } catch (e) {
      throw this.accessError(e, offset);
    }
  }

  /** The CPU's barrier for the ABI's kind (0 DMB, 1 DSB, 2 ISB). */
  barrier(kind: number): void {
    this.bridge.barrier(kind);
  }

  close(): void {
    this.native.close();
    this.isClosed = true;
  }

  private accessError(e: unknown, offset: number): unknown {
    if (!(e instanceof Error)) return e;
    const code = (e as { code?: unknown }).code;
    return new DevmemError(e.message, typeof code === "string" ? code : "ERR_DEVMEM", this.path, this.offset + offset);
  }
}

/** Opens a window: shorthand for `new DevmemDevice(options)`. */
export function openDevmem(options: DevmemOptions): DevmemDevice {
  return new DevmemDevice(options);
}

/** The instructions the bridge executes for DMB, DSB and ISB on this CPU. */
export function barrierInstructions(): readonly string[] {
  return loadBridge().barrierInstructions;
}

// ---------------------------------------------------------------------------------------------
// Placing a window in its file.

interface Placement {
  /** The page-aligned mmap offset. */
  mapOffset: number;
  /** The window's start inside the mapping. */
  inner: number;
  /** The window's start in the file (mapOffset + inner). */
  fileOffset: number;
  physical: number | undefined;
  description: string;
}

function checkOptions(path: string, options: DevmemOptions): void {
  const { offset, size, uioMap } = options;
  if (typeof path !== "string" || path === "") throw new DevmemError("devmem: the path must be a non-empty string", "ERR_DEVMEM_WINDOW", String(path), 0);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new DevmemError(`${path}: window offset ${offset} is not a non-negative integer`, "ERR_DEVMEM_WINDOW", path, 0);
  if (offset % 4 !== 0) throw new DevmemError(`${path}: window at ${hex(offset)} is not word-aligned`, "ERR_DEVMEM_WINDOW", path, offset);
  if (!Number.isInteger(size) || size <= 0 || size > 2 ** 32) throw new DevmemError(`${path}: window at ${hex(offset)} has size ${size}; it must be 1 byte to 4 GiB`, "ERR_DEVMEM_WINDOW", path, offset);
  if (uioMap !== undefined && (!Number.isInteger(uioMap) || uioMap < 0 || uioMap > 4095)) {
    throw new DevmemError(`${path}: UIO map ${uioMap} is not an integer from 0 to 4095`, "ERR_DEVMEM_WINDOW", path, offset);
  }
}

function placeWindow(pageSize: number, path: string, options: DevmemOptions): Placement {
  if (options.uioMap === undefined) {
    const mapOffset = Math.floor(options.offset / pageSize) * pageSize;
    const physical = physicalAddressOf(path, options.offset);
    return {
      mapOffset, inner: options.offset - mapOffset, fileOffset: options.offset, physical,
      description: describeWindow(path, options.offset, options.size, physical),
    };
  }
  // A UIO node: the mmap offset only names the map; the registers start `offset` bytes into its
  // first page when the block is not page-aligned (Documentation/driver-api/uio-howto.rst).
  const map = uioMapInfo(path, options.uioMap);
  if (map !== undefined && options.offset + options.size > map.size) {
    throw new DevmemError(
      `${path}: window +${hex(options.offset)} of ${hex(options.size)} bytes lies past the end of UIO map ${options.uioMap} (${hex(map.size)} bytes at physical ${hex(map.addr)})`,
      "ERR_DEVMEM_PAST_EOF", path, options.offset);
  }
  const mapOffset = options.uioMap * pageSize;
  const inner = (map?.offset ?? 0) + options.offset;
  const physical = map === undefined ? undefined : map.addr + options.offset;
  return {
    mapOffset, inner, fileOffset: mapOffset + inner, physical,
    description: `${path} map ${options.uioMap} +${hex(options.offset)}..${hex(options.offset + options.size - 1)}${physical === undefined ? "" : ` (physical ${hex(physical)})`}`,
  };
}

function describeWindow(path: string, fileOffset: number, size: number, physical: number | undefined): string {
  const range = `${hex(fileOffset)}..${hex(fileOffset + size - 1)}`;
  return physical === undefined || physical === fileOffset ? `${path} ${range}` : `${path} ${range} (physical ${hex(physical)})`;
}

/** /dev/mem is the character device 1:1 wherever it is linked from. */
export function isDevMem(path: string): boolean {
  try {
    const s = statSync(path);
    return s.isCharacterDevice() && deviceMajor(s.rdev) === 1 && deviceMinor(s.rdev) === 1;
  } catch {
    return path === DEFAULT_PATH;
  }
}

// glibc's dev_t encoding (sys/sysmacros.h).
const deviceMajor = (dev: number): number => Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn);
const deviceMinor = (dev: number): number => Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn);

/** The physical address of a file offset, where sysfs tells: /dev/mem is physical; a PCI
 * resourceN file starts at its BAR, the Nth line of the device's `resource` file. */
function physicalAddressOf(path: string, offset: number): number | undefined {
  if (isDevMem(path)) return offset;
  const bar = /^resource(\d+)(_wc)?$/.exec(basename(path));
  if (bar === null) return undefined;
  try {
    const line = readFileSync(`${dirname(path)}/resource`, "utf8").split("\n")[Number(bar[1])];
    const start = line === undefined ? NaN : Number(line.split(/\s+/)[0]);
    return Number.isSafeInteger(start) ? start + offset : undefined;
  } catch {
    return undefined;
  }
}

interface UioMap {
  addr: number;
  size: number;
  offset: number;
}

/** /sys/class/uio/uioN/maps/mapM, when `path` is a UIO node and sysfs has the map. */
function uioMapInfo(path: string, map: number): UioMap | undefined {
  const node = /^uio(\d+)$/.exec(basename(path));
  if (node === null) return undefined;
  const dir = `/sys/class/uio/uio${node[1]}/maps/map${map}`;
  try {
    const attribute = (name: string): number => Number(readFileSync(`${dir}/${name}`, "utf8").trim());
    const info = { addr: attribute("addr"), size: attribute("size"), offset: 0 };
    try {
      info.offset = attribute("offset");
    } catch {
      // Kernels before 3.10 have no offset attribute: the map starts on its page.
    }
    return Object.values(info).every(Number.isSafeInteger) ? info : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Saying what went wrong.

interface WindowContext {
  path: string;
  fileOffset: number;
  size: number;
  description: string;
}

/** What the machine says about the permissions the bridge needs; undefined where it cannot tell. */
export interface AccessFacts {
  euid: number | undefined;
  /** The effective capability set holds CAP_SYS_RAWIO (needed to open /dev/mem). */
  rawio: boolean | undefined;
  /** The active mode of /sys/kernel/security/lockdown: none, integrity or confidentiality. */
  lockdown: string | undefined;
  /** CONFIG_STRICT_DEVMEM and CONFIG_IO_STRICT_DEVMEM of the running kernel: "y", "n", or undefined. */
  strictDevmem: string | undefined;
  ioStrictDevmem: string | undefined;
  /** "crw-r----- uid 0 gid 15" for the file, when it can be stat'ed. */
  fileMode: string | undefined;
}

/** The failure of a native open() as an error that says what is missing. */
export function explainOpenFailure(e: unknown, window: WindowContext, facts: () => AccessFacts = () => accessFacts(window.path)): unknown {
  if (!(e instanceof Error)) return e;
  const native = e as Error & { code?: string; errno?: number; syscall?: string; lockIdentity?: string; lockStart?: number; lockLength?: number };
  const { path, fileOffset } = window;
  if (native.code === "ERR_DEVMEM_BUSY") {
    const start = native.lockStart ?? fileOffset;
    const length = native.lockLength ?? window.size;
    const holders = native.lockIdentity === undefined ? [] : findLockHolders(native.lockIdentity, start, length);
    return new DevmemError(busyMessage(window, holders, start, length), "ERR_DEVMEM_BUSY", path, fileOffset, holders);
  }
  if (native.code !== "ERR_DEVMEM_SYSCALL" || native.errno === undefined) {
    return new DevmemError(native.message, native.code ?? "ERR_DEVMEM", path, fileOffset);
  }
  const name = errnoName(native.errno);
  const reason = native.message.replace(/^.*: /, "");
  const message = systemCallMessage(native.syscall ?? "open", name, reason, window, facts);
  return new DevmemError(message, name, path, fileOffset);
}

function busyMessage(window: WindowContext, holders: readonly number[], start: number, length: number): string {
  const overlap = `the lock on ${hex(start)}..${length === 0 ? "EOF" : hex(start + length - 1)}`;
  let who: string;
  if (holders.length === 0) {
    who = `${overlap} belongs to a process this user cannot see (its /proc/<pid>/fdinfo is unreadable)`;
  } else {
    who = holders.map((pid) => `held by pid ${pid}${pid === process.pid ? " (this process: the window is open twice)" : commandOf(pid)}`).join(", ");
    if (start !== window.fileOffset || length !== window.size) who += ` (${overlap} overlaps this window)`;
  }
  return `${window.description}: busy, ${who}. Two processes driving one peripheral corrupt each other's register sequences; ` +
    "close the other one, or open with lock: false to share it deliberately";
}

function commandOf(pid: number): string {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((s) => s !== "").join(" ");
    return command === "" ? "" : ` (${command.length > 80 ? command.slice(0, 77) + "..." : command})`;
  } catch {
    return "";
  }
}

/**
 * The processes holding an open-file-description lock on the file `identity` ("maj:min:inode" in
 * the hex:hex:decimal of /proc/locks) that overlaps [start, start + length). OFD locks show pid
 * -1 in /proc/locks, so the holders are found through /proc/<pid>/fdinfo/<fd>, which lists the
 * locks of each open file (Linux 4.13 and later). Only processes this user may inspect are seen.
 */
export function findLockHolders(identity: string, start: number, length: number): number[] {
  const end = length === 0 ? Infinity : start + length - 1;
  const pattern = /^lock:\s+\d+:\s+OFDLCK\s+\S+\s+WRITE\s+-?\d+\s+(\S+)\s+(\d+)\s+(\d+|EOF)\s*$/gm;
  const holders = new Set<number>();
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fdinfo`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let info: string;
      try {
        info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
      } catch {
        continue;
      }
      if (!info.includes("OFDLCK")) continue;
      for (const m of info.matchAll(pattern)) {
        const lockStart = Number(m[2]);
        const lockEnd = m[3] === "EOF" ? Infinity : Number(m[3]);
        if (m[1] === identity && lockStart <= end && start <= lockEnd) holders.add(Number(pid));
      }
    }
  }
  return [...holders].sort((a, b) => a - b);
}

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

function systemCallMessage(syscall: string, name: string, reason: string, window: WindowContext, facts: () => AccessFacts): string {
  const { path } = window;
  const devmem = isDevMem(path);
  const uio = /^uio\d+$/.test(basename(path));
  const pci = /^resource\d+(_wc)?$/.test(basename(path));
  const head = `${window.description}: `;
  if (syscall === "open") {
    if (name === "ENOENT") {
      const hint = devmem
        ? "this kernel was built without /dev/mem (CONFIG_DEVMEM), or the container was started without the device (docker run --device /dev/mem, or --privileged)"
        : uio
          ? "no such UIO device: bind the peripheral to a UIO driver (uio_pdrv_genirq with a device-tree node whose compatible it is told, or uio_pci_generic); /sys/class/uio lists the nodes that exist"
          : pci
            ? "no such PCI device or BAR: /sys/bus/pci/devices/<domain:bus:device.function>/ lists its resourceN files"
            : "check the path in the board description";
      return `${head}no such file (${hint})`;
    }
    if (name === "EACCES") {
      const f = facts();
      const who = `${f.fileMode === undefined ? "" : `the file is ${f.fileMode}; `}this process runs as uid ${f.euid ?? "?"}`;
      const fix = devmem
        ? "run as root (sudo), or give the process both read-write access to /dev/mem and CAP_SYS_RAWIO"
        : uio
          ? "run as root, or give your user the node with a udev rule (SUBSYSTEM==\"uio\", MODE=\"0660\", GROUP=\"<your group>\")"
          : pci
            ? "PCI resource files are root's: run as root"
            : "make the file readable and writable for this user";
      return `${head}permission denied opening it for reading and writing (${who}): ${fix}`;
    }
    if (name === "EPERM" && devmem) {
      const f = facts();
      const missing: string[] = [];
      if (f.rawio === false) missing.push(`CAP_SYS_RAWIO, which opening /dev/mem needs and this process (uid ${f.euid ?? "?"}) lacks: run as root, or grant it (setcap cap_sys_rawio+ep on the node binary, or the container's --cap-add SYS_RAWIO)`);
      if (f.lockdown !== undefined && f.lockdown !== "none") missing.push(`a kernel out of lockdown: /sys/kernel/security/lockdown is "${f.lockdown}", which refuses /dev/mem even to root (Secure Boot usually turns it on; boot with lockdown=none, or drive the peripheral through a UIO node instead)`);
      if (missing.length === 0) missing.push("CAP_SYS_RAWIO (root has it), and a kernel not in lockdown mode (/sys/kernel/security/lockdown)");
      return `${head}the kernel refused to open /dev/mem (EPERM): it needs ${missing.join("; and ")}`;
    }
    return `${head}cannot open the file: ${reason} (${name})`;
  }
  if (syscall === "mmap") {
    if (name === "EPERM" && devmem) {
      const f = facts();
      const option = (value: string | undefined): string => value === undefined ? "unknown here" : value === "y" ? "on here" : "off here";
      return `${head}the kernel refused to map this physical range (EPERM): with CONFIG_STRICT_DEVMEM (${option(f.strictDevmem)}) /dev/mem maps I/O ranges only, never RAM, ` +
        `and with CONFIG_IO_STRICT_DEVMEM (${option(f.ioStrictDevmem)}) not a range a kernel driver has claimed. Look the address up in /proc/iomem: ` +
        "unbind the driver that owns it, or boot with iomem=relaxed";
    }
    if (name === "EINVAL" || name === "ENXIO" || name === "EOVERFLOW") {
      const what = devmem
        ? "the physical range lies outside what /dev/mem can map on this machine"
        : uio
          ? "the window does not fit the UIO map (too long, or no map with this number: see /sys/class/uio/<node>/maps)"
          : pci
            ? "the window does not fit the BAR"
            : "the offset or length is outside what the file can map";
      return `${head}the kernel refuses the window (${name}: ${reason}): ${what}`;
    }
    if (name === "ENODEV") {
      return `${head}the kernel refuses the window (ENODEV): ${uio ? "the UIO map is not page-aligned in physical memory or not mappable" : "this file cannot be memory-mapped"}`;
    }
    return `${head}the kernel refuses the window: ${reason} (${name})`;
  }
  if (syscall.startsWith("fcntl")) {
    return `${head}the kernel refused the window's advisory lock (${name}: ${reason}): open file description locks need Linux 3.15 or later; open with lock: false to go without`;
  }
  return `${head}${syscall} failed: ${reason} (${name})`;
}

/** Reads what the machine says about permissions; every item is undefined where it cannot tell. */
export function accessFacts(path: string): AccessFacts {
  const facts: AccessFacts = { euid: process.geteuid?.(), rawio: undefined, lockdown: undefined, strictDevmem: undefined, ioStrictDevmem: undefined, fileMode: undefined };
  try {
    const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    // CAP_SYS_RAWIO is capability 17 (linux/capability.h).
    if (effective !== null) facts.rawio = ((BigInt("0x" + effective[1]) >> 17n) & 1n) === 1n;
  } catch {
    // No /proc: leave it unknown.
  }
  try {
    facts.lockdown = /\[(\w+)\]/.exec(readFileSync("/sys/kernel/security/lockdown", "utf8"))?.[1];
  } catch {
    // No securityfs or no lockdown LSM.
  }
  const config = kernelConfig();
  if (config !== undefined) {
    const option = (name: string): string => new RegExp(`^${name}=y$`, "m").test(config) ? "y" : "n";
    facts.strictDevmem = option("CONFIG_STRICT_DEVMEM");
    facts.ioStrictDevmem = option("CONFIG_IO_STRICT_DEVMEM");
  }
  try {
    const s = statSync(path);
    facts.fileMode = `${modeString(s.mode)} uid ${s.uid} gid ${s.gid}`;
  } catch {
    // Unreadable directory: say nothing about the file.
  }
  return facts;
}

function kernelConfig(): string | undefined {
  try {
    return gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
  } catch {
    try {
      return readFileSync(`/boot/config-${kernelRelease()}`, "utf8");
    } catch {
      return undefined;
    }
  }
}

function modeString(mode: number): string {
  const type = (mode & 0o170000) === 0o020000 ? "c" : (mode & 0o170000) === 0o060000 ? "b" : (mode & 0o170000) === 0o040000 ? "d" : "-";
  let bits = "";
  for (let shift = 6; shift >= 0; shift -= 3) {
    const p = (mode >> shift) & 7;
    bits += (p & 4 ? "r" : "-") + (p & 2 ? "w" : "-") + (p & 1 ? "x" : "-");
  }
  return type + bits;
}
