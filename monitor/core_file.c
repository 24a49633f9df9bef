/*
 * monitor/core_file.c — the program's core file when it dies of a signal
 * whose default action dumps core: to --core FILE, else where the host's
 * kernel.core_pattern puts a native one, as Linux would write it for the
 * program (its RLIMIT_CORE, its cwd, its pid and name in the pattern).
 *
 * The monitor itself never dumps (monitor_exit_as_program): its core would
 * be the monitor's memory, not the program's, and would replace the
 * program's where the pattern names the same file. So the parent's wait
 * status has no WCOREDUMP: only the kernel, dumping the dying process
 * itself, sets that bit, and nothing else can.
 */
#include "config.h"
#include "monitor/guest.h"
#include "report/report.h"

#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* A one-line /proc/sys file without its newline; NULL if unreadable. */
static char *read_sysctl(const char *path)
{
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    text[strcspn(text, "\n")] = '\0';
    return text;
}

/* The pattern's name for this program's death (report_core_name). */
static char *core_name(const char *pattern, struct guest *guest, int signal,
                       const struct report_thread *dying, uint64_t limit)
{
    struct utsname host;
    if (uname(&host) != 0)
        g_strlcpy(host.nodename, "localhost", sizeof(host.nodename));
    char *exe = guest->program.path ? realpath(guest->program.path, NULL) : NULL;
    char *uses_pid = read_sysctl("/proc/sys/kernel/core_uses_pid");
    struct report_core_values values = {
        .pid = getpid(), /* the program's pid is the monitor's */
        .tid = dying->tid,
        .uid = getuid(),
        .gid = getgid(),
        .signal = signal,
        .time = (int64_t)time(NULL),
        .hostname = host.nodename,
        .comm = dying->name,
        .exe = exe ? exe : (guest->program.path ? guest->program.path : ""),
        .limit = limit,
    };
    char *name = report_core_name(pattern, uses_pid && atoi(uses_pid) != 0, &values);
    free(exe);
    g_free(uses_pid);
    return name;
}

/* Where Linux would put the program's core: a file the pattern names,
 * opened as the program would open it. Silent as Linux is, except with -v. */
static void dump_by_pattern(const struct monitor_options *options, struct guest *guest, int signal,
                            const struct report_thread *threads, size_t count)
{
    uint64_t limit = guest->process ? linux_core_limit(guest->process) : 0;
    /* ELF's min_coredump: Linux writes no core file under a page. */
    if (limit < GUEST_PAGE_SIZE)
        return;
    char *pattern = read_sysctl("/proc/sys/kernel/core_pattern");
    if (!pattern || !*pattern) {
        g_free(pattern);
        return;
    }
    if (pattern[0] == '|') {
        /* The host's handler (systemd-coredump, apport) would take a core
         * of the monitor, not of the program: none is written. */
        if (options->verbose)
            fprintf(stderr,
                    "hermitux-run: no core file: kernel.core_pattern pipes cores to %s, which "
                    "would get the monitor's, not the program's\n",
                    pattern + 1);
        g_free(pattern);
        return;
    }
    char *name = core_name(pattern, guest, signal, &threads[0], limit);
    g_free(pattern);
    int fd =
        linux_debugger_open(guest->process, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    char *error = NULL;
    if (fd < 0)
        error = g_strdup_printf("cannot open it: %s", strerror(-fd));
    else if (report_write_core_fd(fd, name, guest, signal, threads, count, &error) == 0 &&
             (uint64_t)lseek(fd, 0, SEEK_END) > limit)
        /* Linux stops writing at the limit. */
        (void)!ftruncate(fd, (off_t)limit);
    if (fd >= 0)
        close(fd);
    if (options->verbose && error)
        fprintf(stderr, "hermitux-run: no core file %s: %s\n", name, error);
    else if (options->verbose)
        fprintf(stderr, "hermitux-run: core dumped to %s (kernel.core_pattern)\n", name);
    g_free(error);
    g_free(name);
}

void monitor_dump_core(const struct monitor_options *options, struct guest *guest, int signal,
                       const struct report_thread *threads, size_t count)
{
    if (count == 0 || !linux_signal_dumps_core(signal))
        return;
    if (options->core_path)
        report_dump_core(stderr, options->core_path, guest, signal, threads, count);
    else
        dump_by_pattern(options, guest, signal, threads, count);
}
