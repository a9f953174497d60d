/*
 * hal.wasm under WAMR (bytecodealliance/wasm-micro-runtime): the three natives of module "env"
 * backed by the natives core (hal_natives.h), and a traced call of an export. Link it next to
 * WAMR's runtime library; see docs/deploy.md for the build options the module needs.
 *
 *   static hal_window windows[] = { { "uart0", "pl011", 0x101f1000, 0x1000, (volatile void *)0x101f1000, NULL } };
 *   static hal_natives natives;
 *   hal_natives_init(&natives, windows, 1);
 *   wasm_runtime_init();                       // or wasm_runtime_full_init(&args)
 *   hal_wamr_register(&natives);               // before wasm_runtime_load()
 *   ... load, instantiate, create an exec env ...
 *   uint32_t args[] = { 0x101f1000, 24000000, 115200, 0 };
 *   int32_t status;
 *   if (!hal_wamr_call(&natives, exec_env, "pl011_init", args, 4, &status, err, sizeof err)) ...
 *
 * One hal_natives serves every module instance of the process: AOT code compiled with
 * `wamrc --native-lib` calls the natives directly, without the per-call attachment WAMR gives
 * interpreted code, so the natives find their state in a process-wide pointer.
 */
#ifndef HAL_WAMR_H
#define HAL_WAMR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal_natives.h"
#include "wasm_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The three natives ("mmio_read" "(ii)i", "mmio_write" "(iii)", "barrier" "(i)") backed by `n`,
 * for RuntimeInitArgs.native_module_name = "env" / native_symbols / n_native_symbols. The array
 * is static and writable: WAMR sorts it in place. */
NativeSymbol *hal_wamr_native_symbols(hal_natives *n, uint32_t *count);

/* Registers the natives for module "env", backed by `n`. Call it once, after the runtime is
 * initialised and before the module is loaded (imports are resolved at load time). */
bool hal_wamr_register(hal_natives *n);

/* Calls export `name` with 32-bit integer arguments and returns its i32 result in *result,
 * framed by `call` and `return`/`threw` lines in the trace. Returns false when the export is
 * missing, takes another number of arguments, or did not return (a trap, or an access the
 * natives refused); `error` then says why. */
bool hal_wamr_call(hal_natives *n, wasm_exec_env_t exec_env, const char *name, const uint32_t *args,
                   uint32_t argc, int32_t *result, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* HAL_WAMR_H */
