/*
 * report/report.c — fault reports: HermiTux's kernel-log lines (with
 * --verbose), then what HermiTux left to objdump and addr2line: where the
 * fault is in the source, what the faulting access ran into, the
 * instructions around it and a backtrace; without --verbose, one line.
 */
#include "config.h"
#include "report/report.h"
#include "kernel/abi.h"
#include "monitor/guest.h"
#include "report/internal.h"

#include <glib.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#define VECTOR_DIVIDE_ERROR       0
#define VECTOR_DEBUG              1
#define VECTOR_BREAKPOINT         3
#define VECTOR_INVALID_OPCODE     6
#define VECTOR_DOUBLE_FAULT       8
#define VECTOR_STACK_FAULT        12
#define VECTOR_GENERAL_PROTECTION 13
#define VECTOR_PAGE_FAULT         14
#define VECTOR_X87_FP             16
#define VECTOR_ALIGNMENT          17
#define VECTOR_SIMD_FP            19

#define PF_WRITE       (1ULL << 1)
#define PF_INSTRUCTION (1ULL << 4)

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

/* HermiTux's log prefix counts from boot: the monitor's start stands in. */
static gint64 monitor_start_time;

__attribute__((constructor)) static void record_start_time(void)
{
    monitor_start_time = g_get_monotonic_time();
}

static void log_prefix(FILE *out)
{
    gint64 elapsed_ms = (g_get_monotonic_time() - monitor_start_time) / 1000;
    fprintf(out, "[%d.%03d][0:1][ERROR] ", (int)(elapsed_ms / 1000), (int)(elapsed_ms % 1000));
}

static void print_registers_line(FILE *out, const struct cpu_state *s)
{
    fprintf(out,
            "rax %#" PRIx64 ", rbx %#" PRIx64 ", rcx %#" PRIx64 ", rdx %#" PRIx64 ", rbp %#" PRIx64
            ", rsp %#" PRIx64 " rdi %#" PRIx64 ", rsi %#" PRIx64 ", r8 %#" PRIx64 ", r9 %#" PRIx64
            ", r10 %#" PRIx64 ", r11 %#" PRIx64 ", r12 %#" PRIx64 ", r13 %#" PRIx64
            ", r14 %#" PRIx64 ", r15 %#" PRIx64 "\n",
            s->rax, s->rbx, s->rcx, s->rdx, s->rbp, s->rsp, s->rdi, s->rsi, s->r8, s->r9, s->r10,
            s->r11, s->r12, s->r13, s->r14, s->r15);
}

/* The three lines HermiTux's kernel logged, in its exact format. */
static void hermitux_log(FILE *out, struct guest *guest, const struct accel_exit *exit,
                         const struct cpu_state *s)
{
    log_prefix(out);
    if (exit->vector == VECTOR_PAGE_FAULT) {
        char decoded[80];
        report_decode_page_fault_error(exit->error_code, decoded, sizeof(decoded));
        fprintf(out,
                "Page Fault Exception (14) on core 0 at cs:ip = %#x:%#" PRIx64 ", fs = %#" PRIx64
                ", gs = %#" PRIx64 ", rflags 0x%" PRIx64 ", task = 1, addr = %#" PRIx64
                ", error = %#x [ %s ]\n",
                s->cs.selector, s->rip, s->fs.base, s->gs.base, s->rflags, exit->fault_address,
                (unsigned)exit->error_code, decoded);
    } else {
        fprintf(out,
                "%s Exception (%u) on core 0 at %#x:%#" PRIx64 ", fs = %#" PRIx64 ", gs = %#" PRIx64
                ", error code = %#" PRIx64 ", task id = 1, rflags = %#x\n",
                exception_names[exit->vector & 31], exit->vector, s->cs.selector, s->rip,
                s->fs.base, s->gs.base, exit->error_code, (unsigned)s->rflags);
    }
    log_prefix(out);
    print_registers_line(out, s);
    uint64_t heap_start = 0, heap_end = 0;
    if (guest->process)
        linux_heap_range(guest->process, &heap_start, &heap_end);
    if (heap_end > heap_start) {
        log_prefix(out);
        fprintf(out, "Heap 0x%llx - 0x%llx\n", (unsigned long long)heap_start,
                (unsigned long long)heap_end);
    }
}

/* ---- what happened ------------------------------------------------------- */

struct fault_analysis {
    int signal;
    bool is_trap;     /* rip is past the instruction (int3, #DB) */
    uint64_t address; /* the instruction's address (rip, or before it for a trap) */
    struct report_location location;
    bool has_caller; /* rip is not code: where the bad call came from */
    struct report_location caller;
    enum report_cause cause;
    char reason[384]; /* for the one line: "NULL pointer dereference (writing address 0)" */
    char detail[768]; /* for the verbose "cause:" line */
};

static const char *access_verb(uint64_t error_code)
{
    return (error_code & PF_INSTRUCTION) ? "fetching an instruction at"
           : (error_code & PF_WRITE)     ? "writing"
                                         : "reading";
}

static void describe_region(struct guest *guest, uint64_t address, char *buffer, size_t size)
{
    const struct guest_region *region = guest_region_lookup(guest->memory, address);
    if (!region) {
        snprintf(buffer, size, "nothing is mapped there");
        return;
    }
    static const char *const kinds[] = {
        [GUEST_REGION_KERNEL] = "guest kernel", [GUEST_REGION_PROGRAM] = "program",
        [GUEST_REGION_HEAP] = "heap",           [GUEST_REGION_MMAP] = "mmap area",
        [GUEST_REGION_STACK] = "stack",         [GUEST_REGION_GUARD] = "guard",
        [GUEST_REGION_DEVICE] = "device",
    };
    snprintf(buffer, size, "%s region %s%s[%#" PRIx64 "-%#" PRIx64 ") %c%c%c%s",
             kinds[region->kind], region->name, region->name[0] ? " " : "", region->start,
             region->end, (region->prot & GUEST_PROT_READ) ? 'r' : '-',
             (region->prot & GUEST_PROT_WRITE) ? 'w' : '-',
             (region->prot & GUEST_PROT_EXEC) ? 'x' : '-',
             (region->prot & GUEST_PROT_USER) ? "" : ", supervisor only");
}

static void analyse_page_fault(struct guest *guest, const struct accel_exit *exit,
                               const struct cpu_state *state, struct fault_analysis *fault)
{
    struct report_layout layout;
    report_guest_layout(guest, &layout);
    uint64_t address = exit->fault_address;
    fault->cause =
        report_classify_page_fault(guest->memory, &layout, address, exit->error_code, state->rsp);
    const char *verb = access_verb(exit->error_code);
    char region[200];
    describe_region(guest, address, region, sizeof(region));
    if (fault->cause == REPORT_CAUSE_UNKNOWN)
        snprintf(fault->reason, sizeof(fault->reason), "page fault %s address %#" PRIx64, verb,
                 address);
    else
        snprintf(fault->reason, sizeof(fault->reason), "%s (%s address %#" PRIx64 ")",
                 report_cause_string(fault->cause), verb, address);
    switch (fault->cause) {
    case REPORT_CAUSE_NULL_POINTER:
        snprintf(fault->detail, sizeof(fault->detail),
                 "NULL pointer dereference: %s address %#" PRIx64
                 ", in the first page, which is never mapped",
                 verb, address);
        break;
    case REPORT_CAUSE_STACK_OVERFLOW:
        snprintf(fault->detail, sizeof(fault->detail),
                 "stack overflow: %s address %#" PRIx64 " (rsp %#" PRIx64 "), below the %" PRIu64
                 " KiB stack [%#" PRIx64 "-%#" PRIx64
                 ") in its guard page: runaway recursion or a huge local array",
                 verb, address, state->rsp, (layout.stack_top - layout.stack_low) >> 10,
                 layout.stack_low, layout.stack_top);
        break;
    case REPORT_CAUSE_HEAP:
        snprintf(fault->detail, sizeof(fault->detail),
                 "%s address %#" PRIx64 " inside the heap [%#" PRIx64 "-%#" PRIx64
                 ") where it is not accessible: %s",
                 verb, address, layout.heap_start, layout.heap_end, region);
        break;
    case REPORT_CAUSE_READ_ONLY_WRITE:
    case REPORT_CAUSE_NOT_EXECUTABLE:
    case REPORT_CAUSE_KERNEL_MEMORY:
    case REPORT_CAUSE_NO_ACCESS: {
        struct report_debuginfo *debuginfo = report_debuginfo_open(guest);
        struct report_location target;
        report_locate(debuginfo, address, address, &target);
        report_debuginfo_close(debuginfo);
        char what[200] = "";
        if (target.symbol)
            snprintf(what, sizeof(what), " (%s+%#" PRIx64 ")", target.symbol, target.offset);
        snprintf(fault->detail, sizeof(fault->detail), "%s: %s address %#" PRIx64 "%s in the %s",
                 report_cause_string(fault->cause), verb, address, what, region);
        break;
    }
    case REPORT_CAUSE_PAST_EOF:
        snprintf(fault->detail, sizeof(fault->detail),
                 "%s address %#" PRIx64 " in the %s, a page that holds no byte of the file "
                 "(it ends before): Linux raises SIGBUS there",
                 verb, address, region);
        break;
    case REPORT_CAUSE_UNMAPPED:
        snprintf(fault->detail, sizeof(fault->detail),
                 "%s address %#" PRIx64 ", where nothing is mapped (a wild or freed pointer?)",
                 verb, address);
        break;
    default:
        snprintf(fault->detail, sizeof(fault->detail), "%s: %s address %#" PRIx64 " in the %s",
                 fault->cause == REPORT_CAUSE_UNKNOWN ? "page fault"
                                                      : report_cause_string(fault->cause),
                 verb, address, region);
        break;
    }
}

static void analyse_protection_fault(struct guest *guest, const struct accel_exit *exit,
                                     const struct cpu_state *state, struct fault_analysis *fault)
{
    struct report_instruction_cause instruction;
    report_analyse_instruction(guest, state, &instruction);
    fault->cause = instruction.cause;
    const char *what =
        exit->vector == VECTOR_STACK_FAULT ? "stack fault" : "general protection fault";
    switch (instruction.cause) {
    case REPORT_CAUSE_NON_CANONICAL:
        snprintf(fault->reason, sizeof(fault->reason), "non-canonical address %#" PRIx64,
                 instruction.address);
        snprintf(fault->detail, sizeof(fault->detail),
                 "%s: `%s` used address %#" PRIx64
                 ", which is non-canonical (bits 63..47 are not all equal): a corrupt pointer",
                 what, instruction.text, instruction.address);
        break;
    case REPORT_CAUSE_MISALIGNED:
        snprintf(fault->reason, sizeof(fault->reason), "misaligned SSE access at %#" PRIx64,
                 instruction.address);
        snprintf(fault->detail, sizeof(fault->detail),
                 "%s: `%s` needs a 16-byte aligned address; %#" PRIx64 " is %" PRIu64
                 " past a 16-byte boundary (use an unaligned load, or align the data)",
                 what, instruction.text, instruction.address, instruction.address & 15);
        break;
    case REPORT_CAUSE_PRIVILEGED:
        snprintf(fault->reason, sizeof(fault->reason), "privileged instruction `%s`",
                 instruction.text);
        snprintf(fault->detail, sizeof(fault->detail),
                 "%s: `%s` may only run in the kernel, and the program runs in user mode", what,
                 instruction.text);
        break;
    default:
        snprintf(fault->reason, sizeof(fault->reason), "%s (error code %#" PRIx64 ")", what,
                 exit->error_code);
        snprintf(fault->detail, sizeof(fault->detail), "%s, error code %#" PRIx64 ", at `%s`", what,
                 exit->error_code,
                 instruction.text[0] ? instruction.text : "(unreadable instruction)");
        break;
    }
}

static void analyse_fpu_fault(struct guest *guest, const struct accel_exit *exit,
                              struct fault_analysis *fault)
{
    struct cpu_fpu_state fpu;
    bool have_fpu = guest->accel && guest->accel_ops && guest->accel_ops->get_fpu &&
                    guest->accel_ops->get_fpu(guest->accel, &fpu) == 0;
    static const char *const flags[] = {"invalid operation", "denormal operand", "division by zero",
                                        "overflow",          "underflow",        "inexact result"};
    unsigned status = !have_fpu ? 0 : exit->vector == VECTOR_SIMD_FP ? fpu.mxcsr : fpu.fsw;
    char names[128] = "";
    for (unsigned bit = 0; bit < 6; bit++) {
        if (!(status & (1u << bit)))
            continue;
        g_strlcat(names, names[0] ? ", " : "", sizeof(names));
        g_strlcat(names, flags[bit], sizeof(names));
    }
    const char *kind = exit->vector == VECTOR_SIMD_FP ? "SIMD floating-point exception"
                                                      : "x87 floating-point exception";
    snprintf(fault->reason, sizeof(fault->reason), "%s%s%s%s", kind, names[0] ? " (" : "", names,
             names[0] ? ")" : "");
    snprintf(fault->detail, sizeof(fault->detail), "%s, %s %#x: the program unmasked it", kind,
             exit->vector == VECTOR_SIMD_FP ? "MXCSR" : "FSW", status);
}

static void analyse(struct report_debuginfo *debuginfo, struct guest *guest,
                    const struct accel_exit *exit, const struct cpu_state *state,
                    struct fault_analysis *fault)
{
    memset(fault, 0, sizeof(*fault));
    fault->signal = report_signal_for_exit(guest->memory, exit);
    fault->address = state->rip;
    fault->is_trap = exit->vector == VECTOR_BREAKPOINT || exit->vector == VECTOR_DEBUG;
    if (exit->vector == VECTOR_BREAKPOINT) {
        /* The trap left rip after the int3: point at the int3 itself. */
        uint8_t byte = 0;
        if (guest_read(guest->memory, state->rip - 1, &byte, 1, GUEST_ACCESS_DEBUG) == 0 &&
            byte == 0xcc)
            fault->address = state->rip - 1;
    }
    report_locate(debuginfo, fault->address, fault->address, &fault->location);
    if (!fault->location.image && !exit->in_kernel) {
        /* Not in any code: a call through a bad pointer left its return
         * address at [rsp]. */
        uint64_t return_address;
        if (guest_read(guest->memory, state->rsp, &return_address, sizeof(return_address),
                       GUEST_ACCESS_DEBUG) == 0 &&
            report_follows_call(guest, return_address)) {
            report_locate(debuginfo, return_address, return_address - 1, &fault->caller);
            fault->has_caller = fault->caller.image != NULL;
        }
    }
    switch (exit->vector) {
    case VECTOR_PAGE_FAULT:
        analyse_page_fault(guest, exit, state, fault);
        break;
    case VECTOR_GENERAL_PROTECTION:
    case VECTOR_STACK_FAULT:
        analyse_protection_fault(guest, exit, state, fault);
        break;
    case VECTOR_DIVIDE_ERROR: {
        struct report_instruction_cause instruction;
        report_analyse_instruction(guest, state, &instruction);
        if (instruction.divisor_known && instruction.divisor == 0) {
            snprintf(fault->reason, sizeof(fault->reason), "integer division by zero");
            snprintf(fault->detail, sizeof(fault->detail),
                     "integer division by zero: the divisor of `%s` is 0", instruction.text);
        } else if (instruction.divisor_known) {
            snprintf(fault->reason, sizeof(fault->reason), "integer division overflow");
            snprintf(fault->detail, sizeof(fault->detail),
                     "integer division overflow: the quotient of `%s` (divisor %#" PRIx64
                     ") does not fit in the destination (INT_MIN / -1?)",
                     instruction.text, instruction.divisor);
        } else {
            snprintf(fault->reason, sizeof(fault->reason), "integer division error");
            snprintf(fault->detail, sizeof(fault->detail), "integer division error at `%s`",
                     instruction.text);
        }
        break;
    }
    case VECTOR_INVALID_OPCODE: {
        struct report_instruction_cause instruction;
        report_analyse_instruction(guest, state, &instruction);
        if (instruction.text[0]) {
            snprintf(fault->reason, sizeof(fault->reason), "invalid instruction `%s`",
                     instruction.text);
            snprintf(fault->detail, sizeof(fault->detail),
                     "invalid opcode: `%s` is undefined here (ud2 is how compilers mark "
                     "unreachable code; else an instruction this CPU lacks)",
                     instruction.text);
        } else {
            uint8_t bytes[4] = {0};
            guest_read(guest->memory, state->rip, bytes, sizeof(bytes), GUEST_ACCESS_DEBUG);
            snprintf(fault->reason, sizeof(fault->reason), "invalid opcode");
            snprintf(fault->detail, sizeof(fault->detail),
                     "invalid opcode: bytes %02x %02x %02x %02x decode to no instruction", bytes[0],
                     bytes[1], bytes[2], bytes[3]);
        }
        break;
    }
    case VECTOR_BREAKPOINT:
        snprintf(fault->reason, sizeof(fault->reason), "int3 breakpoint with no debugger attached");
        snprintf(fault->detail, sizeof(fault->detail),
                 "breakpoint: the program executed int3 and no debugger is attached "
                 "(run with --gdb to stop there instead)");
        break;
    case VECTOR_DEBUG:
        snprintf(fault->reason, sizeof(fault->reason), "debug trap with no debugger attached");
        snprintf(fault->detail, sizeof(fault->detail),
                 "debug exception (single step or debug register) and no debugger is attached");
        break;
    case VECTOR_DOUBLE_FAULT:
        snprintf(fault->reason, sizeof(fault->reason), "double fault");
        snprintf(fault->detail, sizeof(fault->detail),
                 "double fault: an exception while delivering another; the guest kernel's "
                 "stacks or IDT are unusable (a hermitux-run bug)");
        break;
    case VECTOR_ALIGNMENT:
        snprintf(fault->reason, sizeof(fault->reason), "alignment check");
        snprintf(fault->detail, sizeof(fault->detail),
                 "alignment check: a misaligned access while the program has EFLAGS.AC set");
        break;
    case VECTOR_X87_FP:
    case VECTOR_SIMD_FP:
        analyse_fpu_fault(guest, exit, fault);
        break;
    default:
        snprintf(fault->reason, sizeof(fault->reason), "%s exception (vector %u)",
                 exception_names[exit->vector & 31], exit->vector);
        snprintf(fault->detail, sizeof(fault->detail),
                 "%s exception (vector %u), error code %#" PRIx64,
                 exception_names[exit->vector & 31], exit->vector, exit->error_code);
        break;
    }
}

/* thread: " in thread TID (NAME)" for a program with several, else "". */
static void print_summary(FILE *out, const struct accel_exit *exit,
                          const struct fault_analysis *fault, const char *thread)
{
    char where[400];
    report_location_short(&fault->location, where, sizeof(where));
    g_strlcat(where, thread, sizeof(where));
    if (exit->in_kernel)
        fprintf(out,
                "hermitux-run: fault in the guest kernel, not in the program: %s at %#" PRIx64
                " in %s: %s\n",
                signal_description(fault->signal), fault->address, where, fault->reason);
    else if (!fault->location.image && fault->has_caller) {
        char caller[400];
        report_location_short(&fault->caller, caller, sizeof(caller));
        fprintf(out, "hermitux-run: fault: %s at %#" PRIx64 ", called from %s%s: %s\n",
                signal_description(fault->signal), fault->address, caller, thread, fault->reason);
    } else
        fprintf(out, "hermitux-run: fault: %s at %#" PRIx64 " in %s: %s\n",
                signal_description(fault->signal), fault->address, where, fault->reason);
}

static void print_where(FILE *out, struct guest *guest, uint64_t address,
                        const struct report_location *location)
{
    fprintf(out, "  where:  %#" PRIx64, address);
    if (location->symbol)
        fprintf(out, " is %s+%#" PRIx64, location->symbol, location->offset);
    if (location->image)
        fprintf(out, " in %s %s",
                location->in_kernel       ? "the guest kernel"
                : location->shared_object ? "the shared object"
                                          : "the program",
                location->image);
    else {
        char region[200];
        describe_region(guest, address, region, sizeof(region));
        fprintf(out, ", not in the program's code: %s", region);
    }
    fputc('\n', out);
    if (location->file[0]) {
        fprintf(out, "  source: %s:%d", location->file, location->line);
        if (location->function[0])
            fprintf(out, ", in %s", location->function);
        if (location->caller[0])
            fprintf(out, " (inlined into %s)", location->caller);
        fputc('\n', out);
    } else if (location->image) {
        fprintf(out, "  source: unknown (%s has no line information: build with -g)\n",
                location->image);
    }
}

int report_fault(FILE *out, struct guest *guest, const struct accel_exit *exit,
                 const struct cpu_state *state, bool verbose)
{
    struct report_thread thread = {.state = *state};
    return report_fault_threads(out, guest, exit, &thread, 1, verbose);
}

/* The other threads, after the faulting one's report: where each was. */
static void print_other_threads(FILE *out, struct report_debuginfo *debuginfo, struct guest *guest,
                                const struct report_thread *threads, size_t count)
{
    for (size_t i = 1; i < count; i++) {
        const struct cpu_state *state = &threads[i].state;
        fprintf(out, "  thread %d (%s):\n    rip %#" PRIx64 " rsp %#" PRIx64 "\n    ",
                threads[i].tid, threads[i].name, state->rip, state->rsp);
        print_registers_line(out, state);
        fprintf(out, "  backtrace:\n");
        report_print_backtrace(out, debuginfo, guest, state, false);
    }
}

int report_fault_threads(FILE *out, struct guest *guest, const struct accel_exit *exit,
                         const struct report_thread *threads, size_t count, bool verbose)
{
    const struct cpu_state *state = &threads[0].state;
    struct report_debuginfo *debuginfo = report_debuginfo_open(guest);
    struct fault_analysis fault;
    analyse(debuginfo, guest, exit, state, &fault);
    char thread[64] = "";
    if (count > 1)
        snprintf(thread, sizeof(thread), " in thread %d (%s)", threads[0].tid, threads[0].name);
    if (verbose)
        hermitux_log(out, guest, exit, state);
    print_summary(out, exit, &fault, thread);
    if (verbose) {
        fprintf(out, "  cause:  %s\n", fault.detail);
        print_where(out, guest, fault.address, &fault.location);
        fprintf(out, "  code:\n");
        report_print_code(out, debuginfo, guest, fault.address);
        fprintf(out, "  backtrace:\n");
        report_print_backtrace(out, debuginfo, guest, state, fault.is_trap);
        print_other_threads(out, debuginfo, guest, threads, count);
    }
    report_debuginfo_close(debuginfo);
    fflush(out);
    return 128 + fault.signal;
}

/* Whether state holds registers at all (an accelerator that failed before
 * reading them leaves it zeroed). */
static bool state_is_known(const struct cpu_state *state)
{
    return state->rip != 0 || state->rsp != 0 || state->cs.selector != 0;
}

void report_error(FILE *out, struct guest *guest, const struct accel_exit *exit,
                  const struct cpu_state *state, bool verbose)
{
    fprintf(out, "hermitux-run: %s\n", exit->message[0] ? exit->message : "the guest stopped");
    if (verbose && state_is_known(state)) {
        fprintf(out,
                "  rip %#" PRIx64 " cs %#x rflags %#" PRIx64 " cr2 %#" PRIx64 " cr3 %#" PRIx64
                "\n  ",
                state->rip, state->cs.selector, state->rflags, state->cr2, state->cr3);
        print_registers_line(out, state);
        struct report_debuginfo *debuginfo = report_debuginfo_open(guest);
        struct report_location location;
        report_locate(debuginfo, state->rip, state->rip, &location);
        print_where(out, guest, state->rip, &location);
        report_debuginfo_close(debuginfo);
    }
    fflush(out);
}

void report_timeout(FILE *out, struct guest *guest, const struct cpu_state *state, double seconds)
{
    struct report_debuginfo *debuginfo = report_debuginfo_open(guest);
    struct report_location location;
    report_locate(debuginfo, state->rip, state->rip, &location);
    char where[400];
    report_location_short(&location, where, sizeof(where));
    fprintf(out,
            "hermitux-run: timeout: the program ran longer than %g s; it was at %#" PRIx64
            " in %s\n",
            seconds, state->rip, where);
    if (guest->verbose) {
        print_where(out, guest, state->rip, &location);
        fprintf(out, "  backtrace:\n");
        report_print_backtrace(out, debuginfo, guest, state, false);
    }
    report_debuginfo_close(debuginfo);
    fflush(out);
}
