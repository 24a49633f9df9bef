/*
 * syscall_fuzz: a guest program that makes random syscalls with arguments biased
 * towards the interesting (bad pointers into the kernel, the doorbell and unmapped
 * space, huge lengths, stale fds, odd flags), for hermitux-run to survive.
 *   syscall_fuzz SEED COUNT
 * Run by tests/fuzz/run-syscall-fuzz.sh inside a read-only mount namespace, in an
 * empty scratch directory. Prints the calls it makes only with FUZZ_VERBOSE set (to
 * replay a seed), and "done" at the end. The monitor, not this program, is under test:
 * the program may fail any call, and even die of what it did to itself.
 *
 * Left out, because they end or escape the experiment rather than test the monitor:
 * process creation and exec, exit, signals to others or to itself, the signal mask and
 * handlers (all signals stay blocked), rt_sigreturn, arch_prctl, blocking waits with no
 * bound, and what root could do to the host (time, mounts, modules, reboot, ids).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SANDBOX_PAGES 64
#define MAX_NUMBER    462

static uint64_t state;

static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static uint64_t below(uint64_t bound)
{
    return bound ? next() % bound : 0;
}

static const int refused[] = {
    SYS_fork,
    SYS_vfork,
    SYS_clone,
    SYS_clone3,
    SYS_execve,
    SYS_execveat,
    SYS_exit,
    SYS_exit_group,
    SYS_kill,
    SYS_tkill,
    SYS_tgkill,
    SYS_rt_sigqueueinfo,
    SYS_rt_tgsigqueueinfo,
    SYS_pidfd_send_signal,
    SYS_rt_sigreturn,
    SYS_rt_sigaction,
    SYS_rt_sigprocmask,
    SYS_rt_sigsuspend,
    SYS_pause,
    SYS_nanosleep,
    SYS_clock_nanosleep,
    SYS_futex,
    SYS_wait4,
    SYS_waitid,
    SYS_rt_sigtimedwait,
    SYS_select,
    SYS_pselect6,
    SYS_poll,
    SYS_ppoll,
    SYS_epoll_wait,
    SYS_epoll_pwait,
    SYS_epoll_pwait2,
    SYS_flock,
    SYS_arch_prctl,
    SYS_reboot,
    SYS_setuid,
    SYS_setgid,
    SYS_setreuid,
    SYS_setregid,
    SYS_setresuid,
    SYS_setresgid,
    SYS_setfsuid,
    SYS_setfsgid,
    SYS_setgroups,
    SYS_chroot,
    SYS_mount,
    SYS_umount2,
    SYS_swapon,
    SYS_swapoff,
    SYS_sethostname,
    SYS_setdomainname,
    SYS_iopl,
    SYS_ioperm,
    SYS_init_module,
    SYS_finit_module,
    SYS_delete_module,
    SYS_kexec_load,
    SYS_kexec_file_load,
    SYS_ptrace,
    SYS_prctl,
    SYS_seccomp,
    SYS_unshare,
    SYS_setns,
    SYS_personality,
    SYS_settimeofday,
    SYS_clock_settime,
    SYS_adjtimex,
    SYS_clock_adjtime,
    SYS_acct,
    SYS_pivot_root,
    SYS_perf_event_open,
    SYS_bpf,
    SYS_io_uring_setup,
    SYS_io_uring_enter,
    SYS_userfaultfd,
    SYS_fsopen,
    SYS_fsmount,
    SYS_move_mount,
    SYS_open_tree,
    SYS_mount_setattr,
    SYS_quotactl,
    SYS_vhangup,
    SYS_syslog,
    SYS_sync,
    SYS_syncfs,
    SYS_set_tid_address,
    SYS_msgrcv,
    SYS_semop,
    SYS_semtimedop,
    SYS_mq_timedreceive,
    SYS_io_getevents,
    SYS_io_pgetevents,
    SYS_sched_setaffinity,
    SYS_sched_setscheduler,
    SYS_sched_setattr,
    SYS_sched_setparam,
    SYS_setpriority,
    SYS_setrlimit,
    SYS_prlimit64,
    SYS_munlockall,
    SYS_mlockall,
    SYS_vmsplice,
    SYS_splice,
    SYS_tee,
};

static int is_refused(uint64_t number)
{
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if ((uint64_t)refused[i] == number)
            return 1;
    return 0;
}

static uint8_t *sandbox;
static int fds[8];
static int fd_count;

/* A pointer: mostly into the sandbox (where strings and structures lie), else the
 * addresses a monitor must refuse. */
static uint64_t pointer(void)
{
    static const uint64_t hostile[] = {
        0,                     /* NULL */
        1,                     /* unaligned low page */
        0x1000,                /* the boot information page (supervisor) */
        0x100000,              /* the guest kernel */
        0x1ff000,              /* the doorbell */
        0x7ffffffff000ULL,     /* the top of user space */
        0x800000000000ULL,     /* the first non-canonical address */
        0xffff800000000000ULL, /* kernel half */
        0xffffffffffffffffULL,
    };
    if (below(4) == 0)
        return hostile[below(sizeof(hostile) / sizeof(hostile[0]))];
    /* Near the sandbox's end too, so lengths run off it. */
    return (uint64_t)(uintptr_t)sandbox + below(SANDBOX_PAGES * 4096);
}

static uint64_t number_like(void)
{
    switch (below(8)) {
    case 0:
        return below(16);
    case 1:
        return (uint64_t)-1;
    case 2:
        return 1ULL << below(64);
    case 3:
        return (1ULL << below(64)) - 1;
    case 4:
        return fd_count ? (uint64_t)fds[below(fd_count)] : 0;
    case 5:
        return (uint64_t)AT_FDCWD;
    case 6:
        return 4096 * below(32);
    default:
        return next();
    }
}

static uint64_t argument(void)
{
    return below(3) == 0 ? pointer() : number_like();
}

/* Memory calls only ever name the sandbox or hostile addresses, never this program's
 * own code, data or stack (that would end the run, not test the monitor). */
static int is_memory_call(uint64_t number)
{
    return number == SYS_mmap || number == SYS_munmap || number == SYS_mprotect ||
           number == SYS_mremap || number == SYS_madvise || number == SYS_brk ||
           number == SYS_msync || number == SYS_mlock || number == SYS_munlock ||
           number == SYS_mincore || number == SYS_pkey_mprotect || number == SYS_shmat ||
           number == SYS_shmdt || number == SYS_process_madvise;
}

static void fill_sandbox(void)
{
    /* Strings a path argument may land on: safe ones only (the scratch directory, a
     * path that does not exist, the program's own /proc view). No device: as root the
     * monitor could unlink or chmod a host device node. */
    static const char *const paths[] = {
        "f",
        "d/e",
        "",
        ".",
        "..",
        "/nonexistent/x",
        "/proc/self/maps",
        "/proc/self/mem",
        "/proc/self/fd/0",
        "/proc/self/environ",
        "/proc/1/mem",
        "/proc/self/cwd/f",
    };
    for (size_t page = 0; page < SANDBOX_PAGES; page++) {
        for (size_t i = 0; i < 4096; i += 64) {
            const char *path = paths[below(sizeof(paths) / sizeof(paths[0]))];
            if (below(2))
                strcpy((char *)sandbox + page * 4096 + i, path);
            else
                for (size_t k = 0; k < 64; k += 8)
                    *(uint64_t *)(sandbox + page * 4096 + i + k) = argument();
        }
    }
}

static void make_fds(void)
{
    int pipe_fds[2], pair[2];
    fds[fd_count++] = open("f", O_RDWR | O_CREAT | O_NONBLOCK, 0644);
    if (pipe2(pipe_fds, O_NONBLOCK) == 0) {
        fds[fd_count++] = pipe_fds[0];
        fds[fd_count++] = pipe_fds[1];
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair) == 0) {
        fds[fd_count++] = pair[0];
        fds[fd_count++] = pair[1];
    }
    fds[fd_count++] = eventfd(0, EFD_NONBLOCK);
    fds[fd_count++] = open(".", O_RDONLY | O_DIRECTORY);
    mkdir("d", 0755);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    state = strtoull(argv[1], NULL, 0) * 2654435761ULL + 1;
    long count = atol(argv[2]);
    int verbose = getenv("FUZZ_VERBOSE") != NULL;
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    sandbox = mmap(NULL, SANDBOX_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (sandbox == MAP_FAILED)
        return 2;
    make_fds();
    for (long i = 0; i < count; i++) {
        if (i % 256 == 0)
            fill_sandbox();
        /* Numbers the monitor answered ENOSYS are tried again only rarely: the
         * budget goes to the calls it implements. */
        static uint8_t unimplemented[MAX_NUMBER + 8];
        uint64_t number;
        do
            number = below(MAX_NUMBER + 8);
        while (is_refused(number) || (unimplemented[number] && below(32)));
        uint64_t a[6];
        for (int k = 0; k < 6; k++)
            a[k] = argument();
        if (is_memory_call(number))
            a[0] = below(2) ? pointer() : 0;
        /* fallocate really allocates: a huge length on a memfd filled the host's RAM
         * until the OOM killer ended the monitor (it would natively too). */
        if (number == SYS_fallocate)
            a[3] = below(1 << 20);
        if (verbose)
            fprintf(stderr, "%ld: syscall(%lu, %#lx, %#lx, %#lx, %#lx, %#lx, %#lx)\n", i,
                    (unsigned long)number, (unsigned long)a[0], (unsigned long)a[1],
                    (unsigned long)a[2], (unsigned long)a[3], (unsigned long)a[4],
                    (unsigned long)a[5]);
        long result = syscall((long)number, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (result < 0 && errno == ENOSYS)
            unimplemented[number] = 1;
        /* A new fd: keep it from blocking a later call, and the table small. */
        if (result > fd_count + 4 && result < 1024) {
            if (result > 64)
                close((int)result);
            else
                fcntl((int)result, F_SETFL, O_NONBLOCK);
        }
    }
    printf("done\n");
    return 0;
}
