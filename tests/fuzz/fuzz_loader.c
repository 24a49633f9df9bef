/*
 * libFuzzer target: arbitrary bytes as a program file, loaded as hermitux-run
 * loads a program (loader_load_program, then the interpreter it names if that
 * is the same file) and as an interpreter (loader_load_interpreter), into a
 * small guest memory. Whatever the file holds, the loader must refuse it with
 * an error or load it within its limits: never crash, overflow, leak or write
 * outside guest RAM. Build with clang -fsanitize=fuzzer,address
 * (tests/fuzz/run-fuzz.sh does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "loader/loader.h"
#include "memory/memory.h"

#define FUZZ_RAM (64ULL << 20)

/* The limits guest.c gives a program and an interpreter, for 64 MiB. */
static const struct loader_limits program_limits = {
    .low = 0x200000,
    .high = FUZZ_RAM,
    .dynamic_low = 0x100000000ULL,
    .dynamic_high = 0x7ffff0000000ULL,
};
static const struct loader_limits interpreter_limits = {
    .low = 0x100000000ULL,
    .high = 0x7ffff0000000ULL,
};

static int file_of(const uint8_t *data, size_t size, char *path, size_t path_size)
{
    int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    for (size_t done = 0; done < size;) {
        ssize_t wrote = write(fd, data + done, size - done);
        if (wrote <= 0)
            abort();
        done += (size_t)wrote;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

static void load_once(const char *path, bool as_interpreter)
{
    char *error = NULL;
    struct guest_memory *memory = guest_memory_create(FUZZ_RAM, &error);
    if (!memory)
        abort();
    struct elf_image image = {0};
    int result = as_interpreter
                     ? loader_load_interpreter(path, memory, &interpreter_limits, &image, &error)
                     : loader_load_program(path, memory, &program_limits, &image, &error);
    /* Either a loaded image or one line saying why not. */
    if (result < 0 && (!error || !*error || strchr(error, '\n')))
        abort();
    if (result == 0) {
        uint64_t address = image.entry;
        (void)elf_image_symbolize(&image, address, &address);
    }
    g_free(error);
    elf_image_free(&image);
    guest_memory_destroy(memory);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = file_of(data, size, path, sizeof(path));
    load_once(path, false);
    load_once(path, true);
    close(fd);
    return 0;
}
