/*
 * hal.wasm translated to C by wasm2c and linked with the natives core: the API of the glue that
 * boards/wasm2c/gen-glue.mjs generates from wasm2c's header. No WebAssembly runtime at all: the
 * drivers become plain C functions, and the three imports call hal_natives_read/write/barrier.
 */
#ifndef HAL_W2C_H
#define HAL_W2C_H

#include <stddef.h>
#include <stdint.h>

#include "hal_irq.h"
#include "hal_natives.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hal_w2c hal_w2c;

/* Initialises the wasm2c runtime and instantiates the module on `natives`. There is one
 * instance per process; a second call returns NULL. */
hal_w2c *hal_w2c_new(hal_natives *natives);

/* Delivers the interrupts of `q` (hal_irq.h) into the module's hal_irq_dispatch export: at
 * every import call's boundary (deferred: wait points only; preemptive: any) and around
 * hal_w2c_call. NULL detaches. Returns -1 when the module has no hal_irq_dispatch. */
int hal_w2c_attach_irq(hal_w2c *m, hal_irq *q);

/* The module's linear memory and its size in bytes. */
uint8_t *hal_w2c_memory(hal_w2c *m, uint32_t *size);

/* Calls export `name` with i32 arguments, framed by `call` and `return`/`threw` trace lines,
 * with pending interrupts delivered before and after it (hal_w2c_attach_irq). Returns 0 when it
 * returned (*result set), 1 when it trapped, a native refused an access or a handler did not
 * return, 2 when there is no such export or it takes another number of arguments; `error` says
 * why. */
int hal_w2c_call(hal_w2c *m, const char *name, const uint32_t *args, uint32_t argc, int32_t *result,
                 char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* HAL_W2C_H */
