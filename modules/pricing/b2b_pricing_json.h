/* b2b_pricing_json.h — JSON mapping of the pricing engine (jansson): the quote request body,
 * the quote answer of API.md, and one admin price rule. Pure C, no httpd types. */
#ifndef B2B_PRICING_JSON_H
#define B2B_PRICING_JSON_H

#include "b2b_pricing.h"

#ifdef __cplusplus
extern "C" {
#endif

#define B2B_QUOTE_MAX_LINES 500
#define B2B_JSON_MAX_DEPTH 16

/* An error for the HTTP layer: status 400 (malformed JSON / wrong top-level type) or 422
 * (valid JSON, invalid values); code is snake_case, path names the field at fault
 * ("lines[3].qty", "price.amount"; "" for the whole body). */
typedef struct {
    int status;
    char code[32];
    char path[64];
    char message[160];
} b2b_json_error_t;

typedef struct {
    char sku[B2B_CODE_MAX + 1];
    int64_t qty;
} b2b_quote_line_t;

/* {"lines":[{"sku","qty"}], "promo_code"?, "currency"?, "as_of"?}. Unknown fields are
 * ignored (clients may send more; nothing unknown changes a price). null = absent. */
typedef struct {
    size_t nlines;
    int has_promo_code, has_currency, has_as_of;
    char promo_code[B2B_CODE_MAX + 1];
    char currency[4];
    int64_t as_of;             /* unix seconds (an ISO 8601 string or an integer in the body) */
    /* Last, so that parsing clears only the fields above (lines is ~40 KB): entries past
     * nlines are left as they were. */
    b2b_quote_line_t lines[B2B_QUOTE_MAX_LINES];
} b2b_quote_request_t;

/* Returns B2B_OK, or B2B_ERR_BAD_VALUE with err filled. */
b2b_status_t b2b_quote_request_parse(const char *body, size_t len, b2b_quote_request_t *out,
                                     b2b_json_error_t *err);

/* The error answer for a failed line: unknown_sku -> 422 at lines[i].sku, bad_quantity ->
 * 422 at lines[i].qty, unknown_currency -> 422 at currency, no_price / no_fx_rate -> 422,
 * unknown_account -> 404 (the acting account is not in the snapshot), anything else 500. */
void b2b_quote_line_error(b2b_status_t status, size_t line, b2b_json_error_t *err);

/* API.md's quote answer, as a malloc'd NUL-terminated string (free() it), or NULL on
 * overflow of the totals / out of memory (err says which). quotes[i] answers req->lines[i];
 * all must have succeeded. Compact JSON, the same bytes jansson's json_dumps gave; bytes of a
 * sku or currency that are not UTF-8 come out as U+FFFD. */
char *b2b_quote_render(const b2b_quote_request_t *req, const b2b_quote_t *quotes,
                       uint64_t pricing_generation, int explain, b2b_json_error_t *err);

/* {"error":{"code","message","field"?}} as a malloc'd string. */
char *b2b_json_error_render(const b2b_json_error_t *err);

/* ---- admin price rule ---- */

/* A rule as the admin API takes it: references by code, money as decimal strings already
 * converted to minor units. Turned into price_rules columns by the HTTP layer (codes to ids
 * with SQL). */
typedef struct {
    int64_t id;                                  /* 0 if absent */
    b2b_kind_t kind;
    char account[B2B_CODE_MAX + 1];              /* "" = absent */
    char sku[B2B_CODE_MAX + 1];
    char product_group[B2B_CODE_MAX + 1];
    char tier[B2B_CODE_MAX + 1];                 /* price list code */
    char promo_code[B2B_CODE_MAX + 1];
    char region[B2B_CODE_MAX + 1];
    char tax_class[B2B_CODE_MAX + 1];
    char country[3];
    char currency[4];                            /* of price / amount_off; fx: from */
    char to_currency[4];
    unsigned has;                                /* B2B_RULE_HAS_* */
    int64_t price_minor, amount_off_minor, fx_rate_micro;
    int32_t discount_bp, min_qty, rate_bp;
    int stackable;
    int64_t valid_from, valid_to;                /* B2B_TIME_MIN / B2B_TIME_MAX if absent */
} b2b_rule_spec_t;

/* Minor digits of a currency code, or -1 if unknown (e.g. from the snapshot or a table). */
typedef int (*b2b_currency_digits_fn)(const char *code, void *ctx);

/* Parse and validate (per-kind shape as b2b_rule_validate, field names as in the API). */
b2b_status_t b2b_rule_spec_parse(const char *body, size_t len, b2b_currency_digits_fn digits,
                                 void *ctx, b2b_rule_spec_t *out, b2b_json_error_t *err);

/* The rule back as API JSON (malloc'd string), e.g. for GET /admin/price-rules/{id}. */
char *b2b_rule_spec_render(const b2b_rule_spec_t *spec, b2b_currency_digits_fn digits, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
