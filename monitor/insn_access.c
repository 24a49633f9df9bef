/* monitor/insn_access.c — the memory an instruction touches, decoded with capstone. */
#include "config.h"
#include "monitor/insn_access.h"

#include <capstone/capstone.h>
#include <stddef.h>

#define MAX_INSTRUCTION 15

/* A general register's value as an address component (32- and 16-bit
 * forms only appear with an address-size prefix: truncated). */
static bool register_value(const struct cpu_state *state, x86_reg reg, uint64_t *value)
{
    static const struct {
        x86_reg r64, r32;
        size_t offset;
    } table[] = {
        {X86_REG_RAX, X86_REG_EAX, offsetof(struct cpu_state, rax)},
        {X86_REG_RBX, X86_REG_EBX, offsetof(struct cpu_state, rbx)},
        {X86_REG_RCX, X86_REG_ECX, offsetof(struct cpu_state, rcx)},
        {X86_REG_RDX, X86_REG_EDX, offsetof(struct cpu_state, rdx)},
        {X86_REG_RSI, X86_REG_ESI, offsetof(struct cpu_state, rsi)},
        {X86_REG_RDI, X86_REG_EDI, offsetof(struct cpu_state, rdi)},
        {X86_REG_RBP, X86_REG_EBP, offsetof(struct cpu_state, rbp)},
        {X86_REG_RSP, X86_REG_ESP, offsetof(struct cpu_state, rsp)},
        {X86_REG_R8, X86_REG_R8D, offsetof(struct cpu_state, r8)},
        {X86_REG_R9, X86_REG_R9D, offsetof(struct cpu_state, r9)},
        {X86_REG_R10, X86_REG_R10D, offsetof(struct cpu_state, r10)},
        {X86_REG_R11, X86_REG_R11D, offsetof(struct cpu_state, r11)},
        {X86_REG_R12, X86_REG_R12D, offsetof(struct cpu_state, r12)},
        {X86_REG_R13, X86_REG_R13D, offsetof(struct cpu_state, r13)},
        {X86_REG_R14, X86_REG_R14D, offsetof(struct cpu_state, r14)},
        {X86_REG_R15, X86_REG_R15D, offsetof(struct cpu_state, r15)},
    };
    if (reg == X86_REG_INVALID) {
        *value = 0;
        return true;
    }
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const uint64_t *field = (const uint64_t *)((const char *)state + table[i].offset);
        if (reg == table[i].r64) {
            *value = *field;
            return true;
        }
        if (reg == table[i].r32) {
            *value = (uint32_t)*field;
            return true;
        }
    }
    return false;
}

static bool operand_address(const struct cpu_state *state, const cs_insn *instruction,
                            const cs_x86_op *operand, uint64_t *address)
{
    const x86_op_mem *mem = &operand->mem;
    uint64_t base, index;
    if (mem->base == X86_REG_RIP)
        base = instruction->address + instruction->size;
    else if (!register_value(state, mem->base, &base))
        return false;
    if (!register_value(state, mem->index, &index))
        return false;
    uint64_t segment = mem->segment == X86_REG_FS   ? state->fs.base
                       : mem->segment == X86_REG_GS ? state->gs.base
                                                    : 0;
    *address = segment + base + index * (uint64_t)mem->scale + (uint64_t)mem->disp;
    return true;
}

/* push, pop, call, ret, leave: the stack slot they move through. */
static int stack_access(const struct cpu_state *state, unsigned id, struct debugger_access *access)
{
    switch (id) {
    case X86_INS_PUSH:
    case X86_INS_PUSHFQ:
    case X86_INS_CALL:
        *access = (struct debugger_access){state->rsp - 8, 8, false, true};
        return 1;
    case X86_INS_POP:
    case X86_INS_POPFQ:
    case X86_INS_RET:
        *access = (struct debugger_access){state->rsp, 8, true, false};
        return 1;
    case X86_INS_LEAVE:
        *access = (struct debugger_access){state->rbp, 8, true, false};
        return 1;
    default:
        return 0;
    }
}

/* Reads up to 15 bytes at rip, fewer when a page after it is unmapped. */
static size_t read_instruction(const struct guest_memory *memory, uint64_t rip,
                               uint8_t code[MAX_INSTRUCTION])
{
    size_t length = 0;
    while (length < MAX_INSTRUCTION &&
           guest_read(memory, rip + length, &code[length], 1, GUEST_ACCESS_DEBUG) == 0)
        length++;
    return length;
}

static int collect_accesses(const struct cpu_state *state, const cs_insn *instruction,
                            struct debugger_access *accesses, int max)
{
    const cs_x86 *x86 = &instruction->detail->x86;
    /* These name memory without touching it. */
    switch (instruction->id) {
    case X86_INS_LEA:
    case X86_INS_NOP:
    case X86_INS_PREFETCH:
    case X86_INS_PREFETCHNTA:
    case X86_INS_PREFETCHT0:
    case X86_INS_PREFETCHT1:
    case X86_INS_PREFETCHT2:
    case X86_INS_PREFETCHW:
        return 0;
    default:
        break;
    }
    int count = 0;
    for (int i = 0; i < x86->op_count && count < max; i++) {
        const cs_x86_op *operand = &x86->operands[i];
        uint64_t address;
        if (operand->type != X86_OP_MEM || !operand_address(state, instruction, operand, &address))
            continue;
        /* capstone leaves access unset for a few instructions: both. */
        uint8_t how = operand->access ? operand->access : (CS_AC_READ | CS_AC_WRITE);
        accesses[count++] = (struct debugger_access){
            .address = address,
            .size = operand->size ? operand->size : 8,
            .read = (how & CS_AC_READ) != 0,
            .write = (how & CS_AC_WRITE) != 0,
        };
    }
    if (count < max)
        count += stack_access(state, instruction->id, &accesses[count]);
    return count;
}

int debugger_instruction_accesses(const struct guest_memory *memory, const struct cpu_state *state,
                                  struct debugger_access *accesses, int max)
{
    uint8_t code[MAX_INSTRUCTION];
    size_t length = read_instruction(memory, state->rip, code);
    csh handle;
    if (length == 0 || cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK)
        return -1;
    cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
    cs_insn *instruction;
    int count = -1;
    if (cs_disasm(handle, code, length, state->rip, 1, &instruction) == 1) {
        count = collect_accesses(state, instruction, accesses, max);
        cs_free(instruction, 1);
    }
    cs_close(&handle);
    return count;
}
