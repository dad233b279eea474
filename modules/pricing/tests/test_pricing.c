/* test_pricing.c — unit tests of the pure pricing engine (money, rules, snapshot, resolver,
 * incremental rebuild). Prints TAP for prove. Every precedence edge of b2b_resolve.c's
 * semantics has a case here. */
#include "../b2b_pricing.h"
#include "pricing_gen.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define T0 GEN_T0
#define DAY GEN_DAY
#define NONE (-1)

/* ---- fixture ---- */
enum { GOLD = 1, SILVER = 2 };
enum { ACME = 1, ACME_NA, ACME_NA_EAST, ACME_EMEA, GLOBEX, KW_CO, JP_CO, NOWHERE, ACME_NA_WEST };
enum { SKU_A = 10, SKU_B, SKU_C, SKU_D, SKU_E, SKU_HUGE };
enum { G100 = 100, G101 = 101 };

static void must(b2b_status_t st, b2b_input_error_t *err, int line)
{
    if (st != B2B_OK) {
        printf("# fixture line %d: %s (%s: %s)\n", line, b2b_status_name(st),
               err && err->column ? err->column : "", err ? err->message : "");
        tap_case_failed = 1;
    }
}
#define MUST(x) do { b2b_input_error_t e_; memset(&e_, 0, sizeof e_); must((x), &e_, __LINE__); } while (0)

static b2b_input_t *fixture_static(void)
{
    b2b_input_t *in = b2b_input_new();
    b2b_input_error_t err;
    static const char *cur[] = { "USD", "EUR", "JPY", "KWD" };
    static const int dig[] = { 2, 2, 0, 3 };
    for (int i = 0; i < 4; i++)
        must(b2b_input_add_currency(in, cur[i], dig[i], &err), &err, __LINE__);
    const b2b_account_t acc[] = {
        { ACME, "ACME", 0, "USD", "US", "CA", GOLD, 0 },
        { ACME_NA, "ACME-NA", ACME, "USD", "US", "NY", 0, 0 },
        { ACME_NA_EAST, "ACME-NA-EAST", ACME_NA, "USD", "US", "CA", SILVER, 0 },
        { ACME_EMEA, "ACME-EMEA", ACME, "EUR", "DE", NULL, 0, 0 },
        { GLOBEX, "GLOBEX", 0, "USD", "US", NULL, 0, 1 },
        { KW_CO, "KW-CO", 0, "KWD", "KW", NULL, 0, 0 },
        { JP_CO, "JP-CO", 0, "JPY", "JP", NULL, 0, 0 },
        { NOWHERE, "NOWHERE", 0, "USD", NULL, NULL, 0, 0 },
        { ACME_NA_WEST, "ACME-NA-WEST", ACME_NA, "USD", "US", NULL, 0, 0 },
    };
    for (size_t i = 0; i < sizeof acc / sizeof acc[0]; i++)
        must(b2b_input_add_account(in, &acc[i], &err), &err, __LINE__);
    const b2b_product_t prod[] = {
        { SKU_A, "SKU-A", G100, "standard" }, { SKU_B, "SKU-B", G100, "reduced" },
        { SKU_C, "SKU-C", 0, NULL },          { SKU_D, "SKU-D", G101, "standard" },
        { SKU_E, "SKU-E", G101, "standard" }, { SKU_HUGE, "SKU-HUGE", 0, "standard" },
    };
    for (size_t i = 0; i < sizeof prod / sizeof prod[0]; i++)
        must(b2b_input_add_product(in, &prod[i], &err), &err, __LINE__);
    return in;
}

/* A rule with price (price >= 0) or discount (bp >= 0). */
static void rule(b2b_input_t *in, int64_t id, b2b_kind_t kind, int64_t account, int64_t pl,
                 int64_t product, int64_t group, const char *cur, int64_t price, int32_t bp,
                 int32_t min_qty, int64_t from, int64_t to)
{
    b2b_rule_t r;
    b2b_rule_init(&r);
    r.id = id;
    r.kind = kind;
    r.account_id = account;
    r.price_list_id = pl;
    r.product_id = product;
    r.product_group_id = group;
    r.currency = cur;
    if (price >= 0) {
        r.has |= B2B_RULE_HAS_PRICE;
        r.price_minor = price;
    }
    if (bp >= 0) {
        r.has |= B2B_RULE_HAS_DISCOUNT;
        r.discount_bp = bp;
    }
    if (min_qty > 0) {
        r.has |= B2B_RULE_HAS_MIN_QTY;
        r.min_qty = min_qty;
    }
    if (from != NONE)
        r.valid_from = from;
    if (to != NONE)
        r.valid_to = to;
    b2b_input_error_t err;
    must(b2b_input_add_rule(in, &r, &err), &err, __LINE__);
}

static void promo(b2b_input_t *in, int64_t id, const char *code, int32_t bp, int64_t off,
                  const char *cur, int stackable, int64_t account, int64_t product, int64_t group,
                  int32_t min_qty)
{
    b2b_rule_t r;
    b2b_rule_init(&r);
    r.id = id;
    r.kind = B2B_KIND_PROMO;
    r.promo_code = code;
    if (bp >= 0) {
        r.has |= B2B_RULE_HAS_DISCOUNT;
        r.discount_bp = bp;
    } else {
        r.has |= B2B_RULE_HAS_AMOUNT_OFF;
        r.amount_off_minor = off;
        r.currency = cur;
    }
    r.stackable = stackable;
    r.account_id = account;
    r.product_id = product;
    r.product_group_id = group;
    if (min_qty > 0) {
        r.has |= B2B_RULE_HAS_MIN_QTY;
        r.min_qty = min_qty;
    }
    b2b_input_error_t err;
    must(b2b_input_add_rule(in, &r, &err), &err, __LINE__);
}

static void tax(b2b_input_t *in, int64_t id, const char *country, const char *region,
                const char *tax_class, int32_t rate)
{
    b2b_rule_t r;
    b2b_rule_init(&r);
    r.id = id;
    r.kind = B2B_KIND_TAX;
    r.country = country;
    r.region = region;
    r.tax_class = tax_class;
    r.has = B2B_RULE_HAS_RATE;
    r.rate_bp = rate;
    b2b_input_error_t err;
    must(b2b_input_add_rule(in, &r, &err), &err, __LINE__);
}

static void fx(b2b_input_t *in, int64_t id, const char *from, const char *to, int64_t micro)
{
    b2b_rule_t r;
    b2b_rule_init(&r);
    r.id = id;
    r.kind = B2B_KIND_FX;
    r.currency = from;
    r.to_currency = to;
    r.has = B2B_RULE_HAS_FX_RATE;
    r.fx_rate_micro = micro;
    b2b_input_error_t err;
    must(b2b_input_add_rule(in, &r, &err), &err, __LINE__);
}

#define LIST(in, id, product, cur, price) \
    rule(in, id, B2B_KIND_LIST, 0, 0, product, 0, cur, price, -1, 0, NONE, NONE)

/* Lists, fx and tax shared by most tests. */
static b2b_input_t *fixture(void)
{
    b2b_input_t *in = fixture_static();
    LIST(in, 1, SKU_A, "USD", 1000);
    LIST(in, 2, SKU_A, "EUR", 900);
    LIST(in, 3, SKU_B, "USD", 2000);
    LIST(in, 4, SKU_C, "USD", 1001);
    LIST(in, 5, SKU_D, "USD", 1000);
    LIST(in, 6, SKU_HUGE, "USD", 9000000000000000LL);
    fx(in, 7, "USD", "JPY", 150123456);
    fx(in, 8, "USD", "KWD", 307000);
    tax(in, 20, "US", NULL, NULL, 500);
    tax(in, 21, "US", "CA", NULL, 725);
    tax(in, 22, "US", NULL, "reduced", 200);
    tax(in, 23, "DE", NULL, NULL, 1900);
    tax(in, 24, "DE", NULL, "reduced", 700);
    tax(in, 25, "JP", NULL, NULL, 1000);
    return in;
}

static void *build(b2b_input_t *in, size_t *size_out)
{
    uint64_t size = 0;
    b2b_status_t st = b2b_snapshot_size(in, &size);
    if (st != B2B_OK) {
        printf("# size: %s\n", b2b_status_name(st));
        tap_case_failed = 1;
        return NULL;
    }
    void *buf = aligned_alloc(64, (size_t)size);
    b2b_build_options_t opt = { 7 };
    st = b2b_snapshot_build(in, &opt, buf, (size_t)size, NULL);
    if (st != B2B_OK) {
        printf("# build: %s\n", b2b_status_name(st));
        tap_case_failed = 1;
        free(buf);
        return NULL;
    }
    CHECK_EQ(b2b_snapshot_check(buf, (size_t)size), B2B_OK);
    if (size_out)
        *size_out = (size_t)size;
    return buf;
}

static void *snap;     /* current test's snapshot */
static b2b_quote_t quote;

static void use(b2b_input_t *in)
{
    free(snap);
    snap = build(in, NULL);
    b2b_input_free(in);
}

static b2b_status_t price_at(const char *account, const char *sku, int64_t qty, const char *code,
                             const char *cur, int64_t as_of)
{
    b2b_query_t q = { account, -1, sku, qty, code, cur, as_of };
    if (!snap)
        return B2B_ERR_BAD_ARGUMENT;
    return b2b_resolve(snap, &q, &quote);
}

static int64_t unit(const char *account, const char *sku, int64_t qty, const char *code,
                    const char *cur)
{
    b2b_status_t st = price_at(account, sku, qty, code, cur, T0);
    if (st != B2B_OK) {
        printf("# %s %s x%lld: %s\n", account, sku, (long long)qty, b2b_status_name(st));
        return -1;
    }
    return quote.unit_minor;
}

/* ---- money ---- */

TEST(money_parse)
{
    int64_t v = 0;
    CHECK_EQ(b2b_money_parse("17.25", 5, 2, &v), B2B_OK);
    CHECK_EQ(v, 1725);
    CHECK_EQ(b2b_money_parse("17.5", 4, 2, &v), B2B_OK);
    CHECK_EQ(v, 1750);
    CHECK_EQ(b2b_money_parse("17", 2, 2, &v), B2B_OK);
    CHECK_EQ(v, 1700);
    CHECK_EQ(b2b_money_parse("-0.05", 5, 2, &v), B2B_OK);
    CHECK_EQ(v, -5);
    CHECK_EQ(b2b_money_parse("1500", 4, 0, &v), B2B_OK);
    CHECK_EQ(v, 1500);
    CHECK_EQ(b2b_money_parse("1.234", 5, 3, &v), B2B_OK);
    CHECK_EQ(v, 1234);
    const char *bad[] = { "17.255", "", "1.", ".5", "+1", "1e3", " 1", "1 ", "abc", "1.2.3", "--1",
                          "0x10" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(b2b_money_parse(bad[i], strlen(bad[i]), 2, &v), B2B_ERR_BAD_MONEY);
    CHECK_EQ(b2b_money_parse("100.0", 5, 0, &v), B2B_ERR_BAD_MONEY);
    CHECK_EQ(b2b_money_parse("92233720368547758.07", 20, 2, &v), B2B_OK);
    CHECK_EQ(v, INT64_MAX);
    CHECK_EQ(b2b_money_parse("92233720368547758.08", 20, 2, &v), B2B_ERR_OVERFLOW);
    CHECK_EQ(b2b_money_parse("-92233720368547758.08", 21, 2, &v), B2B_OK);
    CHECK_EQ(v, INT64_MIN);
    CHECK_EQ(b2b_money_parse("99999999999999999999", 20, 0, &v), B2B_ERR_OVERFLOW);
}

TEST(money_format)
{
    char b[32];
    b2b_money_format(1725, 2, b, sizeof b);
    CHECK(!strcmp(b, "17.25"));
    b2b_money_format(5, 2, b, sizeof b);
    CHECK(!strcmp(b, "0.05"));
    b2b_money_format(-5, 3, b, sizeof b);
    CHECK(!strcmp(b, "-0.005"));
    b2b_money_format(100, 0, b, sizeof b);
    CHECK(!strcmp(b, "100"));
    b2b_money_format(0, 3, b, sizeof b);
    CHECK(!strcmp(b, "0.000"));
    b2b_money_format(INT64_MIN, 2, b, sizeof b);
    CHECK(!strcmp(b, "-92233720368547758.08"));
    CHECK_EQ(b2b_money_format(1725, 2, b, 5), 0);    /* "17.25" + NUL needs 6 */
    CHECK_EQ(b2b_money_format(1725, 2, b, 6), 5);
    int64_t v;
    for (int64_t x = -2005; x <= 2005; x += 7) {
        for (int d = 0; d <= 3; d++) {
            size_t n = b2b_money_format(x, d, b, sizeof b);
            CHECK(n > 0 && b2b_money_parse(b, n, d, &v) == B2B_OK && v == x);
        }
    }
}

TEST(percent_parse)
{
    int32_t bp = 0;
    CHECK_EQ(b2b_percent_parse("12.50", 5, &bp), B2B_OK);
    CHECK_EQ(bp, 1250);
    CHECK_EQ(b2b_percent_parse("12.5", 4, &bp), B2B_OK);
    CHECK_EQ(bp, 1250);
    CHECK_EQ(b2b_percent_parse("100", 3, &bp), B2B_OK);
    CHECK_EQ(bp, 10000);
    CHECK_EQ(b2b_percent_parse("0", 1, &bp), B2B_OK);
    CHECK_EQ(bp, 0);
    CHECK_EQ(b2b_percent_parse("100.01", 6, &bp), B2B_ERR_BAD_PERCENT);
    CHECK_EQ(b2b_percent_parse("-1", 2, &bp), B2B_ERR_BAD_PERCENT);
    CHECK_EQ(b2b_percent_parse("12.505", 6, &bp), B2B_ERR_BAD_PERCENT);
    char b[16];
    b2b_percent_format(1250, b, sizeof b);
    CHECK(!strcmp(b, "12.50"));
}

TEST(rounding_half_up)
{
    int64_t v;
    CHECK_EQ(b2b_money_discount(1001, 5000, &v), B2B_OK);   /* 500.5 -> 501 */
    CHECK_EQ(v, 501);
    CHECK_EQ(b2b_money_discount(1, 5000, &v), B2B_OK);      /* 0.5 -> 1 */
    CHECK_EQ(v, 1);
    CHECK_EQ(b2b_money_discount(1003, 5000, &v), B2B_OK);   /* 501.5 -> 502 */
    CHECK_EQ(v, 502);
    CHECK_EQ(b2b_money_discount(1000, 3333, &v), B2B_OK);   /* 666.7 -> 667 */
    CHECK_EQ(v, 667);
    CHECK_EQ(b2b_money_percent_of(5, 1000, &v), B2B_OK);    /* 0.5 -> 1 */
    CHECK_EQ(v, 1);
    CHECK_EQ(b2b_money_percent_of(4, 1000, &v), B2B_OK);    /* 0.4 -> 0 */
    CHECK_EQ(v, 0);
    CHECK_EQ(b2b_round_div(-5, 10, &v), B2B_OK);            /* away from zero */
    CHECK_EQ(v, -1);
    CHECK_EQ(b2b_round_div(-4, 10, &v), B2B_OK);
    CHECK_EQ(v, 0);
    CHECK_EQ(b2b_round_div(15, -10, &v), B2B_OK);
    CHECK_EQ(v, -2);
    CHECK_EQ(b2b_money_rescale(12345, 3, 2, &v), B2B_OK);   /* 12.345 -> 12.35 */
    CHECK_EQ(v, 1235);
    CHECK_EQ(b2b_money_rescale(12344, 3, 2, &v), B2B_OK);
    CHECK_EQ(v, 1234);
    CHECK_EQ(b2b_money_rescale(12, 2, 3, &v), B2B_OK);
    CHECK_EQ(v, 120);
}

TEST(fx_convert)
{
    int64_t v;
    CHECK_EQ(b2b_money_convert(1000, 2, 921500, 2, &v), B2B_OK);     /* 9.215 -> 9.22 */
    CHECK_EQ(v, 922);
    CHECK_EQ(b2b_money_convert(1000, 2, 150123456, 0, &v), B2B_OK);  /* 1501.23456 JPY */
    CHECK_EQ(v, 1501);
    CHECK_EQ(b2b_money_convert(1000, 2, 307000, 3, &v), B2B_OK);     /* 3.070 KWD */
    CHECK_EQ(v, 3070);
    CHECK_EQ(b2b_money_convert(1, 2, 500000, 2, &v), B2B_OK);        /* 0.005 -> 0.01 */
    CHECK_EQ(v, 1);
    CHECK_EQ(b2b_money_convert(1500, 0, 6666, 3, &v), B2B_OK);       /* 9.999 KWD */
    CHECK_EQ(v, 9999);
    CHECK_EQ(b2b_money_convert(INT64_MAX, 0, INT64_MAX, 3, &v), B2B_ERR_OVERFLOW);
    CHECK_EQ(b2b_money_convert(INT64_MAX, 2, 2000000, 2, &v), B2B_ERR_OVERFLOW);
    CHECK_EQ(b2b_money_convert(100, 2, 0, 2, &v), B2B_ERR_BAD_ARGUMENT);
}

TEST(overflow_arith)
{
    int64_t v;
    CHECK_EQ(b2b_money_mul(INT64_MAX / 2 + 1, 2, &v), B2B_ERR_OVERFLOW);
    CHECK_EQ(b2b_money_mul(9000000000000000LL, 1000000, &v), B2B_ERR_OVERFLOW);
    CHECK_EQ(b2b_money_mul(9000000000000LL, 1000000, &v), B2B_OK);
    CHECK_EQ(b2b_money_add(INT64_MAX, 1, &v), B2B_ERR_OVERFLOW);
    CHECK_EQ(b2b_money_percent_of(INT64_MAX, 10000, &v), B2B_OK);
    CHECK_EQ(v, INT64_MAX);
}

TEST(time_parse)
{
    int64_t t = 0;
    CHECK_EQ(b2b_time_parse("2024-01-01", 10, B2B_TIME_FLOOR, &t), B2B_OK);
    CHECK_EQ(t, T0);
    CHECK_EQ(b2b_time_parse("2024-01-01T00:00:00Z", 20, B2B_TIME_FLOOR, &t), B2B_OK);
    CHECK_EQ(t, T0);
    const char *s = "2024-01-01 01:00:00+01";
    CHECK_EQ(b2b_time_parse(s, strlen(s), B2B_TIME_FLOOR, &t), B2B_OK);
    CHECK_EQ(t, T0);
    s = "2023-12-31T19:00:00-05:00";
    CHECK_EQ(b2b_time_parse(s, strlen(s), B2B_TIME_FLOOR, &t), B2B_OK);
    CHECK_EQ(t, T0);
    s = "2024-01-01 00:00:00.5+00";
    CHECK_EQ(b2b_time_parse(s, strlen(s), B2B_TIME_CEIL, &t), B2B_OK);
    CHECK_EQ(t, T0 + 1);
    CHECK_EQ(b2b_time_parse(s, strlen(s), B2B_TIME_FLOOR, &t), B2B_OK);
    CHECK_EQ(t, T0);
    CHECK_EQ(b2b_time_parse("1700000000", 10, B2B_TIME_FLOOR, &t), B2B_OK);
    CHECK_EQ(t, 1700000000);
    CHECK_EQ(b2b_time_parse("2024-02-30", 10, B2B_TIME_FLOOR, &t), B2B_ERR_BAD_TIME);
    CHECK_EQ(b2b_time_parse("2023-02-29", 10, B2B_TIME_FLOOR, &t), B2B_ERR_BAD_TIME);
    CHECK_EQ(b2b_time_parse("2024-02-29", 10, B2B_TIME_FLOOR, &t), B2B_OK);
    CHECK_EQ(b2b_time_parse("2024-01-01T25:00", 16, B2B_TIME_FLOOR, &t), B2B_ERR_BAD_TIME);
    CHECK_EQ(b2b_time_parse("yesterday", 9, B2B_TIME_FLOOR, &t), B2B_ERR_BAD_TIME);
    char b[32];
    CHECK(b2b_time_format(T0, b, sizeof b) == 20 && !strcmp(b, "2024-01-01T00:00:00Z"));
}

/* ---- layers ---- */

TEST(list_price_only)
{
    use(fixture());
    CHECK_EQ(unit("GLOBEX", "SKU-A", 1, NULL, NULL), 1000);
    CHECK_EQ(quote.net_minor, 1000);
    CHECK_EQ(quote.tax_minor, 0);         /* GLOBEX is tax exempt */
    CHECK_EQ(quote.gross_minor, 1000);
    CHECK(!strcmp(quote.currency, "USD"));
    CHECK_EQ(quote.step_count, 1);
    CHECK_EQ(unit("GLOBEX", "SKU-A", 3, NULL, NULL), 1000);
    CHECK_EQ(quote.net_minor, 3000);
}

TEST(tier_inherited_vs_own)
{
    b2b_input_t *in = fixture();
    rule(in, 30, B2B_KIND_TIER, 0, GOLD, 0, 0, NULL, -1, 1000, 0, NONE, NONE);
    rule(in, 31, B2B_KIND_TIER, 0, SILVER, 0, 0, NULL, -1, 500, 0, NONE, NONE);
    use(in);
    CHECK_EQ(unit("ACME", "SKU-A", 1, NULL, NULL), 900);          /* own GOLD */
    CHECK_EQ(unit("ACME-NA", "SKU-A", 1, NULL, NULL), 900);       /* inherited GOLD */
    CHECK_EQ(unit("ACME-NA-WEST", "SKU-A", 1, NULL, NULL), 900);  /* inherited two levels */
    CHECK_EQ(unit("ACME-NA-EAST", "SKU-A", 1, NULL, NULL), 950);  /* own SILVER beats GOLD */
    CHECK_EQ(quote.steps[1].layer, B2B_LAYER_TIER);
    CHECK_EQ(quote.steps[1].rule_id, 31);
    CHECK_EQ(unit("GLOBEX", "SKU-A", 1, NULL, NULL), 1000);       /* no tier */
}

TEST(tier_sku_beats_group_beats_all)
{
    b2b_input_t *in = fixture();
    rule(in, 30, B2B_KIND_TIER, 0, GOLD, 0, 0, NULL, -1, 1000, 0, NONE, NONE);
    rule(in, 32, B2B_KIND_TIER, 0, GOLD, 0, G100, NULL, -1, 2000, 0, NONE, NONE);
    rule(in, 33, B2B_KIND_TIER, 0, GOLD, SKU_A, 0, "USD", 700, -1, 0, NONE, NONE);
    rule(in, 34, B2B_KIND_TIER, 0, GOLD, SKU_A, 0, "USD", 650, -1, 0, NONE, NONE); /* id tie */
    use(in);
    CHECK_EQ(unit("ACME-NA", "SKU-A", 1, NULL, NULL), 700);   /* sku rule, lower id */
    CHECK_EQ(unit("ACME-NA", "SKU-B", 1, NULL, NULL), 1600);  /* group rule */
    CHECK_EQ(unit("ACME-NA", "SKU-C", 1, NULL, NULL), 901);   /* all: 900.9 -> 901 */
    /* a fixed USD tier price does not apply to a EUR quote: the group rule does */
    CHECK_EQ(unit("ACME-NA", "SKU-A", 1, NULL, "EUR"), 720);
}

TEST(brackets)
{
    b2b_input_t *in = fixture();
    rule(in, 40, B2B_KIND_BRACKET, 0, 0, SKU_A, 0, NULL, -1, 500, 10, NONE, NONE);
    rule(in, 41, B2B_KIND_BRACKET, 0, 0, SKU_A, 0, "USD", 500, -1, 100, NONE, NONE);
    rule(in, 42, B2B_KIND_BRACKET, 0, 0, 0, G100, NULL, -1, 5000, 5, NONE, NONE);
    rule(in, 43, B2B_KIND_BRACKET, 0, 0, 0, G100, NULL, -1, 1000, 5, NONE, NONE); /* tie: 42 */
    rule(in, 35, B2B_KIND_TIER, 0, GOLD, SKU_A, 0, "USD", 700, -1, 0, NONE, NONE);
    use(in);
    CHECK_EQ(unit("GLOBEX", "SKU-A", 4, NULL, NULL), 1000);   /* below every min_qty */
    CHECK_EQ(unit("GLOBEX", "SKU-A", 5, NULL, NULL), 500);    /* group bracket (no product one applies) */
    CHECK_EQ(quote.steps[1].rule_id, 42);
    CHECK_EQ(unit("GLOBEX", "SKU-A", 10, NULL, NULL), 950);   /* product beats group */
    CHECK_EQ(unit("GLOBEX", "SKU-A", 99, NULL, NULL), 950);
    CHECK_EQ(unit("GLOBEX", "SKU-A", 100, NULL, NULL), 500);  /* highest min_qty <= qty */
    CHECK_EQ(unit("GLOBEX", "SKU-B", 7, NULL, NULL), 1000);
    CHECK_EQ(unit("ACME-NA", "SKU-A", 10, NULL, NULL), 665);  /* tier 700, then -5% */
    CHECK_EQ(quote.step_count, 4);                            /* list, tier, bracket, tax */
    CHECK_EQ(quote.steps[1].layer, B2B_LAYER_TIER);
    CHECK_EQ(quote.steps[2].layer, B2B_LAYER_BRACKET);
    CHECK_EQ(quote.steps[2].amount_minor, 665);
}

static b2b_input_t *contract_fixture(void)
{
    b2b_input_t *in = fixture();
    rule(in, 30, B2B_KIND_TIER, 0, GOLD, 0, 0, NULL, -1, 1000, 0, NONE, NONE);
    rule(in, 31, B2B_KIND_TIER, 0, SILVER, 0, 0, NULL, -1, 500, 0, NONE, NONE);
    rule(in, 40, B2B_KIND_BRACKET, 0, 0, SKU_A, 0, NULL, -1, 500, 10, NONE, NONE);
    rule(in, 50, B2B_KIND_CONTRACT, ACME, 0, 0, G100, NULL, -1, 3000, 0, NONE, NONE);
    rule(in, 51, B2B_KIND_CONTRACT, ACME_NA, 0, SKU_B, 0, "USD", 1234, -1, 0, NONE, NONE);
    rule(in, 52, B2B_KIND_CONTRACT, ACME_NA, 0, 0, G100, NULL, -1, 4000, 0, NONE, NONE);
    rule(in, 53, B2B_KIND_CONTRACT, ACME, 0, SKU_A, 0, "USD", 111, -1, 0, NONE, NONE);
    rule(in, 54, B2B_KIND_CONTRACT, ACME_NA_WEST, 0, SKU_C, 0, "USD", 500, -1, 0, T0 - 30 * DAY, T0);
    rule(in, 55, B2B_KIND_CONTRACT, ACME_NA_WEST, 0, SKU_C, 0, "USD", 400, -1, 0, T0 + DAY, NONE);
    return in;
}

TEST(contract_beats_tier_and_bracket)
{
    use(contract_fixture());
    CHECK_EQ(unit("ACME-NA", "SKU-A", 1, NULL, NULL), 600);   /* 40% of list, not of tier */
    CHECK_EQ(unit("ACME-NA", "SKU-A", 10, NULL, NULL), 600);  /* bracket not applied */
    CHECK_EQ(quote.step_count, 3);                            /* list, contract, tax */
    CHECK_EQ(quote.steps[1].layer, B2B_LAYER_CONTRACT);
    CHECK_EQ(quote.steps[1].rule_id, 52);
    CHECK_EQ(unit("GLOBEX", "SKU-A", 10, NULL, NULL), 950);   /* no contract: bracket */
}

TEST(contract_precedence)
{
    use(contract_fixture());
    CHECK_EQ(unit("ACME-NA", "SKU-B", 1, NULL, NULL), 1234);      /* sku beats group (same account) */
    CHECK_EQ(unit("ACME", "SKU-A", 1, NULL, NULL), 111);          /* sku beats group at ACME */
    CHECK_EQ(unit("ACME-NA", "SKU-A", 1, NULL, NULL), 600);       /* nearer group beats farther sku */
    CHECK_EQ(unit("ACME-NA-EAST", "SKU-A", 1, NULL, NULL), 600);  /* inherited from parent */
    CHECK_EQ(unit("ACME-EMEA", "SKU-A", 1, NULL, NULL), 630);     /* ACME group 30% of EUR 900;
                                                                    the USD sku contract 53 does
                                                                    not apply in EUR */
    CHECK(!strcmp(quote.currency, "EUR"));
}

TEST(contract_validity)
{
    use(contract_fixture());
    /* at T0 contract 54 has just expired ([T0-30d, T0)) and 55 starts tomorrow */
    CHECK_EQ(unit("ACME-NA-WEST", "SKU-C", 1, NULL, NULL), 901);  /* GOLD inherited */
    CHECK_EQ(price_at("ACME-NA-WEST", "SKU-C", 1, NULL, NULL, T0 - 1), B2B_OK);
    CHECK_EQ(quote.unit_minor, 500);
    CHECK_EQ(price_at("ACME-NA-WEST", "SKU-C", 1, NULL, NULL, T0 - 30 * DAY), B2B_OK);
    CHECK_EQ(quote.unit_minor, 500);                               /* from is inclusive */
    CHECK_EQ(price_at("ACME-NA-WEST", "SKU-C", 1, NULL, NULL, T0 - 30 * DAY - 1), B2B_OK);
    CHECK_EQ(quote.unit_minor, 901);
    CHECK_EQ(price_at("ACME-NA-WEST", "SKU-C", 1, NULL, NULL, T0 + DAY - 1), B2B_OK);
    CHECK_EQ(quote.unit_minor, 901);                               /* future */
    CHECK_EQ(price_at("ACME-NA-WEST", "SKU-C", 1, NULL, NULL, T0 + DAY), B2B_OK);
    CHECK_EQ(quote.unit_minor, 400);
}

static b2b_input_t *promo_fixture(void)
{
    b2b_input_t *in = contract_fixture();
    promo(in, 60, "SAVE10", 1000, 0, NULL, 0, 0, 0, 0, 0);
    promo(in, 61, "STACK5", 500, 0, NULL, 1, 0, 0, 0, 0);
    promo(in, 62, "BIG", 5000, 0, NULL, 0, 0, 0, 0, 10);
    promo(in, 63, "ONLYB", 2500, 0, NULL, 0, 0, SKU_B, 0, 0);
    promo(in, 64, "ACMEONLY", 2000, 0, NULL, 0, ACME, 0, 0, 0);
    promo(in, 65, "OFF", -1, 2000, "USD", 1, 0, 0, 0, 0);
    promo(in, 66, "SPEC", 1000, 0, NULL, 0, 0, 0, 0, 0);
    promo(in, 67, "SPEC", 1500, 0, NULL, 0, 0, SKU_A, 0, 0);
    promo(in, 68, "SPEC", 1200, 0, NULL, 0, 0, 0, G101, 0);
    return in;
}

TEST(promo_stackable_vs_not)
{
    use(promo_fixture());
    CHECK_EQ(unit("GLOBEX", "SKU-A", 1, "SAVE10", NULL), 900);    /* from list, lower than N */
    CHECK_EQ(quote.promo, B2B_PROMO_APPLIED);
    CHECK_EQ(unit("ACME-NA", "SKU-A", 1, "SAVE10", NULL), 600);   /* 900 not better than 600 */
    CHECK_EQ(quote.promo, B2B_PROMO_NOT_BETTER);
    CHECK_EQ(quote.step_count, 3);                                /* promo not listed */
    CHECK_EQ(unit("ACME-NA", "SKU-A", 1, "STACK5", NULL), 570);   /* on top of 600 */
    CHECK_EQ(quote.promo, B2B_PROMO_APPLIED);
    CHECK_EQ(quote.steps[2].layer, B2B_LAYER_PROMO);
    CHECK_EQ(quote.steps[2].amount_minor, 570);
    CHECK_EQ(unit("GLOBEX", "SKU-A", 1, "OFF", NULL), 0);         /* amount off floors at 0 */
    CHECK_EQ(unit("GLOBEX", "SKU-A", 1, "NOPE", NULL), 1000);
    CHECK_EQ(quote.promo, B2B_PROMO_UNKNOWN_CODE);
    CHECK_EQ(unit("GLOBEX", "SKU-A", 1, "save10", NULL), 1000);   /* case-sensitive */
}

TEST(promo_min_qty_and_scope)
{
    use(promo_fixture());
    CHECK_EQ(unit("GLOBEX", "SKU-A", 9, "BIG", NULL), 1000);
    CHECK_EQ(quote.promo, B2B_PROMO_NOT_APPLICABLE);
    CHECK_EQ(unit("GLOBEX", "SKU-A", 10, "BIG", NULL), 500);      /* 50% of list < bracket 950 */
    CHECK_EQ(unit("GLOBEX", "SKU-A", 1, "ONLYB", NULL), 1000);
    CHECK_EQ(quote.promo, B2B_PROMO_NOT_APPLICABLE);
    CHECK_EQ(unit("GLOBEX", "SKU-B", 1, "ONLYB", NULL), 1500);
    /* account scope covers the subtree: ACME-NA-EAST is under ACME. N = SILVER 951 */
    CHECK_EQ(unit("ACME-NA-EAST", "SKU-C", 1, "ACMEONLY", NULL), 801);
    CHECK_EQ(unit("GLOBEX", "SKU-C", 1, "ACMEONLY", NULL), 1001);
    CHECK_EQ(quote.promo, B2B_PROMO_NOT_APPLICABLE);
    /* product-scoped beats group-scoped beats unscoped, whatever the ids */
    CHECK_EQ(unit("GLOBEX", "SKU-A", 1, "SPEC", NULL), 850);
    CHECK_EQ(quote.steps[1].rule_id, 67);
    CHECK_EQ(unit("GLOBEX", "SKU-B", 1, "SPEC", NULL), 1800);
    CHECK_EQ(unit("GLOBEX", "SKU-D", 1, "SPEC", NULL), 880);
    CHECK_EQ(quote.steps[1].rule_id, 68);
}

TEST(currency_list_and_fx)
{
    use(promo_fixture());
    CHECK_EQ(unit("GLOBEX", "SKU-A", 1, NULL, "EUR"), 900);       /* EUR list: no conversion */
    CHECK_EQ(quote.step_count, 1);
    CHECK_EQ(unit("JP-CO", "SKU-D", 1, NULL, NULL), 1501);        /* USD 10.00 -> JPY */
    CHECK_EQ(quote.minor_digits, 0);
    CHECK_EQ(quote.tax_minor, 150);                               /* 10% of 1501 = 150.1 */
    CHECK_EQ(quote.gross_minor, 1651);
    CHECK_EQ(quote.step_count, 3);
    CHECK_EQ(quote.steps[0].layer, B2B_LAYER_LIST);
    CHECK(!strcmp(quote.steps[0].currency, "USD"));
    CHECK_EQ(quote.steps[1].layer, B2B_LAYER_FX);
    CHECK(!strcmp(quote.steps[1].currency, "JPY"));
    CHECK_EQ(quote.steps[2].layer, B2B_LAYER_TAX);
    CHECK_EQ(quote.steps[2].amount_minor, 1651);
    CHECK_EQ(unit("JP-CO", "SKU-D", 1, "SAVE10", NULL), 1351);    /* promo before fx: 9.00 USD */
    CHECK_EQ(unit("KW-CO", "SKU-D", 3, NULL, NULL), 3070);        /* 3 digits */
    CHECK_EQ(quote.net_minor, 9210);
    CHECK_EQ(quote.tax_minor, 0);                                 /* no KW tax rule */
    CHECK(!strcmp(quote.currency, "KWD"));
    CHECK_EQ(price_at("ACME-EMEA", "SKU-D", 1, NULL, NULL, T0), B2B_ERR_NO_FX_RATE);
    CHECK_EQ(price_at("GLOBEX", "SKU-E", 1, NULL, NULL, T0), B2B_ERR_NO_PRICE);
    CHECK_EQ(price_at("GLOBEX", "SKU-A", 1, NULL, "XXX", T0), B2B_ERR_UNKNOWN_CURRENCY);
    CHECK_EQ(price_at("GLOBEX", "SKU-A", 1, NULL, "US", T0), B2B_ERR_UNKNOWN_CURRENCY);
    /* contract with a fixed USD price, quoted in JPY through fx (W = USD) */
    CHECK_EQ(unit("ACME-NA", "SKU-B", 2, NULL, "JPY"), 1853);     /* 12.34 * 150.123456 = 1852.52 */
}

TEST(tax_region_country_exempt)
{
    use(fixture());
    CHECK_EQ(unit("ACME-NA-EAST", "SKU-A", 1, NULL, NULL), 1000);  /* CA: region rule 7.25% */
    CHECK_EQ(quote.tax_rate_bp, 725);
    CHECK_EQ(quote.tax_minor, 73);                                 /* 72.5 -> 73 */
    CHECK_EQ(unit("ACME-NA", "SKU-A", 1, NULL, NULL), 1000);       /* NY: country rule */
    CHECK_EQ(quote.tax_rate_bp, 500);
    CHECK_EQ(unit("ACME-NA", "SKU-B", 1, NULL, NULL), 2000);       /* class rule beats null class */
    CHECK_EQ(quote.tax_rate_bp, 200);
    CHECK_EQ(unit("ACME", "SKU-B", 1, NULL, NULL), 2000);          /* CA region beats country class */
    CHECK_EQ(quote.tax_rate_bp, 725);
    CHECK_EQ(unit("ACME-EMEA", "SKU-B", 1, NULL, "USD"), 2000);    /* DE reduced, quoted in USD */
    CHECK_EQ(quote.tax_rate_bp, 700);
    CHECK_EQ(quote.tax_minor, 140);
    CHECK_EQ(unit("GLOBEX", "SKU-A", 1, NULL, NULL), 1000);        /* exempt */
    CHECK_EQ(quote.tax_minor, 0);
    CHECK_EQ(quote.tax_rate_bp, 0);
    CHECK_EQ(unit("NOWHERE", "SKU-A", 1, NULL, NULL), 1000);       /* no country */
    CHECK_EQ(quote.tax_minor, 0);
}

TEST(rounding_at_half_through_layers)
{
    b2b_input_t *in = fixture();
    rule(in, 30, B2B_KIND_TIER, 0, GOLD, 0, 0, NULL, -1, 5000, 0, NONE, NONE);
    tax(in, 26, "US", "NY", "standard", 50);   /* 0.5% */
    use(in);
    CHECK_EQ(unit("ACME-NA", "SKU-C", 1, NULL, NULL), 501);   /* 10.01 * 50% = 5.005 -> 5.01 */
    CHECK_EQ(quote.tax_minor, 3);                             /* 0.5% of 5.01 = 0.02505 -> 0.03 */
    CHECK_EQ(unit("ACME-NA", "SKU-A", 1, NULL, NULL), 500);
    CHECK_EQ(quote.tax_minor, 3);                             /* 2.5 -> 3 (half up) */
    CHECK_EQ(unit("ACME-NA", "SKU-A", 3, NULL, NULL), 500);
    CHECK_EQ(quote.net_minor, 1500);                          /* unit rounded, then * qty */
    CHECK_EQ(quote.tax_minor, 8);                             /* 7.5 -> 8 */
}

TEST(errors)
{
    use(fixture());
    CHECK_EQ(price_at("GLOBEX", "NOPE", 1, NULL, NULL, T0), B2B_ERR_UNKNOWN_SKU);
    CHECK_EQ(price_at("NOPE", "SKU-A", 1, NULL, NULL, T0), B2B_ERR_UNKNOWN_ACCOUNT);
    CHECK_EQ(price_at("GLOBEX", "SKU-A", 0, NULL, NULL, T0), B2B_ERR_BAD_QUANTITY);
    CHECK_EQ(price_at("GLOBEX", "SKU-A", -1, NULL, NULL, T0), B2B_ERR_BAD_QUANTITY);
    CHECK_EQ(price_at("GLOBEX", "SKU-A", 1000001, NULL, NULL, T0), B2B_ERR_BAD_QUANTITY);
    CHECK_EQ(price_at("GLOBEX", "SKU-A", 1000000, NULL, NULL, T0), B2B_OK);
    CHECK_EQ(price_at("GLOBEX", "SKU-HUGE", 1, NULL, NULL, T0), B2B_OK);
    CHECK_EQ(price_at("GLOBEX", "SKU-HUGE", 1000000, NULL, NULL, T0), B2B_ERR_OVERFLOW);
    CHECK_EQ(price_at("GLOBEX", "SKU-HUGE", 1000, NULL, NULL, T0), B2B_OK);  /* 9e18 fits */
    CHECK_EQ(price_at("GLOBEX", "SKU-HUGE", 1025, NULL, NULL, T0), B2B_ERR_OVERFLOW);
    CHECK_EQ(price_at("JP-CO", "SKU-HUGE", 1, NULL, NULL, T0), B2B_OK);   /* fx, exact */
    CHECK_EQ(quote.unit_minor, 13511111040000000LL);
    CHECK_EQ(price_at("JP-CO", "SKU-HUGE", 1000, NULL, NULL, T0), B2B_ERR_OVERFLOW);
    CHECK(!strcmp(b2b_status_name(B2B_ERR_UNKNOWN_SKU), "unknown_sku"));
    CHECK(!strcmp(b2b_status_name(B2B_ERR_DOES_NOT_FIT), "does_not_fit"));
    /* by index */
    b2b_query_t q = { NULL, b2b_snapshot_find_account(snap, "GLOBEX", 6), "SKU-A", 2, NULL, NULL,
                      T0 };
    CHECK_EQ(b2b_resolve(snap, &q, &quote), B2B_OK);
    CHECK_EQ(quote.net_minor, 2000);
    q.account_index = 1000;
    CHECK_EQ(b2b_resolve(snap, &q, &quote), B2B_ERR_UNKNOWN_ACCOUNT);
}

/* ---- input and rules ---- */

TEST(rule_validation)
{
    b2b_rule_t r;
    b2b_input_error_t err;
    b2b_rule_init(&r);
    r.id = 1;
    r.kind = B2B_KIND_CONTRACT;
    r.product_id = 5;
    r.has = B2B_RULE_HAS_DISCOUNT;
    r.discount_bp = 100;
    CHECK_EQ(b2b_rule_validate(&r, &err), B2B_ERR_BAD_RULE);
    CHECK(err.column && !strcmp(err.column, "account_id"));
    r.account_id = 3;
    CHECK_EQ(b2b_rule_validate(&r, &err), B2B_OK);
    r.product_group_id = 2;
    CHECK_EQ(b2b_rule_validate(&r, &err), B2B_ERR_BAD_RULE);      /* both product and group */
    r.product_group_id = 0;
    r.has |= B2B_RULE_HAS_PRICE;
    r.price_minor = 5;
    r.currency = "USD";
    CHECK_EQ(b2b_rule_validate(&r, &err), B2B_ERR_BAD_RULE);      /* price and discount */
    r.has = B2B_RULE_HAS_PRICE;
    r.currency = NULL;
    CHECK_EQ(b2b_rule_validate(&r, &err), B2B_ERR_BAD_RULE);      /* price without currency */
    CHECK(err.column && !strcmp(err.column, "currency"));
    r.has = B2B_RULE_HAS_DISCOUNT;
    r.discount_bp = 10001;
    CHECK_EQ(b2b_rule_validate(&r, &err), B2B_ERR_BAD_RULE);
    b2b_rule_init(&r);
    r.id = 2;
    r.kind = B2B_KIND_TAX;
    r.country = "us";
    r.has = B2B_RULE_HAS_RATE;
    CHECK_EQ(b2b_rule_validate(&r, &err), B2B_ERR_BAD_RULE);
    r.country = "US";
    CHECK_EQ(b2b_rule_validate(&r, &err), B2B_OK);
    b2b_scope_t s;
    b2b_rule_init(&r);
    r.kind = B2B_KIND_CONTRACT;
    r.account_id = 9;
    r.product_id = 4;
    s = b2b_rule_scope(&r);
    CHECK(s.kind == B2B_SCOPE_ACCOUNT && s.id == 9);
    r.kind = B2B_KIND_TIER;
    s = b2b_rule_scope(&r);
    CHECK(s.kind == B2B_SCOPE_SKU && s.id == 4);
    r.kind = B2B_KIND_TAX;
    s = b2b_rule_scope(&r);
    CHECK(s.kind == B2B_SCOPE_ALL);
}

TEST(text_rows)
{
    b2b_input_t *in = b2b_input_new();
    b2b_input_error_t err;
    const char *cur[B2B_CURRENCY_COL_COUNT] = { "USD", "2" };
    MUST(b2b_input_add_currency_text(in, cur, &err));
    const char *acc[B2B_ACCOUNT_COL_COUNT] = { "1", "ACME", NULL, "USD", "US", NULL, "4", "f" };
    MUST(b2b_input_add_account_text(in, acc, &err));
    const char *acc2[B2B_ACCOUNT_COL_COUNT] = { "2", "ACME-NA", "1", "USD", "US", "NY", NULL, "t" };
    MUST(b2b_input_add_account_text(in, acc2, &err));
    const char *prod[B2B_PRODUCT_COL_COUNT] = { "7", "SKU-7", "3", "standard" };
    MUST(b2b_input_add_product_text(in, prod, &err));
    const char *list[B2B_RULE_COL_COUNT] = { "1", "list", NULL, NULL, "7", NULL, "USD", "1999" };
    MUST(b2b_input_add_rule_text(in, list, &err));
    const char *c[B2B_RULE_COL_COUNT] = {
        "2", "contract", "1", NULL, NULL, "3", NULL, NULL, "1250", NULL, NULL, NULL, "f",
        "2024-01-01 00:00:00+00", "1735689600", NULL, NULL, NULL, NULL, NULL, NULL
    };
    MUST(b2b_input_add_rule_text(in, c, &err));
    const char *badrow[B2B_RULE_COL_COUNT] = { "3", "contract", "x1" };
    CHECK_EQ(b2b_input_add_rule_text(in, badrow, &err), B2B_ERR_BAD_VALUE);
    CHECK(err.column && !strcmp(err.column, "account_id"));
    const char *badkind[B2B_RULE_COL_COUNT] = { "3", "rebate" };
    CHECK_EQ(b2b_input_add_rule_text(in, badkind, &err), B2B_ERR_BAD_VALUE);
    CHECK(err.column && !strcmp(err.column, "kind"));
    const char *tx[B2B_RULE_COL_COUNT] = {
        "4", "tax", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "f",
        NULL, NULL, "US", "NY", NULL, "800", NULL, NULL
    };
    MUST(b2b_input_add_rule_text(in, tx, &err));
    CHECK_EQ(b2b_input_rule_count(in), 3);
    use(in);
    CHECK_EQ(unit("ACME-NA", "SKU-7", 2, NULL, NULL), 1749);   /* 19.99 - 12.5% = 17.49125 */
    CHECK_EQ(quote.tax_minor, 0);                              /* tax exempt ("t") */
    CHECK_EQ(unit("ACME", "SKU-7", 1, NULL, NULL), 1749);
    CHECK_EQ(quote.tax_minor, 0);                              /* ACME has no region NY */
    CHECK_EQ(price_at("ACME", "SKU-7", 1, NULL, NULL, T0 - 1), B2B_OK);
    CHECK_EQ(quote.unit_minor, 1999);                          /* before the contract */
}

TEST(bad_tree_and_duplicates)
{
    b2b_input_t *in = fixture_static();
    b2b_account_t orphan = { 50, "ORPHAN", 999, "USD", NULL, NULL, 0, 0 };
    MUST(b2b_input_add_account(in, &orphan, NULL));
    uint64_t size;
    CHECK_EQ(b2b_snapshot_size(in, &size), B2B_ERR_BAD_TREE);
    b2b_input_free(in);
    in = fixture_static();
    b2b_account_t c1 = { 60, "C1", 61, "USD", NULL, NULL, 0, 0 };
    b2b_account_t c2 = { 61, "C2", 60, "USD", NULL, NULL, 0, 0 };
    MUST(b2b_input_add_account(in, &c1, NULL));
    MUST(b2b_input_add_account(in, &c2, NULL));
    CHECK_EQ(b2b_snapshot_size(in, &size), B2B_ERR_BAD_TREE);    /* cycle */
    b2b_input_free(in);
    in = fixture_static();
    b2b_account_t dup = { 70, "ACME", 0, "USD", NULL, NULL, 0, 0 };
    MUST(b2b_input_add_account(in, &dup, NULL));
    CHECK_EQ(b2b_snapshot_size(in, &size), B2B_ERR_DUPLICATE);   /* code */
    b2b_input_free(in);
    in = fixture();
    LIST(in, 1, SKU_B, "EUR", 5);
    CHECK_EQ(b2b_snapshot_size(in, &size), B2B_ERR_DUPLICATE);   /* rule id */
    b2b_input_free(in);
}

/* ---- snapshot ---- */

TEST(snapshot_too_big)
{
    b2b_input_t *in = promo_fixture();
    uint64_t size = 0;
    CHECK_EQ(b2b_snapshot_size(in, &size), B2B_OK);
    CHECK(size > 0 && size % 64 == 0);
    unsigned char *buf = aligned_alloc(64, (size_t)size);
    memset(buf, 0xAB, (size_t)size);
    b2b_build_stats_t stats;
    CHECK_EQ(b2b_snapshot_build(in, NULL, buf, (size_t)size - 1, &stats), B2B_ERR_DOES_NOT_FIT);
    CHECK_EQ(stats.size, size);
    int untouched = 1;
    for (uint64_t i = 0; i < size; i++)
        untouched &= buf[i] == 0xAB;
    CHECK(untouched);
    CHECK_EQ(b2b_snapshot_build(in, NULL, NULL, 0, NULL), B2B_ERR_DOES_NOT_FIT);
    CHECK_EQ(b2b_snapshot_build(in, NULL, buf, (size_t)size, &stats), B2B_OK);
    CHECK_EQ(stats.rules, b2b_input_rule_count(in));
    CHECK_EQ(b2b_snapshot_check(buf, (size_t)size), B2B_OK);
    CHECK_EQ(b2b_snapshot_check(buf, (size_t)size - 64), B2B_ERR_BAD_SNAPSHOT);
    buf[size / 2] ^= 1;
    CHECK_EQ(b2b_snapshot_check(buf, (size_t)size), B2B_ERR_BAD_SNAPSHOT);
    buf[size / 2] ^= 1;
    buf[0] = 'X';
    CHECK_EQ(b2b_snapshot_check(buf, (size_t)size), B2B_ERR_BAD_SNAPSHOT);
    free(buf);
    b2b_input_free(in);
}

TEST(snapshot_deterministic)
{
    /* same rows in another order -> the same bytes */
    gen_params_t p = { 60, 4, 80, 6, 3, 40, 40, 300, 30, 20, 4, 1, 0 };
    gen_data_t d;
    gen_make(&d, &p, 42);
    b2b_input_t *a = b2b_input_new(), *b = b2b_input_new();
    CHECK_EQ(gen_fill(&d, a, NULL, NULL, 1), B2B_OK);
    /* b: reversed rules, accounts reversed */
    for (size_t i = 0; i < d.nacc / 2; i++) {
        gen_account_t t = d.acc[i];
        d.acc[i] = d.acc[d.nacc - 1 - i];
        d.acc[d.nacc - 1 - i] = t;
    }
    for (size_t i = 0; i < d.nrules / 2; i++) {
        gen_rule_t t = d.rules[i];
        d.rules[i] = d.rules[d.nrules - 1 - i];
        d.rules[d.nrules - 1 - i] = t;
    }
    CHECK_EQ(gen_fill(&d, b, NULL, NULL, 1), B2B_OK);
    size_t sa = 0, sb = 0;
    void *x = build(a, &sa), *y = build(b, &sb);
    CHECK(x && y && sa == sb && memcmp(x, y, sa) == 0);
    free(x);
    free(y);
    b2b_input_free(a);
    b2b_input_free(b);
    gen_free(&d);
}

/* ---- incremental rebuild ---- */

typedef struct {
    b2b_scope_t scope;
    gen_data_t *d;
} scope_ctx_t;

static int account_under(gen_data_t *d, int64_t id, int64_t ancestor)
{
    while (id) {
        if (id == ancestor)
            return 1;
        id = d->acc[id - 1].parent_id;    /* gen ids are index + 1 */
    }
    return 0;
}

/* The documented scope predicate, on raw rows (what the worker's SQL selects). */
static int in_scope(gen_data_t *d, size_t i, void *vctx)
{
    scope_ctx_t *c = vctx;
    const b2b_rule_t *r = gen_rule(d, i);
    switch (c->scope.kind) {
    case B2B_SCOPE_ALL:
        return 1;
    case B2B_SCOPE_ACCOUNT:
        return (r->kind == B2B_KIND_CONTRACT || r->kind == B2B_KIND_PROMO) && r->account_id &&
               account_under(d, r->account_id, c->scope.id);
    case B2B_SCOPE_ACCOUNT_OWN:
        return (r->kind == B2B_KIND_CONTRACT || r->kind == B2B_KIND_PROMO) &&
               r->account_id == c->scope.id;
    case B2B_SCOPE_SKU:
        return r->kind != B2B_KIND_TAX && r->kind != B2B_KIND_FX && r->product_id == c->scope.id;
    case B2B_SCOPE_PRODUCT_GROUP:
        if (r->kind == B2B_KIND_TAX || r->kind == B2B_KIND_FX)
            return 0;
        if (r->kind != B2B_KIND_LIST && r->product_group_id == c->scope.id)
            return 1;
        return r->product_id && d->prod[r->product_id - 1].group_id == c->scope.id;
    }
    return 0;
}

/* Mutate the rules of one scope: drop some, change some, add some. */
static void mutate_scope(gen_data_t *d, const gen_params_t *p, scope_ctx_t *c)
{
    for (size_t i = 0; i < d->nrules; i++) {
        if (!in_scope(d, i, c))
            continue;
        uint64_t roll = gen_below(&d->rng, 4);
        if (roll == 0) {                      /* delete: move out of every scope by id 0 */
            d->rules[i] = d->rules[--d->nrules];
            i--;
        } else if (roll == 1) {
            b2b_rule_t *r = &d->rules[i].r;
            if (r->has & B2B_RULE_HAS_PRICE)
                r->price_minor += 7;
            if (r->has & B2B_RULE_HAS_DISCOUNT)
                r->discount_bp = (r->discount_bp + 333) % 10001;
        }
    }
    /* add new rules in scope */
    for (int k = 0; k < 6; k++) {
        static const b2b_kind_t kinds[] = { B2B_KIND_CONTRACT, B2B_KIND_PROMO, B2B_KIND_TIER,
                                            B2B_KIND_BRACKET };
        gen_add_rule(d, p, kinds[gen_below(&d->rng, 4)]);
        gen_rule_t *g = &d->rules[d->nrules - 1];
        switch (c->scope.kind) {
        case B2B_SCOPE_ACCOUNT:
        case B2B_SCOPE_ACCOUNT_OWN:
            if (g->r.kind != B2B_KIND_CONTRACT && g->r.kind != B2B_KIND_PROMO)
                g->r.kind = B2B_KIND_CONTRACT;
            if (g->r.kind == B2B_KIND_CONTRACT && !g->r.product_id && !g->r.product_group_id)
                g->r.product_id = 1;
            g->r.account_id = c->scope.id;
            break;
        case B2B_SCOPE_SKU:
            g->r.product_id = c->scope.id;
            g->r.product_group_id = 0;
            if (g->r.kind == B2B_KIND_CONTRACT && !g->r.account_id)
                g->r.account_id = 1;
            break;
        case B2B_SCOPE_PRODUCT_GROUP:
            g->r.product_id = 0;
            g->r.product_group_id = c->scope.id;
            if (g->r.kind == B2B_KIND_CONTRACT && !g->r.account_id)
                g->r.account_id = 1;
            break;
        default:
            break;
        }
        if (g->r.kind == B2B_KIND_TIER)
            g->r.account_id = 0;
        if (g->r.kind == B2B_KIND_BRACKET && !(g->r.has & B2B_RULE_HAS_MIN_QTY)) {
            g->r.has |= B2B_RULE_HAS_MIN_QTY;
            g->r.min_qty = 3;
        }
        if (g->r.kind == B2B_KIND_PROMO && !g->promo[0])
            strcpy(g->promo, "NEWCODE");
        if (g->r.kind != B2B_KIND_PROMO)
            g->r.has &= ~(unsigned)B2B_RULE_HAS_AMOUNT_OFF;
        if (g->r.kind == B2B_KIND_PROMO && (g->r.has & B2B_RULE_HAS_PRICE)) {
            g->r.has &= ~(unsigned)B2B_RULE_HAS_PRICE;
            g->r.has |= B2B_RULE_HAS_DISCOUNT;
        }
        if (g->r.kind != B2B_KIND_PROMO && (g->r.has & B2B_RULE_HAS_AMOUNT_OFF)) {
            g->r.has = B2B_RULE_HAS_DISCOUNT;
        }
        if (g->r.kind != B2B_KIND_PROMO && !(g->r.has & (B2B_RULE_HAS_PRICE |
                                                        B2B_RULE_HAS_DISCOUNT))) {
            g->r.has |= B2B_RULE_HAS_DISCOUNT;
            g->r.discount_bp = 1500;
        }
        if (g->r.kind == B2B_KIND_PROMO && !(g->r.has & (B2B_RULE_HAS_AMOUNT_OFF |
                                                        B2B_RULE_HAS_DISCOUNT))) {
            g->r.has |= B2B_RULE_HAS_DISCOUNT;
            g->r.discount_bp = 1500;
        }
        if (!in_scope(d, d->nrules - 1, c))
            d->nrules--;                      /* e.g. tier on an sku never in account scope */
    }
}

static size_t incremental_contracts = 400;

static int incremental_case(uint64_t seed, b2b_scope_kind_t kind)
{
    gen_params_t p = { 80, 4, 60, 5, 3, 30, 30, incremental_contracts, 25, 15, 4, 1, 0 };
    gen_data_t d;
    gen_make(&d, &p, seed);
    scope_ctx_t c = { { kind, 0 }, &d };
    switch (kind) {
    case B2B_SCOPE_ACCOUNT:
    case B2B_SCOPE_ACCOUNT_OWN: c.scope.id = (int64_t)gen_below(&d.rng, d.nacc) + 1; break;
    case B2B_SCOPE_SKU: c.scope.id = (int64_t)gen_below(&d.rng, d.nprod) + 1; break;
    case B2B_SCOPE_PRODUCT_GROUP: c.scope.id = (int64_t)gen_below(&d.rng, d.ngroups) + 1; break;
    default: break;
    }
    b2b_input_t *before = b2b_input_new();
    gen_fill(&d, before, NULL, NULL, 1);
    size_t old_size = 0;
    void *old = build(before, &old_size);
    b2b_input_free(before);
    mutate_scope(&d, &p, &c);
    b2b_input_t *after = b2b_input_new(), *changed = b2b_input_new();
    gen_fill(&d, after, NULL, NULL, 1);
    gen_fill(&d, changed, in_scope, &c, 0);
    size_t full_size = 0;
    void *full = build(after, &full_size);
    unsigned char *inc = aligned_alloc(64, full_size + 64);
    b2b_build_options_t opt = { 7 };
    b2b_build_stats_t stats;
    b2b_status_t st = b2b_snapshot_rebuild(old, &c.scope, changed, &opt, inc, full_size + 64,
                                           &stats);
    int same = st == B2B_OK && stats.size == full_size && full && memcmp(inc, full, full_size) == 0 &&
               b2b_snapshot_check(inc, full_size) == B2B_OK;
    if (!same) {
        printf("# seed %llu scope %d id %lld: %s size %llu vs %zu\n", (unsigned long long)seed,
               (int)kind, (long long)c.scope.id, b2b_status_name(st),
               (unsigned long long)stats.size, full_size);
        if (st == B2B_OK && full)
            for (size_t i = 0; i < full_size; i++)
                if (inc[i] != ((unsigned char *)full)[i]) {
                    printf("# first difference at byte %zu\n", i);
                    break;
                }
    }
    free(old);
    free(full);
    free(inc);
    b2b_input_free(after);
    b2b_input_free(changed);
    gen_free(&d);
    return same;
}

TEST(incremental_account_same_bytes)
{
    for (uint64_t seed = 1; seed <= 30; seed++)
        CHECK(incremental_case(seed, B2B_SCOPE_ACCOUNT));
}

/* One account's own rules, its subtree left as it was: what the worker
 * rebuilds for a rule change on that account. */
TEST(incremental_account_own_same_bytes)
{
    for (uint64_t seed = 1; seed <= 30; seed++)
        CHECK(incremental_case(seed, B2B_SCOPE_ACCOUNT_OWN));
}

TEST(incremental_sku_same_bytes)
{
    for (uint64_t seed = 1; seed <= 30; seed++)
        CHECK(incremental_case(seed, B2B_SCOPE_SKU));
}

TEST(incremental_group_same_bytes)
{
    for (uint64_t seed = 1; seed <= 30; seed++)
        CHECK(incremental_case(seed, B2B_SCOPE_PRODUCT_GROUP));
}

TEST(incremental_all_same_bytes)
{
    for (uint64_t seed = 1; seed <= 10; seed++)
        CHECK(incremental_case(seed, B2B_SCOPE_ALL));
}

/* Sections above the writer's 128 KB step take the streaming-store path. */
TEST(incremental_large_sections)
{
    incremental_contracts = 8000;     /* 384 KB of contracts */
    for (uint64_t seed = 1; seed <= 3; seed++) {
        CHECK(incremental_case(seed, B2B_SCOPE_ACCOUNT));
        CHECK(incremental_case(seed, B2B_SCOPE_ACCOUNT_OWN));
        CHECK(incremental_case(seed, B2B_SCOPE_SKU));
    }
    incremental_contracts = 400;
}

TEST(incremental_errors)
{
    b2b_input_t *in = contract_fixture();
    size_t size = 0;
    void *old = build(in, &size);
    b2b_input_free(in);
    void *buf = aligned_alloc(64, size * 2);
    b2b_input_t *ch = b2b_input_new();
    /* a contract of GLOBEX is outside ACME's subtree */
    rule(ch, 900, B2B_KIND_CONTRACT, GLOBEX, 0, SKU_A, 0, NULL, -1, 100, 0, NONE, NONE);
    b2b_scope_t s = { B2B_SCOPE_ACCOUNT, ACME };
    CHECK_EQ(b2b_snapshot_rebuild(old, &s, ch, NULL, buf, size * 2, NULL), B2B_ERR_OUT_OF_SCOPE);
    b2b_input_free(ch);
    ch = b2b_input_new();
    LIST(ch, 901, SKU_A, "USD", 5);        /* list rules are never in an account scope */
    CHECK_EQ(b2b_snapshot_rebuild(old, &s, ch, NULL, buf, size * 2, NULL), B2B_ERR_OUT_OF_SCOPE);
    s.id = 4242;
    CHECK_EQ(b2b_snapshot_rebuild(old, &s, ch, NULL, buf, size * 2, NULL), B2B_ERR_STALE_SNAPSHOT);
    b2b_input_free(ch);
    /* empty change of ACME-NA: its contracts vanish, ACME's group contract applies again */
    ch = b2b_input_new();
    s.id = ACME_NA;
    b2b_build_stats_t st;
    CHECK_EQ(b2b_snapshot_rebuild(old, &s, ch, NULL, buf, 64, &st), B2B_ERR_DOES_NOT_FIT);
    CHECK_EQ(b2b_snapshot_rebuild(old, &s, ch, NULL, buf, size * 2, &st), B2B_OK);
    CHECK_EQ(b2b_snapshot_check(buf, st.size), B2B_OK);
    CHECK_EQ(b2b_snapshot_generation(buf), b2b_snapshot_generation(old) + 1);
    b2b_query_t q = { "ACME-NA", -1, "SKU-A", 1, NULL, NULL, T0 };
    CHECK_EQ(b2b_resolve(buf, &q, &quote), B2B_OK);
    CHECK_EQ(quote.unit_minor, 111);   /* ACME's sku contract now nearest */
    b2b_input_free(ch);
    free(buf);
    free(old);
}

int main(void)
{
    RUN(money_parse);
    RUN(money_format);
    RUN(percent_parse);
    RUN(rounding_half_up);
    RUN(fx_convert);
    RUN(overflow_arith);
    RUN(time_parse);
    RUN(list_price_only);
    RUN(tier_inherited_vs_own);
    RUN(tier_sku_beats_group_beats_all);
    RUN(brackets);
    RUN(contract_beats_tier_and_bracket);
    RUN(contract_precedence);
    RUN(contract_validity);
    RUN(promo_stackable_vs_not);
    RUN(promo_min_qty_and_scope);
    RUN(currency_list_and_fx);
    RUN(tax_region_country_exempt);
    RUN(rounding_at_half_through_layers);
    RUN(errors);
    RUN(rule_validation);
    RUN(text_rows);
    RUN(bad_tree_and_duplicates);
    RUN(snapshot_too_big);
    RUN(snapshot_deterministic);
    RUN(incremental_account_same_bytes);
    RUN(incremental_account_own_same_bytes);
    RUN(incremental_sku_same_bytes);
    RUN(incremental_group_same_bytes);
    RUN(incremental_all_same_bytes);
    RUN(incremental_large_sections);
    RUN(incremental_errors);
    free(snap);
    return tap_done();
}
