/* stdin_echo: reads standard input to EOF with read(2), prints the byte count, the line
 * count and an FNV-1a checksum, then the input with ASCII letters upper-cased. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    size_t size = 0, capacity = 4096;
    unsigned char *data = malloc(capacity);
    if (!data)
        return 1;
    for (;;) {
        if (size == capacity) {
            capacity *= 2;
            data = realloc(data, capacity);
            if (!data)
                return 1;
        }
        ssize_t got = read(0, data + size, capacity - size);
        if (got < 0) {
            perror("stdin_echo: read");
            return 1;
        }
        if (got == 0)
            break;
        size += (size_t)got;
    }
    uint64_t hash = 0xcbf29ce484222325ULL;
    size_t lines = 0;
    for (size_t i = 0; i < size; i++) {
        hash = (hash ^ data[i]) * 0x100000001b3ULL;
        lines += data[i] == '\n';
    }
    printf("bytes: %zu\nlines: %zu\nfnv1a: %016llx\n", size, lines, (unsigned long long)hash);
    for (size_t i = 0; i < size; i++)
        data[i] = (unsigned char)toupper(data[i]);
    fwrite(data, 1, size, stdout);
    free(data);
    return 0;
}
