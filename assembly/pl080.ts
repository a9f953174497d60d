// PL080 DMA controller driver (ARM DDI 0196G, PrimeCell DMA Controller PL080 TRM). Polled: the
// driver starts a channel and pl080_wait polls it; PL080_CONFIG_IRQ passes the channel's status
// on to the interrupt lines for a host that prefers interrupts. Register offsets and fields come
// from registers/pl080.json through assembly/generated/pl080.ts; the procedures follow
// docs/primecell.md, PL080 4.6, and the register facts and their sources are in the rest of its
// section 4. Usage, memory layout and the linear-memory mapping: docs/drivers/pl080.md.
//
// Addresses handed to the driver are bus (physical) addresses, as the DMA master sees them. The
// driver writes linked-list items (LLIs) into its own linear memory, so the board must say where
// linear memory appears on the bus (pl080_set_memory_address) before a transfer needs more than
// one item.
import { read32, write32, modify32, dsb } from "./mmio";
import { isValidBase, isValidBuffer } from "./common";
import {
  PL080_IntTCClear, PL080_IntErrClr, PL080_RawIntErrorStatus, PL080_EnbldChns,
  PL080_Configuration, PL080_Configuration_E,
  PL080_C0SrcAddr, PL080_C1SrcAddr, PL080_C0DestAddr, PL080_C0LLI, PL080_C0Control, PL080_C0Configuration,
  PL080_C0Control_I, PL080_C0Control_ProtPrivileged, PL080_C0Control_DI, PL080_C0Control_SI,
  PL080_C0Control_D, PL080_C0Control_S, PL080_C0Control_DWidth_SHIFT, PL080_C0Control_SWidth_SHIFT,
  PL080_C0Control_DBSize_SHIFT, PL080_C0Control_SBSize_SHIFT, PL080_C0Control_TransferSize_MASK,
  PL080_C0Configuration_H, PL080_C0Configuration_A, PL080_C0Configuration_ITC, PL080_C0Configuration_IE,
  PL080_C0Configuration_E, PL080_C0Configuration_FlowCntrl_M2M_DMAC,
  PL080_C0Configuration_FlowCntrl_M2P_DMAC, PL080_C0Configuration_FlowCntrl_P2M_DMAC,
  PL080_C0Configuration_FlowCntrl_M2P_DEST, PL080_C0Configuration_FlowCntrl_P2M_SRC,
  PL080_C0Configuration_DestPeripheral_SHIFT, PL080_C0Configuration_SrcPeripheral_SHIFT,
} from "./generated/pl080";
import {
  OK, ERR_INVALID_ARG, ERR_TIMEOUT, ERR_DMA, ERR_BUSY,
  PL080_CONFIG_WIDTH_MASK, PL080_CONFIG_WIDTH_AUTO, PL080_CONFIG_BURST_MASK, PL080_CONFIG_BURST_SHIFT,
  PL080_CONFIG_IRQ, PL080_CONFIG_SRC_MASTER2, PL080_CONFIG_DST_MASTER2, PL080_CONFIG_PERIPH_FLOW,
  PL080_CONFIG_VALID_MASK, PL080_CHANNELS, PL080_REQUEST_LINES, PL080_LLI_ITEMS, PL080_LLI_SIZE,
  PL080_MAX_ITEM_TRANSFERS, PL080_SG_ENTRY_SIZE,
} from "./generated/api";

// Every channel has channel 0's registers and fields, PL080_C1SrcAddr - PL080_C0SrcAddr further
// on (TRM 3.3: channel n at 0x100 + 0x20 x n); the driver names them by channel 0's constants.
@inline const CHANNEL_STRIDE: u32 = PL080_C1SrcAddr - PL080_C0SrcAddr;
/** One bit per channel in the interrupt and EnbldChns registers. */
@inline const ALL_CHANNELS: u32 = (1 << PL080_CHANNELS) - 1;

// Poll limits, counted in register reads (100 ns each on a slow bus).
/** Configuration reads until E reads back 1 after the controller is enabled (NXP drivers poll it;
 * the write takes effect at once on the PL080, so a few reads are plenty). */
@inline const PL080_ENABLE_POLL_LIMIT: u32 = 16;
/** Reads while waiting for a channel to be idle before it is reprogrammed. A channel that has
 * finished is idle at once; one that is still running should be waited for with pl080_wait, so
 * the limit is short and a running channel gives ERR_BUSY. */
@inline const PL080_IDLE_POLL_LIMIT: u32 = 1 << 10;
/** Configuration reads while a halted channel drains its FIFO (A = 1). Linux gives up after
 * 1000 us (docs/primecell.md, PL080 4.6 "Stop"); 1 << 14 reads at 100 ns are about 1.6 ms. */
@inline const PL080_HALT_POLL_LIMIT: u32 = 1 << 14;
/** EnbldChns reads in one pl080_wait: about 105 ms at 100 ns per read. The longest chain the
 * driver builds at memory speed (32 items of 4095 transfers) needs about 2.6 ms at 100 MHz; a
 * peripheral-paced transfer can take longer, and pl080_wait can simply be called again. */
@inline const PL080_WAIT_POLL_LIMIT: u32 = 1 << 20;

// A linked-list item in memory: four little-endian words (docs/primecell.md, PL080 4.4; TRM 3.6).
@inline const LLI_SRC: u32 = 0x0;
@inline const LLI_DEST: u32 = 0x4;
@inline const LLI_NEXT: u32 = 0x8;
@inline const LLI_CONTROL: u32 = 0xC;

// Static LLI area: PL080_LLI_ITEMS items per channel number, 16-byte aligned so that every item
// is word-aligned on the bus as long as linear memory is. One chain per channel number at a time:
// two controllers must not run the same channel number at once.
@inline const LLI_AREA_SIZE: u32 = PL080_CHANNELS * PL080_LLI_ITEMS * PL080_LLI_SIZE;
const lliArea = memory.data(<i32>LLI_AREA_SIZE, 16);

/** Bus address at which linear memory offset 0 appears, once the board has said so. */
let memoryBusAddress: u32 = 0;
let memoryMapped: bool = false;

/** The bus address of a register of `channel`, named by channel 0's offset. */
@inline function channelRegister(base: u32, channel: u32, c0Offset: u32): u32 {
  return base + c0Offset + channel * CHANNEL_STRIDE;
}

/** Linear-memory address of item `index` of a channel's LLI area. */
@inline function lliItem(channel: u32, index: u32): usize {
  return lliArea + <usize>((channel * PL080_LLI_ITEMS + index) * PL080_LLI_SIZE);
}

/** The number of items a transfer of `transfers` needs, one per PL080_MAX_ITEM_TRANSFERS;
 * `transfers` is at least 1 (every caller refuses a length of 0, and the width divides the
 * length). Rounded up without adding to `transfers`: `(transfers + 4094) / 4095` wraps for a
 * byte-wide copy of 2^32 - 4094 bytes or more to no items, which passed the item check and wrote
 * the items past the LLI area (a trap here; memory corruption without bounds checks). */
function itemsFor(transfers: u32): u32 {
  return (transfers - 1) / PL080_MAX_ITEM_TRANSFERS + 1;
}

/** True when [addr, addr + len) does not wrap around the 32-bit bus address space. */
@inline function fitsBus(addr: u32, len: u32): bool {
  return <u64>addr + <u64>len <= 0x1_0000_0000;
}

/** widthShiftFor's answer when the addresses or the length do not fit the width. */
@inline const WIDTH_SHIFT_INVALID: i32 = -1;

/**
 * log2 of the transfer width in bytes chosen by `config` for transfers whose addresses and
 * length, ORed together, give `alignment`; WIDTH_SHIFT_INVALID when they do not fit that width.
 * Without an explicit width a peripheral gets bytes, one per request (PL011 DR, PL022 with 8-bit
 * frames), and memory the widest width that every address and the length allow.
 */
function widthShiftFor(config: u32, alignment: u32, forPeripheral: bool): i32 {
  const width = config & PL080_CONFIG_WIDTH_MASK;
  let shift: i32;
  if (width != PL080_CONFIG_WIDTH_AUTO) shift = <i32>width - 1;
  else if (forPeripheral) shift = 0;
  else shift = (alignment & 3) == 0 ? 2 : (alignment & 1) == 0 ? 1 : 0;
  return (alignment & ((1 << shift) - 1)) == 0 ? shift : WIDTH_SHIFT_INVALID;
}

/** Control bits shared by every item of a transfer (TRM 3.4, channel control register): both
 * widths equal (the SWidth/DWidth code is log2 of the width in bytes: 0 byte, 1 halfword, 2
 * word), both burst sizes from config, the masters config selects. Prot: privileged, not
 * bufferable, not cacheable, so that a write is complete only once the memory holds it and a
 * finished channel means the data has landed. */
function controlFor(config: u32, widthShift: i32, sourceIncrements: bool, destinationIncrements: bool): u32 {
  const burst = (config & PL080_CONFIG_BURST_MASK) >> PL080_CONFIG_BURST_SHIFT;
  let control = PL080_C0Control_ProtPrivileged
    | (<u32>widthShift << PL080_C0Control_SWidth_SHIFT) | (<u32>widthShift << PL080_C0Control_DWidth_SHIFT)
    | (burst << PL080_C0Control_SBSize_SHIFT) | (burst << PL080_C0Control_DBSize_SHIFT);
  if (sourceIncrements) control |= PL080_C0Control_SI;
  if (destinationIncrements) control |= PL080_C0Control_DI;
  if (config & PL080_CONFIG_SRC_MASTER2) control |= PL080_C0Control_S;
  if (config & PL080_CONFIG_DST_MASTER2) control |= PL080_C0Control_D;
  return control;
}

/** Channel Configuration bits for config (E is added when the channel is started). */
function interruptMasksFor(config: u32): u32 {
  // ITC and IE pass the status on to the interrupt lines: 1 passes, 0 masks (docs/primecell.md,
  // PL080 4.3).
  return (config & PL080_CONFIG_IRQ) ? PL080_C0Configuration_ITC | PL080_C0Configuration_IE : 0;
}

/** Writes item `index` of the channel's LLI area, as the last of its chain for now. */
function writeItem(channel: u32, index: u32, src: u32, dst: u32, control: u32): void {
  const item = lliItem(channel, index);
  store<u32>(item + LLI_SRC, src);
  store<u32>(item + LLI_DEST, dst);
  store<u32>(item + LLI_NEXT, 0);
  store<u32>(item + LLI_CONTROL, control);
}

/**
 * Writes the items of one transfer of `transfers` elements of 1 << widthShift bytes into the
 * channel's LLI area from item `index` on, one item per PL080_MAX_ITEM_TRANSFERS; the addresses
 * of each item continue where the previous one ended on the sides that increment. Returns the
 * index after the last item written. The caller has checked that the items fit the area.
 */
function appendItems(channel: u32, index: u32, src: u32, dst: u32, transfers: u32, widthShift: i32, control: u32): u32 {
  let left = transfers;
  while (left > 0) {
    const count = min<u32>(left, PL080_MAX_ITEM_TRANSFERS);
    writeItem(channel, index, src, dst, control | count);
    const bytes = count << <u32>widthShift;
    if (control & PL080_C0Control_SI) src += bytes;
    if (control & PL080_C0Control_DI) dst += bytes;
    left -= count;
    index++;
  }
  return index;
}

/** Links items 0..count-1 of the channel's area into a chain by their bus addresses and asks for
 * terminal-count status on the last one only: it marks the end of the whole transfer. */
function linkItems(channel: u32, count: u32): void {
  for (let i: u32 = 0; i + 1 < count; i++) {
    // LM = 0: the next item is fetched through AHB master 1.
    store<u32>(lliItem(channel, i) + LLI_NEXT, memoryBusAddress + <u32>lliItem(channel, i + 1));
  }
  const last = lliItem(channel, count - 1) + LLI_CONTROL;
  store<u32>(last, load<u32>(last) | PL080_C0Control_I);
}

/** Waits until the channel is idle: its EnbldChns bit clear and its Configuration with A = 0
 * and E = 0 (docs/primecell.md, PL080 4.6 "Start a channel", step 1). */
function waitChannelIdle(base: u32, channel: u32): bool {
  const bit: u32 = 1 << channel;
  const configuration = channelRegister(base, channel, PL080_C0Configuration);
  for (let polls: u32 = 0; polls < PL080_IDLE_POLL_LIMIT; polls++) {
    if ((read32(base + PL080_EnbldChns) & bit) != 0) continue;
    if ((read32(configuration) & (PL080_C0Configuration_A | PL080_C0Configuration_E)) == 0) return true;
  }
  return false;
}

/**
 * Starts the chain already in the channel's LLI area (docs/primecell.md, PL080 4.6 "Start a
 * channel", steps 2 to 4, after step 1 in waitChannelIdle): clear stale status, load the first
 * item into the registers, then write Configuration with E, last.
 */
function startChannel(base: u32, channel: u32, configuration: u32): i32 {
  const bit: u32 = 1 << channel;
  // 2. A stale terminal-count or error bit would be read as this transfer's result.
  write32(base + PL080_IntTCClear, bit);
  write32(base + PL080_IntErrClr, bit);
  // 3. The first item goes into the registers directly; the DMAC fetches only the items after
  //    it, through the LLI register (docs/primecell.md, PL080 4.4).
  const first = lliItem(channel, 0);
  write32(channelRegister(base, channel, PL080_C0SrcAddr), load<u32>(first + LLI_SRC));
  write32(channelRegister(base, channel, PL080_C0DestAddr), load<u32>(first + LLI_DEST));
  write32(channelRegister(base, channel, PL080_C0LLI), load<u32>(first + LLI_NEXT));
  write32(channelRegister(base, channel, PL080_C0Control), load<u32>(first + LLI_CONTROL));
  // The LLIs above, and the caller's source buffer, were written with plain stores to Normal
  // memory; the DMA master reads them as soon as the next write sets E. A Device write may reach
  // the DMAC while earlier Normal stores still sit in the CPU's write buffer, and the DMA master
  // is not an observer that a DMB orders them for. DSB waits until every earlier store has
  // completed, so the DMA master sees the items and the data that were written, not stale memory.
  dsb();
  // 4. Configuration, with E, is written last: it starts the channel.
  write32(channelRegister(base, channel, PL080_C0Configuration), configuration | PL080_C0Configuration_E);
  return OK;
}

/** Stops a channel without losing data where it can (docs/primecell.md, PL080 4.6 "Stop"): H so
 * that no new source data enters, wait for A = 0 (the FIFO has drained), then clear E. Returns
 * false when the FIFO did not drain in time; the channel is disabled anyway and what was left in
 * it is lost. */
function haltAndDisable(base: u32, channel: u32): bool {
  const configuration = channelRegister(base, channel, PL080_C0Configuration);
  let drained = true;
  if ((read32(configuration) & PL080_C0Configuration_E) != 0) {
    modify32(configuration, 0, PL080_C0Configuration_H);
    drained = false;
    for (let polls: u32 = 0; polls < PL080_HALT_POLL_LIMIT; polls++) {
      if ((read32(configuration) & PL080_C0Configuration_A) == 0) {
        drained = true;
        break;
      }
    }
  }
  // Clearing E stops the channel and discards its FIFO; writing 0 also clears H and the masks,
  // so that the next start begins from a known Configuration (it writes all of it anyway).
  write32(configuration, 0);
  return drained;
}

/**
 * Tells the driver at which bus (physical) address linear memory offset 0 appears to the DMA
 * master; `phys` must be word-aligned and the whole of linear memory must fit below 4 GiB there.
 * Needed before any transfer that takes more than one linked-list item (the DMAC fetches them
 * from linear memory). Returns OK or ERR_INVALID_ARG.
 */
export function pl080_set_memory_address(phys: u32): i32 {
  if ((phys & 3) != 0 || <u64>phys + (<u64>memory.size() << 16) > 0x1_0000_0000) return ERR_INVALID_ARG;
  memoryBusAddress = phys;
  memoryMapped = true;
  return OK;
}

/**
 * Initializes the DMAC at `base`: enables it with both AHB masters little-endian (the LLIs the
 * driver writes are little-endian words), stops every channel (halt, drain, disable) and clears
 * all terminal-count and error status. Returns OK, or ERR_TIMEOUT when the controller did not
 * report itself enabled or a channel's FIFO did not drain (that channel is disabled anyway).
 */
export function pl080_init(base: u32): i32 {
  if (!isValidBase(base)) return ERR_INVALID_ARG;
  // Enable first: a halted channel drains its FIFO only while the controller runs, and no
  // channel runs while Configuration.E is 0 (docs/primecell.md, PL080 4.6 "Enable").
  write32(base + PL080_Configuration, PL080_Configuration_E);
  let enabled = false;
  for (let polls: u32 = 0; polls < PL080_ENABLE_POLL_LIMIT; polls++) {
    if ((read32(base + PL080_Configuration) & PL080_Configuration_E) != 0) {
      enabled = true;
      break;
    }
  }
  if (!enabled) return ERR_TIMEOUT;
  let status = OK;
  for (let channel: u32 = 0; channel < PL080_CHANNELS; channel++) {
    if (!haltAndDisable(base, channel)) status = ERR_TIMEOUT;
  }
  // Status left by earlier transfers (or by the channels just stopped).
  write32(base + PL080_IntTCClear, ALL_CHANNELS);
  write32(base + PL080_IntErrClr, ALL_CHANNELS);
  return status;
}

/**
 * Copies `len` bytes from bus address `src` to bus address `dst` on `channel`, memory to memory
 * with the DMAC as flow controller. `config`: PL080_CONFIG_* (0 = widest width the addresses and
 * length allow, single transfers, polled). Transfers longer than 4095 elements are split into
 * chained items, up to PL080_LLI_ITEMS; longer ones are refused. Returns OK once the channel is
 * started (pl080_wait tells when it is done), ERR_BUSY when the channel is still running, or
 * ERR_INVALID_ARG before any register access.
 */
export function pl080_memcpy(base: u32, channel: u32, src: u32, dst: u32, len: u32, config: u32): i32 {
  if (!isValidBase(base) || channel >= PL080_CHANNELS || len == 0) return ERR_INVALID_ARG;
  if ((config & ~PL080_CONFIG_VALID_MASK) != 0 || (config & PL080_CONFIG_PERIPH_FLOW) != 0) return ERR_INVALID_ARG;
  if (!fitsBus(src, len) || !fitsBus(dst, len)) return ERR_INVALID_ARG;
  const widthShift = widthShiftFor(config, src | dst | len, false);
  if (widthShift == WIDTH_SHIFT_INVALID) return ERR_INVALID_ARG;
  const transfers = len >> <u32>widthShift;
  const items = itemsFor(transfers);
  if (items > PL080_LLI_ITEMS || (items > 1 && !memoryMapped)) return ERR_INVALID_ARG;

  // The previous chain of this channel may still be read by the DMAC: wait before rewriting it.
  if (!waitChannelIdle(base, channel)) return ERR_BUSY;
  appendItems(channel, 0, src, dst, transfers, widthShift, controlFor(config, widthShift, true, true));
  linkItems(channel, items);
  return startChannel(base, channel, PL080_C0Configuration_FlowCntrl_M2M_DMAC | interruptMasksFor(config));
}

/**
 * Scatter-gather copy on `channel`: `count` entries at `list` in linear memory, each
 * PL080_SG_ENTRY_SIZE bytes (source bus address, destination bus address, length in bytes, as
 * little-endian u32), are copied one after the other as one chain of linked-list items, memory
 * to memory. `config` as for pl080_memcpy; its width applies to every entry (0 = the widest
 * width all of them allow). Every entry takes at least one item; the chain may take up to
 * PL080_LLI_ITEMS. Returns as pl080_memcpy.
 */
export function pl080_sg(base: u32, channel: u32, list: u32, count: u32, config: u32): i32 {
  if (!isValidBase(base) || channel >= PL080_CHANNELS) return ERR_INVALID_ARG;
  if (count == 0 || count > PL080_LLI_ITEMS || !isValidBuffer(list, count * PL080_SG_ENTRY_SIZE)) return ERR_INVALID_ARG;
  if ((config & ~PL080_CONFIG_VALID_MASK) != 0 || (config & PL080_CONFIG_PERIPH_FLOW) != 0) return ERR_INVALID_ARG;
  // First pass: check every entry and find the width they all allow.
  let alignment: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const entry = list + i * PL080_SG_ENTRY_SIZE;
    const src = load<u32>(entry), dst = load<u32>(entry, 4), len = load<u32>(entry, 8);
    if (len == 0 || !fitsBus(src, len) || !fitsBus(dst, len)) return ERR_INVALID_ARG;
    alignment |= src | dst | len;
  }
  const widthShift = widthShiftFor(config, alignment, false);
  if (widthShift == WIDTH_SHIFT_INVALID) return ERR_INVALID_ARG;
  let items: u32 = 0;
  for (let i: u32 = 0; i < count; i++) items += itemsFor(load<u32>(list + i * PL080_SG_ENTRY_SIZE, 8) >> <u32>widthShift);
  if (items > PL080_LLI_ITEMS || (items > 1 && !memoryMapped)) return ERR_INVALID_ARG;

  if (!waitChannelIdle(base, channel)) return ERR_BUSY;
  const control = controlFor(config, widthShift, true, true);
  let index: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const entry = list + i * PL080_SG_ENTRY_SIZE;
    index = appendItems(channel, index, load<u32>(entry), load<u32>(entry, 4), load<u32>(entry, 8) >> <u32>widthShift, widthShift, control);
  }
  linkItems(channel, items);
  return startChannel(base, channel, PL080_C0Configuration_FlowCntrl_M2M_DMAC | interruptMasksFor(config));
}

/** Shared by the two peripheral directions: `memoryAddress` increments, `peripheral` stays. */
function startPeripheral(base: u32, channel: u32, memoryAddress: u32, peripheral: u32, len: u32, line: u32, config: u32, toPeripheral: bool): i32 {
  if (!isValidBase(base) || channel >= PL080_CHANNELS || line >= PL080_REQUEST_LINES || len == 0) return ERR_INVALID_ARG;
  if ((config & ~PL080_CONFIG_VALID_MASK) != 0) return ERR_INVALID_ARG;
  if (!fitsBus(memoryAddress, len)) return ERR_INVALID_ARG;
  const widthShift = widthShiftFor(config, memoryAddress | peripheral | len, true);
  if (widthShift == WIDTH_SHIFT_INVALID) return ERR_INVALID_ARG;
  const peripheralFlow = (config & PL080_CONFIG_PERIPH_FLOW) != 0;
  // With the peripheral as flow controller TransferSize is ignored and should be 0
  // (docs/primecell.md, PL080 4.3): one item, ended by the peripheral's last request; len only
  // bounds the buffer.
  const transfers = peripheralFlow ? 0 : len >> <u32>widthShift;
  const items: u32 = peripheralFlow ? 1 : itemsFor(transfers);
  if (items > PL080_LLI_ITEMS || (items > 1 && !memoryMapped)) return ERR_INVALID_ARG;

  if (!waitChannelIdle(base, channel)) return ERR_BUSY;
  const src = toPeripheral ? memoryAddress : peripheral;
  const dst = toPeripheral ? peripheral : memoryAddress;
  const control = controlFor(config, widthShift, toPeripheral, !toPeripheral);
  if (peripheralFlow) writeItem(channel, 0, src, dst, control);
  else appendItems(channel, 0, src, dst, transfers, widthShift, control);
  linkItems(channel, items);
  let configuration = interruptMasksFor(config);
  if (toPeripheral) {
    configuration |= (peripheralFlow ? PL080_C0Configuration_FlowCntrl_M2P_DEST : PL080_C0Configuration_FlowCntrl_M2P_DMAC)
      | (line << PL080_C0Configuration_DestPeripheral_SHIFT);
  } else {
    configuration |= (peripheralFlow ? PL080_C0Configuration_FlowCntrl_P2M_SRC : PL080_C0Configuration_FlowCntrl_P2M_DMAC)
      | (line << PL080_C0Configuration_SrcPeripheral_SHIFT);
  }
  return startChannel(base, channel, configuration);
}

/**
 * Memory to peripheral on `channel`: `len` bytes from bus address `src` (incrementing) to the
 * peripheral register at bus address `periph` (fixed), one transfer or burst each time request
 * line `line` (0..15) asks. `config`: PL080_CONFIG_* (width 0 = byte); without
 * PL080_CONFIG_PERIPH_FLOW the DMAC counts the transfers and stops after `len` bytes, with it the
 * peripheral ends the transfer with a last request and `len` only bounds the buffer. Returns as
 * pl080_memcpy.
 */
export function pl080_mem_to_periph(base: u32, channel: u32, src: u32, periph: u32, len: u32, line: u32, config: u32): i32 {
  return startPeripheral(base, channel, src, periph, len, line, config, true);
}

/**
 * Peripheral to memory on `channel`: from the peripheral register at bus address `periph`
 * (fixed) to bus address `dst` (incrementing), paced by request line `line`. `len` and `config`
 * as for pl080_mem_to_periph. Returns as pl080_memcpy.
 */
export function pl080_periph_to_mem(base: u32, channel: u32, periph: u32, dst: u32, len: u32, line: u32, config: u32): i32 {
  return startPeripheral(base, channel, dst, periph, len, line, config, false);
}

/**
 * Waits (bounded) for `channel` to finish. Returns OK when the channel stopped at the end of its
 * last item, ERR_DMA when it stopped on a bus error (the error status is cleared), ERR_TIMEOUT
 * when it is still running after PL080_WAIT_POLL_LIMIT reads (it keeps running: call again, or
 * pl080_stop). The channel's terminal-count status is cleared in both finished cases.
 */
export function pl080_wait(base: u32, channel: u32): i32 {
  if (!isValidBase(base) || channel >= PL080_CHANNELS) return ERR_INVALID_ARG;
  const bit: u32 = 1 << channel;
  for (let polls: u32 = 0; polls < PL080_WAIT_POLL_LIMIT; polls++) {
    if ((read32(base + PL080_EnbldChns) & bit) != 0) continue;
    // The channel has stopped: at the end of its last item, or on an error, which disables it
    // too. The raw status tells which, whatever the interrupt masks.
    const failed = (read32(base + PL080_RawIntErrorStatus) & bit) != 0;
    write32(base + PL080_IntTCClear, bit);
    if (!failed) return OK;
    write32(base + PL080_IntErrClr, bit);
    return ERR_DMA;
  }
  return ERR_TIMEOUT;
}

/**
 * Stops `channel`: halts it, lets its FIFO drain (bounded), then disables it (docs/primecell.md,
 * PL080 4.6 "Stop"), and clears its terminal-count and error status: the stopped transfer's
 * outcome goes with it, so a later pl080_wait on the idle channel returns OK, not an error the
 * abandoned transfer met (the TRM keeps those bits until IntTCClear / IntErrClr clear them).
 * Returns OK, or ERR_TIMEOUT when the FIFO did not drain: the channel is disabled anyway and
 * the data left in its FIFO is lost.
 */
export function pl080_stop(base: u32, channel: u32): i32 {
  if (!isValidBase(base) || channel >= PL080_CHANNELS) return ERR_INVALID_ARG;
  const drained = haltAndDisable(base, channel);
  const bit: u32 = 1 << channel;
  write32(base + PL080_IntTCClear, bit);
  write32(base + PL080_IntErrClr, bit);
  return drained ? OK : ERR_TIMEOUT;
}
