/* b2b_pricing_json.c — JSON mapping for pricing: quote request parsing (an allocation-free
 * scanner for the usual shape, jansson for the rest and for every field-path error), the quote
 * answer with money objects and the explanation (written directly, it is on every quote), and
 * the admin price rule (jansson).
 * Decisions: unknown fields are ignored; null means absent; qty must be a JSON integer;
 * money amounts and percentages are decimal strings (never JSON numbers). */
#include "b2b_pricing_json.h"
#include "b2b_pricing_private.h"

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static b2b_status_t jfail(b2b_json_error_t *err, int status, const char *code, const char *path,
                          const char *fmt, ...)
{
    if (err) {
        err->status = status;
        snprintf(err->code, sizeof err->code, "%s", code);
        snprintf(err->path, sizeof err->path, "%s", path ? path : "");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return B2B_ERR_BAD_VALUE;
}

/* ^[A-Z0-9][A-Z0-9._-]{0,63}$ */
static int sku_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

/* ^[A-Z0-9][A-Z0-9-]{0,31}$ */
static int account_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || c != '-'))
            return 0;
    }
    return 1;
}

/* Printable codes: promo codes, group/tier codes, regions, tax classes: 1..64 of
 * [A-Za-z0-9._-]. */
static int code_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* The database's formats (sql/00x CHECK constraints). */
static int char_in(char c, const char *extra)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr(extra, c));
}

/* promo_code ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$ */
static int promo_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!char_in(s[i], i ? "abcdefghijklmnopqrstuvwxyz_-" : "abcdefghijklmnopqrstuvwxyz"))
            return 0;
    return 1;
}

/* product_groups.code ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ */
static int group_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!char_in(s[i], i ? "abcdefghijklmnopqrstuvwxyz._-" : "abcdefghijklmnopqrstuvwxyz"))
            return 0;
    return 1;
}

/* tax_class ^[a-z][a-z0-9_]{0,31}$ */
static int tax_class_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32 || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* region: non-blank text, at most 64 bytes, no control characters */
static int region_ok(const char *s)
{
    size_t n = strlen(s);
    int blank = 1;
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20)
            return 0;
        if (s[i] != ' ')
            blank = 0;
    }
    return !blank;
}

static int upper_n(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return 0;
    return 1;
}

static json_t *load(const char *body, size_t len, b2b_json_error_t *err)
{
    json_error_t je;
    if (!body)
        return jfail(err, 400, "malformed_json", "", "empty body"), NULL;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        jfail(err, 400, "malformed_json", "", "malformed JSON at line %d column %d: %s", je.line,
              je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        jfail(err, 400, "malformed_json", "", "the body must be a JSON object");
        return NULL;
    }
    return root;
}

/* A present, non-null member. */
static json_t *member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

/* ---- quote request ----
 * Two paths. The fast one scans the shape nearly every client sends, without allocating
 * (jansson's tree cost ~1.3 us for a one-line body); anything else it calls "not mine", and
 * the jansson one, the only source of errors and of every edge case, reads the body. */

typedef struct {
    const char *p, *end;    /* the body is not NUL-terminated: every read checks end */
} quote_scan_t;

/* JSON's whitespace, as jansson skips it. */
static void qs_space(quote_scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Whitespace, then c if it is next. */
static int qs_eat(quote_scan_t *s, char c)
{
    qs_space(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

/* A string of printable ASCII: escapes, control characters and UTF-8 are left to jansson. */
static int qs_string(quote_scan_t *s, const char **str, size_t *n)
{
    if (!qs_eat(s, '"'))
        return 0;
    const char *start = s->p;
    for (; s->p < s->end; s->p++) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            *str = start;
            *n = (size_t)(s->p++ - start);
            return 1;
        }
        if (c < 0x20 || c >= 0x80 || c == '\\')
            return 0;
    }
    return 0;
}

/* A string value into dst, NUL-terminated as jansson would hand it to the checks. Longer than
 * B2B_CODE_MAX is not ours: every check below refuses that anyway. */
static int qs_string_to(quote_scan_t *s, char dst[B2B_CODE_MAX + 1])
{
    const char *str;
    size_t n;
    if (!qs_string(s, &str, &n) || n > B2B_CODE_MAX)
        return 0;
    memcpy(dst, str, n);
    dst[n] = '\0';
    return 1;
}

/* A JSON integer as jansson reads it: -?(0|[1-9][0-9]*) within int64 (beyond is an error
 * there). A fraction or exponent makes a real: the caller then finds '.' or 'e' where it
 * wants ',' or '}', and gives up. */
static int qs_int(quote_scan_t *s, int64_t *v)
{
    qs_space(s);
    int neg = s->p < s->end && *s->p == '-';
    s->p += neg;
    if (s->p >= s->end || *s->p < '0' || *s->p > '9')
        return 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, m = 0;
    if (*s->p == '0') {
        s->p++;
        if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            return 0;                           /* leading zero: invalid JSON */
    }
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        unsigned d = (unsigned)(*s->p++ - '0');
        if (m > (limit - d) / 10)
            return 0;
        m = m * 10 + d;
    }
    *v = !neg ? (int64_t)m : m > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)m;
    return 1;
}

/* null, which member() reads as absent. */
static int qs_null(quote_scan_t *s)
{
    qs_space(s);
    if (s->end - s->p >= 4 && !memcmp(s->p, "null", 4)) {
        s->p += 4;
        return 1;
    }
    return 0;
}

static int qs_key(const char *k, size_t n, const char *want)
{
    return n == strlen(want) && !memcmp(k, want, n);
}

/* "lines": 1..B2B_QUOTE_MAX_LINES objects of exactly sku and qty. Writes only lines[i] for
 * elements the body has, so when jansson takes over and succeeds, lines past its nlines are
 * still as they were. */
static int qs_lines(quote_scan_t *s, b2b_quote_request_t *out)
{
    size_t n = 0;
    if (!qs_eat(s, '['))
        return 0;
    do {
        if (n == B2B_QUOTE_MAX_LINES || !qs_eat(s, '{'))
            return 0;
        b2b_quote_line_t *line = &out->lines[n];
        int have_sku = 0, have_qty = 0;
        do {
            const char *k;
            size_t kn;
            int64_t qty;
            if (!qs_string(s, &k, &kn) || !qs_eat(s, ':'))
                return 0;
            if (!have_sku && qs_key(k, kn, "sku")) {
                if (!qs_string_to(s, line->sku) || !sku_ok(line->sku))
                    return 0;
                have_sku = 1;
            } else if (!have_qty && qs_key(k, kn, "qty")) {
                if (!qs_int(s, &qty) || qty < 1 || qty > B2B_MAX_QTY)
                    return 0;
                line->qty = qty;
                have_qty = 1;
            } else {
                return 0;                       /* unknown, repeated or extra member */
            }
        } while (qs_eat(s, ','));
        if (!qs_eat(s, '}') || !have_sku || !have_qty)
            return 0;
        n++;
    } while (qs_eat(s, ','));
    if (!qs_eat(s, ']'))
        return 0;
    out->nlines = n;
    return 1;
}

int b2b_quote_request_parse_fast(const char *body, size_t len, b2b_quote_request_t *out)
{
    enum { SEEN_LINES = 1, SEEN_PROMO = 2, SEEN_CURRENCY = 4, SEEN_AS_OF = 8 };
    quote_scan_t s = { body, body + len };
    unsigned seen = 0;
    char text[B2B_CODE_MAX + 1];
    if (!body)
        return 0;
    memset(out, 0, offsetof(b2b_quote_request_t, lines));
    if (!qs_eat(&s, '{'))
        return 0;
    do {
        const char *k;
        size_t kn;
        if (!qs_string(&s, &k, &kn) || !qs_eat(&s, ':'))
            return 0;
        if (!(seen & SEEN_LINES) && qs_key(k, kn, "lines")) {
            seen |= SEEN_LINES;
            if (!qs_lines(&s, out))
                return 0;
        } else if (!(seen & SEEN_PROMO) && qs_key(k, kn, "promo_code")) {
            seen |= SEEN_PROMO;
            if (!qs_null(&s)) {
                if (!qs_string_to(&s, out->promo_code) || !code_ok(out->promo_code))
                    return 0;
                out->has_promo_code = 1;
            }
        } else if (!(seen & SEEN_CURRENCY) && qs_key(k, kn, "currency")) {
            seen |= SEEN_CURRENCY;
            if (!qs_null(&s)) {
                if (!qs_string_to(&s, text) || !upper_n(text, 3))
                    return 0;
                memcpy(out->currency, text, 4);
                out->has_currency = 1;
            }
        } else if (!(seen & SEEN_AS_OF) && qs_key(k, kn, "as_of")) {
            seen |= SEEN_AS_OF;
            if (!qs_null(&s)) {
                if (s.p < s.end && *s.p == '"') {
                    if (!qs_string_to(&s, text) ||
                        b2b_time_parse(text, strlen(text), B2B_TIME_FLOOR, &out->as_of) != B2B_OK)
                        return 0;
                } else if (!qs_int(&s, &out->as_of)) {
                    return 0;
                }
                out->has_as_of = 1;
            }
        } else {
            return 0;                           /* unknown or repeated member */
        }
    } while (qs_eat(&s, ','));
    if (!qs_eat(&s, '}') || !(seen & SEEN_LINES))
        return 0;
    qs_space(&s);
    return s.p == s.end;                        /* nothing after the object */
}

b2b_status_t b2b_quote_request_parse(const char *body, size_t len, b2b_quote_request_t *out,
                                     b2b_json_error_t *err)
{
    if (b2b_quote_request_parse_fast(body, len, out))
        return B2B_OK;
    return b2b_quote_request_parse_jansson(body, len, out, err);
}

b2b_status_t b2b_quote_request_parse_jansson(const char *body, size_t len,
                                             b2b_quote_request_t *out, b2b_json_error_t *err)
{
    /* Not lines[]: 40 KB to clear for the one or two lines a quote usually has. */
    memset(out, 0, offsetof(b2b_quote_request_t, lines));
    json_t *root = load(body, len, err);
    if (!root)
        return B2B_ERR_BAD_VALUE;
    b2b_status_t st = B2B_OK;
    char path[64];
    json_t *lines = member(root, "lines");
    if (!lines) {
        st = jfail(err, 422, "missing_field", "lines", "lines is required");
        goto out;
    }
    if (!json_is_array(lines)) {
        st = jfail(err, 422, "invalid_field", "lines", "lines must be an array");
        goto out;
    }
    size_t n = json_array_size(lines);
    if (n == 0 || n > B2B_QUOTE_MAX_LINES) {
        st = jfail(err, 422, "invalid_field", "lines", "lines must have 1 to %d entries",
                   B2B_QUOTE_MAX_LINES);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *line = json_array_get(lines, i);
        snprintf(path, sizeof path, "lines[%zu]", i);
        if (!json_is_object(line)) {
            st = jfail(err, 422, "invalid_field", path, "each line must be an object");
            goto out;
        }
        json_t *sku = member(line, "sku"), *qty = member(line, "qty");
        snprintf(path, sizeof path, "lines[%zu].sku", i);
        if (!sku) {
            st = jfail(err, 422, "missing_field", path, "sku is required");
            goto out;
        }
        if (!json_is_string(sku) || !sku_ok(json_string_value(sku))) {
            st = jfail(err, 422, "invalid_field", path,
                       "sku must be a string matching ^[A-Z0-9][A-Z0-9._-]{0,63}$");
            goto out;
        }
        snprintf(path, sizeof path, "lines[%zu].qty", i);
        if (!qty) {
            st = jfail(err, 422, "missing_field", path, "qty is required");
            goto out;
        }
        if (!json_is_integer(qty) || json_integer_value(qty) < 1 ||
            json_integer_value(qty) > B2B_MAX_QTY) {
            st = jfail(err, 422, "invalid_field", path, "qty must be an integer 1..%d",
                       B2B_MAX_QTY);
            goto out;
        }
        snprintf(out->lines[i].sku, sizeof out->lines[i].sku, "%s", json_string_value(sku));
        out->lines[i].qty = (int64_t)json_integer_value(qty);
    }
    out->nlines = n;
    json_t *promo = member(root, "promo_code");
    if (promo) {
        if (!json_is_string(promo) || !code_ok(json_string_value(promo))) {
            st = jfail(err, 422, "invalid_field", "promo_code",
                       "promo_code must be 1..64 characters of A-Z a-z 0-9 . _ -");
            goto out;
        }
        out->has_promo_code = 1;
        snprintf(out->promo_code, sizeof out->promo_code, "%s", json_string_value(promo));
    }
    json_t *cur = member(root, "currency");
    if (cur) {
        if (!json_is_string(cur) || !upper_n(json_string_value(cur), 3)) {
            st = jfail(err, 422, "invalid_field", "currency",
                       "currency must be a 3-letter code such as \"USD\"");
            goto out;
        }
        out->has_currency = 1;
        memcpy(out->currency, json_string_value(cur), 4);
    }
    json_t *asof = member(root, "as_of");
    if (asof) {
        if (json_is_integer(asof)) {
            out->as_of = (int64_t)json_integer_value(asof);
        } else if (!json_is_string(asof) ||
                   b2b_time_parse(json_string_value(asof), strlen(json_string_value(asof)),
                                  B2B_TIME_FLOOR, &out->as_of) != B2B_OK) {
            st = jfail(err, 422, "invalid_field", "as_of",
                       "as_of must be an ISO 8601 timestamp or unix seconds");
            goto out;
        }
        out->has_as_of = 1;
    }
out:
    json_decref(root);
    return st;
}

void b2b_quote_line_error(b2b_status_t status, size_t line, b2b_json_error_t *err)
{
    char path[48];
    switch (status) {
    case B2B_ERR_UNKNOWN_SKU:
        snprintf(path, sizeof path, "lines[%zu].sku", line);
        jfail(err, 422, "unknown_sku", path, "no product with this sku");
        break;
    case B2B_ERR_BAD_QUANTITY:
        snprintf(path, sizeof path, "lines[%zu].qty", line);
        jfail(err, 422, "bad_quantity", path, "qty must be 1..%d", B2B_MAX_QTY);
        break;
    case B2B_ERR_UNKNOWN_CURRENCY:
        jfail(err, 422, "unknown_currency", "currency", "unknown currency");
        break;
    case B2B_ERR_NO_PRICE:
        snprintf(path, sizeof path, "lines[%zu].sku", line);
        jfail(err, 422, "no_price", path, "this product has no price in this currency");
        break;
    case B2B_ERR_NO_FX_RATE:
        jfail(err, 422, "no_fx_rate", "currency", "no exchange rate into this currency");
        break;
    case B2B_ERR_OVERFLOW:
        snprintf(path, sizeof path, "lines[%zu].qty", line);
        jfail(err, 422, "overflow", path, "the amount is too large");
        break;
    case B2B_ERR_UNKNOWN_ACCOUNT:
        jfail(err, 404, "unknown_account", "", "the acting account has no prices yet");
        break;
    default:
        jfail(err, 500, b2b_status_name(status), "", "pricing failed: %s",
              b2b_status_name(status));
        break;
    }
}

static json_t *money(int64_t minor, int digits, const char *currency)
{
    char buf[40];
    b2b_money_format(minor, digits, buf, sizeof buf);
    return json_pack("{s:s, s:s}", "amount", buf, "currency", currency);
}

static char *dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return s;
}

/* ---- quote answer ----
 * Written straight into one growing buffer: building jansson objects and dumping them took
 * ~9 us for a one-line quote, most of the endpoint's time. The text is byte for byte what
 * json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) gave (test_pricing_json checks it). */

typedef struct {
    char *s;
    size_t len, cap;
    int failed;             /* out of memory: later writes are dropped and the render fails */
} jw_t;

/* Room for n more bytes plus the final NUL, or NULL. */
static char *jw_room(jw_t *w, size_t n)
{
    if (w->failed)
        return NULL;
    if (w->cap - w->len <= n) {
        if (n > SIZE_MAX / 4 - w->len) {    /* so that doubling below ends */
            w->failed = 1;
            return NULL;
        }
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len <= n)
            cap *= 2;
        char *s = realloc(w->s, cap);
        if (!s) {
            w->failed = 1;
            return NULL;
        }
        w->s = s;
        w->cap = cap;
    }
    return w->s + w->len;
}

static void jw_raw(jw_t *w, const char *s, size_t n)
{
    char *p = jw_room(w, n);
    if (p) {
        memcpy(p, s, n);
        w->len += n;
    }
}

#define JW_LIT(w, lit) jw_raw((w), "" lit, sizeof(lit) - 1)

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0: no overlong forms,
 * surrogates or code points past U+10FFFF (what jansson accepts). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] < 0xC2 || s[0] > 0xF4)
        return 0;
    size_t k = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
    if (k > n)
        return 0;
    uint32_t cp = s[0] & (0x3F >> (k - 1));         /* the lead byte's payload bits */
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

/* A quoted string, escaped as jansson does (", \ and control characters; "/" and UTF-8 as
 * they are). Bytes that are not UTF-8 become U+FFFD: the answer stays valid JSON whatever a
 * caller put in a code. */
static void jw_string(jw_t *w, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    char *p = jw_room(w, 6 * n + 2);       /* each byte at worst \u00XX or \ufffd */
    if (!p)
        return;
    *p++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t k = utf8_len(s + i, n - i);
            if (k) {
                memcpy(p, s + i, k);
                p += k;
                i += k;
            } else {
                memcpy(p, "\\ufffd", 6);
                p += 6;
                i++;
            }
            continue;
        }
        i++;
        if (c >= 0x20 && c != '"' && c != '\\') {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '"': case '\\': *p++ = (char)c; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
            memcpy(p, "u00", 3);
            p[3] = hex[c >> 4];
            p[4] = hex[c & 15];
            p += 5;
        }
    }
    *p++ = '"';
    w->len = (size_t)(p - w->s);
}

/* Integers (digits 0), money and percents: b2b_money_format never needs more than 32. A
 * currency with impossible digits gives "" rather than a broken answer. */
static void jw_decimal(jw_t *w, int64_t v, int digits)
{
    char *p = jw_room(w, 32);
    if (p)
        w->len += b2b_money_format(v, digits, p, 32);
}

/* {"amount":"17.25","currency":"USD"}; currency is a char[4] (never read past it). */
static void jw_money(jw_t *w, int64_t minor, int digits, const char *currency)
{
    JW_LIT(w, "{\"amount\":\"");
    jw_decimal(w, minor, digits);
    JW_LIT(w, "\",\"currency\":");
    jw_string(w, currency, strnlen(currency, 4));
    JW_LIT(w, "}");
}

char *b2b_quote_render(const b2b_quote_request_t *req, const b2b_quote_t *quotes,
                       uint64_t generation, int explain, b2b_json_error_t *err)
{
    int64_t net = 0, tax = 0, gross = 0;
    for (size_t i = 0; i < req->nlines; i++) {
        const b2b_quote_t *q = &quotes[i];
        if (b2b_money_add(net, q->net_minor, &net) || b2b_money_add(tax, q->tax_minor, &tax) ||
            b2b_money_add(gross, q->gross_minor, &gross)) {
            jfail(err, 422, "overflow", "lines", "the quote total is too large");
            return NULL;
        }
    }
    const char *cur = req->nlines ? quotes[0].currency : "";
    int digits = req->nlines ? quotes[0].minor_digits : 0;
    /* Enough for a usual answer in one malloc; jw_room grows it past that. */
    jw_t w = { NULL, 0, 0, 0 };
    jw_room(&w, 256 + req->nlines * (explain ? 1024 : 320));

    JW_LIT(&w, "{\"lines\":[");
    for (size_t i = 0; i < req->nlines; i++) {
        const b2b_quote_t *q = &quotes[i];
        const b2b_quote_line_t *line = &req->lines[i];
        if (i)
            JW_LIT(&w, ",");
        JW_LIT(&w, "{\"sku\":");
        jw_string(&w, line->sku, strnlen(line->sku, sizeof line->sku));
        JW_LIT(&w, ",\"qty\":");
        jw_decimal(&w, line->qty, 0);
        JW_LIT(&w, ",\"unit_price\":");
        jw_money(&w, q->unit_minor, q->minor_digits, q->currency);
        JW_LIT(&w, ",\"net\":");
        jw_money(&w, q->net_minor, q->minor_digits, q->currency);
        JW_LIT(&w, ",\"tax\":");
        jw_money(&w, q->tax_minor, q->minor_digits, q->currency);
        JW_LIT(&w, ",\"gross\":");
        jw_money(&w, q->gross_minor, q->minor_digits, q->currency);
        if (q->tax_rate_bp || explain) {
            JW_LIT(&w, ",\"tax_rate_percent\":\"");
            jw_decimal(&w, q->tax_rate_bp, 2);      /* as b2b_percent_format */
            JW_LIT(&w, "\"");
        }
        if (q->promo != B2B_PROMO_NONE) {
            const char *promo = b2b_promo_status_name(q->promo);
            JW_LIT(&w, ",\"promo\":");
            jw_string(&w, promo, strlen(promo));
        }
        if (explain) {
            /* a step_count past the array must not make us read past it */
            unsigned steps = q->step_count < B2B_MAX_STEPS ? q->step_count : B2B_MAX_STEPS;
            JW_LIT(&w, ",\"rules\":[");
            for (unsigned k = 0; k < steps; k++) {
                const b2b_step_t *s = &q->steps[k];
                const char *layer = b2b_layer_name(s->layer);
                if (k)
                    JW_LIT(&w, ",");
                JW_LIT(&w, "{\"layer\":");
                jw_string(&w, layer, strlen(layer));
                JW_LIT(&w, ",\"rule_id\":");
                jw_decimal(&w, s->rule_id, 0);
                JW_LIT(&w, ",\"amount\":");
                jw_money(&w, s->amount_minor, s->minor_digits, s->currency);
                JW_LIT(&w, "}");
            }
            JW_LIT(&w, "]");
        }
        JW_LIT(&w, "}");
    }
    JW_LIT(&w, "],\"totals\":{\"net\":");
    jw_money(&w, net, digits, cur);
    JW_LIT(&w, ",\"tax\":");
    jw_money(&w, tax, digits, cur);
    JW_LIT(&w, ",\"gross\":");
    jw_money(&w, gross, digits, cur);
    JW_LIT(&w, "},\"currency\":");
    jw_string(&w, cur, strnlen(cur, 4));
    /* A JSON integer is an int64 here, as it was with jansson's json_int_t. */
    JW_LIT(&w, ",\"pricing_generation\":");
    jw_decimal(&w, (int64_t)generation, 0);
    JW_LIT(&w, "}");
    if (w.failed) {
        free(w.s);
        jfail(err, 500, "no_memory", "", "out of memory");
        return NULL;
    }
    w.s[w.len] = '\0';
    return w.s;
}

char *b2b_json_error_render(const b2b_json_error_t *err)
{
    json_t *e = json_pack("{s:s, s:s}", "code", err->code, "message", err->message);
    if (e && err->path[0])
        json_object_set_new(e, "field", json_string(err->path));
    return dump(json_pack("{s:o}", "error", e));
}

/* ---- admin price rule ---- */

static const char *json_field_of(const char *column)
{
    static const char *const map[][2] = {
        { "account_id", "account" }, { "product_id", "sku" },
        { "product_group_id", "product_group" }, { "price_list_id", "tier" },
        { "price_minor", "price" }, { "discount_bp", "discount_percent" },
        { "amount_off_minor", "amount_off" }, { "rate_bp", "rate_percent" },
        { "fx_rate_micro", "fx_rate" }, { "currency", "price.currency" },
    };
    if (!column)
        return "";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i][0], column))
            return map[i][1];
    return column;
}

static b2b_status_t get_string(json_t *root, const char *key, int (*ok)(const char *),
                               char *dst, size_t cap, const char *what, b2b_json_error_t *err)
{
    json_t *v = member(root, key);
    if (!v)
        return B2B_OK;
    if (!json_is_string(v) || !ok(json_string_value(v)) || strlen(json_string_value(v)) >= cap)
        return jfail(err, 422, "invalid_field", key, "%s must be %s", key, what);
    memcpy(dst, json_string_value(v), strlen(json_string_value(v)) + 1);
    return B2B_OK;
}

static int country_ok(const char *s)
{
    return upper_n(s, 2);
}

static int currency_ok(const char *s)
{
    return upper_n(s, 3);
}

/* {"amount": "17.25", "currency": "USD"} */
static b2b_status_t get_money(json_t *root, const char *key, b2b_currency_digits_fn digits,
                              void *ctx, int64_t *minor, char currency[4], int *present,
                              b2b_json_error_t *err)
{
    char path[48];
    json_t *v = member(root, key);
    *present = 0;
    if (!v)
        return B2B_OK;
    if (!json_is_object(v))
        return jfail(err, 422, "invalid_field", key,
                     "%s must be a money object {\"amount\": \"12.50\", \"currency\": \"USD\"}",
                     key);
    json_t *cur = member(v, "currency"), *amount = member(v, "amount");
    snprintf(path, sizeof path, "%s.currency", key);
    if (!cur || !json_is_string(cur) || !upper_n(json_string_value(cur), 3))
        return jfail(err, 422, "invalid_field", path, "currency must be a 3-letter code");
    int d = digits ? digits(json_string_value(cur), ctx) : 2;
    if (d < 0 || d > B2B_MAX_MINOR_DIGITS)
        return jfail(err, 422, "unknown_currency", path, "unknown currency %s",
                     json_string_value(cur));
    snprintf(path, sizeof path, "%s.amount", key);
    if (!amount || !json_is_string(amount))
        return jfail(err, 422, "invalid_field", path, "amount must be a decimal string");
    const char *a = json_string_value(amount);
    b2b_status_t st = b2b_money_parse(a, strlen(a), d, minor);
    if (st != B2B_OK || *minor < 0)
        return jfail(err, 422, "invalid_field", path,
                     "amount must be a non-negative decimal with at most %d fraction digits", d);
    memcpy(currency, json_string_value(cur), 4);
    *present = 1;
    return B2B_OK;
}

static b2b_status_t get_percent(json_t *root, const char *key, int32_t *bp, int *present,
                                b2b_json_error_t *err)
{
    json_t *v = member(root, key);
    *present = 0;
    if (!v)
        return B2B_OK;
    if (!json_is_string(v) ||
        b2b_percent_parse(json_string_value(v), strlen(json_string_value(v)), bp) != B2B_OK)
        return jfail(err, 422, "invalid_field", key,
                     "%s must be a decimal string 0.00..100.00", key);
    *present = 1;
    return B2B_OK;
}

static b2b_status_t get_time(json_t *root, const char *key, int64_t *t, b2b_json_error_t *err)
{
    json_t *v = member(root, key);
    if (!v)
        return B2B_OK;
    if (!json_is_string(v) ||
        b2b_time_parse(json_string_value(v), strlen(json_string_value(v)), B2B_TIME_CEIL, t) !=
            B2B_OK)
        return jfail(err, 422, "invalid_field", key, "%s must be an ISO 8601 timestamp", key);
    return B2B_OK;
}

b2b_status_t b2b_rule_spec_parse(const char *body, size_t len, b2b_currency_digits_fn digits,
                                 void *ctx, b2b_rule_spec_t *out, b2b_json_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->valid_from = B2B_TIME_MIN;
    out->valid_to = B2B_TIME_MAX;
    json_t *root = load(body, len, err);
    if (!root)
        return B2B_ERR_BAD_VALUE;
    b2b_status_t st = B2B_OK;
    int present;
    json_t *v;
    if ((v = member(root, "id"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            st = jfail(err, 422, "invalid_field", "id", "id must be a positive integer");
            goto out;
        }
        out->id = (int64_t)json_integer_value(v);
    }
    v = member(root, "kind");
    int kind = v && json_is_string(v) ? b2b_kind_parse(json_string_value(v),
                                                       strlen(json_string_value(v)))
                                      : -1;
    if (kind < 0) {
        st = jfail(err, 422, v ? "invalid_field" : "missing_field", "kind",
                   "kind must be one of list, tier, bracket, contract, promo, tax, fx");
        goto out;
    }
    out->kind = (b2b_kind_t)kind;
    if ((st = get_string(root, "account", account_ok, out->account, sizeof out->account,
                         "an account code", err)) ||
        (st = get_string(root, "sku", sku_ok, out->sku, sizeof out->sku, "a sku", err)) ||
        (st = get_string(root, "product_group", group_ok, out->product_group,
                         sizeof out->product_group, "a product group code", err)) ||
        (st = get_string(root, "tier", account_ok, out->tier, sizeof out->tier,
                         "a price list code (^[A-Z0-9][A-Z0-9-]{0,31}$)", err)) ||
        (st = get_string(root, "promo_code", promo_ok, out->promo_code, sizeof out->promo_code,
                         "a code matching ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$", err)) ||
        (st = get_string(root, "country", country_ok, out->country, sizeof out->country,
                         "a 2-letter country code", err)) ||
        (st = get_string(root, "region", region_ok, out->region, sizeof out->region,
                         "a non-blank region", err)) ||
        (st = get_string(root, "tax_class", tax_class_ok, out->tax_class, sizeof out->tax_class,
                         "a tax class matching ^[a-z][a-z0-9_]{0,31}$", err)) ||
        (st = get_string(root, "to_currency", currency_ok, out->to_currency,
                         sizeof out->to_currency, "a 3-letter currency code", err)))
        goto out;
    if ((st = get_money(root, "price", digits, ctx, &out->price_minor, out->currency, &present,
                        err)))
        goto out;
    if (present)
        out->has |= B2B_RULE_HAS_PRICE;
    char off_currency[4] = "";
    if ((st = get_money(root, "amount_off", digits, ctx, &out->amount_off_minor, off_currency,
                        &present, err)))
        goto out;
    if (present) {
        if ((out->has & B2B_RULE_HAS_PRICE) && strcmp(off_currency, out->currency)) {
            st = jfail(err, 422, "invalid_field", "amount_off.currency",
                       "price and amount_off must use the same currency");
            goto out;
        }
        memcpy(out->currency, off_currency, 4);
        out->has |= B2B_RULE_HAS_AMOUNT_OFF;
    }
    if ((st = get_percent(root, "discount_percent", &out->discount_bp, &present, err)))
        goto out;
    if (present)
        out->has |= B2B_RULE_HAS_DISCOUNT;
    if ((st = get_percent(root, "rate_percent", &out->rate_bp, &present, err)))
        goto out;
    if (present)
        out->has |= B2B_RULE_HAS_RATE;
    if ((v = member(root, "min_qty"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > B2B_MAX_QTY) {
            st = jfail(err, 422, "invalid_field", "min_qty", "min_qty must be an integer 1..%d",
                       B2B_MAX_QTY);
            goto out;
        }
        out->min_qty = (int32_t)json_integer_value(v);
        out->has |= B2B_RULE_HAS_MIN_QTY;
    }
    if ((v = member(root, "stackable"))) {
        if (!json_is_boolean(v)) {
            st = jfail(err, 422, "invalid_field", "stackable", "stackable must be true or false");
            goto out;
        }
        out->stackable = json_is_true(v);
    }
    if ((v = member(root, "fx_rate"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (!s || b2b_decimal_parse(s, strlen(s), 6, &out->fx_rate_micro) != B2B_OK ||
            out->fx_rate_micro <= 0) {
            st = jfail(err, 422, "invalid_field", "fx_rate",
                       "fx_rate must be a positive decimal string with at most 6 fraction digits");
            goto out;
        }
        out->has |= B2B_RULE_HAS_FX_RATE;
    }
    if (out->kind == B2B_KIND_FX) {
        json_t *from = member(root, "currency");
        if (!from || !json_is_string(from) || !upper_n(json_string_value(from), 3)) {
            st = jfail(err, 422, "invalid_field", "currency",
                       "an fx rule needs currency (from) and to_currency");
            goto out;
        }
        memcpy(out->currency, json_string_value(from), 4);
        if (digits && digits(out->currency, ctx) < 0) {
            st = jfail(err, 422, "unknown_currency", "currency", "unknown currency");
            goto out;
        }
        if (out->to_currency[0] && digits && digits(out->to_currency, ctx) < 0) {
            st = jfail(err, 422, "unknown_currency", "to_currency", "unknown currency");
            goto out;
        }
    }
    if ((st = get_time(root, "valid_from", &out->valid_from, err)) ||
        (st = get_time(root, "valid_to", &out->valid_to, err)))
        goto out;
    if (out->valid_from != B2B_TIME_MIN && out->valid_to != B2B_TIME_MAX &&
        out->valid_from >= out->valid_to) {
        st = jfail(err, 422, "invalid_field", "valid_to", "valid_to must be after valid_from");
        goto out;
    }
    /* Per-kind shape: the engine's validation with placeholder ids for the codes. */
    {
        b2b_rule_t r;
        b2b_input_error_t ie;
        memset(&ie, 0, sizeof ie);
        b2b_rule_init(&r);
        r.id = out->id ? out->id : 1;
        r.kind = out->kind;
        r.account_id = out->account[0] ? 1 : 0;
        r.product_id = out->sku[0] ? 1 : 0;
        r.product_group_id = out->product_group[0] ? 1 : 0;
        r.price_list_id = out->tier[0] ? 1 : 0;
        r.currency = out->currency[0] ? out->currency : NULL;
        r.has = out->has;
        r.price_minor = out->price_minor;
        r.discount_bp = out->discount_bp;
        r.amount_off_minor = out->amount_off_minor;
        r.min_qty = out->min_qty;
        r.promo_code = out->promo_code;
        r.stackable = out->stackable;
        r.country = out->country;
        r.region = out->region;
        r.tax_class = out->tax_class;
        r.rate_bp = out->rate_bp;
        r.to_currency = out->to_currency[0] ? out->to_currency : NULL;
        r.fx_rate_micro = out->fx_rate_micro;
        if (b2b_rule_validate(&r, &ie) != B2B_OK) {
            st = jfail(err, 422, "invalid_rule", json_field_of(ie.column), "%s", ie.message);
            goto out;
        }
    }
out:
    json_decref(root);
    return st;
}

char *b2b_rule_spec_render(const b2b_rule_spec_t *r, b2b_currency_digits_fn digits, void *ctx)
{
    json_t *o = json_object();
    char buf[48];
    if (r->id)
        json_object_set_new(o, "id", json_integer((json_int_t)r->id));
    json_object_set_new(o, "kind", json_string(b2b_kind_name(r->kind)));
    const struct { const char *key; const char *value; } strs[] = {
        { "account", r->account }, { "sku", r->sku }, { "product_group", r->product_group },
        { "tier", r->tier }, { "promo_code", r->promo_code }, { "country", r->country },
        { "region", r->region }, { "tax_class", r->tax_class }, { "to_currency", r->to_currency },
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strs[i].value[0])
            json_object_set_new(o, strs[i].key, json_string(strs[i].value));
    int d = r->currency[0] && digits ? digits(r->currency, ctx) : 2;
    if (d < 0)
        d = 2;
    if (r->kind == B2B_KIND_FX && r->currency[0])
        json_object_set_new(o, "currency", json_string(r->currency));
    if (r->has & B2B_RULE_HAS_PRICE)
        json_object_set_new(o, "price", money(r->price_minor, d, r->currency));
    if (r->has & B2B_RULE_HAS_AMOUNT_OFF)
        json_object_set_new(o, "amount_off", money(r->amount_off_minor, d, r->currency));
    if (r->has & B2B_RULE_HAS_DISCOUNT) {
        b2b_percent_format(r->discount_bp, buf, sizeof buf);
        json_object_set_new(o, "discount_percent", json_string(buf));
    }
    if (r->has & B2B_RULE_HAS_RATE) {
        b2b_percent_format(r->rate_bp, buf, sizeof buf);
        json_object_set_new(o, "rate_percent", json_string(buf));
    }
    if (r->has & B2B_RULE_HAS_FX_RATE) {
        b2b_money_format(r->fx_rate_micro, 6, buf, sizeof buf);
        json_object_set_new(o, "fx_rate", json_string(buf));
    }
    if (r->has & B2B_RULE_HAS_MIN_QTY)
        json_object_set_new(o, "min_qty", json_integer(r->min_qty));
    if (r->kind == B2B_KIND_PROMO)
        json_object_set_new(o, "stackable", json_boolean(r->stackable));
    if (r->valid_from != B2B_TIME_MIN && b2b_time_format(r->valid_from, buf, sizeof buf))
        json_object_set_new(o, "valid_from", json_string(buf));
    if (r->valid_to != B2B_TIME_MAX && b2b_time_format(r->valid_to, buf, sizeof buf))
        json_object_set_new(o, "valid_to", json_string(buf));
    return dump(o);
}
