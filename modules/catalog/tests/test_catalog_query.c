/*
 * Unit tests of the catalog's pure part (TAP on stdout; t/unit.t runs it).
 */
#include "../b2b_catalog_query.h"

#include "../../../tests/tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int parse(const char *args, b2b_cq_params_t *p, b2b_cq_error_t *e)
{
    memset(e, 0, sizeof(*e));
    return b2b_cq_parse_list(args, p, e);
}

static void test_params(void)
{
    b2b_cq_params_t p;
    b2b_cq_error_t e;

    ok(parse(NULL, &p, &e) == 0 && p.page == 1 && p.per_page == 50
       && p.sort == B2B_CQ_SORT_NAME && !p.has_q && !p.has_category,
       "defaults: page 1, 50 per page, by name");
    ok(parse("page=3&per_page=24", &p, &e) == 0 && p.page == 3 && p.per_page == 24,
       "page and per_page");
    ok(parse("per_page=200", &p, &e) == 0 && p.per_page == 200, "per_page 200 is the limit");
    ok(parse("per_page=201", &p, &e) == -1 && e.status == 422
       && !strcmp(e.code, "per_page_too_large"), "per_page 201 is 422");
    ok(parse("per_page=0", &p, &e) == -1 && e.status == 422, "per_page 0 is 422");
    ok(parse("page=0", &p, &e) == -1 && e.status == 422, "page 0 is 422");
    ok(parse("page=-1", &p, &e) == -1 && e.status == 422, "negative page is 422");
    ok(parse("page=1e3", &p, &e) == -1 && e.status == 422, "page 1e3 is 422");
    ok(parse("page=99999999999999999999", &p, &e) == -1 && e.status == 422,
       "a huge page is 422");
    ok(parse("page=2001&per_page=50", &p, &e) == -1 && e.status == 422
       && !strcmp(e.code, "page_too_deep"), "paging past 100000 results is 422");
    ok(parse("q=Hex+%20Bolt%09&sort=-sku", &p, &e) == 0 && !strcmp(p.q, "Hex Bolt")
       && p.has_q && p.sort == B2B_CQ_SORT_SKU_DESC, "q decoded and normalised, sort");
    ok(parse("q=bolt", &p, &e) == 0 && p.sort == B2B_CQ_SORT_RELEVANCE,
       "q without sort ranks by relevance");
    ok(parse("sort=relevance", &p, &e) == 0 && p.sort == B2B_CQ_SORT_NAME,
       "relevance without q sorts by name");
    ok(parse("sort=price", &p, &e) == -1 && e.status == 422, "unknown sort is 422");
    ok(parse("q=%zz", &p, &e) == -1 && e.status == 400, "bad escape is 400");
    ok(parse("q=%00", &p, &e) == -1 && e.status == 400, "encoded NUL is 400");
    ok(parse("q=%ff%fe", &p, &e) == -1 && e.status == 400, "invalid UTF-8 is 400");
    ok(parse("q=Schl%C3%BCssel", &p, &e) == 0 && !strcmp(p.q, "Schl\xc3\xbcssel"),
       "UTF-8 q is kept");
    {
        char big[800];
        memset(big, 'a', 201);
        strcpy(big, "q=");
        memset(big + 2, 'a', 201);
        big[203] = '\0';
        ok(parse(big, &p, &e) == -1 && e.status == 422, "q over 200 bytes is 422");
    }
    ok(parse("q=+++", &p, &e) == 0 && !p.has_q, "blank q is no q");
    ok(parse("category=hand-tools", &p, &e) == 0 && p.has_category && p.category_valid
       && !strcmp(p.category, "hand-tools"), "category");
    ok(parse("category=%27%3B+DROP", &p, &e) == 0 && p.has_category && !p.category_valid,
       "an impossible category code is flagged (404), not an error");
    ok(parse("foo=bar&_=123&page=2", &p, &e) == 0 && p.page == 2,
       "unknown parameters are ignored");
    ok(parse("page=2&page=4", &p, &e) == 0 && p.page == 4, "the last value wins");
    ok(parse("&&page=2&", &p, &e) == 0 && p.page == 2, "empty pairs are skipped");
}

static void test_tsquery(void)
{
    char out[B2B_CQ_TSQUERY_MAX + 1];
    size_t n;

    n = b2b_cq_build_tsquery("Hex Bolt", out, sizeof(out));
    ok(n > 0 && !strcmp(out, "('hex':*) & ('bolt':*)"), "two words");
    b2b_cq_build_tsquery("SKU-00042", out, sizeof(out));
    ok(!strcmp(out, "('sku-00042':* | 'sku00042':*)"), "a SKU also matches compact");
    b2b_cq_build_tsquery("' OR 1=1; --", out, sizeof(out));
    ok(!strcmp(out, "('or':*) & ('11':*)"), "quotes, = and ; are dropped");
    b2b_cq_build_tsquery("a&b|!c:*\\'(d)", out, sizeof(out));
    ok(!strcmp(out, "('abcd':*)"), "tsquery operators and quotes never reach the query");
    n = b2b_cq_build_tsquery("-- ... //", out, sizeof(out));
    ok(n == 0 && out[0] == '\0', "only punctuation: no query");
    b2b_cq_build_tsquery("M\xc3\xbcller", out, sizeof(out));
    ok(!strcmp(out, "('m\xc3\xbcller':*)"), "non-ASCII letters kept");
    {
        char q[400] = "";
        int i;
        for (i = 0; i < 20; i++) strcat(q, "w ");
        b2b_cq_build_tsquery(q, out, sizeof(out));
        n = 0;
        for (char *p = out; (p = strstr(p, "'w'")); p++) n++;
        ok(n == B2B_CQ_WORDS_MAX, "at most 16 words");
    }
}

static void test_codes(void)
{
    char sku[80];
    strcpy(sku, "sku-00042");
    ok(b2b_cq_sku_normalize(sku) && !strcmp(sku, "SKU-00042"), "sku upper-cased");
    strcpy(sku, "-SKU");
    ok(!b2b_cq_sku_normalize(sku), "leading dash rejected");
    strcpy(sku, "SKU'1");
    ok(!b2b_cq_sku_normalize(sku), "quote rejected");
    ok(b2b_cq_category_code_valid("hand-tools"), "category code");
    ok(!b2b_cq_category_code_valid(""), "empty category code");
    ok(!b2b_cq_category_code_valid("a b"), "blank in category code");
}

static void test_etag(void)
{
    char etag[19];
    b2b_cq_etag("hello", 5, etag);
    ok(strlen(etag) == 18 && etag[0] == '"' && etag[17] == '"', "etag is quoted hex");
    ok(b2b_cq_if_none_match(etag, etag), "exact match");
    {
        char w[40];
        snprintf(w, sizeof(w), "W/%s", etag);
        ok(b2b_cq_if_none_match(w, etag), "weak comparison");
        snprintf(w, sizeof(w), "\"x\", %s", etag);
        ok(b2b_cq_if_none_match(w, etag), "in a list");
    }
    ok(b2b_cq_if_none_match("*", etag), "star");
    ok(!b2b_cq_if_none_match("\"nope\"", etag), "other tag");
    ok(!b2b_cq_if_none_match("", etag), "empty header");
    {
        unsigned char id[64];
        size_t n = b2b_cq_cache_id("P|1|SKU", 7, id, sizeof(id));
        ok(n == 11 && !memcmp(id + 4, "P|1|SKU", 7), "cache id: 4 hash bytes, then the key");
        ok(b2b_cq_cache_id("P|1|SKU", 7, id, 8) == 0, "cache id: too small a buffer");
    }
}

static void test_brackets(void)
{
    int32_t q[8];
    int n = b2b_cq_brackets_valid("10::;50::;100::", 1000, q, 8);
    ok(n == 3 && q[0] == 10 && q[1] == 50 && q[2] == 100, "three open brackets");
    n = b2b_cq_brackets_valid("50::;10::;10::;1::", 1000, q, 8);
    ok(n == 2 && q[0] == 10 && q[1] == 50, "sorted, distinct, qty 1 dropped");
    n = b2b_cq_brackets_valid("10:2000:;20::500;30:500:2000", 1000, q, 8);
    ok(n == 1 && q[0] == 30, "validity windows are half-open [from, to)");
    n = b2b_cq_brackets_valid("junk;10:x:;;:;20::", 1000, q, 8);
    ok(n == 1 && q[0] == 20, "junk ignored");
    ok(b2b_cq_brackets_valid("", 1000, q, 8) == 0, "none");
}

static void test_rollup(void)
{
    b2b_cq_category_t c[4] = {
        { 2, 1, 5, 0, 0 }, { 1, 0, 1, 0, 0 }, { 3, 2, 7, 0, 0 }, { 4, 0, 0, 0, 0 }
    };
    ok(b2b_cq_category_rollup(c, 4) == 0, "rollup");
    ok(c[1].total == 13 && c[0].total == 12 && c[2].total == 7 && c[3].total == 0,
       "totals include descendants");
    ok(c[0].parent == 1 && c[1].parent == -1 && c[2].parent == 0, "parents found");
    {
        b2b_cq_category_t loop[2] = { { 1, 2, 1, 0, 0 }, { 2, 1, 1, 0, 0 } };
        ok(b2b_cq_category_rollup(loop, 2) == -1, "a cycle is reported");
    }
}

static void test_records(void)
{
    b2b_cq_card_t cards[2] = {
        { 42, "SKU-00042", "{\"sku\":\"SKU-00042\"}", 19 },
        { 7, "SKU-00007", "{}", 2 }
    }, back[4];
    unsigned char buf[512];
    size_t need = b2b_cq_page_size(cards, 2);
    size_t n = b2b_cq_page_encode(9, 2000, cards, 2, buf, sizeof(buf));
    b2b_cq_page_t page = { 0, 0, 4, back };
    uint32_t count = 0;

    ok(n == need, "page size is exact");
    ok(b2b_cq_page_encode(9, 2000, cards, 2, buf, need - 1) == 0, "page: too small");
    ok(b2b_cq_page_peek(buf, n, &count) == 0 && count == 2, "peek count");
    ok(b2b_cq_page_decode(buf, n, &page) == 0 && page.version == 9 && page.total == 2000
       && page.count == 2 && back[0].product_id == 42 && !strcmp(back[0].sku, "SKU-00042")
       && back[0].json_len == 19 && !strcmp(back[1].json, "{}"), "page round trip");
    page.count = 1;
    ok(b2b_cq_page_decode(buf, n, &page) == -1, "page: more cards than room");
    page.count = 4;
    ok(b2b_cq_page_decode(buf, n - 1, &page) == -1, "page: truncated record");
    buf[0] = 'X';
    ok(b2b_cq_page_decode(buf, n, &page) == -1, "page: wrong magic");

    {
        b2b_cq_stock_t s[2] = { { 1, 10 }, { 2, 0 } }, r[2];
        int64_t at = 0;
        n = b2b_cq_stock_encode(123456, s, 2, buf, sizeof(buf));
        ok(n > 0 && b2b_cq_stock_decode(buf, n, &at, r, 2) == 2 && at == 123456
           && r[0].available == 10 && r[1].product_id == 2, "stock round trip");
        ok(b2b_cq_stock_decode(buf, n, &at, r, 1) == -1, "stock: more than room");
    }
    {
        b2b_cq_detail_t d = { 5, 42, "33:5", "10::", "{\"a\":1}", 7 }, e;
        n = b2b_cq_detail_encode(&d, buf, sizeof(buf));
        ok(n > 0 && b2b_cq_detail_decode(buf, n, &e) == 0 && e.version == 5
           && e.product_id == 42 && !strcmp(e.access_key, "33:5")
           && !strcmp(e.brackets, "10::") && e.json_len == 7, "detail round trip");
        ok(b2b_cq_detail_decode(buf, n - 3, &e) == -1, "detail: truncated");
    }
}

static void test_keys(void)
{
    ok(b2b_cq_key_listed("35:1,35:2,35:0", "35:2"), "listed");
    ok(!b2b_cq_key_listed("35:1,35:2,35:0", "35:"), "prefix is not a match");
    ok(!b2b_cq_key_listed("135:1", "35:1"), "suffix is not a match");
    ok(!b2b_cq_key_listed("", "35:1"), "empty list");
}

static void test_utf8(void)
{
    ok(b2b_cq_utf8_valid("abc", 3), "ascii");
    ok(b2b_cq_utf8_valid("\xe2\x82\xac", 3), "euro sign");
    ok(!b2b_cq_utf8_valid("\xc0\xaf", 2), "overlong");
    ok(!b2b_cq_utf8_valid("\xed\xa0\x80", 3), "surrogate");
    ok(!b2b_cq_utf8_valid("\xe2\x82", 2), "truncated");
    {
        char s[] = "  a \t\n b  ";
        ok(b2b_cq_normalize_space(s) == 3 && !strcmp(s, "a b"), "normalise space");
    }
}

int main(void)
{
    test_params();
    test_tsquery();
    test_codes();
    test_etag();
    test_brackets();
    test_rollup();
    test_records();
    test_keys();
    test_utf8();
    return tap_done();
}
