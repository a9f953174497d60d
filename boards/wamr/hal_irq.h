/*
 * Interrupts into hal.wasm, deferred (docs/interrupts-on-boards.md): the board's interrupt
 * service routine does not run the module. It masks (or latches) the line and marks it pending
 * here with hal_irq_raise(); the module's handler export, hal_irq_dispatch(line), runs later on
 * the thread that runs the module, at a safe point:
 *
 * - between export calls: hal_irq_deliver(), which the runtime glue calls before and after each
 *   export call and the board's main loop calls when it is idle (hal_wamr_irq_poll());
 * - where a driver waits: hal_irq_boundary(), which the mmio natives call before every access.
 *   A wait point is a read of the same address as the previous access of main code, also a read
 *   (a poll), the rule the Node harness's deferred mode uses (harness/interrupts.ts).
 *
 * After the handler returns, a line that the ISR masked is unmasked through the board's function
 * (irq_enable(), NVIC_EnableIRQ(), a write of 1 to a UIO fd), unless no driver claimed it
 * (hal_irq_dispatch returned ERR_NO_HANDLER: the line stays masked rather than storm).
 *
 * The pending set is a byte per line and one "something is pending" byte, with no read-modify-
 * write anywhere: the ISR of a line stores that line's byte, then the summary byte; the main
 * thread clears the summary, then each byte it takes. A line's byte has one writer at a time
 * because the ISR masks the line before it stores and the line is unmasked only after the main
 * thread has cleared the byte, so nothing is lost and no interrupt needs to be disabled. That
 * holds on Cortex-M0 (no exclusive load/store) as on SMP Linux (a thread as the "ISR").
 *
 * The core knows nothing of the runtime: hal_wamr.c dispatches through wasm_runtime_call_wasm(),
 * the wasm2c glue (boards/wasm2c/gen-glue.mjs) through the translated export.
 *
 * A preemptive mode is there too (HAL_IRQ_PREEMPTIVE): a pending line is delivered before every
 * access, also inside a handler (any line that is not already running). It is what the Node
 * harness's preemptive mode does, for a module compiled to C (wasm2c) whose host wants the same
 * interleavings without running the module in the ISR itself. A board whose ISR enters the
 * module directly calls hal_irq_run() from the ISR instead; see the rules in
 * docs/interrupts-on-boards.md.
 *
 * Compile-time options:
 *   HAL_IRQ_MAX_LINES   lines the pending set holds (default 256, as hal_irq_dispatch serves;
 *                       32 saves RAM on a small part). A line at or above it is refused.
 *   HAL_IRQ_MAX_DEPTH   handlers running at once, nested (default 8).
 */
#ifndef HAL_IRQ_H
#define HAL_IRQ_H

#include <stddef.h>
#include <stdint.h>

#include "hal_natives.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef HAL_IRQ_MAX_LINES
#define HAL_IRQ_MAX_LINES 256
#endif
#ifndef HAL_IRQ_MAX_DEPTH
#define HAL_IRQ_MAX_DEPTH 8
#endif

/* Delivery modes. */
#define HAL_IRQ_DEFERRED 0
#define HAL_IRQ_PREEMPTIVE 1

/* How the ISR left the line (hal_irq_raise's `how`). */
/* The ISR cleared or latched the source itself: nothing to undo after the handler. */
#define HAL_IRQ_LATCHED 1
/* The ISR masked the line at the interrupt controller: unmask it after the handler. */
#define HAL_IRQ_MASKED 2

/* Access kinds for hal_irq_boundary, as the trace's (docs/trace-format.md). */
#define HAL_IRQ_OP_READ 0u
#define HAL_IRQ_OP_WRITE 1u
#define HAL_IRQ_OP_BARRIER 2u

/* hal_irq_dispatch's status for a line no driver registered (registers/api.json). */
#define HAL_IRQ_ERR_NO_HANDLER (-16)

struct hal_irq;

/* Runs the module's hal_irq_dispatch(line) and stores its status. Returns 0 when it returned,
 * non-zero when it did not (a trap, a refused access). Inside an export call a trap must end
 * that call: the runtime glue leaves the runtime's exception set (WAMR) or unwinds (wasm2c). */
typedef int (*hal_irq_dispatch_fn)(void *ctx, uint32_t line, int32_t *status);
/* Unmasks a line the ISR masked: irq_enable(line), NVIC_EnableIRQ(line), a UIO write of 1. */
typedef void (*hal_irq_line_fn)(void *ctx, uint32_t line);
/* Looks for interrupts that arrived without an ISR and raises them (a UIO host polls its fds
 * here). Called at each delivery point, before the pending set is read. */
typedef void (*hal_irq_sample_fn)(void *ctx, struct hal_irq *q);

/* The pending set and the delivery state. Fill it with hal_irq_init(); fields are private,
 * except `entries`. */
typedef struct hal_irq {
    /* Written by ISRs (and cleared by the main thread): per line 0, HAL_IRQ_LATCHED or
     * HAL_IRQ_MASKED; `any` is set after a line's byte. */
    volatile uint8_t raised[HAL_IRQ_MAX_LINES];
    volatile uint8_t any;

    /* The rest belongs to the thread that runs the module. */
    int mode;
    hal_natives *natives;
    hal_irq_dispatch_fn dispatch;
    void *dispatch_ctx;
    hal_irq_line_fn unmask;
    void *unmask_ctx;
    hal_irq_sample_fn sample;
    void *sample_ctx;
    /* Called at every access boundary, before anything is delivered there: a scripted host
     * raises its lines at the access they belong to (boards/host/hal_scenario.c). */
    hal_irq_sample_fn probe;
    void *probe_ctx;
    /* Lines whose handler runs, innermost last. */
    uint16_t running[HAL_IRQ_MAX_DEPTH];
    uint32_t depth;
    /* Main code's previous access, for the wait-point rule; last_op is ~0u before the first. */
    uint32_t last_op, last_addr;
    /* Nonzero while hal_irq_boundary runs (the probe is consulted only then). */
    int in_boundary;
    /* Access boundaries passed so far (each counted after what was delivered at it). */
    uint64_t boundaries;
    /* Handler entries so far: public. */
    uint64_t entries;
} hal_irq;

/* Sets up an empty pending set in `mode`, tracing handler entries through `natives` (the natives
 * the module's accesses go through; NULL for no trace lines). */
void hal_irq_init(hal_irq *q, int mode, hal_natives *natives);

/* The runtime glue's dispatch (hal_wamr_irq_attach, hal_w2c_attach_irq set it). */
void hal_irq_set_dispatch(hal_irq *q, hal_irq_dispatch_fn fn, void *ctx);
/* The board's unmask, called after the handler of a line raised with HAL_IRQ_MASKED. */
void hal_irq_set_unmask(hal_irq *q, hal_irq_line_fn fn, void *ctx);
/* A source of interrupts polled at each delivery point (a UIO host), or NULL. */
void hal_irq_set_sample(hal_irq *q, hal_irq_sample_fn fn, void *ctx);
/* A function called at every access boundary (a scripted host), or NULL. */
void hal_irq_set_probe(hal_irq *q, hal_irq_sample_fn fn, void *ctx);

/* From the ISR, after it masked (HAL_IRQ_MASKED) or latched (HAL_IRQ_LATCHED) the line: marks it
 * pending. Safe against the main thread and against other ISRs, nested or not; takes no lock and
 * calls nothing. Returns 0, or -1 for a line at or above HAL_IRQ_MAX_LINES or a bad `how`. */
int hal_irq_raise(hal_irq *q, uint32_t line, int how);

/* Nonzero when some line is pending. */
int hal_irq_pending(const hal_irq *q);

/* Between export calls (not from inside a native): runs the handler of every pending line,
 * lowest line first, until none is left. Returns the number of handlers run, or -1 when one did
 * not return (its line stays masked). */
int hal_irq_deliver(hal_irq *q);

/* Before every access of the module, from the mmio natives: delivers what the mode allows there.
 * Returns 0 to go on with the access, or -1 when a handler did not return: the native must then
 * not make the access and must end the export call (hal_wamr.c leaves WAMR's exception set). */
int hal_irq_boundary(hal_irq *q, uint32_t op, uint32_t addr);

/* Runs one line's handler now, with its trace lines: what the two functions above do for each
 * line they take, and what the ISR of a board that enters the module directly calls
 * (preemptive != 0 marks the entry so). Returns 0, or -1 when the handler did not return. A line
 * raised with HAL_IRQ_MASKED is unmasked after it; pass `how` 0 when nothing is to be undone. */
int hal_irq_run(hal_irq *q, uint32_t line, int how, int preemptive);

/* After the runtime unwound a trap out of a handler (wasm2c's longjmp): no handler runs. */
void hal_irq_unwind(hal_irq *q);

#ifdef __cplusplus
}
#endif

#endif /* HAL_IRQ_H */
