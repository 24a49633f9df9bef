/* socket_ioctls: the ioctls a program asks a connected socket and a pipe about its
 * queues: FIONREAD (SIOCINQ), TIOCOUTQ (SIOCOUTQ), SIOCOUTQNSD and SIOCATMARK, with
 * bytes waiting. Prints each result. */
#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Linux's numbers (musl has no linux/sockios.h). */
#ifndef SIOCATMARK
#define SIOCATMARK 0x8905
#endif
#define SIOCOUTQNSD 0x894B

static void ask(const char *what, int fd, unsigned long request)
{
    int value = -1;
    if (ioctl(fd, request, &value) != 0)
        printf("%s: errno %d\n", what, errno);
    else
        printf("%s: %d\n", what, value);
}

int main(void)
{
    int pair[2], pipe_fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0 || pipe(pipe_fds) != 0)
        return 1;
    if (write(pair[1], "12345", 5) != 5 || write(pipe_fds[1], "xyz", 3) != 3)
        return 1;
    ask("socket FIONREAD", pair[0], FIONREAD);
    ask("socket SIOCOUTQ (sender)", pair[1], TIOCOUTQ);
    ask("socket SIOCOUTQNSD (sender)", pair[1], SIOCOUTQNSD);
    ask("socket SIOCATMARK", pair[0], SIOCATMARK);
    ask("pipe FIONREAD", pipe_fds[0], FIONREAD);
    ask("pipe TIOCOUTQ", pipe_fds[1], TIOCOUTQ);
    ask("pipe SIOCATMARK", pipe_fds[0], SIOCATMARK);
    return 0;
}
