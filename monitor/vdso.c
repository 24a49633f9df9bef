/*
 * monitor/vdso.c — the guest's vDSO and the clock page behind it.
 *
 * The image (kernel/vdso/, built with the kernel and embedded in this binary)
 * is laid out in guest memory below the stack as its program headers say,
 * with the clock page (kernel/vclock.h) one page below it. The program finds
 * it through AT_SYSINFO_EHDR, as on Linux, and glibc and musl then answer
 * clock_gettime, gettimeofday and time without a syscall.
 *
 * The clock page is kept by the main loop's thread. It starts in
 * HX_VCLOCK_SYSCALL mode; once two samples of the host's clocks against the
 * TSC are far enough apart to know the TSC's rate, it switches to
 * HX_VCLOCK_TSC, and every second after that it re-anchors the clocks to the
 * host's: the new base is where the guest's clock already is (so it never
 * steps back), and the rate for the next second is slewed, by at most
 * VCLOCK_MAX_SLEW, so that the guest meets the host's clock at the next
 * update. Only where the accelerator says the guest's TSC is the host's.
 */
#include "config.h"
#include "kernel/vclock.h"
#include "monitor/guest.h"

#include <elf.h>
#include <errno.h>
#include <glib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <x86intrin.h>

/* The image, from monitor/vdso_image.S. */
extern const unsigned char monitor_vdso_image[];
extern const unsigned char monitor_vdso_image_end[];

#define VCLOCK_CALIBRATION_MS 20
#define VCLOCK_UPDATE_MS      1000
/* Most a rate may differ from the measured one to catch up: 500 ppm, as
 * NTP's largest slew. */
#define VCLOCK_MAX_SLEW 0.0005

/* The span [0, end) the image takes when mapped whole, or 0 if it is not an
 * ELF object this code lays out (a build defect: checked at start). */
static uint64_t image_span(const Elf64_Ehdr *header, size_t size)
{
    if (size < sizeof(*header) || memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 ||
        header->e_ident[EI_CLASS] != ELFCLASS64 || header->e_type != ET_DYN ||
        header->e_phentsize != sizeof(Elf64_Phdr) ||
        header->e_phoff + (uint64_t)header->e_phnum * sizeof(Elf64_Phdr) > size)
        return 0;
    const Elf64_Phdr *phdrs = (const Elf64_Phdr *)((const char *)header + header->e_phoff);
    uint64_t end = 0;
    for (int i = 0; i < header->e_phnum; i++) {
        if (phdrs[i].p_type != PT_LOAD)
            continue;
        if (phdrs[i].p_offset + phdrs[i].p_filesz > size || phdrs[i].p_filesz > phdrs[i].p_memsz)
            return 0;
        if (phdrs[i].p_offset != phdrs[i].p_vaddr)
            return 0;
        end = MAX(end, phdrs[i].p_vaddr + phdrs[i].p_memsz);
    }
    /* The whole file is mapped, as Linux maps its vDSO: the section headers
     * and their names too, which gdb reads from the guest's memory. */
    end = MAX(end, size);
    return (end + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
}

/* Copies the whole image to base: its segments sit at their file offsets
 * (image_span checked), so this places each at base + p_vaddr. */
static int copy_image(struct guest_memory *memory, uint64_t base, const void *image, size_t size)
{
    return guest_write(memory, base, image, size, GUEST_ACCESS_DEBUG) < 0 ? -EFAULT : 0;
}

int guest_vdso_install(struct guest *guest, uint64_t below, char **error)
{
    const Elf64_Ehdr *header = (const Elf64_Ehdr *)monitor_vdso_image;
    size_t size = (size_t)(monitor_vdso_image_end - monitor_vdso_image);
    uint64_t span = image_span(header, size);
    if (span == 0) {
        *error = g_strdup("the built-in vDSO image is damaged; rebuild hermitux-run");
        return -EINVAL;
    }
    /* The image just under `below`, the clock page under it, then a guard
     * page: all inside GUEST_VDSO_AREA, which the mmap area leaves free. */
    if (span + 2 * GUEST_PAGE_SIZE > GUEST_VDSO_AREA) {
        *error = g_strdup("the built-in vDSO image is larger than its area; rebuild hermitux-run");
        return -EINVAL;
    }
    uint64_t base = below - span;
    uint64_t clock_page = base - GUEST_PAGE_SIZE;
    struct guest_memory *memory = guest->memory;
    int result =
        guest_map_anonymous(memory, clock_page, GUEST_PAGE_SIZE, GUEST_PROT_READ | GUEST_PROT_USER,
                            GUEST_REGION_MMAP, "[vvar]");
    if (result == 0)
        result = guest_map_anonymous(memory, base, span,
                                     GUEST_PROT_READ | GUEST_PROT_EXEC | GUEST_PROT_USER,
                                     GUEST_REGION_MMAP, "[vdso]");
    if (result == 0)
        result = copy_image(memory, base, header, size);
    struct iovec page;
    if (result == 0 &&
        guest_iovec(memory, clock_page, GUEST_PAGE_SIZE, GUEST_ACCESS_DEBUG, &page, 1) != 1)
        result = -EFAULT;
    if (result < 0) {
        *error = g_strdup_printf("cannot map the vDSO: %s; give more memory with -m",
                                 g_strerror(-result));
        return result;
    }
    guest->vdso_base = base;
    guest->vclock = page.iov_base;
    return 0;
}

/* ---- the clock page ------------------------------------------------------------ */

struct vclock_sample {
    uint64_t tsc;
    int64_t ns[HX_VCLOCK_COUNT]; /* the host's clocks at tsc */
};

struct vclock_keeper {
    struct hx_vclock *page;
    struct vclock_sample first; /* the calibration's first sample */
    double ticks_per_ns;        /* measured over everything since `first` */
    guint source;
};

static int64_t host_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The host's clocks and the TSC, read as close together as the host allows:
 * the TSC is taken in the middle of the monotonic reading that took least. */
static void take_sample(struct vclock_sample *sample)
{
    int64_t best = INT64_MAX;
    for (int attempt = 0; attempt < 5; attempt++) {
        int64_t before = host_ns(CLOCK_MONOTONIC);
        uint64_t tsc = __rdtsc();
        int64_t after = host_ns(CLOCK_MONOTONIC);
        if (after - before < best) {
            best = after - before;
            sample->tsc = tsc;
            sample->ns[HX_VCLOCK_MONOTONIC] = before + (after - before) / 2;
        }
    }
    /* The other clocks are fixed offsets from the monotonic one between
     * host adjustments; read them next to it. */
    int64_t monotonic = host_ns(CLOCK_MONOTONIC);
    sample->ns[HX_VCLOCK_REALTIME] =
        sample->ns[HX_VCLOCK_MONOTONIC] + (host_ns(CLOCK_REALTIME) - monotonic);
    sample->ns[HX_VCLOCK_BOOTTIME] =
        sample->ns[HX_VCLOCK_MONOTONIC] + (host_ns(CLOCK_BOOTTIME) - monotonic);
}

/* What the page gives for slot at tsc now. */
static int64_t page_ns(const struct hx_vclock *page, int slot, uint64_t tsc)
{
    uint64_t delta = tsc - page->tsc_base;
    return (int64_t)(page->base_ns[slot] +
                     (uint64_t)(((unsigned __int128)delta * page->mult) >> HX_VCLOCK_SHIFT));
}

/* The page's readers are the guest's vDSO on x86-64 vCPUs, which see the
 * monitor's stores in program order (x86-TSO): only the compiler must not
 * move the stores across the sequence's, hence a signal fence (a
 * compiler barrier; ThreadSanitizer does not model thread fences, and no
 * host thread reads the page). */
static void page_begin_write(struct hx_vclock *page)
{
    page->sequence++;
    atomic_signal_fence(memory_order_release);
}

static void page_end_write(struct hx_vclock *page)
{
    atomic_signal_fence(memory_order_release);
    page->sequence++;
}

static uint64_t mult_of(double ns_per_tick)
{
    return (uint64_t)(ns_per_tick * (double)(1ULL << HX_VCLOCK_SHIFT));
}

/*
 * Re-anchors the page at sample. Monotonic and boot time continue from where
 * the page has them (never backwards); real time follows the host's, which
 * may itself step. The next second's rate aims at the host's clock.
 */
static void update_page(struct vclock_keeper *keeper, const struct vclock_sample *sample)
{
    struct hx_vclock *page = keeper->page;
    double ns_per_tick = 1.0 / keeper->ticks_per_ns;
    int64_t base[HX_VCLOCK_COUNT];
    bool running = page->mode == HX_VCLOCK_TSC;
    for (int slot = 0; slot < HX_VCLOCK_COUNT; slot++)
        base[slot] = running ? page_ns(page, slot, sample->tsc) : sample->ns[slot];
    /* Host real time moves by steps of its own (settimeofday, NTP steps). */
    int64_t real_offset = sample->ns[HX_VCLOCK_REALTIME] - sample->ns[HX_VCLOCK_MONOTONIC];
    base[HX_VCLOCK_REALTIME] = base[HX_VCLOCK_MONOTONIC] + real_offset;
    int64_t boot_offset = sample->ns[HX_VCLOCK_BOOTTIME] - sample->ns[HX_VCLOCK_MONOTONIC];
    base[HX_VCLOCK_BOOTTIME] =
        MAX(base[HX_VCLOCK_BOOTTIME], base[HX_VCLOCK_MONOTONIC] + boot_offset);

    /* Ahead or behind the host by `error` now: be even with it a period on. */
    double error = (double)(base[HX_VCLOCK_MONOTONIC] - sample->ns[HX_VCLOCK_MONOTONIC]);
    double period = VCLOCK_UPDATE_MS * 1e6;
    double slew = CLAMP(-error / period, -VCLOCK_MAX_SLEW, VCLOCK_MAX_SLEW);

    struct timeval now;
    struct timezone zone = {0, 0};
    gettimeofday(&now, &zone);
    page_begin_write(page);
    page->tsc_base = sample->tsc;
    for (int slot = 0; slot < HX_VCLOCK_COUNT; slot++)
        page->base_ns[slot] = (uint64_t)base[slot];
    page->mult = mult_of(ns_per_tick * (1.0 + slew));
    page->tz_minuteswest = zone.tz_minuteswest;
    page->tz_dsttime = zone.tz_dsttime;
    page->mode = HX_VCLOCK_TSC;
    page_end_write(page);
}

static gboolean on_vclock_update(gpointer data)
{
    struct vclock_keeper *keeper = data;
    struct vclock_sample sample;
    take_sample(&sample);
    int64_t elapsed = sample.ns[HX_VCLOCK_MONOTONIC] - keeper->first.ns[HX_VCLOCK_MONOTONIC];
    if (elapsed <= 0 || sample.tsc <= keeper->first.tsc)
        return G_SOURCE_CONTINUE; /* a clock that did not move tells nothing */
    keeper->ticks_per_ns = (double)(sample.tsc - keeper->first.tsc) / (double)elapsed;
    bool first_update = keeper->page->mode != HX_VCLOCK_TSC;
    update_page(keeper, &sample);
    if (first_update) {
        keeper->source = g_timeout_add(VCLOCK_UPDATE_MS, on_vclock_update, keeper);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

struct vclock_keeper *guest_vclock_start(struct guest *guest)
{
    if (!guest->vclock)
        return NULL;
    struct vclock_keeper *keeper = g_new0(struct vclock_keeper, 1);
    keeper->page = guest->vclock;
    /* Until calibrated, and for good where the guest's TSC is not the
     * host's, the vDSO asks the monitor. */
    keeper->page->mode = HX_VCLOCK_SYSCALL;
    if (!guest->accel_ops->capabilities(guest->accel)->host_tsc)
        return keeper;
    take_sample(&keeper->first);
    keeper->source = g_timeout_add(VCLOCK_CALIBRATION_MS, on_vclock_update, keeper);
    return keeper;
}

void guest_vclock_forget_keeper(struct guest *guest)
{
    if (!guest->vclock)
        return;
    page_begin_write(guest->vclock);
    guest->vclock->mode = HX_VCLOCK_SYSCALL;
    page_end_write(guest->vclock);
}

void guest_vclock_stop(struct vclock_keeper *keeper)
{
    if (!keeper)
        return;
    if (keeper->source)
        g_source_remove(keeper->source);
    g_free(keeper);
}
