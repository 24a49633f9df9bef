/*
 * memory/file_map.c — guest pages whose frames are a host file's pages.
 *
 * Guest RAM is one anonymous host mapping; a file mapping puts the file
 * (mmap MAP_FIXED) behind the frames its pages were given. The guest then
 * reaches the host's page cache directly: writes through a shared mapping
 * are the file's at once, as on Linux, and the monitor's own accesses
 * (syscalls, debugger) see the same bytes. frames.c puts anonymous memory
 * back when the frames are released.
 */
#include "memory/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <signal.h>

#include <glib.h>

/* ---- host bus errors --------------------------------------------------- */

/* A guarded copy in progress on this thread (file_copy), and the handler
 * of an accelerator that runs guest code on it (guest_memory_set_bus_handler). */
static __thread sigjmp_buf *volatile copy_guard; /* volatile: memcpy reads no variable */
static __thread guest_bus_handler bus_handler;

/*
 * The host raises SIGBUS for an access to a file's page that the file no
 * longer holds (cut short by this process or any other, at any time). In a
 * guarded copy that is a failed copy; in guest code run by an accelerator
 * its handler decides; anywhere else it stays fatal, as it was (the default
 * action, at the retried access). SA_NODEFER: both ways out are long jumps,
 * which restore no signal mask.
 */
static void on_host_sigbus(int signal_number, siginfo_t *info, void *context)
{
    if (copy_guard)
        siglongjmp(*copy_guard, 1);
    if (bus_handler)
        bus_handler(info, context);
    signal(signal_number, SIG_DFL);
}

static void catch_host_sigbus(void)
{
    static gsize done;
    if (!g_once_init_enter(&done))
        return;
    struct sigaction action = {.sa_sigaction = on_host_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER};
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, NULL);
    g_once_init_leave(&done, 1);
}

void guest_memory_set_bus_handler(guest_bus_handler handler)
{
    catch_host_sigbus();
    bus_handler = handler;
}

bool file_copy(void *to, const void *from, size_t len)
{
    sigjmp_buf guard;
    if (sigsetjmp(guard, 0)) {
        copy_guard = NULL;
        return false;
    }
    copy_guard = &guard;
    memcpy(to, from, len);
    copy_guard = NULL;
    return true;
}

/* Whether the file still holds a byte of the page at host (RAM). */
static bool file_page_readable(const void *host)
{
    char byte;
    return file_copy(&byte, host, 1);
}

/* The guest-physical frame behind the mapped page at gva, or false. */
static bool frame_of(struct guest_memory *memory, uint64_t gva, uint64_t *frame)
{
    uint64_t *slot;
    if (page_table_slot(memory, gva, false, &slot) != 0 || !(*slot & PTE_OWNED_FRAME))
        return false;
    *frame = (*slot & PTE_ADDRESS_MASK) / GUEST_PAGE_SIZE;
    return *frame < memory->frame_count;
}

/* Calls visit on every run of pages in [start, end) whose frames are
 * consecutive (and, with file_only, backed by a file). Stops at the first
 * non-zero result and returns it. */
static int for_each_frame_run(struct guest_memory *memory, uint64_t start, uint64_t end,
                              bool file_only,
                              int (*visit)(struct guest_memory *memory, uint64_t gva,
                                           uint64_t frame, uint64_t pages, void *opaque),
                              void *opaque)
{
    uint64_t run_gva = 0, run_frame = 0, run_pages = 0;
    for (uint64_t gva = start; gva <= end; gva += GUEST_PAGE_SIZE) {
        uint64_t frame = 0;
        bool usable = gva < end && frame_of(memory, gva, &frame) &&
                      (!file_only || frame_is_file(memory, frame));
        if (usable && run_pages && frame == run_frame + run_pages) {
            run_pages++;
            continue;
        }
        if (run_pages) {
            int result = visit(memory, run_gva, run_frame, run_pages, opaque);
            if (result != 0)
                return result;
        }
        run_pages = usable ? 1 : 0;
        run_gva = gva;
        run_frame = frame;
        if (gva == end)
            break;
    }
    return 0;
}

struct attach {
    uint64_t start;
    int host_fd;
    uint64_t offset;
    int flags;
};

static int attach_run(struct guest_memory *memory, uint64_t gva, uint64_t frame, uint64_t pages,
                      void *opaque)
{
    const struct attach *attach = opaque;
    void *host = memory->ram + frame * GUEST_PAGE_SIZE;
    if (mmap(host, pages * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE, attach->flags | MAP_FIXED,
             attach->host_fd, (off_t)(attach->offset + (gva - attach->start))) == MAP_FAILED) {
        int error = errno;
        /* The range may be partly replaced: anonymous memory back. */
        mmap(host, pages * GUEST_PAGE_SIZE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
        return -error;
    }
    frames_mark_file(memory, frame, pages);
    return 0;
}

/* The entry of a page past the end of its file: not present, so that
 * every access of the program faults (SIGBUS), with its frame, the bits
 * of its protection and PTE_OWNED_FRAME kept. */
static uint64_t pte_past_eof(uint64_t pte)
{
    return (pte_without_trap(pte) & ~PTE_PRESENT) | PTE_PAST_EOF;
}

/* Makes the pages of [start, end) past-EOF pages. Their frames stay the
 * host's mapping of the file (whose accesses the host now refuses too),
 * so that the page is the file's again whenever the file grows back over
 * it, by whoever makes it grow (guest_file_page_revive). True when a
 * present entry changed. */
static bool mark_past_eof(struct guest_memory *memory, uint64_t start, uint64_t end)
{
    bool narrowed = false;
    for (uint64_t gva = start; gva < end; gva += GUEST_PAGE_SIZE) {
        uint64_t *slot;
        if (page_table_slot(memory, gva, false, &slot) != 0 || *slot == 0 || (*slot & PTE_PAST_EOF))
            continue;
        narrowed = narrowed || (*slot & PTE_PRESENT);
        pte_store(slot, pte_past_eof(*slot));
    }
    return narrowed;
}

/* ---- the files mapped ---------------------------------------------------- */

/* An fd kept for a file that regions map. */
struct file_fd {
    uint64_t dev, ino;
    int fd;
    bool used; /* collect_file_fds */
};

static struct file_fd *file_fd_find(const struct guest_memory *memory, uint64_t dev, uint64_t ino)
{
    for (guint i = 0; memory->file_fds && i < memory->file_fds->len; i++) {
        struct file_fd *entry = &g_array_index(memory->file_fds, struct file_fd, i);
        if (entry->dev == dev && entry->ino == ino)
            return entry;
    }
    return NULL;
}

/* Closes the fds of files no region maps any more. */
static void collect_file_fds(struct guest_memory *memory)
{
    GArray *fds = memory->file_fds;
    for (guint i = 0; i < fds->len; i++)
        g_array_index(fds, struct file_fd, i).used = false;
    for (struct region_node *node = memory->region_first; node; node = node->next) {
        struct file_fd *entry = file_fd_find(memory, node->entry.file.dev, node->entry.file.ino);
        if (entry)
            entry->used = true;
    }
    for (guint i = fds->len; i-- > 0;) {
        struct file_fd *entry = &g_array_index(fds, struct file_fd, i);
        if (!entry->used) {
            close(entry->fd);
            g_array_remove_index_fast(fds, i);
        }
    }
    memory->file_fds_collect_at = 2 * fds->len + 16;
}

/* Keeps an fd for the file of host_fd (its own, with host_fd's access
 * mode; a writable one replaces a read-only one). Collections keep the
 * number of fds within twice the number of files mapped. */
static void keep_file_fd(struct guest_memory *memory, const struct stat *st, int host_fd,
                         bool writable)
{
    if (!memory->file_fds)
        memory->file_fds = g_array_new(false, false, sizeof(struct file_fd));
    struct file_fd *entry = file_fd_find(memory, st->st_dev, st->st_ino);
    if (entry && (!writable || (fcntl(entry->fd, F_GETFL) & O_ACCMODE) == O_RDWR))
        return;
    int fd = fcntl(host_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return; /* only mremap growth needs it, and fails without */
    if (entry) {
        close(entry->fd);
        entry->fd = fd;
        return;
    }
    if (memory->file_fds->len >= memory->file_fds_collect_at)
        collect_file_fds(memory);
    struct file_fd fresh = {st->st_dev, st->st_ino, fd, true};
    g_array_append_val(memory->file_fds, fresh);
}

void file_fds_close(struct guest_memory *memory)
{
    for (guint i = 0; memory->file_fds && i < memory->file_fds->len; i++)
        close(g_array_index(memory->file_fds, struct file_fd, i).fd);
    if (memory->file_fds)
        g_array_free(memory->file_fds, true);
    memory->file_fds = NULL;
}

int guest_map_file_after(struct guest_memory *memory, uint64_t after, uint64_t start, uint64_t len)
{
    MEMORY_LOCKED(memory);
    const struct region_node *node = regions_first_ending_after(memory, after - 1);
    if (!node || node->entry.region.start >= after || !node->entry.file.ino)
        return -EINVAL;
    const struct region_entry *entry = &node->entry;
    const struct file_fd *kept = file_fd_find(memory, entry->file.dev, entry->file.ino);
    struct stat st;
    if (!kept || fstat(kept->fd, &st) != 0)
        return -ENOMEM; /* cannot happen: the region keeps its file's fd */
    char name[sizeof(entry->region.name)];
    g_strlcpy(name, entry->region.name, sizeof(name));
    return guest_map_file(memory, start, len, entry->region.prot, entry->region.kind, name,
                          kept->fd, entry->file.offset + (after - entry->region.start),
                          (uint64_t)st.st_size, entry->file.map_flags == MAP_SHARED);
}

int guest_map_file(struct guest_memory *memory, uint64_t start, uint64_t len, int prot,
                   enum guest_region_kind kind, const char *name, int host_fd, uint64_t offset,
                   uint64_t file_size, bool shared)
{
    MEMORY_LOCKED(memory);
    struct stat st;
    if (fstat(host_fd, &st) != 0)
        return -errno;
    int access = fcntl(host_fd, F_GETFL);
    bool writable = access >= 0 && (access & O_ACCMODE) == O_RDWR;
    struct region_file file = {st.st_dev, st.st_ino, offset,
                               shared && writable ? MAP_SHARED : MAP_PRIVATE};
    catch_host_sigbus(); /* before any of the file's pages is the guest's */
    /* Present (readable) while the file goes in, so every page has its
     * frame; the final protection comes after. */
    int opened = prot | GUEST_PROT_READ | GUEST_PROT_USER;
    int result = map_fresh_frames(memory, start, len, opened, kind, name, &file);
    if (result != 0)
        return result;
    uint64_t file_pages = 0;
    if (offset < file_size)
        file_pages = (file_size - offset + GUEST_PAGE_SIZE - 1) / GUEST_PAGE_SIZE;
    uint64_t backed = MIN(len, file_pages * GUEST_PAGE_SIZE);
    /* Pages past the end are the file's too (the host maps past the end):
     * they become accessible when the file grows over them. */
    struct attach attach = {start, host_fd, offset, file.map_flags};
    result = for_each_frame_run(memory, start, start + len, false, attach_run, &attach);
    /* The guest has not run since these pages were mapped: no flush owed. */
    if (result == 0 && backed < len)
        mark_past_eof(memory, start + backed, start + len);
    if (result == 0 && opened != prot)
        result = guest_protect(memory, start, len, prot);
    if (result != 0)
        guest_unmap(memory, start, len);
    else
        keep_file_fd(memory, &st, host_fd, writable);
    return result;
}

/* A host mapping whose first byte is the guest's page at start. */
struct host_piece {
    uint64_t start;
    uint8_t *host;
};

/* Moves the piece of a host shared mapping for [gva, gva + pages) behind
 * the run's frames. */
static int move_run(struct guest_memory *memory, uint64_t gva, uint64_t frame, uint64_t pages,
                    void *opaque)
{
    const struct host_piece *piece = opaque;
    uint8_t *from = piece->host + (gva - piece->start);
    void *host = memory->ram + frame * GUEST_PAGE_SIZE;
    if (mremap(from, pages * GUEST_PAGE_SIZE, pages * GUEST_PAGE_SIZE,
               MREMAP_MAYMOVE | MREMAP_FIXED, host) == MAP_FAILED)
        return -errno;
    frames_mark_file(memory, frame, pages);
    return 0;
}

int guest_map_host_shared(struct guest_memory *memory, uint64_t start, uint64_t len, int prot,
                          enum guest_region_kind kind, const char *name, void *host, uint64_t dev,
                          uint64_t ino)
{
    MEMORY_LOCKED(memory);
    if ((uintptr_t)host % GUEST_PAGE_SIZE != 0 || len % GUEST_PAGE_SIZE != 0)
        return -EINVAL;
    struct region_file file = {dev, ino, 0, MAP_SHARED};
    int opened = prot | GUEST_PROT_READ | GUEST_PROT_USER;
    int result = map_fresh_frames(memory, start, len, opened, kind, name, &file);
    if (result != 0)
        return result;
    struct host_piece piece = {start, host};
    result = for_each_frame_run(memory, start, start + len, false, move_run, &piece);
    if (result == 0 && opened != prot)
        result = guest_protect(memory, start, len, prot);
    /* Pieces already moved go with the frames (anonymous memory back). */
    if (result != 0)
        guest_unmap(memory, start, len);
    return result;
}

static int sync_run(struct guest_memory *memory, uint64_t gva, uint64_t frame, uint64_t pages,
                    void *opaque)
{
    (void)gva;
    int flags = *(const int *)opaque;
    if (msync(memory->ram + frame * GUEST_PAGE_SIZE, pages * GUEST_PAGE_SIZE, flags) != 0)
        return -errno;
    return 0;
}

/* A run of consecutive frames may mix file and anonymous ones: each stretch
 * of one kind is dropped with one madvise. The host RAM is private anonymous
 * memory, so MADV_DONTNEED makes an anonymous frame read zeros, as Linux
 * does, without the host allocating (and zeroing) the frames the program
 * never touched: glibc hands back almost all of an exited thread's 8 MiB
 * stack this way, and a memset of it cost more than the thread itself. */
static int discard_run(struct guest_memory *memory, uint64_t gva, uint64_t frame, uint64_t pages,
                       void *opaque)
{
    (void)gva;
    bool zero_anonymous = *(const bool *)opaque;
    for (uint64_t i = 0; i < pages;) {
        bool file = frame_is_file(memory, frame + i);
        uint64_t count = 1;
        while (i + count < pages && frame_is_file(memory, frame + i + count) == file)
            count++;
        uint8_t *host = memory->ram + (frame + i) * GUEST_PAGE_SIZE;
        if ((file || zero_anonymous) && madvise(host, count * GUEST_PAGE_SIZE, MADV_DONTNEED) != 0)
            return -errno;
        i += count;
    }
    return 0;
}

int guest_discard_pages(struct guest_memory *memory, uint64_t start, uint64_t len,
                        bool zero_anonymous)
{
    MEMORY_LOCKED(memory);
    if (start % GUEST_PAGE_SIZE != 0 || len % GUEST_PAGE_SIZE != 0 || len > UINT64_MAX - start)
        return -EINVAL;
    return for_each_frame_run(memory, start, start + len, false, discard_run, &zero_anonymous);
}

int guest_sync(struct guest_memory *memory, uint64_t start, uint64_t len, bool synchronous)
{
    if (start % GUEST_PAGE_SIZE != 0 || len % GUEST_PAGE_SIZE != 0 || len > UINT64_MAX - start)
        return -EINVAL;
    int flags = synchronous ? MS_SYNC : MS_ASYNC;
    return for_each_frame_run(memory, start, start + len, true, sync_run, &flags);
}

bool guest_fault_past_eof(const struct guest_memory *memory, uint64_t gva, bool write, bool fetch)
{
    struct guest_walk walk;
    if (guest_walk(memory, memory->pml4, gva, &walk) || walk.status != GUEST_WALK_NOT_PRESENT ||
        walk.levels != 4 || !(walk.entries[3] & PTE_PAST_EOF))
        return false;
    /* The mapping's protection is checked first, as x86 Linux's
     * access_error does for a page not present: a write to a read-only
     * mapping is SIGSEGV, file or no file, and so is any access to a
     * PROT_NONE one; an instruction fetch needs only an accessible mapping
     * (VM_EXEC counts for present pages alone): past the end it is SIGBUS
     * even where the mapping is not executable. */
    (void)fetch;
    const struct guest_region *region = guest_region_lookup(memory, gva);
    int needed = write ? GUEST_PROT_WRITE : GUEST_PROT_READ | GUEST_PROT_WRITE | GUEST_PROT_EXEC;
    return region && (region->prot & needed);
}

/* Makes the past-EOF page behind slot the file's again if the file now
 * holds bytes there (it grew, by whatever means, this process or
 * another). The update is one compare-and-swap: the accelerators call
 * this on a fault, without the map's lock. */
static bool revive(struct guest_memory *memory, uint64_t *slot)
{
    uint64_t pte = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    uint64_t frame = (pte & PTE_ADDRESS_MASK) / GUEST_PAGE_SIZE;
    /* PTE_USER: a protection that opens the page (PROT_NONE has none). */
    if ((pte & (PTE_PAST_EOF | PTE_PRESENT | PTE_USER | PTE_OWNED_FRAME)) !=
            (PTE_PAST_EOF | PTE_USER | PTE_OWNED_FRAME) ||
        !frame_is_file(memory, frame) || !file_page_readable(memory->ram + frame * GUEST_PAGE_SIZE))
        return false;
    uint64_t present = (pte & ~PTE_PAST_EOF) | PTE_PRESENT | PTE_ACCESSED | PTE_DIRTY;
    return __atomic_compare_exchange_n(slot, &pte, present, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

bool guest_file_page_revive(struct guest_memory *memory, uint64_t gva)
{
    uint64_t *slot;
    return address_is_canonical(gva) &&
           page_table_slot(memory, gva & GUEST_PAGE_MASK, false, &slot) == 0 &&
           revive(memory, slot);
}

/* Visits, without changing any table, every leaf entry of the program's
 * half of the address space under the table at table_gpa (level 4: the
 * PML4). */
static size_t mark_lost_in(struct guest_memory *memory, uint64_t table_gpa, int level)
{
    uint64_t *table = page_table_at(memory, table_gpa);
    size_t marked = 0;
    for (int i = 0; table && i < (level == 4 ? ENTRIES_PER_TABLE / 2 : ENTRIES_PER_TABLE); i++) {
        uint64_t entry = __atomic_load_n(&table[i], __ATOMIC_ACQUIRE);
        if (!(entry & PTE_PRESENT))
            continue;
        if (level > 1) {
            if (!(entry & PTE_HUGE))
                marked += mark_lost_in(memory, entry & PTE_ADDRESS_MASK, level - 1);
            continue;
        }
        uint64_t frame = (entry & PTE_ADDRESS_MASK) / GUEST_PAGE_SIZE;
        if (!(entry & PTE_OWNED_FRAME) || !frame_is_file(memory, frame) ||
            file_page_readable(memory->ram + frame * GUEST_PAGE_SIZE))
            continue;
        if (__atomic_compare_exchange_n(&table[i], &entry, pte_past_eof(entry), false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            marked++;
    }
    return marked;
}

size_t guest_file_pages_lost(struct guest_memory *memory)
{
    size_t marked = mark_lost_in(memory, memory->pml4, 4);
    if (marked)
        note_narrowing(memory, false);
    return marked;
}

void guest_file_resized(struct guest_memory *memory, uint64_t dev, uint64_t ino, uint64_t size)
{
    MEMORY_LOCKED(memory);
    uint64_t kept = size > UINT64_MAX - GUEST_PAGE_SIZE
                        ? UINT64_MAX & GUEST_PAGE_MASK
                        : (size + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
    bool narrowed = false;
    for (struct region_node *node = memory->region_first; node; node = node->next) {
        const struct region_entry *entry = &node->entry;
        if (entry->file.ino != ino || entry->file.dev != dev || ino == 0)
            continue;
        uint64_t length = entry->region.end - entry->region.start;
        uint64_t cut = kept <= entry->file.offset ? 0 : MIN(kept - entry->file.offset, length);
        if (cut < length)
            narrowed |= mark_past_eof(memory, entry->region.start + cut, entry->region.end);
        for (uint64_t gva = entry->region.start; gva < entry->region.start + cut;
             gva += GUEST_PAGE_SIZE)
            guest_file_page_revive(memory, gva);
    }
    if (narrowed)
        note_narrowing(memory, false);
}
