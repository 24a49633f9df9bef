/*
 * loader/loader.c — ELF files into the static region, with libelf.
 *
 * Everything in the file is distrusted: sizes and offsets are checked with
 * overflow-safe arithmetic before anything is mapped or copied.
 */
#include "config.h"
#include "loader/loader.h"
#include "memory/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glib.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LOAD_SEGMENTS 64

/* An open ELF file and what the checks found in it. */
struct elf_file {
    const char *path;
    int fd;
    uint64_t file_size;
    Elf *elf;
    GElf_Ehdr header;
    GElf_Phdr loads[MAX_LOAD_SEGMENTS];
    size_t load_count;
};

static int fail(char **error, int code, const char *path, const char *format, ...)
    G_GNUC_PRINTF(4, 5);

static int fail(char **error, int code, const char *path, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *message = g_strdup_vprintf(format, args);
    va_end(args);
    *error = g_strdup_printf("%s: %s", path, message);
    g_free(message);
    return code;
}

static const char *machine_name(unsigned machine)
{
    switch (machine) {
    case EM_386:
        return "i386";
    case EM_ARM:
        return "32-bit ARM";
    case EM_AARCH64:
        return "aarch64";
    case EM_RISCV:
        return "RISC-V";
    case EM_PPC64:
        return "ppc64";
    case EM_S390:
        return "s390";
    default:
        return NULL;
    }
}

static void elf_file_close(struct elf_file *file)
{
    if (file->elf)
        elf_end(file->elf);
    if (file->fd >= 0)
        close(file->fd);
}

/* Opens path and checks the header: 64-bit little-endian x86-64, of a type
 * allowed by allow_dyn. */
static int elf_file_open(struct elf_file *file, const char *path, bool allow_dyn, char **error)
{
    memset(file, 0, sizeof(*file));
    file->path = path;
    file->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (file->fd < 0)
        return fail(error, -errno, path, "%s", g_strerror(errno));
    struct stat status;
    if (fstat(file->fd, &status) < 0)
        return fail(error, -errno, path, "%s", g_strerror(errno));
    if (S_ISDIR(status.st_mode))
        return fail(error, -EISDIR, path, "is a directory, not a program");
    if (!S_ISREG(status.st_mode))
        return fail(error, -EINVAL, path, "is not a regular file");
    file->file_size = (uint64_t)status.st_size;

    unsigned char ident[EI_NIDENT];
    if (pread(file->fd, ident, sizeof(ident), 0) != (ssize_t)sizeof(ident) ||
        memcmp(ident, ELFMAG, SELFMAG) != 0)
        return fail(error, -ENOEXEC, path, "not an ELF file");
    if (ident[EI_CLASS] == ELFCLASS32)
        return fail(error, -ENOEXEC, path, "32-bit ELF; hermitux-run runs x86-64 programs");
    if (ident[EI_CLASS] != ELFCLASS64 || ident[EI_DATA] != ELFDATA2LSB)
        return fail(error, -ENOEXEC, path, "ELF file of an unknown class or byte order");

    elf_version(EV_CURRENT);
    file->elf = elf_begin(file->fd, ELF_C_READ, NULL);
    if (!file->elf || elf_kind(file->elf) != ELF_K_ELF || !gelf_getehdr(file->elf, &file->header))
        return fail(error, -ENOEXEC, path, "malformed ELF file (%s)", elf_errmsg(-1));
    if (file->header.e_machine != EM_X86_64) {
        const char *name = machine_name(file->header.e_machine);
        if (name)
            return fail(error, -ENOEXEC, path, "ELF for %s; hermitux-run runs x86-64 programs",
                        name);
        return fail(error, -ENOEXEC, path, "ELF for machine %u; hermitux-run runs x86-64 programs",
                    file->header.e_machine);
    }
    if (file->header.e_type != ET_EXEC && !(allow_dyn && file->header.e_type == ET_DYN))
        return fail(error, -ENOEXEC, path, "not an executable ELF file (type %u)%s",
                    file->header.e_type,
                    file->header.e_type == ET_REL ? ": an object file, link it first" : "");
    return 0;
}

/* Reads and checks every program header; fills image fields that come from
 * them. */
static int elf_file_scan(struct elf_file *file, struct elf_image *image, bool is_program,
                         char **error)
{
    const char *path = file->path;
    size_t count;
    if (elf_getphdrnum(file->elf, &count) != 0)
        return fail(error, -ENOEXEC, path, "truncated ELF file (program headers unreadable)");
    uint64_t table_end;
    if (file->header.e_phentsize != sizeof(Elf64_Phdr) ||
        __builtin_mul_overflow((uint64_t)count, (uint64_t)sizeof(Elf64_Phdr), &table_end) ||
        __builtin_add_overflow(table_end, file->header.e_phoff, &table_end) ||
        table_end > file->file_size)
        return fail(error, -ENOEXEC, path, "truncated ELF file (program headers past the end)");
    image->phnum = count;
    image->phent = sizeof(Elf64_Phdr);
    image->executable_stack = true;
    uint64_t phdr_vaddr = 0;
    bool has_phdr = false;

    for (size_t i = 0; i < count; i++) {
        GElf_Phdr header;
        if (!gelf_getphdr(file->elf, (int)i, &header))
            return fail(error, -ENOEXEC, path, "truncated ELF file (program header %zu)", i);
        switch (header.p_type) {
        case PT_INTERP:
            if (is_program) {
                char interpreter[256] = "";
                if (header.p_filesz > 0 && header.p_filesz < sizeof(interpreter) &&
                    header.p_offset < file->file_size)
                    (void)!pread(file->fd, interpreter, header.p_filesz, (off_t)header.p_offset);
                interpreter[sizeof(interpreter) - 1] = '\0';
                return fail(error, -ENOEXEC, path,
                            "dynamically linked (needs %s); hermitux-run runs static programs: "
                            "rebuild with -static",
                            interpreter[0] ? interpreter : "an interpreter");
            }
            break;
        case PT_LOAD: {
            uint64_t file_end, memory_end;
            if (header.p_filesz > header.p_memsz)
                return fail(error, -ENOEXEC, path,
                            "segment %zu has a file size larger than its memory size", i);
            if (__builtin_add_overflow(header.p_offset, header.p_filesz, &file_end) ||
                file_end > file->file_size)
                return fail(error, -ENOEXEC, path,
                            "truncated ELF file (segment %zu extends past the end of the file)", i);
            if (__builtin_add_overflow(header.p_vaddr, header.p_memsz, &memory_end) ||
                memory_end > GUEST_USER_TOP)
                return fail(error, -ENOEXEC, path, "segment %zu has an absurd address or size", i);
            if (header.p_align > 1 && (header.p_align & (header.p_align - 1)))
                return fail(error, -ENOEXEC, path, "segment %zu has an absurd alignment", i);
            if (header.p_memsz == 0)
                break;
            if (file->load_count == MAX_LOAD_SEGMENTS)
                return fail(error, -ENOEXEC, path, "more than %d loadable segments",
                            MAX_LOAD_SEGMENTS);
            file->loads[file->load_count++] = header;
            break;
        }
        case PT_TLS:
            image->has_tls = true;
            image->tls_address = header.p_vaddr;
            image->tls_filesz = header.p_filesz;
            image->tls_memsz = header.p_memsz;
            image->tls_align = header.p_align;
            break;
        case PT_GNU_STACK:
            image->executable_stack = (header.p_flags & PF_X) != 0;
            break;
        case PT_PHDR:
            has_phdr = true;
            phdr_vaddr = header.p_vaddr;
            break;
        default:
            break;
        }
    }
    if (file->load_count == 0)
        return fail(error, -ENOEXEC, path, "no loadable segment");

    /* Sorted by address, segments must not share a byte. */
    for (size_t i = 1; i < file->load_count; i++) {
        for (size_t j = i; j > 0 && file->loads[j].p_vaddr < file->loads[j - 1].p_vaddr; j--) {
            GElf_Phdr swap = file->loads[j];
            file->loads[j] = file->loads[j - 1];
            file->loads[j - 1] = swap;
        }
    }
    for (size_t i = 1; i < file->load_count; i++) {
        if (file->loads[i - 1].p_vaddr + file->loads[i - 1].p_memsz > file->loads[i].p_vaddr)
            return fail(error, -ENOEXEC, path, "segments overlap at %#llx",
                        (unsigned long long)file->loads[i].p_vaddr);
    }

    if (has_phdr) {
        image->phdr_address = phdr_vaddr;
    } else {
        for (size_t i = 0; i < file->load_count; i++) {
            const GElf_Phdr *load = &file->loads[i];
            if (file->header.e_phoff >= load->p_offset &&
                table_end <= load->p_offset + load->p_filesz)
                image->phdr_address = load->p_vaddr + (file->header.e_phoff - load->p_offset);
        }
    }
    return 0;
}

static int prot_of(uint32_t flags)
{
    return ((flags & PF_R) ? GUEST_PROT_READ : 0) | ((flags & PF_W) ? GUEST_PROT_WRITE : 0) |
           ((flags & PF_X) ? GUEST_PROT_EXEC : 0);
}

/* Sections whose pages the program's privilege level may reach (kernel). */
static bool user_section(const char *name)
{
    return name && (strcmp(name, ".text.user") == 0 || strcmp(name, ".data.user") == 0);
}

/* Adds GUEST_PROT_USER to the pages of [start, end) in page_prot. */
static void mark_user_pages(int *page_prot, uint64_t first_page, size_t page_count, uint64_t start,
                            uint64_t end)
{
    for (uint64_t page = start & GUEST_PAGE_MASK; page < end; page += GUEST_PAGE_SIZE) {
        uint64_t index = (page - first_page) / GUEST_PAGE_SIZE;
        if (page >= first_page && index < page_count)
            page_prot[index] |= GUEST_PROT_USER;
    }
}

/* Maps the segments page by page (a page shared by two segments gets both
 * permissions), copies their file bytes and zeroes the rest. */
static int elf_file_load(struct elf_file *file, struct elf_image *image,
                         struct guest_memory *memory, const struct loader_limits *limits,
                         bool is_program, char **error)
{
    const char *path = file->path;
    uint64_t bias = image->bias;
    uint64_t low = (file->loads[0].p_vaddr + bias) & GUEST_PAGE_MASK;
    const GElf_Phdr *last = &file->loads[file->load_count - 1];
    uint64_t high = (last->p_vaddr + bias + last->p_memsz + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
    if (low < limits->low)
        return fail(error, -ENOEXEC, path,
                    "loads at %#llx, below %#llx where the guest kernel lives; relink it at "
                    "0x400000 (the default)",
                    (unsigned long long)low, (unsigned long long)limits->low);
    if (high > limits->high)
        return fail(error, -ENOMEM, path,
                    "needs guest memory up to %#llx but the guest has %llu MiB; give more "
                    "with -m",
                    (unsigned long long)high, (unsigned long long)(limits->high >> 20));
    image->start = low;
    image->end = high;

    size_t page_count = (high - low) / GUEST_PAGE_SIZE;
    int *page_prot = g_new0(int, page_count);
    image->segments = g_new0(struct elf_segment, file->load_count);
    for (size_t i = 0; i < file->load_count; i++) {
        const GElf_Phdr *load = &file->loads[i];
        uint64_t start = (load->p_vaddr + bias) & GUEST_PAGE_MASK;
        uint64_t end =
            (load->p_vaddr + bias + load->p_memsz + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
        int prot = prot_of(load->p_flags) | (is_program ? GUEST_PROT_USER : 0);
        for (uint64_t page = start; page < end; page += GUEST_PAGE_SIZE)
            page_prot[(page - low) / GUEST_PAGE_SIZE] |= prot;
        image->segments[image->segment_count++] = (struct elf_segment){start, end, prot};
    }
    if (!is_program) {
        size_t section_index = 0;
        size_t string_index;
        Elf_Scn *section = NULL;
        if (elf_getshdrstrndx(file->elf, &string_index) == 0) {
            while ((section = elf_nextscn(file->elf, section)) != NULL) {
                GElf_Shdr header;
                if (!gelf_getshdr(section, &header))
                    continue;
                const char *name = elf_strptr(file->elf, string_index, header.sh_name);
                if (user_section(name) && header.sh_size)
                    mark_user_pages(page_prot, low, page_count, header.sh_addr,
                                    header.sh_addr + header.sh_size);
                section_index++;
            }
        }
    }

    int result = 0;
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    enum guest_region_kind kind = is_program ? GUEST_REGION_PROGRAM : GUEST_REGION_KERNEL;
    for (size_t first = 0; first < page_count && result == 0;) {
        if (!page_prot[first]) {
            first++;
            continue;
        }
        size_t end = first + 1;
        while (end < page_count && page_prot[end] == page_prot[first])
            end++;
        result = guest_map_identity(memory, low + first * GUEST_PAGE_SIZE,
                                    (end - first) * GUEST_PAGE_SIZE, page_prot[first], kind, name);
        first = end;
    }
    g_free(page_prot);
    if (result < 0)
        return fail(error, result, path, "cannot map its segments at %#llx-%#llx (%s)",
                    (unsigned long long)low, (unsigned long long)high, g_strerror(-result));

    for (size_t i = 0; i < file->load_count; i++) {
        const GElf_Phdr *load = &file->loads[i];
        uint8_t *host = guest_phys_to_host(memory, load->p_vaddr + bias, load->p_memsz);
        if (!host)
            return fail(error, -EFAULT, path, "segment %zu lies outside guest memory", i);
        if (load->p_filesz &&
            pread(file->fd, host, load->p_filesz, (off_t)load->p_offset) != (ssize_t)load->p_filesz)
            return fail(error, -EIO, path, "cannot read segment %zu", i);
        memset(host + load->p_filesz, 0, load->p_memsz - load->p_filesz);
    }
    return 0;
}

static int compare_symbols(const void *a, const void *b)
{
    const struct elf_symbol *left = a, *right = b;
    if (left->address != right->address)
        return left->address < right->address ? -1 : 1;
    /* Functions before objects at one address; then by name, for a stable
     * choice. */
    if (left->is_function != right->is_function)
        return left->is_function ? -1 : 1;
    return strcmp(left->name, right->name);
}

/* Keeps the symbol table (functions and objects), sorted, bias applied. */
static void elf_file_read_symbols(struct elf_file *file, struct elf_image *image)
{
    Elf_Scn *section = NULL, *symbols = NULL;
    GElf_Shdr symbols_header = {0};
    size_t string_index;
    if (elf_getshdrstrndx(file->elf, &string_index) != 0)
        return;
    while ((section = elf_nextscn(file->elf, section)) != NULL) {
        GElf_Shdr header;
        if (!gelf_getshdr(section, &header))
            continue;
        const char *name = elf_strptr(file->elf, string_index, header.sh_name);
        if (name && strcmp(name, ".text") == 0)
            image->text_start = header.sh_addr + image->bias;
        if (header.sh_type == SHT_SYMTAB ||
            (header.sh_type == SHT_DYNSYM && (!symbols || symbols_header.sh_type != SHT_SYMTAB))) {
            symbols = section;
            symbols_header = header;
        }
    }
    if (!symbols || symbols_header.sh_entsize != sizeof(Elf64_Sym))
        return;
    Elf_Data *data = elf_getdata(symbols, NULL);
    if (!data)
        return;
    size_t count = data->d_size / sizeof(Elf64_Sym);
    GString *names = g_string_new(NULL);
    GArray *offsets = g_array_new(FALSE, FALSE, sizeof(size_t));
    image->symbols = g_new0(struct elf_symbol, count ? count : 1);
    for (size_t i = 0; i < count; i++) {
        GElf_Sym symbol;
        if (!gelf_getsym(data, (int)i, &symbol))
            continue;
        int type = GELF_ST_TYPE(symbol.st_info);
        if ((type != STT_FUNC && type != STT_OBJECT) || symbol.st_shndx == SHN_UNDEF)
            continue;
        const char *name = elf_strptr(file->elf, symbols_header.sh_link, symbol.st_name);
        if (!name || !*name)
            continue;
        size_t offset = names->len;
        g_string_append_len(names, name, (gssize)strlen(name) + 1);
        g_array_append_val(offsets, offset);
        image->symbols[image->symbol_count++] = (struct elf_symbol){
            .address = symbol.st_value + image->bias,
            .size = symbol.st_size,
            .is_function = type == STT_FUNC,
        };
    }
    image->string_storage = g_string_free(names, FALSE);
    for (size_t i = 0; i < image->symbol_count; i++)
        image->symbols[i].name = image->string_storage + g_array_index(offsets, size_t, i);
    g_array_free(offsets, TRUE);
    qsort(image->symbols, image->symbol_count, sizeof(*image->symbols), compare_symbols);
}

static int load(const char *path, struct guest_memory *memory, const struct loader_limits *limits,
                struct elf_image *image, bool is_program, char **error)
{
    memset(image, 0, sizeof(*image));
    struct elf_file file;
    int result = elf_file_open(&file, path, is_program, error);
    if (result == 0) {
        image->path = g_strdup(path);
        image->type = file.header.e_type;
        /* A static-pie program goes where HermiTux puts it. */
        image->bias = file.header.e_type == ET_DYN ? LOADER_PIE_BIAS : 0;
        result = elf_file_scan(&file, image, is_program, error);
    }
    if (result == 0)
        result = elf_file_load(&file, image, memory, limits, is_program, error);
    if (result == 0) {
        image->entry = file.header.e_entry + image->bias;
        if (image->phdr_address)
            image->phdr_address += image->bias;
        if (image->has_tls)
            image->tls_address += image->bias;
        if (image->entry < image->start || image->entry >= image->end)
            result = fail(error, -ENOEXEC, path, "entry point %#llx lies outside its segments",
                          (unsigned long long)image->entry);
    }
    if (result == 0)
        elf_file_read_symbols(&file, image);
    elf_file_close(&file);
    if (result < 0)
        elf_image_free(image);
    return result;
}

int loader_load_kernel(const char *path, struct guest_memory *memory,
                       const struct loader_limits *limits, struct elf_image *image, char **error)
{
    int result = load(path, memory, limits, image, false, error);
    if (result < 0 && *error) {
        char *message = g_strdup_printf("guest kernel %s (give another with --kernel)", *error);
        g_free(*error);
        *error = message;
    }
    return result;
}

int loader_load_program(const char *path, struct guest_memory *memory,
                        const struct loader_limits *limits, struct elf_image *image, char **error)
{
    return load(path, memory, limits, image, true, error);
}

void elf_image_free(struct elf_image *image)
{
    if (!image)
        return;
    g_free(image->path);
    g_free(image->segments);
    g_free(image->symbols);
    g_free(image->string_storage);
    memset(image, 0, sizeof(*image));
}

const struct elf_symbol *elf_image_symbolize(const struct elf_image *image, uint64_t address,
                                             uint64_t *offset)
{
    if (!image || !image->symbol_count)
        return NULL;
    /* The last symbol starting at or below address. */
    size_t low = 0, high = image->symbol_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (image->symbols[middle].address <= address)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == 0)
        return NULL;
    const struct elf_symbol *symbol = &image->symbols[low - 1];
    /* Prefer a function that contains the address over a nearer object. */
    for (size_t i = low; i-- > 0;) {
        const struct elf_symbol *candidate = &image->symbols[i];
        if (address < candidate->address + candidate->size ||
            (candidate->size == 0 && candidate->is_function && candidate == symbol)) {
            *offset = address - candidate->address;
            return candidate;
        }
        if (address - candidate->address > (1u << 20))
            break;
    }
    return NULL;
}

bool elf_image_lookup(const struct elf_image *image, const char *name, uint64_t *address)
{
    for (size_t i = 0; i < image->symbol_count; i++) {
        if (strcmp(image->symbols[i].name, name) == 0) {
            *address = image->symbols[i].address;
            return true;
        }
    }
    return false;
}
