/*
 * accel/kvm_store.h — finding the start of a store KVM has already retired
 * (the program's write to the doorbell page; see kvm_store.c).
 */
#ifndef HERMITUX_KVM_STORE_H
#define HERMITUX_KVM_STORE_H

#include <linux/kvm.h>
#include <stdint.h>

struct guest_memory;

struct kvm_store_exit {
    const struct kvm_regs *regs; /* after the store (rip = end) */
    uint64_t fs_base, gs_base;
    uint64_t end;     /* rip past the store */
    uint64_t address; /* guest-virtual address written */
    unsigned length;  /* bytes of this write (KVM splits wide ones) */
};

/* The address of the store's first byte, or 0 if no instruction ending at
 * `end` explains the write. */
uint64_t kvm_store_start(struct guest_memory *memory, const struct kvm_store_exit *store);

#endif
