// Copies of the private helpers of assembly/pl080.ts that the PL080 zoo modules need, so that a
// zoo module can rewrite one exported function and keep the rest as the driver has it. Not an
// entry: only the files directly in zoo/ are built.
import { read32, write32, modify32 } from "../../assembly/mmio";
import {
  PL080_EnbldChns, PL080_C0SrcAddr, PL080_C1SrcAddr, PL080_C0Configuration,
  PL080_C0Control_ProtPrivileged, PL080_C0Control_DI, PL080_C0Control_SI, PL080_C0Control_D, PL080_C0Control_S,
  PL080_C0Control_DWidth_SHIFT, PL080_C0Control_SWidth_SHIFT, PL080_C0Control_DBSize_SHIFT, PL080_C0Control_SBSize_SHIFT,
  PL080_C0Configuration_H, PL080_C0Configuration_A, PL080_C0Configuration_E, PL080_C0Configuration_ITC,
  PL080_C0Configuration_IE,
} from "../../assembly/generated/pl080";
import {
  PL080_CONFIG_WIDTH_MASK, PL080_CONFIG_WIDTH_AUTO, PL080_CONFIG_BURST_MASK, PL080_CONFIG_BURST_SHIFT,
  PL080_CONFIG_IRQ, PL080_CONFIG_SRC_MASTER2, PL080_CONFIG_DST_MASTER2, PL080_CHANNELS,
} from "../../assembly/generated/api";

export const CHANNEL_STRIDE: u32 = PL080_C1SrcAddr - PL080_C0SrcAddr;
export const ALL_CHANNELS: u32 = (1 << PL080_CHANNELS) - 1;
/** The driver's poll limits. */
export const IDLE_POLL_LIMIT: u32 = 1 << 10;
export const HALT_POLL_LIMIT: u32 = 1 << 14;
export const WIDTH_SHIFT_INVALID: i32 = -1;

export function channelRegister(base: u32, channel: u32, c0Offset: u32): u32 {
  return base + c0Offset + channel * CHANNEL_STRIDE;
}

export function fitsBus(addr: u32, len: u32): bool {
  return <u64>addr + <u64>len <= 0x1_0000_0000;
}

export function widthShiftFor(config: u32, alignment: u32): i32 {
  const width = config & PL080_CONFIG_WIDTH_MASK;
  const shift: i32 = width != PL080_CONFIG_WIDTH_AUTO ? <i32>width - 1 : (alignment & 3) == 0 ? 2 : (alignment & 1) == 0 ? 1 : 0;
  return (alignment & ((1 << shift) - 1)) == 0 ? shift : WIDTH_SHIFT_INVALID;
}

export function controlFor(config: u32, widthShift: i32): u32 {
  const burst = (config & PL080_CONFIG_BURST_MASK) >> PL080_CONFIG_BURST_SHIFT;
  let control = PL080_C0Control_ProtPrivileged | PL080_C0Control_SI | PL080_C0Control_DI
    | (<u32>widthShift << PL080_C0Control_SWidth_SHIFT) | (<u32>widthShift << PL080_C0Control_DWidth_SHIFT)
    | (burst << PL080_C0Control_SBSize_SHIFT) | (burst << PL080_C0Control_DBSize_SHIFT);
  if (config & PL080_CONFIG_SRC_MASTER2) control |= PL080_C0Control_S;
  if (config & PL080_CONFIG_DST_MASTER2) control |= PL080_C0Control_D;
  return control;
}

export function interruptMasksFor(config: u32): u32 {
  return (config & PL080_CONFIG_IRQ) ? PL080_C0Configuration_ITC | PL080_C0Configuration_IE : 0;
}

export function waitChannelIdle(base: u32, channel: u32): bool {
  const bit: u32 = 1 << channel;
  const configuration = channelRegister(base, channel, PL080_C0Configuration);
  for (let polls: u32 = 0; polls < IDLE_POLL_LIMIT; polls++) {
    if ((read32(base + PL080_EnbldChns) & bit) != 0) continue;
    if ((read32(configuration) & (PL080_C0Configuration_A | PL080_C0Configuration_E)) == 0) return true;
  }
  return false;
}

export function haltAndDisable(base: u32, channel: u32): bool {
  const configuration = channelRegister(base, channel, PL080_C0Configuration);
  let drained = true;
  if ((read32(configuration) & PL080_C0Configuration_E) != 0) {
    modify32(configuration, 0, PL080_C0Configuration_H);
    drained = false;
    for (let polls: u32 = 0; polls < HALT_POLL_LIMIT; polls++) {
      if ((read32(configuration) & PL080_C0Configuration_A) == 0) {
        drained = true;
        break;
      }
    }
  }
  write32(configuration, 0);
  return drained;
}
