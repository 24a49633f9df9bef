/*
 * accel/kvm.c — the KVM accelerator.
 *
 * Uses only the standard KVM API, so it runs on hardware KVM (VMX/SVM) and on
 * PVM alike; where they differ (see docs/platform-notes in the README), the
 * difference is handled at the exit, not by guessing the host:
 *   - `syscall` from CPL3 reaches the kernel's syscall entry at CPL3 on PVM
 *     and at CPL0 on hardware; the entry rings the doorbell either way, and
 *     this file returns to user mode itself (rip = rcx, rflags = r11, and the
 *     user CS/SS when the CPU was at CPL0).
 *   - exceptions arrive through the guest kernel's IDT stubs as one port
 *     write each; the stub's frame is presented as the program's state.
 */
#include "config.h"
#include "accel/accel.h"
#include "accel/cpu_x86_64.h"
#include "accel/kvm_store.h"
#include "kernel/abi.h"
#include "memory/memory.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define KVM_REQUIRED_API 12

/* What the vCPUs of one VM share. */
struct kvm_vm {
    struct guest_memory *memory;
    int kvm_fd, vm_fd;
    size_t run_size;
    uint64_t doorbell_gpa;
    /* A one-page memslot above RAM and the doorbell, deleted and re-added to
     * flush (see kvm_reload_memslot); NULL when KVM refused it. */
    void *flush_page;
    /* RAM is given to KVM in chunks as they come into use (slot
     * KVM_RAM_SLOT_BASE + chunk index), unless there are too many: then
     * one slot 0 holds it all. */
    bool chunked;
    pid_t owner; /* the process the VM belongs to (a fork's child has a copy of the hook) */
    /* KVM_CAP_SYNC_REGS: registers travel in the run structure, saving two
     * ioctls per exit. */
    bool sync_regs;
    struct kvm_cpuid2 *cpuid; /* what every vCPU is given */
    GMutex lock;              /* the fields below */
    /* The memory's unseen generation KVM's translations were last dropped at
     * (changes the MMU notifiers carry need no flush). One memslot reload
     * drops every vCPU's translations. */
    uint64_t generation;
    int vcpus;      /* alive (the VM goes with the last) */
    int next_index; /* KVM vCPU ids handed out */
    /* vCPUs of threads that ended: KVM cannot destroy a vCPU, so they wait
     * here for the next thread (500 threads in waves reuse a few). */
    GPtrArray *spare;
    GPtrArray *active; /* the vCPUs in use */
    /* A flush parks every vCPU outside KVM_RUN (see kvm_flush_if_needed):
     * each holds `running` for reading while it may be in the guest. */
    GMutex flush_lock;
    GRWLock running;
    bool flush_pending; /* __atomic */
    struct accel_capabilities capabilities;
    bool pvm; /* the host's KVM is PVM (kvm_describe) */
    /* A stop right after an int3 is resolved by a step probe (PVM), not
     * taken as a stop like any other (hardware KVM): kvm_describe. */
    bool int3_step_probe;
    /* The syscall entry ran at CPL3 (PVM): a syscall ring can work. */
    bool entry_at_cpl3;     /* __atomic */
    uint64_t syscall_entry; /* LSTAR, read at the first doorbell exit (__atomic) */
};

/* KVM_SET_SIGNAL_MASK's argument: the set follows len directly (offset 4);
 * a uint64_t member would be padded to offset 8 and shift every signal by 32. */
struct kvm_accel_signal_mask {
    struct kvm_signal_mask header;
    uint8_t bits[8];
};

/* One vCPU. */
struct kvm_accel {
    struct accel base;
    struct kvm_vm *vm;
    int vcpu_fd;
    int index;
    struct kvm_run *run;
    /* `sync_valid` once KVM has filled the run structure's registers, or
     * they were read into it. */
    bool sync_valid;
    /* The vCPU's MSRs of kvm_msr_indices as KVM has them (msrs_known):
     * neither the program nor the guest kernel can write them (wrmsr from
     * CPL3 faults; the kernel's boot is not run), so only this file's
     * KVM_SET_MSRS change them, and a copy of the state (a new thread) reads
     * and writes them without an ioctl each (about 8 us on PVM). Kept when
     * a spare vCPU is handed out again. */
    bool msrs_known;
    uint64_t msrs[5];
    bool ran; /* a KVM_RUN has returned since the vCPU was made or reused */
    /* The last KVM_RUN was interrupted (a kick): an exception may be queued
     * for injection (an int3's #BP, its rip already past the int3). */
    bool interrupted;
    /* Set while the vCPU sits in an exception stub: the program's rip,
     * rflags, rsp, cs and ss are in the stub's frame, not in the vCPU. */
    bool in_exception;
    bool frame_dirty;
    uint64_t frame_address;
    struct hx_exception_frame frame;
    /* Resumed from an exception stub (in_exception cleared): until the
     * vCPU runs again, it may still be in the stub's tail (kvm_back_in_stub). */
    bool left_stub;
    /* Resumed from an exception stub with KVM's single step armed: the
     * stub's tail is stepped through first (kvm_step_through_stub). */
    bool step_leaving_stub;
    /* The step probe of a stop right after an int3 (kvm_start_int3_probe):
     * wanted at the stop, under way from the next KVM_RUN to the exception
     * exit that ends it, KVM's single step armed until its first exit. */
    bool int3_probe_wanted;
    bool int3_probing;
    bool int3_probe_armed;
    struct kvm_guest_debug debug; /* as last set (kvm_set_debug) */
    bool signal_mask_set;         /* KVM_SET_SIGNAL_MASK done on the owner thread */
    /* The mask KVM has (a spare vCPU keeps it: the next thread's is most
     * often the same, and needs no ioctl). */
    struct kvm_accel_signal_mask signal_mask;
    bool in_guest; /* holds vm->running, in or about to be in KVM_RUN (__atomic) */
    /* The syscall ring (accel.h), and where its entry's page is mapped. */
    struct accel_ring *ring;
    uint64_t ring_code;
    /* The vCPU's XSAVE image as last read or written, valid until the
     * guest runs again: a signal's delivery reads the FP state and then
     * sets the handler's, which then needs no second KVM_GET_XSAVE. */
    struct kvm_xsave *xsave;
    bool xsave_valid;
};

static struct kvm_accel *kvm_of(struct accel *accel)
{
    return (struct kvm_accel *)accel;
}

static bool kvm_probe(char *why, size_t why_size)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_size, "/dev/kvm: %s", strerror(errno));
        return false;
    }
    int version = ioctl(fd, KVM_GET_API_VERSION, 0);
    close(fd);
    if (version != KVM_REQUIRED_API) {
        snprintf(why, why_size, "/dev/kvm speaks KVM API %d, not %d", version, KVM_REQUIRED_API);
        return false;
    }
    return true;
}

/* The host's CPUID as KVM supports it, given to every vCPU so the program's
 * libc picks the same string and memory routines it would natively. */
/* What KVM_GET_SUPPORTED_CPUID said in this process (or in the parent a
 * fork's child was copied from, or the monitor a guest execve replaced:
 * kvm_carry_load): the same for every VM on this host, and the ioctl
 * costs about 0.27 ms on PVM, paid again by every new VM otherwise. */
static struct kvm_cpuid2 *kvm_supported_cpuid;

static size_t kvm_cpuid_size(const struct kvm_cpuid2 *cpuid)
{
    return sizeof(*cpuid) + cpuid->nent * sizeof(struct kvm_cpuid_entry2);
}

static int kvm_get_cpuid(struct kvm_vm *vm, char **error)
{
    if (kvm_supported_cpuid) {
        vm->cpuid = g_memdup2(kvm_supported_cpuid, kvm_cpuid_size(kvm_supported_cpuid));
        return 0;
    }
    int count = 128;
    for (;;) {
        vm->cpuid = g_malloc0(sizeof(*vm->cpuid) + count * sizeof(struct kvm_cpuid_entry2));
        vm->cpuid->nent = count;
        if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) == 0) {
            kvm_supported_cpuid = g_memdup2(vm->cpuid, kvm_cpuid_size(vm->cpuid));
            return 0;
        }
        g_clear_pointer(&vm->cpuid, g_free);
        if (errno != E2BIG || count > 4096) {
            *error = g_strdup_printf("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
            return -errno;
        }
        count *= 2;
    }
}

/* The supported CPUID as a monitor carries it across a guest execve
 * (accel.h's carry_save): a magic number, the count, the entries. */
#define KVM_CARRY_MAGIC     0x50435848u /* "HXCP" */
#define KVM_CARRY_MAX_ENTRY 4096u

struct kvm_carry_header {
    uint32_t magic, nent;
};

static void *kvm_carry_save(size_t *size)
{
    if (!kvm_supported_cpuid)
        return NULL;
    size_t entries = kvm_supported_cpuid->nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_carry_header header = {KVM_CARRY_MAGIC, kvm_supported_cpuid->nent};
    uint8_t *data = g_malloc(sizeof(header) + entries);
    memcpy(data, &header, sizeof(header));
    memcpy(data + sizeof(header), kvm_supported_cpuid->entries, entries);
    *size = sizeof(header) + entries;
    return data;
}

static void kvm_carry_load(const void *data, size_t size)
{
    struct kvm_carry_header header;
    if (kvm_supported_cpuid || size < sizeof(header))
        return;
    memcpy(&header, data, sizeof(header));
    if (header.magic != KVM_CARRY_MAGIC || header.nent == 0 || header.nent > KVM_CARRY_MAX_ENTRY ||
        size != sizeof(header) + header.nent * sizeof(struct kvm_cpuid_entry2))
        return;
    struct kvm_cpuid2 *cpuid = g_malloc0(sizeof(*cpuid) + header.nent * sizeof(cpuid->entries[0]));
    cpuid->nent = header.nent;
    memcpy(cpuid->entries, (const uint8_t *)data + sizeof(header),
           header.nent * sizeof(cpuid->entries[0]));
    kvm_supported_cpuid = cpuid;
}

/* The XSAVE components a guest may have: x87, SSE, AVX, AVX-512's three
 * (opmask, ZMM_Hi256, Hi16_ZMM) and PKRU, as Linux puts them in a signal
 * frame where the CPU has them. Not AMX (KVM needs a permission request and
 * a larger area for it). */
#define KVM_XCR0_X87_SSE 0x3ULL
#define KVM_XCR0_AVX     0x4ULL
#define KVM_XCR0_AVX512  0xe0ULL
#define KVM_XCR0_PKRU    0x200ULL

static struct kvm_cpuid_entry2 *kvm_cpuid_entry(struct kvm_cpuid2 *cpuid, uint32_t function,
                                                uint32_t index)
{
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        if (cpuid->entries[i].function == function && cpuid->entries[i].index == index)
            return &cpuid->entries[i];
    }
    return NULL;
}

/* The XCR0 this guest gets: what both KVM (its CPUID leaf 0xd) and the
 * host CPU offer of the components above, AVX only with SSE and AVX-512
 * only whole and with AVX, as XSETBV requires. The host's CPUID counts
 * because on PVM the program's cpuid is not intercepted: it sees the
 * host's (measured), while KVM_GET_SUPPORTED_CPUID there even lacks the
 * XSAVE bit of leaf 1. */
static uint64_t kvm_xcr0_wanted(struct kvm_cpuid2 *cpuid)
{
    const struct kvm_cpuid_entry2 *leafd = kvm_cpuid_entry(cpuid, 0xd, 0);
    unsigned eax, ebx, ecx, edx;
    if (!leafd || !__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_XSAVE))
        return 0;
    __cpuid_count(0xd, 0, eax, ebx, ecx, edx);
    uint64_t offered = leafd->eax & eax;
    if ((offered & KVM_XCR0_X87_SSE) != KVM_XCR0_X87_SSE)
        return 0;
    uint64_t xcr0 = KVM_XCR0_X87_SSE;
    if (offered & KVM_XCR0_AVX) {
        xcr0 |= KVM_XCR0_AVX;
        if ((offered & KVM_XCR0_AVX512) == KVM_XCR0_AVX512)
            xcr0 |= KVM_XCR0_AVX512;
    }
    return xcr0 | (offered & KVM_XCR0_PKRU);
}

/* Clears CPUID feature bits whose state xcr0 does not hold, so that the
 * program's CPUID advertises exactly what the signal frame saves (glibc
 * and compilers' dispatchers look at CPUID first). */
static void kvm_narrow_cpuid_features(struct kvm_cpuid2 *cpuid, uint64_t xcr0)
{
    struct kvm_cpuid_entry2 *leaf1 = kvm_cpuid_entry(cpuid, 1, 0);
    struct kvm_cpuid_entry2 *leaf7 = kvm_cpuid_entry(cpuid, 7, 0);
    struct kvm_cpuid_entry2 *leaf7_1 = kvm_cpuid_entry(cpuid, 7, 1);
    if (!(xcr0 & KVM_XCR0_AVX512) && leaf7) {
        /* F, DQ, IFMA, PF, ER, CD, BW, VL; VBMI, VBMI2, VNNI, BITALG,
         * VPOPCNTDQ; 4VNNIW, 4FMAPS, VP2INTERSECT, FP16 */
        leaf7->ebx &= ~0xdc230000u;
        leaf7->ecx &= ~0x00005842u;
        leaf7->edx &= ~0x0080010cu;
        if (leaf7_1)
            leaf7_1->eax &= ~0x20u; /* AVX512_BF16 */
    }
    if (!(xcr0 & KVM_XCR0_AVX)) {
        if (leaf1)
            leaf1->ecx &= ~((1u << 12) | (1u << 28) | (1u << 29)); /* FMA, AVX, F16C */
        if (leaf7)
            leaf7->ebx &= ~(1u << 5); /* AVX2 */
        if (leaf7_1)
            leaf7_1->eax &= ~(1u << 4); /* AVX-VNNI */
    }
}

/* ABM (LZCNT) where the host CPU has it: an instruction of the program's
 * own, run by the CPU without KVM's help, which PVM on Linux 6.18 leaves
 * out of KVM_GET_SUPPORTED_CPUID (its program then took the slower path
 * that natively it does not). */
#define KVM_CPUID_ABM (1u << 5) /* leaf 0x80000001, ecx */

static void kvm_add_host_features(struct kvm_cpuid2 *cpuid)
{
    struct kvm_cpuid_entry2 *extended = kvm_cpuid_entry(cpuid, 0x80000001, 0);
    unsigned eax, ebx, ecx, edx;
    if (extended && __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx))
        extended->ecx |= ecx & KVM_CPUID_ABM;
}

/* Narrows the guest's CPUID leaf 0xd (the XSAVE components and their
 * areas) and the features needing them to xcr0. */
static void kvm_narrow_cpuid_xsave(struct kvm_cpuid2 *cpuid, uint64_t xcr0)
{
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *entry = &cpuid->entries[i];
        if (entry->function != 0xd)
            continue;
        if (entry->index == 0) {
            entry->eax &= (uint32_t)xcr0;
            entry->edx = 0;
        } else if (entry->index >= 2 && entry->index < 64 && !(xcr0 & (1ULL << entry->index))) {
            entry->eax = entry->ebx = entry->ecx = entry->edx = 0;
        }
    }
    kvm_narrow_cpuid_features(cpuid, xcr0);
}

/* The standard-format XSAVE area size for xcr0: the legacy area and header,
 * then the highest component's end (CPUID 0xd.i: size in eax, offset in
 * ebx). */
static uint32_t kvm_xsave_size(struct kvm_cpuid2 *cpuid, uint64_t xcr0)
{
    uint32_t size = 512 + 64;
    for (unsigned i = 2; i < 64; i++) {
        const struct kvm_cpuid_entry2 *entry = kvm_cpuid_entry(cpuid, 0xd, i);
        if ((xcr0 & (1ULL << i)) && entry && entry->ebx + entry->eax > size)
            size = entry->ebx + entry->eax;
    }
    return size;
}

/* Sets the vCPU's XCR0 to what the guest's CPUID offers (a Linux kernel
 * enables all of it), so AVX code in the program runs. The first vCPU
 * records the XSAVE state get_xsave serves; none if KVM cannot give it. */
static void kvm_setup_xcr0(struct kvm_accel *kvm)
{
    struct kvm_vm *vm = kvm->vm;
    uint64_t wanted = kvm_xcr0_wanted(vm->cpuid);
    if (!wanted || ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) <= 0)
        return;
    struct kvm_xcrs xcrs = {.nr_xcrs = 1};
    xcrs.xcrs[0].xcr = 0;
    xcrs.xcrs[0].value = wanted;
    if (ioctl(kvm->vcpu_fd, KVM_SET_XCRS, &xcrs) < 0) {
        xcrs.xcrs[0].value = wanted & ~KVM_XCR0_PKRU;
        if (ioctl(kvm->vcpu_fd, KVM_SET_XCRS, &xcrs) < 0) {
            xcrs.xcrs[0].value = wanted & (KVM_XCR0_X87_SSE | KVM_XCR0_AVX);
            (void)ioctl(kvm->vcpu_fd, KVM_SET_XCRS, &xcrs);
        }
    }
    if (kvm->index != 0 || ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) <= 0)
        return;
    struct kvm_xcrs now = {0};
    if (ioctl(kvm->vcpu_fd, KVM_GET_XCRS, &now) < 0 || now.nr_xcrs < 1)
        return;
    uint32_t size = kvm_xsave_size(vm->cpuid, now.xcrs[0].value);
    if (size > sizeof(((struct kvm_xsave *)0)->region))
        return;
    vm->capabilities.xsave_features = now.xcrs[0].value;
    vm->capabilities.xsave_size = size;
}

/*
 * Whether the guest's TSC reads as the host's, for the vDSO's clock. PVM
 * guests run on the host's counter as it is (measured). Hardware KVM starts a
 * guest's TSC near zero; a TSC offset of 0 (KVM_VCPU_TSC_OFFSET, Linux 5.16)
 * makes it the host's. Without that the vDSO falls back to syscalls.
 */
static bool kvm_share_host_tsc(int vcpu_fd)
{
    if (access("/sys/module/kvm_pvm", F_OK) == 0)
        return true;
    uint64_t offset = 0;
    struct kvm_device_attr attr = {
        .group = KVM_VCPU_TSC_CTRL,
        .attr = KVM_VCPU_TSC_OFFSET,
        .addr = (uint64_t)(uintptr_t)&offset,
    };
    return ioctl(vcpu_fd, KVM_SET_DEVICE_ATTR, &attr) == 0;
}

static const char *kvm_host_flavour(void)
{
    if (access("/sys/module/kvm_pvm", F_OK) == 0)
        return "PVM (shadow paging, CPL0 emulated)";
    if (access("/sys/module/kvm_intel", F_OK) == 0)
        return "hardware (VMX)";
    if (access("/sys/module/kvm_amd", F_OK) == 0)
        return "hardware (SVM)";
    return "unknown";
}

static void kvm_vm_free(struct kvm_vm *vm)
{
    if (vm->spare) {
        for (guint i = 0; i < vm->spare->len; i++) {
            struct kvm_accel *kvm = g_ptr_array_index(vm->spare, i);
            munmap(kvm->run, vm->run_size);
            close(kvm->vcpu_fd);
            g_free(kvm->xsave);
            g_free(kvm);
        }
        g_ptr_array_free(vm->spare, TRUE);
    }
    if (vm->active)
        g_ptr_array_free(vm->active, TRUE);
    g_mutex_clear(&vm->flush_lock);
    g_rw_lock_clear(&vm->running);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    g_free(vm->cpuid);
    g_mutex_clear(&vm->lock);
    if (vm->flush_page)
        munmap(vm->flush_page, GUEST_PAGE_SIZE);
    if (vm->chunked)
        guest_memory_set_chunk_hook(vm->memory, NULL, NULL);
    g_free(vm);
}

static void kvm_vcpu_close(struct kvm_accel *kvm, size_t run_size)
{
    if (kvm->run && kvm->run != MAP_FAILED)
        munmap(kvm->run, run_size);
    if (kvm->vcpu_fd >= 0)
        close(kvm->vcpu_fd);
    g_free(kvm->xsave);
    g_free(kvm);
}

/* Releases a vCPU: into the VM's spares, or with the VM when it is the last.
 * A vCPU that never got its fd is simply freed. */
static void kvm_destroy(struct accel *accel)
{
    struct kvm_accel *kvm = kvm_of(accel);
    if (!kvm)
        return;
    struct kvm_vm *vm = kvm->vm;
    kvm->ring = NULL; /* a spare vCPU's next thread starts without one */
    kvm->ring_code = 0;
    /* A fork's child drops the parent's vCPU of the forking thread: the
     * VM's lock may have been held by another of the parent's threads at
     * the fork, and stays so here; nothing else runs in the child. */
    bool forked = vm->owner != getpid();
    bool unusable = kvm->vcpu_fd < 0 || !kvm->run || kvm->run == MAP_FAILED;
    if (unusable)
        kvm_vcpu_close(kvm, vm->run_size);
    if (!forked)
        g_mutex_lock(&vm->lock);
    if (!unusable) {
        g_ptr_array_remove(vm->active, kvm);
        g_ptr_array_add(vm->spare, kvm);
    }
    bool last = --vm->vcpus == 0;
    if (!forked)
        g_mutex_unlock(&vm->lock);
    if (last)
        kvm_vm_free(vm);
}

static void kvm_activate(struct kvm_accel *kvm)
{
    g_mutex_lock(&kvm->vm->lock);
    g_ptr_array_add(kvm->vm->active, kvm);
    g_mutex_unlock(&kvm->vm->lock);
}

/* The first KVM_RUN of a task makes KVM start what it needs for the VM (a
 * worker thread on x86): refused, for example under RLIMIT_NPROC, every
 * KVM_RUN then fails with EAGAIN for ever. Asked once at creation with
 * immediate_exit, so the failure is an error here (a fork's child dies
 * before the parent is told it exists) and not a spin later. */
static int kvm_probe_run(struct kvm_accel *kvm, char **error)
{
    kvm->run->immediate_exit = 1;
    int result = ioctl(kvm->vcpu_fd, KVM_RUN, 0);
    int run_errno = errno;
    kvm->run->immediate_exit = 0;
    if (result == 0 || run_errno == EINTR)
        return 0;
    *error = g_strdup_printf("KVM_RUN: %s (the host would not start what KVM needs for a VM: "
                             "at the limit of processes, RLIMIT_NPROC?)",
                             strerror(run_errno));
    return -run_errno;
}

/* A vCPU of vm: a spare one, or a new KVM vCPU with its run structure, CPUID
 * and XCR0. NULL with *error. */
static struct kvm_accel *kvm_vcpu_new(struct kvm_vm *vm, char **error)
{
    extern const struct accel_ops kvm_accel_ops;
    g_mutex_lock(&vm->lock);
    vm->vcpus++;
    struct kvm_accel *kvm =
        vm->spare->len ? g_ptr_array_steal_index(vm->spare, vm->spare->len - 1) : NULL;
    int index = kvm ? kvm->index : vm->next_index++;
    g_mutex_unlock(&vm->lock);
    if (kvm) {
        int keep_fd = kvm->vcpu_fd;
        struct kvm_run *keep_run = kvm->run;
        bool debugged = kvm->debug.control != 0;
        struct kvm_accel_signal_mask keep_mask = kvm->signal_mask;
        /* The run structure still holds what KVM has, or what is to be
         * written at the next KVM_RUN (kvm_dirty_regs, kept: the last thread's
         * exit left its result there): a new thread's vCPU is handed out
         * only to kvm_create_vcpu, which sets all of the state over it, so it
         * is not read again (KVM_GET_REGS and KVM_GET_SREGS, ~10 us each on
         * PVM). */
        bool keep_sync = kvm->sync_valid;
        uint64_t keep_dirty = kvm->run->kvm_dirty_regs;
        bool keep_msrs_known = kvm->msrs_known;
        uint64_t keep_msrs[G_N_ELEMENTS(kvm->msrs)];
        memcpy(keep_msrs, kvm->msrs, sizeof(keep_msrs));
        memset(kvm, 0, sizeof(*kvm));
        kvm->msrs_known = keep_msrs_known;
        memcpy(kvm->msrs, keep_msrs, sizeof(keep_msrs));
        kvm->vcpu_fd = keep_fd, kvm->run = keep_run;
        kvm->signal_mask = keep_mask;
        kvm->run->kvm_dirty_regs = keep_sync ? keep_dirty : 0;
        kvm->sync_valid = keep_sync;
        kvm->base.ops = &kvm_accel_ops;
        kvm->vm = vm;
        kvm->index = index;
        struct kvm_guest_debug no_debug = {0};
        if (debugged)
            (void)ioctl(kvm->vcpu_fd, KVM_SET_GUEST_DEBUG, &no_debug);
        if (vm->sync_regs)
            kvm->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
        kvm_activate(kvm);
        return kvm;
    }
    kvm = g_new0(struct kvm_accel, 1);
    kvm->base.ops = &kvm_accel_ops;
    kvm->vm = vm;
    kvm->index = index;
    kvm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, index);
    if (kvm->vcpu_fd < 0) {
        *error = g_strdup_printf("KVM_CREATE_VCPU %d: %s", index, strerror(errno));
        goto fail;
    }
    kvm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kvm->vcpu_fd, 0);
    if (kvm->run == MAP_FAILED) {
        *error = g_strdup_printf("mmap of the vCPU run structure: %s", strerror(errno));
        goto fail;
    }
    if (ioctl(kvm->vcpu_fd, KVM_SET_CPUID2, vm->cpuid) < 0) {
        *error = g_strdup_printf("KVM_SET_CPUID2: %s", strerror(errno));
        goto fail;
    }
    kvm_setup_xcr0(kvm);
    /* What KVM starts is the VM's, once: a later vCPU has nothing to ask. */
    if (index == 0 && kvm_probe_run(kvm, error) < 0)
        goto fail;
    /* Every vCPU's counter is the host's, or none's: the first one decides. */
    bool shared_tsc = kvm_share_host_tsc(kvm->vcpu_fd);
    if (index == 0)
        vm->capabilities.host_tsc = shared_tsc;
    if (vm->sync_regs)
        kvm->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    kvm_activate(kvm);
    return kvm;

fail:
    kvm_destroy(&kvm->base);
    return NULL;
}

static void kvm_describe(struct kvm_vm *vm)
{
    struct accel_capabilities *caps = &vm->capabilities;
    caps->translate = true;
    int guest_debug = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG) > 0;
    bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
    vm->pvm = pvm;
    /* Measured on PVM: KVM_SET_GUEST_DEBUG steps and breaks in CPL0 code
     * only, and data breakpoints never fire; hardware KVM does all. */
    caps->kernel_single_step = guest_debug;
    caps->kernel_hw_breakpoints = guest_debug;
    caps->user_single_step = guest_debug && !pvm;
    caps->user_hw_breakpoints = guest_debug && !pvm;
    caps->watchpoints = guest_debug && !pvm;
    /* On PVM a program's int3 is a KVM exit whose #BP KVM queues and
     * delivers at the next entry: a kick in between leaves a stop that looks
     * like one after an int3 whose trap already came. The CPU delivers it
     * itself on hardware KVM. */
    vm->int3_step_probe = pvm;
    /* KVM_SET_SREGS loads any privilege level (new threads' vCPUs start at
     * CPL3 that way too). */
    caps->user_entry = true;
    snprintf(caps->description, sizeof(caps->description),
             "kvm: host KVM %s; sync regs %s; syscalls through the doorbell (one MMIO exit "
             "each); exceptions through guest IDT stubs (one PIO exit each); "
             "KVM_SET_GUEST_DEBUG %s; a stop right after an int3 %s; one vCPU per thread",
             kvm_host_flavour(), vm->sync_regs ? "yes" : "no",
             !guest_debug ? "absent"
             : pvm        ? "for guest-kernel code only"
                          : "for kernel and program",
             vm->int3_step_probe ? "resolved by a single-step probe (its #BP may be queued)"
                                 : "an ordinary stop (the CPU delivers its #BP)");
}

static void kvm_add_flush_slot(struct kvm_vm *vm);
static int kvm_add_ram(struct kvm_vm *vm);

static struct accel *kvm_create(struct guest_memory *memory, char **error)
{
    struct kvm_vm *vm = g_new0(struct kvm_vm, 1);
    g_mutex_init(&vm->lock);
    vm->memory = memory;
    /* A new VM has no translations to drop (a fork's child builds one over
     * memory that has seen many changes: a reload there cost ~18 ms). */
    vm->generation = guest_memory_unseen_generation(memory);
    vm->kvm_fd = vm->vm_fd = -1;
    vm->spare = g_ptr_array_new();
    vm->active = g_ptr_array_new();
    g_mutex_init(&vm->flush_lock);
    g_rw_lock_init(&vm->running);
    vm->doorbell_gpa = HX_DOORBELL_PHYSICAL(guest_memory_ram_size(memory));

    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        *error = g_strdup_printf("cannot open /dev/kvm: %s (is KVM enabled and are you in the "
                                 "kvm group? or use --accel=tcg)",
                                 strerror(errno));
        goto fail;
    }
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        *error = g_strdup_printf("KVM_CREATE_VM: %s", strerror(errno));
        goto fail;
    }
    int ram_result = kvm_add_ram(vm);
    if (ram_result < 0) {
        *error = g_strdup_printf("KVM_SET_USER_MEMORY_REGION (%llu MiB of RAM): %s",
                                 (unsigned long long)(guest_memory_ram_size(memory) >> 20),
                                 strerror(-ram_result));
        goto fail;
    }
    kvm_add_flush_slot(vm);
    int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0) {
        *error = g_strdup_printf("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
        goto fail;
    }
    vm->run_size = (size_t)run_size;
    if (kvm_get_cpuid(vm, error) < 0)
        goto fail;
    kvm_narrow_cpuid_xsave(vm->cpuid, kvm_xcr0_wanted(vm->cpuid));
    kvm_add_host_features(vm->cpuid);
    int sync = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
    vm->sync_regs = sync > 0 && (sync & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
                                    (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
    kvm_describe(vm);
    struct kvm_accel *kvm = kvm_vcpu_new(vm, error);
    if (kvm)
        return &kvm->base;
    return NULL; /* the vCPU's failure freed the VM */

fail:
    kvm_vm_free(vm);
    return NULL;
}

static const struct accel_capabilities *kvm_capabilities(struct accel *accel)
{
    return &kvm_of(accel)->vm->capabilities;
}

/* ---- state ---------------------------------------------------------------- */

static int kvm_load_regs(struct kvm_accel *kvm, struct kvm_regs **regs, struct kvm_sregs **sregs)
{
    if (kvm->vm->sync_regs && kvm->sync_valid) {
        *regs = &kvm->run->s.regs.regs;
        *sregs = &kvm->run->s.regs.sregs;
        return 0;
    }
    /* Before the first exit the run structure holds nothing yet. Once read,
     * it does: what is changed there is written by the next KVM_RUN
     * (kvm_dirty_regs), so a new thread's vCPU, read and set several times
     * before it runs, costs two ioctls instead of eight (an ioctl on a
     * vCPU is 5 to 20 us on PVM). */
    if (ioctl(kvm->vcpu_fd, KVM_GET_REGS, &kvm->run->s.regs.regs) < 0 ||
        ioctl(kvm->vcpu_fd, KVM_GET_SREGS, &kvm->run->s.regs.sregs) < 0)
        return -errno;
    kvm->sync_valid = kvm->vm->sync_regs;
    *regs = &kvm->run->s.regs.regs;
    *sregs = &kvm->run->s.regs.sregs;
    return 0;
}

/*
 * KVM drops an exception queued for injection when the registers are set
 * (x86's __set_regs). One is queued when a kick interrupts KVM_RUN between
 * an exception and its delivery: for a trap such as int3's #BP the rip is
 * already past the instruction, so the program went on one byte into the
 * next instruction as if the int3 were not there (seen under gdb: a
 * SIGCHLD's kick let a breakpoint of the parent run on, 1 run in 50). After
 * such a kick the registers are written at once and the events put back.
 */
static int kvm_store_regs_keeping_events(struct kvm_accel *kvm)
{
    struct kvm_vcpu_events events;
    if (ioctl(kvm->vcpu_fd, KVM_GET_VCPU_EVENTS, &events) < 0)
        return -errno;
    if (ioctl(kvm->vcpu_fd, KVM_SET_REGS, &kvm->run->s.regs.regs) < 0)
        return -errno;
    if ((events.exception.injected || events.exception.pending) &&
        ioctl(kvm->vcpu_fd, KVM_SET_VCPU_EVENTS, &events) < 0)
        return -errno;
    return 0;
}

/* The run structure's registers written to KVM now. */
static int kvm_write_regs(struct kvm_accel *kvm, bool regs, bool sregs)
{
    if (regs && ioctl(kvm->vcpu_fd, KVM_SET_REGS, &kvm->run->s.regs.regs) < 0)
        return -errno;
    if (sregs && ioctl(kvm->vcpu_fd, KVM_SET_SREGS, &kvm->run->s.regs.sregs) < 0)
        return -errno;
    return 0;
}

static int kvm_store_regs(struct kvm_accel *kvm, bool regs_changed, bool sregs_changed)
{
    if (regs_changed && kvm->interrupted) {
        int result = kvm_store_regs_keeping_events(kvm);
        if (result < 0)
            return result;
        regs_changed = false;
    }
    if (kvm->vm->sync_regs && kvm->sync_valid) {
        if (regs_changed)
            kvm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
        if (sregs_changed)
            kvm->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
        return 0;
    }
    return kvm_write_regs(kvm, regs_changed, sregs_changed);
}

/*
 * Registers set before a vCPU's first KVM_RUN wait in the run structure
 * (kvm_load_regs) until it runs. What KVM derives from them at once must
 * see them first: KVM_TRANSLATE walks with CR3 and CR4, KVM_SET_GUEST_DEBUG
 * takes the rip a single step starts from.
 */
static int kvm_write_pending_regs(struct kvm_accel *kvm)
{
    uint64_t dirty = kvm->run->kvm_dirty_regs;
    if (kvm->ran || !dirty)
        return 0;
    int result = kvm_write_regs(kvm, dirty & KVM_SYNC_X86_REGS, dirty & KVM_SYNC_X86_SREGS);
    if (result == 0)
        kvm->run->kvm_dirty_regs = 0;
    return result;
}

static void segment_from_kvm(struct cpu_segment *out, const struct kvm_segment *in)
{
    *out = (struct cpu_segment){
        .base = in->base,
        .limit = in->limit,
        .selector = in->selector,
        .type = in->type,
        .present = in->present,
        .dpl = in->dpl,
        .db = in->db,
        .s = in->s,
        .l = in->l,
        .g = in->g,
        .avl = in->avl,
        .unusable = in->unusable,
    };
}

static void segment_to_kvm(struct kvm_segment *out, const struct cpu_segment *in)
{
    *out = (struct kvm_segment){
        .base = in->base,
        .limit = in->limit,
        .selector = in->selector,
        .type = in->type,
        .present = in->present,
        .dpl = in->dpl,
        .db = in->db,
        .s = in->s,
        .l = in->l,
        .g = in->g,
        .avl = in->avl,
        .unusable = in->unusable,
    };
}

/* The user-mode code and stack segments the kernel's GDT describes. */
static void user_segments(struct kvm_segment *cs, struct kvm_segment *ss)
{
    *cs = (struct kvm_segment){.selector = HX_SELECTOR_USER_CODE,
                               .limit = 0xffffffff,
                               .type = 11,
                               .present = 1,
                               .dpl = 3,
                               .s = 1,
                               .l = 1,
                               .g = 1};
    *ss = (struct kvm_segment){.selector = HX_SELECTOR_USER_DATA,
                               .limit = 0xffffffff,
                               .type = 3,
                               .present = 1,
                               .dpl = 3,
                               .s = 1,
                               .db = 1,
                               .g = 1};
}

static const uint32_t kvm_msr_indices[] = {MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
                                           MSR_FMASK};
#define KVM_MSR_COUNT (sizeof(kvm_msr_indices) / sizeof(kvm_msr_indices[0]))
_Static_assert(KVM_MSR_COUNT == G_N_ELEMENTS(((struct kvm_accel *)0)->msrs),
               "struct kvm_accel's msrs holds kvm_msr_indices' values");

struct kvm_msr_block {
    struct kvm_msrs header;
    struct kvm_msr_entry entries[KVM_MSR_COUNT];
};

static void kvm_cancel_int3_probe(struct kvm_accel *kvm);

static bool kvm_in_ring_area(uint64_t address)
{
    return address >= HX_RING_BASE && address < HX_RING_BASE + HX_RING_COUNT * HX_RING_STRIDE;
}

static int kvm_get_state(struct accel *accel, struct cpu_state *state, unsigned parts)
{
    struct kvm_accel *kvm = kvm_of(accel);
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    int result = kvm_load_regs(kvm, &regs, &sregs);
    if (result < 0)
        return result;
    if (parts & CPU_STATE_GPRS) {
        state->rax = regs->rax, state->rbx = regs->rbx, state->rcx = regs->rcx;
        state->rdx = regs->rdx, state->rsi = regs->rsi, state->rdi = regs->rdi;
        state->rbp = regs->rbp, state->rsp = regs->rsp;
        state->r8 = regs->r8, state->r9 = regs->r9, state->r10 = regs->r10;
        state->r11 = regs->r11, state->r12 = regs->r12, state->r13 = regs->r13;
        state->r14 = regs->r14, state->r15 = regs->r15;
        state->rip = regs->rip, state->rflags = regs->rflags;
        if (kvm->in_exception) {
            state->rip = kvm->frame.rip;
            state->rflags = kvm->frame.rflags;
            state->rsp = kvm->frame.rsp;
        }
    }
    if (parts & CPU_STATE_SEGMENTS) {
        segment_from_kvm(&state->cs, &sregs->cs);
        segment_from_kvm(&state->ds, &sregs->ds);
        segment_from_kvm(&state->es, &sregs->es);
        segment_from_kvm(&state->fs, &sregs->fs);
        segment_from_kvm(&state->gs, &sregs->gs);
        segment_from_kvm(&state->ss, &sregs->ss);
        segment_from_kvm(&state->tr, &sregs->tr);
        segment_from_kvm(&state->ldt, &sregs->ldt);
        state->gdt = (struct cpu_descriptor_table){sregs->gdt.base, sregs->gdt.limit};
        state->idt = (struct cpu_descriptor_table){sregs->idt.base, sregs->idt.limit};
        if (kvm->in_exception && (kvm->frame.cs & 3) == 3) {
            struct kvm_segment cs, ss;
            user_segments(&cs, &ss);
            segment_from_kvm(&state->cs, &cs);
            segment_from_kvm(&state->ss, &ss);
        }
    }
    if (parts & CPU_STATE_CONTROL) {
        state->cr0 = sregs->cr0, state->cr2 = sregs->cr2, state->cr3 = sregs->cr3;
        state->cr4 = sregs->cr4, state->cr8 = sregs->cr8, state->efer = sregs->efer;
    }
    if (parts & CPU_STATE_MSRS) {
        if (!kvm->msrs_known) {
            struct kvm_msr_block block = {.header.nmsrs = KVM_MSR_COUNT};
            for (size_t i = 0; i < KVM_MSR_COUNT; i++)
                block.entries[i].index = kvm_msr_indices[i];
            if (ioctl(kvm->vcpu_fd, KVM_GET_MSRS, &block) != (int)KVM_MSR_COUNT)
                return -EIO;
            for (size_t i = 0; i < KVM_MSR_COUNT; i++)
                kvm->msrs[i] = block.entries[i].data;
            kvm->msrs_known = true;
        }
        state->kernel_gs_base = kvm->msrs[0];
        state->star = kvm->msrs[1];
        /* A ring entry is this vCPU's own: a copy of the state (a new
         * thread, a fork's child) starts at the doorbell entry. */
        state->lstar = kvm_in_ring_area(kvm->msrs[2]) ? HX_KERNEL_BASE : kvm->msrs[2];
        state->cstar = kvm->msrs[3];
        state->fmask = kvm->msrs[4];
    }
    return 0;
}

static int kvm_set_state(struct accel *accel, const struct cpu_state *state, unsigned parts)
{
    struct kvm_accel *kvm = kvm_of(accel);
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    int result = kvm_load_regs(kvm, &regs, &sregs);
    if (result < 0)
        return result;
    bool regs_changed = false, sregs_changed = false;
    if (parts & CPU_STATE_GPRS) {
        /* Written registers decide for the probe (and, as ever, drop a #BP
         * still queued): the program goes on from what they say. */
        kvm_cancel_int3_probe(kvm);
        regs->rax = state->rax, regs->rbx = state->rbx, regs->rcx = state->rcx;
        regs->rdx = state->rdx, regs->rsi = state->rsi, regs->rdi = state->rdi;
        regs->rbp = state->rbp;
        regs->r8 = state->r8, regs->r9 = state->r9, regs->r10 = state->r10;
        regs->r11 = state->r11, regs->r12 = state->r12, regs->r13 = state->r13;
        regs->r14 = state->r14, regs->r15 = state->r15;
        if (kvm->in_exception) {
            kvm->frame.rip = state->rip;
            kvm->frame.rflags = state->rflags;
            kvm->frame.rsp = state->rsp;
            kvm->frame_dirty = true;
        } else {
            regs->rip = state->rip, regs->rflags = state->rflags, regs->rsp = state->rsp;
        }
        regs_changed = true;
    }
    if (parts & CPU_STATE_SEGMENTS) {
        /* Inside an exception stub the vCPU's own CS/SS must stay the
         * kernel's; the frame's selectors decide where iretq returns. */
        if (!kvm->in_exception) {
            segment_to_kvm(&sregs->cs, &state->cs);
            segment_to_kvm(&sregs->ss, &state->ss);
        }
        segment_to_kvm(&sregs->ds, &state->ds);
        segment_to_kvm(&sregs->es, &state->es);
        segment_to_kvm(&sregs->fs, &state->fs);
        segment_to_kvm(&sregs->gs, &state->gs);
        segment_to_kvm(&sregs->tr, &state->tr);
        segment_to_kvm(&sregs->ldt, &state->ldt);
        sregs->gdt.base = state->gdt.base, sregs->gdt.limit = state->gdt.limit;
        sregs->idt.base = state->idt.base, sregs->idt.limit = state->idt.limit;
        sregs_changed = true;
    }
    if (parts & CPU_STATE_CONTROL) {
        sregs->cr0 = state->cr0, sregs->cr2 = state->cr2, sregs->cr3 = state->cr3;
        sregs->cr4 = state->cr4, sregs->cr8 = state->cr8, sregs->efer = state->efer;
        sregs_changed = true;
    }
    result = kvm_store_regs(kvm, regs_changed, sregs_changed);
    if (result < 0)
        return result;
    if (parts & CPU_STATE_MSRS) {
        struct kvm_msr_block block = {.header.nmsrs = KVM_MSR_COUNT};
        const uint64_t values[KVM_MSR_COUNT] = {state->kernel_gs_base, state->star, state->lstar,
                                                state->cstar, state->fmask};
        if (kvm->msrs_known && memcmp(values, kvm->msrs, sizeof(values)) == 0)
            return 0;
        for (size_t i = 0; i < KVM_MSR_COUNT; i++) {
            block.entries[i].index = kvm_msr_indices[i];
            block.entries[i].data = values[i];
        }
        kvm->msrs_known = false;
        if (ioctl(kvm->vcpu_fd, KVM_SET_MSRS, &block) != (int)KVM_MSR_COUNT)
            return -EIO;
        memcpy(kvm->msrs, values, sizeof(values));
        kvm->msrs_known = true;
    }
    return 0;
}

/* The x87/SSE state is read from the XSAVE area's legacy (FXSAVE) part
 * where the host offers it: KVM_GET_FPU reports MXCSR as 0 on some hosts
 * (seen on PVM). */
/* The vCPU's XSAVE image (cached until the guest runs), or NULL. */
static struct kvm_xsave *kvm_load_xsave(struct kvm_accel *kvm)
{
    if (kvm->xsave_valid)
        return kvm->xsave;
    if (!kvm->xsave)
        kvm->xsave = g_new0(struct kvm_xsave, 1);
    if (ioctl(kvm->vcpu_fd, KVM_GET_XSAVE, kvm->xsave) < 0)
        return NULL;
    kvm->xsave_valid = true;
    return kvm->xsave;
}

/* The AVX component (ymm0-15's upper halves) in XSAVE's standard format:
 * architecturally right after the header. */
#define KVM_XSAVE_AVX_OFFSET 576

/* Whether the vCPU's XSAVE image holds AVX state (XCR0 has it). */
static bool kvm_has_avx(const struct kvm_accel *kvm)
{
    return (kvm->vm->capabilities.xsave_features & KVM_XCR0_AVX) != 0;
}

static void kvm_get_ymmh(const struct kvm_accel *kvm, const uint8_t *area,
                         struct cpu_fpu_state *fpu)
{
    fpu->ymmh_valid = kvm_has_avx(kvm);
    if (fpu->ymmh_valid && (area[512] & KVM_XCR0_AVX))
        memcpy(fpu->ymmh, area + KVM_XSAVE_AVX_OFFSET, sizeof(fpu->ymmh));
    else
        memset(fpu->ymmh, 0, sizeof(fpu->ymmh)); /* XSTATE_BV says: initial */
}

static void kvm_set_ymmh(const struct kvm_accel *kvm, uint8_t *area,
                         const struct cpu_fpu_state *fpu)
{
    if (!fpu->ymmh_valid || !kvm_has_avx(kvm))
        return;
    memcpy(area + KVM_XSAVE_AVX_OFFSET, fpu->ymmh, sizeof(fpu->ymmh));
    area[512] |= KVM_XCR0_AVX;
}

static int kvm_get_fpu(struct accel *accel, struct cpu_fpu_state *fpu)
{
    struct kvm_accel *kvm = kvm_of(accel);
    const struct kvm_xsave *xsave = kvm_load_xsave(kvm);
    if (xsave) {
        const uint8_t *area = (const uint8_t *)xsave->region;
        memcpy(&fpu->fcw, area + 0, 2);
        memcpy(&fpu->fsw, area + 2, 2);
        fpu->ftw = area[4];
        memcpy(&fpu->fop, area + 6, 2);
        memcpy(&fpu->fip, area + 8, 8);
        memcpy(&fpu->fdp, area + 16, 8);
        memcpy(&fpu->mxcsr, area + 24, 4);
        memcpy(fpu->st, area + 32, sizeof(fpu->st));
        memcpy(fpu->xmm, area + 160, sizeof(fpu->xmm));
        kvm_get_ymmh(kvm, area, fpu);
        return 0;
    }
    fpu->ymmh_valid = false;
    struct kvm_fpu kfpu;
    if (ioctl(kvm->vcpu_fd, KVM_GET_FPU, &kfpu) < 0)
        return -errno;
    memcpy(fpu->st, kfpu.fpr, sizeof(fpu->st));
    fpu->fcw = kfpu.fcw, fpu->fsw = kfpu.fsw, fpu->ftw = kfpu.ftwx, fpu->fop = kfpu.last_opcode;
    fpu->fip = kfpu.last_ip, fpu->fdp = kfpu.last_dp;
    memcpy(fpu->xmm, kfpu.xmm, sizeof(fpu->xmm));
    fpu->mxcsr = kfpu.mxcsr;
    return 0;
}

static int kvm_set_fpu(struct accel *accel, const struct cpu_fpu_state *fpu)
{
    struct kvm_accel *kvm = kvm_of(accel);
    struct kvm_xsave *xsave = kvm_load_xsave(kvm);
    if (xsave) {
        uint8_t *area = (uint8_t *)xsave->region;
        memcpy(area + 0, &fpu->fcw, 2);
        memcpy(area + 2, &fpu->fsw, 2);
        area[4] = fpu->ftw;
        memcpy(area + 6, &fpu->fop, 2);
        memcpy(area + 8, &fpu->fip, 8);
        memcpy(area + 16, &fpu->fdp, 8);
        memcpy(area + 24, &fpu->mxcsr, 4);
        memcpy(area + 32, fpu->st, sizeof(fpu->st));
        memcpy(area + 160, fpu->xmm, sizeof(fpu->xmm));
        /* XSTATE_BV: the x87 and SSE components now hold what was set. */
        area[512] |= 0x3;
        kvm_set_ymmh(kvm, area, fpu);
        if (ioctl(kvm->vcpu_fd, KVM_SET_XSAVE, xsave) < 0) {
            kvm->xsave_valid = false;
            return -errno;
        }
        return 0;
    }
    struct kvm_fpu kfpu = {0};
    memcpy(kfpu.fpr, fpu->st, sizeof(kfpu.fpr));
    kfpu.fcw = fpu->fcw, kfpu.fsw = fpu->fsw, kfpu.ftwx = fpu->ftw, kfpu.last_opcode = fpu->fop;
    kfpu.last_ip = fpu->fip, kfpu.last_dp = fpu->fdp;
    memcpy(kfpu.xmm, fpu->xmm, sizeof(kfpu.xmm));
    kfpu.mxcsr = fpu->mxcsr;
    return ioctl(kvm->vcpu_fd, KVM_SET_FPU, &kfpu) < 0 ? -errno : 0;
}

/* XRSTOR's checks on the header, which KVM_SET_XSAVE does not all make:
 * standard format (XCOMP_BV 0), reserved bytes zero, only enabled
 * components. */
static bool kvm_xsave_header_valid(const uint8_t *area, uint64_t features)
{
    uint64_t xstate_bv, xcomp_bv;
    memcpy(&xstate_bv, area + 512, 8);
    memcpy(&xcomp_bv, area + 520, 8);
    if (xcomp_bv || (xstate_bv & ~features))
        return false;
    for (int i = 528; i < 576; i++) {
        if (area[i])
            return false;
    }
    return true;
}

static int kvm_get_xsave(struct accel *accel, uint8_t *area, size_t size)
{
    struct kvm_accel *kvm = kvm_of(accel);
    const struct accel_capabilities *caps = &kvm->vm->capabilities;
    if (!caps->xsave_size || size != caps->xsave_size)
        return -EINVAL;
    const struct kvm_xsave *xsave = kvm_load_xsave(kvm);
    if (!xsave)
        return -EIO;
    memcpy(area, xsave->region, size);
    /* Only the guest's components, as its XSAVE would store them: Linux
     * 6.18's KVM_GET_XSAVE marks PKRU in XSTATE_BV too (seen on PVM: 0x2a3
     * with XCR0 0xe7), and a signal frame saying so is refused by
     * sigreturn's check, as on Linux. */
    uint64_t xstate_bv;
    memcpy(&xstate_bv, area + 512, 8);
    xstate_bv &= caps->xsave_features;
    memcpy(area + 512, &xstate_bv, 8);
    return 0;
}

static int kvm_set_xsave(struct accel *accel, const uint8_t *area, size_t size)
{
    struct kvm_accel *kvm = kvm_of(accel);
    const struct accel_capabilities *caps = &kvm->vm->capabilities;
    if (!caps->xsave_size || size != caps->xsave_size ||
        !kvm_xsave_header_valid(area, caps->xsave_features))
        return -EINVAL;
    /* No KVM_GET_XSAVE first (a sigreturn's saving): the image is all of
     * the enabled state, and KVM reads nothing of the region past it. */
    if (!kvm->xsave)
        kvm->xsave = g_new0(struct kvm_xsave, 1);
    memcpy(kvm->xsave->region, area, size);
    memset((uint8_t *)kvm->xsave->region + size, 0, sizeof(kvm->xsave->region) - size);
    if (ioctl(kvm->vcpu_fd, KVM_SET_XSAVE, kvm->xsave) < 0) {
        kvm->xsave_valid = false;
        return -errno;
    }
    kvm->xsave_valid = true;
    return 0;
}

static bool kvm_translate(struct accel *accel, uint64_t gva, uint64_t *gpa)
{
    struct kvm_translation translation = {.linear_address = gva};
    if (kvm_write_pending_regs(kvm_of(accel)) < 0 ||
        ioctl(kvm_of(accel)->vcpu_fd, KVM_TRANSLATE, &translation) < 0 || !translation.valid)
        return false;
    *gpa = translation.physical_address;
    return true;
}

static int kvm_set_debug(struct accel *accel, bool single_step,
                         const struct accel_breakpoint *breakpoints, int count)
{
    if (count < 0 || count > ACCEL_MAX_HW_BREAKPOINTS)
        return -EINVAL;
    /* A step or breakpoints of the debugger replace a step probe's (its
     * exit comes soon anyway); without them a probe goes on. */
    struct kvm_accel *kvm = kvm_of(accel);
    bool nothing = !single_step && count == 0;
    if (!nothing)
        kvm_cancel_int3_probe(kvm);
    struct kvm_guest_debug debug = {0};
    if (single_step || count > 0)
        debug.control = KVM_GUESTDBG_ENABLE;
    if (single_step)
        debug.control |= KVM_GUESTDBG_SINGLESTEP;
    if (count > 0)
        debug.control |= KVM_GUESTDBG_USE_HW_BP;
    uint64_t dr7 = 0;
    for (int i = 0; i < count; i++) {
        static const unsigned length_bits[9] = {0, 0, 1, 0, 3, 0, 0, 0, 2};
        unsigned length = breakpoints[i].length;
        if (length > 8 || (length & (length - 1)) || length == 0)
            return -EINVAL;
        unsigned rw = breakpoints[i].kind == ACCEL_BREAK_EXECUTE ? 0
                      : breakpoints[i].kind == ACCEL_BREAK_WRITE ? 1
                                                                 : 3;
        unsigned len = breakpoints[i].kind == ACCEL_BREAK_EXECUTE ? 0 : length_bits[length];
        debug.arch.debugreg[i] = breakpoints[i].address;
        dr7 |= (2ULL << (i * 2)) | ((uint64_t)(rw | len << 2) << (16 + i * 4));
    }
    debug.arch.debugreg[7] = dr7 | (count ? 0x600 : 0);
    if (nothing && kvm->int3_probe_armed) {
        kvm->debug = debug; /* set when the probe's step is disarmed */
        return 0;
    }
    /* KVM has it already (the debugger arms every resume, a stepi through
     * the guest IDT included): one ioctl less per stop. Not for a single
     * step, which KVM starts from the rip of the call. */
    if (!kvm->int3_probe_armed && !single_step && !memcmp(&debug, &kvm->debug, sizeof(debug)))
        return 0;
    int result = kvm_write_pending_regs(kvm);
    if (result < 0)
        return result;
    if (ioctl(kvm->vcpu_fd, KVM_SET_GUEST_DEBUG, &debug) < 0)
        return -errno;
    kvm->debug = debug;
    return 0;
}

static void kvm_stop(struct accel *accel)
{
    accel_kick(accel);
}

/* ---- running ------------------------------------------------------------- */

/* The first run() on an owner thread tells KVM which signal mask to use
 * inside KVM_RUN: the thread's own, with the kick signal let through, so a
 * kick that lands just before KVM_RUN still ends it at once. */
static int kvm_prepare_thread(struct kvm_accel *kvm)
{
    sigset_t mask;
    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    sigdelset(&mask, ACCEL_KICK_SIGNAL);
    struct kvm_accel_signal_mask signal_mask = {.header.len = 8};
    memcpy(signal_mask.bits, &mask, sizeof(signal_mask.bits));
    if (memcmp(&signal_mask, &kvm->signal_mask, sizeof(signal_mask)) != 0) {
        if (ioctl(kvm->vcpu_fd, KVM_SET_SIGNAL_MASK, &signal_mask) < 0)
            return -errno;
        kvm->signal_mask = signal_mask;
    }
    accel_bind_thread(&kvm->base);
    kvm->signal_mask_set = true;
    return 0;
}

static void consume_kick(void)
{
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, ACCEL_KICK_SIGNAL);
    struct timespec zero = {0, 0};
    siginfo_t info;
    while (sigtimedwait(&kick, &info, &zero) == ACCEL_KICK_SIGNAL) {
        if (!accel_kick_is_own(&info))
            accel_kick_pass_on(&info);
    }
}

/*
 * Makes a change of the page tables visible before the guest runs. The
 * monitor writes the guest's page tables from the host, which KVM never
 * sees: on hardware KVM only the guest TLB can hold stale entries, but a
 * shadow-paging KVM (PVM) also keeps shadow page tables built from the old
 * entries and trusts them until the guest itself writes a table. Deleting a
 * memslot makes x86 KVM drop every translation of the VM (since Linux 5.3,
 * KVM_X86_QUIRK_SLOT_ZAP_ALL, on by default) and flush every vCPU's TLB.
 * The slot deleted is a one-page one of its own (flush_page), not the RAM:
 * KVM's bookkeeping of a memslot costs about 0.35 ms per GiB to tear down
 * and build again, 3 ms for the 4 GiB default at each flush (glibc's RELRO
 * mprotect: one per program start), against a few microseconds here.
 */
#define KVM_FLUSH_SLOT    1
#define KVM_RAM_SLOT_BASE 2

static uint64_t kvm_flush_gpa(const struct kvm_vm *vm)
{
    return vm->doorbell_gpa + 16 * GUEST_PAGE_SIZE;
}

static int kvm_set_flush_slot(struct kvm_vm *vm, bool present)
{
    struct kvm_userspace_memory_region region = {
        .slot = KVM_FLUSH_SLOT,
        .guest_phys_addr = kvm_flush_gpa(vm),
        .memory_size = present ? GUEST_PAGE_SIZE : 0,
        .userspace_addr = (uint64_t)(uintptr_t)vm->flush_page,
    };
    return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? -errno : 0;
}

/* Creates the flush slot; without it flushes reload the RAM slot. */
static void kvm_add_flush_slot(struct kvm_vm *vm)
{
    vm->flush_page =
        mmap(NULL, GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (vm->flush_page == MAP_FAILED || kvm_set_flush_slot(vm, true) < 0) {
        if (vm->flush_page != MAP_FAILED)
            munmap(vm->flush_page, GUEST_PAGE_SIZE);
        vm->flush_page = NULL;
    }
}

/* Gives KVM guest-physical [gpa, gpa + len) of RAM (or takes it back with
 * len 0): slot 0 for all of RAM, else the chunk's own slot. */
static int kvm_set_ram_slot(struct kvm_vm *vm, uint64_t gpa, uint64_t len)
{
    struct kvm_userspace_memory_region region = {
        .slot = vm->chunked ? KVM_RAM_SLOT_BASE + (uint32_t)(gpa / GUEST_RAM_CHUNK_SIZE) : 0,
        .guest_phys_addr = gpa,
        .memory_size = len,
        .userspace_addr = (uint64_t)(uintptr_t)guest_memory_host_base(vm->memory) + gpa,
    };
    return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? -errno : 0;
}

/* The memory's hook: a chunk of RAM comes into use. Without its slot the
 * guest could not reach frames it is about to be given. */
static void kvm_on_chunk(void *opaque, uint64_t gpa, uint64_t len)
{
    struct kvm_vm *vm = opaque;
    /* A fork's child, before it has a VM of its own: the chunk is marked
     * used, and its own VM registers it when it is made. */
    if (vm->owner != getpid())
        return;
    int result = kvm_set_ram_slot(vm, gpa, len);
    if (result < 0) {
        fprintf(stderr, "hermitux-run: cannot give guest RAM at %#llx to KVM: %s\n",
                (unsigned long long)gpa, strerror(-result));
        _exit(1);
    }
}

/* Registers guest RAM: the chunks in use now, and the hook for the others
 * (KVM's bookkeeping for a slot costs about 2 ms per GiB to build and more
 * to free: most of a 4 GiB RAM is never used). */
static int kvm_add_ram(struct kvm_vm *vm)
{
    struct guest_memory *memory = vm->memory;
    uint64_t chunks = guest_memory_chunk_count(memory);
    int slots = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
    vm->chunked = slots > 0 && chunks + KVM_RAM_SLOT_BASE <= (uint64_t)slots;
    if (!vm->chunked)
        return kvm_set_ram_slot(vm, 0, guest_memory_ram_size(memory));
    for (uint64_t chunk = 0; chunk < chunks; chunk++) {
        if (!guest_memory_chunk_used(memory, chunk))
            continue;
        uint64_t gpa = chunk * GUEST_RAM_CHUNK_SIZE;
        int result = kvm_set_ram_slot(
            vm, gpa, MIN(GUEST_RAM_CHUNK_SIZE, guest_memory_ram_size(memory) - gpa));
        if (result < 0)
            return result;
    }
    vm->owner = getpid();
    guest_memory_set_chunk_hook(memory, kvm_on_chunk, vm);
    return 0;
}

static int kvm_reload_memslot(struct kvm_vm *vm)
{
    if (vm->flush_page && kvm_set_flush_slot(vm, false) == 0)
        return kvm_set_flush_slot(vm, true);
    if (vm->chunked) {
        /* Deleting any slot drops every translation: the first chunk's. */
        for (uint64_t chunk = 0; chunk < guest_memory_chunk_count(vm->memory); chunk++) {
            if (!guest_memory_chunk_used(vm->memory, chunk))
                continue;
            uint64_t gpa = chunk * GUEST_RAM_CHUNK_SIZE;
            int result = kvm_set_ram_slot(vm, gpa, 0);
            return result < 0 ? result
                              : kvm_set_ram_slot(vm, gpa,
                                                 MIN(GUEST_RAM_CHUNK_SIZE,
                                                     guest_memory_ram_size(vm->memory) - gpa));
        }
        return 0;
    }
    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = 0,
        .userspace_addr = (uint64_t)(uintptr_t)guest_memory_host_base(vm->memory),
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return -errno;
    region.memory_size = guest_memory_ram_size(vm->memory);
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return -errno;
    return 0;
}

/* Every other vCPU out of KVM_RUN and held out (the writer side of
 * `running`): a memslot reload while another vCPU runs in the guest ends
 * in a triple fault on PVM (measured). Only vCPUs in the guest are
 * signalled: one in a host call must not see EINTR for it. */
static void kvm_park_others(struct kvm_vm *vm)
{
    __atomic_store_n(&vm->flush_pending, true, __ATOMIC_SEQ_CST);
    g_mutex_lock(&vm->lock);
    for (guint i = 0; i < vm->active->len; i++) {
        struct kvm_accel *other = g_ptr_array_index(vm->active, i);
        if (__atomic_load_n(&other->in_guest, __ATOMIC_SEQ_CST) &&
            __atomic_load_n(&other->base.thread_known, __ATOMIC_ACQUIRE))
            pthread_kill(other->base.owner_thread, ACCEL_KICK_SIGNAL);
    }
    g_mutex_unlock(&vm->lock);
    g_rw_lock_writer_lock(&vm->running);
}

static void kvm_unpark_others(struct kvm_vm *vm)
{
    g_rw_lock_writer_unlock(&vm->running);
    __atomic_store_n(&vm->flush_pending, false, __ATOMIC_SEQ_CST);
}

/* Called outside KVM_RUN by the flushing vCPU's owner thread. always: even
 * if the memory saw no narrowing since the last flush. */
static int kvm_flush(struct kvm_vm *vm, bool always)
{
    uint64_t generation = guest_memory_unseen_generation(vm->memory);
    if (!always && generation == __atomic_load_n(&vm->generation, __ATOMIC_ACQUIRE))
        return 0;
    int result = 0;
    g_mutex_lock(&vm->flush_lock);
    if (always || generation != vm->generation) {
        kvm_park_others(vm);
        result = kvm_reload_memslot(vm);
        if (result == 0)
            __atomic_store_n(&vm->generation, generation, __ATOMIC_RELEASE);
        kvm_unpark_others(vm);
    }
    g_mutex_unlock(&vm->flush_lock);
    return result;
}

static int kvm_flush_if_needed(struct kvm_vm *vm)
{
    return kvm_flush(vm, false);
}

/*
 * A page fault of the program that the guest's page tables allow now: the
 * vCPU faulted on a translation older than a widening of the page's
 * protection. Measured on PVM: once a watchpoint's write trap is taken off a
 * page (no flush: the page only gained rights), another vCPU's write there
 * still faulted (SIGSEGV in 1 run in 40 of threads-watch). Linux retries
 * such a spurious fault (its TLB flushes skip widenings too), and so does
 * this, at most KVM_SPURIOUS_RETRIES times in a row: a fault that keeps
 * coming is still the program's.
 */
#define KVM_SPURIOUS_RETRIES 3
#define PF_PRESENT           0x1u
#define PF_WRITE             0x2u
#define PF_USER              0x4u
#define PF_RESERVED          0x8u
#define PF_FETCH             0x10u

static bool kvm_spurious_fault(struct kvm_accel *kvm, const struct accel_exit *exit)
{
    struct guest_memory *memory = kvm->vm->memory;
    uint64_t error = exit->error_code;
    struct guest_walk walk;
    if (exit->reason != ACCEL_EXIT_EXCEPTION || exit->vector != 14 || exit->in_kernel ||
        !(error & PF_USER) || (error & PF_RESERVED))
        return false;
    /* A file's page past its end that the file covers again (it grew since,
     * through whatever process): the page is the file's once more. */
    if (!(error & PF_PRESENT))
        guest_file_page_revive(memory, exit->fault_address);
    if (!guest_walk(memory, guest_memory_cr3(memory), exit->fault_address, &walk))
        return false;
    return walk.user && (walk.writable || !(error & PF_WRITE)) &&
           (walk.executable || !(error & PF_FETCH));
}

/* Holds `running` for reading around KVM_RUN, and keeps out while a flush
 * is pending (it signals those in_guest; one that came in after its check
 * sees flush_pending here and backs off). */
static void kvm_enter_guest(struct kvm_accel *kvm)
{
    struct kvm_vm *vm = kvm->vm;
    kvm->xsave_valid = false;
    for (;;) {
        if (__atomic_load_n(&vm->flush_pending, __ATOMIC_SEQ_CST)) {
            g_mutex_lock(&vm->flush_lock);
            g_mutex_unlock(&vm->flush_lock);
            continue;
        }
        g_rw_lock_reader_lock(&vm->running);
        __atomic_store_n(&kvm->in_guest, true, __ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&vm->flush_pending, __ATOMIC_SEQ_CST))
            return;
        __atomic_store_n(&kvm->in_guest, false, __ATOMIC_SEQ_CST);
        g_rw_lock_reader_unlock(&vm->running);
    }
}

static void kvm_leave_guest(struct kvm_accel *kvm)
{
    __atomic_store_n(&kvm->in_guest, false, __ATOMIC_SEQ_CST);
    g_rw_lock_reader_unlock(&kvm->vm->running);
}

/* The memslot reload makes KVM drop every vCPU's translations before any of
 * them enters the guest again (KVM kicks the running ones itself). */
static void kvm_memory_changed(struct accel *accel)
{
    (void)kvm_flush_if_needed(kvm_of(accel)->vm);
}

/* ---- the doorbell ---------------------------------------------------------- */

/* The flags a program can set itself (popf at CPL3): a ring's r11 brings no
 * more than these back, with IF set. IOPL, VM, NT and the rest are the
 * kernel's, whatever the program left in r11 before jumping to the entry. */
#define USER_RFLAGS                                                                                \
    (0x1u | 0x4u | 0x10u | 0x40u | 0x80u | 0x100u | 0x400u | 0x800u | 0x40000u | 0x200000u)

/* The flags `sysret` would give the program back from its r11. */
static uint64_t kvm_user_rflags(uint64_t r11)
{
    return (r11 & USER_RFLAGS) | RFLAGS_IF | RFLAGS_FIXED;
}

static int kvm_handle_doorbell(struct kvm_accel *kvm)
{
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    int result = kvm_load_regs(kvm, &regs, &sregs);
    if (result < 0)
        return result;
    regs->rip = regs->rcx;
    regs->rflags = kvm_user_rflags(regs->r11);
    /* The debugger's step over the `syscall` (KVM's single step, hardware
     * KVM) set TF before it: r11 keeps it, as Linux's does under ptrace,
     * but the program's flags must not, or it traps on every instruction
     * once continued (gdb/clone-vm-step: SIGTRAP after the step). */
    if (kvm->debug.control & KVM_GUESTDBG_SINGLESTEP)
        regs->rflags &= ~(uint64_t)RFLAGS_TF;
    bool to_user_mode = sregs->cs.dpl != 3;
    if (!to_user_mode)
        __atomic_store_n(&kvm->vm->entry_at_cpl3, true, __ATOMIC_RELAXED);
    if (to_user_mode)
        user_segments(&sregs->cs, &sregs->ss);
    return kvm_store_regs(kvm, true, to_user_mode);
}

static bool kvm_on_doorbell(const struct kvm_vm *vm, uint64_t gpa)
{
    return gpa >= vm->doorbell_gpa && gpa < vm->doorbell_gpa + GUEST_PAGE_SIZE;
}

/* LSTAR, read once per VM: the program cannot change it, and every vCPU has
 * the same (a new one is given its parent's) (0: unreadable). */
static uint64_t kvm_syscall_entry(struct kvm_accel *kvm)
{
    uint64_t entry = __atomic_load_n(&kvm->vm->syscall_entry, __ATOMIC_RELAXED);
    if (!entry) {
        struct {
            struct kvm_msrs header;
            struct kvm_msr_entry entry;
        } block = {.header.nmsrs = 1, .entry.index = MSR_LSTAR};
        if (ioctl(kvm->vcpu_fd, KVM_GET_MSRS, &block) != 1)
            return 0;
        entry = block.entry.data;
        __atomic_store_n(&kvm->vm->syscall_entry, entry, __ATOMIC_RELAXED);
    }
    return entry;
}

/* The syscall entry's own ring: its 4-byte write at the page's start, with
 * rip just past the entry's first instruction. */
static bool kvm_is_ring(struct kvm_accel *kvm, const struct kvm_regs *regs)
{
    const struct kvm_run *run = kvm->run;
    if (!run->mmio.is_write || run->mmio.len != 4 || run->mmio.phys_addr != kvm->vm->doorbell_gpa)
        return false;
    uint64_t entry = kvm_syscall_entry(kvm);
    return (entry && regs->rip == entry + HX_DOORBELL_RING_LENGTH) ||
           (kvm->ring_code && regs->rip == kvm->ring_code + HX_DOORBELL_RING_LENGTH);
}

/* KVM still has the access in flight (a read waits for its data, a wide
 * write has fragments left): finish it without running another instruction
 * (immediate_exit), reads seeing zeros and writes going nowhere. */
static int kvm_drop_mmio(struct kvm_accel *kvm)
{
    for (int round = 0; round < 64; round++) {
        memset(kvm->run->mmio.data, 0, sizeof(kvm->run->mmio.data));
        kvm->run->immediate_exit = 1;
        kvm_enter_guest(kvm);
        int result = ioctl(kvm->vcpu_fd, KVM_RUN, 0);
        int run_errno = errno;
        kvm_leave_guest(kvm);
        kvm->run->immediate_exit = 0;
        kvm->run->kvm_dirty_regs = 0;
        if (result < 0)
            return run_errno == EINTR || run_errno == EAGAIN ? 0 : -run_errno;
        if (kvm->run->exit_reason != KVM_EXIT_MMIO ||
            !kvm_on_doorbell(kvm->vm, kvm->run->mmio.phys_addr))
            return -EIO;
    }
    return -EIO;
}

/* Where the faulting instruction starts: a read exits before it retires, a
 * write after (kvm_store.c finds its start; failing that, rip stays past it). */
static uint64_t kvm_fault_rip(struct kvm_accel *kvm, const struct kvm_regs *regs,
                              const struct kvm_sregs *sregs, uint64_t address)
{
    if (!kvm->run->mmio.is_write)
        return regs->rip;
    struct kvm_store_exit store = {.regs = regs,
                                   .fs_base = sregs->fs.base,
                                   .gs_base = sregs->gs.base,
                                   .end = regs->rip,
                                   .address = address,
                                   .length = kvm->run->mmio.len};
    uint64_t start = kvm_store_start(kvm->vm->memory, &store);
    return start ? start : regs->rip;
}

/* Any access to the doorbell page but the entry's ring is the program's
 * page fault, as natively (nothing is mapped there for it): the access is
 * dropped, the registers put back to before the instruction, and the
 * program gets SIGSEGV (SEGV_MAPERR at the address) through the usual path. */
static int kvm_doorbell_fault(struct kvm_accel *kvm, struct accel_exit *exit)
{
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    int result = kvm_load_regs(kvm, &regs, &sregs);
    if (result < 0)
        return result;
    bool is_write = kvm->run->mmio.is_write;
    uint64_t address = HX_DOORBELL_ADDRESS + (kvm->run->mmio.phys_addr - kvm->vm->doorbell_gpa);
    struct kvm_regs before = *regs;
    before.rip = kvm_fault_rip(kvm, regs, sregs, address);
    bool in_kernel = sregs->cs.dpl == 0;
    result = kvm_drop_mmio(kvm);
    if (result == 0)
        result = kvm_load_regs(kvm, &regs, &sregs);
    if (result < 0) {
        snprintf(exit->message, sizeof(exit->message),
                 "cannot drop the program's access to the doorbell page: %s", strerror(-result));
        return result;
    }
    *regs = before;
    result = kvm_store_regs(kvm, true, false);
    if (result < 0)
        return result;
    exit->reason = ACCEL_EXIT_EXCEPTION;
    exit->vector = 14;
    exit->has_error_code = true;
    exit->error_code = 4 | (is_write ? 2 : 0); /* user, not present */
    exit->fault_address = address;
    exit->in_kernel = in_kernel;
    return 0;
}

/* An instruction KVM could not emulate at CPL3 is the program's: only its
 * accesses to the doorbell page (the one page outside RAM it can reach) are
 * emulated there, and ones KVM cannot do (AVX, fxsave, xsave) end here.
 * Natively that access faults: SIGSEGV at the instruction, nothing done. */
static bool kvm_program_emulation_fault(struct kvm_accel *kvm, struct accel_exit *exit)
{
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    if (kvm->run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION ||
        kvm_load_regs(kvm, &regs, &sregs) < 0 || sregs->cs.dpl != 3)
        return false;
    exit->reason = ACCEL_EXIT_EXCEPTION;
    exit->vector = 14;
    exit->has_error_code = true;
    exit->error_code = 4 | 2;
    exit->fault_address = HX_DOORBELL_ADDRESS;
    exit->in_kernel = false;
    return true;
}

/*
 * `int N` from user mode through a gate it may not use (every vector but the
 * breakpoint's and overflow's here: the guest kernel has no i386 syscall
 * gate, as a Linux kernel without IA32 emulation) is a #GP with the
 * vector's IDT error code on x86 (tcg does so). PVM raises #UD instead; told
 * back to what hardware gives, the program gets the SIGSEGV Linux gives.
 */
static void kvm_fix_user_int(struct kvm_accel *kvm, unsigned *vector)
{
    uint8_t code[2];
    if (*vector != 6 || (kvm->frame.cs & 3) != 3 ||
        guest_read(kvm->vm->memory, kvm->frame.rip, code, sizeof code, GUEST_ACCESS_DEBUG) < 0)
        return;
    if (code[0] != 0xcd || code[1] == 3 || code[1] == 4)
        return;
    *vector = 13;
    kvm->frame.error_code = ((uint64_t)code[1] << 3) | 2; /* IDT, vector */
}

/*
 * A kick that stops the vCPU right after an exception exit (KVM_RUN returns
 * EINTR before, or while, the stub finishes: `addq $8, %rsp; iretq` at
 * CPL0) leaves the program's registers in the stub's frame, not in the
 * vCPU. Told apart by the stub's code at rip and rsp at the frame, that
 * state is the exception's again: the registers read and written are the
 * frame's, and the stub's iretq takes any change. Without it a signal
 * delivered there was built from the kernel's registers (a timer signal
 * during a SIGTRAP handler loop killed the program, 3 runs in 3).
 */
static bool kvm_at_stub_tail(struct kvm_accel *kvm, const struct kvm_regs *regs)
{
    static const uint8_t add_rsp_8[4] = {0x48, 0x83, 0xc4, 0x08}, iretq[2] = {0x48, 0xcf};
    uint8_t code[4];
    if (guest_read(kvm->vm->memory, regs->rip, code, sizeof code, GUEST_ACCESS_DEBUG) < 0)
        return false;
    /* Hardware KVM leaves rip on the `out` until the next KVM_RUN completes
     * it: a kick before that run finds it there. PVM has moved past it, so
     * there a vCPU on the `out` is a new exception on its way to its exit,
     * its frame where the last one's was (the same stub): taken for the old
     * one's tail, a signal was delivered from the new frame and the exit
     * that followed was a #BP at the handler's first byte (gdb: a false
     * conditional breakpoint on `jmp .` and SIGALRM, a SIGSEGV at 0x1 in
     * 1 run in 15 of branch-to-self.exp on 2 busy cores). */
    bool at_out = !kvm->vm->pvm && code[0] == 0xe6 && code[1] >= HX_PORT_EXCEPTION_BASE &&
                  code[1] < HX_PORT_EXCEPTION_BASE + 32 && regs->rsp == kvm->frame_address;
    bool at_add = !memcmp(code, add_rsp_8, sizeof add_rsp_8) && regs->rsp == kvm->frame_address;
    bool at_iretq = !memcmp(code, iretq, sizeof iretq) && regs->rsp == kvm->frame_address + 8;
    return at_out || at_add || at_iretq;
}

static bool kvm_back_in_stub(struct kvm_accel *kvm, const struct kvm_regs *regs)
{
    if (!kvm_at_stub_tail(kvm, regs))
        return false;
    if (guest_read(kvm->vm->memory, kvm->frame_address, &kvm->frame, sizeof(kvm->frame),
                   GUEST_ACCESS_DEBUG) < 0)
        return false;
    kvm->in_exception = true;
    kvm->frame_dirty = false;
    return true;
}

/*
 * After an interrupted KVM_RUN on PVM, whether an int3 just executed may
 * have its #BP still to come: PVM keeps that trap out of KVM's vCPU events
 * (a #UD shows there, a #BP never did), and writing the registers then
 * drops it, so the program ran on past its int3 (a SIGTRAP handler loop
 * with a 50 us timer lost 4-8 traps in 5000). The byte before rip is 0xcc:
 * the trap may be pending. A handler that returns right after an int3 looks
 * the same; the step probe below tells them apart.
 */
static bool kvm_int3_may_be_pending(struct kvm_accel *kvm, const struct kvm_regs *regs)
{
    uint8_t before = 0;
    return kvm->interrupted && kvm->vm->int3_step_probe && regs->rip > 0 &&
           guest_read(kvm->vm->memory, regs->rip - 1, &before, 1, GUEST_ACCESS_DEBUG) == 0 &&
           before == 0xcc;
}

/*
 * The step probe: the program resumes under KVM's single step
 * (KVM_GUESTDBG_SINGLESTEP), which sets TF without writing the registers,
 * so a #BP KVM still holds stays queued (setting TF with KVM_SET_REGS
 * dropped it: trap_storm lost 20-50 of 5000 traps). That #BP is delivered
 * at entry, before any instruction; without one the instruction at rip
 * runs and its #DB follows (PVM delivers it through the guest IDT). KVM
 * steps the exception stub at CPL0, so the first exit is a KVM debug exit
 * there (kvm_int3_probe_step): the step is disarmed and the stub goes on to
 * its exception exit, which tells which it was (kvm_end_int3_probe_at_exception).
 * Either way that exit comes within one instruction, instead of waiting for
 * one that a program spinning without syscalls never makes. No probe when
 * TF is set already (gdb's step, the program's own) or the debugger has
 * armed KVM's debugging itself: the exit comes soon then anyway.
 */
static int kvm_start_int3_probe(struct kvm_accel *kvm)
{
    kvm->int3_probe_wanted = false;
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    int result = kvm_load_regs(kvm, &regs, &sregs);
    if (result < 0 || (regs->rflags & RFLAGS_TF) || kvm->debug.control)
        return result;
    struct kvm_guest_debug step = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP};
    if (ioctl(kvm->vcpu_fd, KVM_SET_GUEST_DEBUG, &step) < 0)
        return -errno;
    kvm->int3_probing = kvm->int3_probe_armed = true;
    return 0;
}

/* KVM's single step goes back to what the debugger set (nothing). */
static int kvm_disarm_int3_probe(struct kvm_accel *kvm)
{
    if (!kvm->int3_probe_armed)
        return 0;
    kvm->int3_probe_armed = false;
    return ioctl(kvm->vcpu_fd, KVM_SET_GUEST_DEBUG, &kvm->debug) < 0 ? -errno : 0;
}

static void kvm_cancel_int3_probe(struct kvm_accel *kvm)
{
    kvm->int3_probe_wanted = kvm->int3_probing = false;
    (void)kvm_disarm_int3_probe(kvm);
}

/* The probed instruction was a syscall: its r11 took the probe's TF. */
static bool kvm_probed_syscall(struct kvm_accel *kvm, uint64_t next_rip)
{
    uint8_t code[2];
    return next_rip >= 2 &&
           guest_read(kvm->vm->memory, next_rip - 2, code, sizeof code, GUEST_ACCESS_DEBUG) == 0 &&
           code[0] == 0x0f && code[1] == 0x05;
}

/*
 * A vCPU stopped at the syscall entry's first instruction, before its ring:
 * PVM runs the entry at CPL3 (platform-notes.md), so a kick can end KVM_RUN
 * there, between the program's `syscall` and the exit that hands the call to
 * the monitor. The registers are then half the program's: rip is the entry
 * (0x100000, in the guest kernel), rcx and r11 hold the return rip and flags.
 * gdb and lldb showed such a thread at 0x100000 without frames, a signal
 * frame would have saved that rip. The call is not made yet, so the program
 * is put back on its `syscall` instruction (what a kick before a blocking
 * call does too, monitor/run.c's restart_syscall): rcx and r11 are the
 * call's to clobber, and the call is made when the thread runs again. Only
 * when the instruction before rcx is `syscall`: a program jumping to the
 * entry is left where it is.
 */
static bool kvm_ring_unposted_at(const struct kvm_accel *kvm, uint64_t rip);

static bool kvm_syscall_not_made(struct kvm_accel *kvm, uint64_t rip, const struct kvm_regs *regs,
                                 uint64_t *user_rip, uint64_t *user_rflags)
{
    uint64_t entry = kvm_syscall_entry(kvm);
    bool at_entry = (entry && rip == entry) || kvm_ring_unposted_at(kvm, rip);
    if (!at_entry || !kvm_probed_syscall(kvm, regs->rcx))
        return false;
    *user_rip = regs->rcx - 2;
    *user_rflags = kvm_user_rflags(regs->r11);
    return true;
}

/* ---- the syscall ring ------------------------------------------------------ */

/* Where in the ring entry a vCPU stopped (kernel/abi.h, entry.S). */
enum kvm_ring_phase {
    KVM_RING_OUTSIDE,
    KVM_RING_UNPOSTED, /* nothing posted, the registers are the program's */
    KVM_RING_POSTED,   /* posted, waiting for the answer; rcx is the entry's */
    KVM_RING_ANSWERED, /* answered, on the way back to the program */
};

static enum kvm_ring_phase kvm_ring_phase(const struct kvm_accel *kvm, uint64_t rip)
{
    if (!kvm->ring_code || rip < kvm->ring_code || rip >= kvm->ring_code + GUEST_PAGE_SIZE)
        return KVM_RING_OUTSIDE;
    uint64_t offset = rip - kvm->ring_code;
    if (offset < HX_RING_ENTRY_OFFSET)
        return offset == 0 ? KVM_RING_UNPOSTED : KVM_RING_OUTSIDE; /* its doorbell entry */
    if (offset < HX_RING_POSTED_OFFSET || offset >= HX_RING_END_OFFSET)
        return KVM_RING_UNPOSTED;
    return offset < HX_RING_DONE_OFFSET ? KVM_RING_POSTED : KVM_RING_ANSWERED;
}

static bool kvm_ring_unposted_at(const struct kvm_accel *kvm, uint64_t rip)
{
    return kvm_ring_phase(kvm, rip) == KVM_RING_UNPOSTED;
}

/*
 * Takes a posted call back, or waits for its answer: HX_RING_DONE when it
 * was made (the result is in the page), HX_RING_BOUNCED when the answering
 * thread would not make it, HX_RING_FREE when it was taken back. The
 * wait is on the answering thread's busy flag, which the program cannot
 * write: a page the program scribbled on ends it at once.
 */
static uint32_t kvm_ring_settle_call(struct kvm_accel *kvm)
{
    struct accel_ring *ring = kvm->ring;
    struct hx_ring *page = ring->page;
    uint32_t state = HX_RING_POSTED;
    if (__atomic_compare_exchange_n(&page->state, &state, HX_RING_FREE, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
        return HX_RING_FREE;
    __atomic_store_n(&ring->waiting, 1, __ATOMIC_SEQ_CST);
    while ((state = __atomic_load_n(&page->state, __ATOMIC_ACQUIRE)) == HX_RING_TAKEN &&
           __atomic_load_n(&ring->busy, __ATOMIC_ACQUIRE)) {
        struct timespec limit = {0, 1000000};
        syscall(SYS_futex, &page->state, FUTEX_WAIT_PRIVATE, HX_RING_TAKEN, &limit, NULL, 0);
    }
    __atomic_store_n(&ring->waiting, 0, __ATOMIC_RELAXED);
    (void)__atomic_load_n(&ring->served, __ATOMIC_ACQUIRE);
    if (state != HX_RING_DONE && state != HX_RING_BOUNCED)
        state = HX_RING_FREE;
    __atomic_store_n(&page->state, HX_RING_FREE, __ATOMIC_RELAXED);
    return state;
}

/* The registers of the program after its answered call, as sysret leaves them. */
static void kvm_ring_answered(const struct hx_ring *page, struct kvm_regs *regs)
{
    regs->rax = page->result;
    regs->rcx = page->rip;
    regs->r11 = page->flags;
    regs->rsp = page->rsp;
    regs->rip = page->rip;
    regs->rflags = kvm_user_rflags(page->flags);
}

/* The registers of the program at its entry, the call not made: the
 * entry's rcx and r11 back from the page. */
static void kvm_ring_unposted(const struct hx_ring *page, struct kvm_regs *regs)
{
    regs->rax = page->nr;
    regs->rcx = page->rip;
    regs->r11 = page->flags;
}

/*
 * A stop inside the ring entry: the program's registers as if the call was
 * made (its answer came) or is still to be made (back on its `syscall`,
 * which runs again when the thread resumes). false when rip is not in the
 * ring entry.
 */
static bool kvm_ring_settle_stop(struct kvm_accel *kvm, struct kvm_regs *regs)
{
    enum kvm_ring_phase phase = kvm_ring_phase(kvm, regs->rip);
    if (phase == KVM_RING_OUTSIDE || phase == KVM_RING_UNPOSTED)
        return false; /* unposted: kvm_syscall_not_made's case */
    struct hx_ring *page = kvm->ring->page;
    if (phase == KVM_RING_ANSWERED || kvm_ring_settle_call(kvm) == HX_RING_DONE) {
        kvm_ring_answered(page, regs);
        __atomic_store_n(&page->state, HX_RING_FREE, __ATOMIC_RELAXED);
        return true;
    }
    kvm_ring_unposted(page, regs);
    regs->rip = page->rip - 2;
    regs->rflags = kvm_user_rflags(page->flags);
    return true;
}

/* The ring entry's doorbell for a slow answer (rip just past its write):
 * once the call is answered the program goes on (true); taken back, it is
 * made as a doorbell syscall (*syscall). */
static bool kvm_is_ring_wait(const struct kvm_accel *kvm, const struct kvm_regs *regs)
{
    const struct kvm_run *run = kvm->run;
    return kvm->ring_code && run->mmio.is_write && run->mmio.len == 4 &&
           run->mmio.phys_addr == kvm->vm->doorbell_gpa + HX_DOORBELL_WAIT &&
           regs->rip == kvm->ring_code + HX_RING_WAIT_OFFSET + HX_DOORBELL_RING_LENGTH;
}

static int kvm_ring_wait(struct kvm_accel *kvm, struct kvm_regs *regs, bool *syscall)
{
    struct hx_ring *page = kvm->ring->page;
    uint32_t state = kvm_ring_settle_call(kvm);
    /* Not taken while the entry waited: the answering thread has no CPU (a
     * loaded machine). The entry takes the doorbell from now on, until that
     * thread sleeps and a burst of calls wakes it again, rather than wait
     * in vain before every exit. */
    if (state == HX_RING_FREE)
        __atomic_store_n(&page->awake, 0, __ATOMIC_RELAXED);
    *syscall = state != HX_RING_DONE;
    if (*syscall) {
        kvm_ring_unposted(page, regs);
        regs->rip = page->rip;
        regs->rflags = kvm_user_rflags(page->flags);
    } else {
        kvm_ring_answered(page, regs);
    }
    return kvm_store_regs(kvm, true, false);
}

static int kvm_ring_start(struct accel *accel, struct accel_ring *ring)
{
    struct kvm_accel *kvm = kvm_of(accel);
    struct kvm_vm *vm = kvm->vm;
    if (!__atomic_load_n(&vm->entry_at_cpl3, __ATOMIC_RELAXED) || !kvm_syscall_entry(kvm))
        return -ENOTSUP; /* hardware KVM: the entry runs at CPL0, exits are cheap */
    if (kvm->index < 0 || kvm->index >= HX_RING_COUNT)
        return -ENOSPC;
    uint64_t code = HX_RING_BASE + (uint64_t)kvm->index * HX_RING_STRIDE;
    uint64_t data = code + GUEST_PAGE_SIZE;
    int result = 0;
    if (!guest_region_lookup(vm->memory, code)) {
        result = guest_map_physical(vm->memory, code, HX_KERNEL_BASE, GUEST_PAGE_SIZE,
                                    GUEST_PROT_READ | GUEST_PROT_EXEC | GUEST_PROT_USER,
                                    GUEST_REGION_KERNEL, "syscall ring entry");
        if (result == 0)
            result = guest_map_anonymous(vm->memory, data, GUEST_PAGE_SIZE,
                                         GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_USER,
                                         GUEST_REGION_KERNEL, "syscall ring");
        if (result < 0)
            return result;
    }
    struct guest_walk walk;
    if (!guest_walk(vm->memory, guest_memory_cr3(vm->memory), data, &walk))
        return -EFAULT;
    struct hx_ring *page = guest_phys_to_host(vm->memory, walk.gpa, GUEST_PAGE_SIZE);
    if (!page)
        return -EFAULT;
    memset(page, 0, sizeof(*page));
    ring->page = page;
    struct {
        struct kvm_msrs header;
        struct kvm_msr_entry entry;
    } block = {.header.nmsrs = 1,
               .entry = {.index = MSR_LSTAR, .data = code + HX_RING_ENTRY_OFFSET}};
    if (ioctl(kvm->vcpu_fd, KVM_SET_MSRS, &block) != 1) {
        kvm->msrs_known = false;
        return -EIO;
    }
    kvm->msrs[2] = block.entry.data; /* kvm_msr_indices' LSTAR */
    kvm->ring = ring;
    kvm->ring_code = code;
    return 0;
}

/* A stop at the entry at CPL3 (above): back on the `syscall`; a stop in
 * the ring entry, settled. */
static int kvm_unwind_syscall_entry(struct kvm_accel *kvm)
{
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    int result = kvm_load_regs(kvm, &regs, &sregs);
    if (result < 0 || sregs->cs.dpl != 3)
        return result;
    if (kvm_ring_settle_stop(kvm, regs))
        return kvm_store_regs(kvm, true, false);
    uint64_t rip, rflags;
    if (!kvm_syscall_not_made(kvm, regs->rip, regs, &rip, &rflags))
        return result;
    regs->rip = rip;
    regs->rflags = rflags;
    return kvm_store_regs(kvm, true, false);
}

/* r11 as the probed syscall left it, without the probe's TF. */
static int kvm_clear_probe_r11(struct kvm_accel *kvm)
{
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    int result = kvm_load_regs(kvm, &regs, &sregs);
    if (result < 0 || !(regs->r11 & RFLAGS_TF))
        return result;
    regs->r11 &= ~RFLAGS_TF;
    return kvm_store_regs(kvm, true, false);
}

/*
 * KVM's debug exit during the probe: in an exception stub (CPL0) the stub
 * runs on, unstepped, to its exception exit (true: run again). At CPL3 the
 * step itself ended there (a host that reports CPL3 steps to the monitor):
 * nothing was queued, and *exit becomes the stop where signals go.
 */
static int kvm_int3_probe_step(struct kvm_accel *kvm, struct accel_exit *exit, bool *run_again)
{
    int result = kvm_disarm_int3_probe(kvm);
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    if (result == 0)
        result = kvm_load_regs(kvm, &regs, &sregs);
    if (result < 0)
        return result;
    *run_again = sregs->cs.dpl == 0;
    if (*run_again)
        return 0;
    kvm->int3_probing = false;
    exit->reason = ACCEL_EXIT_STOPPED;
    return 0;
}

/* The probe ended in an exit other than an exception's: a syscall's
 * doorbell (the probed instruction, when no #DB came first) has the
 * probe's TF in r11. */
static int kvm_end_int3_probe(struct kvm_accel *kvm, bool doorbell)
{
    kvm->int3_probing = false;
    int result = kvm_disarm_int3_probe(kvm);
    if (result == 0 && doorbell)
        result = kvm_clear_probe_r11(kvm);
    return result;
}

/*
 * The probe's exit was an exception: TF goes from its frame. A #DB is the
 * probe's own step (the program had TF clear): no trap was queued, and the
 * exit is a stop where signals are delivered, the program one instruction
 * further on. Anything else (the queued #BP, a fault of the instruction)
 * is the program's exception as usual.
 */
static void kvm_end_int3_probe_at_exception(struct kvm_accel *kvm, struct accel_exit *exit)
{
    kvm->int3_probing = false;
    (void)kvm_disarm_int3_probe(kvm);
    kvm->frame.rflags &= ~RFLAGS_TF;
    kvm->frame_dirty = true;
    if (exit->reason != ACCEL_EXIT_EXCEPTION || exit->vector != 1 || exit->in_kernel)
        return;
    uint64_t entry = kvm_syscall_entry(kvm);
    if (kvm_probed_syscall(kvm, kvm->frame.rip) || (entry && kvm->frame.rip == entry))
        (void)kvm_clear_probe_r11(kvm);
    /* The probe stepped a `syscall`: the stop is at the entry, unwound. */
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    if ((kvm->frame.cs & 3) == 3 && kvm_load_regs(kvm, &regs, &sregs) == 0)
        kvm->frame_dirty |=
            kvm_syscall_not_made(kvm, kvm->frame.rip, regs, &kvm->frame.rip, &kvm->frame.rflags);
    memset(exit, 0, sizeof(*exit));
    exit->reason = ACCEL_EXIT_STOPPED;
    exit->debug_slot = -1;
}

/*
 * A step resumed from an exception stub (the debugger steps from a
 * breakpoint's or a signal's stop): hardware KVM's single step steps the
 * stub's tail at CPL0 too, each a debug exit: the completion of its `out`,
 * `addq`, and `iretq`, which lands on the program's instruction without
 * running it and takes TF from the frame. gdb saw its step end in the stub
 * (exception_3+4), and its step over a breakpoint hit the breakpoint
 * again. The tail's exits are run through; where the iretq lands, the step
 * is armed again, so the exit reported is the program's instruction's.
 * 1: run again; 0: this exit is the step's; -errno.
 */
static int kvm_step_through_stub(struct kvm_accel *kvm)
{
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    int result = kvm_load_regs(kvm, &regs, &sregs);
    if (result < 0)
        return result;
    if (sregs->cs.dpl == 0 && kvm_at_stub_tail(kvm, regs))
        return 1;
    kvm->step_leaving_stub = false;
    if (kvm->run->debug.arch.dr6 & 0xf)
        return 0; /* a breakpoint register's hit where it landed */
    return ioctl(kvm->vcpu_fd, KVM_SET_GUEST_DEBUG, &kvm->debug) < 0 ? -errno : 1;
}

/* Whether a stop came between an exception and its exit (accel.h's
 * mid_exception): in guest kernel code that is not a resumed stub's tail,
 * with an exception KVM has queued for injection (a kick between an
 * instruction that faulted and the delivery: written registers would drop
 * or move it), or right after an int3 on PVM (then the step probe runs
 * first: kvm_start_int3_probe). */
static bool kvm_stopped_mid_exception(struct kvm_accel *kvm)
{
    bool left_stub = kvm->left_stub;
    kvm->left_stub = false;
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    if (kvm_load_regs(kvm, &regs, &sregs) < 0)
        return false;
    if (sregs->cs.dpl == 0) {
        if (!(left_stub && kvm_back_in_stub(kvm, regs)))
            return true;
        /* In the tail of a stub taking the program back with TF set (a
         * step through the guest IDT): PVM may have the next #DB committed
         * already; it came at the first instruction of a signal handler
         * whose frame had TF clear (gdb: "received signal SIGTRAP" in a
         * SIGALRM handler after `next` over a loop, 1 run in 7 on musl).
         * Its exit comes within one instruction. */
        return (kvm->frame.rflags & RFLAGS_TF) != 0;
    }
    if (kvm->int3_probing)
        return true; /* its exit comes within one instruction */
    if (!kvm->interrupted)
        return false;
    struct kvm_vcpu_events events;
    if (ioctl(kvm->vcpu_fd, KVM_GET_VCPU_EVENTS, &events) == 0 &&
        (events.exception.injected || events.exception.pending))
        return true;
    if (!kvm_int3_may_be_pending(kvm, regs))
        return false;
    kvm->int3_probe_wanted = true;
    return true;
}

static int kvm_handle_exception(struct kvm_accel *kvm, unsigned vector, struct accel_exit *exit)
{
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    int result = kvm_load_regs(kvm, &regs, &sregs);
    if (result < 0)
        return result;
    if (guest_read(kvm->vm->memory, regs->rsp, &kvm->frame, sizeof(kvm->frame),
                   GUEST_ACCESS_DEBUG) < 0) {
        snprintf(exit->message, sizeof(exit->message),
                 "exception %u with an unreadable kernel stack (rsp %#llx)", vector,
                 (unsigned long long)regs->rsp);
        exit->reason = ACCEL_EXIT_ERROR;
        return 0;
    }
    kvm->frame_address = regs->rsp;
    kvm->in_exception = true;
    kvm->frame_dirty = false;
    kvm_fix_user_int(kvm, &vector);
    exit->reason = ACCEL_EXIT_EXCEPTION;
    exit->vector = vector;
    exit->has_error_code = vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 ||
                           vector == 21 || vector == 29 || vector == 30;
    exit->error_code = kvm->frame.error_code;
    exit->fault_address = vector == 14 ? sregs->cr2 : 0;
    exit->in_kernel = (kvm->frame.cs & 3) == 0;
    return 0;
}

static void describe_internal_error(struct kvm_accel *kvm, struct accel_exit *exit)
{
    struct kvm_regs *regs;
    struct kvm_sregs *sregs;
    uint64_t rip = 0;
    if (kvm_load_regs(kvm, &regs, &sregs) == 0)
        rip = regs->rip;
    int used = snprintf(exit->message, sizeof(exit->message),
                        "KVM internal error (suberror %u) at rip %#llx",
                        kvm->run->internal.suberror, (unsigned long long)rip);
    if (kvm->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
        uint8_t bytes[8];
        if (guest_read(kvm->vm->memory, rip, bytes, sizeof(bytes), GUEST_ACCESS_DEBUG) == 0 &&
            used > 0 && (size_t)used < sizeof(exit->message))
            snprintf(exit->message + used, sizeof(exit->message) - used,
                     ": cannot emulate instruction %02x %02x %02x %02x", bytes[0], bytes[1],
                     bytes[2], bytes[3]);
    }
}

static int kvm_run(struct accel *accel, struct accel_exit *exit)
{
    struct kvm_accel *kvm = kvm_of(accel);
    memset(exit, 0, sizeof(*exit));
    exit->debug_slot = -1;
    if (!kvm->signal_mask_set) {
        int result = kvm_prepare_thread(kvm);
        if (result < 0) {
            snprintf(exit->message, sizeof(exit->message), "KVM_SET_SIGNAL_MASK: %s",
                     strerror(-result));
            return result;
        }
    }
    int result = kvm_flush_if_needed(kvm->vm);
    if (result < 0) {
        snprintf(exit->message, sizeof(exit->message), "cannot flush guest TLB: %s",
                 strerror(-result));
        return result;
    }
    kvm->step_leaving_stub =
        kvm->in_exception && (kvm->debug.control & KVM_GUESTDBG_SINGLESTEP) && !kvm->vm->pvm;
    if (kvm->in_exception) {
        if (kvm->frame_dirty && guest_write(kvm->vm->memory, kvm->frame_address, &kvm->frame,
                                            sizeof(kvm->frame), GUEST_ACCESS_DEBUG) < 0) {
            snprintf(exit->message, sizeof(exit->message), "cannot rewrite exception frame");
            return -EFAULT;
        }
        kvm->in_exception = false;
        kvm->frame_dirty = false;
        kvm->left_stub = true;
    }
    if (kvm->int3_probe_wanted && (result = kvm_start_int3_probe(kvm)) < 0) {
        snprintf(exit->message, sizeof(exit->message), "cannot set the int3 step probe: %s",
                 strerror(-result));
        return result;
    }

    int spurious = 0, lost = 0;
    for (;;) {
        if (accel_take_kick(&kvm->base)) {
            exit->reason = ACCEL_EXIT_STOPPED;
            exit->mid_exception = kvm_stopped_mid_exception(kvm);
            if (!exit->mid_exception && kvm->interrupted)
                return kvm_unwind_syscall_entry(kvm);
            return 0;
        }
        if (kvm->ring)
            __atomic_fetch_add(&kvm->ring->entered, 1, __ATOMIC_RELEASE);
        kvm_enter_guest(kvm);
        int run_result = ioctl(kvm->vcpu_fd, KVM_RUN, 0);
        int run_errno = errno;
        kvm_leave_guest(kvm);
        if (kvm->ring)
            (void)__atomic_load_n(&kvm->ring->served, __ATOMIC_ACQUIRE);
        kvm->ran = true;
        if (kvm->vm->sync_regs) {
            kvm->sync_valid = true;
            kvm->run->kvm_dirty_regs = 0;
        }
        if (run_result >= 0)
            kvm->left_stub = false; /* it ran to an exit: out of the stub */
        if (run_result < 0) {
            if (run_errno == EINTR || run_errno == EAGAIN) {
                kvm->interrupted = true;
                consume_kick();
                continue;
            }
            kvm->left_stub = false;
            if (run_errno == EFAULT && lost++ < KVM_SPURIOUS_RETRIES) {
                /* The guest touched a file's page that the host no longer
                 * has (another process cut the file short): those pages
                 * are past-EOF pages now, and the retried access faults in
                 * the guest, which makes it the program's SIGBUS. None
                 * found: the file grew back meanwhile, or the cause is
                 * another, which a few retries tell. */
                result = guest_file_pages_lost(kvm->vm->memory) > 0 ? kvm_flush(kvm->vm, true) : 0;
                if (result < 0)
                    return result;
                continue;
            }
            snprintf(exit->message, sizeof(exit->message), "KVM_RUN: %s", strerror(run_errno));
            return -run_errno;
        }
        kvm->interrupted = false;
        struct kvm_run *run = kvm->run;
        bool exception_exit =
            run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
            run->io.port >= HX_PORT_EXCEPTION_BASE && run->io.port < HX_PORT_EXCEPTION_BASE + 32;
        bool doorbell =
            run->exit_reason == KVM_EXIT_MMIO && kvm_on_doorbell(kvm->vm, run->mmio.phys_addr);
        if (kvm->int3_probing && run->exit_reason == KVM_EXIT_DEBUG && kvm->int3_probe_armed) {
            bool run_again = false;
            result = kvm_int3_probe_step(kvm, exit, &run_again);
            if (result < 0)
                return result;
            if (run_again)
                continue;
            return 0;
        }
        if (kvm->int3_probing && !exception_exit &&
            (result = kvm_end_int3_probe(kvm, doorbell)) < 0)
            return result;
        switch (run->exit_reason) {
        case KVM_EXIT_MMIO:
            if (kvm_on_doorbell(kvm->vm, run->mmio.phys_addr)) {
                struct kvm_regs *regs;
                struct kvm_sregs *sregs;
                result = kvm_load_regs(kvm, &regs, &sregs);
                if (result == 0 && kvm_is_ring_wait(kvm, regs)) {
                    bool syscall = false;
                    if ((result = kvm_ring_wait(kvm, regs, &syscall)) < 0)
                        return result;
                    if (!syscall)
                        continue;
                    exit->reason = ACCEL_EXIT_SYSCALL;
                    return 0;
                }
                if (result == 0 && !kvm_is_ring(kvm, regs))
                    return kvm_doorbell_fault(kvm, exit);
                if (result == 0)
                    result = kvm_handle_doorbell(kvm);
                if (result < 0)
                    return result;
                exit->reason = ACCEL_EXIT_SYSCALL;
                return 0;
            }
            exit->reason = ACCEL_EXIT_ERROR;
            snprintf(exit->message, sizeof(exit->message),
                     "guest %s of %u bytes at guest-physical %#llx, outside RAM",
                     run->mmio.is_write ? "write" : "read", run->mmio.len,
                     (unsigned long long)run->mmio.phys_addr);
            return 0;
        case KVM_EXIT_IO:
            if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port >= HX_PORT_EXCEPTION_BASE &&
                run->io.port < HX_PORT_EXCEPTION_BASE + 32) {
                result = kvm_handle_exception(kvm, run->io.port - HX_PORT_EXCEPTION_BASE, exit);
                if (result == 0 && spurious < KVM_SPURIOUS_RETRIES &&
                    kvm_spurious_fault(kvm, exit)) {
                    /* The stub returns to the faulting instruction: the
                     * fault dropped the stale entry (one retry was always
                     * enough, 5 faults in 80 runs); a second one flushes. */
                    kvm->in_exception = false;
                    memset(exit, 0, sizeof(*exit));
                    exit->debug_slot = -1;
                    result = spurious++ > 0 ? kvm_flush(kvm->vm, true) : 0;
                    if (result < 0)
                        return result;
                    continue;
                }
                if (result == 0 && kvm->int3_probing)
                    kvm_end_int3_probe_at_exception(kvm, exit);
                return result;
            }
            if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == HX_PORT_PANIC) {
                struct kvm_regs *regs;
                struct kvm_sregs *sregs;
                uint64_t reason = kvm_load_regs(kvm, &regs, &sregs) == 0 ? regs->rdi : 0;
                exit->reason = ACCEL_EXIT_HALT;
                snprintf(exit->message, sizeof(exit->message), "guest kernel panic: %s",
                         reason == HX_PANIC_BAD_BOOT_INFO ? "bad boot information"
                                                          : "unknown reason");
                return 0;
            }
            exit->reason = ACCEL_EXIT_ERROR;
            snprintf(exit->message, sizeof(exit->message), "guest %s on unknown port %#x",
                     run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port);
            return 0;
        case KVM_EXIT_DEBUG:
            if (kvm->step_leaving_stub) {
                result = kvm_step_through_stub(kvm);
                if (result < 0) {
                    snprintf(exit->message, sizeof(exit->message),
                             "cannot step out of an exception stub: %s", strerror(-result));
                    return result;
                }
                if (result > 0)
                    continue;
            }
            exit->reason = ACCEL_EXIT_DEBUG;
            for (int slot = 0; slot < 4; slot++) {
                if (run->debug.arch.dr6 & (1u << slot))
                    exit->debug_slot = slot;
            }
            return 0;
        case KVM_EXIT_HLT:
            exit->reason = ACCEL_EXIT_HALT;
            snprintf(exit->message, sizeof(exit->message), "guest kernel halted");
            return 0;
        case KVM_EXIT_SHUTDOWN:
            exit->reason = ACCEL_EXIT_ERROR;
            snprintf(exit->message, sizeof(exit->message),
                     "triple fault: the guest kernel could not handle an exception");
            return 0;
        case KVM_EXIT_INTR:
            consume_kick();
            continue;
        case KVM_EXIT_INTERNAL_ERROR:
            if (kvm_program_emulation_fault(kvm, exit))
                return 0;
            exit->reason = ACCEL_EXIT_ERROR;
            describe_internal_error(kvm, exit);
            return 0;
        case KVM_EXIT_FAIL_ENTRY:
            exit->reason = ACCEL_EXIT_ERROR;
            snprintf(exit->message, sizeof(exit->message),
                     "KVM entry failed (hardware reason %#llx)",
                     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            return 0;
        default:
            exit->reason = ACCEL_EXIT_ERROR;
            snprintf(exit->message, sizeof(exit->message), "unexpected KVM exit %u",
                     run->exit_reason);
            return 0;
        }
    }
}

/* ---- more vCPUs ------------------------------------------------------------ */

/* Maps (once per KVM vCPU id; spares keep theirs) the page holding vCPU
 * index's TSS and exception stack, and writes the TSS: RSP0 and IST1 at the
 * end of the page, as the kernel's IDT gates use IST1. Returns the TSS's
 * guest-virtual address, or 0. */
static uint64_t kvm_vcpu_area(struct kvm_vm *vm, int index, char **error)
{
    uint64_t page = HX_VCPU_AREA_BASE + (uint64_t)index * HX_VCPU_AREA_STRIDE;
    if (!guest_region_lookup(vm->memory, page)) {
        char name[32];
        snprintf(name, sizeof(name), "vCPU %d TSS and stack", index);
        int result =
            guest_map_anonymous(vm->memory, page, GUEST_PAGE_SIZE,
                                GUEST_PROT_READ | GUEST_PROT_WRITE, GUEST_REGION_KERNEL, name);
        if (result < 0) {
            *error = g_strdup_printf("cannot map vCPU %d's TSS: %s", index, strerror(-result));
            return 0;
        }
    }
    uint64_t stack_top = page + GUEST_PAGE_SIZE;
    struct hx_tss tss = {.rsp = {stack_top}, .ist = {stack_top}, .io_map_base = HX_TSS_SIZE};
    if (guest_write(vm->memory, page, &tss, sizeof(tss), GUEST_ACCESS_DEBUG) < 0) {
        *error = g_strdup_printf("cannot write vCPU %d's TSS", index);
        return 0;
    }
    return page;
}

/* The whole x87/SSE/AVX state, as XSAVE holds it. */
static int kvm_copy_xsave(struct kvm_accel *from, struct kvm_accel *to)
{
    const struct kvm_xsave *xsave = kvm_load_xsave(from);
    to->xsave_valid = false;
    if (!xsave || ioctl(to->vcpu_fd, KVM_SET_XSAVE, xsave) < 0)
        return -errno;
    return 0;
}

static int kvm_get_state(struct accel *accel, struct cpu_state *state, unsigned parts);
static int kvm_set_state(struct accel *accel, const struct cpu_state *state, unsigned parts);
static int kvm_get_fpu(struct accel *accel, struct cpu_fpu_state *fpu);
static int kvm_set_fpu(struct accel *accel, const struct cpu_fpu_state *fpu);

/* The new vCPU is entered directly where the parent is (CPL3 after a
 * syscall) from the state set here: no guest kernel code runs for it. Its
 * TR's hidden part points at its own TSS, so the shared IDT's IST1 gives it
 * its own exception stack; the GDT, IDT, LSTAR and the rest are shared. */
static struct accel *kvm_create_vcpu(struct accel *parent_accel, char **error)
{
    struct kvm_accel *parent = kvm_of(parent_accel);
    struct kvm_vm *vm = parent->vm;
    struct cpu_state state;
    int result = kvm_get_state(parent_accel, &state, CPU_STATE_ALL);
    if (result < 0) {
        *error = g_strdup_printf("cannot read the parent vCPU's state: %s", strerror(-result));
        return NULL;
    }
    struct kvm_accel *kvm = kvm_vcpu_new(vm, error);
    if (!kvm)
        return NULL;
    uint64_t tss = kvm_vcpu_area(vm, kvm->index, error);
    if (!tss)
        goto fail;
    state.tr = (struct cpu_segment){.base = tss,
                                    .limit = HX_TSS_SIZE - 1,
                                    .selector = HX_SELECTOR_TSS,
                                    .type = 11,
                                    .present = 1};
    result = kvm_set_state(&kvm->base, &state, CPU_STATE_ALL);
    if (result == 0 && kvm_copy_xsave(parent, kvm) < 0) {
        struct cpu_fpu_state fpu;
        result = kvm_get_fpu(parent_accel, &fpu);
        if (result == 0)
            result = kvm_set_fpu(&kvm->base, &fpu);
    }
    if (result < 0) {
        *error = g_strdup_printf("cannot set the new vCPU's state: %s", strerror(-result));
        goto fail;
    }
    return &kvm->base;

fail:
    kvm_destroy(&kvm->base);
    return NULL;
}

/* On PVM the program's cpuid is not intercepted: it gets the host's
 * (measured); elsewhere KVM answers from the table every vCPU was given. */
static void kvm_guest_cpuid(struct accel *accel, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    const struct kvm_vm *vm = kvm_of(accel)->vm;
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    if (vm->pvm) {
        __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
        return;
    }
    for (uint32_t i = 0; i < vm->cpuid->nent; i++) {
        const struct kvm_cpuid_entry2 *entry = &vm->cpuid->entries[i];
        if (entry->function == leaf &&
            (entry->index == subleaf || !(entry->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX))) {
            regs[0] = entry->eax, regs[1] = entry->ebx, regs[2] = entry->ecx, regs[3] = entry->edx;
            return;
        }
    }
}

const struct accel_ops kvm_accel_ops = {
    .name = "kvm",
    .probe = kvm_probe,
    .create = kvm_create,
    .create_vcpu = kvm_create_vcpu,
    .destroy = kvm_destroy,
    .carry_save = kvm_carry_save,
    .carry_load = kvm_carry_load,
    .memory_changed = kvm_memory_changed,
    .capabilities = kvm_capabilities,
    .run = kvm_run,
    .stop = kvm_stop,
    .get_state = kvm_get_state,
    .set_state = kvm_set_state,
    .get_fpu = kvm_get_fpu,
    .set_fpu = kvm_set_fpu,
    .get_xsave = kvm_get_xsave,
    .set_xsave = kvm_set_xsave,
    .cpuid = kvm_guest_cpuid,
    .translate = kvm_translate,
    .set_debug = kvm_set_debug,
    .ring_start = kvm_ring_start,
};
