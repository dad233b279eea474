/* fuzz_rule_compiler.c — libFuzzer target: text rows (as from the database driver) into an
 * input set, compiled into a snapshot, checked, resolved and incrementally rebuilt. The input
 * is split into lines; a line is a row of '|'-separated columns, "~" for NULL; the first
 * column picks the table (c currency, a account, p product, anything else a rule). */
#include "../b2b_pricing.h"

#include <stdlib.h>
#include <string.h>

#define MAXCOL 24

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    b2b_input_t *in = b2b_input_new(), *changed = b2b_input_new();
    b2b_input_error_t err;
    b2b_input_add_currency(in, "USD", 2, &err);
    char *save = NULL;
    int row = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *cols[MAXCOL] = { 0 };
        int n = 0;
        char *p = line;
        while (n < MAXCOL) {
            char *bar = strchr(p, '|');
            if (bar)
                *bar = '\0';
            cols[n++] = strcmp(p, "~") ? p : NULL;
            if (!bar)
                break;
            p = bar + 1;
        }
        const char *t = cols[0] ? cols[0] : "";
        if (!strcmp(t, "c"))
            b2b_input_add_currency_text(in, cols + 1, &err);
        else if (!strcmp(t, "a"))
            b2b_input_add_account_text(in, cols + 1, &err);
        else if (!strcmp(t, "p"))
            b2b_input_add_product_text(in, cols + 1, &err);
        else if (row++ % 2)
            b2b_input_add_rule_text(changed, cols + 1, &err);
        else
            b2b_input_add_rule_text(in, cols + 1, &err);
    }
    uint64_t need = 0;
    if (b2b_snapshot_size(in, &need) == B2B_OK && need < (64u << 20)) {
        void *buf = aligned_alloc(64, (size_t)need), *buf2 = aligned_alloc(64, (size_t)need * 2 + 64);
        if (b2b_snapshot_build(in, NULL, buf, (size_t)need, NULL) == B2B_OK &&
            b2b_snapshot_check(buf, (size_t)need) == B2B_OK) {
            b2b_quote_t q;
            for (uint32_t a = 0; a < b2b_snapshot_account_count(buf) && a < 8; a++) {
                b2b_query_t query = { NULL, (int32_t)a, "SKU-1", 1 + a * 97, a & 1 ? "P" : NULL,
                                      a & 2 ? "EUR" : NULL, 1704067200 };
                b2b_resolve(buf, &query, &q);
            }
            b2b_scope_t scope = { B2B_SCOPE_ALL, 0 };
            b2b_build_stats_t st;
            if (b2b_snapshot_rebuild(buf, &scope, changed, NULL, buf2, (size_t)need * 2 + 64, &st) ==
                B2B_OK && b2b_snapshot_check(buf2, st.size) != B2B_OK)
                abort();       /* a rebuilt snapshot must always verify */
        }
        free(buf);
        free(buf2);
    }
    b2b_input_free(in);
    b2b_input_free(changed);
    free(text);
    return 0;
}
