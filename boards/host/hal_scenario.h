/*
 * Scenario files: a run of hal.wasm on a host with no hardware, where every read is answered
 * from a script. The Node test suite writes them (test/wasm2c-parity.test.ts) from a run
 * against the behavioural models: the same export calls with the same arguments, the same
 * bytes put into linear memory, and the values the models returned, in order. A C host that
 * plays one back with the natives core tracing must write the same trace as Node did.
 *
 *   wasm-hal-scenario 1
 *   window uart0 0x101f1000 0x1000 pl011      allow-list entry, answered by the script
 *   answer 0x00000098 x868                    the next 868 reads return 0x98
 *   poke 0x00000400 48656c6c6f                bytes into linear memory at 0x400
 *   call pl011_write 0x101f1000 0x400 5       an export call (decimal or 0x hex; -1 is 0xffffffff)
 *   peek 0x00000400 5                         prints "peek 0x00000400 48656c6c6f"
 *
 * and, for a run with interrupts (boards/wamr/hal_irq.h, docs/interrupts-on-boards.md):
 *
 *   interrupts deferred                       how the host delivers them: deferred or preemptive
 *   raise 12 5077                             a scripted ISR masks line 12 and marks it pending
 *                                             at access boundary 5077 (the 5078th access the
 *                                             module makes, handlers' included, counted from 0);
 *                                             the delivery rules decide where its handler runs
 *   irq 12                                    a step: line 12 is raised between two calls and the
 *                                             host delivers it there, as a main loop's poll does
 *
 * `#` starts a comment line. Windows come first. Answers and raises are taken in file order
 * wherever they appear (raises in increasing boundary order); writes are accepted and only
 * traced. A read with no answer left is refused (the call traps), as is an access outside every
 * window.
 */
#ifndef HAL_SCENARIO_H
#define HAL_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hal_irq.h"
#include "hal_natives.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a host provides to run a scenario: calls of exports and its linear memory. */
typedef struct hal_module_ops {
    /* Calls export `name`, writing its `call` and `return`/`threw` trace lines. Returns 0 when
     * it returned (*result set), 1 when it did not return (a trap or a refused access), 2 when
     * it could not be called (no such export, wrong argument count); `error` says why. */
    int (*call)(void *ctx, const char *name, const uint32_t *args, uint32_t argc, int32_t *result,
                char *error, size_t error_size);
    /* The module's linear memory and its size in bytes. */
    uint8_t *(*memory)(void *ctx, uint32_t *size);
    void *ctx;
} hal_module_ops;

typedef struct hal_scenario hal_scenario;

/* Reads a scenario file. Returns NULL and a message ("FILE:LINE: problem") in `error`. */
hal_scenario *hal_scenario_load(const char *path, char *error, size_t error_size);

/* The windows the file declares, each answered by the script. */
const hal_window *hal_scenario_windows(const hal_scenario *s, size_t *count);

/* Carries out the steps in order. Peeks are printed on `out`, the message of a call that did
 * not return on `err`. Returns 0 when every step was carried out (a call that threw counts:
 * the trace records it), else non-zero after a message on `err`. */
int hal_scenario_run(hal_scenario *s, hal_natives *n, const hal_module_ops *ops, FILE *out, FILE *err);

/* Answers not taken by the run (the module read less than the recording did). */
uint64_t hal_scenario_answers_left(const hal_scenario *s);

/* The delivery mode the file asks for: HAL_IRQ_DEFERRED or HAL_IRQ_PREEMPTIVE, or -1 when it
 * has no `interrupts` line (no interrupts at all). */
int hal_scenario_irq_mode(const hal_scenario *s);

/* Plays the file's raises into `q` (a hal_irq set up in hal_scenario_irq_mode(), its dispatch
 * attached to the module) as the ISR would, and lets `irq` steps deliver through it. Call before
 * hal_scenario_run. */
void hal_scenario_attach_irq(hal_scenario *s, hal_irq *q);

/* Raises not made by the run (the module made fewer accesses than the recording did). */
size_t hal_scenario_raises_left(const hal_scenario *s);

void hal_scenario_free(hal_scenario *s);

/* Parses a 32-bit argument as hosts take them: decimal, -decimal or 0x hex. 1 on success. */
int hal_parse_u32(const char *word, uint32_t *out);

#ifdef __cplusplus
}
#endif

#endif /* HAL_SCENARIO_H */
