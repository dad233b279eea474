/* fuzz_quote_body.c — libFuzzer target: quote body parser, and the admin rule parser, on
 * arbitrary bytes. Must never crash, leak or read out of bounds; and whenever the quote body's
 * fast path takes a body, the jansson path must accept it and fill the request the same way
 * (abort() otherwise). */
#include "../b2b_pricing_json.h"
#include "../b2b_pricing_private.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int digits(const char *code, void *ctx)
{
    (void)ctx;
    return !strcmp(code, "JPY") ? 0 : !strcmp(code, "KWD") ? 3 : !strcmp(code, "XXX") ? -1 : 2;
}

static void disagree(const char *why, const unsigned char *data, size_t size)
{
    fprintf(stderr, "fast path and jansson disagree: %s: %.*s\n", why,
            (int)(size < 500 ? size : 500), (const char *)data);
    abort();
}

/* The two paths from the same starting bytes. Either writes lines[i] only for an object in
 * the body, so the lines to reset are at most the body's '{' count (not all 40 KB of them). */
static void check_fast_path(const unsigned char *data, size_t size)
{
    static b2b_quote_request_t fast_req, slow_req;
    b2b_json_error_t err;
    size_t objects = 0;
    for (size_t i = 0; i < size && objects < B2B_QUOTE_MAX_LINES; i++)
        objects += data[i] == '{';
    size_t reset = offsetof(b2b_quote_request_t, lines) + objects * sizeof fast_req.lines[0];
    memset(&fast_req, 0xA5, reset);
    memset(&slow_req, 0xA5, reset);
    int handled = b2b_quote_request_parse_fast((const char *)data, size, &fast_req);
    b2b_status_t slow = b2b_quote_request_parse_jansson((const char *)data, size, &slow_req, &err);
    if (handled != 0 && handled != 1)
        disagree("fast path returned neither 0 nor 1", data, size);
    if (!handled)
        return;
    if (slow != B2B_OK)
        disagree("fast path took a body jansson refuses", data, size);
    if (memcmp(&fast_req, &slow_req, offsetof(b2b_quote_request_t, lines)))
        disagree("request head differs", data, size);
    if (slow_req.nlines > objects ||
        memcmp(fast_req.lines, slow_req.lines, slow_req.nlines * sizeof slow_req.lines[0]))
        disagree("lines differ", data, size);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static b2b_quote_request_t req;
    b2b_json_error_t err;
    check_fast_path(data, size);
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
