/* report/report.c — fault reports, in HermiTux's format and beyond it. */
#include "config.h"
#include "report/report.h"
#include "kernel/abi.h"
#include "monitor/guest.h"

#include <glib.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#define VECTOR_PAGE_FAULT 14

/* HermiTux's (HermitCore's) names, so scripts that grep its log still work. */
static const char *const exception_names[32] = {
    "Division By Zero",
    "Debug",
    "Non Maskable Interrupt",
    "Breakpoint",
    "Into Detected Overflow",
    "Out of Bounds",
    "Invalid Opcode",
    "No Coprocessor",
    "Double Fault",
    "Coprocessor Segment Overrun",
    "Bad TSS",
    "Segment Not Present",
    "Stack Fault",
    "General Protection Fault",
    "Page Fault",
    "Unknown Interrupt",
    "Coprocessor Fault",
    "Alignment Check",
    "Machine Check",
    "SIMD Floating-Point",
    "Virtualization",
    "Control Protection",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Reserved",
    "Hypervisor Injection",
    "VMM Communication",
    "Security",
    "Reserved",
};

int report_signal_for_vector(unsigned vector)
{
    switch (vector) {
    case 0:  /* #DE */
    case 16: /* #MF */
    case 19: /* #XM */
        return SIGFPE;
    case 1: /* #DB */
    case 3: /* #BP */
        return SIGTRAP;
    case 6: /* #UD */
        return SIGILL;
    case 17: /* #AC */
        return SIGBUS;
    default: /* #PF, #GP, #SS, #NP, #DF... */
        return SIGSEGV;
    }
}

static const char *signal_description(int signal)
{
    switch (signal) {
    case SIGFPE:
        return "arithmetic exception";
    case SIGTRAP:
        return "breakpoint trap";
    case SIGILL:
        return "illegal instruction";
    case SIGBUS:
        return "bus error";
    default:
        return "segmentation fault";
    }
}

/* The seconds since the monitor started, as HermiTux's log prefix has it. */
static void log_prefix(FILE *out)
{
    static gint64 start;
    if (!start)
        start = g_get_monotonic_time();
    gint64 elapsed_ms = (g_get_monotonic_time() - start) / 1000;
    fprintf(out, "[%d.%03d][0:1][ERROR] ", (int)(elapsed_ms / 1000), (int)(elapsed_ms % 1000));
}

static void hermitux_log(FILE *out, struct guest *guest, const struct accel_exit *exit,
                         const struct cpu_state *s)
{
    log_prefix(out);
    if (exit->vector == VECTOR_PAGE_FAULT) {
        uint64_t e = exit->error_code;
        /* "\b" as HermiTux prints it when the reserved-bit word is absent. */
        fprintf(out,
                "Page Fault Exception (14) on core 0 at cs:ip = %#x:%#" PRIx64 ", fs = %#" PRIx64
                ", gs = %#" PRIx64 ", rflags 0x%" PRIx64 ", task = 1, addr = %#" PRIx64
                ", error = %#x [ %s %s %s %s %s ]\n",
                s->cs.selector, s->rip, s->fs.base, s->gs.base, s->rflags, exit->fault_address,
                (unsigned)e, (e & 4) ? "user" : "supervisor", (e & 16) ? "instruction" : "data",
                (e & 2)    ? "write"
                : (e & 16) ? "fetch"
                           : "read",
                (e & 1) ? "protection" : "not present", (e & 8) ? "reserved bit" : "\b");
    } else {
        fprintf(out,
                "%s Exception (%u) on core 0 at %#x:%#" PRIx64 ", fs = %#" PRIx64 ", gs = %#" PRIx64
                ", error code = %#" PRIx64 ", task id = 1, rflags = %#x\n",
                exception_names[exit->vector & 31], exit->vector, s->cs.selector, s->rip,
                s->fs.base, s->gs.base, exit->error_code, (unsigned)s->rflags);
    }
    log_prefix(out);
    fprintf(out,
            "rax %#" PRIx64 ", rbx %#" PRIx64 ", rcx %#" PRIx64 ", rdx %#" PRIx64 ", rbp %#" PRIx64
            ", rsp %#" PRIx64 " rdi %#" PRIx64 ", rsi %#" PRIx64 ", r8 %#" PRIx64 ", r9 %#" PRIx64
            ", r10 %#" PRIx64 ", r11 %#" PRIx64 ", r12 %#" PRIx64 ", r13 %#" PRIx64
            ", r14 %#" PRIx64 ", r15 %#" PRIx64 "\n",
            s->rax, s->rbx, s->rcx, s->rdx, s->rbp, s->rsp, s->rdi, s->rsi, s->r8, s->r9, s->r10,
            s->r11, s->r12, s->r13, s->r14, s->r15);
    uint64_t heap_start = 0, heap_end = 0;
    if (guest->process)
        linux_heap_range(guest->process, &heap_start, &heap_end);
    if (heap_end > heap_start) {
        log_prefix(out);
        fprintf(out, "Heap 0x%llx - 0x%llx\n", (unsigned long long)heap_start,
                (unsigned long long)heap_end);
    }
}

/* "poke+0x5 in the program" or "0x1234 in the guest kernel". */
static char *describe_location(struct guest *guest, uint64_t address)
{
    bool in_kernel = address >= HX_KERNEL_BASE && address < HX_KERNEL_END;
    const struct elf_image *image = in_kernel ? &guest->kernel : &guest->program;
    uint64_t offset = 0;
    const struct elf_symbol *symbol = elf_image_symbolize(image, address, &offset);
    const char *where = in_kernel ? "the guest kernel" : "the program";
    if (!symbol)
        return g_strdup_printf("%s", where);
    if (offset)
        return g_strdup_printf("%s+%#" PRIx64 " (%s)", symbol->name, offset, where);
    return g_strdup_printf("%s (%s)", symbol->name, where);
}

int report_fault(FILE *out, struct guest *guest, const struct accel_exit *exit,
                 const struct cpu_state *state, bool verbose)
{
    int signal = report_signal_for_vector(exit->vector);
    if (verbose)
        hermitux_log(out, guest, exit, state);
    char *location = describe_location(guest, state->rip);
    fprintf(out, "hermitux-run: fault: %s at %#" PRIx64 " in %s", signal_description(signal),
            state->rip, location);
    if (exit->vector == VECTOR_PAGE_FAULT)
        fprintf(out, ": page fault %s address %#" PRIx64 "\n",
                (exit->error_code & 16)  ? "fetching"
                : (exit->error_code & 2) ? "writing"
                                         : "reading",
                exit->fault_address);
    else
        fprintf(out, ": %s exception (vector %u)\n", exception_names[exit->vector & 31],
                exit->vector);
    g_free(location);
    fflush(out);
    return 128 + signal;
}

void report_error(FILE *out, struct guest *guest, const struct accel_exit *exit,
                  const struct cpu_state *state, bool verbose)
{
    (void)guest;
    fprintf(out, "hermitux-run: %s\n", exit->message[0] ? exit->message : "the guest stopped");
    if (verbose)
        fprintf(out, "hermitux-run: rip %#" PRIx64 " rsp %#" PRIx64 " cs %#x\n", state->rip,
                state->rsp, state->cs.selector);
    fflush(out);
}
