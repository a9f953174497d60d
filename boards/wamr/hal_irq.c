/* The deferred interrupt scheme's pending set and delivery (hal_irq.h). No runtime, no
 * allocation, no libc: it runs on a microcontroller as it does on Linux. */
#include "hal_irq.h"

#include <string.h>

/*
 * Plain loads and stores of single bytes, ordered. A byte store is a single store on every CPU
 * this runs on, so none of them is torn; what matters is their order. With GCC or Clang the
 * __atomic builtins give release stores and acquire loads (no read-modify-write, so no library
 * call on Armv6-M), and the fence between clearing the summary byte and reading the line bytes
 * is a full one (DMB on Arm), which SMP needs (a Linux thread raising lines); on a single core
 * with ISRs, program order already holds and the fence costs one instruction.
 */
#if defined(__GNUC__) || defined(__clang__)
#define STORE_BYTE(p, v) __atomic_store_n((p), (uint8_t)(v), __ATOMIC_RELEASE)
#define LOAD_BYTE(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define FULL_FENCE() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#else
#define STORE_BYTE(p, v) (*(p) = (uint8_t)(v))
#define LOAD_BYTE(p) (*(p))
#define FULL_FENCE() ((void)0)
#endif

void hal_irq_init(hal_irq *q, int mode, hal_natives *natives)
{
    memset((void *)q, 0, sizeof *q);
    q->mode = mode == HAL_IRQ_PREEMPTIVE ? HAL_IRQ_PREEMPTIVE : HAL_IRQ_DEFERRED;
    q->natives = natives;
    q->last_op = ~0u;
}

void hal_irq_set_dispatch(hal_irq *q, hal_irq_dispatch_fn fn, void *ctx)
{
    q->dispatch = fn;
    q->dispatch_ctx = ctx;
}

void hal_irq_set_unmask(hal_irq *q, hal_irq_line_fn fn, void *ctx)
{
    q->unmask = fn;
    q->unmask_ctx = ctx;
}

void hal_irq_set_sample(hal_irq *q, hal_irq_sample_fn fn, void *ctx)
{
    q->sample = fn;
    q->sample_ctx = ctx;
}

void hal_irq_set_probe(hal_irq *q, hal_irq_sample_fn fn, void *ctx)
{
    q->probe = fn;
    q->probe_ctx = ctx;
}

int hal_irq_raise(hal_irq *q, uint32_t line, int how)
{
    if (line >= HAL_IRQ_MAX_LINES || (how != HAL_IRQ_LATCHED && how != HAL_IRQ_MASKED)) return -1;
    /* The line's byte first, then the summary: a main thread that sees the summary sees the line. */
    STORE_BYTE(&q->raised[line], how);
    STORE_BYTE(&q->any, 1);
    return 0;
}

int hal_irq_pending(const hal_irq *q)
{
    return LOAD_BYTE(&q->any) != 0;
}

static int is_running(const hal_irq *q, uint32_t line)
{
    for (uint32_t i = 0; i < q->depth; i++)
        if (q->running[i] == line) return 1;
    return 0;
}

int hal_irq_run(hal_irq *q, uint32_t line, int how, int preemptive)
{
    if (q->dispatch == NULL || line >= HAL_IRQ_MAX_LINES || q->depth >= HAL_IRQ_MAX_DEPTH) return -1;
    q->running[q->depth++] = (uint16_t)line;
    q->entries++;
    if (q->natives != NULL) hal_natives_trace_irq_enter(q->natives, line, preemptive);
    int32_t status = 0;
    int failed = q->dispatch(q->dispatch_ctx, line, &status);
    q->depth--;
    if (failed) {
        /* The line stays masked: a handler that traps would trap again. */
        if (q->natives != NULL) hal_natives_trace_irq_abandon(q->natives);
        return -1;
    }
    if (q->natives != NULL) hal_natives_trace_irq_return(q->natives, line, status);
    /* The handler acknowledged what it served (and its DSB completed the writes), so the line
     * can be unmasked; a line nobody claimed stays masked instead of storming. */
    if (how == HAL_IRQ_MASKED && status != HAL_IRQ_ERR_NO_HANDLER && q->unmask != NULL) q->unmask(q->unmask_ctx, line);
    return 0;
}

/* Runs the handler of every pending line that may run now, lowest line first, looking again
 * after each (a handler takes time, and lines arrive meanwhile). Returns the number run, or -1. */
static int deliver_pending(hal_irq *q, int preemptive)
{
    int count = 0;
    for (;;) {
        if (q->sample != NULL) q->sample(q->sample_ctx, q);
        if (q->in_boundary && q->probe != NULL) q->probe(q->probe_ctx, q);
        if (!LOAD_BYTE(&q->any)) return count;
        STORE_BYTE(&q->any, 0);
        FULL_FENCE();
        uint32_t line = HAL_IRQ_MAX_LINES;
        int held = 0;
        for (uint32_t l = 0; l < HAL_IRQ_MAX_LINES; l++) {
            if (LOAD_BYTE(&q->raised[l]) == 0) continue;
            if (is_running(q, l) || q->depth >= HAL_IRQ_MAX_DEPTH) {
                held = 1;
                continue;
            }
            line = l;
            break;
        }
        if (line == HAL_IRQ_MAX_LINES) {
            /* Only lines that cannot run here (their own handler is running): a later point
             * takes them. */
            if (held) STORE_BYTE(&q->any, 1);
            return count;
        }
        uint8_t how = LOAD_BYTE(&q->raised[line]);
        STORE_BYTE(&q->raised[line], 0);
        /* Look again after this handler: other lines may be pending. */
        STORE_BYTE(&q->any, 1);
        if (hal_irq_run(q, line, how, preemptive) != 0) return -1;
        count++;
    }
}

int hal_irq_deliver(hal_irq *q)
{
    /* Between calls only: inside a handler, hal_irq_boundary decides. */
    if (q->depth != 0) return 0;
    return deliver_pending(q, 0);
}

int hal_irq_boundary(hal_irq *q, uint32_t op, uint32_t addr)
{
    int result = 0;
    q->in_boundary++;
    if (q->probe != NULL) q->probe(q->probe_ctx, q);
    if (q->mode == HAL_IRQ_PREEMPTIVE) {
        /* Between any two accesses, in main code and in handlers (a line not already running). */
        if (LOAD_BYTE(&q->any) || q->sample != NULL) result = deliver_pending(q, 1);
    } else if (q->depth == 0) {
        /* A wait point: a read of the address main code read just before. */
        int poll = op == HAL_IRQ_OP_READ && q->last_op == HAL_IRQ_OP_READ && addr == q->last_addr;
        q->last_op = op;
        q->last_addr = addr;
        if (poll) result = deliver_pending(q, 0);
    }
    q->in_boundary--;
    q->boundaries++;
    return result < 0 ? -1 : 0;
}

void hal_irq_unwind(hal_irq *q)
{
    q->depth = 0;
    q->in_boundary = 0;
}
