/* The raw calls timed from C, for the ctypes overhead benchmark.
 *
 * Maps one anonymous page, touches it, then times `iterations` calls of
 * each of mprotect, msync(MS_ASYNC), madvise(MADV_NORMAL) and mincore on
 * that page with clock_gettime(CLOCK_MONOTONIC), and prints one line per
 * call: "<name> <nanoseconds per call>".  Usage: rawcalls <iterations>
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 10000;
    long page = sysconf(_SC_PAGESIZE);
    unsigned char vector[1];
    char *addr = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long i;
    long long start;
    int failures = 0;

    if (addr == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    addr[0] = 1;

    start = now_ns();
    for (i = 0; i < iterations; i++)
        failures += mprotect(addr, (size_t)page, PROT_READ | PROT_WRITE) != 0;
    printf("mprotect %.1f\n", (double)(now_ns() - start) / iterations);

    start = now_ns();
    for (i = 0; i < iterations; i++)
        failures += msync(addr, (size_t)page, MS_ASYNC) != 0;
    printf("msync %.1f\n", (double)(now_ns() - start) / iterations);

    start = now_ns();
    for (i = 0; i < iterations; i++)
        failures += madvise(addr, (size_t)page, MADV_NORMAL) != 0;
    printf("madvise %.1f\n", (double)(now_ns() - start) / iterations);

    start = now_ns();
    for (i = 0; i < iterations; i++)
        failures += mincore(addr, (size_t)page, vector) != 0;
    printf("mincore %.1f\n", (double)(now_ns() - start) / iterations);

    munmap(addr, (size_t)page);
    if (failures) {
        fprintf(stderr, "%d calls failed\n", failures);
        return 1;
    }
    return 0;
}
