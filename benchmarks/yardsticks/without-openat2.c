/* Runs a command as on a kernel without openat2 (Linux before 5.6, XenServer 8's 4.19): a seccomp
 * filter answers every openat2 call with ENOSYS, as such a kernel does, and allows the rest.
 * Dom0Kit then walks each host path in user space, and the benchmarks measure that path too.
 *
 *   without-openat2 COMMAND [ARGUMENT...]
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OPENAT2 437 /* the same number in every architecture's table */

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: without-openat2 COMMAND [ARGUMENT...]\n"); return 64; }
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, OPENAT2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program)) {
        perror("without-openat2: seccomp");
        return 70;
    }
    /* The filter must have taken: a command that still had openat2 would measure nothing new. */
    if (syscall(OPENAT2, -1, "", NULL, 0) != -1 || errno != ENOSYS) {
        fprintf(stderr, "without-openat2: openat2 still answers (errno %d), not ENOSYS\n", errno);
        return 70;
    }
    execvp(argv[1], argv + 1);
    perror(argv[1]);
    return 127;
}
