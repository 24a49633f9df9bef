/*
 * loader/ — ELF files into guest memory (with libelf), and the program's
 * initial stack.
 *
 * Loads the guest kernel and a Linux x86-64 program: ET_EXEC at its own
 * addresses, a PIE (static-pie, or dynamic with PT_INTERP) at
 * LOADER_PIE_BIAS, both in the static region. A dynamically linked
 * program's interpreter (ld.so, read from the host's filesystem) and a
 * shared object run as the program (`hermitux-run /lib64/ld-linux-x86-64.so.2
 * PROG`) go to the dynamic region at the top of the mmap area, in fresh
 * frames, as Linux places them. Every field of the file is distrusted: a
 * malformed ELF is refused with a one-line message, never loaded in part.
 * Symbol tables are kept for fault reports and the GDB stub.
 */
#ifndef HERMITUX_LOADER_H
#define HERMITUX_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct guest_memory;

/* Where a static-pie program is placed, as HermiTux does. */
#define LOADER_PIE_BIAS 0x400000ULL

struct elf_symbol {
    uint64_t address; /* load bias applied */
    uint64_t size;
    const char *name;
    bool is_function;
};

struct elf_segment {
    uint64_t start; /* page aligned, bias applied */
    uint64_t end;   /* page aligned */
    int prot;       /* enum guest_prot bits (without GUEST_PROT_USER) */
};

struct elf_image {
    char *path;            /* as given */
    int type;              /* ET_EXEC or ET_DYN */
    uint64_t bias;         /* added to every address of the file (0 for ET_EXEC) */
    uint64_t entry;        /* bias applied */
    uint64_t start, end;   /* page-aligned extent of the loaded segments */
    uint64_t phdr_address; /* where the program headers are in guest memory (0 if not loaded) */
    uint64_t phnum, phent;
    uint64_t text_start; /* address of .text (bias applied), 0 if none */
    bool has_tls;        /* PT_TLS present */
    uint64_t tls_address, tls_filesz, tls_memsz, tls_align;
    bool executable_stack;    /* PT_GNU_STACK with PF_X, or no PT_GNU_STACK */
    char *interpreter;        /* PT_INTERP's path, NULL for a static program */
    uint64_t dynamic_address; /* PT_DYNAMIC (bias applied), 0 if none */
    struct elf_segment *segments;
    size_t segment_count;
    /* The symbol table, read from the file on first use (a program's start
     * never needs it, and reading and sorting glibc's 1,850 symbols cost
     * 0.33 ms, mostly first touches of fresh heap pages). */
    struct elf_symbol_table *symbol_table;
};

/* Which limits a loaded image must respect. */
struct loader_limits {
    uint64_t low;  /* no segment may start below this */
    uint64_t high; /* no segment may end above this */
    /* Where a shared object run as the program goes (the highest free
     * range inside); both 0 refuses such a program. */
    uint64_t dynamic_low, dynamic_high;
    /* --root: the host directory the file must lie in once it is open (a
     * path found there and then swapped for a link out of it is refused);
     * NULL: anywhere. */
    const char *inside;
};

/*
 * Loads the guest kernel ELF (ET_EXEC, x86-64) at its addresses into the
 * static region, supervisor-only (sections named ".text.user" and
 * ".data.user" are made user-accessible: the syscall entry lives there).
 * 0 on success; otherwise a negative errno and a one-line *error.
 */
int loader_load_kernel(const char *path, struct guest_memory *memory,
                       const struct loader_limits *limits, struct elf_image *image, char **error);

/*
 * Loads a Linux program into the static region, user-accessible, with its
 * ELF permissions (text read-only and executable, data not executable),
 * zeroing [p_filesz, p_memsz); a dynamically linked one gets
 * image->interpreter set (load that with loader_load_interpreter). An
 * ET_DYN with DT_SONAME and no PT_INTERP (ld.so itself) is placed like an
 * interpreter, in [limits->dynamic_low, limits->dynamic_high). Refuses: not
 * ELF, not 64-bit, not x86-64, not ET_EXEC/ET_DYN, a malformed PT_INTERP,
 * segments that overlap each other, leave [limits->low, limits->high),
 * extend past the file, or have absurd sizes or alignments. 0, or a
 * negative errno and a one-line *error that names the problem and what to
 * do.
 */
int loader_load_program(const char *path, struct guest_memory *memory,
                        const struct loader_limits *limits, struct elf_image *image, char **error);

/*
 * Loads a program interpreter (an ET_DYN without PT_INTERP of its own) at
 * the highest free, suitably aligned place in [limits->low, limits->high)
 * of the dynamic region, in fresh frames named after the file, as Linux
 * maps ld.so below the stack. image->bias is its load address (AT_BASE).
 * Same checks and errors as loader_load_program.
 */
int loader_load_interpreter(const char *path, struct guest_memory *memory,
                            const struct loader_limits *limits, struct elf_image *image,
                            char **error);

/* Frees what an image owns (not the guest memory it was loaded into). */
void elf_image_free(struct elf_image *image);

/* The symbol containing address (or the closest one below it within its
 * size, for functions of size 0), or NULL; *offset gets address - symbol. */
const struct elf_symbol *elf_image_symbolize(const struct elf_image *image, uint64_t address,
                                             uint64_t *offset);

/* The address of the symbol called name; false if none. */
bool elf_image_lookup(const struct elf_image *image, const char *name, uint64_t *address);

/* The image's named functions and objects, sorted by address, and how many
 * (0 for a stripped file). All three calls read the symbol table the first
 * time any of them needs it, from the file as it was loaded: one changed
 * since (size, mtime, inode) has none. Any thread. */
size_t elf_image_symbols(const struct elf_image *image, const struct elf_symbol **symbols);

/* One object of the dynamic loader's link map (struct link_map). */
struct loader_library {
    uint64_t lm;     /* the link_map's own address */
    uint64_t l_addr; /* load bias */
    uint64_t l_ld;   /* its PT_DYNAMIC */
    char *name;      /* l_name (the path ld.so opened), "" for the program */
};

/*
 * Reads the dynamic loader's list of loaded objects from guest memory, as
 * gdbserver does: r_debug from the program's DT_DEBUG entry, else the
 * `_r_debug` symbol of the interpreter (or of the program, when it is
 * ld.so itself); then r_map and the l_next chain (at most 4096 entries,
 * every read checked). With start non-zero the walk begins at that
 * link_map instead. Returns how many were read into *libraries (free with
 * loader_libraries_free); 0 before ld.so has set the list up, or for a
 * static program.
 */
size_t loader_read_link_map(const struct guest_memory *memory, const struct elf_image *program,
                            const struct elf_image *interpreter, uint64_t start,
                            struct loader_library **libraries);

void loader_libraries_free(struct loader_library *libraries, size_t count);

/* What goes on the initial stack besides argv and envp. */
struct loader_stack_info {
    const char *const *argv; /* NULL-terminated; argv[0] is the program's path */
    const char *const *envp; /* NULL-terminated */
    const char *execfn;      /* AT_EXECFN */
    uint64_t base;           /* AT_BASE: the interpreter's load address, 0 if none */
    uint64_t sysinfo_ehdr;   /* AT_SYSINFO_EHDR: the vDSO, 0 for none */
    uint64_t hwcap, hwcap2;  /* AT_HWCAP, AT_HWCAP2 */
    uint64_t minsigstksz;    /* AT_MINSIGSTKSZ: the largest signal frame */
    uint64_t uid, euid, gid, egid;
};

/*
 * Builds the x86-64 System V initial stack below stack_top (which must be
 * mapped writable by the program): argc, argv, envp, auxv (AT_PHDR, AT_PHENT,
 * AT_PHNUM, AT_PAGESZ, AT_BASE (info->base), AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID,
 * AT_EGID, AT_SECURE, AT_RANDOM (16 random bytes), AT_HWCAP, AT_HWCAP2, AT_MINSIGSTKSZ,
 * AT_CLKTCK, AT_PLATFORM, AT_EXECFN, AT_NULL) and the strings they point to.
 * *rsp gets the 16-byte-aligned address of argc. 0, or -E2BIG / -EFAULT with
 * a one-line *error when it does not fit in [stack_low, stack_top).
 */
int loader_build_stack(struct guest_memory *memory, const struct elf_image *program,
                       const struct loader_stack_info *info, uint64_t stack_low, uint64_t stack_top,
                       uint64_t *rsp, char **error);

#ifdef __cplusplus
}
#endif

#endif
