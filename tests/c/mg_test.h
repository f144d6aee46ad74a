/* mg_test.h -- the few macros the C unit tests use.
 *
 * A test is a `void test_NAME(void)` function listed in tests.def. CHECK* macros
 * record a failure (with file and line) and let the test go on; REQUIRE* return from
 * the test at once. The runner (test_main.c) also fails a test that leaves nodes alive.
 */
#ifndef MG_TEST_H
#define MG_TEST_H

#include <math.h>
#include <stdio.h>

#include "mg.h"

/* The fork tests need fork() (POSIX) and threads to hold a lock while forking. */
#if !defined(_WIN32) && !defined(MG_NO_THREADS)
#define MG_TEST_FORK 1
#else
#define MG_TEST_FORK 0
#endif

extern int mg_test_failures;   /* failures recorded in the running test */

void mg_test_fail(const char *file, int line, const char *fmt, ...)
#if defined(__MINGW32__)   /* there "printf" means msvcrt's, which lacks %zu */
    __attribute__((format(gnu_printf, 3, 4)))
#elif defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Nonzero when a and b are both nan, equal (infinities too), or within
   tol * max(1, |a|, |b|) of each other. */
int mg_test_close(double a, double b, double tol);

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) mg_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);           \
    } while (0)

#define REQUIRE(cond)                                                                \
    do {                                                                             \
        if (!(cond)) {                                                               \
            mg_test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                  \
            return;                                                                  \
        }                                                                            \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                           \
    do {                                                                             \
        long long a_ = (long long)(a), b_ = (long long)(b);                          \
        if (a_ != b_)                                                                \
            mg_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
    } while (0)

/* Exact equality of doubles, nan equal to nan. */
#define CHECK_SAME(a, b)                                                             \
    do {                                                                             \
        double a_ = (a), b_ = (b);                                                   \
        if (!(a_ == b_ || (isnan(a_) && isnan(b_))))                                 \
            mg_test_fail(__FILE__, __LINE__, "%s == %s: %.17g != %.17g", #a, #b, a_, b_); \
    } while (0)

#define CHECK_CLOSE(a, b, tol)                                                       \
    do {                                                                             \
        double a_ = (a), b_ = (b);                                                   \
        if (!mg_test_close(a_, b_, (tol)))                                           \
            mg_test_fail(__FILE__, __LINE__, "%s ~ %s: %.17g vs %.17g", #a, #b, a_, b_); \
    } while (0)

#define X(name) void test_##name(void);
#include "tests.def"
#undef X

#endif /* MG_TEST_H */
