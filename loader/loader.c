/*
 * loader/loader.c — the guest kernel and the program's ELF file into guest
 * memory, and their symbol tables.
 *
 * A file is checked completely before a page of guest memory is touched:
 * identification (magic, class, byte order, machine, type), the program
 * header table, every segment against the file and the limits, and the
 * segments against each other. Only then are the pages mapped (identity, so
 * guest-virtual == guest-physical) and filled.
 *
 * Segments may share a page (a data segment that starts in the page where
 * the text ends): such a page gets the union of their permissions. Only
 * byte ranges that overlap are an error.
 */
#include "config.h"
#include "loader/loader.h"

#include "memory/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

/* More program headers than any real program has; Linux allows 64 KiB of
 * them, we allow as many. */
#define MAX_PROGRAM_HEADERS (65536 / sizeof(Elf64_Phdr))
/* A segment alignment beyond this is not a real alignment but garbage. */
#define MAX_SEGMENT_ALIGN (1ULL << 30)

/* What differs between loading the kernel and loading the program. */
struct load_request {
    const char *path;
    const char *what; /* "program" or "guest kernel", for messages */
    bool is_kernel;
    bool is_interpreter; /* ld.so for a dynamic program: no PT_INTERP of its own */
    const struct loader_limits *limits;
    struct guest_memory *memory;
    char **error;
    /* Set by load_elf: the image goes to the highest free place in
     * dynamic_limits, in fresh frames, instead of at its addresses. */
    bool dynamic;
    struct loader_limits dynamic_limits;
};

/* The file as the loader sees it: its bytes and libelf's view of them. */
struct elf_file {
    int fd;
    const uint8_t *bytes;
    uint64_t size;
    Elf *elf;
    GElf_Ehdr header;
    size_t phnum;
};

/* A page-aligned range with one protection: the unit that gets mapped. */
struct page_range {
    uint64_t start, end;
    int prot;
};

static __attribute__((format(printf, 3, 4))) int fail(const struct load_request *request,
                                                      int error_code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *detail = g_strdup_vprintf(format, args);
    va_end(args);
    /* The kernel is named as such: the user did not necessarily pick it. */
    if (request->error)
        *request->error = g_strdup_printf("%s%s: %s", request->is_kernel ? "guest kernel " : "",
                                          request->path, detail);
    g_free(detail);
    return -error_code;
}

static uint64_t page_down(uint64_t address)
{
    return address & GUEST_PAGE_MASK;
}

/* Rounds up, saturating at the last page (callers have checked that real
 * addresses cannot get there). */
static bool page_up(uint64_t address, uint64_t *rounded);

static uint64_t page_end(uint64_t address)
{
    uint64_t rounded;
    return page_up(address, &rounded) ? rounded : GUEST_PAGE_MASK;
}

/* Rounds up; false when that overflows. */
static bool page_up(uint64_t address, uint64_t *rounded)
{
    if (address > UINT64_MAX - (GUEST_PAGE_SIZE - 1))
        return false;
    *rounded = (address + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
    return true;
}

static const char *machine_name(unsigned machine)
{
    switch (machine) {
    case EM_386:
        return "i386";
    case EM_ARM:
        return "32-bit arm";
    case EM_AARCH64:
        return "aarch64";
    case EM_RISCV:
        return "riscv";
    case EM_PPC:
        return "powerpc";
    case EM_PPC64:
        return "ppc64";
    case EM_S390:
        return "s390";
    case EM_MIPS:
        return "mips";
    case EM_SPARCV9:
        return "sparc64";
    case EM_LOONGARCH:
        return "loongarch";
    default:
        return NULL;
    }
}

static const char *segment_type_name(uint32_t type)
{
    return type == PT_LOAD ? "segment" : "program header";
}

static int prot_from_elf_flags(uint32_t flags)
{
    int prot = GUEST_PROT_NONE;
    if (flags & PF_R)
        prot |= GUEST_PROT_READ;
    if (flags & PF_W)
        prot |= GUEST_PROT_WRITE;
    if (flags & PF_X)
        prot |= GUEST_PROT_EXEC;
    return prot;
}

/* ---- opening and identifying the file ----------------------------------- */

static void elf_file_close(struct elf_file *file)
{
    if (file->elf)
        elf_end(file->elf);
    if (file->bytes)
        munmap((void *)file->bytes, file->size);
    if (file->fd >= 0)
        close(file->fd);
    file->elf = NULL;
    file->bytes = NULL;
    file->fd = -1;
}

/* The e_ident checks, done on the raw bytes so that each wrong file gets
 * its own message rather than libelf's generic one. */
static int check_identification(const struct load_request *request, const struct elf_file *file)
{
    const uint8_t *ident = file->bytes;
    const char *runs = request->is_kernel ? "the guest kernel must be an x86-64 ELF"
                                          : "hermitux-run runs x86-64 programs";

    if (file->size < SELFMAG || memcmp(ident, ELFMAG, SELFMAG) != 0)
        return fail(request, ENOEXEC, "not an ELF file");
    if (file->size < EI_NIDENT)
        return fail(request, ENOEXEC, "truncated ELF file (the identification is cut short)");
    if (ident[EI_CLASS] == ELFCLASS32)
        return fail(request, ENOEXEC, "32-bit ELF; %s", runs);
    if (ident[EI_CLASS] != ELFCLASS64)
        return fail(request, ENOEXEC, "ELF of unknown class %u; %s", ident[EI_CLASS], runs);
    if (ident[EI_DATA] == ELFDATA2MSB)
        return fail(request, ENOEXEC, "big-endian ELF; %s", runs);
    if (ident[EI_DATA] != ELFDATA2LSB)
        return fail(request, ENOEXEC, "ELF of unknown byte order %u; %s", ident[EI_DATA], runs);
    if (ident[EI_VERSION] != EV_CURRENT)
        return fail(request, ENOEXEC, "ELF of unknown version %u; the file is corrupt",
                    ident[EI_VERSION]);
    if (file->size < sizeof(Elf64_Ehdr))
        return fail(request, ENOEXEC, "truncated ELF file (the ELF header is cut short)");

    /* e_machine and e_type, read before libelf so a foreign file is named
     * for what it is even when libelf would refuse it for another reason. */
    Elf64_Ehdr header;
    memcpy(&header, file->bytes, sizeof(header));
    if (header.e_machine != EM_X86_64) {
        const char *name = machine_name(header.e_machine);
        if (name)
            return fail(request, ENOEXEC, "ELF for %s; %s", name, runs);
        return fail(request, ENOEXEC, "ELF for machine %u (not x86-64); %s", header.e_machine,
                    runs);
    }
    switch (header.e_type) {
    case ET_EXEC:
        return 0;
    case ET_DYN:
        if (request->is_kernel)
            return fail(request, ENOEXEC,
                        "position-independent ELF; the guest kernel must be linked at fixed "
                        "addresses (ET_EXEC)");
        return 0;
    case ET_REL:
        return fail(request, ENOEXEC, "relocatable object file (.o), not a program; link it first");
    case ET_CORE:
        return fail(request, ENOEXEC, "core dump, not a program");
    default:
        return fail(request, ENOEXEC, "ELF of unknown type %u, not a program", header.e_type);
    }
}

/* Whether the open file lies under `inside`, by the path the kernel gives
 * for it: what was opened, whatever the path's parts became meanwhile. */
static bool file_is_inside(int fd, const char *inside)
{
    char root[PATH_MAX], link[64], opened[PATH_MAX];
    if (!realpath(inside, root))
        return false;
    g_snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t length = readlink(link, opened, sizeof(opened) - 1);
    if (length <= 0)
        return false;
    opened[length] = '\0';
    size_t root_length = strlen(root);
    if (strcmp(root, "/") == 0)
        return opened[0] == '/';
    return strncmp(opened, root, root_length) == 0 && opened[root_length] == '/';
}

/* Whether execve would run the file: Linux's open_exec wants execute
 * permission (for the effective ids, root's included: some x bit) on a
 * mount that is not noexec, for the program and its interpreter alike. The
 * guest kernel is the monitor's own input and is only read. */
static bool executable(const char *path)
{
    return faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

static int elf_file_open(const struct load_request *request, struct elf_file *file)
{
    *file = (struct elf_file){.fd = -1};

    /* O_NONBLOCK: a FIFO named as the program must not hang the monitor. */
    file->fd = open(request->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (file->fd < 0) {
        int open_error = errno;
        return fail(request, open_error, "%s%s", g_strerror(open_error),
                    request->is_kernel ? " (give another with --kernel)" : "");
    }
    if (request->limits->inside && !file_is_inside(file->fd, request->limits->inside))
        return fail(request, EACCES,
                    "is no longer inside --root %s (the tree changed while it was opened)",
                    request->limits->inside);
    struct stat status;
    if (fstat(file->fd, &status) < 0) {
        int stat_error = errno;
        return fail(request, stat_error, "%s", g_strerror(stat_error));
    }
    if (S_ISDIR(status.st_mode))
        return fail(request, EISDIR, "is a directory");
    if (!S_ISREG(status.st_mode))
        return fail(request, EACCES, "not a regular file");
    if (!request->is_kernel && !executable(request->path))
        return fail(request, EACCES, "not executable (mode %04o): %s",
                    (unsigned)(status.st_mode & 07777), g_strerror(EACCES));
    if (status.st_size < SELFMAG)
        return fail(request, ENOEXEC, "not an ELF file");

    file->size = (uint64_t)status.st_size;
    if (file->size != (uint64_t)(size_t)file->size)
        return fail(request, EFBIG, "file too large");
    /* Private and writable only so libelf may treat it as its own; nothing
     * is written back. (A file truncated by someone else while we read it
     * would fault here; the monitor reads its own inputs, not a hostile
     * process's.) */
    void *bytes =
        mmap(NULL, file->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, file->fd, 0);
    if (bytes == MAP_FAILED) {
        int map_error = errno;
        return fail(request, map_error, "cannot map the file: %s", g_strerror(map_error));
    }
    file->bytes = bytes;

    int result = check_identification(request, file);
    if (result < 0)
        return result;

    if (elf_version(EV_CURRENT) == EV_NONE)
        return fail(request, ENOEXEC, "libelf is too old: %s", elf_errmsg(-1));
    file->elf = elf_memory((char *)file->bytes, file->size);
    if (!file->elf || elf_kind(file->elf) != ELF_K_ELF)
        return fail(request, ENOEXEC, "invalid ELF file (%s); the file is corrupt", elf_errmsg(-1));
    if (!gelf_getehdr(file->elf, &file->header))
        return fail(request, ENOEXEC, "invalid ELF header (%s); the file is corrupt",
                    elf_errmsg(-1));
    return 0;
}

/* ---- the program header table ------------------------------------------ */

static int check_program_header_table(const struct load_request *request, struct elf_file *file)
{
    const GElf_Ehdr *header = &file->header;

    /* The count is checked against the file here, before libelf (which
     * reports a table past the end of the file as no table at all). Only
     * PN_XNUM needs libelf: the real count is in section 0. */
    file->phnum = header->e_phnum;
    if (file->phnum == PN_XNUM && elf_getphdrnum(file->elf, &file->phnum) != 0)
        return fail(request, ENOEXEC, "invalid program header count (%s); the file is corrupt",
                    elf_errmsg(-1));
    if (file->phnum == 0)
        return fail(request, ENOEXEC, "no program headers, nothing to load; not a program");
    if (header->e_phentsize != sizeof(Elf64_Phdr))
        return fail(request, ENOEXEC,
                    "program header entries of %u bytes (expected %zu); the file is corrupt",
                    header->e_phentsize, sizeof(Elf64_Phdr));
    if (file->phnum > MAX_PROGRAM_HEADERS)
        return fail(request, ENOEXEC, "%zu program headers (at most %zu); the file is corrupt",
                    file->phnum, (size_t)MAX_PROGRAM_HEADERS);
    uint64_t table_size = file->phnum * sizeof(Elf64_Phdr);
    if (header->e_phoff > file->size || table_size > file->size - header->e_phoff)
        return fail(request, ENOEXEC,
                    "truncated ELF file (the program headers extend past the end of the file)");
    return 0;
}

/* The string PT_INTERP names, if it is a sane one; NULL otherwise. */
static char *interpreter_name(const struct elf_file *file, const GElf_Phdr *phdr)
{
    if (phdr->p_offset > file->size || phdr->p_filesz > file->size - phdr->p_offset ||
        phdr->p_filesz < 2 || phdr->p_filesz > 4096)
        return NULL;
    const char *text = (const char *)file->bytes + phdr->p_offset;
    size_t length = strnlen(text, phdr->p_filesz);
    if (length == 0 || length == phdr->p_filesz)
        return NULL;
    for (size_t i = 0; i < length; i++)
        if (!g_ascii_isgraph(text[i]))
            return NULL;
    return g_strndup(text, length);
}

/* Checks one PT_LOAD or PT_TLS header against the file and itself. */
static int check_segment_fields(const struct load_request *request, const struct elf_file *file,
                                size_t index, const GElf_Phdr *phdr, uint64_t bias)
{
    const char *kind = segment_type_name(phdr->p_type);

    if (phdr->p_filesz > phdr->p_memsz)
        return fail(request, ENOEXEC,
                    "%s %zu has a file size (%#" PRIx64 ") larger than its memory size (%#" PRIx64
                    "); the file is corrupt",
                    kind, index, (uint64_t)phdr->p_filesz, (uint64_t)phdr->p_memsz);
    if (phdr->p_offset > file->size || phdr->p_filesz > file->size - phdr->p_offset)
        return fail(request, ENOEXEC,
                    "truncated ELF file (%s %zu extends past the end of the file)", kind, index);
    if (phdr->p_align > 1 &&
        ((phdr->p_align & (phdr->p_align - 1)) != 0 || phdr->p_align > MAX_SEGMENT_ALIGN))
        return fail(request, ENOEXEC,
                    "%s %zu has an impossible alignment (%#" PRIx64 "); the file is corrupt", kind,
                    index, (uint64_t)phdr->p_align);
    uint64_t start;
    if (__builtin_add_overflow(phdr->p_vaddr, bias, &start) || phdr->p_memsz > UINT64_MAX - start ||
        start + phdr->p_memsz > GUEST_USER_TOP)
        return fail(request, ENOEXEC,
                    "%s %zu has an impossible address or size (%#" PRIx64 ", %#" PRIx64
                    " bytes); the file is corrupt",
                    kind, index, (uint64_t)phdr->p_vaddr, (uint64_t)phdr->p_memsz);
    return 0;
}

/* Checks that a loadable segment fits the limits: [start, end) are its
 * bytes with the bias applied. */
static int check_segment_limits(const struct load_request *request, size_t index, uint64_t start,
                                uint64_t end)
{
    const struct loader_limits *limits = request->limits;
    uint64_t last_page_end = page_end(end);

    if (end - start > limits->high - limits->low)
        return fail(request, ENOMEM,
                    "segment %zu needs %" PRIu64 " KiB, more than the %" PRIu64
                    " KiB of guest memory there is for the %s; %s",
                    index, (end - start) >> 10, (limits->high - limits->low) >> 10, request->what,
                    request->is_kernel ? "the kernel is corrupt or too large"
                                       : "give the guest more memory with -m");
    if (page_down(start) < limits->low) {
        if (request->is_kernel)
            return fail(request, ENOEXEC,
                        "segment %zu [%#" PRIx64 ", %#" PRIx64 ") starts below %#" PRIx64
                        ", where the guest kernel must lie; relink the kernel",
                        index, start, end, limits->low);
        return fail(request, ENOEXEC,
                    "segment %zu [%#" PRIx64 ", %#" PRIx64 ") overlaps the guest kernel (below "
                    "%#" PRIx64 "); link the program at the usual address (0x400000) or "
                    "as static-pie",
                    index, start, end, limits->low);
    }
    if (last_page_end > limits->high) {
        if (request->is_kernel)
            return fail(request, ENOEXEC,
                        "segment %zu [%#" PRIx64 ", %#" PRIx64 ") ends above %#" PRIx64
                        ", where the guest kernel must end; relink the kernel",
                        index, start, end, limits->high);
        return fail(request, ENOMEM,
                    "segment %zu [%#" PRIx64 ", %#" PRIx64 ") lies beyond the end of guest "
                    "memory (%#" PRIx64 "); give the guest more memory with -m",
                    index, start, end, limits->high);
    }
    return 0;
}

/* A loadable segment's bytes, as checked. */
struct load_segment {
    size_t index;        /* in the program header table */
    uint64_t start, end; /* bias applied, byte precise */
    uint64_t offset, filesz;
    int prot;
};

static int compare_load_segments(const void *a, const void *b)
{
    const struct load_segment *left = a, *right = b;
    if (left->start != right->start)
        return left->start < right->start ? -1 : 1;
    return left->end < right->end ? -1 : left->end > right->end;
}

/* ---- page ranges: merging permissions of segments that share pages ----- */

static int compare_u64(const void *a, const void *b)
{
    uint64_t left = *(const uint64_t *)a, right = *(const uint64_t *)b;
    return left < right ? -1 : left > right;
}

/* Sections whose pages the program may reach in the kernel image. */
struct user_section {
    uint64_t start, end; /* page aligned */
};

/*
 * Cuts the pages the segments cover at every segment (and user-section)
 * boundary, gives each piece the union of the protections of the segments
 * on it, and merges neighbours that end up alike. Returns the ranges in
 * address order (g_free them).
 */
static struct page_range *plan_page_ranges(const struct load_segment *segments,
                                           size_t segment_count,
                                           const struct user_section *user_sections,
                                           size_t user_section_count, int extra_prot,
                                           size_t *range_count)
{
    size_t boundary_count = 0;
    uint64_t *boundaries = g_new(uint64_t, 2 * (segment_count + user_section_count));
    for (size_t i = 0; i < segment_count; i++) {
        boundaries[boundary_count++] = page_down(segments[i].start);
        boundaries[boundary_count++] = page_end(segments[i].end);
    }
    for (size_t i = 0; i < user_section_count; i++) {
        boundaries[boundary_count++] = user_sections[i].start;
        boundaries[boundary_count++] = user_sections[i].end;
    }
    qsort(boundaries, boundary_count, sizeof(*boundaries), compare_u64);

    struct page_range *ranges = g_new(struct page_range, boundary_count ? boundary_count : 1);
    size_t count = 0;
    for (size_t b = 0; b + 1 < boundary_count; b++) {
        uint64_t start = boundaries[b], end = boundaries[b + 1];
        if (start == end)
            continue;
        bool covered = false;
        int prot = 0;
        for (size_t i = 0; i < segment_count; i++) {
            uint64_t segment_start = page_down(segments[i].start);
            uint64_t segment_end = page_end(segments[i].end);
            if (segment_start < end && start < segment_end) {
                covered = true;
                prot |= segments[i].prot;
            }
        }
        if (!covered)
            continue;
        prot |= extra_prot;
        for (size_t i = 0; i < user_section_count; i++)
            if (user_sections[i].start < end && start < user_sections[i].end)
                prot |= GUEST_PROT_USER;
        if (count > 0 && ranges[count - 1].end == start && ranges[count - 1].prot == prot) {
            ranges[count - 1].end = end;
        } else {
            ranges[count++] = (struct page_range){start, end, prot};
        }
    }
    g_free(boundaries);
    *range_count = count;
    return ranges;
}

/* ---- symbols ------------------------------------------------------------ */

static int compare_symbols(const void *a, const void *b)
{
    const struct elf_symbol *left = a, *right = b;
    if (left->address != right->address)
        return left->address < right->address ? -1 : 1;
    /* At one address, functions first, then the larger symbol, then by
     * name: a stable order whatever qsort does. */
    if (left->is_function != right->is_function)
        return left->is_function ? -1 : 1;
    if (left->size != right->size)
        return left->size > right->size ? -1 : 1;
    return strcmp(left->name, right->name);
}

/* The symbol table section (.symtab, else .dynsym), or NULL. */
static Elf_Scn *find_symbol_table(Elf *elf)
{
    Elf_Scn *dynamic_symbols = NULL;
    for (Elf_Scn *section = elf_nextscn(elf, NULL); section; section = elf_nextscn(elf, section)) {
        GElf_Shdr header;
        if (!gelf_getshdr(section, &header))
            continue;
        if (header.sh_type == SHT_SYMTAB)
            return section;
        if (header.sh_type == SHT_DYNSYM && !dynamic_symbols)
            dynamic_symbols = section;
    }
    return dynamic_symbols;
}

/* An image's symbols, behind a pointer because struct elf_image is copied
 * by value. Until read, fd is the file as loaded (its own descriptor, so a
 * file truncated since gives short reads, not a SIGBUS as a mapping
 * would). */
struct elf_symbol_table {
    gsize read; /* g_once_init_enter/leave */
    int fd;     /* -1 once read */
    uint64_t bias;
    struct stat loaded;
    struct elf_symbol *symbols; /* sorted by address */
    size_t count;
    char *strings; /* owns the names */
};

static struct elf_symbol_table *symbol_table_new(const struct elf_file *file, uint64_t bias)
{
    struct elf_symbol_table *table = g_new0(struct elf_symbol_table, 1);
    table->bias = bias;
    table->fd = fcntl(file->fd, F_DUPFD_CLOEXEC, 0);
    if (table->fd >= 0 && fstat(table->fd, &table->loaded) < 0) {
        close(table->fd);
        table->fd = -1;
    }
    return table;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * Keeps the named functions and objects of the symbol table, bias applied,
 * sorted. A file without symbols (stripped), whose symbol table libelf
 * cannot read, or that changed since it was loaded just has none: symbols
 * serve reports, not loading.
 */
static void read_symbols(Elf *elf, uint64_t bias, struct elf_symbol_table *table)
{
    Elf_Scn *section = find_symbol_table(elf);
    GElf_Shdr section_header;
    if (!section || !gelf_getshdr(section, &section_header))
        return;
    Elf_Data *data = elf_getdata(section, NULL);
    if (!data || data->d_size == 0)
        return;
    size_t entry_count = data->d_size / sizeof(Elf64_Sym);
    /* gelf_getsym takes an int index. */
    if (entry_count > INT_MAX)
        entry_count = INT_MAX;

    GArray *symbols = g_array_new(FALSE, FALSE, sizeof(struct elf_symbol));
    GByteArray *names = g_byte_array_new();
    for (size_t i = 1; i < entry_count; i++) {
        GElf_Sym symbol;
        if (!gelf_getsym(data, (int)i, &symbol))
            break;
        int type = GELF_ST_TYPE(symbol.st_info);
        if ((type != STT_FUNC && type != STT_OBJECT) || symbol.st_shndx == SHN_UNDEF ||
            symbol.st_name == 0)
            continue;
        const char *name = elf_strptr(elf, section_header.sh_link, symbol.st_name);
        uint64_t address;
        if (!name || name[0] == '\0' || __builtin_add_overflow(symbol.st_value, bias, &address))
            continue;
        /* Names are stored as offsets for now: the storage may move. */
        struct elf_symbol kept = {
            .address = address,
            .size = symbol.st_size,
            .name = (const char *)(uintptr_t)names->len,
            .is_function = type == STT_FUNC,
        };
        g_byte_array_append(names, (const guint8 *)name, (guint)strlen(name) + 1);
        g_array_append_val(symbols, kept);
    }

    table->count = symbols->len;
    table->strings = (char *)g_byte_array_free(names, FALSE);
    table->symbols = (struct elf_symbol *)g_array_free(symbols, FALSE);
    for (size_t i = 0; i < table->count; i++)
        table->symbols[i].name = table->strings + (uintptr_t)table->symbols[i].name;
    if (table->count) /* an empty GArray's data is NULL, which qsort may not take */
        qsort(table->symbols, table->count, sizeof(*table->symbols), compare_symbols);
}

/* The table, read now if it was not yet (once, whichever thread asks). */
static const struct elf_symbol_table *symbols_of(const struct elf_image *image)
{
    struct elf_symbol_table *table = image ? image->symbol_table : NULL;
    if (!table)
        return NULL;
    if (g_once_init_enter(&table->read)) {
        struct stat now;
        if (table->fd >= 0 && fstat(table->fd, &now) == 0 && same_file(&now, &table->loaded)) {
            Elf *elf = elf_begin(table->fd, ELF_C_READ, NULL);
            if (elf && elf_kind(elf) == ELF_K_ELF)
                read_symbols(elf, table->bias, table);
            if (elf)
                elf_end(elf);
        }
        if (table->fd >= 0)
            close(table->fd);
        table->fd = -1;
        g_once_init_leave(&table->read, 1);
    }
    return table;
}

/*
 * Reads the section headers that matter: .text (for the debugger) and, for
 * the kernel, the sections the program may reach. The kernel's section
 * table must be readable (user sections come from it); the program's need
 * not be.
 */
static int read_sections(const struct load_request *request, struct elf_file *file, uint64_t bias,
                         struct elf_image *image, GArray *user_sections)
{
    size_t string_section;
    if (elf_getshdrstrndx(file->elf, &string_section) != 0) {
        if (request->is_kernel)
            return fail(request, ENOEXEC, "unreadable section headers (%s); rebuild the kernel",
                        elf_errmsg(-1));
        return 0;
    }
    for (Elf_Scn *section = elf_nextscn(file->elf, NULL); section;
         section = elf_nextscn(file->elf, section)) {
        GElf_Shdr header;
        if (!gelf_getshdr(section, &header))
            continue;
        const char *name = elf_strptr(file->elf, string_section, header.sh_name);
        if (!name || !(header.sh_flags & SHF_ALLOC))
            continue;
        uint64_t address;
        if (__builtin_add_overflow(header.sh_addr, bias, &address))
            continue;
        if (strcmp(name, ".text") == 0 && image->text_start == 0)
            image->text_start = address;
        if (request->is_kernel &&
            (strcmp(name, ".text.user") == 0 || strcmp(name, ".data.user") == 0) &&
            header.sh_size > 0) {
            uint64_t end;
            if (header.sh_size > UINT64_MAX - address || !page_up(address + header.sh_size, &end))
                return fail(request, ENOEXEC,
                            "section %s has an impossible size; rebuild the kernel", name);
            struct user_section user = {page_down(address), end};
            g_array_append_val(user_sections, user);
        }
    }
    return 0;
}

/* ---- the interpreter and where the image goes --------------------------- */

/* PT_INTERP: refused for the kernel and an interpreter, kept for a program. */
static int read_interpreter(const struct load_request *request, const struct elf_file *file,
                            struct elf_image *image)
{
    GElf_Phdr phdr;
    for (size_t i = 0; i < file->phnum; i++) {
        if (!gelf_getphdr(file->elf, (int)i, &phdr))
            return fail(request, ENOEXEC, "unreadable program header %zu (%s)", i, elf_errmsg(-1));
        if (phdr.p_type != PT_INTERP)
            continue;
        char *interpreter = interpreter_name(file, &phdr);
        if (request->is_kernel || request->is_interpreter || !interpreter) {
            const char *needs = interpreter ? interpreter : "a program interpreter";
            int result =
                request->is_kernel
                    ? fail(request, ENOEXEC, "dynamically linked (needs %s); link it statically",
                           needs)
                : request->is_interpreter
                    ? fail(request, ENOEXEC,
                           "a program interpreter that needs an interpreter itself (%s)", needs)
                    : fail(request, ENOEXEC,
                           "malformed PT_INTERP (program header %zu); the file is corrupt", i);
            g_free(interpreter);
            return result;
        }
        if (image->interpreter) {
            g_free(interpreter);
            return fail(request, ENOEXEC, "more than one PT_INTERP; the file is corrupt");
        }
        image->interpreter = interpreter;
    }
    return 0;
}

/* Whether the file's PT_DYNAMIC (read from the file, bounds checked) has a
 * DT_SONAME: a shared object such as ld.so, not a program. */
static bool has_soname(const struct elf_file *file)
{
    GElf_Phdr phdr;
    for (size_t i = 0; i < file->phnum; i++) {
        if (!gelf_getphdr(file->elf, (int)i, &phdr) || phdr.p_type != PT_DYNAMIC)
            continue;
        if (phdr.p_offset > file->size || phdr.p_filesz > file->size - phdr.p_offset)
            return false;
        size_t count = phdr.p_filesz / sizeof(Elf64_Dyn);
        for (size_t entry = 0; entry < count; entry++) {
            Elf64_Dyn dyn;
            memcpy(&dyn, file->bytes + phdr.p_offset + entry * sizeof(dyn), sizeof(dyn));
            if (dyn.d_tag == DT_NULL)
                return false;
            if (dyn.d_tag == DT_SONAME)
                return true;
        }
    }
    return false;
}

/* The page-aligned extent of the PT_LOAD segments at bias 0 and their
 * largest alignment; false when there is none or it is absurd (the
 * segment checks then say why). */
static bool load_extent(const struct elf_file *file, uint64_t *low, uint64_t *high, uint64_t *align)
{
    GElf_Phdr phdr;
    *low = UINT64_MAX;
    *high = 0;
    *align = GUEST_PAGE_SIZE;
    for (size_t i = 0; i < file->phnum; i++) {
        if (!gelf_getphdr(file->elf, (int)i, &phdr) || phdr.p_type != PT_LOAD || !phdr.p_memsz)
            continue;
        if (phdr.p_vaddr >= GUEST_USER_TOP || phdr.p_memsz > GUEST_USER_TOP - phdr.p_vaddr)
            return false;
        *low = MIN(*low, page_down(phdr.p_vaddr));
        *high = MAX(*high, page_end(phdr.p_vaddr + phdr.p_memsz));
        if (phdr.p_align > *align && phdr.p_align <= MAX_SEGMENT_ALIGN &&
            (phdr.p_align & (phdr.p_align - 1)) == 0)
            *align = phdr.p_align;
    }
    return *low < *high;
}

/*
 * Sets image->bias. ET_EXEC: 0. A PIE program: LOADER_PIE_BIAS, in the
 * static region. An interpreter, or a shared object run as the program:
 * the highest free, aligned range of the dynamic limits (request->dynamic).
 */
static int choose_placement(struct load_request *request, const struct elf_file *file,
                            struct elf_image *image)
{
    image->bias = file->header.e_type == ET_DYN ? LOADER_PIE_BIAS : 0;
    if (request->is_kernel || file->header.e_type != ET_DYN)
        return 0;
    if (request->is_interpreter) {
        request->dynamic_limits = *request->limits;
    } else if (!image->interpreter && has_soname(file) && request->limits->dynamic_high) {
        request->dynamic_limits = (struct loader_limits){.low = request->limits->dynamic_low,
                                                         .high = request->limits->dynamic_high};
    } else {
        return 0;
    }
    uint64_t low, high, align, found;
    if (!load_extent(file, &low, &high, &align))
        return 0; /* the segment checks name the problem */
    uint64_t extent = high - low, search = extent + align - GUEST_PAGE_SIZE;
    const struct loader_limits *limits = &request->dynamic_limits;
    if (limits->low >= limits->high || search > limits->high - limits->low ||
        !guest_find_free(request->memory, search, limits->low, limits->high, true, &found))
        return fail(request, ENOMEM,
                    "no room for its %" PRIu64 " KiB in guest memory; give more with -m",
                    extent >> 10);
    uint64_t start = (found + search - extent) & ~(align - 1);
    request->dynamic = true;
    request->limits = &request->dynamic_limits;
    image->bias = start - low;
    return 0;
}

/* ---- loading ------------------------------------------------------------ */

static bool contains(const struct load_segment *segments, size_t count, uint64_t address)
{
    for (size_t i = 0; i < count; i++)
        if (segments[i].start <= address && address < segments[i].end)
            return true;
    return false;
}

/* Where the program header table is once loaded: PT_PHDR if it points into
 * a loaded segment, else the segment whose file bytes hold it, else 0. */
static uint64_t find_phdr_address(const struct elf_file *file, const struct load_segment *segments,
                                  size_t count, uint64_t bias, bool has_pt_phdr, uint64_t pt_phdr)
{
    uint64_t table_size = file->phnum * sizeof(Elf64_Phdr);
    if (has_pt_phdr && pt_phdr <= UINT64_MAX - bias) {
        uint64_t address = pt_phdr + bias;
        for (size_t i = 0; i < count; i++)
            if (segments[i].start <= address && address < segments[i].end &&
                table_size <= segments[i].end - address)
                return address;
    }
    uint64_t offset = file->header.e_phoff;
    for (size_t i = 0; i < count; i++) {
        if (segments[i].offset <= offset && table_size <= segments[i].filesz &&
            offset - segments[i].offset <= segments[i].filesz - table_size)
            return segments[i].start + (offset - segments[i].offset);
    }
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static int map_failure(const struct load_request *request, const struct page_range *range,
                       int result)
{
    if (result == -EEXIST)
        return fail(request, ENOMEM,
                    "guest memory [%#" PRIx64 ", %#" PRIx64 ") for the %s is already in use; "
                    "give the guest more memory with -m",
                    range->start, range->end, request->what);
    return fail(request, -result,
                "cannot map [%#" PRIx64 ", %#" PRIx64 ") into guest memory (%s); "
                "give the guest more memory with -m",
                range->start, range->end, g_strerror(-result));
}

/* Linux 5.14's, which headers before glibc 2.35 lack. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Identity mappings: the guest-physical address of each byte is its
 * virtual address, so the bytes go in through the RAM view, whatever the
 * pages' permissions (text is read-only, a PF_R-less page is not even
 * present). */
static int fill_identity(const struct load_request *request, const struct elf_file *file,
                         const struct load_segment *segments, size_t segment_count)
{
    for (size_t i = 0; i < segment_count; i++) {
        const struct load_segment *segment = &segments[i];
        uint8_t *host =
            guest_phys_to_host(request->memory, segment->start, segment->end - segment->start);
        if (!host)
            return fail(request, EFAULT,
                        "segment %zu [%#" PRIx64 ", %#" PRIx64 ") is outside guest RAM",
                        segment->index, segment->start, segment->end);
        /* One call allocates the pages the copy would fault in one by one:
         * about 1 us a page instead of 11 to 15 on a PVM host. A kernel
         * before 5.14 refuses it, and the copy faults as before. */
        madvise((void *)((uintptr_t)host & ~(uintptr_t)(GUEST_PAGE_SIZE - 1)),
                segment->end - segment->start + ((uintptr_t)host & (GUEST_PAGE_SIZE - 1)),
                MADV_POPULATE_WRITE);
        memcpy(host, file->bytes + segment->offset, segment->filesz);
        memset(host + segment->filesz, 0, segment->end - segment->start - segment->filesz);
    }
    return 0;
}

/* Fresh frames (zero, and mapped at least readable, so present): each
 * segment's bytes go in through the debugger's access, from the start of
 * its first page as Linux maps whole file pages (ld.so reads its own ELF
 * header there). */
static int fill_dynamic(const struct load_request *request, const struct elf_file *file,
                        const struct load_segment *segments, size_t segment_count)
{
    for (size_t i = 0; i < segment_count; i++) {
        const struct load_segment *segment = &segments[i];
        uint64_t lead = segment->start - page_down(segment->start);
        if (lead > segment->offset || (segment->offset - lead) % GUEST_PAGE_SIZE != 0)
            lead = 0; /* not congruent with its page: only its own bytes */
        if (guest_write(request->memory, segment->start - lead,
                        file->bytes + segment->offset - lead, segment->filesz + lead,
                        GUEST_ACCESS_DEBUG) < 0)
            return fail(request, EFAULT, "cannot fill segment %zu [%#" PRIx64 ", %#" PRIx64 ")",
                        segment->index, segment->start, segment->end);
    }
    return 0;
}

/* What /proc/PID/maps shows of the segments, as Linux maps them: the pages
 * holding the file's bytes as the file from the segment's page-aligned
 * offset, the zero-filled pages past them (.bss) as anonymous memory. */
static void describe_segments(const struct load_request *request, const struct elf_file *file,
                              const struct load_segment *segments, size_t count, const char *name)
{
    struct stat st;
    if (fstat(file->fd, &st) < 0)
        return;
    for (size_t i = 0; i < count; i++) {
        const struct load_segment *segment = &segments[i];
        uint64_t start = segment->start & GUEST_PAGE_MASK, end = page_end(segment->end);
        uint64_t file_end = MIN(page_end(segment->start + segment->filesz), end);
        if (file_end > start)
            (void)guest_region_describe(request->memory, start, file_end - start, name,
                                        (uint64_t)st.st_dev, (uint64_t)st.st_ino,
                                        segment->offset & GUEST_PAGE_MASK);
        if (end > file_end)
            (void)guest_region_describe(request->memory, file_end, end - file_end, "", 0, 0, 0);
    }
}

/* Maps the planned ranges and copies the segments in. On failure, unmaps
 * what it mapped. */
static int map_and_fill(const struct load_request *request, const struct elf_file *file,
                        const struct load_segment *segments, size_t segment_count,
                        const struct page_range *ranges, size_t range_count)
{
    char *name = g_path_get_basename(request->path);
    const char *region_name = name[0] ? name : base_name(request->path);
    enum guest_region_kind kind = request->is_kernel        ? GUEST_REGION_KERNEL
                                  : request->is_interpreter ? GUEST_REGION_MMAP
                                                            : GUEST_REGION_PROGRAM;
    size_t mapped = 0;
    int result = 0;
    for (; mapped < range_count; mapped++) {
        const struct page_range *range = &ranges[mapped];
        uint64_t length = range->end - range->start;
        if (request->dynamic)
            result = guest_map_anonymous(request->memory, range->start, length,
                                         range->prot | GUEST_PROT_READ, kind, region_name);
        else
            result = guest_map_identity(request->memory, range->start, length, range->prot, kind,
                                        region_name);
        if (result < 0) {
            result = map_failure(request, range, result);
            break;
        }
    }

    if (result == 0)
        result = request->dynamic ? fill_dynamic(request, file, segments, segment_count)
                                  : fill_identity(request, file, segments, segment_count);
    for (size_t i = 0; result == 0 && request->dynamic && i < range_count; i++)
        if (!(ranges[i].prot & GUEST_PROT_READ))
            result = guest_protect(request->memory, ranges[i].start,
                                   ranges[i].end - ranges[i].start, ranges[i].prot);

    if (result == 0 && !request->is_kernel)
        describe_segments(request, file, segments, segment_count, region_name);
    g_free(name);
    if (result < 0)
        for (size_t i = 0; i < mapped; i++)
            guest_unmap(request->memory, ranges[i].start, ranges[i].end - ranges[i].start);
    return result;
}

static int load_elf(struct load_request *request, struct elf_image *result_image)
{
    struct elf_file file;
    struct elf_image image = {0};
    struct load_segment *segments = NULL;
    struct page_range *ranges = NULL;
    GArray *user_sections = g_array_new(FALSE, FALSE, sizeof(struct user_section));
    size_t segment_count = 0, range_count = 0;
    int result;

    memset(result_image, 0, sizeof(*result_image));
    if (!request->limits || request->limits->low >= request->limits->high) {
        result = fail(request, EINVAL, "no room for the %s in guest memory", request->what);
        goto out_no_file;
    }

    result = elf_file_open(request, &file);
    if (result < 0)
        goto out;
    result = check_program_header_table(request, &file);
    if (result < 0)
        goto out;

    result = read_interpreter(request, &file, &image);
    if (result < 0)
        goto out;
    result = choose_placement(request, &file, &image);
    if (result < 0)
        goto out;
    GElf_Phdr phdr;

    image.type = file.header.e_type;
    image.executable_stack = true; /* as Linux, when there is no PT_GNU_STACK */
    image.phnum = file.phnum;
    image.phent = file.header.e_phentsize;

    segments = g_new0(struct load_segment, file.phnum);
    bool has_pt_phdr = false;
    uint64_t pt_phdr = 0;
    for (size_t i = 0; i < file.phnum; i++) {
        gelf_getphdr(file.elf, (int)i, &phdr);
        switch (phdr.p_type) {
        case PT_LOAD:
            result = check_segment_fields(request, &file, i, &phdr, image.bias);
            if (result < 0)
                goto out;
            if (phdr.p_memsz == 0)
                break; /* nothing to load; Linux ignores it too */
            uint64_t start = phdr.p_vaddr + image.bias;
            result = check_segment_limits(request, i, start, start + phdr.p_memsz);
            if (result < 0)
                goto out;
            segments[segment_count++] = (struct load_segment){
                .index = i,
                .start = start,
                .end = start + phdr.p_memsz,
                .offset = phdr.p_offset,
                .filesz = phdr.p_filesz,
                .prot = prot_from_elf_flags(phdr.p_flags),
            };
            break;
        case PT_TLS:
            result = check_segment_fields(request, &file, i, &phdr, image.bias);
            if (result < 0)
                goto out;
            if (image.has_tls) {
                result = fail(request, ENOEXEC, "more than one PT_TLS; the file is corrupt");
                goto out;
            }
            image.has_tls = true;
            image.tls_address = phdr.p_vaddr + image.bias;
            image.tls_filesz = phdr.p_filesz;
            image.tls_memsz = phdr.p_memsz;
            image.tls_align = phdr.p_align;
            break;
        case PT_GNU_STACK:
            image.executable_stack = (phdr.p_flags & PF_X) != 0;
            break;
        case PT_PHDR:
            has_pt_phdr = true;
            pt_phdr = phdr.p_vaddr;
            break;
        case PT_DYNAMIC:
            if (phdr.p_vaddr <= UINT64_MAX - image.bias)
                image.dynamic_address = phdr.p_vaddr + image.bias;
            break;
        default:
            break;
        }
    }
    if (segment_count == 0) {
        result = fail(request, ENOEXEC, "no loadable segment; not a program");
        goto out;
    }

    /* Byte ranges must not overlap; sharing a page is fine. */
    qsort(segments, segment_count, sizeof(*segments), compare_load_segments);
    for (size_t i = 1; i < segment_count; i++) {
        if (segments[i].start < segments[i - 1].end) {
            result = fail(request, ENOEXEC,
                          "segments %zu [%#" PRIx64 ", %#" PRIx64 ") and %zu [%#" PRIx64
                          ", %#" PRIx64 ") overlap; the file is corrupt",
                          segments[i - 1].index, segments[i - 1].start, segments[i - 1].end,
                          segments[i].index, segments[i].start, segments[i].end);
            goto out;
        }
    }

    image.entry = file.header.e_entry + image.bias;
    if (file.header.e_entry > UINT64_MAX - image.bias ||
        !contains(segments, segment_count, image.entry)) {
        result = fail(request, ENOEXEC,
                      "entry point %#" PRIx64 " lies outside the loaded segments; the file is "
                      "corrupt",
                      (uint64_t)file.header.e_entry);
        goto out;
    }
    if (image.has_tls && image.tls_filesz > 0 &&
        (!contains(segments, segment_count, image.tls_address) ||
         !contains(segments, segment_count, image.tls_address + image.tls_filesz - 1))) {
        result = fail(request, ENOEXEC,
                      "the TLS initialization image lies outside the loaded segments; the file "
                      "is corrupt");
        goto out;
    }

    result = read_sections(request, &file, image.bias, &image, user_sections);
    if (result < 0)
        goto out;

    ranges = plan_page_ranges(segments, segment_count, (struct user_section *)user_sections->data,
                              user_sections->len, request->is_kernel ? 0 : GUEST_PROT_USER,
                              &range_count);
    result = map_and_fill(request, &file, segments, segment_count, ranges, range_count);
    if (result < 0)
        goto out;

    image.path = g_strdup(request->path);
    image.start = ranges[0].start;
    image.end = ranges[range_count - 1].end;
    image.phdr_address =
        find_phdr_address(&file, segments, segment_count, image.bias, has_pt_phdr, pt_phdr);
    image.segments = g_new(struct elf_segment, range_count);
    image.segment_count = range_count;
    for (size_t i = 0; i < range_count; i++)
        image.segments[i] = (struct elf_segment){
            .start = ranges[i].start,
            .end = ranges[i].end,
            .prot = ranges[i].prot & ~GUEST_PROT_USER,
        };
    image.symbol_table = symbol_table_new(&file, image.bias);
    *result_image = image;
    result = 0;

out:
    elf_file_close(&file);
out_no_file:
    g_free(segments);
    g_free(ranges);
    g_array_free(user_sections, TRUE);
    if (result < 0)
        elf_image_free(&image);
    return result;
}

int loader_load_kernel(const char *path, struct guest_memory *memory,
                       const struct loader_limits *limits, struct elf_image *image, char **error)
{
    struct load_request request = {
        .path = path,
        .what = "guest kernel",
        .is_kernel = true,
        .limits = limits,
        .memory = memory,
        .error = error,
    };
    return load_elf(&request, image);
}

int loader_load_program(const char *path, struct guest_memory *memory,
                        const struct loader_limits *limits, struct elf_image *image, char **error)
{
    struct load_request request = {
        .path = path,
        .what = "program",
        .is_kernel = false,
        .limits = limits,
        .memory = memory,
        .error = error,
    };
    return load_elf(&request, image);
}

int loader_load_interpreter(const char *path, struct guest_memory *memory,
                            const struct loader_limits *limits, struct elf_image *image,
                            char **error)
{
    struct load_request request = {
        .path = path,
        .what = "program interpreter",
        .is_interpreter = true,
        .limits = limits,
        .memory = memory,
        .error = error,
    };
    return load_elf(&request, image);
}

void elf_image_free(struct elf_image *image)
{
    if (!image)
        return;
    g_free(image->path);
    g_free(image->interpreter);
    g_free(image->segments);
    struct elf_symbol_table *table = image->symbol_table;
    if (table) {
        if (table->fd >= 0)
            close(table->fd);
        g_free(table->symbols);
        g_free(table->strings);
        g_free(table);
    }
    memset(image, 0, sizeof(*image));
}

/* ---- looking symbols up ------------------------------------------------- */

const struct elf_symbol *elf_image_symbolize(const struct elf_image *image, uint64_t address,
                                             uint64_t *offset)
{
    const struct elf_symbol_table *table = symbols_of(image);
    if (!table || table->count == 0)
        return NULL;
    /* The first symbol above address; everything before it starts at or
     * below it. */
    size_t low = 0, high = table->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (table->symbols[middle].address <= address)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == 0)
        return NULL;

    const struct elf_symbol *found = NULL;
    /* Closest first: a symbol that contains the address, at the highest
     * start (the innermost). */
    for (size_t i = low; i-- > 0;) {
        const struct elf_symbol *symbol = &table->symbols[i];
        if (address - symbol->address < symbol->size) {
            found = symbol;
            break;
        }
    }
    if (!found) {
        /* A function of size 0 (hand-written assembly) owns what follows
         * it, up to the next symbol, within the image. */
        const struct elf_symbol *closest = &table->symbols[low - 1];
        if (closest->is_function && closest->size == 0 && address >= image->start &&
            address < image->end)
            found = closest;
    }
    if (found && offset)
        *offset = address - found->address;
    return found;
}

bool elf_image_lookup(const struct elf_image *image, const char *name, uint64_t *address)
{
    const struct elf_symbol_table *table = name ? symbols_of(image) : NULL;
    if (!table)
        return false;
    for (size_t i = 0; i < table->count; i++) {
        if (strcmp(table->symbols[i].name, name) == 0) {
            if (address)
                *address = table->symbols[i].address;
            return true;
        }
    }
    return false;
}

size_t elf_image_symbols(const struct elf_image *image, const struct elf_symbol **symbols)
{
    const struct elf_symbol_table *table = symbols_of(image);
    *symbols = table ? table->symbols : NULL;
    return table ? table->count : 0;
}
