/* monitor/main.c — hermitux-run's entry point. */
#include "config.h"
#include "accel/accel.h"
#include "launcher/launcher.h"
#include "monitor/guest.h"
#include "monitor/monitor.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/*
 * GLib before 2.76 has its own slice allocator with global locks, used for
 * every GList, GQueue node and GHashTable (by Unicorn too, translating on
 * every tcg vCPU thread). A guest fork is a host fork of the threaded
 * monitor: a lock another thread held at that instant stays held in the
 * child, whose first slice (Unicorn's hash tables, building its VM) then
 * waits forever (thread_end vfork on tcg under ASan, where the windows are
 * wider, hung 1 run in 2). G_SLICE=always-malloc makes slices plain malloc,
 * which glibc keeps usable across fork. GLib reads it in its own
 * initializer, before main, so the launcher that executes this monitor
 * (launcher/launcher.c) sets it, with the variables meant for the program
 * alone renamed out of the monitor's way.
 *
 * The environment the program gets: the one the launcher was given, in its
 * order. A monitor started some other way (not the launcher, as a guest
 * execve's, which reads the program's from --exec-env-fd) takes its own.
 */
static char **program_environment(void)
{
    if (!g_strv_contains((const char *const *)environ, LAUNCHER_MARK_ENTRY))
        return g_get_environ();
    GPtrArray *entries = g_ptr_array_new();
    for (char **entry = environ; *entry; entry++) {
        const char *program = launcher_program_entry(*entry);
        if (program)
            g_ptr_array_add(entries, g_strdup(program));
    }
    g_ptr_array_add(entries, NULL);
    return (char **)g_ptr_array_free(entries, FALSE);
}

/*
 * After a guest execve, the host shows this monitor as the program: its
 * command line (ps, pidof, /proc/PID/cmdline) becomes the program's argv,
 * written over the hidden options in place, as setproctitle does. The rest
 * of the area is zeroed: a reader of /proc/PID/cmdline sees empty
 * arguments after the program's (moving the area's end takes
 * PR_SET_MM, which needs CAP_SYS_RESOURCE). The options are parsed by then; nothing reads
 * argv's strings again.
 */
static void show_program_argv(int argc, char **argv, char *const *program_argv)
{
    if (argc < 1)
        return;
    char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
    for (int i = 1; i < argc; i++)
        if (argv[i] != argv[i - 1] + strlen(argv[i - 1]) + 1)
            return; /* not the kernel's contiguous layout: leave it */
    char *cursor = start;
    for (char *const *arg = program_argv; *arg && cursor < end; arg++) {
        size_t length = MIN(strlen(*arg) + 1, (size_t)(end - cursor));
        memmove(cursor, *arg, length);
        cursor += length;
    }
    memset(cursor, 0, (size_t)(end - cursor));
    end[-1] = '\0';
}

int main(int argc, char **argv)
{
    monitor_reserve_fds();
    struct monitor_options options;
    char *error = NULL;
    char **environment = program_environment();
    enum monitor_parse_result parsed =
        monitor_parse_options(argc, argv, environment, &options, &error);
    g_strfreev(environment);
    switch (parsed) {
    case MONITOR_PARSE_EXIT:
        return 0;
    case MONITOR_PARSE_ERROR:
        fprintf(stderr, "hermitux-run: %s\n", error);
        g_free(error);
        return 2;
    case MONITOR_PARSE_RUN:
        break;
    }
    /* A backend loaded on demand loads while the monitor sets up. */
    accel_prepare(options.accel);
    if (options.has_exec_state)
        show_program_argv(argc, argv, options.program_argv);
    struct monitor_outcome outcome = {0};
    bool exec_state = options.has_exec_state;
    int status = monitor_run(&options, &outcome);
    monitor_options_free(&options);
    /* A program that dies of a signal has its parent see that, as natively
     * (a shell prints "Segmentation fault", subprocess gives -11): the
     * monitor dies of it too, without a host core of its own. */
    if (outcome.signal > 0 || exec_state || outcome.teardown_left)
        monitor_exit_as_program(status, outcome.signal, outcome.core_limit, outcome.teardown_left);
    return status;
}
