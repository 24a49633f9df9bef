/*
 * report/core.c — an ELF core file of the program at a fault, in the layout
 * Linux writes (ET_CORE: a PT_NOTE with NT_PRSTATUS, NT_PRPSINFO,
 * NT_FPREGSET, NT_X86_XSTATE where the vCPU has AVX, NT_AUXV, then one
 * PT_LOAD per mapping), so gdb, eu-stack and friends read it as a native
 * core.
 */
#include "config.h"
#include "monitor/guest.h"
#include "report/internal.h"

#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <glib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <unistd.h>

#define NOTE_NAME "CORE"

struct core_segment {
    uint64_t start, end;
    int prot;
    uint64_t offset; /* in the file */
};

static bool collect_region(const struct guest_region *region, void *opaque)
{
    GArray *segments = opaque;
    /* What the program could touch: not the kernel, not the doorbell (a read
     * of it would be an MMIO access), not the unmapped guard page. */
    if (region->kind == GUEST_REGION_KERNEL || region->kind == GUEST_REGION_DEVICE ||
        region->kind == GUEST_REGION_GUARD || !(region->prot & GUEST_PROT_USER))
        return true;
    struct core_segment segment = {region->start, region->end, region->prot, 0};
    g_array_append_val(segments, segment);
    return true;
}

static void append_named_note(GByteArray *notes, const char *name, uint32_t type, const void *desc,
                              uint32_t size)
{
    uint32_t name_size = (uint32_t)strlen(name) + 1;
    Elf64_Nhdr header = {.n_namesz = name_size, .n_descsz = size, .n_type = type};
    static const uint8_t padding[8];
    g_byte_array_append(notes, (const guint8 *)&header, sizeof(header));
    g_byte_array_append(notes, (const guint8 *)name, name_size);
    g_byte_array_append(notes, padding, (4 - name_size % 4) % 4);
    g_byte_array_append(notes, desc, size);
    g_byte_array_append(notes, padding, (4 - size % 4) % 4);
}

static void append_note(GByteArray *notes, uint32_t type, const void *desc, uint32_t size)
{
    append_named_note(notes, NOTE_NAME, type, desc, size);
}

static void fill_registers(struct user_regs_struct *regs, const struct cpu_state *s)
{
    *regs = (struct user_regs_struct){
        .r15 = s->r15,
        .r14 = s->r14,
        .r13 = s->r13,
        .r12 = s->r12,
        .rbp = s->rbp,
        .rbx = s->rbx,
        .r11 = s->r11,
        .r10 = s->r10,
        .r9 = s->r9,
        .r8 = s->r8,
        .rax = s->rax,
        .rcx = s->rcx,
        .rdx = s->rdx,
        .rsi = s->rsi,
        .rdi = s->rdi,
        .orig_rax = (unsigned long long)-1, /* not in a syscall */
        .rip = s->rip,
        .cs = s->cs.selector,
        .eflags = s->rflags,
        .rsp = s->rsp,
        .ss = s->ss.selector,
        .fs_base = s->fs.base,
        .gs_base = s->gs.base,
        .ds = s->ds.selector,
        .es = s->es.selector,
        .fs = s->fs.selector,
        .gs = s->gs.selector,
    };
}

static void append_prstatus(GByteArray *notes, int signal, int pid, const struct cpu_state *state)
{
    struct elf_prstatus status;
    memset(&status, 0, sizeof(status));
    status.pr_info.si_signo = signal;
    status.pr_cursig = (short)signal;
    status.pr_pid = pid;
    status.pr_ppid = 0;
    status.pr_pgrp = 1;
    status.pr_sid = 1;
    struct user_regs_struct regs;
    fill_registers(&regs, state);
    memcpy(&status.pr_reg, &regs, sizeof(status.pr_reg));
    append_note(notes, NT_PRSTATUS, &status, sizeof(status));
}

static void fill_fxsave(struct user_fpregs_struct *out, const struct cpu_fpu_state *fpu)
{
    struct user_fpregs_struct fp;
    memset(&fp, 0, sizeof(fp));
    fp.cwd = fpu->fcw;
    fp.swd = fpu->fsw;
    fp.ftw = fpu->ftw;
    fp.fop = fpu->fop;
    fp.rip = fpu->fip;
    fp.rdp = fpu->fdp;
    fp.mxcsr = fpu->mxcsr;
    fp.mxcr_mask = 0xffff;
    memcpy(fp.st_space, fpu->st, sizeof(fp.st_space));
    memcpy(fp.xmm_space, fpu->xmm, sizeof(fp.xmm_space));
    *out = fp;
}

/* The XSAVE state as Linux's NT_X86_XSTATE holds it: XSAVE's standard
 * format, with the XCR0 it describes in the first software-reserved word
 * (where gdb reads it to pick the registers). x87, SSE and AVX from struct
 * cpu_fpu_state; with AVX-512 (append_avx512_xstate) from the thread's whole
 * XSAVE image. */
#define XSTATE_XCR0_OFFSET 464
#define XSTATE_HEADER      512
#define XSTATE_AVX         576
#define XSTATE_AVX_SIZE    (XSTATE_AVX + 256)
#define XSTATE_X87_SSE_AVX 0x7ULL
#define XSTATE_AVX512      0xe0ULL /* opmask, ZMM_Hi256, Hi16_ZMM */

static void append_xstate(GByteArray *notes, const struct cpu_fpu_state *fpu)
{
    uint8_t area[XSTATE_AVX_SIZE] = {0};
    struct user_fpregs_struct fp;
    fill_fxsave(&fp, fpu);
    memcpy(area, &fp, sizeof(fp));
    uint64_t xcr0 = XSTATE_X87_SSE_AVX;
    memcpy(area + XSTATE_XCR0_OFFSET, &xcr0, sizeof(xcr0));
    memcpy(area + XSTATE_HEADER, &xcr0, sizeof(xcr0)); /* XSTATE_BV: all three hold values */
    memcpy(area + XSTATE_AVX, fpu->ymmh, sizeof(fpu->ymmh));
    /* Named LINUX, as Linux's extended regsets (BFD skips it otherwise). */
    append_named_note(notes, "LINUX", NT_X86_XSTATE, area, sizeof(area));
}

/* Where the AVX-512 components lie in the image Linux writes on the CPUs
 * gdb's core reader knows (Intel's standard format, MPX's place kept):
 * opmask, ZMM_Hi256, Hi16_ZMM, in XSAVE component order 5, 6, 7. An AMD
 * CPU's own layout puts them elsewhere (no MPX hole), and gdb 13 then
 * refuses the note as "too small" and loses even ymm's upper halves, as it
 * does on that CPU's native cores; so the note is written in this one. */
static const struct {
    unsigned offset, size;
} avx512_component[3] = {{1088, 64}, {1152, 512}, {1664, 1024}};
#define XSTATE_AVX512_SIZE 2688

/* The offset of component `component` in the vCPU's image: CPUID leaf 0xd,
 * as the accelerator lays get_xsave's out; 0 when there is none. */
static unsigned xsave_component_offset(unsigned component, unsigned *size)
{
    unsigned eax, ebx, ecx, edx;
    __cpuid_count(0xd, component, eax, ebx, ecx, edx);
    (void)ecx, (void)edx;
    *size = eax;
    return ebx;
}

static void append_avx512_xstate(GByteArray *notes, const struct report_thread *thread)
{
    uint8_t *area = g_malloc0(XSTATE_AVX512_SIZE);
    const uint8_t *image = thread->xsave;
    uint64_t xcr0 = thread->xsave_features & (XSTATE_X87_SSE_AVX | XSTATE_AVX512);
    memcpy(area, image, XSTATE_AVX_SIZE); /* legacy area, header, AVX: fixed places */
    for (unsigned i = 0; i < G_N_ELEMENTS(avx512_component); i++) {
        unsigned size, offset = xsave_component_offset(5 + i, &size);
        if (offset && size == avx512_component[i].size && offset + size <= thread->xsave_size)
            memcpy(area + avx512_component[i].offset, image + offset, size);
        else
            xcr0 &= ~(1ULL << (5 + i));
    }
    uint64_t xstate_bv;
    memcpy(&xstate_bv, area + XSTATE_HEADER, sizeof(xstate_bv));
    xstate_bv &= xcr0;
    memcpy(area + XSTATE_HEADER, &xstate_bv, sizeof(xstate_bv));
    memcpy(area + XSTATE_XCR0_OFFSET, &xcr0, sizeof(xcr0));
    append_named_note(notes, "LINUX", NT_X86_XSTATE, area, XSTATE_AVX512_SIZE);
    g_free(area);
}

/* A thread's FP notes: NT_FPREGSET, and NT_X86_XSTATE where it has AVX. */
static void append_fpregset(GByteArray *notes, const struct report_thread *thread)
{
    struct user_fpregs_struct fp;
    fill_fxsave(&fp, &thread->fpu);
    append_note(notes, NT_FPREGSET, &fp, sizeof(fp));
    if (thread->xsave && thread->xsave_size >= XSTATE_AVX_SIZE &&
        (thread->xsave_features & (XSTATE_X87_SSE_AVX | XSTATE_AVX512)) ==
            (XSTATE_X87_SSE_AVX | XSTATE_AVX512))
        append_avx512_xstate(notes, thread);
    else if (thread->fpu.ymmh_valid)
        append_xstate(notes, &thread->fpu);
}

/* Linux's order: the dumping thread's NT_PRSTATUS, NT_PRPSINFO, its
 * NT_FPREGSET, NT_AUXV, then each other thread's NT_PRSTATUS and
 * NT_FPREGSET. Every NT_PRSTATUS carries the fatal signal, as Linux's do
 * (BFD takes it from the last one). */
static void build_notes(GByteArray *notes, struct guest *guest, int signal,
                        const struct report_thread *threads, size_t count)
{
    append_prstatus(notes, signal, threads[0].tid, &threads[0].state);

    struct elf_prpsinfo info;
    memset(&info, 0, sizeof(info));
    info.pr_state = 0;
    info.pr_sname = 'R';
    info.pr_pid = threads[0].tid;
    info.pr_pgrp = 1;
    info.pr_sid = 1;
    const char *path = guest->program.path ? guest->program.path : "program";
    const char *base = strrchr(path, '/');
    g_strlcpy(info.pr_fname, base ? base + 1 : path, sizeof(info.pr_fname));
    g_strlcpy(info.pr_psargs, path, sizeof(info.pr_psargs));
    append_note(notes, NT_PRPSINFO, &info, sizeof(info));

    if (threads[0].has_fpu)
        append_fpregset(notes, &threads[0]);

    /* The program's own auxv: gdb relocates a static-pie program by
     * AT_ENTRY and finds the program headers by AT_PHDR. */
    if (guest->auxv_length)
        append_note(notes, NT_AUXV, guest->auxv, guest->auxv_length);

    for (size_t i = 1; i < count; i++) {
        append_prstatus(notes, signal, threads[i].tid, &threads[i].state);
        if (threads[i].has_fpu)
            append_fpregset(notes, &threads[i]);
    }
}

static int fail(char **error, int code, const char *path, const char *what)
{
    *error = g_strdup_printf("cannot write the core file %s: %s: %s", path, what, strerror(code));
    return -code;
}

static bool is_zero(const uint8_t *page)
{
    for (size_t i = 0; i < GUEST_PAGE_SIZE; i++)
        if (page[i])
            return false;
    return true;
}

int report_write_core(const char *path, struct guest *guest, const struct accel_exit *exit,
                      const struct cpu_state *state, const struct cpu_fpu_state *fpu, char **error)
{
    /* HermiTux's task id. */
    struct report_thread thread = {.tid = 1, .state = *state, .has_fpu = fpu != NULL};
    if (fpu)
        thread.fpu = *fpu;
    return report_write_core_threads(path, guest, exit, &thread, 1, error);
}

int report_write_core_fd(int fd, const char *path, struct guest *guest, int signal,
                         const struct report_thread *threads, size_t count, char **error)
{
    *error = NULL;
    GArray *segments = g_array_new(FALSE, FALSE, sizeof(struct core_segment));
    guest_region_foreach(guest->memory, collect_region, segments);
    GByteArray *notes = g_byte_array_new();
    build_notes(notes, guest, signal, threads, count);

    size_t phnum = 1 + segments->len;
    uint64_t notes_offset = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
    /* 65,535 headers or more: e_phnum says PN_XNUM and section header 0
     * holds the count (sh_info), as Linux writes such cores. */
    bool extended = phnum >= PN_XNUM;
    uint64_t section_offset = (notes_offset + notes->len + 7) & ~7ULL;
    uint64_t headers_end = section_offset + (extended ? sizeof(Elf64_Shdr) : 0);
    uint64_t data_offset = (headers_end + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
    Elf64_Phdr *phdrs = g_new0(Elf64_Phdr, phnum);
    phdrs[0] = (Elf64_Phdr){
        .p_type = PT_NOTE, .p_offset = notes_offset, .p_filesz = notes->len, .p_align = 4};
    uint64_t offset = data_offset;
    for (size_t i = 0; i < segments->len; i++) {
        struct core_segment *segment = &g_array_index(segments, struct core_segment, i);
        segment->offset = offset;
        uint64_t size = segment->end - segment->start;
        phdrs[1 + i] = (Elf64_Phdr){
            .p_type = PT_LOAD,
            .p_flags = ((segment->prot & GUEST_PROT_READ) ? PF_R : 0) |
                       ((segment->prot & GUEST_PROT_WRITE) ? PF_W : 0) |
                       ((segment->prot & GUEST_PROT_EXEC) ? PF_X : 0),
            .p_offset = offset,
            .p_vaddr = segment->start,
            .p_filesz = size,
            .p_memsz = size,
            .p_align = GUEST_PAGE_SIZE,
        };
        offset += size;
    }
    Elf64_Ehdr header = {
        .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT,
                    ELFOSABI_NONE},
        .e_type = ET_CORE,
        .e_machine = EM_X86_64,
        .e_version = EV_CURRENT,
        .e_phoff = sizeof(Elf64_Ehdr),
        .e_ehsize = sizeof(Elf64_Ehdr),
        .e_phentsize = sizeof(Elf64_Phdr),
        .e_phnum = extended ? PN_XNUM : (Elf64_Half)phnum,
        .e_shoff = extended ? section_offset : 0,
        .e_shentsize = extended ? sizeof(Elf64_Shdr) : 0,
        .e_shnum = extended ? 1 : 0,
    };
    Elf64_Shdr section = {.sh_type = SHT_NULL, .sh_info = (Elf64_Word)phnum};

    int result = 0;
    uint8_t *page = g_malloc(GUEST_PAGE_SIZE);
    /* The program's umask is the monitor's too: the owner must be able to
     * read the core whatever the program set. */
    fchmod(fd, 0600);
    if (pwrite(fd, &header, sizeof(header), 0) != sizeof(header) ||
        pwrite(fd, phdrs, phnum * sizeof(Elf64_Phdr), sizeof(header)) !=
            (ssize_t)(phnum * sizeof(Elf64_Phdr)) ||
        pwrite(fd, notes->data, notes->len, notes_offset) != (ssize_t)notes->len ||
        (extended && pwrite(fd, &section, sizeof(section), (off_t)section_offset) !=
                         (ssize_t)sizeof(section))) {
        result = fail(error, errno ? errno : EIO, path, "write");
        goto out;
    }
    for (size_t i = 0; i < segments->len; i++) {
        const struct core_segment *segment = &g_array_index(segments, struct core_segment, i);
        for (uint64_t at = segment->start; at < segment->end; at += GUEST_PAGE_SIZE) {
            /* An unreadable page (PROT_NONE, never touched) and a zero page
             * are both left as a hole: they read as zeros. */
            if (guest_read(guest->memory, at, page, GUEST_PAGE_SIZE, GUEST_ACCESS_DEBUG) != 0 ||
                is_zero(page))
                continue;
            uint64_t file_offset = segment->offset + (at - segment->start);
            if (pwrite(fd, page, GUEST_PAGE_SIZE, (off_t)file_offset) != (ssize_t)GUEST_PAGE_SIZE) {
                result = fail(error, errno ? errno : EIO, path, "write");
                goto out;
            }
        }
    }
    if (ftruncate(fd, (off_t)offset) != 0)
        result = fail(error, errno, path, "truncate");
out:
    g_free(page);
    g_free(phdrs);
    g_byte_array_free(notes, TRUE);
    g_array_free(segments, TRUE);
    return result;
}

int report_write_core_threads(const char *path, struct guest *guest, const struct accel_exit *exit,
                              const struct report_thread *threads, size_t count, char **error)
{
    int signal = exit ? report_signal_for_exit(guest->memory, exit) : SIGSEGV;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(error, errno, path, "open");
    int result = report_write_core_fd(fd, path, guest, signal, threads, count, error);
    if (close(fd) != 0 && result == 0)
        result = fail(error, errno, path, "close");
    return result;
}

void report_dump_core(FILE *out, const char *path, struct guest *guest, int signal,
                      const struct report_thread *threads, size_t count)
{
    char *error = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int result = fd < 0 ? fail(&error, errno, path, "open")
                        : report_write_core_fd(fd, path, guest, signal, threads, count, &error);
    if (fd >= 0 && close(fd) != 0 && result == 0)
        result = fail(&error, errno, path, "close");
    if (result == 0)
        fprintf(out, "hermitux-run: core dumped to %s (gdb %s %s)\n", path,
                guest->program.path ? guest->program.path : "PROGRAM", path);
    else
        fprintf(out, "hermitux-run: %s\n", error);
    g_free(error);
    fflush(out);
}

/* ---- core_pattern ---------------------------------------------------------------- */

/* Appends text as Linux's cn_esc_printf does: '/' becomes '!' (a name
 * cannot make the core go to another directory), and so does the first
 * character of a part that is exactly "." or "..". */
static void append_escaped(GString *name, const char *text)
{
    size_t start = name->len;
    for (const char *c = text; *c; c++)
        g_string_append_c(name, *c == '/' ? '!' : *c);
    const char *part = name->str + start;
    if (strcmp(part, ".") == 0 || strcmp(part, "..") == 0)
        name->str[start] = '!';
}

char *report_core_name(const char *pattern, bool uses_pid, const struct report_core_values *values)
{
    GString *name = g_string_new(NULL);
    bool pid_in_pattern = false;
    for (const char *c = pattern; *c; c++) {
        if (*c != '%') {
            g_string_append_c(name, *c);
            continue;
        }
        switch (*++c) {
        case '\0': /* a lone '%' at the end is dropped */
            c--;
            break;
        case '%':
            g_string_append_c(name, '%');
            break;
        case 'p':
            pid_in_pattern = true;
            /* fall through */
        case 'P':
            g_string_append_printf(name, "%d", values->pid);
            break;
        case 'i':
        case 'I':
            g_string_append_printf(name, "%d", values->tid);
            break;
        case 'u':
            g_string_append_printf(name, "%u", values->uid);
            break;
        case 'g':
            g_string_append_printf(name, "%u", values->gid);
            break;
        case 'd':
            g_string_append(name, "1"); /* SUID_DUMP_USER */
            break;
        case 's':
            g_string_append_printf(name, "%d", values->signal);
            break;
        case 't':
            g_string_append_printf(name, "%lld", (long long)values->time);
            break;
        case 'h':
            append_escaped(name, values->hostname);
            break;
        case 'e':
            append_escaped(name, values->comm);
            break;
        case 'f': {
            const char *slash = strrchr(values->exe, '/');
            append_escaped(name, slash ? slash + 1 : values->exe);
            break;
        }
        case 'E':
            append_escaped(name, values->exe);
            break;
        case 'c':
            g_string_append_printf(name, "%llu", (unsigned long long)values->limit);
            break;
        default: /* Linux drops what it does not know, '%' and all */
            break;
        }
    }
    /* kernel.core_uses_pid: ".PID" after a pattern without %p. */
    if (uses_pid && !pid_in_pattern)
        g_string_append_printf(name, ".%d", values->pid);
    return g_string_free(name, FALSE);
}
