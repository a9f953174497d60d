/*
 * The natives core: bus accesses, barriers, the window allow-list and the trace writer
 * (hal_natives.h). No runtime, no allocation, no libc formatting: it runs on a microcontroller
 * as it does on Linux.
 */
#include "hal_natives.h"

#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Barriers                                                                                   */

/*
 * One barrier instruction per kind, with a "memory" clobber so that the compiler does not move
 * accesses across it either.
 * - AArch64, Armv7-A/R, Armv6-M, Armv7-M, Armv8-M (Cortex-M included): DMB SY, DSB SY, ISB SY.
 * - Armv6 (ARM11): the same operations as CP15 c7 writes (the instructions came with Armv7);
 *   needs ARM state, not Thumb-1.
 * - Armv5 and older (ARM926EJ-S): no barriers; "drain write buffer" (CP15 c7, c10, 4) stands in
 *   for DMB and DSB, and ISB is a compiler barrier (no prefetch buffer to flush there).
 * - x86-64: MFENCE for all three (orders loads and stores, uncached MMIO included).
 * - RISC-V: FENCE IORW, IORW (device I/O is ordered only by the I/O bits).
 * - Anything else: a sequentially consistent fence from the compiler.
 */
#if defined(HAL_NATIVES_BARRIER)
#define HAL_DMB() HAL_NATIVES_BARRIER(HAL_BARRIER_DMB)
#define HAL_DSB() HAL_NATIVES_BARRIER(HAL_BARRIER_DSB)
#define HAL_ISB() HAL_NATIVES_BARRIER(HAL_BARRIER_ISB)
#elif defined(__aarch64__)
#define HAL_DMB() __asm__ volatile("dmb sy" ::: "memory")
#define HAL_DSB() __asm__ volatile("dsb sy" ::: "memory")
#define HAL_ISB() __asm__ volatile("isb" ::: "memory")
#elif defined(__arm__) && (defined(__ARM_ARCH_6M__) || (defined(__ARM_ARCH) && __ARM_ARCH >= 7) \
                           || (defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'))
#define HAL_DMB() __asm__ volatile("dmb sy" ::: "memory")
#define HAL_DSB() __asm__ volatile("dsb sy" ::: "memory")
#define HAL_ISB() __asm__ volatile("isb sy" ::: "memory")
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH == 6
#define HAL_DMB() __asm__ volatile("mcr p15, 0, %0, c7, c10, 5" ::"r"(0) : "memory")
#define HAL_DSB() __asm__ volatile("mcr p15, 0, %0, c7, c10, 4" ::"r"(0) : "memory")
#define HAL_ISB() __asm__ volatile("mcr p15, 0, %0, c7, c5, 4" ::"r"(0) : "memory")
#elif defined(__arm__)
#define HAL_DMB() __asm__ volatile("mcr p15, 0, %0, c7, c10, 4" ::"r"(0) : "memory")
#define HAL_DSB() __asm__ volatile("mcr p15, 0, %0, c7, c10, 4" ::"r"(0) : "memory")
#define HAL_ISB() __asm__ volatile("" ::: "memory")
#elif defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__))
#define HAL_DMB() __asm__ volatile("mfence" ::: "memory")
#define HAL_DSB() __asm__ volatile("mfence" ::: "memory")
#define HAL_ISB() __asm__ volatile("mfence" ::: "memory")
#elif defined(__riscv)
#define HAL_DMB() __asm__ volatile("fence iorw, iorw" ::: "memory")
#define HAL_DSB() __asm__ volatile("fence iorw, iorw" ::: "memory")
#define HAL_ISB() __asm__ volatile("fence iorw, iorw" ::: "memory")
#else
#define HAL_DMB() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define HAL_DSB() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define HAL_ISB() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

/* ------------------------------------------------------------------------------------------ */
/* Text: a bounded line builder (no printf: newlib's costs kilobytes of flash)                */

typedef struct {
    char *buf;
    size_t len, cap;
} text;

static void put_char(text *t, char c)
{
    if (t->len + 1 < t->cap) t->buf[t->len++] = c;
    t->buf[t->len] = '\0';
}

static void put_str(text *t, const char *s)
{
    while (*s != '\0') put_char(t, *s++);
}

/* "0x" and at least `digits` lowercase hex digits. */
static void put_hex(text *t, uint32_t value, int digits)
{
    char tmp[8];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[value & 0xF];
        value >>= 4;
    } while (value != 0 && n < 8);
    put_str(t, "0x");
    for (int i = n; i < digits; i++) put_char(t, '0');
    while (n > 0) put_char(t, tmp[--n]);
}

static void put_unsigned(text *t, uint32_t value)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n > 0) put_char(t, tmp[--n]);
}

#if HAL_NATIVES_TRACE
static void put_signed(text *t, int32_t value)
{
    if (value < 0) {
        put_char(t, '-');
        put_unsigned(t, (uint32_t)0 - (uint32_t)value);
    } else {
        put_unsigned(t, (uint32_t)value);
    }
}

/* Pads with spaces up to column `to` of the text (a no-op past it). */
static void pad_to(text *t, size_t to)
{
    while (t->len < to && t->len + 1 < t->cap) put_char(t, ' ');
}

#endif

static text line_of(char *buf, size_t cap)
{
    text t = { buf, 0, cap };
    buf[0] = '\0';
    return t;
}

/* ------------------------------------------------------------------------------------------ */
/* Windows                                                                                    */

static const hal_window *window_at(hal_natives *n, uint32_t addr)
{
    const hal_window *last = n->last;
    if (last != NULL && addr - last->base < last->size) return last;
    for (size_t i = 0; i < n->window_count; i++) {
        const hal_window *w = &n->windows[i];
        if (addr - w->base < w->size) {
            n->last = w;
            return w;
        }
    }
    return NULL;
}

void hal_natives_init(hal_natives *n, const hal_window *windows, size_t window_count)
{
    memset(n, 0, sizeof *n);
    n->windows = windows;
    n->window_count = windows == NULL ? 0 : window_count;
}

const char *hal_natives_error(const hal_natives *n)
{
    return n->error;
}

/* ------------------------------------------------------------------------------------------ */
/* Trace lines (docs/trace-format.md)                                                         */

#define TRACE_OP_READ 0
#define TRACE_OP_WRITE 1
#define TRACE_OP_BARRIER 2

/* Column widths of an access line, as harness/trace-text.ts writes them. */
#define OP_COLUMN 3
#define PLACE_COLUMN 11
#define REGISTER_COLUMN 9

#if HAL_NATIVES_TRACE

static void emit(hal_natives *n, const char *line)
{
    n->trace(n->trace_ctx, line);
}

/* An access or barrier line: [fault] OP PLACE REGISTER VALUE [xCOUNT], no register name. */
static void write_access_line(hal_natives *n, int op, int fault, int isr, uint32_t addr, uint32_t value,
                              uint32_t width, uint32_t count)
{
    text t = line_of(n->line, sizeof n->line);
    if (n->in_call) put_str(&t, "  ");
    /* A handler's accesses: indented once more and marked, as harness/trace-text.ts does. */
    if (isr) put_str(&t, "  isr ");
    if (fault) put_str(&t, "fault ");
    if (op == TRACE_OP_BARRIER) {
        static const char *const names[] = { "DMB", "DSB", "ISB" };
        if (value <= HAL_BARRIER_ISB) {
            put_str(&t, names[value]);
        } else {
            put_str(&t, "barrier ");
            put_unsigned(&t, value);
        }
        emit(n, n->line);
        return;
    }
    size_t start = t.len;
    put_char(&t, op == TRACE_OP_WRITE ? 'W' : 'R');
    put_unsigned(&t, width * 8);
    pad_to(&t, start + OP_COLUMN);
    put_char(&t, ' ');
    start = t.len;
    const hal_window *w = n->windows == NULL ? NULL : window_at(n, addr);
    if (w != NULL) {
        put_str(&t, w->name);
        put_char(&t, '+');
        put_hex(&t, addr - w->base, 3);
    } else {
        put_hex(&t, addr, 8);
    }
    pad_to(&t, start + PLACE_COLUMN);
    put_char(&t, ' ');
    /* The register column stays empty: the region line names the block. */
    pad_to(&t, t.len + REGISTER_COLUMN);
    put_char(&t, ' ');
    put_hex(&t, value, width == 0 ? 1 : (int)(width * 2));
    if (count > 1) {
        put_str(&t, " x");
        put_unsigned(&t, count);
    }
    emit(n, n->line);
}

void hal_natives_trace_flush(hal_natives *n)
{
    if (n->trace == NULL || n->poll_count == 0) return;
    uint32_t count = n->poll_count;
    n->poll_count = 0;
    write_access_line(n, TRACE_OP_READ, 0, n->poll_isr, n->poll_addr, n->poll_value, n->poll_width, count);
}

static void trace_event(hal_natives *n, int op, int fault, uint32_t addr, uint32_t value, uint32_t width)
{
    if (n->trace == NULL) return;
    int isr = n->isr_depth > 0;
    if (op == TRACE_OP_READ && !fault) {
        /* A read equal to the one before it extends a poll: one line with a count. */
        if (n->poll_count > 0 && n->poll_addr == addr && n->poll_width == width && n->poll_value == value
            && n->poll_isr == isr) {
            n->poll_count++;
            return;
        }
        hal_natives_trace_flush(n);
        n->poll_addr = addr;
        n->poll_width = width;
        n->poll_value = value;
        n->poll_isr = isr;
        n->poll_count = 1;
        return;
    }
    hal_natives_trace_flush(n);
    write_access_line(n, op, fault, isr, addr, value, width, 1);
}

/* `irq enter LINE [preemptive]` / `irq return LINE STATUS`, indented as the accesses around it:
 * a handler entered from inside another one is marked `isr` itself. */
static void write_irq_line(hal_natives *n, int enter, uint32_t line, int32_t value)
{
    text t = line_of(n->line, sizeof n->line);
    if (n->in_call) put_str(&t, "  ");
    if (n->isr_depth > 0) put_str(&t, "  isr ");
    put_str(&t, enter ? "irq enter " : "irq return ");
    put_unsigned(&t, line);
    if (enter) {
        if (value) put_str(&t, " preemptive");
    } else {
        put_char(&t, ' ');
        put_signed(&t, value);
    }
    emit(n, n->line);
}

void hal_natives_trace_irq_enter(hal_natives *n, uint32_t line, int preemptive)
{
    if (n->trace != NULL) {
        hal_natives_trace_flush(n);
        write_irq_line(n, 1, line, preemptive != 0);
    }
    n->isr_depth++;
}

void hal_natives_trace_irq_return(hal_natives *n, uint32_t line, int32_t status)
{
    if (n->trace != NULL) hal_natives_trace_flush(n);
    if (n->isr_depth > 0) n->isr_depth--;
    if (n->trace == NULL) return;
    write_irq_line(n, 0, line, status);
    /* A handler run between two calls is set apart from the next call, as calls are. */
    if (!n->in_call && n->isr_depth == 0) emit(n, "");
}

void hal_natives_trace_irq_abandon(hal_natives *n)
{
    if (n->trace != NULL) hal_natives_trace_flush(n);
    if (n->isr_depth > 0) n->isr_depth--;
}

void hal_natives_set_trace(hal_natives *n, hal_trace_sink sink, void *ctx)
{
    hal_natives_trace_flush(n);
    n->trace = sink;
    n->trace_ctx = ctx;
    n->poll_count = 0;
    if (sink == NULL) return;
    emit(n, "wasm-hal-trace 1");
    for (size_t i = 0; i < n->window_count; i++) {
        const hal_window *w = &n->windows[i];
        text t = line_of(n->line, sizeof n->line);
        put_str(&t, "region ");
        put_str(&t, w->name);
        put_char(&t, ' ');
        put_hex(&t, w->base, 8);
        put_char(&t, ' ');
        put_hex(&t, w->size, 1);
        put_char(&t, ' ');
        put_str(&t, w->block == NULL ? "none" : w->block);
        emit(n, n->line);
    }
    emit(n, "");
}

void hal_natives_trace_call(hal_natives *n, const char *name, const uint32_t *args, size_t argc)
{
    if (n->trace == NULL) {
        n->in_call = 1;
        return;
    }
    hal_natives_trace_flush(n);
    text t = line_of(n->line, sizeof n->line);
    put_str(&t, "call ");
    put_str(&t, name);
    put_char(&t, '(');
    for (size_t i = 0; i < argc; i++) {
        if (i > 0) put_str(&t, ", ");
        /* An address inside a window (a base, a buffer) in hex, anything else in decimal. */
        if (n->windows != NULL && window_at(n, args[i]) != NULL)
            put_hex(&t, args[i], 1);
        else
            put_unsigned(&t, args[i]);
    }
    put_char(&t, ')');
    emit(n, n->line);
    n->in_call = 1;
}

static void end_call(hal_natives *n, int returned, int32_t result)
{
    if (n->trace == NULL) {
        n->in_call = 0;
        n->isr_depth = 0;
        return;
    }
    hal_natives_trace_flush(n);
    n->in_call = 0;
    /* A trap inside a handler ends the call: no handler runs past it. */
    n->isr_depth = 0;
    text t = line_of(n->line, sizeof n->line);
    if (returned) {
        put_str(&t, "return ");
        put_signed(&t, result);
    } else {
        put_str(&t, "threw");
    }
    emit(n, n->line);
    emit(n, "");
}

void hal_natives_trace_return(hal_natives *n, int32_t result)
{
    end_call(n, 1, result);
}

void hal_natives_trace_threw(hal_natives *n)
{
    end_call(n, 0, 0);
}

#else /* !HAL_NATIVES_TRACE */

#define trace_event(n, op, fault, addr, value, width) ((void)(value))

void hal_natives_trace_flush(hal_natives *n)
{
    (void)n;
}

void hal_natives_set_trace(hal_natives *n, hal_trace_sink sink, void *ctx)
{
    (void)n;
    (void)sink;
    (void)ctx;
}

void hal_natives_trace_call(hal_natives *n, const char *name, const uint32_t *args, size_t argc)
{
    (void)name;
    (void)args;
    (void)argc;
    n->in_call = 1;
}

void hal_natives_trace_return(hal_natives *n, int32_t result)
{
    (void)result;
    n->in_call = 0;
    n->isr_depth = 0;
}

void hal_natives_trace_threw(hal_natives *n)
{
    n->in_call = 0;
    n->isr_depth = 0;
}

void hal_natives_trace_irq_enter(hal_natives *n, uint32_t line, int preemptive)
{
    (void)line;
    (void)preemptive;
    n->isr_depth++;
}

void hal_natives_trace_irq_return(hal_natives *n, uint32_t line, int32_t status)
{
    (void)line;
    (void)status;
    if (n->isr_depth > 0) n->isr_depth--;
}

void hal_natives_trace_irq_abandon(hal_natives *n)
{
    if (n->isr_depth > 0) n->isr_depth--;
}

#endif /* HAL_NATIVES_TRACE */

/* ------------------------------------------------------------------------------------------ */
/* Accesses                                                                                   */

/* Records a refused access (with the value a write tried to store, as the Node bus does) and
 * its reason: "write of 4 bytes at 0x40000000: no window allows this address". */
static int refuse(hal_natives *n, int op, uint32_t addr, uint32_t value, uint32_t width, const char *reason)
{
    trace_event(n, op, 1, addr, op == TRACE_OP_WRITE ? value : 0, width & 0xFF);
    text t = line_of(n->error, sizeof n->error);
    put_str(&t, op == TRACE_OP_WRITE ? "write of " : "read of ");
    put_unsigned(&t, width);
    put_str(&t, width == 1 ? " byte at " : " bytes at ");
    put_hex(&t, addr, 8);
    put_str(&t, ": ");
    put_str(&t, reason);
    return HAL_NATIVES_REFUSED;
}

/* Where an access lands: checks width, alignment and the windows, in the Node bus's order.
 * Returns the window (NULL without an allow-list), or sets *refused. */
static const hal_window *check(hal_natives *n, int op, uint32_t addr, uint32_t value, uint32_t width, int *refused)
{
    *refused = 0;
    char reason[40];
    text t = { reason, 0, sizeof reason };
    if (width != 1 && width != 2 && width != 4) {
        put_str(&t, "width ");
        put_unsigned(&t, width);
        put_str(&t, " is none of 1, 2, 4");
        *refused = refuse(n, op, addr, value, width, reason);
        return NULL;
    }
    if ((addr & (width - 1)) != 0) {
        put_str(&t, "not aligned to ");
        put_unsigned(&t, width);
        put_str(&t, " bytes");
        *refused = refuse(n, op, addr, value, width, reason);
        return NULL;
    }
    if (n->windows == NULL) return NULL;
    const hal_window *w = window_at(n, addr);
    if (w == NULL || (uint64_t)(addr - w->base) + width > w->size) {
        *refused = refuse(n, op, addr, value, width, "no window allows this address");
        return NULL;
    }
    return w;
}

static volatile uint8_t *pointer_to(const hal_window *w, uint32_t addr)
{
    if (w == NULL) return (volatile uint8_t *)(uintptr_t)addr;
    return (volatile uint8_t *)w->mapped + (addr - w->base);
}

/* The common case without a call: a width of 1, 2 or 4, aligned, inside the window the last
 * access used (or anywhere, with no allow-list). Anything else goes through check(). */
static inline int fast_path(const hal_natives *n, uint32_t addr, uint32_t width, const hal_window **window)
{
    if (!(width == 4 || width == 2 || width == 1) || (addr & (width - 1)) != 0) return 0;
    const hal_window *w = n->last;
    *window = w;
    if (n->windows == NULL) return 1;
    return w != NULL && (uint64_t)(addr - w->base) + width <= w->size;
}

int hal_natives_read(hal_natives *n, uint32_t addr, uint32_t width, uint32_t *value)
{
    const hal_window *w;
    if (!fast_path(n, addr, width, &w)) {
        int refused;
        w = check(n, TRACE_OP_READ, addr, 0, width, &refused);
        if (refused) {
            *value = 0;
            return HAL_NATIVES_REFUSED;
        }
    }
    uint32_t v;
    if (w != NULL && w->device != NULL) {
        char why[HAL_NATIVES_ERROR_SIZE - 40];
        why[0] = '\0';
        if (w->device->read(w->device->ctx, addr, width, &v, why, sizeof why) != 0) {
            *value = 0;
            return refuse(n, TRACE_OP_READ, addr, 0, width, why);
        }
        if (width < 4) v &= (1u << (width * 8)) - 1;
    } else {
        /* Exactly one load of exactly `width` bytes. */
        volatile uint8_t *p = pointer_to(w, addr);
        switch (width) {
        case 1: v = *p; break;
        case 2: v = *(volatile uint16_t *)(volatile void *)p; break;
        default: v = *(volatile uint32_t *)(volatile void *)p; break;
        }
    }
    *value = v;
    n->accesses++;
    if (n->trace != NULL) trace_event(n, TRACE_OP_READ, 0, addr, v, width);
    return HAL_NATIVES_OK;
}

int hal_natives_write(hal_natives *n, uint32_t addr, uint32_t value, uint32_t width)
{
    const hal_window *w;
    if (!fast_path(n, addr, width, &w)) {
        int refused;
        w = check(n, TRACE_OP_WRITE, addr, value, width, &refused);
        if (refused) return HAL_NATIVES_REFUSED;
    }
    /* The ABI writes the low `width` bytes of the value. */
    if (width < 4) value &= (1u << (width * 8)) - 1;
    if (w != NULL && w->device != NULL) {
        char why[HAL_NATIVES_ERROR_SIZE - 40];
        why[0] = '\0';
        if (w->device->write(w->device->ctx, addr, value, width, why, sizeof why) != 0)
            return refuse(n, TRACE_OP_WRITE, addr, value, width, why);
    } else {
        /* Exactly one store of exactly `width` bytes. */
        volatile uint8_t *p = pointer_to(w, addr);
        switch (width) {
        case 1: *p = (uint8_t)value; break;
        case 2: *(volatile uint16_t *)(volatile void *)p = (uint16_t)value; break;
        default: *(volatile uint32_t *)(volatile void *)p = value; break;
        }
    }
    n->accesses++;
    if (n->trace != NULL) trace_event(n, TRACE_OP_WRITE, 0, addr, value, width);
    return HAL_NATIVES_OK;
}

int hal_natives_barrier(hal_natives *n, uint32_t kind)
{
    switch (kind) {
    case HAL_BARRIER_DMB: HAL_DMB(); break;
    case HAL_BARRIER_DSB: HAL_DSB(); break;
    case HAL_BARRIER_ISB: HAL_ISB(); break;
    default: {
        trace_event(n, TRACE_OP_BARRIER, 1, 0, kind, 0);
        text t = line_of(n->error, sizeof n->error);
        put_str(&t, "barrier kind ");
        put_unsigned(&t, kind);
        put_str(&t, " is none of 0 (DMB), 1 (DSB), 2 (ISB)");
        return HAL_NATIVES_REFUSED;
    }
    }
    n->accesses++;
    trace_event(n, TRACE_OP_BARRIER, 0, 0, kind, 0);
    return HAL_NATIVES_OK;
}
