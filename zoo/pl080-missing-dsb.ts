// Bug: pl080_memcpy enables the channel without the DSB that makes the CPU's earlier stores (the
// source buffer, the linked-list items) complete before the DMA master can read them. On a CPU
// with a write buffer the DMAC may copy stale memory. This copy of pl080_memcpy handles the
// single-item transfers (up to 4095 elements) that the driver loads straight into the registers;
// the one defect is the missing barrier.
// Caught by: the barrier check (toHaveBarrierBetween("DSB", W C0Control, W C0Configuration E = 1)).
import { write32 } from "../assembly/mmio";
import { isValidBase } from "../assembly/common";
import {
  PL080_IntTCClear, PL080_IntErrClr, PL080_C0SrcAddr, PL080_C0DestAddr, PL080_C0LLI, PL080_C0Control,
  PL080_C0Configuration, PL080_C0Control_I, PL080_C0Configuration_E, PL080_C0Configuration_FlowCntrl_M2M_DMAC,
} from "../assembly/generated/pl080";
import {
  OK, ERR_INVALID_ARG, ERR_BUSY, PL080_CONFIG_VALID_MASK, PL080_CONFIG_PERIPH_FLOW, PL080_CHANNELS,
  PL080_MAX_ITEM_TRANSFERS,
} from "../assembly/generated/api";
import { channelRegister, fitsBus, widthShiftFor, controlFor, interruptMasksFor, waitChannelIdle, WIDTH_SHIFT_INVALID } from "./parts/pl080";

export {
  pl080_set_memory_address, pl080_init, pl080_sg, pl080_mem_to_periph, pl080_periph_to_mem, pl080_wait, pl080_stop,
} from "../assembly/pl080";
export { hal_abi_version, hal_scratch, hal_scratch_size } from "../assembly/index";

export function pl080_memcpy(base: u32, channel: u32, src: u32, dst: u32, len: u32, config: u32): i32 {
  if (!isValidBase(base) || channel >= PL080_CHANNELS || len == 0) return ERR_INVALID_ARG;
  if ((config & ~PL080_CONFIG_VALID_MASK) != 0 || (config & PL080_CONFIG_PERIPH_FLOW) != 0) return ERR_INVALID_ARG;
  if (!fitsBus(src, len) || !fitsBus(dst, len)) return ERR_INVALID_ARG;
  const widthShift = widthShiftFor(config, src | dst | len);
  if (widthShift == WIDTH_SHIFT_INVALID) return ERR_INVALID_ARG;
  const transfers = len >> <u32>widthShift;
  if (transfers > PL080_MAX_ITEM_TRANSFERS) return ERR_INVALID_ARG; // one item only, in this copy

  if (!waitChannelIdle(base, channel)) return ERR_BUSY;
  const bit: u32 = 1 << channel;
  write32(base + PL080_IntTCClear, bit);
  write32(base + PL080_IntErrClr, bit);
  write32(channelRegister(base, channel, PL080_C0SrcAddr), src);
  write32(channelRegister(base, channel, PL080_C0DestAddr), dst);
  write32(channelRegister(base, channel, PL080_C0LLI), 0);
  write32(channelRegister(base, channel, PL080_C0Control), controlFor(config, widthShift) | PL080_C0Control_I | transfers);
  // the defect: no dsb() here
  const configuration = PL080_C0Configuration_FlowCntrl_M2M_DMAC | interruptMasksFor(config);
  write32(channelRegister(base, channel, PL080_C0Configuration), configuration | PL080_C0Configuration_E);
  return OK;
}
