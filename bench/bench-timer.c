/* bench-timer: run commands repeatedly, interleaved, and report wall-clock statistics and
 * peak RSS of each.
 *
 *   bench-timer [-n RUNS] [-w WARMUP] [-q] -- CMD [ARGS...] [--- CMD [ARGS...]]...
 *
 * Each round runs every command once, in order (so a noisy neighbour hurts all commands
 * alike); WARMUP rounds (default 2) are run first and not counted. Each run is a
 * fork/execvp/wait4 timed with CLOCK_MONOTONIC from just before fork() to just after
 * wait4(). The command's stdout goes to /dev/null (stderr too with -q). One line per
 * command on stdout:
 *
 *   median_ns min_ns p25_ns p75_ns max_ns maxrss_kb cpu_ns
 *
 * maxrss_kb is the median over the counted runs of the child's ru_maxrss, cpu_ns the
 * median of its user + system CPU time (less sensitive than wall time to other load on a
 * shared machine, but blind to time spent waiting). Exits 1 if any
 * run does not exit with status 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_COMMANDS 16

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Runs argv once; stores its wall time and peak RSS. Returns 0 if it exited with 0. */
static int run_once(char **argv, int quiet, uint64_t *wall_ns, uint64_t *maxrss_kb,
                    uint64_t *cpu_ns)
{
    uint64_t start = now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench-timer: fork");
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            if (quiet)
                dup2(null, STDERR_FILENO);
            close(null);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "bench-timer: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage usage;
    pid_t done;
    do
        done = wait4(pid, &status, 0, &usage);
    while (done < 0 && errno == EINTR);
    *wall_ns = now_ns() - start;
    if (done < 0) {
        perror("bench-timer: wait4");
        return -1;
    }
    *maxrss_kb = (uint64_t)usage.ru_maxrss;
    *cpu_ns = ((uint64_t)usage.ru_utime.tv_sec + (uint64_t)usage.ru_stime.tv_sec) * 1000000000u +
              ((uint64_t)usage.ru_utime.tv_usec + (uint64_t)usage.ru_stime.tv_usec) * 1000u;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench-timer: %s: exit status 0x%x\n", argv[0], (unsigned)status);
        return -1;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-timer [-n RUNS] [-w WARMUP] [-q] -- CMD [ARGS...] "
                    "[--- CMD [ARGS...]]...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int runs = 20, warmup = 2, quiet = 0, opt;
    while ((opt = getopt(argc, argv, "+n:w:q")) != -1) {
        switch (opt) {
        case 'n':
            runs = atoi(optarg);
            break;
        case 'w':
            warmup = atoi(optarg);
            break;
        case 'q':
            quiet = 1;
            break;
        default:
            usage();
        }
    }
    if (runs < 1 || warmup < 0 || optind >= argc)
        usage();

    /* Split the rest at "---" into commands, each NULL-terminated in place. */
    char **commands[MAX_COMMANDS];
    int ncommands = 0;
    commands[ncommands++] = &argv[optind];
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "---") == 0) {
            if (ncommands == MAX_COMMANDS)
                usage();
            argv[i] = NULL;
            commands[ncommands++] = &argv[i + 1];
        }
    }
    for (int c = 0; c < ncommands; c++)
        if (commands[c][0] == NULL)
            usage();

    uint64_t *wall = calloc((size_t)runs * ncommands, sizeof *wall);
    uint64_t *rss = calloc((size_t)runs * ncommands, sizeof *rss);
    uint64_t *cpu = calloc((size_t)runs * ncommands, sizeof *cpu);
    if (!wall || !rss || !cpu) {
        perror("bench-timer");
        return 1;
    }
    int failed = 0;
    for (int round = -warmup; round < runs; round++) {
        for (int c = 0; c < ncommands; c++) {
            uint64_t w = 0, r = 0, u = 0;
            if (run_once(commands[c], quiet, &w, &r, &u) != 0)
                failed = 1;
            if (round >= 0) {
                wall[(size_t)c * runs + round] = w;
                rss[(size_t)c * runs + round] = r;
                cpu[(size_t)c * runs + round] = u;
            }
        }
    }
    for (int c = 0; c < ncommands; c++) {
        uint64_t *w = &wall[(size_t)c * runs], *r = &rss[(size_t)c * runs];
        uint64_t *u = &cpu[(size_t)c * runs];
        qsort(w, (size_t)runs, sizeof *w, compare_u64);
        qsort(r, (size_t)runs, sizeof *r, compare_u64);
        qsort(u, (size_t)runs, sizeof *u, compare_u64);
        printf("%llu %llu %llu %llu %llu %llu %llu\n",
               (unsigned long long)((w[(runs - 1) / 2] + w[runs / 2]) / 2),
               (unsigned long long)w[0], (unsigned long long)w[runs / 4],
               (unsigned long long)w[(3 * runs) / 4], (unsigned long long)w[runs - 1],
               (unsigned long long)r[runs / 2],
               (unsigned long long)((u[(runs - 1) / 2] + u[runs / 2]) / 2));
    }
    free(wall);
    free(rss);
    free(cpu);
    return failed;
}
