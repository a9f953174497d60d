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
 * Interrupts, deferred (hal_irq.h, docs/interrupts-on-boards.md): the board's ISR masks the
 * line and calls hal_irq_raise(&irq, line, HAL_IRQ_MASKED); the module's hal_irq_dispatch export
 * runs on the module's thread, between export calls (hal_wamr_call before and after each call,
 * and hal_wamr_irq_poll() from the main loop) and where a driver polls a register (inside the
 * mmio_read native, through the exec env the native was called with):
 *
 *   static hal_irq irq;
 *   hal_irq_init(&irq, HAL_IRQ_DEFERRED, &natives);
 *   hal_irq_set_unmask(&irq, board_irq_enable, NULL);      // irq_enable(), NVIC_EnableIRQ()
 *   hal_wamr_irq_attach(&irq, exec_env, err, sizeof err);   // after creating the exec env
 *   for (;;) { hal_wamr_irq_poll(exec_env, err, sizeof err); ... }
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

#include "hal_irq.h"
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
 * framed by `call` and `return`/`threw` lines in the trace, with the pending interrupts delivered
 * before and after it (hal_wamr_irq_attach). Returns false when the export is missing, takes
 * another number of arguments, or did not return (a trap, or an access the natives refused), or
 * a handler run before or after it did not return; `error` then says why. */
bool hal_wamr_call(hal_natives *n, wasm_exec_env_t exec_env, const char *name, const uint32_t *args,
                   uint32_t argc, int32_t *result, char *error, size_t error_size);

/* Delivers interrupts of `q` into the hal_irq_dispatch export of `exec_env`'s instance from now
 * on: at the mmio natives' wait points (through the exec env each native is called with) and
 * between calls (through `exec_env`, the main loop's: around hal_wamr_call, in
 * hal_wamr_irq_poll and in a plain hal_irq_deliver). NULL `q` detaches. Returns false (and says
 * why) when the module exports no hal_irq_dispatch(i32) -> i32. One pending set per process, as
 * one hal_natives. */
bool hal_wamr_irq_attach(hal_irq *q, wasm_exec_env_t exec_env, char *error, size_t error_size);

/* From the main loop, between export calls (never from an ISR or a native): runs the handlers
 * of the pending lines through `exec_env` (the attached one when NULL). Returns the number run,
 * or -1 when one did not return (`error` says why; the exception is cleared, the line stays
 * masked). */
int hal_wamr_irq_poll(wasm_exec_env_t exec_env, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* HAL_WAMR_H */
