/*
 * report/capstone_lazy.c — libcapstone, loaded when a report first needs it.
 *
 * Capstone's tables carry some 80,000 relocations: linked normally, the
 * dynamic loader spends milliseconds on them at every start of hermitux-run,
 * for a disassembler that only fault reports use. These definitions stand in
 * for the library's (hermitux-run is not linked with it) and forward to it
 * once dlopen()ed; if it cannot be loaded, cs_open fails and the report goes
 * without disassembly.
 */
#include <capstone/capstone.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

static struct {
    cs_err (*open)(cs_arch, cs_mode, csh *);
    cs_err (*option)(csh, cs_opt_type, size_t);
    size_t (*disasm)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **);
    bool (*disasm_iter)(csh, const uint8_t **, size_t *, uint64_t *, cs_insn *);
    void (*free)(cs_insn *, size_t);
    cs_insn *(*malloc)(csh);
    cs_err (*close)(csh *);
    bool (*insn_group)(csh, const cs_insn *, unsigned int);
} capstone;

static pthread_once_t capstone_once = PTHREAD_ONCE_INIT;

static void capstone_load(void)
{
    void *library = dlopen("libcapstone.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library)
        library = dlopen("libcapstone.so", RTLD_NOW | RTLD_LOCAL);
    if (!library)
        return;
    *(void **)&capstone.option = dlsym(library, "cs_option");
    *(void **)&capstone.disasm = dlsym(library, "cs_disasm");
    *(void **)&capstone.disasm_iter = dlsym(library, "cs_disasm_iter");
    *(void **)&capstone.free = dlsym(library, "cs_free");
    *(void **)&capstone.malloc = dlsym(library, "cs_malloc");
    *(void **)&capstone.close = dlsym(library, "cs_close");
    *(void **)&capstone.insn_group = dlsym(library, "cs_insn_group");
    /* Last: a non-NULL open says every other pointer is there. */
    if (capstone.option && capstone.disasm && capstone.disasm_iter && capstone.free &&
        capstone.malloc && capstone.close && capstone.insn_group)
        *(void **)&capstone.open = dlsym(library, "cs_open");
}

cs_err cs_open(cs_arch arch, cs_mode mode, csh *handle)
{
    pthread_once(&capstone_once, capstone_load);
    if (!capstone.open)
        return CS_ERR_MEM;
    return capstone.open(arch, mode, handle);
}

/* The rest are only reached with a handle from a successful cs_open. */
cs_err cs_option(csh handle, cs_opt_type type, size_t value)
{
    return capstone.option(handle, type, value);
}

size_t cs_disasm(csh handle, const uint8_t *code, size_t size, uint64_t address, size_t count,
                 cs_insn **instructions)
{
    return capstone.disasm(handle, code, size, address, count, instructions);
}

bool cs_disasm_iter(csh handle, const uint8_t **code, size_t *size, uint64_t *address,
                    cs_insn *instruction)
{
    return capstone.disasm_iter(handle, code, size, address, instruction);
}

void cs_free(cs_insn *instructions, size_t count)
{
    if (capstone.free)
        capstone.free(instructions, count);
}

cs_insn *cs_malloc(csh handle)
{
    return capstone.malloc(handle);
}

cs_err cs_close(csh *handle)
{
    return capstone.close ? capstone.close(handle) : CS_ERR_OK;
}

bool cs_insn_group(csh handle, const cs_insn *instruction, unsigned int group)
{
    return capstone.insn_group(handle, instruction, group);
}
