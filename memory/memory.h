/*
 * memory/ — guest RAM, the page tables the monitor keeps for it, and its map.
 *
 * Guest-physical memory is one host mapping, [0, ram_size). Two kinds of
 * guest-virtual mappings live in it:
 *   - the static region: guest kernel and program ELF segments, mapped
 *     virtual == physical (guest_map_identity);
 *   - the dynamic region: heap, mmap areas and the stack, 4 KiB pages whose
 *     physical frames come from the frame allocator (guest_map_anonymous).
 * The page tables (4-level, x86-64) are built and edited here, in guest RAM;
 * the guest kernel never changes them. Every other module reaches guest
 * memory only through this header, and every access is checked: a guest
 * pointer is translated page by page and bounds-checked against RAM before
 * the host touches it.
 */
#ifndef HERMITUX_MEMORY_H
#define HERMITUX_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GUEST_PAGE_SIZE 4096ULL
#define GUEST_PAGE_MASK (~(GUEST_PAGE_SIZE - 1))

/* Highest user-space address + 1 (canonical lower half, as Linux). */
#define GUEST_USER_TOP 0x00007ffffffff000ULL

/* Page-table entry bits (x86-64). */
#define PTE_PRESENT      (1ULL << 0)
#define PTE_WRITE        (1ULL << 1)
#define PTE_USER         (1ULL << 2)
#define PTE_ACCESSED     (1ULL << 5)
#define PTE_DIRTY        (1ULL << 6)
#define PTE_HUGE         (1ULL << 7)
#define PTE_NX           (1ULL << 63)
#define PTE_ADDRESS_MASK 0x000ffffffffff000ULL

/* Protection of a mapping. GUEST_PROT_USER makes it reachable from CPL3. */
enum guest_prot {
    GUEST_PROT_NONE = 0,
    GUEST_PROT_READ = 1,
    GUEST_PROT_WRITE = 2,
    GUEST_PROT_EXEC = 4,
    GUEST_PROT_USER = 8,
};

/* What a region of the map is for; fault reports and `monitor info mem` use it. */
enum guest_region_kind {
    GUEST_REGION_KERNEL,  /* guest kernel image and its data (static) */
    GUEST_REGION_PROGRAM, /* program ELF segments (static) */
    GUEST_REGION_HEAP,    /* brk area (dynamic) */
    GUEST_REGION_MMAP,    /* mmap areas (dynamic) */
    GUEST_REGION_STACK,   /* the initial stack (dynamic) */
    GUEST_REGION_GUARD,   /* reserved, never mapped: stack guard page */
    GUEST_REGION_DEVICE,  /* maps a physical address outside RAM (doorbell) */
};

/* One entry of the map: a page-aligned virtual range with one protection. */
struct guest_region {
    uint64_t start; /* first byte, page aligned */
    uint64_t end;   /* one past the last byte, page aligned */
    int prot;       /* enum guest_prot bits */
    enum guest_region_kind kind;
    char name[32]; /* "[heap]", "[stack]", a file name, ... */
};

struct guest_memory;

/*
 * Creates guest RAM of ram_size bytes (rounded up to a page) as an anonymous
 * host mapping (zero, populated lazily), with an empty PML4. Returns NULL and
 * sets *error (a g_strdup'ed one-line message the caller frees) on failure.
 */
struct guest_memory *guest_memory_create(uint64_t ram_size, char **error);

/* Releases the RAM and everything else. NULL is accepted. */
void guest_memory_destroy(struct guest_memory *memory);

/* The host address of guest-physical 0 and the RAM size (for memslots). */
void *guest_memory_host_base(const struct guest_memory *memory);
uint64_t guest_memory_ram_size(const struct guest_memory *memory);

/* Guest-physical address of the PML4: the value for CR3. */
uint64_t guest_memory_cr3(const struct guest_memory *memory);

/*
 * Host pointer for guest-physical [gpa, gpa + len), or NULL unless the whole
 * range lies inside RAM (overflow-safe).
 */
void *guest_phys_to_host(const struct guest_memory *memory, uint64_t gpa, uint64_t len);

/*
 * Counts changes that removed or narrowed a mapping. An accelerator compares
 * it before every guest entry and flushes the guest TLB when it moved, so a
 * narrowing takes effect before the guest runs again.
 */
uint64_t guest_memory_generation(const struct guest_memory *memory);

/*
 * Counts the subset of those changes that the host kernel's MMU notifiers do
 * not carry to KVM. Frames given back by an unmap are dropped with
 * MADV_DONTNEED, and the notifier makes KVM forget every translation to them
 * (shadow pages included); a narrowed protection, a moved mapping, a frame
 * that stays in use or a freed page table is not seen that way. KVM flushes
 * on this one: a flush costs a full rebuild of its translations.
 */
uint64_t guest_memory_unseen_generation(const struct guest_memory *memory);

/*
 * Guest RAM in chunks, for accelerators that pay per byte of RAM they are
 * told about (a KVM memory slot costs about 2 ms per GiB to set up and more
 * to tear down; a program uses a few chunks of a 4 GiB RAM). A chunk is in
 * use from the first time one of its frames is (reserved, allocated, or a
 * page table), and stays so. The hook is called, on the thread that
 * allocates, before any frame of a new chunk is handed out; it must make
 * the chunk reachable (it cannot fail: it ends the monitor if it must).
 * 64 MiB: a static hello uses two chunks (its own, low, and the page
 * tables', high), which as 256 MiB chunks cost 0.25 ms more of every start
 * on PVM; each further chunk a large program touches costs one more slot
 * (touching 1 GB: about 5 ms more than with 256 MiB, of 120).
 */
#define GUEST_RAM_CHUNK_SIZE (64ULL << 20)
typedef void (*guest_chunk_hook)(void *opaque, uint64_t gpa, uint64_t len);
uint64_t guest_memory_chunk_count(const struct guest_memory *memory);
bool guest_memory_chunk_used(const struct guest_memory *memory, uint64_t index);
/* Sets (or with NULL clears) the hook for chunks that come into use later. */
void guest_memory_set_chunk_hook(struct guest_memory *memory, guest_chunk_hook hook, void *opaque);

/*
 * The monitor writes to an executable page (a read() into a buffer the
 * program runs, a debugger's breakpoint): an accelerator that keeps
 * translations of guest code (tcg) must drop those of the frame at gpa (a
 * page address). Called on the writing thread, before the write, for every
 * page a checked write or a writable iovec covers, possibly with the
 * module's lock held: it must not call back into this module.
 */
typedef void (*guest_code_write_hook)(void *opaque, uint64_t gpa);
void guest_memory_set_code_write_hook(struct guest_memory *memory, guest_code_write_hook hook,
                                      void *opaque);
/* Removes the hook if it was set with opaque (a fork's child may have set
 * its own meanwhile). */
void guest_memory_clear_code_write_hook(struct guest_memory *memory, void *opaque);

/* ---- physical frames ---------------------------------------------------- */

/*
 * Marks guest-physical [gpa, gpa + len) as used (kernel image, program
 * segments, page tables placed by hand). Fails (returns false) if any part is
 * outside RAM or already used.
 */
bool guest_frames_reserve(struct guest_memory *memory, uint64_t gpa, uint64_t len);

/*
 * Allocates `count` physically contiguous zeroed frames; returns false when
 * no such run exists. Frames handed back by guest_frames_free are zeroed
 * again before reuse.
 */
bool guest_frames_alloc(struct guest_memory *memory, uint64_t count, uint64_t *gpa);

/* Returns frames to the allocator (their content is discarded). */
void guest_frames_free(struct guest_memory *memory, uint64_t gpa, uint64_t count);

/* Number of free frames. */
uint64_t guest_frames_free_count(const struct guest_memory *memory);

/* ---- mappings ------------------------------------------------------------
 * Addresses and lengths must be page aligned and non-zero; ranges must be
 * canonical. Each call returns 0 or a negative errno (-EINVAL for bad
 * arguments, -ENOMEM when frames or page-table pages run out, -EEXIST when a
 * range that must be free is not). A failed call leaves the map unchanged.
 */

/* Static region: maps [start, start + len) to the same physical addresses and
 * reserves those frames. */
int guest_map_identity(struct guest_memory *memory, uint64_t start, uint64_t len, int prot,
                       enum guest_region_kind kind, const char *name);

/* Dynamic region: maps fresh zeroed frames (physically contiguous where the
 * allocator can) at [start, start + len). The program's own memory (kind
 * HEAP, MMAP or STACK) gets them at first touch instead (unless the
 * mapping is 8 MiB or less and three quarters of RAM stay free), as on Linux:
 * mapping it takes no frame and writes no page table, so address space may
 * be reserved far beyond RAM, and -ENOMEM comes only from the map's limit.
 * Its untouched pages are not present; a fault on one goes to
 * guest_fault_first_touch, and the monitor's checked accesses back them
 * (writes) or read them as zeros (reads) themselves. Where a neighbouring page is mapped
 * with a frame of its own, the new frames continue that frame where they are
 * free, and heap frames are taken bottom-up: a heap growing page by page and
 * mmaps placed one below the other stay one run of contiguous frames, which
 * an accelerator mapping host memory by range can map as one range. */
int guest_map_anonymous(struct guest_memory *memory, uint64_t start, uint64_t len, int prot,
                        enum guest_region_kind kind, const char *name);

/*
 * Dynamic region, file-backed: like guest_map_anonymous, but the frames of
 * the pages that hold bytes of the file (from offset, up to file_size) are
 * the host's mapping of that file: MAP_SHARED when shared (the program's
 * writes reach the file, the file's changes are seen, as Linux's page
 * cache gives), else MAP_PRIVATE (the file's pages until written, then
 * private copies). The part of the last page past the end of the file
 * reads zeros; pages wholly past it are the file's too, but not present
 * (past-EOF pages: the program's accesses are SIGBUS) until the file
 * grows over them. host_fd must
 * be open for reading, and for writing when shared (else the mapping is
 * made private: nothing can write it through this fd). Unmapping gives
 * the frames fresh anonymous memory again.
 */
int guest_map_file(struct guest_memory *memory, uint64_t start, uint64_t len, int prot,
                   enum guest_region_kind kind, const char *name, int host_fd, uint64_t offset,
                   uint64_t file_size, bool shared);

/*
 * Maps [start, start + len) over host, a host shared mapping of len bytes
 * that has no fd (a System V shared memory segment the monitor attached):
 * fresh frames, behind which the host's pages are moved (mremap), so that
 * the program, the monitor and every process attached share them. The
 * region is a shared file mapping of (dev, ino), as /proc/PID/maps names
 * it. Whatever is not moved stays at host (the caller detaches it);
 * unmapping gives the frames anonymous memory again, which detaches the
 * host's piece. 0 or -errno.
 */
int guest_map_host_shared(struct guest_memory *memory, uint64_t start, uint64_t len, int prot,
                          enum guest_region_kind kind, const char *name, void *host, uint64_t dev,
                          uint64_t ino);

/*
 * A not-present page fault at gva (write: a write; fetch: an instruction
 * fetch; else a read) of the program or the guest kernel. MAPPED: the page
 * was an untouched page of memory backed at first touch that the access
 * may make (or has been backed meanwhile): it now has a frame, and the
 * whole 2 MiB around it inside its mapping too (one 2 MiB page where the
 * mapping covers it all) while RAM is plentiful; retry the access.
 * NO_MEMORY: such a page, but guest RAM has no frame left (Linux's out of
 * memory). NOT_LAZY: anything else, the fault is the program's. Any
 * thread, without the caller's map lock.
 */
enum guest_touch {
    GUEST_TOUCH_NOT_LAZY,
    GUEST_TOUCH_MAPPED,
    GUEST_TOUCH_NO_MEMORY,
};
enum guest_touch guest_fault_first_touch(struct guest_memory *memory, uint64_t gva, bool write,
                                         bool fetch);

/* Backs the untouched pages of [start, start + len) now, as the first
 * touch would (MAP_POPULATE, mlock); other pages are left as they are.
 * 0, or -ENOMEM when RAM ran out (what was backed stays so). */
int guest_populate(struct guest_memory *memory, uint64_t start, uint64_t len);

/* Hold every change of memory/ off (first-touch backing included, which
 * runs without the caller's lock): around a host fork, so that the child's
 * copy is whole and its lock free. A host fork's child says so (forked):
 * its thread is not the lock's owner any more, so the lock is made anew. */
void guest_memory_lock(struct guest_memory *memory);
void guest_memory_unlock(struct guest_memory *memory, bool forked);

/*
 * mremap growth of a file mapping: maps [start, start + len) as the
 * continuation of the file mapping that ends at after (the region holding
 * after - 1): the same file, from the offset after would have, with that
 * region's protection, name and kind; pages past the end of the file are
 * past-EOF pages (SIGBUS), as Linux grows the mapping. -EINVAL when no
 * file mapping ends there; other errors as guest_map_file.
 */
int guest_map_file_after(struct guest_memory *memory, uint64_t after, uint64_t start, uint64_t len);

/*
 * Whether a not-present page fault at gva hit a page of a file mapping that
 * holds no byte of the file (wholly past its end, at mmap time or since a
 * guest_file_truncated) and whose protection allows the access (write: a
 * write; fetch: an instruction fetch; else a read). Linux answers such an
 * access with SIGBUS (BUS_ADRERR at gva), not SIGSEGV; the monitor's own
 * accesses to the page fail with -EFAULT, as the kernel's do.
 */
bool guest_fault_past_eof(const struct guest_memory *memory, uint64_t gva, bool write, bool fetch);

/*
 * The host file (st_dev, st_ino) is now size bytes long (a truncation made
 * it so): every page of its mappings that now lies wholly past the end
 * becomes a past-EOF page, and what it held is gone (a private copy too),
 * as on Linux. Past-EOF pages that the file covers again are its pages
 * once more.
 */
void guest_file_resized(struct guest_memory *memory, uint64_t dev, uint64_t ino, uint64_t size);

/*
 * A file changes size without the monitor knowing (another process
 * truncates or extends it, the program's write(2) or fallocate(2) past the
 * end): the host then refuses accesses to the pages past the end (its
 * SIGBUS; KVM_RUN's EFAULT), and the file's pages past it become usable
 * when it grows. These two bring the guest's tables up to date; both are
 * safe without the map's lock (each entry changes by one compare-and-swap)
 * and meant for the accelerators, on the vCPU's own thread:
 *
 * guest_file_pages_lost: every present page of a file mapping whose bytes
 * the host no longer has becomes a past-EOF page (so the program's access
 * faults, and the fault is a SIGBUS). Returns how many did (0: none; the
 * host's refusal had another cause). Narrowing: the generation moves.
 *
 * guest_file_page_revive: a not-present fault at gva hit a past-EOF page
 * that the file covers again: the page is present again (true), and the
 * access must be retried, not reported.
 */
size_t guest_file_pages_lost(struct guest_memory *memory);
bool guest_file_page_revive(struct guest_memory *memory, uint64_t gva);

/*
 * The monitor's own copies from and to such pages (guest_read, guest_write,
 * guest_read_string) fail with -EFAULT, as the kernel's do: memory/ catches
 * the host's SIGBUS (one process-wide handler, installed with the first
 * file mapping). A SIGBUS on a thread outside those copies goes to the
 * handler set here for the thread (an accelerator that runs guest code on
 * it: tcg), which leaves by a long jump if it handles it; if it returns,
 * or with none, the signal kills the monitor as before.
 */
typedef void (*guest_bus_handler)(siginfo_t *info, void *context);
void guest_memory_set_bus_handler(guest_bus_handler handler);

/* msync(2) of the file-backed pages in [start, start + len) (MS_SYNC when
 * synchronous, else MS_ASYNC); 0 or a negative errno from the host. */
int guest_sync(struct guest_memory *memory, uint64_t start, uint64_t len, bool synchronous);

/*
 * MADV_DONTNEED on the mapped pages of [start, start + len): the host drops
 * the file-backed ones, so a private page the program wrote reads the
 * file's bytes again and a shared one (a file's, or MAP_SHARED anonymous
 * memory's memfd) keeps its contents, as on Linux; the other pages read
 * zeros again when zero_anonymous. 0 or -errno.
 */
int guest_discard_pages(struct guest_memory *memory, uint64_t start, uint64_t len,
                        bool zero_anonymous);

/* Maps [start, start + len) to guest-physical gpa..; gpa may lie outside RAM
 * (a device page whose accesses exit to the monitor). Frames are not
 * reserved or freed. The part inside RAM must be frames that are already
 * used (reserved or allocated) and not page tables, else -EINVAL: a free
 * frame could later become a page table the guest could then write. */
int guest_map_physical(struct guest_memory *memory, uint64_t start, uint64_t gpa, uint64_t len,
                       int prot, enum guest_region_kind kind, const char *name);

/* Reserves [start, start + len) in the map without mapping it (guard pages),
 * so guest_find_free never hands it out and fault reports can name it. */
int guest_reserve_range(struct guest_memory *memory, uint64_t start, uint64_t len,
                        enum guest_region_kind kind, const char *name);

/* Removes whatever is mapped or reserved in [start, start + len) (holes are
 * fine); frames of anonymous and identity mappings go back to the allocator
 * (those of guest_map_physical stay as they are). Splits regions as needed. */
int guest_unmap(struct guest_memory *memory, uint64_t start, uint64_t len);

/* Changes the protection of every mapped page in [start, start + len);
 * -ENOMEM if part of the range is not mapped (as Linux mprotect; a
 * guest_reserve_range range counts as not mapped). Anonymous pages mapped
 * GUEST_PROT_NONE get their frames only here, when they become accessible
 * (those backed at first touch: at their first touch). */
int guest_protect(struct guest_memory *memory, uint64_t start, uint64_t len, int prot);

/* Moves the mappings of [old_start, old_start + len) to new_start (which must
 * be free) without copying data: page-table entries move, frames stay.
 * -EFAULT if part of the old range is not in the map, -EINVAL if the two
 * ranges overlap. */
int guest_move(struct guest_memory *memory, uint64_t old_start, uint64_t len, uint64_t new_start);

/*
 * Finds a free page-aligned range of len bytes inside [low, high), the
 * highest one when top_down, else the lowest. Returns false if none.
 */
bool guest_find_free(const struct guest_memory *memory, uint64_t len, uint64_t low, uint64_t high,
                     bool top_down, uint64_t *start);

/* The region containing address, or NULL. Valid until the map changes. */
const struct guest_region *guest_region_lookup(const struct guest_memory *memory, uint64_t address);

/* Whether address lies in one of the program's mappings (a VMA on Linux:
 * program, heap, mmap or stack, not a guard or the guest kernel): Linux's
 * si_code for a SIGSEGV there is SEGV_ACCERR, present page or not (PROT_NONE,
 * a write to a read-only page past EOF); elsewhere SEGV_MAPERR. */
bool guest_fault_in_mapping(const struct guest_memory *memory, uint64_t address);

/*
 * What /proc/PID/maps shows for [start, start + len) (regions split at both
 * ends): name, and the file (the host's st_dev and st_ino, and the file
 * offset of start) whose bytes the range holds a copy of, as a loaded ELF
 * segment does; ino 0 for none (a segment's zero-filled tail). Changes
 * nothing else. 0, or -EINVAL for an empty range.
 */
int guest_region_describe(struct guest_memory *memory, uint64_t start, uint64_t len,
                          const char *name, uint64_t dev, uint64_t ino, uint64_t offset);

/* The file region maps (guest_map_file) or holds a copy of
 * (guest_region_describe): its st_dev, st_ino, the offset of region->start
 * and whether the mapping is shared (MAP_SHARED). False when none. region
 * must come from this module. */
bool guest_region_file(const struct guest_region *region, uint64_t *dev, uint64_t *ino,
                       uint64_t *offset, bool *shared);

/* Calls visit on every region in address order; stops early when it returns
 * false. */
void guest_region_foreach(const struct guest_memory *memory,
                          bool (*visit)(const struct guest_region *region, void *opaque),
                          void *opaque);

/* The same from the first region that ends after address (the one containing
 * it, or the next): O(log n) to start, where n is the number of regions. */
void guest_region_foreach_from(const struct guest_memory *memory, uint64_t address,
                               bool (*visit)(const struct guest_region *region, void *opaque),
                               void *opaque);

/*
 * The number of mappings as Linux counts them for vm.max_map_count: the
 * program's regions (program, heap, mmap, stack), not the guest kernel's,
 * device or guard ranges. The limit starts at the host's vm.max_map_count
 * (65,530 by default); 0 means none. As Linux: a new mapping fails with
 * -ENOMEM when the count is above the limit; a protection change or unmap
 * that must split mappings fails with -ENOMEM unless every split keeps the
 * count within it (Linux may leave the first of two splits done; here a
 * failed call changes nothing). Every map operation costs O(log n) in the
 * number of regions, plus the pages it touches.
 */
size_t guest_memory_map_count(const struct guest_memory *memory);
void guest_memory_set_map_limit(struct guest_memory *memory, size_t limit);

/* ---- the software page walker ------------------------------------------ */

enum guest_walk_status {
    GUEST_WALK_OK,
    GUEST_WALK_NON_CANONICAL, /* bits 63..47 are not a sign extension */
    GUEST_WALK_NOT_PRESENT,   /* an entry on the way has P=0 */
    GUEST_WALK_RESERVED_BIT,  /* an entry sets a reserved bit (PS in a PML4E...) */
    GUEST_WALK_TABLE_OUTSIDE, /* a table or the final frame lies outside RAM */
};

/* Everything a walk saw, for debuggers and fault reports. */
struct guest_walk {
    enum guest_walk_status status;
    int levels;          /* entries read: 1 (PML4E) .. 4 (PTE) */
    uint64_t entries[4]; /* PML4E, PDPTE, PDE, PTE as read (levels of them) */
    /* gpa and page_size are valid when status is OK, and also when it is
     * TABLE_OUTSIDE because the final frame (not a table) is outside RAM: a
     * device page such as the doorbell translates, but cannot be read. */
    uint64_t gpa;       /* translated address */
    uint64_t page_size; /* 4 KiB, 2 MiB or 1 GiB */
    bool writable;      /* W set at every level */
    bool user;          /* U set at every level */
    bool executable;    /* NX clear at every level */
};

/*
 * Walks the 4-level tables rooted at cr3 (normally guest_memory_cr3) for
 * gva, reading them from guest RAM with bounds checks; 4 KiB, 2 MiB and
 * 1 GiB pages. Never fails for lack of input validity: the outcome is in
 * walk->status. Returns walk->status == GUEST_WALK_OK.
 */
bool guest_walk(const struct guest_memory *memory, uint64_t cr3, uint64_t gva,
                struct guest_walk *walk);

/*
 * Whether the program's access (write, instruction fetch, else a read) at
 * gva would succeed now: a page fault it took is then stale (another thread
 * made the page present since, e.g. revived a file's page), and Linux would
 * retry the access rather than signal it.
 */
bool guest_fault_resolved(const struct guest_memory *memory, uint64_t gva, bool write, bool fetch);

/* A short English phrase for a status ("not present", ...). */
const char *guest_walk_status_string(enum guest_walk_status status);

/* ---- checked access to guest-virtual memory ---------------------------- */

/* Who is accessing: decides which permission bits are required. */
enum guest_access {
    GUEST_ACCESS_USER_READ,  /* on behalf of the program: needs U */
    GUEST_ACCESS_USER_WRITE, /* needs U and W */
    GUEST_ACCESS_DEBUG,      /* a debugger: any present page, writes allowed */
};

/*
 * Copies len bytes from guest-virtual gva to buf, translating every page
 * through the monitor's tables. Returns 0, or -EFAULT if any page is not
 * mapped or lacks the permission `access` needs (nothing is guaranteed about
 * buf then).
 */
int guest_read(const struct guest_memory *memory, uint64_t gva, void *buf, size_t len,
               enum guest_access access);

/* Copies len bytes from buf to guest-virtual gva; 0 or -EFAULT. On -EFAULT
 * no byte has been written. */
int guest_write(struct guest_memory *memory, uint64_t gva, const void *buf, size_t len,
                enum guest_access access);

/*
 * Reads a NUL-terminated string at gva into buf (size bytes). Returns its
 * length, -EFAULT if it runs into an inaccessible page, -ENAMETOOLONG if it
 * is longer than size - 1 characters (its NUL is not among the first size
 * bytes). Reads no page past the one holding the NUL.
 */
long guest_read_string(const struct guest_memory *memory, uint64_t gva, char *buf, size_t size,
                       enum guest_access access);

/*
 * Describes guest-virtual [gva, gva + len) as host iovecs (one per run of
 * host-contiguous pages), for zero-copy I/O such as readv into guest
 * buffers. Returns the number of iovecs used (0 when len is 0), -EFAULT if a
 * page fails the `access` check, -E2BIG if more than max_iov are needed.
 */
int guest_iovec(const struct guest_memory *memory, uint64_t gva, size_t len,
                enum guest_access access, struct iovec *iov, int max_iov);

/* ---- debug traps ---------------------------------------------------------
 * A debugger's watchpoints on hosts whose debug registers do not fire for the
 * program: the page's entry is narrowed so the program's accesses fault,
 * while the monitor's checked accesses (guest_read, guest_write...) still
 * see the page as the map says. Spare entry bits remember what was removed.
 */
enum guest_trap {
    GUEST_TRAP_NONE,   /* the entry as the map says */
    GUEST_TRAP_WRITE,  /* writes fault (W cleared, if it was set) */
    GUEST_TRAP_ACCESS, /* every access faults (P cleared) */
};

/* Sets the trap of the 4 KiB page containing gva (replacing any other).
 * 0, or -EFAULT when the page is not mapped. Narrowing bumps the
 * generation, so it takes effect before the guest runs again. */
int guest_set_trap(struct guest_memory *memory, uint64_t gva, enum guest_trap trap);

/* The trap currently set on the page containing gva. */
enum guest_trap guest_get_trap(const struct guest_memory *memory, uint64_t gva);

#ifdef __cplusplus
}
#endif

#endif
