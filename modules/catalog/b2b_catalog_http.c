/*
 * b2b_catalog_http.c: GET /catalog/products, /catalog/products/{sku} and
 * /catalog/categories, and the catalog's registration with the core.
 *
 * A warm list request touches no database: the acting account's hidden
 * access keys, the page of cards and the page's stock come from the shared
 * cache, prices from the pricing service's snapshot (b2b_pricing_quote).
 * What it does touch on a miss is the read model (catalog_cards), the
 * account's access rules and stock, through the replica when it is healthy.
 *
 * Responses carry a strong ETag of the body, "Cache-Control: private,
 * no-cache" and "Vary: Authorization, X-B2B-Account" (prices are per
 * account); If-None-Match answers 304.
 */
#include "b2b_catalog.h"
#include "b2b_pricing_api.h"
#include "b2b_catalog_api.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

APLOG_USE_MODULE(b2bportal);

#define HIDDEN_MAX      (32 * 1024)
#define CATEGORIES_MAX  (256 * 1024)
#define DETAIL_MAX      (64 * 1024)

typedef struct cat_ctx_t {
    request_rec *r;
    server_rec *s;
    b2b_catalog_shm_t *shm;
    apr_int64_t account_id;
    const char *account_code;
    apr_time_t now;
    int precise;                  /* versions published by the worker */
    apr_uint64_t content_v, access_v, detail_epoch;
    int db_open;
    b2b_catalog_db_t db;
    const char *hidden;           /* comma list of hidden access keys */
    char hidden_hash[17];
    APR_OPTIONAL_FN_TYPE(b2b_pricing_quote) *quote;
    apr_uint64_t generation;
    int pricing_down;
} cat_ctx_t;

typedef struct cat_entry_t {
    apr_int64_t id;
    apr_int64_t total;
    const char *code;
} cat_entry_t;

typedef struct cat_tree_t {
    const char *json;
    apr_size_t json_len;
    int n;
    cat_entry_t *entries;
} cat_tree_t;

/* ---- small helpers ----------------------------------------------------------- */

static int db_unavailable(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Retry-After", "5");
    return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                           "The catalog database is not answering; try again shortly.");
}

static int pricing_unavailable(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Retry-After", "5");
    return b2b_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "pricing_unavailable",
                           "Prices cannot be computed right now; try again shortly.");
}

static apr_time_t content_expiry(cat_ctx_t *c)
{
    int ttl = b2b_catalog_content_ttl(c->s);
    return ttl > 0 ? c->now + apr_time_from_sec(ttl) : 0;
}

typedef struct sbuf_t {
    apr_pool_t *pool;
    char *p;
    apr_size_t len, cap;
} sbuf_t;

static void sb_init(sbuf_t *b, apr_pool_t *pool, apr_size_t cap)
{
    b->pool = pool;
    b->cap = cap;
    b->len = 0;
    b->p = apr_palloc(pool, cap);
}

static void sb_add(sbuf_t *b, const char *s, apr_size_t n)
{
    if (b->len + n + 1 > b->cap) {
        apr_size_t ncap = b->cap * 2;
        char *np;
        while (ncap < b->len + n + 1) {
            ncap *= 2;
        }
        np = apr_palloc(b->pool, ncap);
        memcpy(np, b->p, b->len);
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf_t *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void iso_time(apr_time_t t, char out[32])
{
    apr_time_exp_t tm;
    apr_time_exp_gmt(&tm, t);
    apr_snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 tm.tm_usec / 1000);
}

/* ---- database access with replica fallback ------------------------------------- */

static apr_array_header_t *cat_select(cat_ctx_t *c, const char *label, int nargs,
                                      const char **args)
{
    apr_array_header_t *rows;
    if (!c->db_open) {
        if (b2b_catalog_db_open(c->r, c->precise, &c->db) != 0) {
            return NULL;
        }
        c->db_open = 1;
    }
    rows = b2b_catalog_db_select(&c->db, label, nargs, args);
    if (!rows && c->db.replica) {
        b2b_catalog_replica_failed(c->s, "a catalog query failed");
        apr_atomic_inc64(&c->shm->replica_fallbacks);
        b2b_catalog_db_close(&c->db, 1);
        c->db_open = 0;
        if (b2b_catalog_db_open(c->r, 0, &c->db) != 0) {
            return NULL;
        }
        c->db_open = 1;
        rows = b2b_catalog_db_select(&c->db, label, nargs, args);
    }
    return rows;
}

/* The replica answered with data older than what we know exists: this
 * request reads the primary from now on. */
static int cat_replica_behind(cat_ctx_t *c)
{
    if (!c->db_open || !c->db.replica) {
        return 0;
    }
    apr_atomic_inc64(&c->shm->replica_fallbacks);
    b2b_catalog_db_close(&c->db, 0);
    c->db_open = 0;
    if (b2b_catalog_db_open(c->r, 0, &c->db) != 0) {
        return -1;
    }
    c->db_open = 1;
    return 1;
}

/* Versions: from the worker when it polled recently, else from the primary. */
static int cat_init(cat_ctx_t *c, request_rec *r, apr_int64_t account_id,
                    const char *account_code)
{
    apr_uint64_t polled;
    memset(c, 0, sizeof(*c));
    c->r = r;
    c->s = r->server;
    c->shm = b2b_catalog_shm();
    c->account_id = account_id;
    c->account_code = account_code;
    c->now = apr_time_now();
    polled = apr_atomic_read64(&c->shm->polled_us);
    if (polled && c->now - (apr_time_t)polled < B2B_CATALOG_POLL_STALE
        && apr_atomic_read64(&c->shm->content_version)) {
        c->precise = 1;
        c->content_v = apr_atomic_read64(&c->shm->content_version);
        c->access_v = apr_atomic_read64(&c->shm->access_version);
        c->detail_epoch = apr_atomic_read64(&c->shm->detail_epoch);
        return 0;
    }
    {
        apr_array_header_t *rows = cat_select(c, "b2b_catalog_versions", 0, NULL);
        const char **row;
        if (!rows || rows->nelts != 1) {
            return -1;
        }
        row = APR_ARRAY_IDX(rows, 0, const char **);
        c->content_v = (apr_uint64_t)apr_atoi64(row[0]);
        c->access_v = (apr_uint64_t)apr_atoi64(row[1]);
        c->detail_epoch = c->content_v;
    }
    return 0;
}

/* ---- who sees what ------------------------------------------------------------------ */

static int load_hidden(cat_ctx_t *c)
{
    unsigned char *buf;
    unsigned int len = HIDDEN_MAX - 1;

    if (content_expiry(c)
        && (c->hidden = b2b_catalog_memo_hidden(c->access_v, c->account_id, c->r->pool))) {
        /* this process read it at this version */
    }
    else if (b2b_catalog_cache_get(c->s, apr_psprintf(c->r->pool, "A|%" APR_UINT64_T_FMT
                                                      "|%" APR_INT64_T_FMT, c->access_v,
                                                      c->account_id),
                                   buf = apr_palloc(c->r->pool, HIDDEN_MAX), &len)
             == APR_SUCCESS) {
        buf[len] = '\0';
        c->hidden = (const char *)buf;
        b2b_catalog_memo_hidden_put(c->access_v, c->account_id, c->hidden);
    }
    else {
        const char *arg = apr_psprintf(c->r->pool, "%" APR_INT64_T_FMT, c->account_id);
        apr_array_header_t *rows;
        const char **row;
        apr_uint64_t v;
        int again = 1;
        for (;;) {
            rows = cat_select(c, "b2b_catalog_hidden", 1, &arg);
            if (!rows || rows->nelts != 1) {
                return -1;
            }
            row = APR_ARRAY_IDX(rows, 0, const char **);
            v = (apr_uint64_t)apr_atoi64(row[1]);
            if (again && v < c->access_v && cat_replica_behind(c) == 1) {
                again = 0;
                continue;
            }
            break;
        }
        c->hidden = row[0] ? row[0] : "";
        if (content_expiry(c) && strlen(c->hidden) < HIDDEN_MAX - 1) {
            /* keyed on the version it was read at: always consistent */
            b2b_catalog_cache_put(c->s, apr_psprintf(c->r->pool, "A|%" APR_UINT64_T_FMT
                                                     "|%" APR_INT64_T_FMT, v, c->account_id),
                                  (const unsigned char *)c->hidden,
                                  (unsigned int)strlen(c->hidden), content_expiry(c),
                                  c->r->pool);
            b2b_catalog_memo_hidden_put(v, c->account_id, c->hidden);
        }
    }
    apr_snprintf(c->hidden_hash, sizeof(c->hidden_hash), "%016" APR_UINT64_T_HEX_FMT,
                 (apr_uint64_t)b2b_cq_hash(c->hidden, strlen(c->hidden)));
    return 0;
}

/* ---- the category tree ------------------------------------------------------------------ */

static json_t *tree_node(const char **row, apr_int64_t total)
{
    return json_pack("{s:s,s:s,s:I,s:[]}", "code", row[1], "name", row[2] ? row[2] : "",
                     "count", (json_int_t)total, "children");
}

/* Record: "<n>\n" then n lines "id\ttotal\tcode\n", then the JSON. */
static int parse_tree(cat_ctx_t *c, char *rec, cat_tree_t *t)
{
    char *p = rec, *nl;
    int i;
    t->n = atoi(p);
    if (t->n < 0 || t->n > 100000 || !(nl = strchr(p, '\n'))) {
        return -1;
    }
    p = nl + 1;
    t->entries = apr_pcalloc(c->r->pool, sizeof(cat_entry_t) * (t->n ? t->n : 1));
    for (i = 0; i < t->n; i++) {
        char *tab1 = strchr(p, '\t'), *tab2, *end;
        if (!tab1 || !(tab2 = strchr(tab1 + 1, '\t')) || !(end = strchr(tab2 + 1, '\n'))) {
            return -1;
        }
        *tab1 = *tab2 = *end = '\0';
        t->entries[i].id = apr_atoi64(p);
        t->entries[i].total = apr_atoi64(tab1 + 1);
        t->entries[i].code = tab2 + 1;
        p = end + 1;
    }
    t->json = p;
    t->json_len = strlen(p);
    return 0;
}

static int load_categories(cat_ctx_t *c, cat_tree_t *t)
{
    const char *key = apr_psprintf(c->r->pool, "C|%" APR_UINT64_T_FMT "|%" APR_UINT64_T_FMT
                                   "|%s", c->content_v, c->access_v, c->hidden_hash);
    unsigned char *buf = apr_palloc(c->r->pool, CATEGORIES_MAX);
    unsigned int len = CATEGORIES_MAX - 1;
    apr_array_header_t *rows;
    b2b_cq_category_t *cats;
    json_t **nodes, *roots, *out;
    sbuf_t rec;
    char *text;
    apr_uint64_t v = 0, av = 0;
    int i, n, again = 1, visible = 0;

    if (b2b_catalog_cache_get(c->s, key, buf, &len) == APR_SUCCESS) {
        buf[len] = '\0';
        if (parse_tree(c, (char *)buf, t) == 0) {
            return 0;
        }
    }
    for (;;) {
        rows = cat_select(c, "b2b_catalog_categories", 1, &c->hidden);
        if (!rows) {
            return -1;
        }
        if (rows->nelts > 0) {
            const char **row = APR_ARRAY_IDX(rows, 0, const char **);
            v = (apr_uint64_t)apr_atoi64(row[5]);
            av = (apr_uint64_t)apr_atoi64(row[6]);
        }
        if (again && rows->nelts > 0 && (v < c->content_v || av < c->access_v)
            && cat_replica_behind(c) == 1) {
            again = 0;
            continue;
        }
        break;
    }
    n = rows->nelts;
    cats = apr_pcalloc(c->r->pool, sizeof(*cats) * (n ? n : 1));
    nodes = apr_pcalloc(c->r->pool, sizeof(json_t *) * (n ? n : 1));
    for (i = 0; i < n; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        cats[i].id = apr_atoi64(row[0]);
        cats[i].parent_id = apr_atoi64(row[3]);
        cats[i].own = apr_atoi64(row[4]);
    }
    if (b2b_cq_category_rollup(cats, n) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, c->r, B2BLOG(04040)
                      "catalog: the category tree has a cycle");
        return -1;
    }
    roots = json_array();
    out = json_pack("{s:o}", "items", roots);
    /* nodes first, then attach in row order (siblings come sorted) */
    for (i = 0; i < n; i++) {
        if (cats[i].total > 0) {
            nodes[i] = tree_node(APR_ARRAY_IDX(rows, i, const char **), cats[i].total);
            visible++;
        }
    }
    for (i = 0; i < n; i++) {
        if (!nodes[i]) {
            continue;
        }
        if (cats[i].parent >= 0 && nodes[cats[i].parent]) {
            json_array_append(json_object_get(nodes[cats[i].parent], "children"), nodes[i]);
        }
        else {
            json_array_append(roots, nodes[i]);
        }
    }
    text = json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII);
    for (i = 0; i < n; i++) {
        json_decref(nodes[i]);
    }
    json_decref(out);
    if (!text) {
        return -1;
    }
    sb_init(&rec, c->r->pool, 4096 + strlen(text));
    sb_str(&rec, apr_psprintf(c->r->pool, "%d\n", visible));
    for (i = 0; i < n; i++) {
        if (nodes[i]) {
            const char **row = APR_ARRAY_IDX(rows, i, const char **);
            sb_str(&rec, apr_psprintf(c->r->pool, "%" APR_INT64_T_FMT "\t%" APR_INT64_T_FMT
                                      "\t%s\n", cats[i].id, cats[i].total, row[1]));
        }
    }
    sb_str(&rec, text);
    free(text);
    if (content_expiry(c) && rec.len < CATEGORIES_MAX - 1) {
        b2b_catalog_cache_put(c->s, apr_psprintf(c->r->pool, "C|%" APR_UINT64_T_FMT "|%"
                                                 APR_UINT64_T_FMT "|%s", v, av,
                                                 c->hidden_hash),
                              (const unsigned char *)rec.p, (unsigned int)rec.len,
                              content_expiry(c), c->r->pool);
    }
    return parse_tree(c, rec.p, t);
}

/* ---- stock ------------------------------------------------------------------------------ */

/* Available units for ids[0..n) and when that was true; never older than
 * B2BInventoryMaxAge. */
static int load_stock(cat_ctx_t *c, const char *key, const apr_int64_t *ids, int n,
                      apr_int64_t *avail, apr_time_t *as_of)
{
    int max_age = b2b_catalog_inventory_max_age(c->s);
    apr_size_t cap;
    unsigned char *buf;
    b2b_cq_stock_t *items;
    unsigned int len;
    apr_array_header_t *rows;
    sbuf_t list;
    const char *arg;
    apr_int64_t at = 0;
    int i, again = 1;

    if (n <= 0 || n > B2B_CQ_PER_PAGE_MAX) {
        *as_of = c->now;
        return 0;
    }
    cap = 64 + (apr_size_t)n * 16;
    buf = apr_palloc(c->r->pool, cap);
    items = apr_pcalloc(c->r->pool, sizeof(*items) * (apr_size_t)n);
    len = (unsigned int)cap;
    if (max_age > 0 && b2b_catalog_cache_get(c->s, key, buf, &len) == APR_SUCCESS
        && b2b_cq_stock_decode(buf, len, &at, items, (uint32_t)n) == n
        && c->now - (apr_time_t)at <= apr_time_from_sec(max_age)) {
        for (i = 0; i < n && items[i].product_id == ids[i]; i++) {
            avail[i] = items[i].available;
        }
        if (i == n) {
            *as_of = (apr_time_t)at;
            return 0;
        }
    }
    sb_init(&list, c->r->pool, (apr_size_t)n * 12 + 8);
    for (i = 0; i < n; i++) {
        sb_str(&list, apr_psprintf(c->r->pool, i ? ",%" APR_INT64_T_FMT
                                                 : "%" APR_INT64_T_FMT, ids[i]));
    }
    arg = list.p;
    for (;;) {
        rows = cat_select(c, "b2b_catalog_stock", 1, &arg);
        if (!rows) {
            return -1;
        }
        at = rows->nelts ? apr_atoi64(APR_ARRAY_IDX(rows, 0, const char **)[2]) : c->now;
        /* a replica's stock is as old as its last replayed heartbeat */
        if (again && c->now - (apr_time_t)at > apr_time_from_sec(max_age)
            && cat_replica_behind(c) == 1) {
            again = 0;
            continue;
        }
        break;
    }
    apr_atomic_inc64(&c->shm->stock_reads);
    for (i = 0; i < n; i++) {
        int k;
        avail[i] = 0;
        for (k = 0; k < rows->nelts; k++) {
            const char **row = APR_ARRAY_IDX(rows, (i + k) % rows->nelts, const char **);
            if (apr_atoi64(row[0]) == ids[i]) {
                avail[i] = apr_atoi64(row[1]);
                break;
            }
        }
        items[i].product_id = ids[i];
        items[i].available = avail[i];
    }
    *as_of = (apr_time_t)at;
    if (max_age > 0) {
        apr_size_t rl = b2b_cq_stock_encode(at, items, (uint32_t)n, buf, cap);
        if (rl) {
            b2b_catalog_cache_put(c->s, key, buf, (unsigned int)rl,
                                  (apr_time_t)at + apr_time_from_sec(max_age), c->r->pool);
        }
    }
    return 0;
}

static void availability_json(sbuf_t *b, apr_int64_t available, apr_time_t as_of)
{
    char when[32];
    iso_time(as_of, when);
    sb_str(b, apr_psprintf(b->pool, "\"availability\":{\"available\":%" APR_INT64_T_FMT
                           ",\"as_of\":\"%s\"}", available, when));
}

/* ---- prices ------------------------------------------------------------------------------- */

/* {"amount","currency"} of the caller's unit price at qty, or "null" when the
 * product has no price for them; sets pricing_down when there is no pricing. */
static const char *price_json(cat_ctx_t *c, const char *sku, long qty)
{
    b2b_query_t q;
    b2b_quote_t quote;
    apr_uint64_t generation = 0;
    b2b_status_t st;
    char amount[40];

    if (!c->quote) {
        c->pricing_down = 1;
        return "null";
    }
    memset(&q, 0, sizeof(q));
    q.account_code = c->account_code;
    q.account_index = -1;
    q.sku = sku;
    q.qty = qty;
    q.as_of = (int64_t)apr_time_sec(c->now);
    st = c->quote(&q, &quote, &generation);
    if (generation) {
        c->generation = generation;
    }
    if (st == B2B_ERR_BAD_SNAPSHOT) {
        c->pricing_down = 1;
        return "null";
    }
    if (st != B2B_OK || !b2b_money_format(quote.unit_minor, quote.minor_digits, amount,
                                          sizeof(amount))) {
        return "null";
    }
    return apr_psprintf(c->r->pool, "{\"amount\":\"%s\",\"currency\":\"%s\"}", amount,
                        quote.currency);
}

/* ---- sending --------------------------------------------------------------------------------- */

static int send_cacheable(cat_ctx_t *c, const char *body, apr_size_t len)
{
    request_rec *r = c->r;
    char etag[19];
    const char *inm = apr_table_get(r->headers_in, "If-None-Match");

    b2b_cq_etag(body, len, etag);
    apr_table_setn(r->headers_out, "ETag", apr_pstrdup(r->pool, etag));
    apr_table_setn(r->headers_out, "Cache-Control", "private, no-cache");
    apr_table_mergen(r->headers_out, "Vary", "Authorization, X-B2B-Account");
    ap_set_content_type(r, "application/json");
    if (inm && b2b_cq_if_none_match(inm, etag)) {
        apr_atomic_inc64(&c->shm->not_modified);
        r->status = HTTP_NOT_MODIFIED;
        return OK;
    }
    r->status = HTTP_OK;
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) {
        ap_rwrite(body, (int)len, r);
    }
    return OK;
}

/* ---- GET /catalog/products ------------------------------------------------------------------ */

static apr_size_t page_record_max(long per_page)
{
    return 4096 + (apr_size_t)per_page * 4096;
}

/* The number of cards matching a filter is the same for every page and
 * order: counted once per version, kept beside the pages. */
static const char *total_key(cat_ctx_t *c, apr_uint64_t v, const b2b_cq_params_t *p,
                             apr_int64_t category_id)
{
    return apr_psprintf(c->r->pool, "T|%" APR_UINT64_T_FMT "|%s|%" APR_INT64_T_FMT "|%s", v,
                        c->hidden_hash, category_id, p->has_q ? p->q : "");
}

static int load_page(cat_ctx_t *c, const b2b_cq_params_t *p, apr_int64_t category_id,
                     const char *key_tail, b2b_cq_page_t *page)
{
    const char *key = apr_psprintf(c->r->pool, "L|%" APR_UINT64_T_FMT "|%s", c->content_v,
                                   key_tail);
    apr_size_t cap = page_record_max(p->per_page);
    unsigned char *buf = apr_palloc(c->r->pool, cap);
    unsigned int len = (unsigned int)cap;
    apr_array_header_t *rows;
    const char *args[8];
    apr_uint64_t v = 0;
    apr_int64_t known_total = -1;
    char tbuf[32];
    int i, again = 1;

    page->cards = apr_pcalloc(c->r->pool, sizeof(b2b_cq_card_t) * (apr_size_t)p->per_page);
    page->count = (uint32_t)p->per_page;
    if (b2b_catalog_cache_get(c->s, key, buf, &len) == APR_SUCCESS
        && b2b_cq_page_decode(buf, len, page) == 0) {
        return 0;
    }
    len = sizeof(tbuf) - 1;
    if (b2b_catalog_cache_get(c->s, total_key(c, c->content_v, p, category_id),
                              (unsigned char *)tbuf, &len) == APR_SUCCESS) {
        tbuf[len] = '\0';
        known_total = apr_atoi64(tbuf);
    }
    args[7] = known_total >= 0 ? "false" : "true";
    args[0] = c->hidden;
    args[1] = p->tsquery;
    args[2] = p->has_q ? p->q : "";
    args[3] = apr_psprintf(c->r->pool, "%" APR_INT64_T_FMT, category_id);
    args[4] = b2b_cq_sort_name(p->sort);
    args[5] = apr_psprintf(c->r->pool, "%ld", p->per_page);
    args[6] = apr_psprintf(c->r->pool, "%ld", (p->page - 1) * p->per_page);
    for (;;) {
        rows = cat_select(c, "b2b_catalog_page", 8, args);
        if (!rows || rows->nelts == 0) {
            return -1;
        }
        v = (apr_uint64_t)apr_atoi64(APR_ARRAY_IDX(rows, 0, const char **)[4]);
        if (again && v < c->content_v && cat_replica_behind(c) == 1) {
            again = 0;
            continue;
        }
        break;
    }
    page->version = v;
    if (known_total >= 0 && v == c->content_v) {
        page->total = known_total;
    }
    else {
        const char *t = APR_ARRAY_IDX(rows, 0, const char **)[3];
        if ((!t || !*t) && known_total >= 0) {
            /* counted for another version than the one read: count now */
            args[7] = "true";
            known_total = -1;
            rows = cat_select(c, "b2b_catalog_page", 8, args);
            if (!rows || rows->nelts == 0) {
                return -1;
            }
            v = (apr_uint64_t)apr_atoi64(APR_ARRAY_IDX(rows, 0, const char **)[4]);
            page->version = v;
            t = APR_ARRAY_IDX(rows, 0, const char **)[3];
        }
        page->total = t ? apr_atoi64(t) : 0;
        if (content_expiry(c)) {
            const char *text = apr_psprintf(c->r->pool, "%" APR_INT64_T_FMT, page->total);
            b2b_catalog_cache_put(c->s, total_key(c, v, p, category_id),
                                  (const unsigned char *)text, (unsigned int)strlen(text),
                                  content_expiry(c), c->r->pool);
        }
    }
    page->count = 0;
    for (i = 0; i < rows->nelts && i < p->per_page; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        b2b_cq_card_t *card;
        /* the "empty page" row (the pgsql driver gives NULL as "") */
        if (!row[0] || !*row[0] || !row[1] || !row[2]) {
            continue;
        }
        card = &page->cards[page->count++];
        card->product_id = apr_atoi64(row[0]);
        card->sku = row[1];
        card->json = row[2];
        card->json_len = (uint32_t)strlen(row[2]);
    }
    if (content_expiry(c)) {
        apr_size_t need = b2b_cq_page_size(page->cards, page->count);
        if (need <= cap) {
            apr_size_t rl = b2b_cq_page_encode(v, page->total, page->cards, page->count,
                                               buf, cap);
            if (rl) {
                b2b_catalog_cache_put(c->s, apr_psprintf(c->r->pool, "L|%" APR_UINT64_T_FMT
                                                         "|%s", v, key_tail),
                                      buf, (unsigned int)rl, content_expiry(c), c->r->pool);
            }
        }
    }
    return 0;
}

/* A card's JSON without its closing brace, so price and availability follow. */
static void card_open(sbuf_t *b, const char *json, apr_size_t len)
{
    while (len > 0 && json[len - 1] != '}') {
        len--;
    }
    sb_add(b, json, len > 0 ? len - 1 : 0);
}

static int handle_products(b2b_req_t *req)
{
    request_rec *r = req->r;
    b2b_cq_params_t *p = apr_palloc(r->pool, sizeof(*p));
    b2b_cq_error_t err;
    cat_ctx_t *c = apr_palloc(r->pool, sizeof(*c));
    b2b_cq_page_t page;
    apr_int64_t category_id = 0, *ids, *avail;
    apr_time_t as_of;
    const char *key_tail;
    sbuf_t body;
    char when[32];
    uint32_t i;

    if (b2b_cq_parse_list(r->args, p, &err) != 0) {
        return b2b_reply_error(r, err.status, err.code, "%s", err.message);
    }
    /* prices are never computed here: no pricing service, no cards */
    if (!APR_RETRIEVE_OPTIONAL_FN(b2b_pricing_quote)) {
        return pricing_unavailable(r);
    }
    if (cat_init(c, r, req->acting->id, req->acting->code) != 0) {
        return db_unavailable(r);
    }
    c->quote = APR_RETRIEVE_OPTIONAL_FN(b2b_pricing_quote);
    if (load_hidden(c) != 0) {
        return db_unavailable(r);
    }
    if (p->has_category) {
        cat_tree_t tree;
        int k;
        if (!p->category_valid) {
            return b2b_reply_error(r, HTTP_NOT_FOUND, "category_not_found",
                                   "No such category.");
        }
        if (load_categories(c, &tree) != 0) {
            return db_unavailable(r);
        }
        for (k = 0; k < tree.n && strcmp(tree.entries[k].code, p->category); k++) {
        }
        if (k == tree.n) {
            /* unknown, or nothing in it is visible to this account */
            return b2b_reply_error(r, HTTP_NOT_FOUND, "category_not_found",
                                   "No such category.");
        }
        category_id = tree.entries[k].id;
    }
    key_tail = apr_psprintf(r->pool, "%s|%s|%ld|%ld|%" APR_INT64_T_FMT "|%s", c->hidden_hash,
                            b2b_cq_sort_name(p->sort), p->page, p->per_page, category_id,
                            p->has_q ? p->q : "");
    if (load_page(c, p, category_id, key_tail, &page) != 0) {
        return db_unavailable(r);
    }
    ids = apr_palloc(r->pool, sizeof(apr_int64_t) * (page.count + 1));
    avail = apr_palloc(r->pool, sizeof(apr_int64_t) * (page.count + 1));
    for (i = 0; i < page.count; i++) {
        ids[i] = page.cards[i].product_id;
    }
    if (load_stock(c, apr_psprintf(r->pool, "S|%" APR_UINT64_T_FMT "|%s", page.version,
                                   key_tail), ids, (int)page.count, avail, &as_of) != 0) {
        return db_unavailable(r);
    }
    if (c->db_open) {
        b2b_catalog_db_close(&c->db, 0);   /* done with the database */
    }
    iso_time(as_of, when);
    sb_init(&body, r->pool, 1024 + (apr_size_t)page.count * 700);
    sb_str(&body, "{\"items\":[");
    for (i = 0; i < page.count; i++) {
        const b2b_cq_card_t *card = &page.cards[i];
        const char *price = price_json(c, card->sku, 1);
        if (c->pricing_down) {
            return pricing_unavailable(r);
        }
        if (i) {
            sb_add(&body, ",", 1);
        }
        card_open(&body, card->json, card->json_len);
        sb_str(&body, ",\"price\":");
        sb_str(&body, price);
        sb_add(&body, ",", 1);
        availability_json(&body, avail[i], as_of);
        sb_add(&body, "}", 1);
    }
    if (!c->generation && c->quote) {
        APR_OPTIONAL_FN_TYPE(b2b_pricing_generation) *gen =
            APR_RETRIEVE_OPTIONAL_FN(b2b_pricing_generation);
        c->generation = gen ? gen() : 0;
    }
    sb_str(&body, apr_psprintf(r->pool, "],\"page\":%ld,\"per_page\":%ld,\"total\":%"
                               APR_INT64_T_FMT ",\"pricing_generation\":%" APR_UINT64_T_FMT
                               ",\"as_of\":\"%s\"}", p->page, p->per_page, page.total,
                               c->generation, when));
    return send_cacheable(c, body.p, body.len);
}

/* ---- GET /catalog/products/{sku} -------------------------------------------------------------- */

/* The detail record of sku (from the cache or the read model); 1 found,
 * 0 no such product, -1 database down. */
static int load_detail(cat_ctx_t *c, const char *sku, b2b_cq_detail_t *d)
{
    const char *key = c->precise
        ? apr_psprintf(c->r->pool, "P|%" APR_UINT64_T_FMT "|%s", c->detail_epoch, sku)
        : apr_psprintf(c->r->pool, "Q|%" APR_UINT64_T_FMT "|%s", c->content_v, sku);
    unsigned char *buf = apr_palloc(c->r->pool, DETAIL_MAX);
    unsigned int len = DETAIL_MAX;
    apr_array_header_t *rows;
    const char **row;
    apr_uint64_t v;
    int again = 1;

    if (b2b_catalog_cache_get(c->s, key, buf, &len) == APR_SUCCESS
        && b2b_cq_detail_decode(buf, len, d) == 0) {
        return 1;
    }
    for (;;) {
        rows = cat_select(c, "b2b_catalog_detail", 1, &sku);
        if (!rows || rows->nelts != 1) {
            return -1;
        }
        row = APR_ARRAY_IDX(rows, 0, const char **);
        v = (apr_uint64_t)apr_atoi64(row[4]);
        if (again && v < c->content_v && cat_replica_behind(c) == 1) {
            again = 0;
            continue;
        }
        break;
    }
    if (!row[0] || !*row[0] || !row[3] || !*row[3]) {
        return 0;              /* no such card (NULLs arrive as "") */
    }
    d->version = v;
    d->product_id = apr_atoi64(row[0]);
    d->access_key = row[1] ? row[1] : "";
    d->brackets = row[2] ? row[2] : "";
    d->json = row[3];
    d->json_len = (uint32_t)strlen(row[3]);
    if (content_expiry(c)) {
        apr_size_t rl = b2b_cq_detail_encode(d, buf, DETAIL_MAX);
        if (rl && (!c->precise || v >= c->content_v)) {
            b2b_catalog_cache_put(c->s, key, buf, (unsigned int)rl, content_expiry(c),
                                  c->r->pool);
            /* The worker publishes a new version before it removes entries:
             * if a change newer than what we read was published meanwhile,
             * its removal may have come before our store. Take it back. */
            if (c->precise && apr_atomic_read64(&c->shm->content_version) > v) {
                b2b_catalog_cache_remove(c->s, key, c->r->pool);
            }
        }
    }
    return 1;
}

static int handle_product(b2b_req_t *req)
{
    request_rec *r = req->r;
    cat_ctx_t *c = apr_palloc(r->pool, sizeof(*c));
    char *sku = apr_pstrdup(r->pool, req->params[0]);
    b2b_cq_detail_t d;
    int32_t brackets[B2B_CQ_BRACKETS_MAX];
    apr_int64_t avail = 0;
    apr_time_t as_of;
    sbuf_t body;
    const char *price;
    int rc, nb, i;

    if (!b2b_cq_sku_normalize(sku)) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "product_not_found", "No such product.");
    }
    /* prices are never computed here: no pricing service, no cards */
    if (!APR_RETRIEVE_OPTIONAL_FN(b2b_pricing_quote)) {
        return pricing_unavailable(r);
    }
    if (cat_init(c, r, req->acting->id, req->acting->code) != 0) {
        return db_unavailable(r);
    }
    c->quote = APR_RETRIEVE_OPTIONAL_FN(b2b_pricing_quote);
    if (load_hidden(c) != 0) {
        return db_unavailable(r);
    }
    rc = load_detail(c, sku, &d);
    if (rc < 0) {
        return db_unavailable(r);
    }
    /* unknown and hidden look the same: existence does not leak */
    if (rc == 0 || b2b_cq_key_listed(c->hidden, d.access_key)) {
        return b2b_reply_error(r, HTTP_NOT_FOUND, "product_not_found", "No such product.");
    }
    if (load_stock(c, apr_psprintf(r->pool, "s|%" APR_INT64_T_FMT, d.product_id),
                   &d.product_id, 1, &avail, &as_of) != 0) {
        return db_unavailable(r);
    }
    if (c->db_open) {
        b2b_catalog_db_close(&c->db, 0);
    }
    price = price_json(c, sku, 1);
    if (c->pricing_down) {
        return pricing_unavailable(r);
    }
    sb_init(&body, r->pool, 2048 + d.json_len);
    card_open(&body, d.json, d.json_len);
    sb_str(&body, ",\"price\":");
    sb_str(&body, price);
    sb_str(&body, ",\"brackets\":[");
    nb = b2b_cq_brackets_valid(d.brackets, (int64_t)apr_time_sec(c->now), brackets,
                               B2B_CQ_BRACKETS_MAX);
    for (i = 0; i < nb; i++) {
        sb_str(&body, apr_psprintf(r->pool, "%s{\"min_qty\":%d,\"price\":%s}", i ? "," : "",
                                   (int)brackets[i], price_json(c, sku, brackets[i])));
    }
    sb_str(&body, "],");
    availability_json(&body, avail, as_of);
    sb_str(&body, apr_psprintf(r->pool, ",\"pricing_generation\":%" APR_UINT64_T_FMT "}",
                               c->generation));
    if (c->pricing_down) {
        return pricing_unavailable(r);
    }
    return send_cacheable(c, body.p, body.len);
}

/* ---- GET /catalog/categories --------------------------------------------------------------------- */

static int handle_categories(b2b_req_t *req)
{
    request_rec *r = req->r;
    cat_ctx_t *c = apr_palloc(r->pool, sizeof(*c));
    cat_tree_t tree;

    if (cat_init(c, r, req->acting->id, req->acting->code) != 0 || load_hidden(c) != 0
        || load_categories(c, &tree) != 0) {
        return db_unavailable(r);
    }
    if (c->db_open) {
        b2b_catalog_db_close(&c->db, 0);
    }
    return send_cacheable(c, tree.json, tree.json_len);
}

/* ---- for other modules ----------------------------------------------------------------------------- */

/* One context per request and account: a cart asks for every line, and the
 * hidden keys are read once. */
static cat_ctx_t *visible_ctx(request_rec *r, apr_int64_t account_id)
{
    static const char tag[] = "b2b-catalog-visible";
    cat_ctx_t *c = NULL;
    apr_pool_userdata_get((void **)&c, tag, r->pool);
    if (c && c->account_id == account_id) {
        return c;
    }
    c = apr_palloc(r->pool, sizeof(*c));
    if (cat_init(c, r, account_id, "") != 0 || load_hidden(c) != 0) {
        return NULL;
    }
    apr_pool_userdata_setn(c, tag, NULL, r->pool);
    return c;
}

static int b2b_catalog_visible(request_rec *r, apr_int64_t account_id, const char *sku)
{
    char *s = apr_pstrdup(r->pool, sku ? sku : "");
    char key[B2B_AIX_KEY_MAX];
    b2b_cq_detail_t d;
    cat_ctx_t *c;
    int rc;

    if (!b2b_cq_sku_normalize(s)) {
        return 0;
    }
    if (!(c = visible_ctx(r, account_id))) {
        return -1;
    }
    /* the index answers for exactly the version the worker published; while
     * it catches up, the content cache gives the same answer, slower */
    if (c->precise && (rc = b2b_catalog_index_key(c->content_v, s, key)) >= 0) {
        apr_atomic_inc64(&c->shm->index_answers);
        return rc && !b2b_cq_key_listed(c->hidden, key);
    }
    apr_atomic_inc64(&c->shm->index_fallbacks);
    rc = load_detail(c, s, &d);
    if (c->db_open) {
        b2b_catalog_db_close(&c->db, 0);
    }
    if (rc <= 0) {
        return rc;
    }
    return !b2b_cq_key_listed(c->hidden, d.access_key);
}

/* ---- GET /admin/status, section "catalog" ------------------------------------------------------------ */

static json_t *catalog_status(b2b_req_t *req)
{
    b2b_catalog_shm_t *shm = b2b_catalog_shm();
    server_rec *s = req->r->server;
    apr_time_t now = apr_time_now();
    apr_uint64_t polled = apr_atomic_read64(&shm->polled_us);
    apr_uint64_t hits = apr_atomic_read64(&shm->hits);
    apr_uint64_t misses = apr_atomic_read64(&shm->misses);
    static const char *const states[] = { "none", "unknown", "ok", "lagging", "down" };
    apr_uint32_t st = apr_atomic_read32(&shm->replica_state);
    apr_uint64_t checked = apr_atomic_read64(&shm->replica_checked_us);

    return json_pack("{s:I,s:I,s:I,s:o,s:{s:b,s:i,s:I,s:I,s:I,s:I,s:o},s:i,"
                     "s:{s:s,s:o,s:i,s:o,s:s},s:{s:I,s:I,s:I,s:I},"
                     "s:{s:b,s:I,s:I,s:I,s:I,s:b,s:I,s:I}}",
        "content_version", (json_int_t)apr_atomic_read64(&shm->content_version),
        "access_version", (json_int_t)apr_atomic_read64(&shm->access_version),
        "detail_epoch", (json_int_t)apr_atomic_read64(&shm->detail_epoch),
        "last_poll_ms_ago", polled ? json_integer((json_int_t)(now - (apr_time_t)polled) / 1000)
                                   : json_null(),
        "cache",
            "enabled", b2b_catalog_cache_on(),
            "ttl_seconds", b2b_catalog_content_ttl(s),
            "hits", (json_int_t)hits,
            "misses", (json_int_t)misses,
            "stores", (json_int_t)apr_atomic_read64(&shm->stores),
            "invalidations", (json_int_t)apr_atomic_read64(&shm->invalidations),
            "hit_rate", hits + misses ? json_real((double)hits / (double)(hits + misses))
                                      : json_null(),
        "inventory_max_age_seconds", b2b_catalog_inventory_max_age(s),
        "replica",
            "state", states[st < 5 ? st : 1],
            "lag_ms", st == B2B_REPLICA_NONE ? json_null()
                      : json_integer((json_int_t)apr_atomic_read64(&shm->replica_lag_ms)),
            "max_lag_seconds", b2b_catalog_replica_max_lag(s),
            "last_check_ms_ago", checked ? json_integer((json_int_t)(now - (apr_time_t)checked)
                                                        / 1000) : json_null(),
            "error", shm->replica_error,
        "reads",
            "primary", (json_int_t)apr_atomic_read64(&shm->reads_primary),
            "replica", (json_int_t)apr_atomic_read64(&shm->reads_replica),
            "replica_fallbacks", (json_int_t)apr_atomic_read64(&shm->replica_fallbacks),
            "stock", (json_int_t)apr_atomic_read64(&shm->stock_reads),
        "access_index",
            "in_service", apr_atomic_read32(&shm->index_active) <= 1,
            "version", (json_int_t)apr_atomic_read64(&shm->index_version),
            "products", (json_int_t)apr_atomic_read64(&shm->index_products),
            "bytes", (json_int_t)apr_atomic_read64(&shm->index_bytes),
            "build_ms", (json_int_t)apr_atomic_read64(&shm->index_build_ms),
            "too_big", apr_atomic_read32(&shm->index_too_big) != 0,
            "answers", (json_int_t)apr_atomic_read64(&shm->index_answers),
            "fallbacks", (json_int_t)apr_atomic_read64(&shm->index_fallbacks));
}

/* ---- registration ---------------------------------------------------------------------------------- */

void b2b_catalog_routes_register(void)
{
    b2b_route_add("GET", "/catalog/products", handle_products, 0);
    b2b_route_add("GET", "/catalog/products/{sku}", handle_product, 0);
    b2b_route_add("GET", "/catalog/categories", handle_categories, 0);
}

void b2b_catalog_register(apr_pool_t *pconf)
{
    b2b_catalog_cache_register(pconf);
    b2b_catalog_db_register();
    b2b_catalog_routes_register();
    b2b_catalog_bench_register();
    b2b_worker_task_add("catalog", b2b_catalog_worker_task, NULL);
    b2b_status_add("catalog", catalog_status);
    APR_REGISTER_OPTIONAL_FN(b2b_catalog_visible);
}
