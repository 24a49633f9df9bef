/*
 * linux/mm.c — the program's address space: brk, mmap, munmap, mprotect,
 * mremap, madvise, on top of memory/'s map.
 *
 * File mappings are the host's mappings of the file behind the guest's
 * frames (guest_map_file): MAP_SHARED writes reach the file and other
 * processes at once, MAP_PRIVATE pages are the file's until written, as
 * on Linux.
 */
#include "linux/internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Linux's vm.mmap_min_addr: nothing may be mapped below it. */
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif

#define MMAP_MIN_ADDRESS 0x10000ULL

static uint64_t page_round_up(uint64_t value)
{
    return (value + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
}

/* A length rounded up to pages; false on overflow or beyond user space. */
static bool page_length(uint64_t len, uint64_t *rounded)
{
    if (len > GUEST_USER_TOP)
        return false;
    *rounded = page_round_up(len);
    return true;
}

static bool in_user_space(uint64_t start, uint64_t len)
{
    return start <= GUEST_USER_TOP && len <= GUEST_USER_TOP - start;
}

static int guest_prot_from_linux(uint64_t prot)
{
    int guest = 0;
    if (prot & PROT_READ)
        guest |= GUEST_PROT_READ;
    if (prot & PROT_WRITE)
        guest |= GUEST_PROT_WRITE;
    if (prot & PROT_EXEC)
        guest |= GUEST_PROT_EXEC;
    return guest ? guest | GUEST_PROT_USER : GUEST_PROT_NONE;
}

/* ---- regions --------------------------------------------------------------- */

struct region_query {
    uint64_t start, end;
    GArray *found; /* copies of the regions overlapping [start, end) */
};

static bool collect_region(const struct guest_region *region, void *opaque)
{
    struct region_query *query = opaque;
    if (region->start >= query->end)
        return false;
    if (region->end > query->start)
        g_array_append_val(query->found, *region);
    return true;
}

/* The regions overlapping [start, end), in address order (g_array_free it). */
static GArray *regions_in(const struct linux_process *process, uint64_t start, uint64_t end)
{
    struct region_query query = {start, end,
                                 g_array_new(false, false, sizeof(struct guest_region))};
    guest_region_foreach_from(process->memory, start, collect_region, &query);
    return query.found;
}

/* Whether regions cover all of [start, end). */
static bool fully_covered(const struct linux_process *process, uint64_t start, uint64_t end)
{
    GArray *regions = regions_in(process, start, end);
    uint64_t cursor = start;
    for (guint i = 0; i < regions->len && cursor < end; i++) {
        const struct guest_region *region = &g_array_index(regions, struct guest_region, i);
        if (region->start > cursor)
            break;
        cursor = MAX(cursor, region->end);
    }
    g_array_free(regions, true);
    return cursor >= end;
}

/* The guest kernel, device pages and the first pages of memory are not the
 * program's to unmap or replace. */
static bool touches_protected(const struct linux_process *process, uint64_t start, uint64_t end)
{
    if (start < MMAP_MIN_ADDRESS)
        return true;
    GArray *regions = regions_in(process, start, end);
    bool protected_found = false;
    for (guint i = 0; i < regions->len; i++) {
        enum guest_region_kind kind = g_array_index(regions, struct guest_region, i).kind;
        if (kind == GUEST_REGION_KERNEL || kind == GUEST_REGION_DEVICE)
            protected_found = true;
    }
    g_array_free(regions, true);
    return protected_found;
}

/* Whether the program's own mappings cover all of [start, end): the guest
 * kernel's pages are not in its address space as Linux would show it. */
static bool program_covers(const struct linux_process *process, uint64_t start, uint64_t end)
{
    return fully_covered(process, start, end) && !touches_protected(process, start, end);
}

static bool range_free(const struct linux_process *process, uint64_t start, uint64_t len)
{
    uint64_t found;
    return in_user_space(start, len) &&
           guest_find_free(process->memory, len, start, start + len, false, &found) &&
           found == start;
}

long linux_mm_place(struct linux_process *process, uint64_t address, uint64_t len, bool replace,
                    uint64_t *start)
{
    if (!address)
        return guest_find_free(process->memory, len, process->config.mmap_low,
                               process->config.mmap_high, true, start)
                   ? 0
                   : -ENOMEM;
    if (!in_user_space(address, len) || touches_protected(process, address, address + len))
        return -EINVAL;
    if (replace) {
        int unmapped = guest_unmap(process->memory, address, len);
        if (unmapped != 0)
            return unmapped;
    } else if (!range_free(process, address, len)) {
        return -EINVAL;
    }
    *start = address;
    return 0;
}

/* The host's vm.overcommit_memory, read once: 1 never refuses. */
static int host_overcommit_mode(void)
{
    static int mode = -1;
    if (mode < 0) {
        gchar *text = NULL;
        mode = g_file_get_contents("/proc/sys/vm/overcommit_memory", &text, NULL, NULL)
                   ? (int)g_ascii_strtoll(text, NULL, 10)
                   : 0;
        g_free(text);
    }
    return mode;
}

/*
 * Linux's overcommit heuristic (vm.overcommit_memory 0, the default):
 * only a private writable mapping without MAP_NORESERVE is accounted, and
 * it is refused only when it alone is larger than all of RAM and swap. The
 * program's machine is the guest: its RAM is -m's (sysinfo and
 * /proc/meminfo say so too) and it has no swap, so a mapping the guest
 * could never back fails with ENOMEM (malloc returns NULL), rather than
 * succeeding as on the host and ending the program at its first touch past
 * the guest's RAM. PROT_NONE and read-only reservations always succeed, and
 * so do many large writable ones that add up to more than RAM. With the
 * host's mode 1 nothing is refused; mode 2's strict accounting is not
 * modelled (the heuristic applies).
 */
static bool overcommit_refuses(const struct linux_process *process, uint64_t prot, uint64_t flags,
                               uint64_t len)
{
    if (!(prot & PROT_WRITE) || (flags & MAP_NORESERVE) || host_overcommit_mode() == 1)
        return false;
    uint64_t ram = guest_memory_ram_size(process->memory);
    if (len <= ram)
        return false;
    if (process->config.verbose)
        fprintf(stderr,
                "hermitux-run: a writable mapping of %" PRIu64 " MiB is more than the guest's "
                "memory (%" PRIu64 " MiB): ENOMEM, as Linux's overcommit heuristic; give more "
                "with -m SIZE (--memory)\n",
                len >> 20, ram >> 20);
    return true;
}

void linux_mm_init(struct linux_process *process)
{
    process->brk_start = process->brk = process->brk_mapped = process->config.brk_start;
    /* Read now: the monitor may be sandboxed later. */
    host_overcommit_mode();
}

/* ---- brk --------------------------------------------------------------------- */

/* RLIMIT_AS: the program's address space may not grow past its limit
 * (ENOMEM, as Linux's may_expand_vm; `ulimit -v`). Summed only under a
 * finite limit, the rare case. */
static bool beyond_address_space_limit(struct linux_process *process, uint64_t growth)
{
    rlim_t limit = process->limits[RLIMIT_AS].rlim_cur;
    if (limit == RLIM_INFINITY || growth == 0)
        return false;
    uint64_t size = linux_proc_address_space(process);
    return size > limit || growth > limit - size;
}

static long sys_brk(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t wanted = args[0];
    /* Linux answers every failure with the unchanged break. */
    if (wanted < process->brk_start || wanted > GUEST_USER_TOP)
        return (long)process->brk;
    uint64_t mapped = page_round_up(wanted);
    if (mapped > process->brk_mapped) {
        /* Linux accounts a growing break as a private writable mapping. */
        if (beyond_address_space_limit(process, mapped - process->brk_mapped) ||
            overcommit_refuses(process, PROT_WRITE, 0, mapped - process->brk_mapped) ||
            guest_map_anonymous(process->memory, process->brk_mapped, mapped - process->brk_mapped,
                                GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_USER,
                                GUEST_REGION_HEAP, "[heap]") != 0)
            return (long)process->brk;
    } else if (mapped < process->brk_mapped) {
        guest_unmap(process->memory, mapped, process->brk_mapped - mapped);
    }
    process->brk = wanted;
    process->brk_mapped = mapped;
    return (long)process->brk;
}

/* ---- mmap -------------------------------------------------------------------- */

static void file_name(int host_fd, char *name, size_t size)
{
    char link[64], target[LINUX_PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", host_fd);
    ssize_t len = readlink(link, target, sizeof(target) - 1);
    target[len > 0 ? len : 0] = '\0';
    const char *slash = strrchr(target, '/');
    g_strlcpy(name, slash ? slash + 1 : target, size);
}

/* MAP_SHARED|MAP_ANONYMOUS: the pages stay shared with the children a fork
 * makes (host processes), so they are a shared mapping of a memfd, as
 * Linux backs them with shmem. */
static long map_shared_anonymous(struct linux_process *process, uint64_t start, uint64_t len,
                                 int guest_prot)
{
    int memfd = memfd_create("[anon_shared]", MFD_CLOEXEC);
    if (memfd < 0)
        return linux_host_error();
    long result = ftruncate(memfd, (off_t)len) == 0
                      ? guest_map_file(process->memory, start, len, guest_prot, GUEST_REGION_MMAP,
                                       "", memfd, 0, len, true)
                      : linux_host_error();
    close(memfd);
    return result ? result : (long)start;
}

/*
 * Where the guest really runs out: Linux's page fault finds no memory and
 * its OOM killer ends a process with SIGKILL (it picks the largest; the
 * guest holds one program, so the one touching the memory). Linux writes
 * that in its kernel log; here it is said on stderr, once, with what raises
 * the limit: the guest's RAM is the monitor's cap (-m), not the host's.
 */
static void out_of_memory(struct linux_thread *thread, uint64_t fault_address)
{
    static atomic_flag said = ATOMIC_FLAG_INIT;
    struct linux_process *process = thread->process;
    if (!atomic_flag_test_and_set(&said))
        fprintf(stderr,
                "hermitux-run: out of memory: guest RAM (%" PRIu64 " MiB) is all in use at a "
                "first touch of %#" PRIx64 "; killed process %d (%s) with SIGKILL, as Linux's "
                "OOM killer; give more with -m SIZE (--memory)\n",
                guest_memory_ram_size(process->memory) >> 20, fault_address, linux_pid(),
                thread->comm);
    struct linux_siginfo info = {.signo = SIGKILL, .code = 0x80 /* SI_KERNEL */};
    linux_signal_send(process, NULL, &info);
}

bool linux_mm_first_touch(struct linux_thread *thread, unsigned vector, uint64_t error_code,
                          uint64_t fault_address)
{
    /* Error code bits: 0 present, 1 write, 4 instruction fetch. */
    if (vector != 14 || (error_code & 1))
        return false;
    enum guest_touch touch = guest_fault_first_touch(thread->process->memory, fault_address,
                                                     error_code & 2, error_code & 16);
    if (touch == GUEST_TOUCH_NO_MEMORY)
        out_of_memory(thread, fault_address);
    return touch != GUEST_TOUCH_NOT_LAZY;
}

static long sys_mmap(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t address = args[0], prot = args[2], flags = args[3], offset = args[5];
    uint64_t len;
    if (args[1] == 0 || (offset & ~GUEST_PAGE_MASK))
        return -EINVAL;
    if (!page_length(args[1], &len))
        return -ENOMEM;
    int type = (int)(flags & MAP_TYPE);
    if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
        return -EINVAL;
    if (prot & ~(uint64_t)(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM))
        return -EINVAL;
    bool anonymous = flags & MAP_ANONYMOUS;
    int host_fd = -1;
    struct stat st;
    if (!anonymous) {
        host_fd = linux_fd_host(process, args[4]);
        if (host_fd < 0)
            return -EBADF;
        if (fstat(host_fd, &st) != 0)
            return linux_host_error();
        if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 5) {
            anonymous = true; /* /dev/zero */
        } else if (!S_ISREG(st.st_mode)) {
            return -ENODEV;
        }
    }
    if (!anonymous) {
        int status_flags = fcntl(host_fd, F_GETFL);
        int access_mode = status_flags & O_ACCMODE;
        if (access_mode == O_WRONLY)
            return -EACCES;
        /* A shared writable mapping writes the file: the fd must allow it. */
        if (type != MAP_PRIVATE && (prot & PROT_WRITE) &&
            (access_mode != O_RDWR || (status_flags & O_APPEND)))
            return -EACCES;
        if (offset + len < offset)
            return -EOVERFLOW;
    }

    /* A MAP_FIXED mapping may replace pages already counted: not checked. */
    if (!(flags & MAP_FIXED) && beyond_address_space_limit(process, len))
        return -ENOMEM;
    uint64_t start;
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (address & ~GUEST_PAGE_MASK)
            return -EINVAL;
        if (!in_user_space(address, len))
            return -ENOMEM;
        if (touches_protected(process, address, address + len))
            return -EPERM;
        if (flags & MAP_FIXED) {
            /* At the mapping limit a hole inside a mapping is refused. */
            int unmapped = guest_unmap(process->memory, address, len);
            if (unmapped != 0)
                return unmapped;
        } else if (!range_free(process, address, len)) {
            return -EEXIST;
        }
        start = address;
    } else {
        uint64_t hint = address & GUEST_PAGE_MASK;
        if (hint && in_user_space(hint, len) && !touches_protected(process, hint, hint + len) &&
            range_free(process, hint, len)) {
            start = hint;
        } else if (!guest_find_free(process->memory, len, process->config.mmap_low,
                                    process->config.mmap_high, true, &start)) {
            return -ENOMEM;
        }
    }

    /* Private anonymous memory costs no frames until touched (memory/
     * backs each page at its first touch), so large reservations are free;
     * Linux's overcommit check is all that can refuse them. */
    int guest_prot = guest_prot_from_linux(prot);
    int result;
    if (anonymous && type == MAP_PRIVATE) {
        if (overcommit_refuses(process, prot, flags, len))
            return -ENOMEM;
        result =
            guest_map_anonymous(process->memory, start, len, guest_prot, GUEST_REGION_MMAP, "");
        /* Linux prefaults these, and a failure there does not fail mmap. */
        if (result == 0 && (flags & (MAP_POPULATE | MAP_LOCKED)) && guest_prot != GUEST_PROT_NONE)
            guest_populate(process->memory, start, len);
        return result ? result : (long)start;
    }
    if (anonymous)
        return map_shared_anonymous(process, start, len, guest_prot);

    char name[32];
    file_name(host_fd, name, sizeof(name));
    result = guest_map_file(process->memory, start, len, guest_prot, GUEST_REGION_MMAP, name,
                            host_fd, offset, (uint64_t)st.st_size, type != MAP_PRIVATE);
    char host_path[LINUX_PATH_MAX];
    if (result == 0 && linux_host_fd_path(host_fd, host_path, sizeof(host_path)) > 0)
        linux_note_mapped_file(process, host_fd, host_path);
    return result ? result : (long)start;
}

void linux_mm_file_truncated(struct linux_process *process, int host_fd, const char *host_path)
{
    struct stat st;
    if ((host_fd >= 0 ? fstat(host_fd, &st) : stat(host_path, &st)) != 0 || !S_ISREG(st.st_mode))
        return;
    guest_file_resized(process->memory, st.st_dev, st.st_ino, (uint64_t)st.st_size);
}

void linux_mm_file_opened_truncating(struct linux_process *process, int host_fd)
{
    g_mutex_lock(&process->mm_lock);
    linux_mm_file_truncated(process, host_fd, NULL);
    g_mutex_unlock(&process->mm_lock);
}

static long sys_munmap(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t start = args[0], len;
    if ((start & ~GUEST_PAGE_MASK) || args[1] == 0 || !page_length(args[1], &len) ||
        !in_user_space(start, len))
        return -EINVAL;
    if (touches_protected(process, start, start + len))
        return -EINVAL;
    return guest_unmap(process->memory, start, len);
}

static long sys_mprotect(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t start = args[0], len, prot = args[2];
    if (start & ~GUEST_PAGE_MASK)
        return -EINVAL;
    if (prot &
        ~(uint64_t)(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP))
        return -EINVAL;
    if (!page_length(args[1], &len) || !in_user_space(start, len))
        return -ENOMEM;
    if (len == 0)
        return 0;
    uint64_t end = start + len;
    if (!fully_covered(process, start, end) || touches_protected(process, start, end))
        return -ENOMEM;
    return guest_protect(process->memory, start, len, guest_prot_from_linux(prot));
}

/* The pages mremap adds after the mapping that ends at after: for a file
 * mapping (MAP_SHARED|MAP_ANONYMOUS included: a memfd) the file's next
 * pages, past-EOF ones raising SIGBUS, as Linux grows the mapping; zeros
 * for anonymous memory. */
static int map_growth(struct linux_process *process, uint64_t after, uint64_t start, uint64_t len,
                      int prot, enum guest_region_kind kind, const char *name)
{
    int result = guest_map_file_after(process->memory, after, start, len);
    if (result != -EINVAL)
        return result;
    return guest_map_anonymous(process->memory, start, len, prot, kind, name);
}

static long sys_mremap(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t old_start = args[0], flags = args[3], new_address = args[4];
    uint64_t old_len, new_len;
    if (old_start & ~GUEST_PAGE_MASK)
        return -EINVAL;
    if (flags & ~(uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
        return -EINVAL;
    if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && !(flags & MREMAP_MAYMOVE))
        return -EINVAL;
    if (!page_length(args[1], &old_len) || !page_length(args[2], &new_len))
        return -ENOMEM;
    /* old_len 0 duplicates a shared mapping; there are none here. */
    if (new_len == 0 || old_len == 0)
        return -EINVAL;
    if ((flags & MREMAP_DONTUNMAP) && old_len != new_len)
        return -EINVAL;
    if (!in_user_space(old_start, old_len))
        return -EFAULT;
    uint64_t old_end = old_start + old_len;
    if (!fully_covered(process, old_start, old_end) ||
        touches_protected(process, old_start, old_end))
        return -EFAULT;
    if (new_len > old_len && beyond_address_space_limit(process, new_len - old_len))
        return -ENOMEM;

    /* Growth takes the protection and name of the mapping's last page (and
     * for a file mapping, its file: map_growth). */
    const struct guest_region *last = guest_region_lookup(process->memory, old_end - 1);
    int prot = last->prot;
    enum guest_region_kind kind = last->kind;
    char name[sizeof(last->name)];
    g_strlcpy(name, last->name, sizeof(name));

    uint64_t target;
    if (flags & MREMAP_FIXED) {
        target = new_address;
        if ((target & ~GUEST_PAGE_MASK) || !in_user_space(target, new_len))
            return -EINVAL;
        if (target < old_end && old_start < target + new_len)
            return -EINVAL;
        if (touches_protected(process, target, target + new_len))
            return -EINVAL;
        guest_unmap(process->memory, target, new_len);
    } else if (new_len <= old_len && !(flags & MREMAP_DONTUNMAP)) {
        if (new_len < old_len)
            guest_unmap(process->memory, old_start + new_len, old_len - new_len);
        return (long)old_start;
    } else if (!(flags & MREMAP_DONTUNMAP) && range_free(process, old_end, new_len - old_len) &&
               map_growth(process, old_end, old_end, new_len - old_len, prot, kind, name) == 0) {
        return (long)old_start;
    } else if (!(flags & MREMAP_MAYMOVE)) {
        return -ENOMEM;
    } else if (!guest_find_free(process->memory, new_len, process->config.mmap_low,
                                process->config.mmap_high, true, &target)) {
        return -ENOMEM;
    }

    uint64_t kept = MIN(old_len, new_len);
    int result = guest_move(process->memory, old_start, kept, target);
    if (result)
        return result;
    if (new_len > kept) {
        result =
            map_growth(process, target + kept, target + kept, new_len - kept, prot, kind, name);
        if (result) {
            guest_move(process->memory, target, kept, old_start);
            return result;
        }
    }
    if (old_len > kept)
        guest_unmap(process->memory, old_start + kept, old_len - kept);
    if (flags & MREMAP_DONTUNMAP)
        guest_map_anonymous(process->memory, old_start, old_len, prot, kind, name);
    return (long)target;
}

static bool is_anonymous(const struct guest_region *region)
{
    return region->kind == GUEST_REGION_HEAP || region->kind == GUEST_REGION_STACK ||
           (region->kind == GUEST_REGION_MMAP && region->name[0] == '\0');
}

static long sys_madvise(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t start = args[0], len;
    int advice = (int)args[2];
    if ((start & ~GUEST_PAGE_MASK) || !page_length(args[1], &len) || !in_user_space(start, len))
        return -EINVAL;
    bool known = (advice >= MADV_NORMAL && advice <= MADV_DONTNEED) ||
                 (advice >= 8 && advice <= 25) || advice == 100 || advice == 101;
    if (!known)
        return -EINVAL;
    if (len == 0)
        return 0;
    uint64_t end = start + len;
    if (!fully_covered(process, start, end))
        return -ENOMEM;
    if (advice != MADV_DONTNEED)
        return 0;
    /* Anonymous memory reads back as zeros, as on Linux; a file mapping's
     * pages read the file again (a written private page loses its copy). */
    GArray *regions = regions_in(process, start, end);
    long result = 0;
    for (guint i = 0; i < regions->len && !result; i++) {
        const struct guest_region *region = &g_array_index(regions, struct guest_region, i);
        uint64_t from = MAX(region->start, start), to = MIN(region->end, end);
        if (region->prot == GUEST_PROT_NONE)
            continue;
        result = guest_discard_pages(process->memory, from, to - from, is_anonymous(region));
    }
    g_array_free(regions, true);
    return result;
}

static long sys_msync(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t len;
    uint64_t flags = args[2];
    if ((args[0] & ~GUEST_PAGE_MASK) || !page_length(args[1], &len) ||
        (flags & ~(uint64_t)(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
        ((flags & MS_ASYNC) && (flags & MS_SYNC)))
        return -EINVAL;
    if (len == 0)
        return 0;
    if (!in_user_space(args[0], len) || !fully_covered(process, args[0], args[0] + len))
        return -ENOMEM;
    /* The pages are the page cache's already; MS_SYNC also writes them out. */
    return guest_sync(process->memory, args[0], len, (flags & MS_SYNC) != 0);
}

/* Whether the guest page at gva has memory behind it: a frame in the
 * guest's tables (small mappings get theirs at mmap, others 2 MiB at a
 * time) that the host holds (guest RAM is a host mapping filled when first
 * written and handed back at MADV_DONTNEED). The host backs guest RAM with
 * 2 MiB pages where it can, so a page the program never touched counts as
 * resident when its neighbours are: as if the program had locked it, which
 * the answer is allowed to be (residency changes under the caller). */
static uint8_t page_resident(struct linux_process *process, uint64_t cr3, uint64_t gva)
{
    struct guest_walk walk;
    if (!guest_walk(process->memory, cr3, gva, &walk) ||
        walk.gpa >= guest_memory_ram_size(process->memory))
        return 0;
    uint8_t *host = (uint8_t *)guest_memory_host_base(process->memory) +
                    (walk.gpa & ~(uint64_t)(GUEST_PAGE_SIZE - 1));
    unsigned char resident = 0;
    return mincore(host, GUEST_PAGE_SIZE, &resident) == 0 ? (resident & 1) : 0;
}

/* mincore: pages of the range's mappings that are resident (above); the
 * errors are Linux's. */
static long sys_mincore(struct linux_thread *thread, const uint64_t *args)
{
    struct linux_process *process = thread->process;
    uint64_t start = args[0], len;
    if (start & ~GUEST_PAGE_MASK)
        return -EINVAL;
    if (!page_length(args[1], &len) || !in_user_space(start, len))
        return -ENOMEM;
    if (len == 0)
        return 0;
    if (!program_covers(process, start, start + len))
        return -ENOMEM;
    uint64_t cr3 = guest_memory_cr3(process->memory);
    uint8_t chunk[512];
    uint64_t pages = len / GUEST_PAGE_SIZE;
    for (uint64_t done = 0; done < pages;) {
        uint64_t count = MIN(pages - done, (uint64_t)sizeof(chunk));
        for (uint64_t i = 0; i < count; i++)
            chunk[i] = page_resident(process, cr3, start + (done + i) * GUEST_PAGE_SIZE);
        if (linux_copy_out(process, args[2] + done, chunk, (size_t)count))
            return -EFAULT;
        done += count;
    }
    return 0;
}

/*
 * mlock and friends: guest RAM never swaps out from under the program, so
 * locking changes nothing; what is left are Linux's answers to the range
 * (apply_vma_lock_flags): the range is widened to whole pages, wrapping
 * past the top is EINVAL, an empty one succeeds, a hole ENOMEM.
 */
static long lock_range(struct linux_process *process, uint64_t start, uint64_t len)
{
    uint64_t length = (len + (start & ~GUEST_PAGE_MASK) + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
    start &= GUEST_PAGE_MASK;
    uint64_t end = start + length;
    if (end < start)
        return -EINVAL;
    if (end == start)
        return 0;
    return program_covers(process, start, end) ? 0 : -ENOMEM;
}

static long sys_mlock(struct linux_thread *thread, const uint64_t *args)
{
    return lock_range(thread->process, args[0], args[1]);
}

static long sys_mlockall(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    uint64_t flags = args[0];
    if (!flags || (flags & ~(uint64_t)(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) ||
        flags == MCL_ONFAULT)
        return -EINVAL;
    return 0;
}

static long sys_munlockall(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    (void)args;
    return 0;
}

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
/* mlock2: mlock with MLOCK_ONFAULT, its one flag, allowed. */
static long sys_mlock2(struct linux_thread *thread, const uint64_t *args)
{
    if (args[2] & ~(uint64_t)MLOCK_ONFAULT)
        return -EINVAL;
    return sys_mlock(thread, args);
}

/*
 * Memory protection keys: the guest's page tables carry no keys, so the
 * program gets what Linux gives where none is free (ENOSPC, after the
 * argument checks Linux makes first); pkey_mprotect with no key (-1) is
 * mprotect, with any other (never allocated) EINVAL. glibc and V8 probe
 * pkey_alloc and go on without keys.
 */
static long sys_pkey_alloc(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    if (args[0] != 0 || (args[1] & ~(uint64_t)3) != 0)
        return -EINVAL;
    return -ENOSPC;
}

static long sys_pkey_free(struct linux_thread *thread, const uint64_t *args)
{
    (void)thread;
    (void)args;
    return -EINVAL;
}

static long sys_pkey_mprotect(struct linux_thread *thread, const uint64_t *args)
{
    if ((int32_t)args[3] != -1)
        return -EINVAL;
    return sys_mprotect(thread, args);
}

void linux_register_mm(linux_handler *table)
{
    table[SYS_pkey_alloc] = sys_pkey_alloc;
    table[SYS_pkey_free] = sys_pkey_free;
    table[SYS_pkey_mprotect] = sys_pkey_mprotect;
    table[SYS_brk] = sys_brk;
    table[SYS_mmap] = sys_mmap;
    table[SYS_munmap] = sys_munmap;
    table[SYS_mprotect] = sys_mprotect;
    table[SYS_mremap] = sys_mremap;
    table[SYS_madvise] = sys_madvise;
    table[SYS_msync] = sys_msync;
    table[SYS_mincore] = sys_mincore;
    table[SYS_mlock] = sys_mlock;
    table[SYS_munlock] = sys_mlock;
    table[SYS_mlock2] = sys_mlock2;
    table[SYS_mlockall] = sys_mlockall;
    table[SYS_munlockall] = sys_munlockall;
}
