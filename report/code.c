/*
 * report/code.c — the instructions around a fault (capstone, AT&T syntax as
 * objdump and gdb print it) and what the faulting instruction tells about
 * a #GP, #SS or #DE: the address it used, the divisor.
 */
#include "config.h"
#include "kernel/abi.h"
#include "monitor/guest.h"
#include "report/internal.h"

#include <capstone/capstone.h>
#include <glib.h>
#include <inttypes.h>
#include <string.h>

#define INSTRUCTIONS_BEFORE 6
#define INSTRUCTIONS_AFTER  4
/* Disassembling from the function's start finds the instruction boundaries
 * before the fault; past this distance, start at the fault itself. */
#define MAX_DISASSEMBLY_RUN  4096
#define MAX_INSTRUCTION_SIZE 15

static bool open_disassembler(csh *handle, bool detail)
{
    if (cs_open(CS_ARCH_X86, CS_MODE_64, handle) != CS_ERR_OK)
        return false;
    cs_option(*handle, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
    if (detail)
        cs_option(*handle, CS_OPT_DETAIL, CS_OPT_ON);
    return true;
}

/* Reads what is readable of [address, address + size), page by page; returns
 * how many bytes from address on could be read. */
static size_t read_code(struct guest *guest, uint64_t address, uint8_t *buffer, size_t size)
{
    size_t done = 0;
    while (done < size) {
        uint64_t at = address + done;
        size_t chunk = MIN(size - done, GUEST_PAGE_SIZE - (at & (GUEST_PAGE_SIZE - 1)));
        if (guest_read(guest->memory, at, buffer + done, chunk, GUEST_ACCESS_DEBUG) != 0)
            break;
        done += chunk;
    }
    return done;
}

static const struct elf_image *image_for(struct guest *guest, uint64_t address)
{
    const struct guest_region *region = guest_region_lookup(guest->memory, address);
    if (address >= HX_KERNEL_BASE && address < HX_KERNEL_END &&
        (!region || region->kind == GUEST_REGION_KERNEL))
        return &guest->kernel;
    return &guest->program;
}

static void print_instruction(FILE *out, struct guest *guest, const cs_insn *instruction,
                              bool is_fault)
{
    uint64_t offset = 0;
    const struct elf_symbol *symbol =
        elf_image_symbolize(image_for(guest, instruction->address), instruction->address, &offset);
    char where[160] = "";
    if (symbol)
        snprintf(where, sizeof(where), " <%s+%" PRIu64 ">", symbol->name, offset);
    fprintf(out, "  %s 0x%" PRIx64 "%s:\t%s\t%s\n", is_fault ? "=>" : "  ", instruction->address,
            where, instruction->mnemonic, instruction->op_str);
}

/* Disassembles bytes (loaded at start) and prints the instructions around
 * address if an instruction starts there; false (nothing printed) if none
 * does: the decoding from start went out of step (data in code, a wrong
 * symbol). */
static bool print_listing(FILE *out, struct guest *guest, csh handle, const uint8_t *bytes,
                          size_t size, uint64_t start, uint64_t address)
{
    cs_insn *instruction = cs_malloc(handle);
    cs_insn before[INSTRUCTIONS_BEFORE];
    size_t before_count = 0;
    int after = -1;
    uint64_t at = start;
    while (cs_disasm_iter(handle, &bytes, &size, &at, instruction)) {
        if (after >= 0) {
            print_instruction(out, guest, instruction, false);
            if (++after >= INSTRUCTIONS_AFTER)
                break;
        } else if (instruction->address == address) {
            for (size_t i = 0; i < before_count; i++)
                print_instruction(out, guest, &before[i], false);
            print_instruction(out, guest, instruction, true);
            after = 0;
        } else if (instruction->address + instruction->size > address) {
            break;
        } else {
            if (before_count == INSTRUCTIONS_BEFORE) {
                memmove(before, before + 1, sizeof(before[0]) * (INSTRUCTIONS_BEFORE - 1));
                before_count--;
            }
            /* Only address, mnemonic and operands are printed later. */
            before[before_count] = *instruction;
            before[before_count].detail = NULL;
            before_count++;
        }
    }
    cs_free(instruction, 1);
    return after >= 0;
}

void report_print_code(FILE *out, struct report_debuginfo *debuginfo, struct guest *guest,
                       uint64_t address)
{
    (void)debuginfo;
    uint64_t start = address, offset = 0;
    const struct elf_symbol *symbol =
        elf_image_symbolize(image_for(guest, address), address, &offset);
    if (symbol && offset <= MAX_DISASSEMBLY_RUN && symbol->address <= address)
        start = symbol->address;
    size_t tail = (INSTRUCTIONS_AFTER + 1) * MAX_INSTRUCTION_SIZE;
    size_t size = (address - start) + tail;
    uint8_t *bytes = g_malloc(size);
    size_t readable = read_code(guest, start, bytes, size);
    if (readable <= address - start) {
        start = address;
        readable = read_code(guest, start, bytes, tail);
    }
    csh handle;
    if (readable == 0) {
        fprintf(out,
                "     (cannot read the instructions at %#" PRIx64 ": not mapped or not readable)\n",
                address);
    } else if (!open_disassembler(&handle, false)) {
        fprintf(out, "     (no disassembler)\n");
    } else {
        bool shown = print_listing(out, guest, handle, bytes, readable, start, address);
        if (!shown && start != address)
            shown = print_listing(out, guest, handle, bytes + (address - start),
                                  readable - (address - start), address, address);
        if (!shown)
            fprintf(out, "     (cannot decode an instruction at %#" PRIx64 ")\n", address);
        cs_close(&handle);
    }
    g_free(bytes);
}

/* ---- what the instruction did -------------------------------------------- */

struct register_slot {
    x86_reg reg;
    size_t offset; /* in struct cpu_state */
    unsigned size; /* bytes */
    unsigned shift;
};

#define SLOT(r64, r32, r16, r8, field)                                                             \
    {r64, offsetof(struct cpu_state, field), 8, 0},                                                \
        {r32, offsetof(struct cpu_state, field), 4, 0},                                            \
        {r16, offsetof(struct cpu_state, field), 2, 0},                                            \
    {                                                                                              \
        r8, offsetof(struct cpu_state, field), 1, 0                                                \
    }

static const struct register_slot register_slots[] = {
    SLOT(X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, rax),
    SLOT(X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, rbx),
    SLOT(X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, rcx),
    SLOT(X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, rdx),
    SLOT(X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, rsi),
    SLOT(X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, rdi),
    SLOT(X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL, rbp),
    SLOT(X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL, rsp),
    SLOT(X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, r8),
    SLOT(X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B, r9),
    SLOT(X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B, r10),
    SLOT(X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B, r11),
    SLOT(X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B, r12),
    SLOT(X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B, r13),
    SLOT(X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B, r14),
    SLOT(X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B, r15),
    {X86_REG_AH, offsetof(struct cpu_state, rax), 1, 8},
    {X86_REG_BH, offsetof(struct cpu_state, rbx), 1, 8},
    {X86_REG_CH, offsetof(struct cpu_state, rcx), 1, 8},
    {X86_REG_DH, offsetof(struct cpu_state, rdx), 1, 8},
};

static bool register_value(const struct cpu_state *state, x86_reg reg, uint64_t *value)
{
    for (size_t i = 0; i < sizeof(register_slots) / sizeof(register_slots[0]); i++) {
        const struct register_slot *slot = &register_slots[i];
        if (slot->reg != reg)
            continue;
        uint64_t full;
        memcpy(&full, (const char *)state + slot->offset, sizeof(full));
        full >>= slot->shift;
        *value = slot->size == 8 ? full : full & ((1ULL << (slot->size * 8)) - 1);
        return true;
    }
    return false;
}

static bool is_canonical(uint64_t address)
{
    return (uint64_t)((int64_t)(address << 16) >> 16) == address;
}

static bool memory_operand_address(const struct cpu_state *state, const cs_insn *instruction,
                                   const cs_x86_op *operand, uint64_t *address)
{
    const x86_op_mem *mem = &operand->mem;
    uint64_t value = (uint64_t)mem->disp, part;
    if (mem->base == X86_REG_RIP)
        value += instruction->address + instruction->size;
    else if (mem->base != X86_REG_INVALID) {
        if (!register_value(state, mem->base, &part))
            return false;
        value += part;
    }
    if (mem->index != X86_REG_INVALID) {
        if (!register_value(state, mem->index, &part))
            return false;
        value += part * (uint64_t)mem->scale;
    }
    if (mem->segment == X86_REG_FS)
        value += state->fs.base;
    else if (mem->segment == X86_REG_GS)
        value += state->gs.base;
    *address = value;
    return true;
}

/* Legacy-SSE instructions that accept any alignment on a 16-byte operand;
 * every other one faults (#GP) unless it is 16-byte aligned. VEX forms
 * (mnemonics starting with 'v') never need alignment except vmovap*,
 * vmovdqa, vmovntdq*. */
static bool needs_alignment(const char *mnemonic)
{
    static const char *const unaligned[] = {"movups",     "movupd", "movdqu", "lddqu",
                                            "maskmovdqu", "movq",   "movsd",  "movss"};
    for (size_t i = 0; i < sizeof(unaligned) / sizeof(unaligned[0]); i++)
        if (strcmp(mnemonic, unaligned[i]) == 0)
            return false;
    if (mnemonic[0] == 'v')
        return strncmp(mnemonic, "vmovap", 6) == 0 || strcmp(mnemonic, "vmovdqa") == 0 ||
               strncmp(mnemonic, "vmovnt", 6) == 0;
    return true;
}

/* Capstone does not put every one of these in CS_GRP_PRIVILEGE. */
static bool is_privileged(const char *mnemonic)
{
    static const char *const privileged[] = {
        "hlt",  "cli",   "sti",   "in",     "inb",    "inw",   "inl",   "out",   "outb",
        "outw", "outl",  "insb",  "insw",   "insl",   "outsb", "outsw", "outsl", "lgdt",
        "lidt", "wrmsr", "rdmsr", "invlpg", "wbinvd", "clts",  "lmsw",  "ltr",   "lldt",
    };
    for (size_t i = 0; i < sizeof(privileged) / sizeof(privileged[0]); i++)
        if (strcmp(mnemonic, privileged[i]) == 0)
            return true;
    return false;
}

void report_analyse_instruction(struct guest *guest, const struct cpu_state *state,
                                struct report_instruction_cause *result)
{
    memset(result, 0, sizeof(*result));
    uint8_t bytes[MAX_INSTRUCTION_SIZE];
    size_t readable = read_code(guest, state->rip, bytes, sizeof(bytes));
    csh handle;
    if (readable == 0 || !open_disassembler(&handle, true))
        return;
    cs_insn *instruction = NULL;
    if (cs_disasm(handle, bytes, readable, state->rip, 1, &instruction) != 1) {
        cs_close(&handle);
        return;
    }
    snprintf(result->text, sizeof(result->text), "%s%s%s", instruction->mnemonic,
             instruction->op_str[0] ? " " : "", instruction->op_str);
    const cs_x86 *x86 = &instruction->detail->x86;
    bool is_division = strncmp(instruction->mnemonic, "div", 3) == 0 ||
                       strncmp(instruction->mnemonic, "idiv", 4) == 0;
    for (uint8_t i = 0; i < x86->op_count; i++) {
        const cs_x86_op *operand = &x86->operands[i];
        uint64_t address;
        if (operand->type == X86_OP_MEM &&
            memory_operand_address(state, instruction, operand, &address)) {
            if (!is_canonical(address)) {
                result->cause = REPORT_CAUSE_NON_CANONICAL;
                result->address = address;
            } else if (operand->size == 16 && (address & 15) &&
                       needs_alignment(instruction->mnemonic) &&
                       result->cause == REPORT_CAUSE_UNKNOWN) {
                result->cause = REPORT_CAUSE_MISALIGNED;
                result->address = address;
            }
            if (is_division && operand->size <= 8) {
                uint64_t divisor = 0;
                if (guest_read(guest->memory, address, &divisor, operand->size,
                               GUEST_ACCESS_DEBUG) == 0) {
                    result->divisor_known = true;
                    result->divisor = divisor;
                }
            }
        } else if (operand->type == X86_OP_REG && is_division) {
            result->divisor_known = register_value(state, operand->reg, &result->divisor);
        }
    }
    if (result->cause == REPORT_CAUSE_UNKNOWN &&
        (cs_insn_group(handle, instruction, CS_GRP_PRIVILEGE) ||
         is_privileged(instruction->mnemonic)))
        result->cause = REPORT_CAUSE_PRIVILEGED;
    cs_free(instruction, 1);
    cs_close(&handle);
}

bool report_follows_call(struct guest *guest, uint64_t address)
{
    /* Calls are 2 (ff d0) to 7 (ff 94 24 disp32) bytes, 5 for call rel32;
     * one ends at address if decoding exactly k bytes before it yields a
     * call of size k. */
    uint8_t bytes[8];
    if (address < sizeof(bytes) || guest_read(guest->memory, address - sizeof(bytes), bytes,
                                              sizeof(bytes), GUEST_ACCESS_DEBUG) != 0)
        return false;
    csh handle;
    if (!open_disassembler(&handle, true))
        return false;
    bool found = false;
    for (size_t size = 2; size <= 8 && !found; size++) {
        cs_insn *instruction = NULL;
        if (cs_disasm(handle, bytes + sizeof(bytes) - size, size, address - size, 1,
                      &instruction) == 1) {
            found = instruction->size == size && cs_insn_group(handle, instruction, CS_GRP_CALL);
            cs_free(instruction, 1);
        }
    }
    cs_close(&handle);
    return found;
}
