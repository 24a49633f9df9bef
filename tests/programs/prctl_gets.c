/* prctl_gets: prctl's read-only questions and fcntl's write-lifetime hints, as a program
 * sees them: seccomp mode, timing, machine-check policy, MDWE, KSM merging, the
 * clear-child-tid address (against set_tid_address), perf events on and off, and
 * F_SET_RW_HINT/F_GET_RW_HINT on a file in DIR. Prints each result.
 *   prctl_gets DIR */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long result)
{
    if (result < 0)
        printf("%s: errno %d\n", what, errno);
    else
        printf("%s: %ld\n", what, result);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 1;
    show("PR_GET_SECCOMP", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    show("PR_GET_TIMING", prctl(PR_GET_TIMING, 0, 0, 0, 0));
    show("PR_MCE_KILL_GET", prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
    show("PR_GET_MDWE", prctl(66, 0, 0, 0, 0));
    show("PR_GET_MEMORY_MERGE", prctl(68, 0, 0, 0, 0));
    show("PR_TASK_PERF_EVENTS_DISABLE", prctl(PR_TASK_PERF_EVENTS_DISABLE, 0, 0, 0, 0));
    show("PR_TASK_PERF_EVENTS_ENABLE", prctl(PR_TASK_PERF_EVENTS_ENABLE, 0, 0, 0, 0));
    uint64_t old = 0, now = 0;
    static int word;
    show("PR_GET_TID_ADDRESS", prctl(PR_GET_TID_ADDRESS, &old, 0, 0, 0));
    printf("the C library set one: %s\n", old ? "yes" : "no");
    syscall(SYS_set_tid_address, &word);
    prctl(PR_GET_TID_ADDRESS, &now, 0, 0, 0);
    printf("set_tid_address's seen: %s\n", now == (uint64_t)(uintptr_t)&word ? "yes" : "no");
    syscall(SYS_set_tid_address, (void *)(uintptr_t)old);
    show("PR_GET_TID_ADDRESS to NULL", prctl(PR_GET_TID_ADDRESS, NULL, 0, 0, 0));
    char path[4096];
    snprintf(path, sizeof(path), "%s/prctl_gets.txt", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 1;
    uint64_t hint = 2; /* RWH_WRITE_LIFE_SHORT */
    show("F_SET_RW_HINT", fcntl(fd, 1036, &hint));
    hint = 0;
    show("F_GET_RW_HINT", fcntl(fd, 1035, &hint));
    printf("hint read back: %llu\n", (unsigned long long)hint);
    show("F_GET_RW_HINT to NULL", fcntl(fd, 1035, NULL));
    unlink(path);
    return 0;
}
