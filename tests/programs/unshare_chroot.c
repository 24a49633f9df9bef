/* unshare_chroot: unshare and chroot as a single-threaded program sees them.
 * Printed the same natively and under hermitux-run: unshare of nothing, of
 * what a lone thread already owns (files, fs, SysV undo, signal handlers,
 * memory) and of unknown bits; chroot's path errors and a chroot to "/".
 * Namespaces and a chroot elsewhere succeed for root natively and are EPERM
 * in the VM (as in a container): printed as "0 or EPERM", never ENOSYS.
 * setns and pidfd_getfd: Linux's checks of their fds and flags.
 * The chroot elsewhere runs in a child, so that the rest is not jailed. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, int result)
{
    printf("%s: %s\n", what, result == 0 ? "0" : strerror(errno));
}

static void show_refused(const char *what, long result)
{
    printf("%s: %s\n", what, result < 0 && errno != ENOSYS ? "refused" : "NOT REFUSED OR ENOSYS");
}

static void show_allowed(const char *what, int result)
{
    int ok = result == 0 || errno == EPERM;
    printf("%s: %s\n", what, ok ? "0 or EPERM" : strerror(errno));
}

int main(void)
{
    show("unshare(0)", unshare(0));
    show("unshare(CLONE_FILES|CLONE_FS|CLONE_SYSVSEM)",
         unshare(CLONE_FILES | CLONE_FS | CLONE_SYSVSEM));
    show("unshare(CLONE_SIGHAND|CLONE_VM|CLONE_THREAD)",
         unshare(CLONE_SIGHAND | CLONE_VM | CLONE_THREAD));
    show("unshare(unknown bit 0x1)", unshare(0x1));
    show("chroot(\"/\")", chroot("/"));
    show("chroot(missing)", chroot("/nonexistent-unshare-chroot"));
    show("chroot(a file)", chroot("/etc/passwd"));
    show("setns(a bad fd)", (int)syscall(SYS_setns, 999, 0));
    int pidfd = (int)syscall(SYS_pidfd_open, getppid(), 0);
    show("pidfd_getfd, unknown flags", (int)syscall(SYS_pidfd_getfd, pidfd, 0, 1));
    show("pidfd_getfd of a bad fd", (int)syscall(SYS_pidfd_getfd, 999, 0, 0));
    show("pidfd_getfd of no pidfd", (int)syscall(SYS_pidfd_getfd, 1, 0, 0));
    /* Administration of the machine, with arguments that make each harmless natively
     * (as root they fail on the arguments, unprivileged and in the VM with EPERM):
     * refused either way, never ENOSYS. */
    show_refused("sethostname(NULL, -1)", syscall(SYS_sethostname, NULL, -1L));
    show_refused("reboot with no magic", syscall(SYS_reboot, 0, 0, 0, NULL));
    show_refused("mount(NULL...)", syscall(SYS_mount, NULL, NULL, NULL, 0L, NULL));
    show_refused("settimeofday of an invalid zone", syscall(SYS_settimeofday, NULL, (void *)1L));
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        show_allowed("unshare(CLONE_NEWUTS)", unshare(CLONE_NEWUTS));
        show_allowed("chroot(\"/tmp\")", chroot("/tmp"));
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    show("getcwd still works", getcwd((char[256]){0}, 256) ? 0 : -1);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
