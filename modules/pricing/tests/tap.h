/* tap.h — a tiny TAP producer for the pricing unit tests: CHECK() records a failure with its
 * line, ok() prints "ok N - name" or "not ok N - name" and the plan is printed at the end
 * ("1..N" trailing plan, which prove accepts). */
#ifndef PRICING_TAP_H
#define PRICING_TAP_H

#include <stdio.h>

static int tap_count, tap_failed, tap_case_failed;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
            tap_case_failed = 1;                                                       \
        }                                                                              \
    } while (0)

#define CHECK_EQ(a, b)                                                                 \
    do {                                                                               \
        long long tap_a = (long long)(a), tap_b = (long long)(b);                      \
        if (tap_a != tap_b) {                                                          \
            printf("# %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, \
                   tap_a, #b, tap_b);                                                  \
            tap_case_failed = 1;                                                       \
        }                                                                              \
    } while (0)

static void tap_begin(void)
{
    tap_case_failed = 0;
}

static void tap_end(const char *name)
{
    tap_count++;
    if (tap_case_failed)
        tap_failed++;
    printf("%sok %d - %s\n", tap_case_failed ? "not " : "", tap_count, name);
    fflush(stdout);
}

#define TEST(name) static void name(void)
#define RUN(name) do { tap_begin(); name(); tap_end(#name); } while (0)

static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
