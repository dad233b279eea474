/* fuzz_quote_body.c — libFuzzer target: quote body parser, and the admin rule parser, on
 * arbitrary bytes. Must never crash, leak or read out of bounds. */
#include "../b2b_pricing_json.h"

#include <stdlib.h>
#include <string.h>

static int digits(const char *code, void *ctx)
{
    (void)ctx;
    return !strcmp(code, "JPY") ? 0 : !strcmp(code, "KWD") ? 3 : !strcmp(code, "XXX") ? -1 : 2;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static b2b_quote_request_t req;
    b2b_json_error_t err;
    if (b2b_quote_request_parse((const char *)data, size, &req, &err) == B2B_OK) {
        static b2b_quote_t q[B2B_QUOTE_MAX_LINES];
        for (size_t i = 0; i < req.nlines; i++) {
            memset(&q[i], 0, sizeof q[i]);
            strcpy(q[i].currency, "USD");
            q[i].minor_digits = (int)(req.lines[i].qty % 4);
            q[i].unit_minor = req.lines[i].qty;
            q[i].net_minor = req.lines[i].qty * req.lines[i].qty;
        }
        free(b2b_quote_render(&req, q, 1, 1, &err));
    } else {
        free(b2b_json_error_render(&err));
    }
    b2b_rule_spec_t spec;
    if (b2b_rule_spec_parse((const char *)data, size, digits, NULL, &spec, &err) == B2B_OK)
        free(b2b_rule_spec_render(&spec, digits, NULL));
    return 0;
}
