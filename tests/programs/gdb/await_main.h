/* await_main.h: for the gdb test programs, a worker's wait until the main thread is
 * blocked in a call, where a debugger stopping the program then shows it: until its /proc
 * stat says S (sleeping), 200 ms at most (hermitux-run's stat says R), then 10 ms more. */
#ifndef AWAIT_MAIN_H
#define AWAIT_MAIN_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool main_sleeps(void)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
    FILE *file = fopen(path, "r");
    if (!file)
        return false;
    size_t length = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[length] = '\0';
    const char *end = strrchr(text, ')');
    return end && end[1] == ' ' && end[2] == 'S';
}

static void await_main_blocked(void)
{
    struct timespec pause = {0, 10000000};
    for (int i = 0; i < 20 && !main_sleeps(); i++)
        nanosleep(&pause, NULL);
    nanosleep(&pause, NULL);
}

#endif
