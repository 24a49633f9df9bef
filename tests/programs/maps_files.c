/* maps_files: what /proc/self/maps says of the files the program maps: for
 * its own executable and for any C library mapped, the permissions, file
 * offset, inode and path of the executable (r-xp) mapping; whether the
 * program's .bss follows its data as an unnamed anonymous mapping; and, in
 * /proc/self/smaps, whether the writable data mapping has anonymous pages
 * (what gdb's gcore looks at to decide what to dump). Addresses are left
 * out: they differ between runs and hosts. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int in_bss[4096];

struct line {
    unsigned long start, end, offset, inode;
    char perms[8], dev[16], path[512];
};

static int parse(const char *text, struct line *line)
{
    line->path[0] = '\0';
    int fields = sscanf(text, "%lx-%lx %7s %lx %15s %lu %511[^\n]", &line->start, &line->end,
                        line->perms, &line->offset, line->dev, &line->inode, line->path);
    return fields >= 6;
}

int main(void)
{
    char self[512];
    ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (length < 0)
        return 1;
    self[length] = '\0';
    in_bss[7] = 1;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps)
        return 1;
    char text[1024];
    struct line line, previous = {0};
    int data_seen = 0, bss_follows = 0;
    while (fgets(text, sizeof(text), maps)) {
        if (!parse(text, &line))
            continue;
        int own = strcmp(line.path, self) == 0;
        if ((own || strstr(line.path, "/libc.so")) && strcmp(line.perms, "r-xp") == 0)
            printf("%s %s offset %#lx inode %s\n", own ? "program" : line.path, line.perms,
                   line.offset, line.inode ? "set" : "0");
        if (own && line.perms[1] == 'w')
            data_seen = 1;
        if (data_seen && !own && previous.end == line.start && strcmp(previous.path, self) == 0 &&
            line.path[0] == '\0' && line.inode == 0 && strcmp(line.perms, "rw-p") == 0)
            bss_follows = 1;
        previous = line;
    }
    fclose(maps);
    printf("bss as its own anonymous mapping: %s\n", bss_follows ? "yes" : "no");

    FILE *smaps = fopen("/proc/self/smaps", "r");
    if (!smaps)
        return 1;
    int in_data = 0, anonymous_data = 0;
    while (fgets(text, sizeof(text), smaps)) {
        unsigned long kb;
        if (parse(text, &line))
            in_data = strcmp(line.path, self) == 0 && line.perms[1] == 'w';
        else if (in_data && sscanf(text, "Anonymous: %lu kB", &kb) == 1 && kb > 0)
            anonymous_data = 1;
    }
    fclose(smaps);
    printf("written data has anonymous pages: %s\n", anonymous_data ? "yes" : "no");
    return 0;
}
