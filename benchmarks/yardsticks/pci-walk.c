/* The floor for health's reading of the PCI bus: what a C program that trusts the tree must do
 * for each function under ROOT/sys/bus/pci/devices — read uevent, read the driver, iommu_group
 * and physfn links — with the kernel following every link. No guard, no parsing beyond the
 * bytes, no allocation: what is left of health's walk over this is Dom0Kit's own cost.
 *
 *   pci-walk ROOT [RUNS]      prints the best of RUNS passes (default 20) in milliseconds
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static long pass(const char *devices) {
    static const char *links[] = {"driver", "iommu_group", "physfn"};
    char path[4096], buffer[4096];
    long bytes = 0;
    DIR *directory = opendir(devices);
    if (!directory) { perror(devices); exit(1); }
    struct dirent *entry;
    while ((entry = readdir(directory))) {
        if (entry->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s/uevent", devices, entry->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, buffer, sizeof buffer);
            if (n > 0) bytes += n;
            close(fd);
        }
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s/%s", devices, entry->d_name, links[i]);
            ssize_t n = readlink(path, buffer, sizeof buffer);
            if (n > 0) bytes += n;
        }
    }
    closedir(directory);
    return bytes;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: pci-walk ROOT [RUNS]\n"); return 64; }
    char devices[4096];
    snprintf(devices, sizeof devices, "%s/sys/bus/pci/devices", argv[1]);
    int runs = argc > 2 ? atoi(argv[2]) : 20;
    double best = 1e9;
    for (int run = 0; run < runs; run++) {
        double start = now_ms();
        pass(devices);
        double spent = now_ms() - start;
        if (spent < best) best = spent;
    }
    printf("%.2f\n", best);
    return 0;
}
