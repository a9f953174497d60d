// The exported, C-callable API of hal.wasm. Every export takes and returns only i32/u32, so a
// WAMR host can call it with wasm_runtime_call_wasm. Status codes: registers/api.json.
// Each driver file exports exactly its C-callable functions; they are re-exported here.
import { HAL_ABI_VERSION, HAL_SCRATCH_SIZE } from "./generated/api";

// A static buffer the host may fill before a call (bytes to send) or read after one (bytes
// received). The module allocates nothing at run time, so buffers live here or in host-chosen
// parts of linear memory.
const scratch = memory.data(<i32>HAL_SCRATCH_SIZE, 16);

/** Version of the import/export contract (docs/abi.md 1.6). */
export function hal_abi_version(): u32 {
  return HAL_ABI_VERSION;
}

/** Address in linear memory of the scratch buffer. */
export function hal_scratch(): u32 {
  return <u32>scratch;
}

/** Size in bytes of the scratch buffer (at least 4096). */
export function hal_scratch_size(): u32 {
  return HAL_SCRATCH_SIZE;
}

export * from "./pl011";
export * from "./pl061";
export * from "./pl022";
export * from "./pl080";
