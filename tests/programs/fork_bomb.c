/* fork_bomb: with RLIMIT_NPROC lowered to a few more than the user already runs, forks
 * children (each blocked on a pipe) until fork fails; it must fail with EAGAIN, and all
 * children are reaped. Run it as an unprivileged user: root ignores RLIMIT_NPROC.
 * Prints no counts (a monitor's threads count against the limit too). */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 200

int main(void)
{
    int blocker[2];
    if (pipe(blocker) != 0)
        return 2;
    struct rlimit limit;
    getrlimit(RLIMIT_NPROC, &limit);
    /* The user's current task count is unknown here: lower the limit step by step until
     * a fork fails, starting from what is surely enough for a few children. */
    limit.rlim_cur = limit.rlim_max = 64;
    if (setrlimit(RLIMIT_NPROC, &limit) != 0) {
        printf("setrlimit: errno %d\n", errno);
        return 1;
    }
    int children = 0, error = 0;
    while (children < MAX_CHILDREN) {
        pid_t pid = fork();
        if (pid == 0) {
            char byte;
            close(blocker[1]);
            _exit(read(blocker[0], &byte, 1) == 0 ? 0 : 1);
        }
        if (pid < 0) {
            error = errno;
            break;
        }
        children++;
    }
    close(blocker[1]);
    int reaped = 0, status;
    while (wait(&status) > 0)
        reaped += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("fork failed: %s\n", error == EAGAIN ? "EAGAIN" : error ? "other error" : "never");
    printf("every child reaped: %s\n", reaped == children ? "yes" : "no");
    return error == EAGAIN && reaped == children ? 0 : 1;
}
