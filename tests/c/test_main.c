/* test_main.c -- runs the C unit tests listed in tests.def.
 *
 *   mg_tests              run every test
 *   mg_tests WORD...      run the tests whose names contain one of the words
 *   mg_tests --list       print the names
 *
 * Prints one line per test and ends with "N passed, N failed"; exits 1 if any failed.
 * A test that leaves nodes alive fails, so every test also checks for leaks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mg_test.h"

int mg_test_failures;

void mg_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "    %s:%d: ", file, line);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    mg_test_failures++;
}

int mg_test_close(double a, double b, double tol)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (a == b) return 1;
    double scale = fmax(1.0, fmax(fabs(a), fabs(b)));
    return fabs(a - b) <= tol * scale;
}

typedef struct {
    const char *name;
    void (*fn)(void);
} test_case;

static const test_case tests[] = {
#define X(name) {#name, test_##name},
#include "tests.def"
#undef X
};

static int selected(const char *name, int argc, char **argv)
{
    if (argc < 2) return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i])) return 1;
    return 0;
}

/* Wall time, only to show which tests are slow. Windows' msvcrt has no timespec_get
   (C11), but there clock() is wall time; WASI has timespec_get and no clock(). */
static double now(void)
{
#ifdef _WIN32
    return (double)clock() / CLOCKS_PER_SEC;
#else
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
#endif
}

int main(int argc, char **argv)
{
    size_t ntests = sizeof tests / sizeof tests[0];
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < ntests; i++) puts(tests[i].name);
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("pymicrograd C core %s (library %d), %zu tests\n", MG_VERSION,
           mg_version_number(), ntests);
    int passed = 0, failed = 0;
    for (size_t i = 0; i < ntests; i++) {
        if (!selected(tests[i].name, argc, argv)) continue;
        mg_test_failures = 0;
        double t0 = now();
        tests[i].fn();
        double dt = now() - t0;
        size_t live = mg_live_nodes();
        if (live != 0) {
            mg_test_fail(__FILE__, __LINE__, "%zu nodes still alive after the test", live);
        }
        /* a test that failed half-way may have left its allocator installed */
        if (mg_set_allocator(NULL) != MG_OK) {
            mg_test_fail(__FILE__, __LINE__, "could not restore the default allocator");
        }
        if (mg_test_failures == 0) {
            passed++;
            printf("ok   %-40s %.3f s\n", tests[i].name, dt);
        } else {
            failed++;
            printf("FAIL %-40s %.3f s\n", tests[i].name, dt);
        }
    }
    mg_trim();   /* so that valgrind sees every byte given back */
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
