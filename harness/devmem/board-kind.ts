// The "devmem" device kind of board files (docs/devmem.md, docs/scenarios.md): a region backed by
// real hardware through the /dev/mem bridge. Importing this module registers the kind; the addon
// itself loads only when a board uses it.
//
//   { "name": "uart0", "base": "0x3f201000", "size": "0x1000", "block": "pl011",
//     "device": { "kind": "devmem", "path": "/dev/mem", "offset": "0x3f201000", "uartclkHz": 48000000 } }
import { resolve } from "node:path";
import { BoardFileError, registerDeviceKind, type DeviceContext } from "../board-file.js";
import { DevmemDevice, DevmemError, DevmemUnavailable, DEFAULT_PATH } from "./devmem.js";

/** Builds the DevmemDevice of a board region: the window is the region, nothing more. */
export function devmemFromBoard(c: DeviceContext): DevmemDevice {
  const path = resolve(c.baseDir, c.options.string("path", { default: DEFAULT_PATH, what: "the file to map (/dev/mem, /dev/uioN, a PCI resourceN file, or any file)" }));
  const uioMap = c.options.optionalInteger("uioMap", { max: 4095 });
  const offset = c.options.integer("offset", { default: uioMap === undefined ? c.region.base : 0, max: Number.MAX_SAFE_INTEGER });
  if (offset % 4 !== 0) c.options.fail("offset", `0x${offset.toString(16)} is not word-aligned: expected a multiple of 4`);
  const lock = c.options.boolean("lock", true);
  // The peripheral's clock inputs (uartclkHz, sspclkHz, ...) are board facts: the region's
  // "facts" is their place for any kind; here, as device options, they are still accepted.
  for (const key of Object.keys(c.options.value)) if (/^[a-z]+clkHz$/.test(key)) c.options.integer(key, { min: 1 });
  let device: DevmemDevice;
  try {
    device = new DevmemDevice({ path, offset, size: c.region.size, lock, ...(uioMap === undefined ? {} : { uioMap }) });
  } catch (e) {
    if (e instanceof DevmemError || e instanceof DevmemUnavailable) throw new BoardFileError(c.fileName, c.options.path, `region ${c.region.name}: ${e.message}`);
    throw e;
  }
  return device;
}

registerDeviceKind("devmem", devmemFromBoard, {
  hardware: true,
  doc: "real hardware through the native /dev/mem bridge (harness/devmem/, docs/devmem.md): path (default /dev/mem; a UIO node, a PCI resourceN file or any file), " +
    "offset (where the window starts in the file: the physical address for /dev/mem, the default being the region's base; inside the map with uioMap), " +
    "uioMap (the map of a UIO node), lock (default true: refuse a window another process holds), " +
    "and the peripheral's clocks (uartclkHz, sspclkHz, ...; better in the region's facts) for the scenarios",
});
