/* erp_backoff_test.c — unit tests (TAP) for the pure parts of the ERP library: the
 * full-jitter backoff, the HTTP status classification and the adapter registry. */
#include "b2b_erp.h"

#include <stdio.h>
#include <string.h>

static int planned, ran, failed;

static void ok(int cond, const char *name)
{
    ran++;
    if (!cond)
        failed++;
    printf("%sok %d - %s\n", cond ? "" : "not ", ran, name);
}

/* A fixed xorshift stream: reproducible "random" input. */
static uint32_t xs = 2463534242u;
static uint32_t next_random(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 17;
    xs ^= xs << 5;
    return xs;
}

int main(void)
{
    unsigned attempt;
    int i, within = 1, reaches_top = 1, reaches_low = 1, monotone = 1;
    uint32_t prev_max = 0;
    char name[128];

    planned = 27;
    printf("1..%d\n", planned);

    /* The extremes of the random input hit the ends of the window exactly. */
    ok(b2b_erp_backoff_ms(1, 500, 60000, 0) == 0, "random 0 gives 0 (full jitter starts at 0)");
    ok(b2b_erp_backoff_ms(1, 500, 60000, UINT32_MAX) == 500, "attempt 1: ceiling is base");
    ok(b2b_erp_backoff_ms(2, 500, 60000, UINT32_MAX) == 1000, "attempt 2: ceiling is 2 x base");
    ok(b2b_erp_backoff_ms(3, 500, 60000, UINT32_MAX) == 2000, "attempt 3: ceiling is 4 x base");
    ok(b2b_erp_backoff_ms(8, 500, 60000, UINT32_MAX) == 60000, "attempt 8: 64000 capped at 60000");
    ok(b2b_erp_backoff_ms(0, 500, 60000, UINT32_MAX) == 500, "attempt 0 counts as 1");
    ok(b2b_erp_backoff_ms(1, 500, 60000, 0x80000000u) == 250, "half the random range: half the window");

    /* Large attempts and bases must saturate at cap, never overflow or wrap. */
    ok(b2b_erp_backoff_ms(33, 500, 60000, UINT32_MAX) == 60000, "attempt 33 (shift >= 32): cap");
    ok(b2b_erp_backoff_ms(1000000, 500, 60000, UINT32_MAX) == 60000, "attempt 1e6: cap");
    ok(b2b_erp_backoff_ms(UINT32_MAX, 1, UINT32_MAX, UINT32_MAX) == UINT32_MAX,
       "attempt UINT_MAX with cap UINT32_MAX: cap, no wrap");
    ok(b2b_erp_backoff_ms(30, UINT32_MAX, UINT32_MAX, UINT32_MAX) == UINT32_MAX,
       "base UINT32_MAX shifted: saturates at cap");
    ok(b2b_erp_backoff_ms(2, 3000000000u, 4000000000u, UINT32_MAX) == 4000000000u,
       "base x 2 beyond 32 bits: cap");

    /* Degenerate settings. */
    ok(b2b_erp_backoff_ms(5, 0, 60000, UINT32_MAX) == 0, "base 0: no delay");
    ok(b2b_erp_backoff_ms(5, 500, 0, UINT32_MAX) == 0, "cap 0: no delay");
    ok(b2b_erp_backoff_ms(1, 5000, 1000, UINT32_MAX) == 1000, "cap below base: cap wins");

    /* Over a random stream: always inside [0, ceiling], reaches both ends, and the
     * ceiling grows with the attempt until the cap. */
    for (attempt = 1; attempt <= 12; attempt++) {
        uint32_t ceiling = 100u << (attempt - 1) > 30000u ? 30000u : 100u << (attempt - 1);
        uint32_t lo = UINT32_MAX, hi = 0;
        for (i = 0; i < 20000; i++) {
            uint32_t d = b2b_erp_backoff_ms(attempt, 100, 30000, next_random());
            if (d > ceiling)
                within = 0;
            if (d < lo)
                lo = d;
            if (d > hi)
                hi = d;
        }
        if (hi < ceiling - ceiling / 50)
            reaches_top = 0;
        if (lo > ceiling / 50)
            reaches_low = 0;
    }
    /* The window (the delay at the top of the random range) never shrinks. */
    for (attempt = 1; attempt <= 40; attempt++) {
        uint32_t top = b2b_erp_backoff_ms(attempt, 100, 30000, UINT32_MAX);
        if (top < prev_max)
            monotone = 0;
        prev_max = top;
    }
    ok(within, "20000 draws x 12 attempts: every delay within [0, min(cap, base*2^(n-1))]");
    ok(reaches_top, "draws come within 2% of the ceiling");
    ok(reaches_low, "draws come within 2% of zero");
    ok(monotone && prev_max == 30000, "the window grows with the attempt, then stays at cap");
    {
        /* Mean of a full-jitter window is about half its ceiling. */
        double sum = 0;
        for (i = 0; i < 100000; i++)
            sum += b2b_erp_backoff_ms(4, 1000, 60000, next_random());
        snprintf(name, sizeof name, "mean of attempt 4 (window 8000) is %.0f, about 4000", sum / 100000);
        ok(sum / 100000 > 3900 && sum / 100000 < 4100, name);
    }

    /* HTTP statuses, as the worker will see them. */
    ok(b2b_erp_classify_http(201) == B2B_ERP_OK && b2b_erp_classify_http(200) == B2B_ERP_OK,
       "2xx: ok");
    ok(b2b_erp_classify_http(500) == B2B_ERP_RETRYABLE && b2b_erp_classify_http(503) == B2B_ERP_RETRYABLE
       && b2b_erp_classify_http(599) == B2B_ERP_RETRYABLE, "5xx: retryable");
    ok(b2b_erp_classify_http(408) == B2B_ERP_RETRYABLE && b2b_erp_classify_http(429) == B2B_ERP_RETRYABLE,
       "408 and 429: retryable");
    ok(b2b_erp_classify_http(400) == B2B_ERP_PERMANENT && b2b_erp_classify_http(404) == B2B_ERP_PERMANENT
       && b2b_erp_classify_http(409) == B2B_ERP_PERMANENT && b2b_erp_classify_http(422) == B2B_ERP_PERMANENT,
       "other 4xx: permanent");
    ok(b2b_erp_classify_http(301) == B2B_ERP_PERMANENT, "3xx (redirects are not followed): permanent");

    /* Registry. */
    ok(b2b_erp_adapter_find("http") == &b2b_erp_http_adapter
       && strcmp(b2b_erp_adapter_find("http")->name, "http") == 0, "find(\"http\") is the HTTP adapter");
    ok(b2b_erp_adapter_find("none") == NULL && b2b_erp_adapter_find(NULL) == NULL
       && b2b_erp_adapter_find("HTTP") == NULL, "no \"none\" adapter; names are exact");

    if (ran != planned)
        printf("# planned %d tests, ran %d\n", planned, ran);
    return failed == 0 && ran == planned ? 0 : 1;
}
