/*
 * Self-test of the natives core (boards/wamr/hal_natives.c) on the machine that builds it:
 * accesses through a window backed by RAM land on exactly the bytes asked for, refused accesses
 * say why and leave memory alone, and the trace lines are those harness/trace-text.ts writes.
 * Prints a line per failed check and a summary, and exits 1 if any failed; with --print-trace,
 * the trace text first. Run by test/wasm2c-parity.test.ts.
 */
#include <stdio.h>
#include <string.h>

#include "hal_natives.h"

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

static void check_text(const char *actual, const char *expected, const char *what)
{
    int ok = strcmp(actual, expected) == 0;
    check(ok, what);
    if (!ok) printf("  expected: \"%s\"\n  actual:   \"%s\"\n", expected, actual);
}

/* The trace, collected as text. */
static char trace_text[4096];

static void collect(void *ctx, const char *line)
{
    (void)ctx;
    strncat(trace_text, line, sizeof trace_text - strlen(trace_text) - 2);
    strcat(trace_text, "\n");
}

/* A device that records what reached it. */
typedef struct {
    uint32_t last_addr, last_value, last_width, reads, writes;
} probe;

static int probe_read(void *ctx, uint32_t addr, uint32_t width, uint32_t *value, char *why, size_t why_size)
{
    probe *p = ctx;
    (void)why;
    (void)why_size;
    p->last_addr = addr;
    p->last_width = width;
    p->reads++;
    *value = 0xA5A5A5A5u; /* wider than a byte: the core keeps the low `width` bytes */
    return 0;
}

static int probe_write(void *ctx, uint32_t addr, uint32_t value, uint32_t width, char *why, size_t why_size)
{
    probe *p = ctx;
    if (addr == 0x40001ffcu) {
        snprintf(why, why_size, "the probe refuses its last word");
        return 1;
    }
    p->last_addr = addr;
    p->last_value = value;
    p->last_width = width;
    p->writes++;
    return 0;
}

int main(int argc, char **argv)
{
    static union {
        uint32_t words[16];
        uint8_t bytes[64];
    } ram;
    static probe seen;
    static const hal_device probe_device = { probe_read, probe_write, &seen };
    const uint16_t one = 1;
    const int little_endian = *(const uint8_t *)&one == 1;

    const hal_window windows[] = {
        { "ram", NULL, 0x20000000u, 0x3e, ram.bytes, NULL },
        { "uart0", "pl011", 0x40001000u, 0x1000, NULL, &probe_device },
    };
    hal_natives n;
    hal_natives_init(&n, windows, 2);
    hal_natives_set_trace(&n, collect, NULL);
    uint32_t v = 0;

    /* Widths and places in RAM. */
    const uint32_t call_args[] = { 0x40001000u, 24000000u, 0xffffffffu };
    hal_natives_trace_call(&n, "probe_all", call_args, 3);
    check(hal_natives_write(&n, 0x20000000u, 0x11223344u, 4) == HAL_NATIVES_OK, "a word write inside a window");
    check(ram.words[0] == 0x11223344u, "the word lands at the window's first byte");
    check(hal_natives_read(&n, 0x20000000u, 1, &v) == HAL_NATIVES_OK && v == (little_endian ? 0x44u : 0x11u),
          "a byte read returns one byte of the word");
    check(hal_natives_write(&n, 0x20000005u, 0x1ABu, 1) == HAL_NATIVES_OK, "a byte write at an odd address");
    check(ram.bytes[5] == 0xAB && ram.bytes[4] == 0 && ram.bytes[6] == 0, "only the low byte of the value, only at that byte");
    check(hal_natives_write(&n, 0x20000006u, 0xCAFEBEEFu, 2) == HAL_NATIVES_OK, "a halfword write");
    check(hal_natives_read(&n, 0x20000006u, 2, &v) == HAL_NATIVES_OK && v == 0xBEEFu, "a halfword read returns the low half written");
    for (int i = 0; i < 3; i++) hal_natives_read(&n, 0x20000000u, 4, &v);
    check(hal_natives_barrier(&n, HAL_BARRIER_DMB) == HAL_NATIVES_OK, "DMB");
    check(hal_natives_barrier(&n, HAL_BARRIER_DSB) == HAL_NATIVES_OK, "DSB");
    check(hal_natives_barrier(&n, HAL_BARRIER_ISB) == HAL_NATIVES_OK, "ISB");

    /* A device window: the width passes through, the value is cut to it. */
    check(hal_natives_read(&n, 0x40001018u, 2, &v) == HAL_NATIVES_OK && v == 0xA5A5u && seen.last_width == 2
          && seen.last_addr == 0x40001018u, "a device read of a halfword, cut to 16 bits");
    check(hal_natives_write(&n, 0x40001000u, 0x141u, 1) == HAL_NATIVES_OK && seen.last_value == 0x41u && seen.last_width == 1,
          "a device write of a byte gets the low byte");
    hal_natives_trace_return(&n, -3);

    /* Refusals: the reason, no memory touched, a fault line. */
    hal_natives_trace_call(&n, "refusals", NULL, 0);
    uint32_t before = ram.words[1];
    check(hal_natives_write(&n, 0x20000006u, 0xFFFFFFFFu, 4) == HAL_NATIVES_REFUSED, "an unaligned word write is refused");
    check_text(hal_natives_error(&n), "write of 4 bytes at 0x20000006: not aligned to 4 bytes", "the reason for an unaligned write");
    check(ram.words[1] == before, "a refused write leaves memory alone");
    check(hal_natives_read(&n, 0x20000000u, 3, &v) == HAL_NATIVES_REFUSED && v == 0, "a 3-byte read is refused and reads 0");
    check_text(hal_natives_error(&n), "read of 3 bytes at 0x20000000: width 3 is none of 1, 2, 4", "the reason for a bad width");
    check(hal_natives_read(&n, 0x2000003cu, 4, &v) == HAL_NATIVES_REFUSED, "a word running past a window's end is refused");
    check(hal_natives_read(&n, 0x2000003cu, 2, &v) == HAL_NATIVES_OK, "the halfword before the end is not");
    check(hal_natives_read(&n, 0x30000000u, 1, &v) == HAL_NATIVES_REFUSED, "an address outside every window is refused");
    check_text(hal_natives_error(&n), "read of 1 byte at 0x30000000: no window allows this address", "the reason for an unmapped read");
    check(hal_natives_write(&n, 0x40001ffcu, 7, 4) == HAL_NATIVES_REFUSED, "a device may refuse an access");
    check_text(hal_natives_error(&n), "write of 4 bytes at 0x40001ffc: the probe refuses its last word", "a device's reason");
    check(hal_natives_barrier(&n, 7) == HAL_NATIVES_REFUSED, "barrier kind 7 is refused");
    check_text(hal_natives_error(&n), "barrier kind 7 is none of 0 (DMB), 1 (DSB), 2 (ISB)", "the reason for a bad barrier");
    hal_natives_trace_threw(&n);

    /* The trace, as harness/trace-text.ts formats it (no register names). */
    char expected[4096];
    snprintf(expected, sizeof expected,
             "wasm-hal-trace 1\n"
             "region ram 0x20000000 0x3e none\n"
             "region uart0 0x40001000 0x1000 pl011\n"
             "\n"
             "call probe_all(0x40001000, 24000000, 4294967295)\n"
             "  W32 ram+0x000             0x11223344\n"
             "  R8  ram+0x000             0x%02x\n"
             "  W8  ram+0x005             0xab\n"
             "  W16 ram+0x006             0xbeef\n"
             "  R16 ram+0x006             0xbeef\n"
             "  R32 ram+0x000             0x11223344 x3\n"
             "  DMB\n"
             "  DSB\n"
             "  ISB\n"
             "  R16 uart0+0x018           0xa5a5\n"
             "  W8  uart0+0x000           0x41\n"
             "return -3\n"
             "\n"
             "call refusals()\n"
             "  fault W32 ram+0x006             0xffffffff\n"
             "  fault R24 ram+0x000             0x000000\n"
             "  fault R32 ram+0x03c             0x00000000\n"
             "  R16 ram+0x03c             0x0000\n"
             "  fault R8  0x30000000            0x00\n"
             "  fault W32 uart0+0xffc           0x00000007\n"
             "  fault barrier 7\n"
             "threw\n"
             "\n",
             little_endian ? 0x44u : 0x11u);
    check_text(trace_text, expected, "the trace text");
    if (argc > 1 && strcmp(argv[1], "--print-trace") == 0) fputs(trace_text, stdout);

    /* Without a trace nothing is written, and accesses still work. */
    hal_natives_set_trace(&n, NULL, NULL);
    trace_text[0] = '\0';
    check(hal_natives_read(&n, 0x20000000u, 4, &v) == HAL_NATIVES_OK && trace_text[0] == '\0', "no trace, no lines");

    printf("natives self-test: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
