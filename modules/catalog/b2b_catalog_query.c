/*
 * b2b_catalog_query.c: the pure part of the catalog: query strings in,
 * text-search queries, cache ids and records, ETags out. No httpd, no APR,
 * no allocation: every function works in buffers its caller owns.
 */
#include "b2b_catalog_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sort_names[B2B_CQ_SORT_COUNT] = {
    "relevance", "name", "-name", "sku", "-sku", "newest"
};

const char *b2b_cq_sort_name(b2b_cq_sort_t sort)
{
    return (unsigned)sort < B2B_CQ_SORT_COUNT ? sort_names[sort] : "name";
}

static int is_space_or_ctl(unsigned char c)
{
    return c <= 0x20 || c == 0x7f;
}

static int is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long b2b_cq_url_decode(const char *in, size_t len, char *out)
{
    size_t i, o = 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '+') {
            out[o++] = ' ';
        }
        else if (c == '%') {
            int hi, lo;
            if (i + 2 >= len) {
                return -1;
            }
            hi = hexval((unsigned char)in[i + 1]);
            lo = hexval((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            if (hi == 0 && lo == 0) {
                return -2;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        }
        else if (c == 0) {
            return -2;
        }
        else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return (long)o;
}

int b2b_cq_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        uint32_t cp;
        int more;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) { more = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { more = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { more = 3; cp = c & 0x07; }
        else return 0;
        if (i + (size_t)more >= n) {
            return 0;
        }
        for (int k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000)
            || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
            return 0;
        }
        i += (size_t)more + 1;
    }
    return 1;
}

size_t b2b_cq_normalize_space(char *s)
{
    size_t r = 0, w = 0;
    int pending = 0;
    for (; s[r]; r++) {
        if (is_space_or_ctl((unsigned char)s[r])) {
            pending = w > 0;
            continue;
        }
        if (pending) {
            s[w++] = ' ';
            pending = 0;
        }
        s[w++] = s[r];
    }
    s[w] = '\0';
    return w;
}

/* Characters a search word keeps: letters, digits, any non-ASCII byte (the
 * text is valid UTF-8 by now) and . _ / -. Quotes, backslashes, colons and
 * the tsquery operators never get through. */
static int word_char(unsigned char c)
{
    return is_alnum(c) || c >= 0x80 || c == '.' || c == '_' || c == '/' || c == '-';
}

static int append(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
    if (*n + len + 1 > cap) {
        return -1;
    }
    memcpy(out + *n, s, len);
    *n += len;
    out[*n] = '\0';
    return 0;
}

size_t b2b_cq_build_tsquery(const char *q, char *out, size_t cap)
{
    size_t n = 0;
    int words = 0;
    const char *p = q;

    if (cap == 0) {
        return 0;
    }
    out[0] = '\0';
    while (*p && words < B2B_CQ_WORDS_MAX) {
        char word[B2B_CQ_Q_MAX + 1], compact[B2B_CQ_Q_MAX + 1];
        size_t wl = 0, cl = 0;
        while (*p == ' ') {
            p++;
        }
        for (; *p && *p != ' '; p++) {
            unsigned char c = (unsigned char)*p;
            if (!word_char(c) || wl >= B2B_CQ_Q_MAX) {
                continue;
            }
            if (c >= 'A' && c <= 'Z') {
                c = (unsigned char)(c - 'A' + 'a');
            }
            word[wl++] = (char)c;
            if (is_alnum(c) || c >= 0x80) {
                compact[cl++] = (char)c;
            }
        }
        if (cl == 0) {
            continue;        /* only punctuation: nothing to search for */
        }
        {
            size_t save = n;
            int bad = 0;
            if (words > 0) bad |= append(out, cap, &n, " & ", 3);
            bad |= append(out, cap, &n, "('", 2);
            bad |= append(out, cap, &n, word, wl);
            bad |= append(out, cap, &n, "':*", 3);
            if (cl != wl || memcmp(word, compact, cl)) {
                bad |= append(out, cap, &n, " | '", 4);
                bad |= append(out, cap, &n, compact, cl);
                bad |= append(out, cap, &n, "':*", 3);
            }
            bad |= append(out, cap, &n, ")", 1);
            if (bad) {
                n = save;
                out[n] = '\0';
                break;
            }
        }
        words++;
    }
    return n;
}

int b2b_cq_sku_normalize(char *sku)
{
    size_t i;
    if (!sku[0]) {
        return 0;
    }
    for (i = 0; sku[i]; i++) {
        unsigned char c = (unsigned char)sku[i];
        if (c >= 'a' && c <= 'z') {
            sku[i] = (char)(c - 'a' + 'A');
            c = (unsigned char)sku[i];
        }
        if (i >= B2B_CQ_CODE_MAX) {
            return 0;
        }
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
              || (i > 0 && (c == '.' || c == '_' || c == '-')))) {
            return 0;
        }
    }
    return 1;
}

int b2b_cq_category_code_valid(const char *code)
{
    size_t i;
    if (!code[0]) {
        return 0;
    }
    for (i = 0; code[i]; i++) {
        unsigned char c = (unsigned char)code[i];
        if (i >= B2B_CQ_CODE_MAX) {
            return 0;
        }
        if (!(is_alnum(c) || (i > 0 && (c == '.' || c == '_' || c == '-')))) {
            return 0;
        }
    }
    return 1;
}

/* ---- parameters ----------------------------------------------------------------- */

static int fail(b2b_cq_error_t *err, int status, const char *code, const char *msg)
{
    err->status = status;
    err->code = code;
    snprintf(err->message, sizeof(err->message), "%s", msg);
    return -1;
}

/* A whole number 1..max (no sign, no blanks, at most 9 digits). */
static long parse_count(const char *s, long max)
{
    long v = 0;
    size_t i;
    if (!s[0] || strlen(s) > 9) {
        return -1;
    }
    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= max ? v : -1;
}

int b2b_cq_parse_list(const char *args, b2b_cq_params_t *p, b2b_cq_error_t *err)
{
    const char *s = args ? args : "";
    int sort_given = 0;

    memset(p, 0, sizeof(*p));
    p->page = 1;
    p->per_page = B2B_CQ_PER_PAGE_DEF;
    p->category_valid = 1;

    while (*s) {
        const char *amp = strchr(s, '&');
        size_t len = amp ? (size_t)(amp - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        size_t nlen = eq ? (size_t)(eq - s) : len;
        const char *val = eq ? eq + 1 : s + len;
        size_t vlen = eq ? len - nlen - 1 : 0;
        char value[B2B_CQ_Q_MAX * 3 + 1];
        long dl;

#define NAME_IS(lit) (nlen == sizeof(lit) - 1 && !memcmp(s, lit, nlen))
        if (NAME_IS("q") || NAME_IS("category") || NAME_IS("page")
            || NAME_IS("per_page") || NAME_IS("sort")) {
            if (vlen > B2B_CQ_Q_MAX * 3) {
                if (NAME_IS("q")) {
                    return fail(err, 422, "invalid_parameter",
                                "q is too long (at most 200 bytes).");
                }
                return fail(err, 422, "invalid_parameter", "A parameter value is too long.");
            }
            dl = b2b_cq_url_decode(val, vlen, value);
            if (dl < 0) {
                return fail(err, 400, "bad_parameter",
                            dl == -2 ? "A parameter contains an encoded NUL byte."
                                     : "A parameter has a malformed %-escape.");
            }
            if (!b2b_cq_utf8_valid(value, (size_t)dl)) {
                return fail(err, 400, "bad_parameter", "A parameter is not valid UTF-8.");
            }
            if (NAME_IS("q")) {
                size_t ql = b2b_cq_normalize_space(value);
                if (ql > B2B_CQ_Q_MAX) {
                    return fail(err, 422, "invalid_parameter",
                                "q is too long (at most 200 bytes).");
                }
                memcpy(p->q, value, ql + 1);
                p->has_q = ql > 0;
            }
            else if (NAME_IS("category")) {
                size_t cl = b2b_cq_normalize_space(value);
                p->has_category = cl > 0;
                p->category_valid = cl > 0 && b2b_cq_category_code_valid(value);
                if (p->category_valid) {
                    memcpy(p->category, value, cl + 1);
                }
                else {
                    p->category[0] = '\0';
                }
            }
            else if (NAME_IS("page")) {
                p->page = parse_count(value, 1000000);
                if (p->page < 0) {
                    return fail(err, 422, "invalid_parameter",
                                "page must be a whole number from 1.");
                }
            }
            else if (NAME_IS("per_page")) {
                p->per_page = parse_count(value, 1000000);
                if (p->per_page < 0) {
                    return fail(err, 422, "invalid_parameter",
                                "per_page must be a whole number from 1 to 200.");
                }
                if (p->per_page > B2B_CQ_PER_PAGE_MAX) {
                    return fail(err, 422, "per_page_too_large",
                                "per_page is at most 200.");
                }
            }
            else {
                int k, found = -1;
                for (k = 0; k < B2B_CQ_SORT_COUNT; k++) {
                    if (!strcmp(value, sort_names[k])) {
                        found = k;
                    }
                }
                if (found < 0) {
                    return fail(err, 422, "invalid_parameter",
                                "sort must be one of relevance, name, -name, sku, "
                                "-sku, newest.");
                }
                p->sort = (b2b_cq_sort_t)found;
                sort_given = 1;
            }
        }
#undef NAME_IS
        s += len;
        if (*s == '&') {
            s++;
        }
    }
    if (p->page * p->per_page > B2B_CQ_WINDOW_MAX) {
        return fail(err, 422, "page_too_deep",
                    "Pages reach 100000 results at most; narrow the search.");
    }
    if (p->has_q) {
        b2b_cq_build_tsquery(p->q, p->tsquery, sizeof(p->tsquery));
    }
    if (!sort_given) {
        p->sort = p->has_q ? B2B_CQ_SORT_RELEVANCE : B2B_CQ_SORT_NAME;
    }
    else if (p->sort == B2B_CQ_SORT_RELEVANCE && !p->has_q) {
        p->sort = B2B_CQ_SORT_NAME;    /* nothing to rank by */
    }
    return 0;
}

/* ---- hashing, cache ids, ETags ------------------------------------------------------ */

uint64_t b2b_cq_hash_more(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i;
    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t b2b_cq_hash(const void *data, size_t len)
{
    return b2b_cq_hash_more(0xcbf29ce484222325ULL, data, len);
}

size_t b2b_cq_cache_id(const char *key, size_t keylen, unsigned char *out, size_t cap)
{
    uint64_t h = b2b_cq_hash(key, keylen);
    if (cap < keylen + 4) {
        return 0;
    }
    /* mix the high bits down: FNV's low byte alone spreads poorly */
    h ^= h >> 29;
    out[0] = (unsigned char)(h ^ (h >> 32));
    out[1] = (unsigned char)(h >> 8);
    out[2] = (unsigned char)(h >> 16);
    out[3] = (unsigned char)(h >> 24);
    memcpy(out + 4, key, keylen);
    return keylen + 4;
}

void b2b_cq_etag(const void *body, size_t len, char out[19])
{
    snprintf(out, 19, "\"%016llx\"", (unsigned long long)b2b_cq_hash(body, len));
}

int b2b_cq_if_none_match(const char *header, const char *etag)
{
    const char *p = header;
    size_t elen;
    const char *opaque;

    if (!header || !etag) {
        return 0;
    }
    /* weak comparison: W/ prefixes are ignored on both sides */
    opaque = !strncmp(etag, "W/", 2) ? etag + 2 : etag;
    elen = strlen(opaque);
    while (*p) {
        const char *start, *end;
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (!*p) {
            break;
        }
        if (*p == '*') {
            return 1;
        }
        if (!strncmp(p, "W/", 2)) {
            p += 2;
        }
        start = p;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                p++;
            }
            if (*p == '"') {
                p++;
            }
        }
        else {
            while (*p && *p != ',' && *p != ' ') {
                p++;
            }
        }
        end = p;
        if ((size_t)(end - start) == elen && !memcmp(start, opaque, elen)) {
            return 1;
        }
        while (*p && *p != ',') {
            p++;
        }
    }
    return 0;
}

/* ---- brackets -------------------------------------------------------------------------- */

static int parse_i64(const char *s, const char *end, int64_t *out)
{
    int64_t v = 0;
    int neg = 0;
    if (s < end && *s == '-') {
        neg = 1;
        s++;
    }
    if (s >= end) {
        return -1;
    }
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10) {
            return -1;
        }
        v = v * 10 + (*s - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

int b2b_cq_brackets_valid(const char *text, int64_t now, int32_t *out, int max)
{
    const char *p = text;
    int n = 0;

    while (p && *p) {
        const char *semi = strchr(p, ';');
        const char *end = semi ? semi : p + strlen(p);
        const char *c1 = memchr(p, ':', (size_t)(end - p));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
        int64_t qty, from = INT64_MIN, to = INT64_MAX;

        if (c1 && c2 && parse_i64(p, c1, &qty) == 0
            && (c2 == c1 + 1 || parse_i64(c1 + 1, c2, &from) == 0)
            && (end == c2 + 1 || parse_i64(c2 + 1, end, &to) == 0)
            && qty > 1 && qty <= 1000000 && from <= now && now < to) {
            int i, j, dup = 0;
            for (i = 0; i < n; i++) {
                if (out[i] == (int32_t)qty) {
                    dup = 1;
                }
            }
            if (!dup && n < max) {
                /* insertion sort: a handful of entries */
                for (i = 0; i < n && out[i] < (int32_t)qty; i++) {
                }
                for (j = n; j > i; j--) {
                    out[j] = out[j - 1];
                }
                out[i] = (int32_t)qty;
                n++;
            }
        }
        p = semi ? semi + 1 : NULL;
    }
    return n;
}

/* ---- category tree ------------------------------------------------------------------------ */

int b2b_cq_category_rollup(b2b_cq_category_t *rows, int n)
{
    int i, j;
    for (i = 0; i < n; i++) {
        rows[i].parent = -1;
        rows[i].total = 0;
        if (rows[i].parent_id) {
            for (j = 0; j < n; j++) {
                if (j != i && rows[j].id == rows[i].parent_id) {
                    rows[i].parent = j;
                    break;
                }
            }
        }
    }
    for (i = 0; i < n; i++) {
        int at = i, steps = 0;
        while (at >= 0) {
            rows[at].total += rows[i].own;
            at = rows[at].parent;
            if (++steps > n) {
                return -1;
            }
        }
    }
    return 0;
}

/* ---- records ---------------------------------------------------------------------------------- */

static const unsigned char MAGIC_PAGE[4] = { 'C', 'P', '1', 0 };
static const unsigned char MAGIC_STOCK[4] = { 'C', 'S', '1', 0 };
static const unsigned char MAGIC_DETAIL[4] = { 'C', 'D', '1', 0 };

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int overflow;
} writer_t;

static void put(writer_t *w, const void *data, size_t n)
{
    if (w->overflow || w->len + n > w->cap) {
        w->overflow = 1;
        return;
    }
    memcpy(w->p + w->len, data, n);
    w->len += n;
}

static void put_u32(writer_t *w, uint32_t v) { put(w, &v, sizeof(v)); }
static void put_u64(writer_t *w, uint64_t v) { put(w, &v, sizeof(v)); }
static void put_i64(writer_t *w, int64_t v) { put(w, &v, sizeof(v)); }

/* length (u32), bytes, NUL */
static void put_str(writer_t *w, const char *s, size_t n)
{
    put_u32(w, (uint32_t)n);
    put(w, s, n);
    put(w, "", 1);
}

typedef struct {
    const unsigned char *p;
    size_t len, at;
    int bad;
} reader_t;

static void get(reader_t *r, void *out, size_t n)
{
    if (r->bad || r->at + n > r->len) {
        r->bad = 1;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p + r->at, n);
    r->at += n;
}

static uint32_t get_u32(reader_t *r) { uint32_t v; get(r, &v, sizeof(v)); return v; }
static uint64_t get_u64(reader_t *r) { uint64_t v; get(r, &v, sizeof(v)); return v; }
static int64_t get_i64(reader_t *r) { int64_t v; get(r, &v, sizeof(v)); return v; }

static const char *get_str(reader_t *r, uint32_t *len)
{
    uint32_t n = get_u32(r);
    const char *s;
    if (r->bad || r->at + (size_t)n + 1 > r->len || r->p[r->at + n] != 0) {
        r->bad = 1;
        return "";
    }
    s = (const char *)r->p + r->at;
    r->at += (size_t)n + 1;
    if (len) {
        *len = n;
    }
    return s;
}

size_t b2b_cq_page_size(const b2b_cq_card_t *cards, uint32_t count)
{
    size_t n = 4 + 8 + 8 + 4;
    uint32_t i;
    for (i = 0; i < count; i++) {
        n += 8 + 4 + strlen(cards[i].sku) + 1 + 4 + cards[i].json_len + 1;
    }
    return n;
}

size_t b2b_cq_page_encode(uint64_t version, int64_t total, const b2b_cq_card_t *cards,
                          uint32_t count, unsigned char *out, size_t cap)
{
    writer_t w = { out, 0, cap, 0 };
    uint32_t i;
    put(&w, MAGIC_PAGE, 4);
    put_u64(&w, version);
    put_i64(&w, total);
    put_u32(&w, count);
    for (i = 0; i < count; i++) {
        put_i64(&w, cards[i].product_id);
        put_str(&w, cards[i].sku, strlen(cards[i].sku));
        put_str(&w, cards[i].json, cards[i].json_len);
    }
    return w.overflow ? 0 : w.len;
}

int b2b_cq_page_peek(const unsigned char *rec, size_t len, uint32_t *count)
{
    reader_t r = { rec, len, 0, 0 };
    unsigned char magic[4];
    get(&r, magic, 4);
    if (r.bad || memcmp(magic, MAGIC_PAGE, 4)) {
        return -1;
    }
    (void)get_u64(&r);
    (void)get_i64(&r);
    *count = get_u32(&r);
    return r.bad || *count > len / 16 ? -1 : 0;
}

int b2b_cq_page_decode(const unsigned char *rec, size_t len, b2b_cq_page_t *page)
{
    reader_t r = { rec, len, 0, 0 };
    unsigned char magic[4];
    uint32_t i, count;
    get(&r, magic, 4);
    if (r.bad || memcmp(magic, MAGIC_PAGE, 4)) {
        return -1;
    }
    page->version = get_u64(&r);
    page->total = get_i64(&r);
    count = get_u32(&r);
    if (r.bad || count > page->count) {
        return -1;
    }
    page->count = count;
    for (i = 0; i < count; i++) {
        page->cards[i].product_id = get_i64(&r);
        page->cards[i].sku = get_str(&r, NULL);
        page->cards[i].json = get_str(&r, &page->cards[i].json_len);
    }
    return r.bad || r.at != len ? -1 : 0;
}

size_t b2b_cq_stock_encode(int64_t as_of_us, const b2b_cq_stock_t *items, uint32_t count,
                           unsigned char *out, size_t cap)
{
    writer_t w = { out, 0, cap, 0 };
    uint32_t i;
    put(&w, MAGIC_STOCK, 4);
    put_i64(&w, as_of_us);
    put_u32(&w, count);
    for (i = 0; i < count; i++) {
        put_i64(&w, items[i].product_id);
        put_i64(&w, items[i].available);
    }
    return w.overflow ? 0 : w.len;
}

int b2b_cq_stock_decode(const unsigned char *rec, size_t len, int64_t *as_of_us,
                        b2b_cq_stock_t *items, uint32_t max)
{
    reader_t r = { rec, len, 0, 0 };
    unsigned char magic[4];
    uint32_t i, count;
    get(&r, magic, 4);
    if (r.bad || memcmp(magic, MAGIC_STOCK, 4)) {
        return -1;
    }
    *as_of_us = get_i64(&r);
    count = get_u32(&r);
    if (r.bad || count > max) {
        return -1;
    }
    for (i = 0; i < count; i++) {
        items[i].product_id = get_i64(&r);
        items[i].available = get_i64(&r);
    }
    return r.bad || r.at != len ? -1 : (int)count;
}

size_t b2b_cq_detail_encode(const b2b_cq_detail_t *d, unsigned char *out, size_t cap)
{
    writer_t w = { out, 0, cap, 0 };
    put(&w, MAGIC_DETAIL, 4);
    put_u64(&w, d->version);
    put_i64(&w, d->product_id);
    put_str(&w, d->access_key, strlen(d->access_key));
    put_str(&w, d->brackets, strlen(d->brackets));
    put_str(&w, d->json, d->json_len);
    return w.overflow ? 0 : w.len;
}

int b2b_cq_detail_decode(const unsigned char *rec, size_t len, b2b_cq_detail_t *d)
{
    reader_t r = { rec, len, 0, 0 };
    unsigned char magic[4];
    get(&r, magic, 4);
    if (r.bad || memcmp(magic, MAGIC_DETAIL, 4)) {
        return -1;
    }
    d->version = get_u64(&r);
    d->product_id = get_i64(&r);
    d->access_key = get_str(&r, NULL);
    d->brackets = get_str(&r, NULL);
    d->json = get_str(&r, &d->json_len);
    return r.bad || r.at != len ? -1 : 0;
}

int b2b_cq_key_listed(const char *list, const char *key)
{
    size_t klen = strlen(key);
    const char *p = list;
    if (!klen) {
        return 0;
    }
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == klen && !memcmp(p, key, n)) {
            return 1;
        }
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}
