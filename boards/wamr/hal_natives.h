/*
 * The three imports of hal.wasm (docs/abi.md, section 1) as plain C: one bus access per call, of
 * exactly the width asked for, through a volatile pointer; barriers as the CPU's own barrier
 * instructions. This core knows nothing of the runtime that runs the module: hal_wamr.c plugs
 * it into WAMR, and a wasm2c build calls it from the generated import functions
 * (boards/wasm2c/). See docs/deploy.md.
 *
 * Optional parts, chosen at run time:
 * - windows: an allow-list of address ranges. An access outside every window, unaligned, or of
 *   a width other than 1, 2 or 4 is refused with a message, and the runtime turns that into a
 *   trap of the export call instead of a bus fault (or a silent write to the wrong place).
 *   A window also says where the CPU reaches the range (an mmap() of /dev/mem on Linux), or
 *   that a device function answers for it (a fake register file, a replay, a bridge).
 * - trace: each access written as one line of the project's trace text format
 *   (docs/trace-format.md), polls collapsed, so a board run can be compared with a golden trace
 *   recorded in Node. Register names are left out (the format allows that); the region lines
 *   name each window's register block, so the Node tools can decode them.
 *
 * Compile-time options:
 *   HAL_NATIVES_TRACE=0            leave the trace writer out (smaller flash).
 *   HAL_NATIVES_BARRIER(kind)      your own barrier statement, e.g. CMSIS __DMB()/__DSB()/__ISB(),
 *                                  for compilers without GCC-style inline assembly.
 */
#ifndef HAL_NATIVES_H
#define HAL_NATIVES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef HAL_NATIVES_TRACE
#define HAL_NATIVES_TRACE 1
#endif

/* barrier() kinds, named after the Arm instructions (docs/abi.md 1.2). */
#define HAL_BARRIER_DMB 0u
#define HAL_BARRIER_DSB 1u
#define HAL_BARRIER_ISB 2u

/* Results of hal_natives_read/write/barrier. */
#define HAL_NATIVES_OK 0
/* The access was refused: hal_natives_error() says why. The runtime must end the export call. */
#define HAL_NATIVES_REFUSED (-1)

/* Instead of memory, functions that answer for a window: a fake register file, a replay of
 * recorded reads, a bridge to another bus. Return 0, or non-zero to refuse the access (write the
 * reason into `why`, at most `why_size` bytes with the terminating NUL). */
typedef struct hal_device {
    int (*read)(void *ctx, uint32_t addr, uint32_t width, uint32_t *value, char *why, size_t why_size);
    int (*write)(void *ctx, uint32_t addr, uint32_t value, uint32_t width, char *why, size_t why_size);
    void *ctx;
} hal_device;

/* One range of physical addresses the driver may reach. */
typedef struct hal_window {
    /* Region name in traces ("uart0"): a letter or _, then letters, digits, _ . - */
    const char *name;
    /* Register block in traces ("pl011", a registers/<block>.json), or NULL for plain memory. */
    const char *block;
    /* Physical address of the first byte, as the driver sees it (the base passed to pl011_init). */
    uint32_t base;
    /* Size in bytes. */
    uint32_t size;
    /* Where the CPU reaches `base`: (volatile void *)base on a microcontroller, the result of an
     * mmap() on Linux. Ignored when `device` is set. */
    volatile void *mapped;
    /* Functions that answer instead of memory, or NULL. */
    const hal_device *device;
} hal_window;

/* Receives one finished trace line, without its newline. */
typedef void (*hal_trace_sink)(void *ctx, const char *line);

#define HAL_NATIVES_ERROR_SIZE 160
#define HAL_NATIVES_LINE_SIZE 160

/* The state behind the three natives. Fill it with hal_natives_init(); fields are private. */
typedef struct hal_natives {
    const hal_window *windows;
    size_t window_count;
    /* Last window hit: most accesses of a call go to the same block. */
    const hal_window *last;
    hal_trace_sink trace;
    void *trace_ctx;
    /* A read waiting to be written as one line with a count (a poll). */
    uint32_t poll_addr, poll_width, poll_value, poll_count;
    /* Nonzero while an export call runs: its lines are indented. */
    int in_call;
    /* Interrupt handlers running (hal_irq.h): their accesses are marked "isr" and indented. */
    int isr_depth;
    /* The isr mark of the read waiting in poll_*. */
    int poll_isr;
    /* Reads, writes and barriers carried out so far (refused ones not counted): public. */
    uint64_t accesses;
    char error[HAL_NATIVES_ERROR_SIZE];
    char line[HAL_NATIVES_LINE_SIZE];
} hal_natives;

/* Sets up the natives. With `windows` NULL there is no allow-list: every address is used as a
 * pointer as it is (a microcontroller whose peripherals are at their physical addresses), and
 * only the width and alignment are checked. The windows array must outlive `n`. */
void hal_natives_init(hal_natives *n, const hal_window *windows, size_t window_count);

/* Starts a trace: writes the header and one region line per window, then every access. Call it
 * before the first export call, or pass NULL to stop tracing. */
void hal_natives_set_trace(hal_natives *n, hal_trace_sink sink, void *ctx);

/* mmio_read(addr, width): one read of `width` bytes (1, 2 or 4), zero-extended into *value. */
int hal_natives_read(hal_natives *n, uint32_t addr, uint32_t width, uint32_t *value);
/* mmio_write(addr, value, width): one write of the low `width` bytes of `value`. */
int hal_natives_write(hal_natives *n, uint32_t addr, uint32_t value, uint32_t width);
/* barrier(kind): 0 DMB, 1 DSB, 2 ISB. Any other kind is refused. */
int hal_natives_barrier(hal_natives *n, uint32_t kind);

/* Why the last refused access was refused (empty until one is). */
const char *hal_natives_error(const hal_natives *n);

/* Trace lines around an export call, for the runtime glue: `call NAME(ARGS)` before it, then
 * `return N` or `threw` after it. Arguments inside a window are written in hex, others in
 * decimal, as the Node harness writes them. No-ops while tracing is off. */
void hal_natives_trace_call(hal_natives *n, const char *name, const uint32_t *args, size_t argc);
void hal_natives_trace_return(hal_natives *n, int32_t result);
void hal_natives_trace_threw(hal_natives *n);
/* Trace lines around an interrupt handler, for hal_irq.c: `irq enter LINE [preemptive]` before
 * it and `irq return LINE STATUS` after it, as harness/trace-text.ts writes them; the accesses
 * between are marked `isr`. A handler that did not return (a trap) writes no return line:
 * hal_natives_trace_irq_abandon() drops its level instead. */
void hal_natives_trace_irq_enter(hal_natives *n, uint32_t line, int preemptive);
void hal_natives_trace_irq_return(hal_natives *n, uint32_t line, int32_t status);
void hal_natives_trace_irq_abandon(hal_natives *n);
/* Writes a poll still being counted. Done by the three calls above; call it before a trace is
 * read while the module is idle. */
void hal_natives_trace_flush(hal_natives *n);

#ifdef __cplusplus
}
#endif

#endif /* HAL_NATIVES_H */
