/*
 * report/libdw_lazy.c — libdw, loaded when a report first needs it.
 *
 * Only fault reports read DWARF (debuginfo.c), but linked normally libdw
 * and the compression libraries it needs (liblzma, libbz2) are mapped and
 * relocated at every start of the monitor: 0.6 ms of a start here (a
 * test program with and without them, 40 runs each, load 0.3). These
 * definitions stand in for the library's (the monitor is not linked with
 * it) and forward to it once dlopen()ed; if it cannot be loaded, dwfl_begin
 * returns NULL and reports go without source lines and backtraces, as with
 * a program without DWARF. Everything else is only reached with a Dwfl from
 * a successful dwfl_begin, or from inside libdw (the callbacks).
 */
#include <dlfcn.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <pthread.h>
#include <stddef.h>

static void *libdw;
static pthread_once_t libdw_once = PTHREAD_ONCE_INIT;

static void libdw_load(void)
{
    libdw = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
}

static void *libdw_symbol(const char *name)
{
    pthread_once(&libdw_once, libdw_load);
    return libdw ? dlsym(libdw, name) : NULL;
}

/* fn: libdw's definition of the function being defined, NULL without one;
 * found once, by whichever thread comes first (the same answer each time). */
#define LIBDW_REAL(name)                                                                           \
    static __typeof__(name) *real_##name;                                                          \
    __typeof__(name) *fn = __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE);                        \
    if (!fn) {                                                                                     \
        fn = (__typeof__(name) *)libdw_symbol(#name);                                              \
        __atomic_store_n(&real_##name, fn, __ATOMIC_RELEASE);                                      \
    }

Dwfl *dwfl_begin(const Dwfl_Callbacks *callbacks)
{
    LIBDW_REAL(dwfl_begin);
    return fn ? fn(callbacks) : NULL;
}

void dwfl_end(Dwfl *dwfl)
{
    LIBDW_REAL(dwfl_end);
    if (fn)
        fn(dwfl);
}

void dwfl_report_begin(Dwfl *dwfl)
{
    LIBDW_REAL(dwfl_report_begin);
    if (fn)
        fn(dwfl);
}

Dwfl_Module *dwfl_report_elf(Dwfl *dwfl, const char *name, const char *file_name, int fd,
                             GElf_Addr base, bool add_p_vaddr)
{
    LIBDW_REAL(dwfl_report_elf);
    return fn ? fn(dwfl, name, file_name, fd, base, add_p_vaddr) : NULL;
}

int dwfl_report_end(Dwfl *dwfl,
                    int (*removed)(Dwfl_Module *, void *, const char *, Dwarf_Addr, void *),
                    void *arg)
{
    LIBDW_REAL(dwfl_report_end);
    return fn ? fn(dwfl, removed, arg) : -1;
}

Dwfl_Module *dwfl_addrmodule(Dwfl *dwfl, Dwarf_Addr address)
{
    LIBDW_REAL(dwfl_addrmodule);
    return fn ? fn(dwfl, address) : NULL;
}

const char *dwfl_module_info(Dwfl_Module *mod, void ***userdata, Dwarf_Addr *start, Dwarf_Addr *end,
                             Dwarf_Addr *dwbias, Dwarf_Addr *symbias, const char **mainfile,
                             const char **debugfile)
{
    LIBDW_REAL(dwfl_module_info);
    return fn ? fn(mod, userdata, start, end, dwbias, symbias, mainfile, debugfile) : NULL;
}

Elf *dwfl_module_getelf(Dwfl_Module *mod, GElf_Addr *bias)
{
    LIBDW_REAL(dwfl_module_getelf);
    return fn ? fn(mod, bias) : NULL;
}

const char *dwfl_module_addrinfo(Dwfl_Module *mod, GElf_Addr address, GElf_Off *offset,
                                 GElf_Sym *sym, GElf_Word *shndxp, Elf **elfp, Dwarf_Addr *bias)
{
    LIBDW_REAL(dwfl_module_addrinfo);
    return fn ? fn(mod, address, offset, sym, shndxp, elfp, bias) : NULL;
}

Dwarf_Die *dwfl_module_addrdie(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *bias)
{
    LIBDW_REAL(dwfl_module_addrdie);
    return fn ? fn(mod, addr, bias) : NULL;
}

Dwfl_Line *dwfl_module_getsrc(Dwfl_Module *mod, Dwarf_Addr addr)
{
    LIBDW_REAL(dwfl_module_getsrc);
    return fn ? fn(mod, addr) : NULL;
}

const char *dwfl_lineinfo(Dwfl_Line *line, Dwarf_Addr *addr, int *linep, int *colp,
                          Dwarf_Word *mtime, Dwarf_Word *length)
{
    LIBDW_REAL(dwfl_lineinfo);
    return fn ? fn(line, addr, linep, colp, mtime, length) : NULL;
}

bool dwfl_attach_state(Dwfl *dwfl, Elf *elf, pid_t pid, const Dwfl_Thread_Callbacks *callbacks,
                       void *arg)
{
    LIBDW_REAL(dwfl_attach_state);
    return fn ? fn(dwfl, elf, pid, callbacks, arg) : false;
}

int dwfl_getthread_frames(Dwfl *dwfl, pid_t tid, int (*callback)(Dwfl_Frame *, void *), void *arg)
{
    LIBDW_REAL(dwfl_getthread_frames);
    return fn ? fn(dwfl, tid, callback, arg) : -1;
}

bool dwfl_thread_state_registers(Dwfl_Thread *thread, int firstreg, unsigned nregs,
                                 const Dwarf_Word *regs)
{
    LIBDW_REAL(dwfl_thread_state_registers);
    return fn ? fn(thread, firstreg, nregs, regs) : false;
}

bool dwfl_frame_pc(Dwfl_Frame *state, Dwarf_Addr *pc, bool *isactivation)
{
    LIBDW_REAL(dwfl_frame_pc);
    return fn ? fn(state, pc, isactivation) : false;
}

int dwfl_frame_reg(Dwfl_Frame *state, unsigned regno, Dwarf_Word *val)
{
    LIBDW_REAL(dwfl_frame_reg);
    return fn ? fn(state, regno, val) : -1;
}

int dwfl_build_id_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                           char **file_name, Elf **elfp)
{
    LIBDW_REAL(dwfl_build_id_find_elf);
    return fn ? fn(mod, userdata, modname, base, file_name, elfp) : -1;
}

int dwfl_standard_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                                 Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                                 GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    LIBDW_REAL(dwfl_standard_find_debuginfo);
    return fn ? fn(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
                   debuginfo_file_name)
              : -1;
}

int dwfl_offline_section_address(Dwfl_Module *mod, void **userdata, const char *modname,
                                 Dwarf_Addr base, const char *secname, GElf_Word shndx,
                                 const GElf_Shdr *shdr, Dwarf_Addr *addr)
{
    LIBDW_REAL(dwfl_offline_section_address);
    return fn ? fn(mod, userdata, modname, base, secname, shndx, shdr, addr) : -1;
}

int dwarf_getscopes(Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **scopes)
{
    LIBDW_REAL(dwarf_getscopes);
    return fn ? fn(cudie, pc, scopes) : -1;
}

int dwarf_tag(Dwarf_Die *die)
{
    LIBDW_REAL(dwarf_tag);
    return fn ? fn(die) : -1;
}

const char *dwarf_diename(Dwarf_Die *die)
{
    LIBDW_REAL(dwarf_diename);
    return fn ? fn(die) : NULL;
}
