/* report/cause.c — what a fault ran into: error codes, the signal, the address. */
#include "config.h"
#include "report/internal.h"
#include "kernel/abi.h"
#include "memory/memory.h"
#include "monitor/guest.h"

#include <signal.h>
#include <stdio.h>

/* How far below the stack an access still counts as running off its end:
 * a frame larger than the guard page jumps over it. */
#define STACK_OVERFLOW_REACH (1ULL << 20)
/* How close rsp must be to such an access for it to be a stack access. */
#define STACK_POINTER_SLACK (64ULL << 10)

#define PF_PRESENT     (1ULL << 0)
#define PF_WRITE       (1ULL << 1)
#define PF_USER        (1ULL << 2)
#define PF_RESERVED    (1ULL << 3)
#define PF_INSTRUCTION (1ULL << 4)

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

/* A user-mode page fault that Linux answers with SIGBUS (BUS_ADRERR). */
static bool fault_past_eof(const struct guest_memory *memory, uint64_t address, uint64_t error_code)
{
    return memory && (error_code & PF_USER) && !(error_code & PF_PRESENT) &&
           guest_fault_past_eof(memory, address, error_code & PF_WRITE,
                                error_code & PF_INSTRUCTION);
}

int report_signal_for_exit(const struct guest_memory *memory, const struct accel_exit *exit)
{
    if (exit->vector == 14 && !exit->in_kernel &&
        fault_past_eof(memory, exit->fault_address, exit->error_code))
        return SIGBUS;
    return report_signal_for_vector(exit->vector);
}

void report_decode_page_fault_error(uint64_t error_code, char *buffer, size_t size)
{
    /* HermiTux prints five words; without a reserved-bit violation the last
     * is "\b", which a terminal turns into eating the space before it. */
    snprintf(buffer, size, "%s %s %s %s %s", (error_code & PF_USER) ? "user" : "supervisor",
             (error_code & PF_INSTRUCTION) ? "instruction" : "data",
             (error_code & PF_WRITE)         ? "write"
             : (error_code & PF_INSTRUCTION) ? "fetch"
                                             : "read",
             (error_code & PF_PRESENT) ? "protection" : "not present",
             (error_code & PF_RESERVED) ? "reserved bit" : "\b");
}

const char *report_cause_string(enum report_cause cause)
{
    switch (cause) {
    case REPORT_CAUSE_NULL_POINTER:
        return "NULL pointer dereference";
    case REPORT_CAUSE_STACK_OVERFLOW:
        return "stack overflow";
    case REPORT_CAUSE_UNMAPPED:
        return "access to unmapped memory";
    case REPORT_CAUSE_HEAP:
        return "access to the heap past what is mapped";
    case REPORT_CAUSE_READ_ONLY_WRITE:
        return "write to read-only memory";
    case REPORT_CAUSE_KERNEL_MEMORY:
        return "access to kernel memory from user mode";
    case REPORT_CAUSE_NOT_EXECUTABLE:
        return "execution of non-executable memory";
    case REPORT_CAUSE_NO_ACCESS:
        return "access to memory that allows none";
    case REPORT_CAUSE_RESERVED_BIT:
        return "corrupt page tables (reserved bit set)";
    case REPORT_CAUSE_NON_CANONICAL:
        return "non-canonical address";
    case REPORT_CAUSE_MISALIGNED:
        return "misaligned SSE access (needs 16-byte alignment)";
    case REPORT_CAUSE_PAST_EOF:
        return "access past the end of a mapped file";
    case REPORT_CAUSE_PRIVILEGED:
        return "privileged instruction in user mode";
    case REPORT_CAUSE_UNKNOWN:
        break;
    }
    return "unknown cause";
}

static uint64_t distance(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

enum report_cause report_classify_page_fault(const struct guest_memory *memory,
                                             const struct report_layout *layout, uint64_t address,
                                             uint64_t error_code, uint64_t rsp)
{
    if (error_code & PF_RESERVED)
        return REPORT_CAUSE_RESERVED_BIT;
    if (address < GUEST_PAGE_SIZE)
        return REPORT_CAUSE_NULL_POINTER;
    const struct guest_region *region = guest_region_lookup(memory, address);
    if (region && region->kind == GUEST_REGION_GUARD)
        return REPORT_CAUSE_STACK_OVERFLOW;
    if (!region) {
        /* A big frame jumps over the guard page: still an overflow when the
         * access is just below the stack and rsp is right there. */
        if (layout->stack_low > address && layout->stack_low - address <= STACK_OVERFLOW_REACH &&
            distance(rsp, address) <= STACK_POINTER_SLACK)
            return REPORT_CAUSE_STACK_OVERFLOW;
        if (address >= layout->heap_start && address < layout->heap_end)
            return REPORT_CAUSE_HEAP;
        return REPORT_CAUSE_UNMAPPED;
    }
    bool user = error_code & PF_USER;
    if (region->kind == GUEST_REGION_KERNEL && !(region->prot & GUEST_PROT_USER))
        return user ? REPORT_CAUSE_KERNEL_MEMORY : REPORT_CAUSE_UNKNOWN;
    if (region->kind == GUEST_REGION_DEVICE)
        return REPORT_CAUSE_NO_ACCESS;
    if (fault_past_eof(memory, address, error_code))
        return REPORT_CAUSE_PAST_EOF;
    int prot = region->prot;
    if (!(error_code & PF_PRESENT) ||
        !(prot & (GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_EXEC)))
        return region->kind == GUEST_REGION_HEAP ? REPORT_CAUSE_HEAP : REPORT_CAUSE_NO_ACCESS;
    if ((error_code & PF_INSTRUCTION) && !(prot & GUEST_PROT_EXEC))
        return REPORT_CAUSE_NOT_EXECUTABLE;
    if ((error_code & PF_WRITE) && !(prot & GUEST_PROT_WRITE))
        return REPORT_CAUSE_READ_ONLY_WRITE;
    if (user && !(prot & GUEST_PROT_USER))
        return REPORT_CAUSE_KERNEL_MEMORY;
    return REPORT_CAUSE_UNKNOWN;
}

void report_guest_layout(struct guest *guest, struct report_layout *layout)
{
    *layout = (struct report_layout){
        .stack_low = guest->stack_low,
        .stack_top = guest->stack_top,
    };
    if (guest->process)
        linux_heap_range(guest->process, &layout->heap_start, &layout->heap_end);
}
