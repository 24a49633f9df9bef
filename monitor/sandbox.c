/*
 * monitor/sandbox.c — the monitor confines itself once it is set up: a
 * seccomp filter, on every thread, that refuses the host syscalls
 * linux/host_syscalls.c does not allow (strict, the default) or lists as
 * refused (--sandbox=deny). A refused call never runs: it traps, the monitor
 * says which call it was and dies of SIGSYS. A guest that took the monitor
 * over could then still do what the monitor does for it, and nothing more
 * (see docs/SECURITY.md).
 */
#include "config.h"
#include "monitor/monitor.h"

#include <errno.h>
#include <sched.h>
#include <glib.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/linux.h"

/* si_code of a SIGSYS from a seccomp trap (glibc's SYS_SECCOMP, which
 * this file's feature macros do not reach). */
#define SANDBOX_SI_SECCOMP 1

/* The x32 ABI's syscall numbers carry this bit: none is the monitor's. */
#define X32_SYSCALL_BIT 0x40000000u

static void add(GArray *program, struct sock_filter instruction)
{
    g_array_append_val(program, instruction);
}

/* arch == x86-64 and not x32, else kill; the instructions that follow decide. */
static GArray *filter_start(void)
{
    GArray *program = g_array_new(FALSE, FALSE, sizeof(struct sock_filter));
    add(program, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                              offsetof(struct seccomp_data, arch)));
    add(program, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
    add(program, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    add(program,
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
    add(program, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1));
    add(program, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    return program;
}

/* unshare(CLONE_FS) passes, any other unshare traps (both filters refuse
 * unshare by number): a process sharing the program's memory without
 * CLONE_FS runs on a host thread of this monitor that takes an fs_struct
 * of its own for its own umask (linux/thread.c). Namespaces stay out. The
 * accumulator still holds the number for what follows. */
static void allow_unshare_fs(GArray *program)
{
    add(program, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 6));
    add(program, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                              offsetof(struct seccomp_data, args[0]) + 4));
    add(program, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3));
    add(program, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                              offsetof(struct seccomp_data, args[0])));
    add(program, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, CLONE_FS, 0, 1));
    add(program, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    add(program, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP));
}

static int compare_numbers(const void *a, const void *b)
{
    uint32_t left = *(const uint32_t *)a, right = *(const uint32_t *)b;
    return left < right ? -1 : left > right;
}

/* A run of consecutive syscall numbers, lo to hi inclusive. */
struct number_run {
    uint32_t lo, hi;
};

/* Up to this many runs are tested one after the other. */
#define SANDBOX_LEAF_RUNS 4

/*
 * Returns `listed` for the numbers in the runs (sorted, apart) and
 * `otherwise` for the rest of the accumulator's values, by binary search
 * over the runs: the kernel runs a new filter for every syscall number when
 * it installs it (its action cache), and the strict list's 260 numbers
 * tested one by one (534 instructions) took 0.43 ms of every start; as 36
 * runs it is 131 instructions (0.07 to 0.13 ms). Classic BPF jumps forward only, by at
 * most 255 when conditional: a node's test falls through to an
 * unconditional jump over its lower half to its upper.
 */
static void add_search(GArray *program, const struct number_run *runs, size_t count,
                       uint32_t listed, uint32_t otherwise)
{
    if (count <= SANDBOX_LEAF_RUNS) {
        /* Run i: below lo, none of the rest; up to hi, listed. Then the
         * two returns, at 2 * count and 2 * count + 1. */
        for (size_t i = 0; i < count; i++) {
            uint8_t to_returns = (uint8_t)(2 * (count - i) - 1);
            add(program,
                (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, runs[i].lo, 0, to_returns));
            add(program,
                (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, runs[i].hi, 0, to_returns));
        }
        add(program, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, otherwise));
        add(program, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, listed));
        return;
    }
    size_t half = count / 2;
    add(program, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, runs[half].lo, 0, 1));
    guint over_lower = program->len;
    add(program, (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0));
    add_search(program, runs, half, listed, otherwise);
    g_array_index(program, struct sock_filter, over_lower).k = program->len - over_lower - 1;
    add_search(program, runs + half, count - half, listed, otherwise);
}

static GArray *build_list_filter(const int *numbers, size_t count, uint32_t listed,
                                 uint32_t otherwise)
{
    GArray *program = filter_start();
    allow_unshare_fs(program);
    uint32_t *sorted = g_new(uint32_t, count ? count : 1);
    for (size_t i = 0; i < count; i++)
        sorted[i] = (uint32_t)numbers[i];
    qsort(sorted, count, sizeof(*sorted), compare_numbers);
    struct number_run *runs = g_new(struct number_run, count ? count : 1);
    size_t run_count = 0;
    for (size_t i = 0; i < count; i++) {
        if (run_count > 0 && sorted[i] <= runs[run_count - 1].hi + 1)
            runs[run_count - 1].hi = MAX(runs[run_count - 1].hi, sorted[i]);
        else
            runs[run_count++] = (struct number_run){sorted[i], sorted[i]};
    }
    add_search(program, runs, run_count, listed, otherwise);
    g_free(runs);
    g_free(sorted);
    return program;
}

/* Strict: the allowed numbers pass, the rest trap. Deny: the refused
 * numbers trap, the rest pass. */
static GArray *build_filter(bool strict)
{
    size_t count;
    if (strict) {
        const int *allowed = linux_host_syscalls_allowed(&count);
        return build_list_filter(allowed, count, SECCOMP_RET_ALLOW, SECCOMP_RET_TRAP);
    }
    const int *refused = linux_host_syscalls_refused(&count);
    return build_list_filter(refused, count, SECCOMP_RET_TRAP, SECCOMP_RET_ALLOW);
}

struct sock_filter *monitor_sandbox_filter(bool strict, size_t *length)
{
    GArray *program = build_filter(strict);
    *length = program->len;
    return (struct sock_filter *)g_array_free(program, FALSE);
}

/* Appends text at *end, within line[size - 1]; signal-safe. */
static size_t append_text(char *line, size_t size, size_t end, const char *text)
{
    while (*text && end + 1 < size)
        line[end++] = *text++;
    return end;
}

static size_t append_number(char *line, size_t size, size_t end, unsigned number)
{
    char digits[12];
    size_t count = 0;
    do {
        digits[count++] = (char)('0' + number % 10);
        number /= 10;
    } while (number && count < sizeof(digits));
    while (count && end + 1 < size)
        line[end++] = digits[--count];
    return end;
}

/* A refused call traps rather than killing at once so that the user learns
 * which call it was and what to do (a bare "Bad system call" said neither);
 * the monitor then dies of SIGSYS all the same, as before. Signal-safe: only
 * write, sigaction, sigprocmask and tgkill, all allowed. A SIGSYS sent from
 * outside ends the monitor the same way, without the line. */
static void on_refused_syscall(int signal, siginfo_t *info, void *context)
{
    (void)context;
    if (info->si_code == SANDBOX_SI_SECCOMP) {
        char line[256];
        size_t end = 0;
        const char *name = linux_syscall_name((uint64_t)info->si_syscall);
        end =
            append_text(line, sizeof(line), end, "hermitux-run: the sandbox refused host syscall ");
        end = append_text(line, sizeof(line), end, name ? name : "?");
        end = append_text(line, sizeof(line), end, " (");
        end = append_number(line, sizeof(line), end, (unsigned)info->si_syscall);
        end = append_text(line, sizeof(line), end,
                          ") made by the monitor itself; run again with --sandbox=deny or "
                          "--no-sandbox, and report it\n");
        ssize_t written = write(STDERR_FILENO, line, end);
        (void)written;
    }
    struct sigaction fatal = {.sa_handler = SIG_DFL};
    sigemptyset(&fatal.sa_mask);
    sigaction(signal, &fatal, NULL);
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, signal);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    syscall(SYS_tgkill, getpid(), gettid(), signal);
}

static void catch_refused_syscalls(void)
{
    struct sigaction action = {.sa_sigaction = on_refused_syscall, .sa_flags = SA_SIGINFO};
    sigemptyset(&action.sa_mask);
    sigaction(SIGSYS, &action, NULL);
}

int monitor_sandbox_enter(bool verbose, char **error)
{
    return monitor_sandbox_enter_mode(false, verbose, error);
}

int monitor_sandbox_enter_mode(bool strict, bool verbose, char **error)
{
    /* Before the filter: a refused call is reported from the first moment
     * on, and an execve's new monitor, which inherits the filter but not
     * the handler, sets it again here. */
    catch_refused_syscalls();
    /* A monitor started by a guest's execve inherits the filter already:
     * stacking one per exec would run into the kernel's limit. */
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2) {
        if (verbose)
            fprintf(stderr, "hermitux-run: sandbox: seccomp on (inherited)\n");
        return 0;
    }
    GArray *program = build_filter(strict);
    struct sock_fprog filter = {.len = (unsigned short)program->len,
                                .filter = (struct sock_filter *)program->data};
    int result = 0;
    /* Without privileges a filter needs no_new_privs; the monitor never
     * gains any (a guest's execve runs hermitux-run again, never a setuid
     * file). TSYNC puts the filter on every thread already running. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &filter) != 0) {
        *error = g_strdup_printf("cannot enter the seccomp sandbox: %s (--no-sandbox runs "
                                 "without it)",
                                 g_strerror(errno));
        result = -1;
    } else if (verbose) {
        size_t count;
        if (strict) {
            linux_host_syscalls_allowed(&count);
            fprintf(stderr,
                    "hermitux-run: sandbox: seccomp on (strict), %zu host syscalls allowed\n",
                    count);
        } else {
            linux_host_syscalls_refused(&count);
            fprintf(stderr, "hermitux-run: sandbox: seccomp on, %zu host syscalls refused\n",
                    count);
        }
    }
    g_array_free(program, TRUE);
    return result;
}
