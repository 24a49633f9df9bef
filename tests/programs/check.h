/*
 * check.h — what the test programs share: one line per check, a count of
 * failures for the exit status, and errno names that read the same with
 * glibc and musl (their strerror texts differ).
 */
#ifndef TEST_PROGRAMS_CHECK_H
#define TEST_PROGRAMS_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int failures;

static inline void check(const char *what, int ok)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

static inline const char *errno_name(int error)
{
#define CHECK_ERRNO_NAME(name)                                                                     \
    case name:                                                                                     \
        return #name
    switch (error) {
    case 0:
        return "0";
        CHECK_ERRNO_NAME(EPERM);
        CHECK_ERRNO_NAME(ENOENT);
        CHECK_ERRNO_NAME(ESRCH);
        CHECK_ERRNO_NAME(ECHILD);
        CHECK_ERRNO_NAME(EINTR);
        CHECK_ERRNO_NAME(EBADF);
        CHECK_ERRNO_NAME(EAGAIN);
        CHECK_ERRNO_NAME(EACCES);
        CHECK_ERRNO_NAME(EFAULT);
        CHECK_ERRNO_NAME(EBUSY);
        CHECK_ERRNO_NAME(EEXIST);
        CHECK_ERRNO_NAME(ENOTDIR);
        CHECK_ERRNO_NAME(EISDIR);
        CHECK_ERRNO_NAME(EINVAL);
        CHECK_ERRNO_NAME(ENOMEM);
        CHECK_ERRNO_NAME(EMFILE);
        CHECK_ERRNO_NAME(ESPIPE);
        CHECK_ERRNO_NAME(EPIPE);
        CHECK_ERRNO_NAME(ENOSYS);
        CHECK_ERRNO_NAME(ENOTEMPTY);
        CHECK_ERRNO_NAME(ENOTSOCK);
        CHECK_ERRNO_NAME(ENOPROTOOPT);
        CHECK_ERRNO_NAME(EOPNOTSUPP);
        CHECK_ERRNO_NAME(EAFNOSUPPORT);
        CHECK_ERRNO_NAME(EINPROGRESS);
    default:
        return strerror(error);
    }
#undef CHECK_ERRNO_NAME
}

/* The errno of a call that must fail, or "succeeded". */
static inline const char *fails_with(long result)
{
    return result < 0 ? errno_name(errno) : "succeeded";
}

/* A call that must fail with a given errno. */
static inline void check_errno(long result, int expected, const char *what)
{
    int error = errno;
    printf("%s -> %ld %s: %s\n", what, result, errno_name(error),
           result == -1 && error == expected ? "ok" : "FAILED");
    if (result != -1 || error != expected)
        failures++;
}

#endif
