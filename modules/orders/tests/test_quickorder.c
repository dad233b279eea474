/* test_quickorder.c: unit tests of the quick-order parser (TAP). */
#include "b2b_quickorder.h"
#include "../../../tests/tap.h"

#include <stdlib.h>

#define MAXR 16

static b2b_qo_row_t rows[MAXR];
static size_t nrows;

static b2b_qo_status_t parse(const char *s)
{
    return b2b_quickorder_parse(s, strlen(s), rows, MAXR, &nrows);
}

static void test_basic_csv(void)
{
    is_num(parse("sku,qty\nSKU-00042,3\nSKU-00001,10\n"), B2B_QO_OK, "csv with header parses");
    is_num(nrows, 2, "header skipped: two rows");
    is_str(rows[0].sku, "SKU-00042", "first sku");
    is_num(rows[0].qty, 3, "first qty");
    is_num(rows[0].line, 2, "first row is line 2");
    is_num(rows[1].qty, 10, "second qty");
    is_num(rows[1].status, B2B_QO_ROW_OK, "second row ok");
}

static void test_delimiters(void)
{
    parse("SKU-1;4\r\nSKU-2\t5\rSKU-3 6\n  sku-4   7  \nSKU-5\n\"SKU-6\",\"8\"\n\"SKU-7\" 9\n");
    is_num(nrows, 7, "seven rows over CRLF, CR and LF");
    is_num(rows[0].qty, 4, "semicolon");
    is_num(rows[1].qty, 5, "tab");
    is_num(rows[2].qty, 6, "blank (pasted list)");
    is_str(rows[3].sku, "SKU-4", "lower case sku upper-cased, blanks trimmed");
    is_num(rows[3].qty, 7, "qty after several blanks");
    is_num(rows[4].qty, 1, "no quantity means 1");
    is_str(rows[5].sku, "SKU-6", "quoted sku");
    is_num(rows[5].qty, 8, "quoted qty");
    is_num(rows[6].status, B2B_QO_ROW_OK, "quoted field in a pasted list");
    is_num(rows[6].line, 7, "line numbers count every line");
}

static void test_skips(void)
{
    parse("\xEF\xBB\xBFSKU,QTY\n\n# a comment\n   \n,,,\nSKU-1,2,,\n");
    is_num(nrows, 1, "BOM, header, blanks, comments and empty rows skipped");
    is_num(rows[0].status, B2B_QO_ROW_OK, "trailing empty fields are fine");
    is_num(rows[0].line, 6, "line number after skipped lines");
    parse("SKU-9,1\nsku,qty\n");
    is_num(nrows, 2, "a header only counts as the first row");
    is_num(rows[1].status, B2B_QO_ROW_BAD_QUANTITY, "a later 'sku,qty' row is data: qty is not a number");
}

static void test_bad_rows(void)
{
    parse("SKU-1,0\nSKU-2,-1\nSKU-3,1.5\nSKU-4,1000001\nSKU-5,abc\nSKU-6,1,2\n"
          "bad sku!,1\n,3\n\"SKU-7,1\nSKU-8,99999999999999999999\nSKU-9,1e3\n"
          "SKU-A, 1000000 \n");
    is_num(nrows, 12, "twelve rows");
    is_num(rows[0].status, B2B_QO_ROW_BAD_QUANTITY, "zero");
    is_num(rows[1].status, B2B_QO_ROW_BAD_QUANTITY, "negative");
    is_num(rows[2].status, B2B_QO_ROW_BAD_QUANTITY, "fraction");
    is_num(rows[3].status, B2B_QO_ROW_BAD_QUANTITY, "over the maximum");
    is_num(rows[4].status, B2B_QO_ROW_BAD_QUANTITY, "letters");
    is_num(rows[5].status, B2B_QO_ROW_BAD_FORMAT, "three fields");
    is_num(rows[6].status, B2B_QO_ROW_BAD_SKU, "blank and '!' inside a csv sku field");
    is_num(rows[7].status, B2B_QO_ROW_BAD_FORMAT, "empty sku");
    is_num(rows[8].status, B2B_QO_ROW_BAD_FORMAT, "unclosed quote");
    is_num(rows[9].status, B2B_QO_ROW_BAD_QUANTITY, "huge number");
    is_num(rows[10].status, B2B_QO_ROW_BAD_QUANTITY, "exponent");
    is_num(rows[11].status, B2B_QO_ROW_OK, "the maximum with blanks");
    is_num(rows[11].qty, 1000000, "maximum value");
    is_num(rows[0].qty, 0, "a rejected row has qty 0");
}

static void test_sku_rules(void)
{
    char longsku[200];
    memset(longsku, 'A', 70);
    strcpy(longsku + 70, ",1\n");
    parse(longsku);
    is_num(rows[0].status, B2B_QO_ROW_BAD_SKU, "sku longer than 64");
    ok(strlen(rows[0].input) <= B2B_QO_INPUT_MAX + 3, "echo is bounded");
    parse("-SKU,1\nSKU/1,1\nSKU_1.a-b,2\n");
    is_num(rows[0].status, B2B_QO_ROW_BAD_SKU, "leading dash");
    is_num(rows[1].status, B2B_QO_ROW_BAD_SKU, "slash");
    is_num(rows[2].status, B2B_QO_ROW_OK, "dot, underscore, dash inside");
    is_str(rows[2].sku, "SKU_1.A-B", "upper-cased");
    ok(b2b_qo_sku_valid("SKU-00042"), "sku_valid yes");
    ok(!b2b_qo_sku_valid(""), "sku_valid empty");
    ok(!b2b_qo_sku_valid("sku-1"), "sku_valid lower case");
}

static void test_whole_input(void)
{
    b2b_qo_row_t few[2];
    size_t n;
    is_num(b2b_quickorder_parse("a\0b", 3, rows, MAXR, &nrows), B2B_QO_NOT_TEXT, "NUL byte");
    is_num(parse("SKU-1,\xC3\x28\n"), B2B_QO_NOT_TEXT, "invalid UTF-8");
    is_num(parse("SKU-1,\xE2\x82\xAC\n"), B2B_QO_OK, "valid UTF-8 (euro sign) is text");
    is_num(rows[0].status, B2B_QO_ROW_BAD_QUANTITY, "... but not a quantity");
    is_num(parse("\xED\xA0\x80"), B2B_QO_NOT_TEXT, "surrogate rejected");
    is_num(parse("\xC0\xAF"), B2B_QO_NOT_TEXT, "overlong rejected");
    is_num(parse(""), B2B_QO_EMPTY, "empty body");
    is_num(parse("sku,qty\n# nothing\n"), B2B_QO_EMPTY, "only a header");
    is_num(b2b_quickorder_parse("A,1\nB,2\nC,3\n", 12, few, 2, &n), B2B_QO_TOO_MANY_ROWS,
           "more rows than allowed");
    is_num(n, 3, "all rows are counted");
    is_str(few[1].sku, "B", "the first rows are kept");
    is_str(b2b_qo_row_reason(B2B_QO_ROW_BAD_SKU), "unknown_sku", "reason name");
}

static void test_fuzzish(void)
{
    /* random bytes never crash and always classify every stored row */
    char buf[512];
    int i, j, bad = 0;
    srand(42);
    for (i = 0; i < 20000; i++) {
        size_t len = (size_t)(rand() % (int)sizeof(buf));
        static const char alphabet[] = "SKU-0123456789,;\t \"\r\n#aZ.\xC3\xA9";
        for (j = 0; j < (int)len; j++) {
            buf[j] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        }
        if (b2b_quickorder_parse(buf, len, rows, MAXR, &nrows) == B2B_QO_OK) {
            for (j = 0; j < (int)nrows && j < MAXR; j++) {
                if (rows[j].status == B2B_QO_ROW_OK
                    && (!b2b_qo_sku_valid(rows[j].sku) || rows[j].qty < 1
                        || rows[j].qty > B2B_QO_QTY_MAX)) {
                    bad++;
                }
            }
        }
    }
    is_num(bad, 0, "20000 random inputs: every accepted row is a valid sku and qty");
}

int main(void)
{
    test_basic_csv();
    test_delimiters();
    test_skips();
    test_bad_rows();
    test_sku_rules();
    test_whole_input();
    test_fuzzish();
    return tap_done();
}
