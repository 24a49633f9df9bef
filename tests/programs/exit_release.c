/* exit_release: what a process holds is let go by the time its parent's wait
 * returns, as Linux does: its flock, its end of a pipe (the reader sees EOF
 * at once), its System V shared memory attachment (shm_nattch 0). hermitux-run
 * leaves the freeing of the VM and guest RAM to a process that outlives the
 * monitor (not when memory is shared outside, as a System V segment is);
 * none of this may linger there.
 *   exit_release rounds DIR   fork children that hold those and exit (20 rounds)
 *   exit_release hold FILE    take FILE's flock and a pipe, exit (for a parent outside)
 *   exit_release check FILE   natively after a hold: the flock is free at once
 * Prints facts, never times. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define ROUNDS 20

static int open_lock_file(const char *path)
{
    int fd = open(path, O_CREAT | O_RDWR, 0600);
    if (fd < 0) {
        perror(path);
        exit(2);
    }
    return fd;
}

static int rounds(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/exit_release.lock", dir);
    int lock_free = 0, eof_at_once = 0, detached = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int segment = shmget(IPC_PRIVATE, 65536, IPC_CREAT | 0600);
        int fds[2];
        if (segment < 0 || pipe(fds) != 0)
            return 2;
        pid_t child = fork();
        if (child == 0) {
            close(fds[0]);
            int fd = open_lock_file(path);
            if (flock(fd, LOCK_EX) != 0)
                _exit(3);
            /* Every other round: with an attachment (hermitux-run then
             * lets its exit free everything, as before). */
            if (round % 2) {
                char *data = shmat(segment, NULL, 0);
                if (data == (void *)-1)
                    _exit(3);
                data[0] = 1;
            }
            _exit(0);
        }
        close(fds[1]);
        int status;
        if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
            return 2;
        int fd = open_lock_file(path);
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            lock_free++;
        close(fd);
        struct pollfd hangup = {fds[0], POLLIN, 0};
        if (poll(&hangup, 1, 0) == 1 && (hangup.revents & POLLHUP))
            eof_at_once++;
        close(fds[0]);
        struct shmid_ds info;
        if (shmctl(segment, IPC_STAT, &info) == 0 && info.shm_nattch == 0)
            detached++;
        shmctl(segment, IPC_RMID, NULL);
    }
    unlink(path);
    check("the child's flock is free once it is waited for", lock_free == ROUNDS);
    check("the child's end of a pipe is closed once it is waited for", eof_at_once == ROUNDS);
    check("the child's shared memory is detached once it is waited for", detached == ROUNDS);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "rounds") == 0)
        return rounds(argv[2]);
    if (argc == 3 && strcmp(argv[1], "hold") == 0)
        return flock(open_lock_file(argv[2]), LOCK_EX) == 0 ? 0 : 1;
    if (argc == 3 && strcmp(argv[1], "check") == 0) {
        check("the flock is free once the holder is waited for",
              flock(open_lock_file(argv[2]), LOCK_EX | LOCK_NB) == 0);
        return failures ? 1 : 0;
    }
    fprintf(stderr, "usage: exit_release rounds DIR | hold FILE | check FILE\n");
    return 2;
}
