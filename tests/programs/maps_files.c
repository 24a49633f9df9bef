/* maps_files: what /proc/self/maps says of the files the program maps: for
 * its own executable and for any C library mapped, the permissions, file
 * offset, inode and path of the executable (r-xp) mapping; whether the
 * program's .bss follows its data as an unnamed anonymous mapping; and, in
 * /proc/self/smaps, whether the writable data mapping has anonymous pages
 * (what gdb's gcore looks at to decide what to dump); and the names of
 * mappings of files without a path: a memfd ("/memfd:NAME (deleted)") and a
 * file removed after it was mapped ("PATH (deleted)"). Addresses are left
 * out: they differ between runs and hosts. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* The path /proc/self/maps gives the mapping at address, into out. */
static void mapping_name(const void *address, char *out, size_t size)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char text[1024];
    struct line line;
    snprintf(out, size, "(none)");
    while (maps && fgets(text, sizeof(text), maps))
        if (parse(text, &line) && line.start == (unsigned long)address)
            snprintf(out, size, "%s", line.path);
    if (maps)
        fclose(maps);
}

/* A memfd and a removed file, each mapped shared: how maps names them. */
static int unnamed_files(void)
{
    char name[600];
    int memfd = memfd_create("maps_files", 0);
    if (memfd < 0 || ftruncate(memfd, 4096) != 0)
        return 1;
    char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (shared == MAP_FAILED)
        return 1;
    mapping_name(shared, name, sizeof(name));
    printf("memfd mapping: %s\n", name);
    char path[] = "/tmp/maps_files.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, 4096) != 0)
        return 1;
    char *removed = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    unlink(path);
    if (removed == MAP_FAILED)
        return 1;
    mapping_name(removed, name, sizeof(name));
    char expected[600];
    snprintf(expected, sizeof(expected), "%s (deleted)", path);
    printf("removed file's mapping named \"PATH (deleted)\": %s\n",
           strcmp(name, expected) == 0 ? "yes" : name);
    return 0;
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
    return unnamed_files();
}
