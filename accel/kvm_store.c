/*
 * accel/kvm_store.c — where the program's store to the doorbell page began.
 *
 * KVM hands a write to guest-physical memory outside RAM to the monitor with
 * the instruction already retired: rip is past it. When the write is not the
 * syscall entry's own ring, the program must get SIGSEGV with rip *at* the
 * store, as natively (a handler that returns re-runs it; the report names
 * it). x86 cannot be decoded backwards in general, so every start 1..15
 * bytes before rip is tried: the one that decodes to exactly that length,
 * writes memory, and whose operand's address (from the registers, which a
 * store leaves alone) covers the written address is the store; a tie goes to
 * the one whose operand size is the write's length, then to the nearest.
 */
#include "config.h"
#include "accel/kvm_store.h"
#include "memory/memory.h"

#include <capstone/capstone.h>
#include <string.h>

#define X86_MAX_INSN 15

/* The value of a capstone register from the vCPU's, and whether it is one
 * this file knows (general registers of 64 and 32 bits, and rip). */
static bool register_value(const struct kvm_regs *regs, uint64_t end, unsigned reg, uint64_t *value)
{
    static const struct {
        unsigned r64, r32;
        size_t offset;
    } names[] = {
        {X86_REG_RAX, X86_REG_EAX, offsetof(struct kvm_regs, rax)},
        {X86_REG_RBX, X86_REG_EBX, offsetof(struct kvm_regs, rbx)},
        {X86_REG_RCX, X86_REG_ECX, offsetof(struct kvm_regs, rcx)},
        {X86_REG_RDX, X86_REG_EDX, offsetof(struct kvm_regs, rdx)},
        {X86_REG_RSI, X86_REG_ESI, offsetof(struct kvm_regs, rsi)},
        {X86_REG_RDI, X86_REG_EDI, offsetof(struct kvm_regs, rdi)},
        {X86_REG_RBP, X86_REG_EBP, offsetof(struct kvm_regs, rbp)},
        {X86_REG_RSP, X86_REG_ESP, offsetof(struct kvm_regs, rsp)},
        {X86_REG_R8, X86_REG_R8D, offsetof(struct kvm_regs, r8)},
        {X86_REG_R9, X86_REG_R9D, offsetof(struct kvm_regs, r9)},
        {X86_REG_R10, X86_REG_R10D, offsetof(struct kvm_regs, r10)},
        {X86_REG_R11, X86_REG_R11D, offsetof(struct kvm_regs, r11)},
        {X86_REG_R12, X86_REG_R12D, offsetof(struct kvm_regs, r12)},
        {X86_REG_R13, X86_REG_R13D, offsetof(struct kvm_regs, r13)},
        {X86_REG_R14, X86_REG_R14D, offsetof(struct kvm_regs, r14)},
        {X86_REG_R15, X86_REG_R15D, offsetof(struct kvm_regs, r15)},
    };
    if (reg == X86_REG_INVALID) {
        *value = 0;
        return true;
    }
    if (reg == X86_REG_RIP || reg == X86_REG_EIP) {
        *value = reg == X86_REG_RIP ? end : (uint32_t)end;
        return true;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint64_t full;
        memcpy(&full, (const char *)regs + names[i].offset, sizeof full);
        if (reg == names[i].r64 || reg == names[i].r32) {
            *value = reg == names[i].r64 ? full : (uint32_t)full;
            return true;
        }
    }
    return false;
}

/* How well the instruction at `start` explains the write: 0 not at all, 1 a
 * memory write covering `address`, 2 of exactly `length` bytes too. */
static int store_score(const cs_insn *insn, const struct kvm_store_exit *store)
{
    const cs_x86 *x86 = &insn->detail->x86;
    int best = 0;
    for (unsigned i = 0; i < x86->op_count; i++) {
        const cs_x86_op *op = &x86->operands[i];
        /* Capstone 4 marks some SSE stores' destination as read only: in
         * its (Intel) operand order the destination comes first. */
        bool written = (op->access & CS_AC_WRITE) || i == 0;
        if (op->type != X86_OP_MEM || !written)
            continue;
        uint64_t base, index;
        if (!register_value(store->regs, store->end, op->mem.base, &base) ||
            !register_value(store->regs, store->end, op->mem.index, &index))
            continue;
        uint64_t address = base + index * (uint64_t)op->mem.scale + (uint64_t)op->mem.disp;
        if (op->mem.segment == X86_REG_FS)
            address += store->fs_base;
        else if (op->mem.segment == X86_REG_GS)
            address += store->gs_base;
        unsigned size = op->size ? op->size : 64;
        if (store->address < address || store->address - address >= size)
            continue;
        int score = op->size == store->length ? 2 : 1;
        best = score > best ? score : best;
    }
    return best;
}

uint64_t kvm_store_start(struct guest_memory *memory, const struct kvm_store_exit *store)
{
    uint8_t bytes[X86_MAX_INSN];
    csh handle;
    if (store->end < X86_MAX_INSN ||
        guest_read(memory, store->end - X86_MAX_INSN, bytes, sizeof bytes, GUEST_ACCESS_DEBUG) < 0)
        return 0;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK)
        return 0;
    cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
    uint64_t found = 0;
    int found_score = 0;
    /* Nearest first, so a tie keeps the shortest instruction. */
    for (size_t length = 1; length <= X86_MAX_INSN; length++) {
        uint64_t start = store->end - length;
        cs_insn *insn;
        size_t count = cs_disasm(handle, bytes + X86_MAX_INSN - length, length, start, 1, &insn);
        if (count == 1 && insn->size == length) {
            int score = store_score(insn, store);
            if (score > found_score) {
                found = start;
                found_score = score;
            }
        }
        if (count)
            cs_free(insn, count);
    }
    cs_close(&handle);
    return found;
}
