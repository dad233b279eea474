/* tap.h: a tiny TAP producer for the pure parts' unit tests (orders,
 * catalog; t/unit.t runs them). ok() prints
 * "ok N - name" or "not ok N - name"; tap_done() prints the plan. */
#ifndef B2B_TAP_H
#define B2B_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

static inline int ok(int cond, const char *name)
{
    tap_count++;
    if (!cond) {
        tap_failed++;
    }
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, name);
    fflush(stdout);
    return cond;
}

static inline int is_num(long long got, long long want, const char *name)
{
    if (!ok(got == want, name)) {
        printf("#   got %lld, want %lld\n", got, want);
        return 0;
    }
    return 1;
}

static inline int is_str(const char *got, const char *want, const char *name)
{
    if (!ok(got && want && !strcmp(got, want), name)) {
        printf("#   got '%s', want '%s'\n", got ? got : "(null)", want ? want : "(null)");
        return 0;
    }
    return 1;
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
