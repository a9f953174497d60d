// The module's exports: C-callable functions that take and return only i32/u32, so that the
// wasm-hal harness calls them with hal.call(name, ...args) and a board's WAMR host with
// wasm_runtime_call_wasm. The module reaches hardware only through the three imports that
// wasm-hal/assembly/env declares (env.mmio_read, env.mmio_write, env.barrier).
import { HAL_ABI_VERSION, HAL_SCRATCH_SIZE } from "./generated/api";

// A static buffer the host may fill before a call or read after one. The module allocates
// nothing at run time, so buffers live here (or in parts of linear memory the host chooses). The
// harness's fuzzer asks every module for it (hal_scratch, hal_scratch_size).
const scratch = memory.data(<i32>HAL_SCRATCH_SIZE, 16);

/** Version of the import/export contract. */
export function hal_abi_version(): u32 {
  return HAL_ABI_VERSION;
}

/** Address in linear memory of the scratch buffer. */
export function hal_scratch(): u32 {
  return <u32>scratch;
}

/** Size in bytes of the scratch buffer. */
export function hal_scratch_size(): u32 {
  return HAL_SCRATCH_SIZE;
}

// One line per driver.
export * from "./timer";
