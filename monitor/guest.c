/* monitor/guest.c — building the VM for one program. */
#include "config.h"
#include "monitor/guest.h"
#include "accel/cpu_x86_64.h"
#include "kernel/abi.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

char *guest_default_kernel_path(void)
{
    char *self = g_file_read_link("/proc/self/exe", NULL);
    if (self) {
        char *directory = g_path_get_dirname(self);
        char *candidate = g_build_filename(directory, "kernel", "hermitux-kernel", NULL);
        g_free(directory);
        g_free(self);
        if (access(candidate, R_OK) == 0)
            return candidate;
        g_free(candidate);
    }
    return g_strdup(HERMITUX_KERNEL_INSTALLED);
}

static uint64_t page_align_up(uint64_t value)
{
    return (value + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
}

/* The program's first instruction: its interpreter's entry, if it has one. */
static uint64_t first_instruction(const struct guest *guest)
{
    return guest->interpreter.path ? guest->interpreter.entry : guest->program.entry;
}

/* rflags at the program's first instruction, as Linux starts a process. */
#define PROGRAM_START_RFLAGS (RFLAGS_IF | RFLAGS_FIXED)

/* One 16-byte interrupt gate to the kernel's stub for vector, on IST1. */
static void set_gate(uint8_t gate[16], unsigned vector)
{
    uint64_t stub = HX_EXCEPTION_STUBS + (uint64_t)vector * HX_EXCEPTION_STUB_SIZE;
    uint16_t selector = HX_SELECTOR_KERNEL_CODE;
    uint16_t low = (uint16_t)stub, middle = (uint16_t)(stub >> 16);
    uint32_t high = (uint32_t)(stub >> 32);
    memset(gate, 0, 16);
    memcpy(gate + 0, &low, 2);
    memcpy(gate + 2, &selector, 2);
    gate[4] = 1; /* IST1: a known-good stack, and the user red zone is kept */
    /* Present interrupt gate, DPL 0; int3 and into are allowed from the
     * program (DPL 3), as Linux allows them. */
    gate[5] = vector == 3 || vector == 4 ? 0xee : 0x8e;
    memcpy(gate + 6, &middle, 2);
    memcpy(gate + 8, &high, 4);
}

/*
 * The boot page (kernel/abi.h): the boot information, the GDT (Linux's
 * layout: null, kernel code 32 (unused), kernel code, kernel data, user
 * code 32 (unused), user data, user code, unused, the TSS's two slots; the
 * user entries in the order sysret requires), the IDT and the first vCPU's
 * TSS, whose stack is the rest of the page.
 */
static int write_boot_page(struct guest *guest)
{
    struct {
        struct hx_boot_info info;
        uint8_t pad0[HX_BOOT_GDT - HX_BOOT_INFO_ADDRESS - sizeof(struct hx_boot_info)];
        uint64_t gdt[HX_BOOT_GDT_ENTRIES];
        uint8_t pad1[HX_BOOT_IDT - HX_BOOT_GDT - HX_BOOT_GDT_ENTRIES * 8];
        uint8_t idt[HX_BOOT_IDT_VECTORS][16];
        uint8_t pad2[HX_BOOT_TSS - HX_BOOT_IDT - HX_BOOT_IDT_VECTORS * 16];
        struct hx_tss tss;
    } page = {
        .info = {.magic = HX_BOOT_INFO_MAGIC,
                 .user_entry = first_instruction(guest),
                 .user_stack = guest->initial_rsp,
                 .user_rflags = PROGRAM_START_RFLAGS},
        .gdt = {0, 0x00cf9b000000ffff, 0x00af9b000000ffff, 0x00cf93000000ffff, 0x00cffb000000ffff,
                0x00cff3000000ffff, 0x00affb000000ffff},
        .tss = {.rsp = {HX_BOOT_STACK_TOP}, .ist = {HX_BOOT_STACK_TOP}, .io_map_base = HX_TSS_SIZE},
    };
    G_STATIC_ASSERT(sizeof(struct hx_tss) == HX_TSS_SIZE);
    G_STATIC_ASSERT(sizeof(page) <= HX_BOOT_STACK_TOP - HX_BOOT_INFO_ADDRESS - 1024);
    /* The TSS's descriptor, busy: TR is loaded with it (set_initial_state). */
    uint64_t tss = HX_BOOT_TSS;
    page.gdt[HX_SELECTOR_TSS / 8] =
        (HX_TSS_SIZE - 1) | (tss & 0xffffff) << 16 | 0x8bULL << 40 | (tss >> 24 & 0xff) << 56;
    page.gdt[HX_SELECTOR_TSS / 8 + 1] = tss >> 32;
    for (unsigned vector = 0; vector < HX_BOOT_IDT_VECTORS; vector++)
        set_gate(page.idt[vector], vector);
    return guest_write(guest->memory, HX_BOOT_INFO_ADDRESS, &page, sizeof(page),
                       GUEST_ACCESS_DEBUG);
}

/* Whether [address, address + length) is code of the guest kernel. */
static bool kernel_has_code(const struct guest *guest, uint64_t address, uint64_t length)
{
    const struct guest_region *region = guest_region_lookup(guest->memory, address);
    return region && region->kind == GUEST_REGION_KERNEL && (region->prot & GUEST_PROT_EXEC) &&
           address + length <= region->end;
}

/*
 * The vCPU's state, set before its first instruction: long mode with the
 * monitor's page tables, the boot page's GDT, IDT and TSS
 * (write_boot_page) and the syscall MSRs. Then either the guest kernel's entry (CPL0, rdi =
 * the boot information), whose boot leaves for the program with an iretq,
 * or, where the accelerator can start a vCPU at CPL3, the state that iretq
 * leaves: the program's entry, every other register zero, the user code
 * and stack segments, the data segments null. The kernel's boot runs only
 * for a debugger that waits at the first instruction (-S), for a kernel of
 * the user's, and where the accelerator cannot start at CPL3 (tcg); it
 * costs about 0.1 ms of emulated CPL0 instructions on PVM.
 */
static int set_initial_state(struct guest *guest, char **error)
{
    struct cpu_state state = {0};
    state.cs = cpu_flat_segment(HX_SELECTOR_KERNEL_CODE, 11, 0);
    state.ds = state.es = state.fs = state.gs = state.ss =
        cpu_flat_segment(HX_SELECTOR_KERNEL_DATA, 3, 0);
    state.tr = (struct cpu_segment){.selector = HX_SELECTOR_TSS,
                                    .base = HX_BOOT_TSS,
                                    .limit = HX_TSS_SIZE - 1,
                                    .type = 11,
                                    .present = 1};
    state.ldt = (struct cpu_segment){.limit = 0xffff, .type = 2, .present = 1, .unusable = 1};
    state.gdt = (struct cpu_descriptor_table){HX_BOOT_GDT, HX_BOOT_GDT_ENTRIES * 8 - 1};
    /* The IDT only where the kernel has its stubs: a kernel of the user's
     * without them gets none, and its first exception is a triple fault
     * (PVM loops for ever delivering to a gate whose code is not there). */
    if (kernel_has_code(guest, HX_EXCEPTION_STUBS, HX_BOOT_IDT_VECTORS * HX_EXCEPTION_STUB_SIZE))
        state.idt = (struct cpu_descriptor_table){HX_BOOT_IDT, HX_BOOT_IDT_VECTORS * 16 - 1};
    state.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
    state.cr3 = guest_memory_cr3(guest->memory);
    state.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    unsigned eax, ebx, ecx, edx;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_XSAVE))
        state.cr4 |= CR4_OSXSAVE;
    state.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
    /* sysret selects user CS = base + 16 and SS = base + 8. */
    state.star = (uint64_t)HX_SELECTOR_USER32_CODE << 48 | (uint64_t)HX_SELECTOR_KERNEL_CODE << 32;
    state.lstar = HX_SYSCALL_ENTRY;
    state.fmask = HX_SYSCALL_RFLAGS_MASK;

    /* A kernel of the user's (--kernel) always boots: it is theirs to run. */
    bool direct = !guest->options->halt_at_start && !guest->options->kernel_path &&
                  guest->accel_ops->capabilities(guest->accel)->user_entry;
    if (direct) {
        state.rip = first_instruction(guest);
        state.rsp = guest->initial_rsp;
        state.rflags = PROGRAM_START_RFLAGS;
        state.cs = cpu_flat_segment(HX_SELECTOR_USER_CODE, 11, 3);
        state.ss = cpu_flat_segment(HX_SELECTOR_USER_DATA, 3, 3);
        state.ds = state.es = state.fs = state.gs = (struct cpu_segment){.unusable = 1};
    } else {
        state.rip = guest->kernel.entry;
        state.rdi = HX_BOOT_INFO_ADDRESS;
        state.rflags = 0x2;
    }
    if (guest->verbose)
        fprintf(stderr, "hermitux-run: the vCPU starts %s\n",
                direct ? "in the program (CPL3)" : "at the guest kernel's entry");
    int result = guest->accel_ops->set_state(guest->accel, &state, CPU_STATE_ALL);
    /* What Linux gives a new process: x87 control word 0x37f, all SSE
     * exceptions masked. */
    struct cpu_fpu_state fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
    if (result == 0)
        result = guest->accel_ops->set_fpu(guest->accel, &fpu);
    if (result < 0)
        *error = g_strdup_printf("cannot set the vCPU's initial state: %s", strerror(-result));
    return result;
}

static const struct accel_ops *choose_accel(const char *name, bool verbose, char **error)
{
    char why[512];
    if (strcmp(name, "auto") == 0) {
        const struct accel_ops *ops = accel_choose(why, sizeof(why));
        if (!ops)
            *error = g_strdup_printf("no accelerator can run here (%s)", why);
        else if (verbose)
            fprintf(stderr, "hermitux-run: accelerator %s (auto: %s)\n", ops->name,
                    why[0] ? why : "the first choice works here");
        return ops;
    }
    const struct accel_ops *ops = accel_find(name);
    if (!ops) {
        *error = g_strdup_printf("accelerator '%s' is not built into this hermitux-run; "
                                 "reconfigure without --disable-%s or use --accel=auto",
                                 name, name);
        return NULL;
    }
    if (!ops->probe(why, sizeof(why))) {
        *error = g_strdup_printf("--accel=%s cannot run here: %s", name, why);
        return NULL;
    }
    return ops;
}

/* Copies the auxiliary vector out of the initial stack at rsp: past argc,
 * argv and envp (each NULL-terminated), up to and with AT_NULL. */
static void keep_auxv(struct guest *guest, uint64_t rsp)
{
    uint64_t pointer = rsp, value;
    if (guest_read(guest->memory, pointer, &value, 8, GUEST_ACCESS_DEBUG) < 0)
        return;
    pointer += 8 * (value + 2);
    for (int i = 0; i < 4096; i++, pointer += 8) {
        if (guest_read(guest->memory, pointer, &value, 8, GUEST_ACCESS_DEBUG) < 0)
            return;
        if (value == 0)
            break;
    }
    uint64_t start = pointer + 8;
    for (pointer = start; pointer < start + 64 * 16; pointer += 16) {
        if (guest_read(guest->memory, pointer, &value, 8, GUEST_ACCESS_DEBUG) < 0)
            return;
        if (value == 0) {
            pointer += 16;
            break;
        }
    }
    guest->auxv_length = pointer - start;
    guest->auxv = g_malloc(guest->auxv_length);
    if (guest_read(guest->memory, start, guest->auxv, guest->auxv_length, GUEST_ACCESS_DEBUG) < 0)
        guest->auxv_length = 0;
}

/* 8 MiB of stack as Linux gives, less when the guest is small; the mmap
 * area (where ld.so goes first) ends below its guard page. */
static void plan_stack(struct guest *guest)
{
    uint64_t stack_size = MIN(GUEST_STACK_SIZE, guest_memory_ram_size(guest->memory) / 16);
    stack_size = MAX(stack_size & GUEST_PAGE_MASK, 16 * GUEST_PAGE_SIZE);
    guest->stack_top = GUEST_STACK_TOP;
    guest->stack_low = guest->stack_top - stack_size;
}

/* Between the stack's guard page and the mmap area: the vDSO and its clock
 * page (guest_vdso_install). */
static uint64_t mmap_high(const struct guest *guest)
{
    return guest->stack_low - GUEST_PAGE_SIZE - GUEST_VDSO_AREA;
}

/* The program, and the interpreter it names, read from the host's
 * filesystem as Linux's execve does. */
static int load_program(struct guest *guest, const struct monitor_options *options, char **error)
{
    if (!strchr(options->program, '/')) {
        *error = g_strdup_printf("%s: command not found (not in PATH)", options->program);
        return -ENOENT;
    }
    if (options->program_error) {
        *error = g_strdup(options->program_error);
        return -ENOEXEC;
    }
    struct loader_limits limits = {
        .low = HX_KERNEL_END,
        .high = guest_memory_ram_size(guest->memory),
        .dynamic_low = GUEST_MMAP_LOW,
        .dynamic_high = mmap_high(guest),
        .inside = options->root_path,
    };
    int result =
        loader_load_program(options->program, guest->memory, &limits, &guest->program, error);
    if (result < 0 || !guest->program.interpreter)
        return result;
    struct loader_limits interpreter_limits = {
        .low = GUEST_MMAP_LOW, .high = mmap_high(guest), .inside = options->root_path};
    char *interpreter_error = NULL;
    if (options->root_path) { /* PT_INTERP names a path inside the root */
        int root_error;
        char *inside =
            linux_root_resolve(options->root_path, guest->program.interpreter, &root_error);
        if (!inside) {
            *error = g_strdup_printf("%s: its interpreter %s: %s (inside --root %s)",
                                     options->program, guest->program.interpreter,
                                     g_strerror(root_error), options->root_path);
            return -root_error;
        }
        g_free(guest->program.interpreter);
        guest->program.interpreter = inside;
    }
    result = loader_load_interpreter(guest->program.interpreter, guest->memory, &interpreter_limits,
                                     &guest->interpreter, &interpreter_error);
    if (result < 0) {
        *error = g_strdup_printf("%s: its interpreter %s", options->program, interpreter_error);
        g_free(interpreter_error);
    }
    return result;
}

/* Linux's largest signal frame (arch/x86 init_sigframe_size): the ia32
 * sigframe a kernel with IA32 emulation (Debian's) sizes for, 15 bytes of
 * alignment, the FP state (the i387 fsave header, then XSAVE with its
 * 4-byte end magic or FXSAVE) and 63 bytes to align it, rounded to 16. */
#define SIGFRAME_IA32_SIZE 732
#define FREGS_STATE_SIZE   112
#define FXSAVE_SIZE        512
static uint64_t linux_frame_size(uint64_t fp_size)
{
    return (SIGFRAME_IA32_SIZE + 15 + FREGS_STATE_SIZE + fp_size + 63 + 15) & ~15ULL;
}

/* AT_MINSIGSTKSZ. With XSAVE frames (kvm: the host's CPU state and layout)
 * the frame is the host's own, so the program gets the host kernel's value
 * (which may count state the formula does not: 16 bytes more on this
 * machine's 6.18 kernel); the formula only if the host gives none.
 * Without (tcg, and the stand-in of a backend not yet loaded, which has no
 * get_xsave either): an FXSAVE frame, as Linux sizes it on a CPU without
 * XSAVE. */
static uint64_t min_signal_stack(const struct guest *guest)
{
    if (!guest->accel_ops->get_xsave)
        return linux_frame_size(FXSAVE_SIZE);
    uint64_t host = getauxval(AT_MINSIGSTKSZ);
    unsigned eax, ebx, ecx, edx;
    if (host == 0 && __get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx))
        host = linux_frame_size(ecx + 4);
    return host ? host : linux_frame_size(FXSAVE_SIZE);
}

static int build_user_memory(struct guest *guest, const struct monitor_options *options,
                             char **error)
{
    struct guest_memory *memory = guest->memory;
    int result =
        guest_map_anonymous(memory, HX_BOOT_INFO_ADDRESS, GUEST_PAGE_SIZE,
                            GUEST_PROT_READ | GUEST_PROT_WRITE, GUEST_REGION_KERNEL, "boot info");
    if (result == 0)
        result = guest_map_physical(
            memory, HX_DOORBELL_ADDRESS, HX_DOORBELL_PHYSICAL(guest_memory_ram_size(memory)),
            GUEST_PAGE_SIZE, GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_USER,
            GUEST_REGION_DEVICE, "doorbell");
    if (result < 0) {
        *error = g_strdup_printf("cannot map the kernel's pages: %s", strerror(-result));
        return result;
    }

    uint64_t stack_size = guest->stack_top - guest->stack_low;
    int stack_prot = GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_USER;
    if (guest->program.executable_stack)
        stack_prot |= GUEST_PROT_EXEC;
    result = guest_map_anonymous(memory, guest->stack_low, stack_size, stack_prot,
                                 GUEST_REGION_STACK, "[stack]");
    if (result == 0)
        result = guest_reserve_range(memory, guest->stack_low - GUEST_PAGE_SIZE, GUEST_PAGE_SIZE,
                                     GUEST_REGION_GUARD, "stack guard page");
    if (result < 0) {
        *error = g_strdup_printf("%s: not enough guest memory for the stack (%llu KiB); "
                                 "give more with -m",
                                 options->program, (unsigned long long)(stack_size >> 10));
        return result;
    }

    result = guest_vdso_install(guest, guest->stack_low - GUEST_PAGE_SIZE, error);
    if (result < 0)
        return result;

    unsigned eax, ebx, ecx, edx;
    uint64_t hwcap = __get_cpuid(1, &eax, &ebx, &ecx, &edx) ? edx : 0;
    struct loader_stack_info info = {
        .argv = (const char *const *)options->program_argv,
        .envp = (const char *const *)options->environment,
        .execfn = options->program,
        .base = guest->interpreter.path ? guest->interpreter.bias : 0,
        .sysinfo_ehdr = guest->vdso_base,
        .hwcap = hwcap,
        .hwcap2 = 0,
        .minsigstksz = min_signal_stack(guest),
        .uid = getuid(),
        .euid = geteuid(),
        .gid = getgid(),
        .egid = getegid(),
    };
    uint64_t rsp;
    result = loader_build_stack(memory, &guest->program, &info, guest->stack_low, guest->stack_top,
                                &rsp, error);
    if (result < 0)
        return result;
    guest->initial_rsp = rsp;
    keep_auxv(guest, rsp);

    result = write_boot_page(guest);
    if (result < 0)
        *error = g_strdup("cannot write the boot information page");
    return result;
}

static uint64_t cpu_get_segment_base(struct guest *guest, bool fs)
{
    struct cpu_state state;
    if (guest->accel_ops->get_state(guest->accel, &state, CPU_STATE_SEGMENTS) < 0)
        return 0;
    return fs ? state.fs.base : state.gs.base;
}

/* linux_host's cpuid: the accelerator's answer, the same for every vCPU. */
static void guest_cpuid(void *opaque, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    struct guest *guest = opaque;
    if (guest->accel_ops->cpuid) {
        guest->accel_ops->cpuid(guest->accel, leaf, subleaf, regs);
        return;
    }
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
}

static uint64_t cpu_get_fs_base(void *opaque)
{
    return cpu_get_segment_base(opaque, true);
}

static uint64_t cpu_get_gs_base(void *opaque)
{
    return cpu_get_segment_base(opaque, false);
}

static void cpu_set_segment_base(struct guest *guest, bool fs, uint64_t base)
{
    struct cpu_state state;
    if (guest->accel_ops->get_state(guest->accel, &state, CPU_STATE_SEGMENTS) < 0)
        return;
    if (fs)
        state.fs.base = base;
    else
        state.gs.base = base;
    guest->accel_ops->set_state(guest->accel, &state, CPU_STATE_SEGMENTS);
}

static void cpu_set_fs_base(void *opaque, uint64_t base)
{
    cpu_set_segment_base(opaque, true, base);
}

static void cpu_set_gs_base(void *opaque, uint64_t base)
{
    cpu_set_segment_base(opaque, false, base);
}

int guest_cpu_get_regs(struct guest *guest, struct accel *vcpu, struct linux_regs *regs)
{
    struct cpu_state state;
    int result = guest->accel_ops->get_state(vcpu, &state, CPU_STATE_GPRS);
    if (result < 0)
        return result;
    *regs =
        (struct linux_regs){state.rax, state.rbx, state.rcx, state.rdx, state.rsi, state.rdi,
                            state.rbp, state.rsp, state.r8,  state.r9,  state.r10, state.r11,
                            state.r12, state.r13, state.r14, state.r15, state.rip, state.rflags};
    return 0;
}

int guest_cpu_set_regs(struct guest *guest, struct accel *vcpu, const struct linux_regs *regs)
{
    struct cpu_state state = {
        .rax = regs->rax,
        .rbx = regs->rbx,
        .rcx = regs->rcx,
        .rdx = regs->rdx,
        .rsi = regs->rsi,
        .rdi = regs->rdi,
        .rbp = regs->rbp,
        .rsp = regs->rsp,
        .r8 = regs->r8,
        .r9 = regs->r9,
        .r10 = regs->r10,
        .r11 = regs->r11,
        .r12 = regs->r12,
        .r13 = regs->r13,
        .r14 = regs->r14,
        .r15 = regs->r15,
        .rip = regs->rip,
        .rflags = regs->rflags,
    };
    return guest->accel_ops->set_state(vcpu, &state, CPU_STATE_GPRS);
}

/* FXSAVE's layout: the control words, then x87 registers at 32 and XMM at
 * 160, each 16 bytes. */
int guest_cpu_get_fpu(struct guest *guest, struct accel *vcpu, uint8_t fxsave[LINUX_FXSAVE_SIZE])
{
    struct cpu_fpu_state fpu;
    int result = guest->accel_ops->get_fpu(vcpu, &fpu);
    if (result < 0)
        return result;
    memset(fxsave, 0, LINUX_FXSAVE_SIZE);
    memcpy(fxsave + 0, &fpu.fcw, 2);
    memcpy(fxsave + 2, &fpu.fsw, 2);
    fxsave[4] = fpu.ftw;
    memcpy(fxsave + 6, &fpu.fop, 2);
    memcpy(fxsave + 8, &fpu.fip, 8);
    memcpy(fxsave + 16, &fpu.fdp, 8);
    memcpy(fxsave + 24, &fpu.mxcsr, 4);
    uint32_t mxcsr_mask = 0xffff;
    memcpy(fxsave + 28, &mxcsr_mask, 4);
    memcpy(fxsave + 32, fpu.st, sizeof(fpu.st));
    memcpy(fxsave + 160, fpu.xmm, sizeof(fpu.xmm));
    return 0;
}

int guest_cpu_set_fpu(struct guest *guest, struct accel *vcpu,
                      const uint8_t fxsave[LINUX_FXSAVE_SIZE])
{
    struct cpu_fpu_state fpu = {0};
    memcpy(&fpu.fcw, fxsave + 0, 2);
    memcpy(&fpu.fsw, fxsave + 2, 2);
    fpu.ftw = fxsave[4];
    memcpy(&fpu.fop, fxsave + 6, 2);
    memcpy(&fpu.fip, fxsave + 8, 8);
    memcpy(&fpu.fdp, fxsave + 16, 8);
    memcpy(&fpu.mxcsr, fxsave + 24, 4);
    memcpy(fpu.st, fxsave + 32, sizeof(fpu.st));
    memcpy(fpu.xmm, fxsave + 160, sizeof(fpu.xmm));
    return guest->accel_ops->set_fpu(vcpu, &fpu);
}

size_t guest_cpu_xstate_size(struct guest *guest, struct accel *vcpu, uint64_t *features)
{
    const struct accel_ops *ops = guest->accel_ops;
    if (!ops->get_xsave || !ops->set_xsave)
        return 0;
    const struct accel_capabilities *caps = ops->capabilities(vcpu);
    *features = caps->xsave_features;
    return caps->xsave_size;
}

int guest_cpu_get_xstate(struct guest *guest, struct accel *vcpu, uint8_t *area, size_t size)
{
    if (!guest->accel_ops->get_xsave)
        return -ENOSYS;
    return guest->accel_ops->get_xsave(vcpu, area, size);
}

int guest_cpu_set_xstate(struct guest *guest, struct accel *vcpu, const uint8_t *area, size_t size)
{
    if (!guest->accel_ops->set_xsave)
        return -ENOSYS;
    return guest->accel_ops->set_xsave(vcpu, area, size);
}

/* The main thread's vCPU, for the personality. */
static int cpu_get_regs(void *opaque, struct linux_regs *regs)
{
    struct guest *guest = opaque;
    return guest_cpu_get_regs(guest, guest->accel, regs);
}

static int cpu_set_regs(void *opaque, const struct linux_regs *regs)
{
    struct guest *guest = opaque;
    return guest_cpu_set_regs(guest, guest->accel, regs);
}

static int cpu_get_fpu(void *opaque, uint8_t fxsave[LINUX_FXSAVE_SIZE])
{
    struct guest *guest = opaque;
    return guest_cpu_get_fpu(guest, guest->accel, fxsave);
}

static int cpu_set_fpu(void *opaque, const uint8_t fxsave[LINUX_FXSAVE_SIZE])
{
    struct guest *guest = opaque;
    return guest_cpu_set_fpu(guest, guest->accel, fxsave);
}

static size_t cpu_xstate_size(void *opaque, uint64_t *features)
{
    struct guest *guest = opaque;
    return guest_cpu_xstate_size(guest, guest->accel, features);
}

static int cpu_get_xstate(void *opaque, uint8_t *area, size_t size)
{
    struct guest *guest = opaque;
    return guest_cpu_get_xstate(guest, guest->accel, area, size);
}

static int cpu_set_xstate(void *opaque, const uint8_t *area, size_t size)
{
    struct guest *guest = opaque;
    return guest_cpu_set_xstate(guest, guest->accel, area, size);
}

static void cpu_kick(void *opaque)
{
    struct guest *guest = opaque;
    if (guest->kick)
        guest->kick(guest->kick_opaque);
    else
        guest->accel_ops->stop(guest->accel);
}

struct guest *guest_create(const struct monitor_options *options, char **error)
{
    struct guest *guest = g_new0(struct guest, 1);
    guest->verbose = options->verbose;
    guest->options = options;
    /* The accelerator is chosen once the kernel and the program are loaded:
     * a backend loaded on demand (tcg's plugin) loads meanwhile, from
     * main()'s accel_prepare. */
    guest->memory = guest_memory_create(options->memory_size, error);
    if (!guest->memory)
        goto fail;

    char *kernel_path =
        options->kernel_path ? g_strdup(options->kernel_path) : guest_default_kernel_path();
    struct loader_limits kernel_limits = {.low = HX_KERNEL_BASE, .high = HX_KERNEL_END};
    int result =
        loader_load_kernel(kernel_path, guest->memory, &kernel_limits, &guest->kernel, error);
    g_free(kernel_path);
    if (result < 0)
        goto fail;

    plan_stack(guest);
    if (load_program(guest, options, error) < 0)
        goto fail;

    /* The signal frame's size (build_user_memory) depends on it. */
    guest->accel_ops = choose_accel(options->accel, options->verbose, error);
    if (!guest->accel_ops)
        goto fail;
    if (build_user_memory(guest, options, error) < 0)
        goto fail;

    if (options->accel_carry && guest->accel_ops->carry_load) {
        size_t size;
        const void *data = g_bytes_get_data(options->accel_carry, &size);
        guest->accel_ops->carry_load(data, size);
    }
    guest->accel = guest->accel_ops->create(guest->memory, error);
    if (!guest->accel)
        goto fail;
    /* A backend loaded on demand stands behind a stand-in until created. */
    guest->accel_ops = guest->accel->ops;
    if (options->verbose)
        fprintf(stderr, "hermitux-run: %s\n",
                guest->accel_ops->capabilities(guest->accel)->description);
    if (set_initial_state(guest, error) < 0)
        goto fail;

    if (options->strace) {
        /* After an execve the trace goes on in the same file, appended. */
        if (options->strace_fd > 0) { /* (0: options zeroed by their maker) */
            guest->strace_file = fdopen(options->strace_fd, "a");
            if (guest->strace_file)
                fcntl(options->strace_fd, F_SETFD, FD_CLOEXEC);
        } else {
            guest->strace_file = options->strace_path ? fopen(options->strace_path, "we") : stderr;
        }
        if (!guest->strace_file) {
            *error = g_strdup_printf("cannot write the trace to %s: %s",
                                     options->strace_path ? options->strace_path
                                                          : "the file inherited across execve",
                                     g_strerror(errno));
            goto fail;
        }
    }
    char *exe_path = realpath(options->program, NULL);
    struct linux_config config = {
        .exe_path = exe_path ? exe_path : options->program,
        .started_as = options->program,
        .brk_start = guest->program.start >= GUEST_MMAP_LOW ? GUEST_SHARED_OBJECT_BRK
                                                            : page_align_up(guest->program.end),
        .mmap_low = GUEST_MMAP_LOW,
        .mmap_high = mmap_high(guest),
        .verbose = options->verbose,
        .net_none = options->net_none,
        .root = options->root_path,
        .initial_stack = guest->initial_rsp,
        .auxv = guest->auxv,
        .auxv_length = guest->auxv_length,
        .stdin_fd = options->standard_fds[0],
        .stdout_fd = options->standard_fds[1],
        .stderr_fd = options->standard_fds[2],
        .inherited_fds = options->inherited_fds,
        .inherited_count = options->inherited_count,
        .strace_file = guest->strace_file,
        .host = {.opaque = guest,
                 .fork = monitor_guest_fork,
                 .exec = monitor_guest_exec,
                 .hold_signals = monitor_guest_hold_signals,
                 .cpuid = guest_cpuid},
        .has_exec_state = options->has_exec_state,
        .exec_state_fd = options->exec_state_fd,
        .serve_peers = true,
    };
    static const struct linux_cpu cpu_template = {
        .get_fs_base = cpu_get_fs_base,
        .set_fs_base = cpu_set_fs_base,
        .get_gs_base = cpu_get_gs_base,
        .set_gs_base = cpu_set_gs_base,
        .get_regs = cpu_get_regs,
        .set_regs = cpu_set_regs,
        .get_fpu = cpu_get_fpu,
        .set_fpu = cpu_set_fpu,
        .xstate_size = cpu_xstate_size,
        .get_xstate = cpu_get_xstate,
        .set_xstate = cpu_set_xstate,
        .kick = cpu_kick,
    };
    struct linux_cpu cpu = cpu_template;
    cpu.opaque = guest;
    guest->process = linux_process_create(guest->memory, &config, &cpu, error);
    free(exe_path);
    if (!guest->process)
        goto fail;
    linux_note_mapped_file(guest->process, -1, options->program);
    if (guest->program.interpreter)
        linux_note_mapped_file(guest->process, -1, guest->program.interpreter);
    return guest;

fail:
    guest_destroy(guest);
    return NULL;
}

void guest_release_for_exit(struct guest *guest)
{
    linux_process_destroy(guest->process);
    guest->process = NULL;
    if (guest->strace_file && guest->strace_file != stderr)
        fclose(guest->strace_file);
    guest->strace_file = NULL;
}

void guest_destroy(struct guest *guest)
{
    if (!guest)
        return;
    guest_release_for_exit(guest);
    if (guest->accel)
        guest->accel_ops->destroy(guest->accel);
    elf_image_free(&guest->program);
    elf_image_free(&guest->interpreter);
    elf_image_free(&guest->kernel);
    g_free(guest->auxv);
    g_free(guest->tls_libc_path);
    guest_memory_destroy(guest->memory);
    g_free(guest);
}
