/*
 * report/debuginfo.c — source lines, inlined functions and the backtrace,
 * from the DWARF of the program, the kernel and the shared objects the
 * dynamic loader mapped (its link map, read when a report is made) through
 * libdw's Dwfl, whose unwinder reads the guest's stack through guest_read.
 */
#include "config.h"
#include "kernel/abi.h"
#include "monitor/guest.h"
#include "report/internal.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <glib.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A stack overflow has tens of thousands of frames: walk them all (to show
 * the outermost ones too) but not without end. */
#define MAX_UNWOUND_FRAMES 200000
/* Shown in full below this many frames; else the first and the last ones. */
#define SHOWN_FIRST_FRAMES 12
#define SHOWN_LAST_FRAMES  6
/* The last-resort scan of the stack for return addresses. */
#define MAX_SCANNED_BYTES        (64u << 10)
#define MAX_SCANNED_FRAMES       24
#define MAX_FRAME_POINTER_FRAMES 256

/* DWARF register numbers of x86-64: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 ra. */
#define DWARF_REG_RBP   6
#define DWARF_REG_RSP   7
#define DWARF_REG_COUNT 17

struct report_debuginfo {
    struct guest *guest;
    Dwfl *dwfl;
};

static char *no_debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &no_debuginfo_path,
};

/* The libraries in ld.so's link map (the first entry is the program), and
 * the interpreter itself when the map does not have it yet. */
static void report_shared_objects(Dwfl *dwfl, struct guest *guest)
{
    struct loader_library *libraries;
    size_t count =
        loader_read_link_map(guest->memory, &guest->program, &guest->interpreter, 0, &libraries);
    bool interpreter_listed = false;
    for (size_t i = 1; i < count; i++) {
        const char *path = libraries[i].name;
        if (path[0] != '/')
            continue; /* the vDSO, or nothing to open */
        if (guest->interpreter.path && strcmp(path, guest->interpreter.path) == 0)
            interpreter_listed = true;
        dwfl_report_elf(dwfl, path, path, -1, libraries[i].l_addr, true);
    }
    loader_libraries_free(libraries, count);
    if (guest->interpreter.path && !interpreter_listed)
        dwfl_report_elf(dwfl, guest->interpreter.path, guest->interpreter.path, -1,
                        guest->interpreter.bias, true);
}

/* The program, the kernel and the shared objects, each at its load bias.
 * Each is optional: a stripped or vanished file just gives fewer names. */
static void report_modules(Dwfl *dwfl, struct guest *guest)
{
    dwfl_report_begin(dwfl);
    if (guest->program.path)
        dwfl_report_elf(dwfl, "program", guest->program.path, -1, guest->program.bias, true);
    if (guest->kernel.path)
        dwfl_report_elf(dwfl, "kernel", guest->kernel.path, -1, 0, false);
    report_shared_objects(dwfl, guest);
    dwfl_report_end(dwfl, NULL, NULL);
}

struct report_debuginfo *report_debuginfo_open(struct guest *guest)
{
    struct report_debuginfo *debuginfo = g_new0(struct report_debuginfo, 1);
    debuginfo->guest = guest;
    debuginfo->dwfl = dwfl_begin(&offline_callbacks);
    if (!debuginfo->dwfl)
        return debuginfo;
    report_modules(debuginfo->dwfl, guest);
    return debuginfo;
}

void report_debuginfo_close(struct report_debuginfo *debuginfo)
{
    if (!debuginfo)
        return;
    if (debuginfo->dwfl)
        dwfl_end(debuginfo->dwfl);
    g_free(debuginfo);
}

/* The guest kernel's own image, by the map: program code the program
 * mapped between the kernel's pages is the program's. */
static bool is_kernel_address(const struct guest *guest, uint64_t address)
{
    if (address < HX_KERNEL_BASE || address >= HX_KERNEL_END)
        return false;
    const struct guest_region *region = guest_region_lookup(guest->memory, address);
    return !region || region->kind == GUEST_REGION_KERNEL || region->kind == GUEST_REGION_DEVICE;
}

static void copy_string(char *buffer, size_t size, const char *text)
{
    snprintf(buffer, size, "%s", text ? text : "");
}

/* The innermost function (or inlined function) at address in the DWARF, and
 * what it is inlined into. */
static void locate_function(Dwfl_Module *module, uint64_t lookup, struct report_location *location)
{
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(module, lookup, &bias);
    if (!cu)
        return;
    Dwarf_Die *scopes = NULL;
    int count = dwarf_getscopes(cu, lookup - bias, &scopes);
    bool found = false;
    for (int i = 0; i < count; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine)
            continue;
        const char *name = dwarf_diename(&scopes[i]);
        if (!name)
            continue;
        if (!found) {
            copy_string(location->function, sizeof(location->function), name);
            found = true;
            if (tag == DW_TAG_subprogram)
                break;
        } else {
            copy_string(location->caller, sizeof(location->caller), name);
            break;
        }
    }
    free(scopes);
}

static void locate_line(Dwfl_Module *module, uint64_t lookup, struct report_location *location)
{
    locate_function(module, lookup, location);
    Dwfl_Line *line = dwfl_module_getsrc(module, lookup);
    if (line) {
        int line_number = 0;
        const char *file = dwfl_lineinfo(line, NULL, &line_number, NULL, NULL, NULL);
        copy_string(location->file, sizeof(location->file), file);
        location->line = line_number;
    }
}

/* An address in a library ld.so mapped: its file, load bias and symbol
 * (from .symtab or .dynsym, and DWARF where a debug file is found). */
static void locate_in_shared_object(struct report_debuginfo *debuginfo, uint64_t address,
                                    uint64_t lookup, struct report_location *location)
{
    Dwfl_Module *module = debuginfo->dwfl ? dwfl_addrmodule(debuginfo->dwfl, lookup) : NULL;
    const char *path = NULL;
    Dwarf_Addr start = 0;
    if (!module || !dwfl_module_info(module, NULL, &start, NULL, NULL, NULL, &path, NULL) ||
        !path || strcmp(path, debuginfo->guest->program.path) == 0)
        return;
    Dwarf_Addr bias = 0;
    dwfl_module_getelf(module, &bias);
    location->image = path;
    location->shared_object = true;
    location->bias = bias;
    GElf_Off offset = 0;
    GElf_Sym symbol;
    const char *name = dwfl_module_addrinfo(module, lookup, &offset, &symbol, NULL, NULL, NULL);
    if (name) {
        location->symbol = name;
        location->offset = offset + (address - lookup);
    }
    locate_line(module, lookup, location);
}

void report_locate(struct report_debuginfo *debuginfo, uint64_t address, uint64_t lookup,
                   struct report_location *location)
{
    memset(location, 0, sizeof(*location));
    struct guest *guest = debuginfo->guest;
    location->in_kernel = is_kernel_address(debuginfo->guest, address);
    const struct elf_image *image = location->in_kernel ? &guest->kernel : &guest->program;
    if (!location->in_kernel && (lookup < image->start || lookup >= image->end)) {
        locate_in_shared_object(debuginfo, address, lookup, location);
        return; /* else neither: the stack, the heap, nothing */
    }
    location->image = image->path;
    const struct elf_symbol *symbol = elf_image_symbolize(image, lookup, &location->offset);
    if (symbol) {
        location->symbol = symbol->name;
        location->offset = address - symbol->address;
    }
    if (!debuginfo->dwfl)
        return;
    Dwfl_Module *module = dwfl_addrmodule(debuginfo->dwfl, lookup);
    if (module)
        locate_line(module, lookup, location);
}

void report_location_short(const struct report_location *location, char *buffer, size_t size)
{
    const char *function = location->function[0] ? location->function : location->symbol;
    char where[300] = "";
    if (location->file[0]) {
        const char *base = strrchr(location->file, '/');
        snprintf(where, sizeof(where), " (%s:%d)", base ? base + 1 : location->file,
                 location->line);
    }
    if (function && location->function[0])
        snprintf(buffer, size, "%s%s", function, where);
    else if (function && location->offset)
        snprintf(buffer, size, "%s+%#" PRIx64 "%s", function, location->offset, where);
    else if (function)
        snprintf(buffer, size, "%s%s", function, where);
    else
        snprintf(buffer, size, "??%s", where);
    if (location->shared_object) {
        const char *base = strrchr(location->image, '/');
        size_t used = strlen(buffer);
        snprintf(buffer + used, size - used, " from %s", base ? base + 1 : location->image);
    }
}

/* ---- unwinding ----------------------------------------------------------- */

struct unwind {
    struct guest *guest;
    Dwarf_Word registers[DWARF_REG_COUNT];
    GArray *frames; /* struct report_frame */
    uint64_t previous_sp;
    bool gave_up; /* a frame whose sp did not move up: corrupt stack */
};

static pid_t unwind_next_thread(Dwfl *dwfl, void *arg, void **thread_arg)
{
    (void)dwfl;
    if (*thread_arg)
        return 0;
    *thread_arg = arg;
    return 1;
}

static bool unwind_memory_read(Dwfl *dwfl, Dwarf_Addr address, Dwarf_Word *result, void *arg)
{
    (void)dwfl;
    struct unwind *unwind = arg;
    return guest_read(unwind->guest->memory, address, result, sizeof(*result),
                      GUEST_ACCESS_DEBUG) == 0;
}

static bool unwind_initial_registers(Dwfl_Thread *thread, void *arg)
{
    struct unwind *unwind = arg;
    return dwfl_thread_state_registers(thread, 0, DWARF_REG_COUNT, unwind->registers);
}

static const Dwfl_Thread_Callbacks unwind_callbacks = {
    .next_thread = unwind_next_thread,
    .memory_read = unwind_memory_read,
    .set_initial_registers = unwind_initial_registers,
};

static void add_frame(GArray *frames, uint64_t pc, bool is_return_address, bool from_scan)
{
    struct report_frame frame = {pc, is_return_address, from_scan};
    g_array_append_val(frames, frame);
}

static int on_unwound_frame(Dwfl_Frame *state, void *arg)
{
    struct unwind *unwind = arg;
    Dwarf_Addr pc;
    bool is_activation = false;
    if (!dwfl_frame_pc(state, &pc, &is_activation) || pc == 0)
        return DWARF_CB_ABORT;
    Dwarf_Word sp = 0;
    if (dwfl_frame_reg(state, DWARF_REG_RSP, &sp) == 0) {
        /* Each caller's frame lies above its callee's: anything else is a
         * corrupt stack, and following it could loop. */
        if (unwind->frames->len > 0 && sp <= unwind->previous_sp) {
            unwind->gave_up = true;
            return DWARF_CB_ABORT;
        }
        unwind->previous_sp = sp;
    }
    add_frame(unwind->frames, pc, !is_activation, false);
    return unwind->frames->len >= MAX_UNWOUND_FRAMES ? DWARF_CB_ABORT : DWARF_CB_OK;
}

/* Unwinds with libdw from registers; appends to frames. */
static void unwind_with_dwfl(struct report_debuginfo *debuginfo, struct unwind *unwind)
{
    if (!debuginfo->dwfl)
        return;
    /* A Dwfl takes one attached state for its lifetime: use a fresh one over
     * the same modules for each unwind. */
    Dwfl *dwfl = dwfl_begin(&offline_callbacks);
    if (!dwfl)
        return;
    report_modules(dwfl, debuginfo->guest);
    if (dwfl_attach_state(dwfl, NULL, 1, &unwind_callbacks, unwind))
        dwfl_getthread_frames(dwfl, 1, on_unwound_frame, unwind);
    dwfl_end(dwfl);
}

/* Whether address lies in executable program (or kernel) code. */
static bool is_code_address(struct guest *guest, uint64_t address)
{
    const struct guest_region *region = guest_region_lookup(guest->memory, address);
    return region && (region->prot & GUEST_PROT_EXEC) &&
           (region->kind == GUEST_REGION_PROGRAM || region->kind == GUEST_REGION_KERNEL ||
            region->kind == GUEST_REGION_MMAP);
}

static bool read_word(struct guest *guest, uint64_t address, uint64_t *value)
{
    return guest_read(guest->memory, address, value, sizeof(*value), GUEST_ACCESS_DEBUG) == 0;
}

/* The classic rbp chain: [rbp] is the caller's rbp, [rbp + 8] the return
 * address. Followed only while it climbs the stack and lands in code. */
static void unwind_frame_pointers(struct guest *guest, uint64_t rbp, uint64_t rsp, GArray *frames)
{
    uint64_t low = rsp, high = guest->stack_top;
    for (int i = 0; i < MAX_FRAME_POINTER_FRAMES; i++) {
        if (rbp < low || rbp >= high - 16 || (rbp & 7))
            return;
        uint64_t next_rbp, return_address;
        if (!read_word(guest, rbp, &next_rbp) || !read_word(guest, rbp + 8, &return_address))
            return;
        if (!is_code_address(guest, return_address) || !report_follows_call(guest, return_address))
            return;
        add_frame(frames, return_address, true, false);
        if (next_rbp <= rbp)
            return;
        low = rbp + 16;
        rbp = next_rbp;
    }
}

/* The last resort: words on the stack that point right after a call
 * instruction in code are probably return addresses. */
static void scan_stack(struct guest *guest, uint64_t rsp, GArray *frames)
{
    uint64_t end = rsp + MAX_SCANNED_BYTES;
    if (end > guest->stack_top || end < rsp)
        end = guest->stack_top;
    int found = 0;
    for (uint64_t address = rsp & ~7ULL; address + 8 <= end && found < MAX_SCANNED_FRAMES;
         address += 8) {
        uint64_t value;
        if (!read_word(guest, address, &value)) {
            /* Skip to the next page: this one is not readable. */
            address = (address | (GUEST_PAGE_SIZE - 1)) - 7;
            continue;
        }
        if (is_code_address(guest, value) && report_follows_call(guest, value)) {
            add_frame(frames, value, true, true);
            found++;
        }
    }
}

static void load_registers(struct unwind *unwind, const struct cpu_state *s, uint64_t pc,
                           uint64_t rsp)
{
    Dwarf_Word registers[DWARF_REG_COUNT] = {
        s->rax, s->rdx, s->rcx, s->rbx, s->rsi, s->rdi, s->rbp, rsp, s->r8,
        s->r9,  s->r10, s->r11, s->r12, s->r13, s->r14, s->r15, pc,
    };
    memcpy(unwind->registers, registers, sizeof(registers));
}

/* All frames of the program's stack at state, outermost last. */
static GArray *collect_frames(struct report_debuginfo *debuginfo, struct guest *guest,
                              const struct cpu_state *state, bool fault_is_trap)
{
    struct unwind unwind = {.guest = guest};
    unwind.frames = g_array_new(FALSE, FALSE, sizeof(struct report_frame));
    uint64_t pc = state->rip, rsp = state->rsp;
    if (!is_code_address(guest, pc)) {
        /* A call or jump to something that is not code (a NULL or stale
         * function pointer): the caller's return address is at [rsp] if it
         * was a call. Unwind from there. */
        add_frame(unwind.frames, pc, false, false);
        uint64_t return_address;
        if (!read_word(guest, rsp, &return_address) || !is_code_address(guest, return_address) ||
            !report_follows_call(guest, return_address)) {
            scan_stack(guest, rsp, unwind.frames);
            return unwind.frames;
        }
        pc = return_address;
        rsp += 8;
        /* dwfl would treat the first pc as an activation; say it is not. */
        load_registers(&unwind, state, pc, rsp);
        GArray *rest = g_array_new(FALSE, FALSE, sizeof(struct report_frame));
        GArray *all = unwind.frames;
        unwind.frames = rest;
        unwind_with_dwfl(debuginfo, &unwind);
        if (rest->len == 0)
            add_frame(rest, pc, true, false);
        g_array_index(rest, struct report_frame, 0).is_return_address = true;
        g_array_append_vals(all, rest->data, rest->len);
        g_array_free(rest, TRUE);
        return all;
    }
    load_registers(&unwind, state, pc, rsp);
    unwind_with_dwfl(debuginfo, &unwind);
    if (unwind.frames->len == 0)
        add_frame(unwind.frames, pc, false, false);
    /* A trap's rip is past the instruction: look its line up like a return
     * address's. */
    if (fault_is_trap)
        g_array_index(unwind.frames, struct report_frame, 0).is_return_address = true;
    if (unwind.frames->len < 2) {
        unwind_frame_pointers(guest, state->rbp, rsp, unwind.frames);
        if (unwind.frames->len < 2)
            scan_stack(guest, rsp, unwind.frames);
    }
    return unwind.frames;
}

size_t report_backtrace(struct report_debuginfo *debuginfo, struct guest *guest,
                        const struct cpu_state *state, bool fault_is_trap,
                        struct report_frame *frames, size_t max_frames)
{
    GArray *all = collect_frames(debuginfo, guest, state, fault_is_trap);
    size_t count = all->len;
    size_t copied = MIN(count, max_frames);
    memcpy(frames, all->data, copied * sizeof(*frames));
    g_array_free(all, TRUE);
    return count;
}

static void print_frame(FILE *out, struct report_debuginfo *debuginfo, size_t index,
                        const struct report_frame *frame)
{
    struct report_location location;
    report_locate(debuginfo, frame->pc, frame->is_return_address ? frame->pc - 1 : frame->pc,
                  &location);
    const char *function = location.function[0] ? location.function : location.symbol;
    fprintf(out, "    #%-3zu 0x%016" PRIx64 " in %s", index, frame->pc, function ? function : "??");
    if (location.caller[0])
        fprintf(out, " (inlined into %s)", location.caller);
    if (location.file[0])
        fprintf(out, " at %s:%d", location.file, location.line);
    else if (!location.image)
        fprintf(out, " (not in the program)");
    if (location.shared_object)
        fprintf(out, " from %s", location.image);
    if (location.in_kernel)
        fprintf(out, " [guest kernel]");
    if (frame->from_scan)
        fprintf(out, " [found on the stack]");
    fputc('\n', out);
}

void report_print_backtrace(FILE *out, struct report_debuginfo *debuginfo, struct guest *guest,
                            const struct cpu_state *state, bool fault_is_trap)
{
    GArray *frames = collect_frames(debuginfo, guest, state, fault_is_trap);
    size_t count = frames->len;
    bool scanned = false;
    for (size_t i = 0; i < count; i++) {
        if (count > SHOWN_FIRST_FRAMES + SHOWN_LAST_FRAMES && i == SHOWN_FIRST_FRAMES) {
            size_t hidden = count - SHOWN_FIRST_FRAMES - SHOWN_LAST_FRAMES;
            struct report_location location;
            const struct report_frame *next = &g_array_index(frames, struct report_frame, i);
            report_locate(debuginfo, next->pc, next->pc - 1, &location);
            const char *function = location.function[0] ? location.function : location.symbol;
            fprintf(out, "    ... %zu more frames (%s%s) ...\n", hidden,
                    function ? "the next is " : "", function ? function : "not shown");
            i = count - SHOWN_LAST_FRAMES;
        }
        const struct report_frame *frame = &g_array_index(frames, struct report_frame, i);
        scanned |= frame->from_scan;
        print_frame(out, debuginfo, i, frame);
    }
    if (count >= MAX_UNWOUND_FRAMES)
        fprintf(out, "    (stopped after %d frames)\n", MAX_UNWOUND_FRAMES);
    if (scanned)
        fprintf(out, "    (frames marked [found on the stack] are return addresses found by "
                     "scanning the stack: probable, not certain)\n");
    g_array_free(frames, TRUE);
}
