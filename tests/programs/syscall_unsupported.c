/* syscall_unsupported: an unknown system call returns -1/ENOSYS and the program goes on;
 * fork() and execve() succeed (natively and under hermitux-run), and the program says so.
 * Prints only stable facts; exits 0 unless something is wrong. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--execed") == 0) {
        printf("execve succeeded natively\n");
        return 0;
    }
    int failures = 0;

    errno = 0;
    long result = syscall(999);
    printf("syscall(999): %ld %s\n", result, errno == ENOSYS ? "ENOSYS" : "(not ENOSYS)");
    failures += result != -1 || errno != ENOSYS;
    errno = 0;
    result = syscall(100000);
    printf("syscall(100000): %ld %s\n", result, errno == ENOSYS ? "ENOSYS" : "(not ENOSYS)");
    failures += result != -1 || errno != ENOSYS;

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    if (pid < 0) {
        printf("fork failed as expected\n");
    } else {
        int status = 0;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
            failures++;
        printf("fork succeeded natively\n");
    }

    printf("%s\n", failures ? "syscall_unsupported FAILED" : "calling execve");
    fflush(stdout);
    char *args[] = {argv[0], "--execed", NULL};
    char *env[] = {NULL};
    execve(argv[0], args, env);
    printf("execve failed as expected\n");
    return failures != 0;
}
