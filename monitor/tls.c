/*
 * monitor/tls.c — where a thread-local variable lives, for gdb's
 * qGetTLSAddr: what gdbserver asks libthread_db for.
 *
 * A static program has one TLS block, just below the thread pointer
 * (x86-64's variant II), rounded up to the segment's alignment as glibc and
 * musl place it. A dynamic glibc program's modules are found as
 * libthread_db finds them: the module id at the link_map field libc
 * describes in its `_thread_db_link_map_l_tls_modid` (three words: bits,
 * count, offset), the thread's DTV through `_thread_db_pthread_dtvp`, and
 * the module's block in DTV slot modid (`_thread_db_dtv_dtv`,
 * `_thread_db_dtv_t_pointer_val`). musl describes none of this (and
 * libthread_db does not know musl, so gdbserver cannot either): its dynamic
 * programs get -ENOTSUP.
 */
#include "config.h"
#include "monitor/guest.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glib.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "loader/loader.h"
#include "memory/memory.h"

/* glibc's TLS_DTV_UNALLOCATED: a module whose block is not allocated yet. */
#define DTV_UNALLOCATED UINT64_MAX

/* One of libthread_db's descriptors: a field of `bits` bits, `count` of
 * them (an array), at `offset`. */
struct db_field {
    uint32_t bits, count, offset;
};

/* The values of count dynamic symbols of the ELF file at path into
 * values (0 for each one absent), in one pass over its symbol table. */
static void file_symbols(const char *path, const char *const *names, uint64_t *values, size_t count)
{
    memset(values, 0, count * sizeof(*values));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    Elf_Scn *section = NULL;
    while (elf && (section = elf_nextscn(elf, section)) != NULL) {
        GElf_Shdr header;
        if (!gelf_getshdr(section, &header) || header.sh_type != SHT_DYNSYM || !header.sh_entsize)
            continue;
        Elf_Data *data = elf_getdata(section, NULL);
        size_t symbols = header.sh_size / header.sh_entsize;
        for (size_t i = 0; data && i < symbols; i++) {
            GElf_Sym symbol;
            const char *found = gelf_getsym(data, (int)i, &symbol)
                                    ? elf_strptr(elf, header.sh_link, symbol.st_name)
                                    : NULL;
            for (size_t n = 0; found && n < count; n++)
                if (!values[n] && strcmp(found, names[n]) == 0)
                    values[n] = symbol.st_value;
        }
    }
    if (elf)
        elf_end(elf);
    close(fd);
}

static bool read_field(const struct guest_memory *memory, uint64_t address, struct db_field *field)
{
    return address && guest_read(memory, address, field, sizeof(*field), GUEST_ACCESS_DEBUG) == 0;
}

/* An unsigned field of 32 or 64 bits at base + field->offset (+ index
 * elements). */
static bool read_value(const struct guest_memory *memory, uint64_t base,
                       const struct db_field *field, uint64_t index, uint64_t *value)
{
    uint64_t size = field->bits / 8, address = base + field->offset + index * size;
    *value = 0;
    if (size != 4 && size != 8)
        return false;
    return guest_read(memory, address, value, size, GUEST_ACCESS_DEBUG) == 0;
}

/* libc's descriptors, from the loaded libc.so (its symbols in its file, its
 * data in guest memory). */
struct glibc_db {
    struct db_field modid, dtvp, dtv, pointer_val;
};

static bool find_glibc_db(struct guest *guest, struct glibc_db *db)
{
    struct loader_library *libraries = NULL;
    size_t count =
        loader_read_link_map(guest->memory, &guest->program, &guest->interpreter, 0, &libraries);
    bool found = false;
    for (size_t i = 0; i < count && !found; i++) {
        const struct loader_library *library = &libraries[i];
        const char *base = strrchr(library->name, '/');
        if (!base || strncmp(base + 1, "libc.so", 7) != 0)
            continue;
        const char *root = guest->options->root_path;
        char *path = root ? g_build_filename(root, library->name, NULL) : g_strdup(library->name);
        static const char *const names[] = {"_thread_db_link_map_l_tls_modid",
                                            "_thread_db_pthread_dtvp", "_thread_db_dtv_dtv",
                                            "_thread_db_dtv_t_pointer_val"};
        G_STATIC_ASSERT(G_N_ELEMENTS(names) == G_N_ELEMENTS(guest->tls_libc_symbols));
        /* Read once per libc file: gdb asks at every `p errno`. */
        if (g_strcmp0(guest->tls_libc_path, path) != 0) {
            file_symbols(path, names, guest->tls_libc_symbols, G_N_ELEMENTS(names));
            g_free(guest->tls_libc_path);
            guest->tls_libc_path = g_strdup(path);
        }
        struct db_field *fields[] = {&db->modid, &db->dtvp, &db->dtv, &db->pointer_val};
        found = true;
        for (size_t f = 0; f < G_N_ELEMENTS(names) && found; f++) {
            uint64_t value = guest->tls_libc_symbols[f];
            found = value && read_field(guest->memory, library->l_addr + value, fields[f]);
        }
        g_free(path);
    }
    loader_libraries_free(libraries, count);
    return found;
}

static int static_tls_address(const struct elf_image *program, uint64_t thread_pointer,
                              uint64_t offset, uint64_t *address)
{
    if (!program->has_tls)
        return -ENOTSUP;
    uint64_t align = program->tls_align ? program->tls_align : 1;
    uint64_t block = program->tls_memsz + (-program->tls_memsz & (align - 1));
    *address = thread_pointer - block + offset;
    return 0;
}

int guest_tls_address(struct guest *guest, uint64_t thread_pointer, uint64_t offset, uint64_t lm,
                      uint64_t *address)
{
    if (!guest->program.interpreter)
        return static_tls_address(&guest->program, thread_pointer, offset, address);
    struct glibc_db db;
    if (!lm || !find_glibc_db(guest, &db))
        return -ENOTSUP;
    uint64_t modid, dtv, block;
    const struct guest_memory *memory = guest->memory;
    if (!read_value(memory, lm, &db.modid, 0, &modid) || modid == 0)
        return -EINVAL; /* no TLS in that module */
    if (!read_value(memory, thread_pointer, &db.dtvp, 0, &dtv) || !dtv)
        return -EIO;
    /* Entry modid of the DTV array (dtv[-1] holds its length), its
     * pointer.val. */
    uint64_t entry_size = db.dtv.bits / 8, length;
    struct db_field counter = {64, 1, 0};
    if (entry_size < 8 || modid >= db.dtv.count ||
        !read_value(memory, dtv + db.dtv.offset - entry_size, &counter, 0, &length))
        return -EIO;
    if (modid > length)
        return -EAGAIN; /* a module loaded after this DTV was sized */
    if (!read_value(memory, dtv + db.dtv.offset + modid * entry_size, &db.pointer_val, 0, &block))
        return -EIO;
    if (block == DTV_UNALLOCATED || block == 0)
        return -EAGAIN; /* not allocated until the thread first touches it */
    *address = block + offset;
    return 0;
}
