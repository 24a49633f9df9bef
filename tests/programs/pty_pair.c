/*
 * pty_pair.c — pseudo-terminals as expect, script and terminal emulators
 * use them: posix_openpt, grantpt, unlockpt and ptsname, then the slave
 * opened by its name and by TIOCGPTPEER, and bytes through the pair both
 * ways (with the line discipline's echo and CR-LF as Linux gives them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"

/* Reads one line (up to its '\n') and shows its bytes. The line discipline
 * may hand a line to the other side in pieces ("out", then the "\r\n" its
 * output processing adds): how many came by one read() depends on timing,
 * natively too, so the pieces are gathered. */
static void show_read(const char *what, int fd)
{
    char buffer[64] = {0};
    ssize_t got = 0;
    while (got == 0 || (got < (ssize_t)sizeof(buffer) - 1 && buffer[got - 1] != '\n')) {
        ssize_t piece = read(fd, buffer + got, sizeof(buffer) - 1 - (size_t)got);
        if (piece <= 0) {
            got = got ? got : piece;
            break;
        }
        got += piece;
    }
    printf("%s: %zd bytes:", what, got);
    for (ssize_t i = 0; i < got; i++)
        printf(" %02x", (unsigned char)buffer[i]);
    printf("\n");
}

int main(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    check("posix_openpt", master >= 0);
    check("grantpt", grantpt(master) == 0);
    check("unlockpt", unlockpt(master) == 0);
    const char *name = ptsname(master);
    check("ptsname names /dev/pts/N", name && strncmp(name, "/dev/pts/", 9) == 0);
    int slave = open(name ? name : "/dev/null", O_RDWR | O_NOCTTY);
    check("the slave opens by name", slave >= 0);
    check("both are terminals", isatty(master) && isatty(slave));
    check("slave to master", write(slave, "out\n", 4) == 4);
    show_read("the master reads", master);
    check("master to slave", write(master, "in\n", 3) == 3);
    show_read("the slave reads", slave);
    show_read("the master reads the echo", master);
    int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    check("TIOCGPTPEER opens the slave", peer >= 0 && isatty(peer));
    struct termios mode;
    check("tcgetattr on the peer", tcgetattr(peer, &mode) == 0);
    unsigned int number = 12345;
    check("TIOCGPTN on the slave is ENOTTY",
          ioctl(slave, TIOCGPTN, &number) == -1 && errno == ENOTTY);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
