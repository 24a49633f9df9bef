/* proc_threads: with three more threads alive, /proc/self/task lists four and
 * /proc/self/status says Threads: 4, and task/TID/ of each names that thread. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_barrier_t barrier;
static long tids[3];

static void *run(void *argument)
{
    tids[(long)argument] = syscall(SYS_gettid);
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    return NULL;
}

int main(void)
{
    pthread_t threads[3];
    pthread_barrier_init(&barrier, NULL, 4);
    for (long i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, run, (void *)i);
    pthread_barrier_wait(&barrier);
    DIR *dir = opendir("/proc/self/task");
    struct dirent *entry;
    int tasks = 0, found = 0;
    while (dir && (entry = readdir(dir))) {
        if (entry->d_name[0] == '.')
            continue;
        tasks++;
        for (int i = 0; i < 3; i++)
            found += atol(entry->d_name) == tids[i];
    }
    if (dir)
        closedir(dir);
    char line[256], path[64];
    int count = 0;
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof(line), status))
        if (strncmp(line, "Threads:", 8) == 0)
            count = atoi(line + 8);
    if (status)
        fclose(status);
    snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", tids[1]);
    FILE *stat = fopen(path, "r");
    printf("tasks %d, the three threads among them: %d, Threads: %d, task/TID/stat %s\n", tasks,
           found, count, stat ? "opens" : "missing");
    if (stat)
        fclose(stat);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    return tasks == 4 && found == 3 && count == 4 && stat ? 0 : 1;
}
