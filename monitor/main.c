/* monitor/main.c — hermitux-run's entry point. */
#include "config.h"
#include "monitor/monitor.h"

#include <glib.h>
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv)
{
    monitor_reserve_fds();
    struct monitor_options options;
    char *error = NULL;
    switch (monitor_parse_options(argc, argv, environ, &options, &error)) {
    case MONITOR_PARSE_EXIT:
        return 0;
    case MONITOR_PARSE_ERROR:
        fprintf(stderr, "hermitux-run: %s\n", error);
        g_free(error);
        return 2;
    case MONITOR_PARSE_RUN:
        break;
    }
    int status = monitor_run(&options);
    monitor_options_free(&options);
    return status;
}
