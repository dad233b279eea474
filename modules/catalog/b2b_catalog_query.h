/*
 * b2b_catalog_query.h: the pure part of the catalog (plain C, no httpd or
 * APR): query-string parsing and validation, the text-search query the
 * read model is searched with, cache ids, the binary layouts of what the
 * catalog keeps in the shared cache, bracket quantities, the category tree
 * roll-up, and ETag / If-None-Match handling. Unit-tested alone
 * (modules/catalog/tests/test_catalog_query.c).
 */
#ifndef B2B_CATALOG_QUERY_H
#define B2B_CATALOG_QUERY_H

#include <stddef.h>
#include <stdint.h>

#define B2B_CQ_Q_MAX          200      /* bytes of q after decoding */
#define B2B_CQ_WORDS_MAX      16       /* words of q used for text search */
#define B2B_CQ_TSQUERY_MAX    (B2B_CQ_Q_MAX * 3 + B2B_CQ_WORDS_MAX * 16)
#define B2B_CQ_PER_PAGE_MAX   200
#define B2B_CQ_PER_PAGE_DEF   50
#define B2B_CQ_WINDOW_MAX     100000   /* page * per_page: no deeper paging */
#define B2B_CQ_CODE_MAX       64

typedef enum {
    B2B_CQ_SORT_RELEVANCE = 0,
    B2B_CQ_SORT_NAME,
    B2B_CQ_SORT_NAME_DESC,
    B2B_CQ_SORT_SKU,
    B2B_CQ_SORT_SKU_DESC,
    B2B_CQ_SORT_NEWEST,
    B2B_CQ_SORT_COUNT
} b2b_cq_sort_t;

/* The name the read model's b2b_catalog_page() takes ("relevance", "-name"...). */
const char *b2b_cq_sort_name(b2b_cq_sort_t sort);

typedef struct {
    long page;                          /* 1.. */
    long per_page;                      /* 1..200 */
    b2b_cq_sort_t sort;
    int has_q;
    char q[B2B_CQ_Q_MAX + 1];           /* whitespace-normalised, as typed */
    char tsquery[B2B_CQ_TSQUERY_MAX + 1]; /* for b2b_catalog_tsquery() */
    int has_category;
    int category_valid;                 /* 0: cannot name a category (answer 404) */
    char category[B2B_CQ_CODE_MAX + 1];
} b2b_cq_params_t;

typedef struct {
    int status;                         /* 400 (malformed) or 422 (out of range) */
    const char *code;                   /* snake_case error code */
    char message[160];
} b2b_cq_error_t;

/* Parses GET /catalog/products' query string (NULL or "" for none).
 * Unknown parameters are ignored; a repeated one takes the last value.
 * Returns 0, or -1 with err filled. */
int b2b_cq_parse_list(const char *args, b2b_cq_params_t *p, b2b_cq_error_t *err);

/* %XX and '+' decoding of one query-string value. Returns the decoded
 * length, -1 for a malformed escape or -2 for an encoded NUL; out must hold
 * len + 1 bytes and is NUL-terminated. */
long b2b_cq_url_decode(const char *in, size_t len, char *out);

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
int b2b_cq_utf8_valid(const char *s, size_t n);

/* Collapses runs of whitespace and control characters to one space and
 * trims both ends, in place; returns the new length. */
size_t b2b_cq_normalize_space(char *s);

/* Builds the text-search query text from normalised q: each word (letters,
 * digits, non-ASCII, and . _ / -) becomes a prefix match, OR'ed with its
 * punctuation-free form (so "sku00042" finds SKU-00042); words are AND'ed.
 * Nothing outside that alphabet reaches the text, so it always parses.
 * Returns the length (0: no usable word). */
size_t b2b_cq_build_tsquery(const char *q, char *out, size_t cap);

/* SKU and category code shapes (as the schema checks them). A SKU is
 * upper-cased in place first: lookups are case-insensitive. */
int b2b_cq_sku_normalize(char *sku);
int b2b_cq_category_code_valid(const char *code);

/* ---- hashing, cache ids, ETags --------------------------------------------- */

uint64_t b2b_cq_hash(const void *data, size_t len);
uint64_t b2b_cq_hash_more(uint64_t h, const void *data, size_t len);

/* A shared-cache id for key: 4 hash bytes first (shmcb picks the subcache
 * from the first byte), then the key itself. Returns the id length, or 0 if
 * cap is too small. */
size_t b2b_cq_cache_id(const char *key, size_t keylen, unsigned char *out, size_t cap);

/* "\"<16 hex digits>\"" of the body: a strong validator. out needs 19 bytes. */
void b2b_cq_etag(const void *body, size_t len, char out[19]);

/* 1 if an If-None-Match header value matches etag (weak comparison, "*"). */
int b2b_cq_if_none_match(const char *header, const char *etag);

/* ---- bracket quantities ------------------------------------------------------ */

#define B2B_CQ_BRACKETS_MAX 32

/* From the read model's "min_qty:from:to;..." (unix seconds, empty = open):
 * the distinct minimum quantities above 1 whose rule is valid at `now`,
 * ascending. Returns how many were written to out (at most max). */
int b2b_cq_brackets_valid(const char *text, int64_t now, int32_t *out, int max);

/* ---- the category tree -------------------------------------------------------- */

typedef struct {
    int64_t id;
    int64_t parent_id;       /* 0: a root */
    int64_t own;             /* visible products directly in it */
    int64_t total;           /* out: own + every descendant's */
    int parent;              /* out: index of the parent row, -1 for a root */
} b2b_cq_category_t;

/* Fills total and parent for n rows in any order. A parent id that is not
 * among the rows makes that row a root. Returns 0, or -1 on a cycle. */
int b2b_cq_category_rollup(b2b_cq_category_t *rows, int n);

/* ---- what the shared cache holds ------------------------------------------------
 * Little binary records, built and read on the same machine (no byte-order
 * concerns; the cache lives only as long as the httpd instance). */

/* One page of cards: version, total, and for each card its product id, SKU
 * and card JSON (without price and availability). */
typedef struct {
    int64_t product_id;
    const char *sku;          /* points into the record; NUL-terminated */
    const char *json;
    uint32_t json_len;
} b2b_cq_card_t;

typedef struct {
    uint64_t version;
    int64_t total;
    uint32_t count;
    b2b_cq_card_t *cards;     /* decode: caller's array of count entries */
} b2b_cq_page_t;

/* Bytes the page record of these cards needs. */
size_t b2b_cq_page_size(const b2b_cq_card_t *cards, uint32_t count);
/* Writes the record; returns its length, 0 if cap is too small. */
size_t b2b_cq_page_encode(uint64_t version, int64_t total, const b2b_cq_card_t *cards,
                          uint32_t count, unsigned char *out, size_t cap);
/* Reads the header (count) of a record; 0 or -1 if it is not a page. */
int b2b_cq_page_peek(const unsigned char *rec, size_t len, uint32_t *count);
/* Reads a record into page (cards: an array of at least count entries).
 * The strings point into rec. Returns 0 or -1 (damaged record). */
int b2b_cq_page_decode(const unsigned char *rec, size_t len, b2b_cq_page_t *page);

/* Stock of a page or of one product: when it was read, and per product. */
typedef struct {
    int64_t product_id;
    int64_t available;
} b2b_cq_stock_t;

size_t b2b_cq_stock_encode(int64_t as_of_us, const b2b_cq_stock_t *items, uint32_t count,
                           unsigned char *out, size_t cap);
/* items: caller's array of max entries; returns the count, or -1. */
int b2b_cq_stock_decode(const unsigned char *rec, size_t len, int64_t *as_of_us,
                        b2b_cq_stock_t *items, uint32_t max);

/* One product's detail record. */
typedef struct {
    uint64_t version;
    int64_t product_id;
    const char *access_key;
    const char *brackets;
    const char *json;
    uint32_t json_len;
} b2b_cq_detail_t;

size_t b2b_cq_detail_encode(const b2b_cq_detail_t *d, unsigned char *out, size_t cap);
int b2b_cq_detail_decode(const unsigned char *rec, size_t len, b2b_cq_detail_t *d);

/* ---- access keys --------------------------------------------------------------- */

/* 1 if key ("<category id>:<group id>") is in the comma-separated list. */
int b2b_cq_key_listed(const char *list, const char *key);

#endif
