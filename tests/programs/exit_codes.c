/* exit_codes: exits with the status given in argv[2], by the way given in argv[1]:
 *   exit_codes return|exit|_exit|Exit STATUS
 * "return" returns from main, "exit" calls exit(), "_exit" and "Exit" call _exit() and
 * _Exit(). exit() and return run the atexit handler and flush stdio; _exit()/_Exit() do
 * neither, so a line left in the stdio buffer is lost (stdout is a file or pipe here). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void at_exit_handler(void)
{
    printf("atexit handler ran\n");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: exit_codes return|exit|_exit|Exit STATUS\n");
        return 2;
    }
    const char *how = argv[1];
    int status = atoi(argv[2]);
    atexit(at_exit_handler);
    printf("exiting with %d (status byte %d) via %s\n", status, status & 0xff, how);
    if (strcmp(how, "return") == 0)
        return status;
    if (strcmp(how, "exit") == 0)
        exit(status);
    fflush(stdout);
    printf("this buffered line must be lost\n");
    if (strcmp(how, "_exit") == 0)
        _exit(status);
    if (strcmp(how, "Exit") == 0)
        _Exit(status);
    fprintf(stderr, "exit_codes: unknown way '%s'\n", how);
    return 2;
}
