/*
 * Self-test of the deferred interrupt core (boards/wamr/hal_irq.c) with a fake dispatch: where
 * lines are delivered (wait points, between calls, preemptive boundaries), in which order, which
 * are unmasked afterwards, and what a trapping handler leaves. Prints a line per failed check
 * and a summary, and exits 1 if any failed. Run by test/wasm2c-parity.test.ts.
 */
#include <stdio.h>
#include <string.h>

#include "hal_irq.h"

static int passed, failed;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAILED: %s\n", what);
    }
}

/* The fake module: records the lines it was entered for, returns a status per line, and can
 * make an access of its own (a boundary inside the handler) or "trap". */
static struct {
    uint32_t lines[16];
    int count;
    int32_t status[HAL_IRQ_MAX_LINES];
    int trap_line;
    hal_irq *q;
    uint32_t nested_raise;
} fake;

static int fake_dispatch(void *ctx, uint32_t line, int32_t *status)
{
    (void)ctx;
    if (fake.count < 16) fake.lines[fake.count] = line;
    fake.count++;
    if ((int)line == fake.trap_line) return 1;
    if (fake.nested_raise != 0) {
        uint32_t other = fake.nested_raise;
        fake.nested_raise = 0;
        hal_irq_raise(fake.q, other, HAL_IRQ_MASKED);
        /* The handler's own access: a boundary inside it. */
        hal_irq_boundary(fake.q, HAL_IRQ_OP_READ, 0x1000);
    }
    *status = fake.status[line];
    return 0;
}

static uint32_t unmasked[16];
static int unmask_count;

static void fake_unmask(void *ctx, uint32_t line)
{
    (void)ctx;
    if (unmask_count < 16) unmasked[unmask_count] = line;
    unmask_count++;
}

static void reset(hal_irq *q, int mode)
{
    memset(&fake, 0, sizeof fake);
    fake.trap_line = -1;
    fake.q = q;
    unmask_count = 0;
    hal_irq_init(q, mode, NULL);
    hal_irq_set_dispatch(q, fake_dispatch, NULL);
    hal_irq_set_unmask(q, fake_unmask, NULL);
}

int main(void)
{
    static hal_irq q;

    /* Deferred: nothing at boundaries that are no wait point, then at the poll. */
    reset(&q, HAL_IRQ_DEFERRED);
    check(hal_irq_raise(&q, 12, HAL_IRQ_MASKED) == 0 && hal_irq_pending(&q), "a raised line is pending");
    hal_irq_boundary(&q, HAL_IRQ_OP_WRITE, 0x2000);
    hal_irq_boundary(&q, HAL_IRQ_OP_READ, 0x2018);
    hal_irq_boundary(&q, HAL_IRQ_OP_WRITE, 0x2018);
    hal_irq_boundary(&q, HAL_IRQ_OP_READ, 0x2018);
    hal_irq_boundary(&q, HAL_IRQ_OP_BARRIER, 1);
    hal_irq_boundary(&q, HAL_IRQ_OP_BARRIER, 1);
    check(fake.count == 0, "deferred: no delivery at a write, a first read, a read after a write, barriers");
    hal_irq_boundary(&q, HAL_IRQ_OP_READ, 0x2018);
    hal_irq_boundary(&q, HAL_IRQ_OP_READ, 0x2018);
    check(fake.count == 1 && fake.lines[0] == 12, "deferred: delivered at the second read of one address, once");
    check(unmask_count == 1 && unmasked[0] == 12, "a masked line is unmasked after its handler");
    check(!hal_irq_pending(&q), "nothing pending afterwards");
    check(q.boundaries == 8, "every boundary counted");

    /* Between calls: every pending line, lowest first; a latched one is not unmasked. */
    reset(&q, HAL_IRQ_DEFERRED);
    hal_irq_raise(&q, 17, HAL_IRQ_MASKED);
    hal_irq_raise(&q, 6, HAL_IRQ_LATCHED);
    hal_irq_raise(&q, 11, HAL_IRQ_MASKED);
    check(hal_irq_deliver(&q) == 3 && fake.lines[0] == 6 && fake.lines[1] == 11 && fake.lines[2] == 17, "between calls: all, lowest line first");
    check(unmask_count == 2 && unmasked[0] == 11 && unmasked[1] == 17, "only the masked lines are unmasked");
    check(hal_irq_raise(&q, HAL_IRQ_MAX_LINES, HAL_IRQ_MASKED) == -1 && hal_irq_raise(&q, 3, 7) == -1, "a line out of range or a bad how is refused");

    /* A line no driver claimed stays masked. */
    reset(&q, HAL_IRQ_DEFERRED);
    fake.status[9] = HAL_IRQ_ERR_NO_HANDLER;
    hal_irq_raise(&q, 9, HAL_IRQ_MASKED);
    check(hal_irq_deliver(&q) == 1 && unmask_count == 0, "ERR_NO_HANDLER: the line stays masked");

    /* A handler that does not return: -1, its line stays masked, nothing runs after it there. */
    reset(&q, HAL_IRQ_DEFERRED);
    fake.trap_line = 4;
    hal_irq_raise(&q, 4, HAL_IRQ_MASKED);
    hal_irq_raise(&q, 5, HAL_IRQ_MASKED);
    check(hal_irq_deliver(&q) == -1 && fake.count == 1 && unmask_count == 0, "a trapping handler: -1, no unmask, the rest waits");
    check(hal_irq_pending(&q) && hal_irq_deliver(&q) == 1 && fake.lines[1] == 5, "the rest is delivered at the next point");

    /* Deferred: a line raised inside a handler waits for the handler's end (no nesting). */
    reset(&q, HAL_IRQ_DEFERRED);
    fake.nested_raise = 20;
    hal_irq_raise(&q, 3, HAL_IRQ_MASKED);
    check(hal_irq_deliver(&q) == 2 && fake.lines[0] == 3 && fake.lines[1] == 20 && q.depth == 0, "deferred: no nesting, the second line after the first");

    /* Preemptive: at any boundary, and nested inside a handler. */
    reset(&q, HAL_IRQ_PREEMPTIVE);
    hal_irq_raise(&q, 12, HAL_IRQ_MASKED);
    hal_irq_boundary(&q, HAL_IRQ_OP_WRITE, 0x2000);
    check(fake.count == 1, "preemptive: delivered at a write's boundary");
    fake.nested_raise = 2;
    hal_irq_raise(&q, 12, HAL_IRQ_MASKED);
    hal_irq_boundary(&q, HAL_IRQ_OP_BARRIER, 0);
    check(fake.count == 3 && fake.lines[1] == 12 && fake.lines[2] == 2, "preemptive: a line raised in a handler nests at its next access");
    check(q.depth == 0 && !hal_irq_pending(&q), "all unwound, nothing pending");

    /* A running line is not entered again inside itself. */
    reset(&q, HAL_IRQ_PREEMPTIVE);
    fake.nested_raise = 12;
    hal_irq_raise(&q, 12, HAL_IRQ_MASKED);
    hal_irq_boundary(&q, HAL_IRQ_OP_READ, 0x2000);
    check(fake.count == 2 && fake.lines[0] == 12 && fake.lines[1] == 12, "preemptive: the same line again only after its handler returned");

    printf("irq core self-test: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
