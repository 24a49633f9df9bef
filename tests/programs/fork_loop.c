/* fork_loop: N fork + exit + wait round trips, or with PROGRAM N fork + execve PROGRAM +
 * wait, for benchmarks (the cost of a child process). Usage: fork_loop N [PROGRAM]. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 0, failures = 0;
    char *program = argc > 2 ? argv[2] : NULL;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (program) {
                int null = open("/dev/null", 1);
                dup2(null, 1);
                char *args[] = {program, NULL};
                execv(program, args);
            }
            _exit(program ? 127 : 0);
        }
        int status = -1;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
            failures++;
    }
    printf("fork round trips: %ld\nfailures: %ld\n", n, failures);
    return failures != 0;
}
