/* processes: fork, vfork, execve, the wait statuses, identity, as a shell uses them.
 * Usage: processes all DIR (DIR: a scratch directory) | processes fdcheck N...
 * Prints only deterministic facts (no pids); exits non-zero when something is wrong. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;
static const char *self;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

static void describe(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by signal %d%s\n", what, WTERMSIG(status),
               WCOREDUMP(status) ? " (core)" : "");
    else if (WIFSTOPPED(status))
        printf("%s: stopped by signal %d\n", what, WSTOPSIG(status));
    else if (WIFCONTINUED(status))
        printf("%s: continued\n", what);
}

/* Forks a child that runs body and exits with its result; returns its status. */
static int run_child(int (*body)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(body());
    int status = -1;
    check(pid > 0 && waitpid(pid, &status, 0) == pid, "waitpid returns the forked pid");
    return status;
}

static pid_t parent_pid;

static int child_identity(void)
{
    return getppid() == parent_pid && getpid() != parent_pid && getpid() == gettid() ? 42 : 1;
}

/* Credentials are the host process's: setting them to what they are works for any
 * user (what posix_spawn's POSIX_SPAWN_RESETIDS does in glibc). */
static void credentials(void)
{
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    check(getresuid(&ruid, &euid, &suid) == 0 && ruid == getuid() && euid == geteuid(),
          "getresuid");
    check(getresgid(&rgid, &egid, &sgid) == 0 && rgid == getgid() && egid == getegid(),
          "getresgid");
    check(setresuid(-1, euid, -1) == 0 && setresgid(-1, egid, -1) == 0, "setresuid, setresgid");
    check(setreuid(-1, -1) == 0 && setregid(-1, -1) == 0, "setreuid, setregid");
    check(setuid(ruid) == 0 && setgid(rgid) == 0, "setuid, setgid to themselves");
}

/* A new session and process group, led by the child. */
static int child_session(void)
{
    return setsid() == getpid() && getsid(0) == getpid() && getpgrp() == getpid() &&
                   getpgid(0) == getpid()
               ? 43
               : 1;
}

static int child_kill_self(void)
{
    kill(getpid(), SIGTERM);
    return 1;
}

static int child_writes_memory(void)
{
    static int shared_value = 1;
    shared_value = 2; /* a copy: the parent keeps 1 */
    return shared_value;
}

/* After a fork, MAP_SHARED memory (anonymous or a file) is the same in parent and
 * child; MAP_PRIVATE memory is each one's own copy. */
static void shared_memory(const char *directory)
{
    int *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char path[4096];
    snprintf(path, sizeof(path), "%s/shared-file", directory);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    check(fd >= 0 && ftruncate(fd, 4096) == 0, "a file to share");
    int *file = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int *own = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(anon != MAP_FAILED && file != MAP_FAILED && own != MAP_FAILED, "mmap");
    *anon = *file = *own = 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        *anon = 42, *file = 43, *own = 44;
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("after the child wrote: shared anonymous %d, shared file %d, private %d\n", *anon, *file,
           *own);
    close(fd);
}

/* A futex without FUTEX_PRIVATE_FLAG on MAP_SHARED memory: a waiter in a
 * child is woken from the parent (what process-shared mutexes and
 * semaphores do). */
static void shared_futex(void)
{
    uint32_t *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check(word != MAP_FAILED, "mmap for a shared futex");
    *word = 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        while (__atomic_load_n(word, __ATOMIC_SEQ_CST) == 0) {
            struct timespec limit = {10, 0};
            syscall(SYS_futex, word, 0 /* FUTEX_WAIT */, 0, &limit, NULL, 0);
        }
        _exit(0);
    }
    /* Until the child is asleep on the word, a wake finds no one. */
    long woken = 0;
    for (int tries = 0; tries < 500 && woken == 0; tries++) {
        usleep(10000);
        woken = syscall(SYS_futex, word, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
    }
    check(woken == 1, "FUTEX_WAKE in the parent woke the child's waiter");
    __atomic_store_n(word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, word, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
    int status = 0;
    waitpid(pid, &status, 0);
    describe("child waiting on a shared futex", status);
}

static void fork_and_wait(void)
{
    parent_pid = getpid();
    describe("child checking its identity", run_child(child_identity));
    describe("child starting a session", run_child(child_session));
    describe("child killing itself with SIGTERM", run_child(child_kill_self));
    describe("child writing its memory", run_child(child_writes_memory));
    check(wait(NULL) == -1 && errno == ECHILD, "no child left: ECHILD");
}

/* A child blocked in read: stopped, continued and killed by its parent. */
static void stop_continue_kill(void)
{
    int blocker[2];
    check(pipe(blocker) == 0, "pipe");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char byte;
        close(blocker[1]);
        _exit(read(blocker[0], &byte, 1) == 0 ? 3 : 4);
    }
    close(blocker[0]);
    int status = 0;
    check(waitpid(pid, &status, WNOHANG) == 0, "WNOHANG with the child running gives 0");
    kill(pid, SIGSTOP);
    check(waitpid(pid, &status, WUNTRACED) == pid, "WUNTRACED");
    describe("child after SIGSTOP", status);
    kill(pid, SIGCONT);
    check(waitpid(pid, &status, WCONTINUED) == pid, "WCONTINUED");
    describe("child after SIGCONT", status);
    kill(pid, SIGKILL);
    check(waitpid(pid, &status, __WALL) == pid, "__WALL");
    describe("child after SIGKILL", status);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    check(waitid(P_ALL, 0, &info, WEXITED | WNOHANG) == -1 && errno == ECHILD,
          "waitid with no child: ECHILD");
    close(blocker[1]);
}

static void waitid_exited(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(9);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    check(waitid(P_PID, pid, &info, WEXITED) == 0 && info.si_pid == pid, "waitid P_PID");
    printf("waitid: si_signo %d si_code %s si_status %d\n", info.si_signo,
           info.si_code == CLD_EXITED ? "CLD_EXITED" : "other", info.si_status);
}

static void vfork_exit(void)
{
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
        /* The parent sleeps until this child exits: this line comes first. */
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
        static const char line[] = "vfork child: before its parent resumes\n";
        write(1, line, sizeof(line) - 1);
        _exit(5);
    }
    printf("vfork parent: resumed\n");
    fflush(stdout);
    int status = 0;
    check(pid > 0 && waitpid(pid, &status, 0) == pid, "vfork child reaped");
    describe("vfork child", status);
}

/* Closes the write end and prints everything the pipe's writers wrote. */
static void print_pipe(int channel[2], const char *label)
{
    close(channel[1]);
    char buffer[512];
    ssize_t total = 0, got;
    while ((got = read(channel[0], buffer + total, sizeof(buffer) - 1 - total)) > 0)
        total += got;
    buffer[total] = 0;
    close(channel[0]);
    printf("%s:\n%s", label, buffer);
}

/* fork + pipe + dup2 + execve: the child's stdout is the pipe. */
static void pipe_exec(void)
{
    int channel[2];
    check(pipe(channel) == 0, "pipe");
    int closed_on_exec = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int kept = open("/dev/null", O_RDONLY);
    char closed_arg[16], kept_arg[16];
    snprintf(closed_arg, sizeof(closed_arg), "%d", closed_on_exec);
    snprintf(kept_arg, sizeof(kept_arg), "%d", kept);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(channel[1], 1);
        close(channel[0]);
        close(channel[1]);
        char *args[] = {"renamed-argv0", "fdcheck", closed_arg, kept_arg, NULL};
        char *env[] = {"ONLY=this", NULL};
        execve(self, args, env);
        _exit(127);
    }
    print_pipe(channel, "through the pipe");
    int status = 0;
    waitpid(pid, &status, 0);
    describe("exec'd child", status);
    close(closed_on_exec);
    close(kept);
}

/* posix_spawn (what system() and popen() use): clone(CLONE_VM|CLONE_VFORK) in glibc and
 * musl, with file actions run in the child before the exec. */
static void spawn(void)
{
    int channel[2];
    check(pipe(channel) == 0, "pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, channel[1], 1);
    posix_spawn_file_actions_addclose(&actions, channel[0]);
    char *args[] = {"spawned", "fdcheck", "1", NULL};
    char *env[] = {"ONLY=spawned", NULL};
    pid_t pid = -1;
    fflush(stdout);
    check(posix_spawn(&pid, self, &actions, NULL, args, env) == 0, "posix_spawn");
    posix_spawn_file_actions_destroy(&actions);
    print_pipe(channel, "from the spawned child");
    int status = 0;
    check(waitpid(pid, &status, 0) == pid, "waitpid of the spawned child");
    describe("spawned child", status);
}

/* posix_spawn of a program that does not exist reports the exec's error
 * (glibc's child writes it into the parent's memory, musl's into a pipe); a
 * vfork child's writes to its parent's locals are the parent's. */
static void spawn_errors(void)
{
    pid_t pid = -1;
    char *args[] = {"missing", NULL};
    char *env[] = {NULL};
    int result = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, args, env);
    printf("posix_spawn of a missing program -> %s\n", result == ENOENT ? "ENOENT" : "other");
    check(result == ENOENT, "posix_spawn reports ENOENT");
    volatile int local = 1;
    fflush(stdout);
    pid = vfork();
    if (pid == 0) {
        local = 2;
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("after the vfork child wrote it: %d\n", local);
}

static void exec_errors(const char *directory)
{
    char *args[] = {"x", NULL};
    errno = 0;
    check(execve("/nonexistent/program", args, args + 1) == -1 && errno == ENOENT,
          "execve of a missing file: ENOENT");
    char path[4096];
    snprintf(path, sizeof(path), "%s/not-executable", directory);
    unlink(path);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    check(fd >= 0 && write(fd, "data\n", 5) == 5 && close(fd) == 0, "create a data file");
    check(execve(path, args, args + 1) == -1 && errno == EACCES, "execve without x: EACCES");
    check(execve(directory, args, args + 1) == -1 && errno == EACCES,
          "execve of a directory: EACCES");
    chmod(path, 0755);
    check(execve(path, args, args + 1) == -1 && errno == ENOEXEC, "execve of a data file: ENOEXEC");
}

/* A `#!` script whose interpreter is this very program. */
static void exec_script(const char *directory)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/script", directory);
    FILE *script = fopen(path, "w");
    fprintf(script, "#!%s  fdcheck   \n this line is not read\n", self);
    fclose(script);
    chmod(path, 0755);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {"ignored-argv0", "99", NULL};
        execve(path, args, args + 2);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    describe("script child", status);
}

static int fdcheck(int argc, char **argv)
{
    printf("fdcheck: %d arguments, ONLY=%s\n", argc, getenv("ONLY") ? getenv("ONLY") : "(unset)");
    for (int i = 2; i < argc; i++) {
        int fd = atoi(argv[i]);
        printf("argument %d's fd: %s\n", i, fcntl(fd, F_GETFD) == -1 ? "closed" : "open");
    }
    return 0;
}

int main(int argc, char **argv)
{
    static char path[4096];
    ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (length <= 0)
        return 3;
    self = path;
    if (argc > 1 && strcmp(argv[1], "fdcheck") == 0)
        return fdcheck(argc, argv);
    if (argc < 3 || strcmp(argv[1], "all") != 0) {
        fprintf(stderr, "usage: processes all DIR | processes fdcheck FD...\n");
        return 2;
    }
    /* No core files: the core flag of a signalled child is then the same
     * natively and in the VM. */
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    credentials();
    fork_and_wait();
    shared_memory(argv[2]);
    shared_futex();
    stop_continue_kill();
    waitid_exited();
    vfork_exit();
    pipe_exec();
    spawn();
    spawn_errors();
    exec_errors(argv[2]);
    exec_script(argv[2]);
    printf("%s\n", failures ? "processes FAILED" : "processes: all ok");
    return failures != 0;
}
