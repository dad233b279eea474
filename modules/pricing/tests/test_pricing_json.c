/* test_pricing_json.c — TAP tests of the JSON mapping: quote body validation with field paths,
 * the quote answer (money objects, explain; random quotes against a jansson-built oracle),
 * admin price rules. */
#include "../b2b_pricing_json.h"
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

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
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
    RUN(quote_render);
    RUN(quote_render_matches_jansson);
    RUN(quote_render_bad_utf8);
    RUN(quote_render_overflow);
    RUN(quote_render_timing);
    RUN(admin_rule);
    return tap_done();
}
