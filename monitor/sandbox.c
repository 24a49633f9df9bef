/*
 * monitor/sandbox.c — the monitor confines itself once it is set up: a
 * seccomp filter, on every thread, that kills the monitor process for any
 * host syscall linux/host_syscalls.c lists. A guest that took the monitor
 * over could then still do what the monitor does for it, and nothing more
 * of what is listed there (see docs/SECURITY.md).
 */
#include "config.h"
#include "monitor/monitor.h"

#include <errno.h>
#include <glib.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/linux.h"

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

/* Each listed number returns `listed`, with a test and a return per number
 * (no jump grows with the list); any other returns `otherwise`. */
static GArray *build_list_filter(const int *numbers, size_t count, uint32_t listed,
                                 uint32_t otherwise)
{
    GArray *program = filter_start();
    for (size_t i = 0; i < count; i++) {
        add(program,
            (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)numbers[i], 0, 1));
        add(program, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, listed));
    }
    add(program, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, otherwise));
    return program;
}

/* Deny (default): the refused numbers kill, the rest pass. Strict: the
 * allowed numbers pass, the rest kill. */
static GArray *build_filter(bool strict)
{
    size_t count;
    if (strict) {
        const int *allowed = linux_host_syscalls_allowed(&count);
        return build_list_filter(allowed, count, SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS);
    }
    const int *refused = linux_host_syscalls_refused(&count);
    return build_list_filter(refused, count, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ALLOW);
}

int monitor_sandbox_enter(bool verbose, char **error)
{
    return monitor_sandbox_enter_mode(false, verbose, error);
}

int monitor_sandbox_enter_mode(bool strict, bool verbose, char **error)
{
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
