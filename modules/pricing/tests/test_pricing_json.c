/* test_pricing_json.c — TAP tests of the JSON mapping: quote body validation with field paths,
 * the quote body's fast path against the jansson one (generated and mutated bodies), the quote
 * answer (money objects, explain; random quotes against a jansson-built oracle),
 * admin price rules. */
#include "../b2b_pricing_json.h"
#include "../b2b_pricing_private.h"
#include "tap.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static b2b_quote_request_t req;
static b2b_json_error_t err;

static b2b_status_t parse(const char *body)
{
    memset(&err, 0, sizeof err);
    return b2b_quote_request_parse(body, strlen(body), &req, &err);
}

#define EXPECT_ERR(body, st, want)                                                   \
    do {                                                                             \
        CHECK_EQ(parse(body), B2B_ERR_BAD_VALUE);                                    \
        CHECK_EQ(err.status, st);                                                    \
        if (strcmp(err.path, want)) {                                                \
            printf("# body %s: path '%s', expected '%s'\n", body, err.path, want);   \
            tap_case_failed = 1;                                                     \
        }                                                                            \
    } while (0)

TEST(quote_body_ok)
{
    CHECK_EQ(parse("{\"lines\":[{\"sku\":\"SKU-00042\",\"qty\":3},{\"sku\":\"A.B_C-1\",\"qty\":1000000}],"
                   "\"promo_code\":\"SAVE10\",\"currency\":\"EUR\",\"as_of\":\"2024-01-01T00:00:00Z\","
                   "\"note\":\"ignored\"}"), B2B_OK);
    CHECK_EQ(req.nlines, 2);
    CHECK(!strcmp(req.lines[0].sku, "SKU-00042"));
    CHECK_EQ(req.lines[1].qty, 1000000);
    CHECK(req.has_promo_code && !strcmp(req.promo_code, "SAVE10"));
    CHECK(req.has_currency && !strcmp(req.currency, "EUR"));
    CHECK(req.has_as_of && req.as_of == 1704067200);
    CHECK_EQ(parse("{\"lines\":[{\"sku\":\"X\",\"qty\":1}],\"promo_code\":null,\"as_of\":1700000000}"),
             B2B_OK);
    CHECK(!req.has_promo_code && req.as_of == 1700000000);
    /* Only the head of the struct is cleared: a shorter body after a longer one. */
    CHECK_EQ(parse("{\"lines\":[{\"sku\":\"A\",\"qty\":1},{\"sku\":\"B\",\"qty\":2},"
                   "{\"sku\":\"C\",\"qty\":3}],\"currency\":\"EUR\",\"promo_code\":\"P\"}"), B2B_OK);
    CHECK_EQ(parse("{\"lines\":[{\"sku\":\"Z\",\"qty\":9}]}"), B2B_OK);
    CHECK_EQ(req.nlines, 1);
    CHECK(!strcmp(req.lines[0].sku, "Z") && req.lines[0].qty == 9);
    CHECK(!req.has_currency && !req.has_promo_code && !req.has_as_of && !req.currency[0] &&
          !req.promo_code[0] && req.as_of == 0);
    CHECK(!strcmp(req.lines[1].sku, "B") && req.lines[1].qty == 2);     /* left as they were */
    CHECK(!strcmp(req.lines[2].sku, "C") && req.lines[2].qty == 3);
}

TEST(quote_body_errors)
{
    EXPECT_ERR("", 400, "");
    EXPECT_ERR("{", 400, "");
    EXPECT_ERR("[1,2]", 400, "");
    EXPECT_ERR("{\"lines\":[],\"lines\":[]}", 400, "");              /* duplicate key */
    EXPECT_ERR("{}", 422, "lines");
    EXPECT_ERR("{\"lines\":{}}", 422, "lines");
    EXPECT_ERR("{\"lines\":[]}", 422, "lines");
    EXPECT_ERR("{\"lines\":[3]}", 422, "lines[0]");
    EXPECT_ERR("{\"lines\":[{\"qty\":1}]}", 422, "lines[0].sku");
    EXPECT_ERR("{\"lines\":[{\"sku\":\"sku-lower\",\"qty\":1}]}", 422, "lines[0].sku");
    EXPECT_ERR("{\"lines\":[{\"sku\":\"A\",\"qty\":1},{\"sku\":\"B\"}]}", 422, "lines[1].qty");
    EXPECT_ERR("{\"lines\":[{\"sku\":\"A\",\"qty\":0}]}", 422, "lines[0].qty");
    EXPECT_ERR("{\"lines\":[{\"sku\":\"A\",\"qty\":1000001}]}", 422, "lines[0].qty");
    EXPECT_ERR("{\"lines\":[{\"sku\":\"A\",\"qty\":1.5}]}", 422, "lines[0].qty");
    EXPECT_ERR("{\"lines\":[{\"sku\":\"A\",\"qty\":\"2\"}]}", 422, "lines[0].qty");
    EXPECT_ERR("{\"lines\":[{\"sku\":\"A\",\"qty\":-3}]}", 422, "lines[0].qty");
    EXPECT_ERR("{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"currency\":\"usd\"}", 422, "currency");
    EXPECT_ERR("{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"promo_code\":5}", 422, "promo_code");
    EXPECT_ERR("{\"lines\":[{\"sku\":\"A\",\"qty\":1}],\"as_of\":\"soon\"}", 422, "as_of");
    /* 501 lines */
    size_t cap = 501 * 24 + 32;
    char *big = malloc(cap), *p = big;
    p += sprintf(p, "{\"lines\":[");
    for (int i = 0; i < 501; i++)
        p += sprintf(p, "%s{\"sku\":\"A\",\"qty\":1}", i ? "," : "");
    sprintf(p, "]}");
    EXPECT_ERR(big, 422, "lines");
    free(big);
    char *e = b2b_json_error_render(&err);
    CHECK(e && strstr(e, "\"field\":\"lines\"") && strstr(e, "\"code\":\"invalid_field\""));
    free(e);
}

TEST(quote_render)
{
    CHECK_EQ(parse("{\"lines\":[{\"sku\":\"SKU-1\",\"qty\":2},{\"sku\":\"SKU-2\",\"qty\":1}]}"), B2B_OK);
    b2b_quote_t q[2];
    memset(q, 0, sizeof q);
    for (int i = 0; i < 2; i++) {
        strcpy(q[i].currency, "USD");
        q[i].minor_digits = 2;
    }
    q[0].unit_minor = 1725; q[0].net_minor = 3450; q[0].tax_minor = 250; q[0].gross_minor = 3700;
    q[0].tax_rate_bp = 725;
    q[0].step_count = 2;
    q[0].steps[0] = (b2b_step_t){ B2B_LAYER_LIST, 1, 2000, "USD", 2 };
    q[0].steps[1] = (b2b_step_t){ B2B_LAYER_CONTRACT, 52, 1725, "USD", 2 };
    q[0].promo = B2B_PROMO_NOT_BETTER;
    q[1].unit_minor = 5; q[1].net_minor = 5; q[1].gross_minor = 5;
    char *s = b2b_quote_render(&req, q, 42, 1, &err);
    CHECK(s != NULL);
    if (s) {
        CHECK(strstr(s, "\"unit_price\":{\"amount\":\"17.25\",\"currency\":\"USD\"}"));
        CHECK(strstr(s, "\"totals\":{\"net\":{\"amount\":\"34.55\",\"currency\":\"USD\"},"
                        "\"tax\":{\"amount\":\"2.50\",\"currency\":\"USD\"},"
                        "\"gross\":{\"amount\":\"37.05\",\"currency\":\"USD\"}}"));
        CHECK(strstr(s, "{\"layer\":\"contract\",\"rule_id\":52,\"amount\":{\"amount\":\"17.25\""));
        CHECK(strstr(s, "\"pricing_generation\":42"));
        CHECK(strstr(s, "\"promo\":\"not_better\""));
        CHECK(strstr(s, "\"amount\":\"0.05\""));
        printf("# %s\n", s);
    }
    free(s);
    s = b2b_quote_render(&req, q, 42, 0, &err);
    CHECK(s && !strstr(s, "\"rules\""));
    free(s);
    q[0].net_minor = INT64_MAX;
    CHECK(b2b_quote_render(&req, q, 1, 0, &err) == NULL);
    CHECK(!strcmp(err.code, "overflow"));
    b2b_quote_line_error(B2B_ERR_UNKNOWN_SKU, 1, &err);
    CHECK(err.status == 422 && !strcmp(err.path, "lines[1].sku") && !strcmp(err.code, "unknown_sku"));
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static uint64_t rng_state;

static uint64_t rnd(void)                    /* splitmix64: seeded, the same on every host */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return rnd() % n;
}

/* ---- the quote body: fast path against jansson ---- */

static b2b_quote_request_t fast_req, slow_req, both_req;

/* Runs one body through the fast path, the jansson path and b2b_quote_request_parse, from an
 * exactly-sized heap copy (no NUL after it: ASan sees any read past len). Returns 1 if the
 * fast path took it, 0 if not, -1 (and prints why) if the paths disagree. */
static int check_paths(const char *body, size_t len)
{
    char *buf = malloc(len ? len : 1);
    b2b_json_error_t slow_err, both_err;
    memcpy(buf, body, len);
    memset(&fast_req, 0xA5, sizeof fast_req);
    memset(&slow_req, 0xA5, sizeof slow_req);
    memset(&both_req, 0x5A, sizeof both_req);
    memset(&slow_err, 0, sizeof slow_err);
    memset(&both_err, 0, sizeof both_err);
    int handled = b2b_quote_request_parse_fast(buf, len, &fast_req);
    b2b_status_t slow = b2b_quote_request_parse_jansson(buf, len, &slow_req, &slow_err);
    b2b_status_t both = b2b_quote_request_parse(buf, len, &both_req, &both_err);
    const char *why = NULL;
    if (handled != 0 && handled != 1)
        why = "fast path returned neither 0 nor 1";
    else if (handled && slow != B2B_OK)
        why = "fast path took a body jansson refuses";
    else if (handled && memcmp(&fast_req, &slow_req, offsetof(b2b_quote_request_t, lines)))
        why = "request head differs";
    else if (handled && memcmp(fast_req.lines, slow_req.lines,
                               slow_req.nlines * sizeof slow_req.lines[0]))
        why = "lines differ";
    else if (both != slow)
        why = "b2b_quote_request_parse status differs from jansson's";
    else if (slow != B2B_OK && memcmp(&both_err, &slow_err, sizeof slow_err))
        why = "b2b_quote_request_parse error differs from jansson's";
    else if (slow == B2B_OK && memcmp(&both_req, &slow_req, offsetof(b2b_quote_request_t, lines)))
        why = "b2b_quote_request_parse head differs from jansson's";
    for (size_t i = 0; !why && slow == B2B_OK && i < slow_req.nlines; i++)
        if (strcmp(both_req.lines[i].sku, slow_req.lines[i].sku) ||
            both_req.lines[i].qty != slow_req.lines[i].qty)
            why = "b2b_quote_request_parse lines differ from jansson's";
    if (why)
        printf("# %s (fast %d, jansson %s): %.*s%s\n", why, handled, b2b_status_name(slow),
               (int)(len < 300 ? len : 300), buf, len < 300 ? "" : "...");
    free(buf);
    return why ? -1 : handled;
}

typedef struct {
    char *s;
    size_t len, cap;
    int fast;               /* 1 while all of it is in the fast path's shape */
    int overflow;
} body_t;

static void put_n(body_t *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->overflow = 1;
        return;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
}

static void put(body_t *b, const char *s)
{
    put_n(b, s, strlen(s));
}

/* Where a body can go wrong. Some bodies are clean (the fast path must take them, 500 lines
 * included); some have one flaw, at one kind of place (so that a lone repeated key is not
 * hidden behind another flaw); the rest flaws anywhere, one in odds * flaw_scale chances. */
enum {
    F_SPACE, F_SKU, F_QTY, F_LINE, F_LINES, F_LINE_COUNT, F_TRAILING_COMMA, F_PROMO,
    F_CURRENCY, F_AS_OF, F_BOM, F_NO_LINES, F_UNKNOWN, F_REPEATED, F_ESCAPED_KEY, F_TRAILING,
    F_COUNT
};
static enum { CLEAN, ONE_FLAW, FLAWS } flaw_mode;
static int flaw_site, flaw_done;
static uint64_t flaw_scale;

static int flaw(int site, uint64_t odds)
{
    if (flaw_mode == CLEAN)
        return 0;
    if (flaw_mode == FLAWS)
        return below(odds * flaw_scale) == 0;
    if (site != flaw_site || flaw_done || below(3) == 0)
        return 0;
    return flaw_done = 1;
}

/* Mostly nothing, else JSON whitespace; rarely something else that looks like space. */
static void put_space(body_t *b)
{
    static const char *const ok[] = { " ", "\n", "\t", "\r\n", "  ", "\n    ", " \t " };
    static const char *const bad[] = { "\f", "\v", "\xc2\xa0", "/**/" };
    if (flaw(F_SPACE, 1000)) {
        if (below(3) == 0) {
            put_n(b, "", 1);                /* a NUL byte */
        } else {
            put(b, bad[below(sizeof bad / sizeof bad[0])]);
        }
        b->fast = 0;
        return;
    }
    if (below(5) < 2)
        put(b, ok[below(sizeof ok / sizeof ok[0])]);
}

/* A JSON string of raw (printable ASCII); escape != 0 writes one character as \u00XX, which
 * jansson decodes to the same value and the fast path leaves to it. */
static void put_string(body_t *b, const char *raw, int escape)
{
    size_t n = strlen(raw), at = escape && n ? (size_t)below(n) : (size_t)-1;
    put(b, "\"");
    for (size_t i = 0; i < n; i++) {
        char e[8];
        if (i == at) {
            snprintf(e, sizeof e, "\\u%04X", (unsigned)(unsigned char)raw[i]);
            put(b, e);
        } else {
            put_n(b, raw + i, 1);
        }
    }
    put(b, "\"");
    if (escape && n)
        b->fast = 0;
}

static void rnd_chars(char *dst, size_t n, const char *first, const char *rest)
{
    for (size_t i = 0; i < n; i++) {
        const char *set = i ? rest : first;
        dst[i] = set[below(strlen(set))];
    }
    dst[n] = '\0';
}

#define UPPER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define CODE_CHARS UPPER_DIGITS "abcdefghijklmnopqrstuvwxyz._-"

/* 1..max: mostly short, sometimes exactly max. */
static size_t rnd_len(size_t max)
{
    return below(20) == 0 ? max : below(4) ? 1 + (size_t)below(12) : 1 + (size_t)below(max);
}

/* A value that is never a valid sku, promo code, currency or qty. */
static void put_wrong_type(body_t *b)
{
    static const char *const v[] = { "true", "false", "[]", "{}", "[\"A\"]", "{\"a\":1}", "1.5" };
    put(b, v[below(sizeof v / sizeof v[0])]);
    b->fast = 0;
}

static void put_sku(body_t *b)
{
    char v[80];
    rnd_chars(v, rnd_len(64), UPPER_DIGITS, UPPER_DIGITS "._-");
    switch (flaw(F_SKU, 30) ? 1 + below(10) : 0) {
    case 0: put_string(b, v, 0); return;                        /* the plain case */
    case 1: put_string(b, v, 1); return;                        /* escaped: jansson's */
    case 2: rnd_chars(v, 65, UPPER_DIGITS, UPPER_DIGITS); break;   /* too long */
    case 3: v[below(strlen(v))] = 'a'; break;                   /* lower case */
    case 4: v[0] = below(2) ? '-' : '.'; break;
    case 5: v[0] = '\0'; break;
    case 6: put(b, "\"SKU-\xc3\x89\""); b->fast = 0; return;     /* UTF-8 */
    case 7: put(b, "\"SKU\x01\""); b->fast = 0; return;          /* raw control character */
    case 8: put(b, "\"SKU\x7f\""); b->fast = 0; return;
    case 9: put(b, below(2) ? "null" : "42"); b->fast = 0; return;
    default: put_wrong_type(b); return;
    }
    put_string(b, v, 0);
    b->fast = 0;
}

static void put_qty(body_t *b)
{
    static const struct { const char *text; int fast; } q[] = {
        { "1", 1 }, { "1000000", 1 }, { "999999", 1 }, { "10", 1 },
        { "1000001", 0 }, { "0", 0 }, { "-0", 0 }, { "-1", 0 }, { "01", 0 }, { "007", 0 },
        { "1.0", 0 }, { "1e2", 0 }, { "1E0", 0 }, { "2.5", 0 }, { "-", 0 }, { "+1", 0 },
        { "9223372036854775807", 0 }, { "9223372036854775808", 0 },
        { "-9223372036854775808", 0 }, { "-9223372036854775809", 0 },
        { "123456789012345678901234567890", 0 }, { "\"2\"", 0 }, { "null", 0 }, { "0x10", 0 },
        { "1 2", 0 }, { "Infinity", 0 }, { "NaN", 0 }, { "1.", 0 }, { "1e", 0 },
    };
    if (!flaw(F_QTY, 3)) {
        char v[24];
        if (below(5) == 0) {
            put(b, q[below(4)].text);           /* the first 4: good, at the boundaries */
            return;
        }
        snprintf(v, sizeof v, "%lld", below(3) ? 1 + (long long)below(100)
                                              : 1 + (long long)below(B2B_MAX_QTY));
        put(b, v);
        return;
    }
    size_t i = (size_t)below(sizeof q / sizeof q[0]);
    put(b, q[i].text);
    if (!q[i].fast)
        b->fast = 0;
}

static void put_line(body_t *b)
{
    int defect = flaw(F_LINE, 150) ? 1 + (int)below(6) : 0;
    if (defect == 1) {
        static const char *const v[] = { "3", "null", "[]", "\"A\"", "{}", "[{\"sku\":\"A\",\"qty\":1}]" };
        put(b, v[below(sizeof v / sizeof v[0])]);
        b->fast = 0;
        return;
    }
    const char *keys[4] = { "sku", "qty" };
    int nk = 2;
    if (below(2)) {
        keys[0] = "qty";
        keys[1] = "sku";
    }
    if (defect == 2) {
        nk = 1;                                 /* one of them missing */
    } else if (defect == 3) {
        keys[nk++] = "note";                    /* a member jansson ignores */
    } else if (defect == 4) {
        keys[nk++] = keys[below(2)];            /* repeated */
    } else if (defect == 5) {
        keys[nk++] = below(2) ? "SKU" : "qty ";
    }
    if (defect)
        b->fast = 0;
    if (nk > 2 && below(2)) {                   /* not always last */
        const char *t = keys[nk - 1];
        keys[nk - 1] = keys[0];
        keys[0] = t;
    }
    put(b, "{");
    for (int k = 0; k < nk; k++) {
        if (k) {
            put_space(b);
            put(b, ",");
        }
        put_space(b);
        put_string(b, keys[k], defect == 6 && k == 0);   /* "\u0073ku": the same key */
        put_space(b);
        put(b, ":");
        put_space(b);
        if (!strcmp(keys[k], "sku"))
            put_sku(b);
        else if (!strcmp(keys[k], "qty"))
            put_qty(b);
        else
            put(b, "\"x\"");
        put_space(b);
    }
    put(b, "}");
}

static void put_lines(body_t *b)
{
    if (flaw(F_LINES, 80)) {
        static const char *const v[] = { "null", "{}", "\"x\"", "3", "[3]", "[null]", "true" };
        put(b, v[below(sizeof v / sizeof v[0])]);
        b->fast = 0;
        return;
    }
    size_t n = below(10) ? 1 + (size_t)below(5) : below(5) ? 1 + (size_t)below(B2B_QUOTE_MAX_LINES)
                                                         : B2B_QUOTE_MAX_LINES;
    if (flaw(F_LINE_COUNT, 150))
        n = below(2) ? 0 : B2B_QUOTE_MAX_LINES + 1;
    if (n == 0 || n > B2B_QUOTE_MAX_LINES)
        b->fast = 0;
    put(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(b, ",");
        put_space(b);
        put_line(b);
        put_space(b);
    }
    if (flaw(F_TRAILING_COMMA, 300)) {
        put(b, ",");                            /* trailing comma */
        b->fast = 0;
    }
    put(b, "]");
}

static void put_promo(body_t *b)
{
    char v[80];
    if (below(5) == 0) {
        put(b, "null");                         /* absent */
        return;
    }
    rnd_chars(v, rnd_len(64), CODE_CHARS, CODE_CHARS);
    switch (flaw(F_PROMO, 20) ? 1 + below(7) : 0) {
    case 0: put_string(b, v, 0); return;
    case 1: put_string(b, v, 1); return;
    case 2: rnd_chars(v, 65, CODE_CHARS, CODE_CHARS); break;
    case 3: v[0] = '\0'; break;
    case 4: strcpy(v, "SAVE 10"); break;
    case 5: put(b, "\"R\xc3\xa9" "duit\""); b->fast = 0; return;
    case 6: put(b, "5"); b->fast = 0; return;
    default: put_wrong_type(b); return;
    }
    put_string(b, v, 0);
    b->fast = 0;
}

static void put_currency(body_t *b)
{
    static const struct { const char *text; int fast; } c[] = {
        { "\"USD\"", 1 }, { "\"EUR\"", 1 }, { "\"JPY\"", 1 }, { "null", 1 },
        { "\"usd\"", 0 }, { "\"US\"", 0 }, { "\"USDD\"", 0 }, { "\"U\\u0053D\"", 0 }, { "\"\"", 0 },
        { "\"\xc3\x9cSD\"", 0 }, { "840", 0 }, { "\"U\x01" "D\"", 0 }, { "\"US1\"", 0 },
        { "\"U D\"", 0 }, { "[\"USD\"]", 0 },
    };
    if (below(3) == 0) {
        char v[4];
        rnd_chars(v, 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        put_string(b, v, 0);
        return;
    }
    size_t i = flaw(F_CURRENCY, 2) ? (size_t)below(sizeof c / sizeof c[0]) : (size_t)below(4);    /* 4 good */
    put(b, c[i].text);
    if (!c[i].fast)
        b->fast = 0;
}

static void put_as_of(body_t *b)
{
    static const struct { const char *text; int fast; } a[] = {
        { "\"2024-01-01T00:00:00Z\"", 1 }, { "1700000000", 1 }, { "null", 1 },
        { "\"2024-01-01\"", 1 }, { "\"2024-02-29T12:30:00+02:00\"", 1 },
        { "\"2024-06-30 23:59:59.250-0130\"", 1 }, { "\"1700000000\"", 1 }, { "\"-5\"", 1 },
        { "0", 1 }, { "-0", 1 }, { "-1", 1 }, { "9223372036854775807", 1 },
        { "-9223372036854775808", 1 }, { "\"2024-01-01T10:00\"", 1 },
        { "\"2023-02-29\"", 0 }, { "\"2024-01-01T24:00:00Z\"", 0 }, { "\"\"", 0 },
        { "\"soon\"", 0 }, { "\"2024-01-01T00:00:00\\u005a\"", 0 }, { "1.5", 0 }, { "1e9", 0 },
        { "01", 0 }, { "9223372036854775808", 0 }, { "-9223372036854775809", 0 },
        { "true", 0 }, { "\"2024-01-01T00:00:00Z \"", 0 }, { "[]", 0 },
        { "\"12345678901234567890123456789012345678901234567890123456789012345\"", 0 },
    };
    if (below(4) == 0) {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)rnd());
        put(b, v);
        return;
    }
    size_t i = flaw(F_AS_OF, 2) ? (size_t)below(sizeof a / sizeof a[0]) : (size_t)below(14);   /* 14 good */
    put(b, a[i].text);
    if (!a[i].fast)
        b->fast = 0;
}

enum { K_LINES, K_PROMO, K_CURRENCY, K_AS_OF, K_UNKNOWN };

static void gen_body(body_t *b)
{
    static const char *const names[] = { "lines", "promo_code", "currency", "as_of" };
    static const char *const unknown[] = { "note", "Lines", "line", "lines ", "sku", "as_of_", "" };
    static const char *const trailing[] = { "x", "}", ",", "{}", "\x80", "0", "null" };
    int keys[8], nk = 0;
    b->len = 0;
    b->fast = 1;
    if (flaw(F_BOM, 300)) {
        put(b, "\xef\xbb\xbf");                 /* a byte order mark */
        b->fast = 0;
    }
    if (!flaw(F_NO_LINES, 100))
        keys[nk++] = K_LINES;
    else
        b->fast = 0;
    for (int k = K_PROMO; k <= K_AS_OF; k++)
        if (below(2))
            keys[nk++] = k;
    if (flaw(F_UNKNOWN, 40)) {
        keys[nk++] = K_UNKNOWN;
        b->fast = 0;
    }
    if (nk && flaw(F_REPEATED, 60)) {
        keys[nk] = keys[below((uint64_t)nk)];   /* repeated key */
        nk++;
        b->fast = 0;
    }
    for (int i = nk - 1; i > 0; i--) {
        int j = (int)below((uint64_t)i + 1), t = keys[i];
        keys[i] = keys[j];
        keys[j] = t;
    }
    put_space(b);
    put(b, "{");
    for (int i = 0; i < nk; i++) {
        if (i)
            put(b, ",");
        put_space(b);
        if (keys[i] == K_UNKNOWN)
            put_string(b, unknown[below(sizeof unknown / sizeof unknown[0])], 0);
        else
            put_string(b, names[keys[i]], flaw(F_ESCAPED_KEY, 150));   /* "\u006cines": the same key */
        put_space(b);
        put(b, ":");
        put_space(b);
        switch (keys[i]) {
        case K_LINES: put_lines(b); break;
        case K_PROMO: put_promo(b); break;
        case K_CURRENCY: put_currency(b); break;
        case K_AS_OF: put_as_of(b); break;
        default: put(b, below(2) ? "\"ignored\"" : "{\"a\":[1,2,{}]}"); break;
        }
        put_space(b);
    }
    put(b, "}");
    put_space(b);
    if (flaw(F_TRAILING, 60)) {
        put(b, trailing[below(sizeof trailing / sizeof trailing[0])]);
        b->fast = 0;
    }
}

/* 1..3 edits: a byte replaced (often by JSON punctuation), deleted or inserted, or a span
 * repeated (a whole line repeated is still a good body). */
static size_t mutate(const char *src, size_t len, char *dst)
{
    static const char bytes[] = "\"\\,:{}[] 0-.eEn\t\x00\x01\x1f\x7f\x80\xc3\xff" "Aa9_";
    size_t n = len;
    memcpy(dst, src, len);
    for (int e = 1 + (int)below(3); e > 0 && n > 0; e--) {
        size_t at = (size_t)below(n);
        char c = below(4) ? bytes[below(sizeof bytes - 1)] : (char)below(256);
        switch (below(6)) {
        case 0:
            memmove(dst + at, dst + at + 1, n - at - 1);
            n--;
            break;
        case 1:
            memmove(dst + at + 1, dst + at, n - at);
            dst[at] = c;
            n++;
            break;
        case 2: {
            size_t span = 1 + (size_t)below(n - at < 40 ? n - at : 40);
            memmove(dst + at + span, dst + at, n - at);     /* the copy of [at, at+span) */
            n += span;
            break;
        }
        default:
            dst[at] = c;
            break;
        }
    }
    return n;
}

/* The shapes clients send: the fast path must take them, or it saves nothing. */
TEST(quote_fast_path_takes_plain_bodies)
{
    static const char *const plain[] = {
        "{\"lines\":[{\"sku\":\"SKU-00042\",\"qty\":3}]}",
        " \n{ \"lines\" : [ { \"qty\" : 3 , \"sku\" : \"SKU-00042\" } ] } \r\n\t",
        "{\"lines\":[{\"sku\":\"SKU-1\",\"qty\":2},{\"qty\":1000000,\"sku\":\"A.B_C-1\"}],"
        "\"promo_code\":\"save_10.x-Y\",\"currency\":\"EUR\",\"as_of\":\"2024-01-01T00:00:00Z\"}",
        "{\"as_of\":1700000000,\"currency\":\"USD\",\"promo_code\":null,\"lines\":[{\"sku\":\"X\",\"qty\":1}]}",
        "{\"currency\":null,\"as_of\":null,\"lines\":[{\"sku\":\"X\",\"qty\":1}],\"promo_code\":\"P\"}",
        "{\"lines\":[{\"sku\":\"X\",\"qty\":1}],\"as_of\":-9223372036854775808}",
        "{\"lines\":[{\"sku\":\"X\",\"qty\":1}],\"as_of\":-0}",
    };
    static const char *const valid_but_not_ours[] = {
        "{\"lines\":[{\"sku\":\"X\",\"qty\":1}],\"note\":\"unknown member\"}",
        "{\"\\u006cines\":[{\"sku\":\"X\",\"qty\":1}]}",
        "{\"lines\":[{\"sku\":\"\\u0041\",\"qty\":1}]}",
        "{\"lines\":[{\"sku\":\"X\",\"qty\":1,\"note\":1}]}",
        "{\"lines\":[{\"sku\":\"X\",\"qty\":1}],\"promo_code\":\"S\\u0041VE\"}",
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (check_paths(plain[i], strlen(plain[i])) != 1) {
            printf("# not taken by the fast path: %s\n", plain[i]);
            tap_case_failed = 1;
        }
    for (size_t i = 0; i < sizeof valid_but_not_ours / sizeof valid_but_not_ours[0]; i++) {
        const char *body = valid_but_not_ours[i];
        CHECK_EQ(check_paths(body, strlen(body)), 0);
        CHECK_EQ(b2b_quote_request_parse_jansson(body, strlen(body), &slow_req, &err), B2B_OK);
    }
    const char *one = plain[0];
    CHECK_EQ(b2b_quote_request_parse_fast(one, strlen(one), &fast_req), 1);
    CHECK(fast_req.nlines == 1 && !strcmp(fast_req.lines[0].sku, "SKU-00042") &&
          fast_req.lines[0].qty == 3 && !fast_req.has_promo_code && !fast_req.has_currency &&
          !fast_req.has_as_of);
    /* len, not a NUL, ends the body */
    CHECK_EQ(check_paths(one, strlen(one) - 1), 0);
    CHECK_EQ(check_paths("{\"lines\":[{\"sku\":\"X\",\"qty\":1}]}garbage", 31), 1);
    CHECK_EQ(b2b_quote_request_parse_fast(NULL, 0, &fast_req), 0);
    /* B2B_QUOTE_MAX_LINES lines are the fast path's, one more is jansson's error */
    static char many[(B2B_QUOTE_MAX_LINES + 1) * 32 + 32];
    for (int extra = 0; extra < 2; extra++) {
        char *p = many;
        p += sprintf(p, "{\"lines\":[");
        for (int i = 0; i < B2B_QUOTE_MAX_LINES + extra; i++)
            p += sprintf(p, "%s{\"sku\":\"S%d\",\"qty\":%d}", i ? "," : "", i, i + 1);
        p += sprintf(p, "]}");
        CHECK_EQ(check_paths(many, (size_t)(p - many)), !extra);
        CHECK_EQ(parse(many), extra ? B2B_ERR_BAD_VALUE : B2B_OK);
    }
}

TEST(quote_fast_path_matches_jansson)
{
    static char text[256 * 1024], mutated[256 * 1024 + 200];
    body_t b = { text, 0, sizeof text, 1, 0 };
    const uint64_t seed = 20250301;
    long inputs = 0, taken = 0, generated_taken = 0, bad = 0, shape_wrong = 0, truncated = 0;
    long big_taken = 0;
    rng_state = seed;
    printf("# seed %llu\n", (unsigned long long)seed);
    for (int n = 0; n < 3000 && bad + shape_wrong < 5; n++) {
        static const uint64_t scales[] = { 1, 5, 50, 500 };
        flaw_mode = n % 10 < 4 ? CLEAN : n % 10 < 7 ? ONE_FLAW : FLAWS;
        flaw_site = (int)below(F_COUNT);
        flaw_done = 0;
        flaw_scale = scales[below(4)];
        gen_body(&b);
        CHECK(!b.overflow);
        int h = check_paths(b.s, b.len);
        inputs++;
        bad += h < 0;
        taken += h == 1;
        generated_taken += h == 1;
        big_taken += h == 1 && slow_req.nlines == B2B_QUOTE_MAX_LINES;
        if (h >= 0 && h != b.fast) {            /* the generator's idea of the shape */
            printf("# fast path %s a body meant %s: %.*s\n", h ? "took" : "declined",
                   b.fast ? "for it" : "for jansson", (int)(b.len < 300 ? b.len : 300), b.s);
            shape_wrong++;
        }
        /* every prefix of the first few hundred small ones, some of the big ones */
        if (b.len <= 1500 ? n < 400 : n % 10 == 0) {
            for (size_t k = 0; k < b.len; k += b.len <= 1500 ? 1 : 1 + (size_t)below(b.len / 20)) {
                h = check_paths(b.s, k);
                inputs++;
                truncated++;
                bad += h < 0;
                taken += h == 1;
            }
        }
        for (int m = b.len < 4096 ? 20 : 2; m > 0; m--) {
            h = check_paths(mutated, mutate(b.s, b.len, mutated));
            inputs++;
            bad += h < 0;
            taken += h == 1;
        }
    }
    printf("# %ld bodies (%ld prefixes), %ld taken by the fast path (%ld of 3000 generated, "
           "%ld with %d lines)\n", inputs, truncated, taken, generated_taken, big_taken,
           B2B_QUOTE_MAX_LINES);
    CHECK_EQ(bad, 0);
    CHECK_EQ(shape_wrong, 0);
    CHECK(generated_taken > 1200);             /* 40% of the generated bodies are clean */
    CHECK(big_taken > 10);
}

/* A figure to watch, not to assert. */
TEST(quote_parse_timing)
{
    static const char *const bodies[] = {
        "{\"lines\":[{\"sku\":\"SKU-00042\",\"qty\":3}]}",
        "{\"lines\":[{\"sku\":\"SKU-00042\",\"qty\":3}],\"note\":1}",   /* jansson's */
    };
    const int n = 20000;
    for (size_t i = 0; i < 2; i++) {
        double t = now_ns();
        for (int k = 0; k < n; k++)
            CHECK_EQ(b2b_quote_request_parse(bodies[i], strlen(bodies[i]), &req, &err), B2B_OK);
        printf("# parse: %.0f ns (%s)\n", (now_ns() - t) / n, i ? "jansson" : "fast path");
    }
}

/* ---- the quote answer against the jansson build it replaced ---- */

/* The old b2b_quote_render, kept here as the oracle: NULL on overflow of the totals. */
static json_t *ref_money(int64_t minor, int digits, const char *currency)
{
    char buf[40];
    b2b_money_format(minor, digits, buf, sizeof buf);
    return json_pack("{s:s, s:s}", "amount", buf, "currency", currency);
}

static json_t *ref_render(const b2b_quote_request_t *rq, const b2b_quote_t *quotes,
                          uint64_t generation, int explain)
{
    json_t *root = json_object(), *lines = json_array();
    int64_t net = 0, tax = 0, gross = 0;
    const char *cur = rq->nlines ? quotes[0].currency : "";
    int digits = rq->nlines ? quotes[0].minor_digits : 0;
    for (size_t i = 0; i < rq->nlines; i++) {
        const b2b_quote_t *q = &quotes[i];
        if (b2b_money_add(net, q->net_minor, &net) || b2b_money_add(tax, q->tax_minor, &tax) ||
            b2b_money_add(gross, q->gross_minor, &gross)) {
            json_decref(root);
            json_decref(lines);
            return NULL;
        }
        json_t *line = json_object();
        json_object_set_new(line, "sku", json_string(rq->lines[i].sku));
        json_object_set_new(line, "qty", json_integer((json_int_t)rq->lines[i].qty));
        json_object_set_new(line, "unit_price", ref_money(q->unit_minor, q->minor_digits, q->currency));
        json_object_set_new(line, "net", ref_money(q->net_minor, q->minor_digits, q->currency));
        json_object_set_new(line, "tax", ref_money(q->tax_minor, q->minor_digits, q->currency));
        json_object_set_new(line, "gross", ref_money(q->gross_minor, q->minor_digits, q->currency));
        if (q->tax_rate_bp || explain) {
            char rate[16];
            b2b_percent_format(q->tax_rate_bp, rate, sizeof rate);
            json_object_set_new(line, "tax_rate_percent", json_string(rate));
        }
        if (q->promo != B2B_PROMO_NONE)
            json_object_set_new(line, "promo", json_string(b2b_promo_status_name(q->promo)));
        if (explain) {
            json_t *rules = json_array();
            for (unsigned k = 0; k < q->step_count; k++) {
                const b2b_step_t *st = &q->steps[k];
                json_array_append_new(rules,
                                      json_pack("{s:s, s:I, s:o}", "layer",
                                                b2b_layer_name(st->layer), "rule_id",
                                                (json_int_t)st->rule_id, "amount",
                                                ref_money(st->amount_minor, st->minor_digits,
                                                          st->currency)));
            }
            json_object_set_new(line, "rules", rules);
        }
        json_array_append_new(lines, line);
    }
    json_object_set_new(root, "lines", lines);
    json_object_set_new(root, "totals",
                        json_pack("{s:o, s:o, s:o}", "net", ref_money(net, digits, cur), "tax",
                                  ref_money(tax, digits, cur), "gross", ref_money(gross, digits, cur)));
    json_object_set_new(root, "currency", json_string(cur));
    json_object_set_new(root, "pricing_generation", json_integer((json_int_t)generation));
    return root;
}

/* Zero, small, mid-sized or huge, either sign, up to +-limit. */
static int64_t rnd_amount(int64_t limit)
{
    int64_t v;
    switch (below(5)) {
    case 0: return 0;
    case 1: v = (int64_t)below(2001) - 1000; break;
    case 2: v = (int64_t)below(100000000); break;
    default: v = (int64_t)(rnd() % (uint64_t)limit); break;
    }
    return below(3) == 0 ? -v : v;
}

/* Mostly valid UTF-8 codes that need escaping or pass through: the renderer must match
 * jansson on all of them even though today's SKUs and currencies can't hold them. */
static const char *const awkward[] = {
    "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x01", "\x1f", "\x7f", " ",
    "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbf",
};

static void rnd_text(char *dst, size_t cap, size_t maxlen, int plain)
{
    static const char sku_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    size_t want = 1 + (size_t)below(maxlen), n = 0;
    while (n < want) {
        if (!plain && below(4) == 0) {
            const char *a = awkward[below(sizeof awkward / sizeof awkward[0])];
            size_t k = strlen(a);
            if (n + k > maxlen || n + k >= cap)
                break;
            memcpy(dst + n, a, k);
            n += k;
        } else {
            dst[n++] = sku_chars[below(sizeof sku_chars - 1)];
        }
    }
    dst[n] = '\0';
}

static const struct { const char *code; int digits; } currencies[] = {
    { "JPY", 0 }, { "USD", 2 }, { "EUR", 2 }, { "KWD", 3 }, { "BHD", 3 },
};

static void rnd_currency(char currency[4], int *digits)
{
    size_t c = (size_t)below(sizeof currencies / sizeof currencies[0]);
    *digits = currencies[c].digits;
    if (below(20) == 0)
        rnd_text(currency, 4, 3, 0);
    else
        memcpy(currency, currencies[c].code, 4);
}

static void rnd_quote(b2b_quote_request_t *rq, b2b_quote_t *q, int *explain, uint64_t *generation)
{
    rq->nlines = 1 + (size_t)below(5);
    *explain = (int)below(2);
    *generation = below(3) ? below(1000) : rnd() >> 1;
    for (size_t i = 0; i < rq->nlines; i++) {
        rnd_text(rq->lines[i].sku, sizeof rq->lines[i].sku, B2B_CODE_MAX, below(3) != 0);
        rq->lines[i].qty = below(10) ? 1 + (int64_t)below(B2B_MAX_QTY) : (int64_t)rnd();
        memset(&q[i], 0, sizeof q[i]);
        rnd_currency(q[i].currency, &q[i].minor_digits);
        /* unit prices are not summed: any int64; line amounts add up over 5 lines */
        q[i].unit_minor = below(20) ? rnd_amount(INT64_MAX) : below(2) ? INT64_MIN : INT64_MAX;
        q[i].net_minor = rnd_amount(INT64_MAX / 5);
        q[i].tax_minor = rnd_amount(INT64_MAX / 5);
        q[i].gross_minor = rnd_amount(INT64_MAX / 5);
        q[i].tax_rate_bp = below(2) ? 0 : below(10) ? (int32_t)below(10001) : (int32_t)rnd();
        q[i].promo = (b2b_promo_status_t)below(B2B_PROMO_UNKNOWN_CODE + 2);   /* one unknown */
        q[i].step_count = (unsigned)below(B2B_MAX_STEPS + 1);
        for (unsigned k = 0; k < q[i].step_count; k++) {
            b2b_step_t *st = &q[i].steps[k];
            st->layer = (b2b_layer_t)below(B2B_LAYER_COUNT + 1);
            st->rule_id = below(4) ? (int64_t)below(100000) : (int64_t)rnd();
            st->amount_minor = rnd_amount(INT64_MAX);
            rnd_currency(st->currency, &st->minor_digits);
        }
    }
}

/* Renders one quote both ways; 1 if they agree. */
static int same_as_oracle(const b2b_quote_request_t *rq, const b2b_quote_t *q, int explain,
                          uint64_t generation)
{
    json_error_t je;
    char *got = b2b_quote_render(rq, q, generation, explain, &err);
    json_t *want = ref_render(rq, q, generation, explain);
    char *want_text = want ? json_dumps(want, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_t *parsed = got ? json_loads(got, JSON_REJECT_DUPLICATES, &je) : NULL;
    int ok = got && want_text && !strcmp(got, want_text) && parsed && json_equal(parsed, want);
    if (!ok) {
        printf("# got  %s\n# want %s\n", got ? got : "(null)", want_text ? want_text : "(null)");
        if (got && !parsed)
            printf("# not JSON: %s\n", je.text);
    }
    free(got);
    free(want_text);
    json_decref(want);
    json_decref(parsed);
    return ok;
}

TEST(quote_render_matches_jansson)
{
    static b2b_quote_t q[5];
    const uint64_t seed = 20240611;
    int bad = 0, explain;
    uint64_t generation;
    rng_state = seed;
    printf("# seed %llu\n", (unsigned long long)seed);
    for (int n = 0; n < 5000 && bad < 3; n++) {
        rnd_quote(&req, q, &explain, &generation);
        if (!same_as_oracle(&req, q, explain, generation)) {
            printf("# quote %d differs\n", n);
            bad++;
        }
    }
    CHECK_EQ(bad, 0);
    /* No lines (the HTTP layer never asks, but the function allows it). */
    req.nlines = 0;
    CHECK(same_as_oracle(&req, q, 1, 7));
}

/* Bytes that are not UTF-8 (jansson refused them and dropped the key): U+FFFD each. */
TEST(quote_render_bad_utf8)
{
    static const struct { const char *sku, *want; } cases[] = {
        { "A\xff" "B", "A\xef\xbf\xbd" "B" },
        { "\xc0\x80", "\xef\xbf\xbd\xef\xbf\xbd" },                        /* overlong NUL */
        { "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },         /* surrogate */
        { "\xf4\x90\x80\x80" "Z", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "Z" },
        { "X\xe2\x82", "X\xef\xbf\xbd\xef\xbf\xbd" },                         /* cut short */
        { "\xc3\xa9\x80", "\xc3\xa9\xef\xbf\xbd" },
    };
    b2b_quote_t q;
    memset(&q, 0, sizeof q);
    strcpy(q.currency, "U\xfe");
    q.minor_digits = 2;
    req.nlines = 1;
    req.lines[0].qty = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(req.lines[0].sku, sizeof req.lines[0].sku, "%s", cases[i].sku);
        char *s = b2b_quote_render(&req, &q, 1, 1, &err);
        json_error_t je;
        json_t *j = s ? json_loads(s, JSON_REJECT_DUPLICATES, &je) : NULL;
        const char *sku = json_string_value(json_object_get(json_array_get(json_object_get(j, "lines"), 0), "sku"));
        const char *cur = json_string_value(json_object_get(j, "currency"));
        if (!sku || strcmp(sku, cases[i].want) || !cur || strcmp(cur, "U\xef\xbf\xbd")) {
            printf("# case %zu: %s\n", i, s ? s : "(null)");
            tap_case_failed = 1;
        }
        json_decref(j);
        free(s);
    }
}

TEST(quote_render_overflow)
{
    static b2b_quote_t q[5];
    memset(q, 0, sizeof q);
    req.nlines = 5;
    for (int i = 0; i < 5; i++) {
        snprintf(req.lines[i].sku, sizeof req.lines[i].sku, "SKU-%d", i);
        req.lines[i].qty = 1;
        strcpy(q[i].currency, "USD");
        q[i].minor_digits = 2;
    }
    /* net on the last line, tax below INT64_MIN, gross on the second */
    int64_t *field[3] = { &q[4].net_minor, &q[3].tax_minor, &q[1].gross_minor };
    int64_t first[3] = { INT64_MAX - 10, INT64_MIN + 10, INT64_MAX };
    int64_t *other[3] = { &q[2].net_minor, &q[0].tax_minor, &q[0].gross_minor };
    int64_t second[3] = { 11, -11, 1 };
    for (int c = 0; c < 3; c++) {
        *field[c] = first[c];
        *other[c] = second[c] - (second[c] > 0 ? 1 : -1);      /* fits exactly */
        char *s = b2b_quote_render(&req, q, 1, 1, &err);
        CHECK(s != NULL);
        free(s);
        *other[c] = second[c];
        memset(&err, 0, sizeof err);
        CHECK(b2b_quote_render(&req, q, 1, 1, &err) == NULL);
        CHECK(err.status == 422 && !strcmp(err.code, "overflow") && !strcmp(err.path, "lines"));
        *field[c] = *other[c] = 0;
    }
}

/* A figure to watch, not to assert: timing depends on the machine and the sanitizers. */
TEST(quote_render_timing)
{
    b2b_quote_t q;
    memset(&q, 0, sizeof q);
    CHECK_EQ(parse("{\"lines\":[{\"sku\":\"SKU-00042\",\"qty\":3}]}"), B2B_OK);
    strcpy(q.currency, "USD");
    q.minor_digits = 2;
    q.unit_minor = 1740; q.net_minor = 5220; q.tax_minor = 365; q.gross_minor = 5585;
    q.tax_rate_bp = 700;
    q.step_count = 2;
    q.steps[0] = (b2b_step_t){ B2B_LAYER_LIST, 11, 2000, "USD", 2 };
    q.steps[1] = (b2b_step_t){ B2B_LAYER_CONTRACT, 52, 1740, "USD", 2 };
    const int n = 20000;
    size_t bytes = 0;
    for (int explain = 0; explain < 2; explain++) {
        double t = now_ns();
        for (int i = 0; i < n; i++) {
            char *s = b2b_quote_render(&req, &q, 26, explain, &err);
            bytes += s ? strlen(s) : 0;
            free(s);
        }
        printf("# render: %.0f ns (one line%s)\n", (now_ns() - t) / n, explain ? ", explain" : "");
    }
    CHECK(bytes > 0);
}

static int digits(const char *code, void *ctx)
{
    (void)ctx;
    if (!strcmp(code, "USD") || !strcmp(code, "EUR")) return 2;
    if (!strcmp(code, "JPY")) return 0;
    if (!strcmp(code, "KWD")) return 3;
    return -1;
}

static b2b_rule_spec_t spec;

static b2b_status_t rule(const char *body)
{
    memset(&err, 0, sizeof err);
    return b2b_rule_spec_parse(body, strlen(body), digits, NULL, &spec, &err);
}

#define RULE_ERR(body, want)                                                          \
    do {                                                                              \
        CHECK_EQ(rule(body), B2B_ERR_BAD_VALUE);                                      \
        CHECK_EQ(err.status, 422);                                                    \
        if (strcmp(err.path, want)) {                                                 \
            printf("# rule %s: path '%s' (%s), expected '%s'\n", body, err.path, err.message, want); \
            tap_case_failed = 1;                                                      \
        }                                                                             \
    } while (0)

TEST(admin_rule)
{
    CHECK_EQ(rule("{\"kind\":\"contract\",\"account\":\"ACME-NA\",\"sku\":\"SKU-00042\","
                  "\"price\":{\"amount\":\"17.25\",\"currency\":\"USD\"}}"), B2B_OK);
    CHECK(spec.kind == B2B_KIND_CONTRACT && !strcmp(spec.account, "ACME-NA") &&
          spec.price_minor == 1725 && !strcmp(spec.currency, "USD"));
    CHECK_EQ(rule("{\"kind\":\"tier\",\"tier\":\"GOLD\",\"product_group\":\"TOOLS\","
                  "\"discount_percent\":\"12.50\",\"valid_from\":\"2024-01-01T00:00:00Z\"}"), B2B_OK);
    CHECK(spec.discount_bp == 1250 && spec.valid_from == 1704067200 && spec.valid_to == B2B_TIME_MAX);
    CHECK_EQ(rule("{\"kind\":\"promo\",\"promo_code\":\"SAVE5\",\"amount_off\":{\"amount\":\"500\","
                  "\"currency\":\"JPY\"},\"stackable\":true,\"min_qty\":10}"), B2B_OK);
    CHECK(spec.amount_off_minor == 500 && spec.stackable && spec.min_qty == 10);
    CHECK_EQ(rule("{\"kind\":\"tax\",\"country\":\"DE\",\"tax_class\":\"reduced\",\"rate_percent\":\"7\"}"),
             B2B_OK);
    CHECK_EQ(spec.rate_bp, 700);
    CHECK_EQ(rule("{\"kind\":\"fx\",\"currency\":\"USD\",\"to_currency\":\"KWD\",\"fx_rate\":\"0.307\"}"),
             B2B_OK);
    CHECK_EQ(spec.fx_rate_micro, 307000);
    char *s = b2b_rule_spec_render(&spec, digits, NULL);
    CHECK(s && strstr(s, "\"fx_rate\":\"0.307000\""));
    free(s);
    RULE_ERR("{\"kind\":\"rebate\"}", "kind");
    RULE_ERR("{\"account\":\"X\"}", "kind");
    RULE_ERR("{\"kind\":\"contract\",\"sku\":\"A\",\"discount_percent\":\"5\"}", "account");
    RULE_ERR("{\"kind\":\"contract\",\"account\":\"acme\",\"sku\":\"A\",\"discount_percent\":\"5\"}", "account");
    RULE_ERR("{\"kind\":\"contract\",\"account\":\"A\",\"sku\":\"A\",\"discount_percent\":\"5.001\"}",
             "discount_percent");
    RULE_ERR("{\"kind\":\"contract\",\"account\":\"A\",\"sku\":\"A\",\"discount_percent\":5}",
             "discount_percent");
    RULE_ERR("{\"kind\":\"contract\",\"account\":\"A\",\"sku\":\"A\","
             "\"price\":{\"amount\":\"1.001\",\"currency\":\"USD\"}}", "price.amount");
    RULE_ERR("{\"kind\":\"contract\",\"account\":\"A\",\"sku\":\"A\","
             "\"price\":{\"amount\":\"1\",\"currency\":\"XXX\"}}", "price.currency");
    RULE_ERR("{\"kind\":\"contract\",\"account\":\"A\",\"sku\":\"A\",\"product_group\":\"G\","
             "\"discount_percent\":\"5\"}", "sku");
    RULE_ERR("{\"kind\":\"contract\",\"account\":\"A\",\"sku\":\"A\",\"discount_percent\":\"5\","
             "\"valid_from\":\"2024-02-01\",\"valid_to\":\"2024-01-01\"}", "valid_to");
    RULE_ERR("{\"kind\":\"bracket\",\"sku\":\"A\",\"discount_percent\":\"5\"}", "min_qty");
    RULE_ERR("{\"kind\":\"tax\",\"rate_percent\":\"5\"}", "country");
    RULE_ERR("{\"kind\":\"list\",\"sku\":\"A\"}", "price");
    RULE_ERR("{\"kind\":\"fx\",\"currency\":\"USD\",\"to_currency\":\"EUR\",\"fx_rate\":\"0\"}", "fx_rate");
}

int main(void)
{
    RUN(quote_body_ok);
    RUN(quote_body_errors);
    RUN(quote_fast_path_takes_plain_bodies);
    RUN(quote_fast_path_matches_jansson);
    RUN(quote_parse_timing);
    RUN(quote_render);
    RUN(quote_render_matches_jansson);
    RUN(quote_render_bad_utf8);
    RUN(quote_render_overflow);
    RUN(quote_render_timing);
    RUN(admin_rule);
    return tap_done();
}
