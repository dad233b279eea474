/* test_pricing_json.c — TAP tests of the JSON mapping: quote body validation with field paths,
 * the quote answer (money objects, explain), admin price rules. */
#include "../b2b_pricing_json.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

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
    RUN(admin_rule);
    return tap_done();
}
