/*
 * launcher/launcher.c — the `hermitux-run` that users start: a small static
 * program that executes the monitor (hermitux-run-monitor, a dynamically
 * linked program) with an environment of its own.
 *
 * Variables meant for the program's dynamic loader and C library
 * (LD_PRELOAD, LD_LIBRARY_PATH, LD_DEBUG, LD_TRACE_LOADED_OBJECTS,
 * MALLOC_*, GLIBC_TUNABLES) would otherwise act on the monitor as well: its
 * own ld.so loads an LD_PRELOAD'd library into it and runs its
 * constructors, LD_DEBUG traces the monitor's libraries, `ldd`'s
 * LD_TRACE_LOADED_OBJECTS lists them instead of running the program. They
 * act before any code of a dynamically linked program runs, so only a
 * program without an ld.so can take them away: this one (static glibc
 * ignores them). Each such entry reaches the monitor renamed, with
 * LAUNCHER_ENV_PREFIX in front, in its place; the monitor gives the program
 * the environment back as it was, in its order (monitor/main.c).
 *
 * The monitor also gets G_SLICE=always-malloc (monitor/main.c says why), so
 * it no longer executes itself again to set it; the user's own G_SLICE is
 * the program's, renamed like the others.
 *
 * Keep this small: it runs before every hermitux-run.
 */
#include "config.h"
#include "launcher/launcher.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The monitor: beside this binary (the build tree), else where `make
 * install` puts it. */
static const char *monitor_path(char *buffer, size_t size)
{
    char self[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (length > 0) {
        self[length] = '\0';
        snprintf(buffer, size, "%s/%s", dirname(self), LAUNCHER_MONITOR_NAME);
        if (access(buffer, X_OK) == 0)
            return buffer;
    }
    return HERMITUX_MONITOR_INSTALLED;
}

int main(int argc, char **argv, char **envp)
{
    (void)argc;
    size_t count = 0;
    while (envp[count])
        count++;
    /* Every entry, the added G_SLICE and the mark, and the NULL. */
    char **monitor_env = calloc(count + 3, sizeof(char *));
    if (!monitor_env) {
        fprintf(stderr, "hermitux-run: out of memory\n");
        return 1;
    }
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        if (!launcher_is_program_only(envp[i])) {
            monitor_env[used++] = envp[i];
            continue;
        }
        size_t length = strlen(LAUNCHER_ENV_PREFIX) + strlen(envp[i]) + 1;
        char *renamed = malloc(length);
        if (!renamed) {
            fprintf(stderr, "hermitux-run: out of memory\n");
            return 1;
        }
        snprintf(renamed, length, "%s%s", LAUNCHER_ENV_PREFIX, envp[i]);
        monitor_env[used++] = renamed;
    }
    monitor_env[used++] = LAUNCHER_SLICE_ENTRY;
    monitor_env[used++] = LAUNCHER_MARK_ENTRY;
    monitor_env[used] = NULL;
    char buffer[PATH_MAX + sizeof(LAUNCHER_MONITOR_NAME) + 1];
    const char *monitor = monitor_path(buffer, sizeof(buffer));
    execve(monitor, argv, monitor_env);
    fprintf(stderr, "hermitux-run: cannot start the monitor %s: %s\n", monitor, strerror(errno));
    return 1;
}
