#pragma once
// Linux calls and constants Glibc's Swift module does not offer: O_PATH sits behind _GNU_SOURCE,
// and glibc 2.36 has no openat2 wrapper (syscall(2) is variadic, which Swift cannot call).
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef O_PATH
#define O_PATH 010000000
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static const int dom0kit_o_path = O_PATH;

// openat2(2) (Linux 5.6), its struct open_how and RESOLVE_ flags spelled out here so that
// building needs no linux-libc-dev of a given age.
struct dom0kit_open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};
static const uint64_t dom0kit_resolve_no_magiclinks = 0x02;
static const uint64_t dom0kit_resolve_beneath = 0x08;

// Opens `path` relative to `directory` with every step of the lookup kept beneath it: a link
// that climbs out, an absolute link or a /proc magic link fails with EXDEV or ELOOP instead of
// being followed. -1 with errno set on failure (ENOSYS before 5.6).
static inline int dom0kit_open_beneath(int directory, const char *path, int flags) {
    struct dom0kit_open_how how = {
        .flags = (uint64_t)(unsigned)flags,
        .mode = 0,
        .resolve = dom0kit_resolve_beneath | dom0kit_resolve_no_magiclinks,
    };
    return (int)syscall(SYS_openat2, directory, path, &how, sizeof how);
}

// Opens `path` relative to `directory` as openat(2) does, except that a /proc magic link fails
// with ELOOP instead of being followed (for lookups on the machine's own root: nothing is
// outside it to keep them beneath). -1 with errno set on failure (ENOSYS before 5.6).
static inline int dom0kit_open_no_magiclinks(int directory, const char *path, int flags) {
    struct dom0kit_open_how how = {
        .flags = (uint64_t)(unsigned)flags,
        .mode = 0,
        .resolve = dom0kit_resolve_no_magiclinks,
    };
    return (int)syscall(SYS_openat2, directory, path, &how, sizeof how);
}
