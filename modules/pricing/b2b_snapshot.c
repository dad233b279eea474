/* b2b_snapshot.c — the rule compiler: input set -> one contiguous, read-only snapshot blob
 * (header + 64-byte aligned sections, offsets and indexes only, never pointers), and the
 * incremental rebuild that swaps the rules of one scope without re-reading the rest.
 *
 * Determinism: every section has a total sort order ending in the rule id (ids are unique),
 * the static sections are derived from sorted ids/codes, and padding is zeroed, so a given
 * set of rows always gives the same bytes — and an incremental rebuild gives the same bytes
 * as a full build of the same rows (the unit tests compare them).
 *
 * Layout: see b2b_pricing_private.h. Size/capacity are computed before the first byte is
 * written: "does not fit" never leaves a partial snapshot behind. */
#include "b2b_pricing_private.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const b2b_snap_currency_t *currencies;
    uint32_t ncurrencies;
    const char *strings;
    uint64_t strings_size;
    const b2b_snap_strref_t *names;
    uint32_t nnames;
    const b2b_snap_product_t *products;
    uint32_t nproducts;
    const b2b_snap_owner_t *groups;
    uint32_t ngroups;
    const b2b_snap_owner_t *price_lists;
    uint32_t nprice_lists;
    const b2b_snap_account_t *accounts;
    uint32_t naccounts;
    const b2b_snap_account_id_t *account_ids;
    const uint32_t *sku_hash;
    uint64_t sku_hash_cap;
    const uint32_t *account_hash;
    uint64_t account_hash_cap;
} view_t;

/* Heap storage behind a view during a full build. */
typedef struct {
    b2b_snap_currency_t *currencies;
    char *strings;
    b2b_snap_strref_t *names;
    b2b_snap_product_t *products;
    b2b_snap_owner_t *groups, *price_lists;
    b2b_snap_account_t *accounts;
    b2b_snap_account_id_t *account_ids;
    uint32_t *sku_hash, *account_hash;
} static_store_t;

typedef struct {
    b2b_snap_rule_t *v;
    size_t n, cap;
} narrow_vec_t;

typedef struct {
    b2b_snap_wide_t *v;
    size_t n, cap;
} wide_vec_t;

/* Promo code of a not-yet-finalised promo record. */
typedef struct {
    const char *s;
    uint32_t len;
} code_ref_t;

enum { NV_LISTS = 0, NV_TIERS, NV_PBRACKETS, NV_GBRACKETS, NV_CONTRACTS, NV_COUNT };
enum { WV_PROMOS = 0, WV_TAXES, WV_FX, WV_COUNT };
static const int narrow_section[NV_COUNT] = { B2B_SEC_LISTS, B2B_SEC_TIERS,
                                              B2B_SEC_PRODUCT_BRACKETS, B2B_SEC_GROUP_BRACKETS,
                                              B2B_SEC_CONTRACTS };
static const int wide_section[WV_COUNT] = { B2B_SEC_PROMOS, B2B_SEC_TAXES, B2B_SEC_FX };

typedef struct {
    const void *ptr;
    size_t count;
} chunk_t;

typedef struct {
    chunk_t chunk[3];
    int nchunks;
    size_t total;
} source_t;

typedef struct {
    narrow_vec_t nv[NV_COUNT];
    wide_vec_t wv[WV_COUNT];
    code_ref_t *promo_codes;          /* parallel to wv[WV_PROMOS] before finalisation */
    size_t promo_codes_cap;
    /* emission inputs */
    source_t nsrc[NV_COUNT];
    source_t wsrc[WV_COUNT];
    char *promo_strings;
    size_t promo_strings_size;
    b2b_snap_promo_code_t *promo_table;
    size_t npromo_codes;
    uint64_t dropped;
    /* key sections (tiers, contracts) and heap arrays behind them */
    source_t ksrc[2];
    uint32_t *keys_heap[2];
    /* account-scope fast path: contracts of accounts [lo, hi) replaced, others shifted */
    int contract_splice;
    uint32_t splice_lo, splice_hi;
    size_t splice_old_start, splice_old_end;
} rules_t;

static void rules_free(rules_t *r)
{
    for (int i = 0; i < NV_COUNT; i++)
        free(r->nv[i].v);
    for (int i = 0; i < WV_COUNT; i++)
        free(r->wv[i].v);
    free(r->promo_codes);
    free(r->keys_heap[0]);
    free(r->keys_heap[1]);
    free(r->promo_strings);
    free(r->promo_table);
}

static void store_free(static_store_t *s)
{
    free(s->currencies);
    free(s->strings);
    free(s->names);
    free(s->products);
    free(s->groups);
    free(s->price_lists);
    free(s->accounts);
    free(s->account_ids);
    free(s->sku_hash);
    free(s->account_hash);
}

/* qsort, but never with a NULL base (UB even for zero elements). */
static void sort_n(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

static int vec_reserve(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*v, n * elem);
    if (!p)
        return 0;
    *v = p;
    *cap = n;
    return 1;
}

static size_t align_up(size_t x)
{
    return (x + (B2B_SNAP_ALIGN - 1)) & ~(size_t)(B2B_SNAP_ALIGN - 1);
}

static uint64_t hash_cap_for(size_t n)
{
    uint64_t cap = 16;
    while (cap < (uint64_t)n * 2)
        cap *= 2;
    return cap;
}

/* ---- checksum: 8 lanes of the xxh64 round, 64 bytes per step (runs at memory speed) ---- */

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL

static inline uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

typedef struct {
    uint64_t h[8];
} cks_t;

static void cks_init(cks_t *c)
{
    for (int k = 0; k < 8; k++)
        c->h[k] = P1 * (uint64_t)(k + 1) + P2;
}

/* len must be a multiple of 64. */
static void cks_update(cks_t *c, const unsigned char *p, size_t len)
{
    uint64_t h[8];
    memcpy(h, c->h, sizeof h);
    for (size_t i = 0; i + 64 <= len; i += 64) {
        uint64_t w[8];
        memcpy(w, p + i, 64);
        for (int k = 0; k < 8; k++)
            h[k] = rotl64(h[k] + w[k] * P2, 31) * P1;
    }
    memcpy(c->h, h, sizeof h);
}

static uint64_t cks_final(const cks_t *c, uint64_t size)
{
    uint64_t h = size;
    for (int k = 0; k < 8; k++)
        h += rotl64(c->h[k], 1 + 7 * k);
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P1;
    h ^= h >> 32;
    return h;
}

uint64_t b2b_checksum(const void *data, size_t size)
{
    cks_t c;
    cks_init(&c);
    size_t whole = size & ~(size_t)63;
    cks_update(&c, data, whole);
    if (whole < size) {
        unsigned char tail[64] = { 0 };
        memcpy(tail, (const char *)data + whole, size - whole);
        cks_update(&c, tail, 64);
    }
    return cks_final(&c, size);
}

/* The blob's checksum, taken as if the header's checksum field were zero. */
static uint64_t snapshot_checksum(const void *blob, uint64_t total)
{
    unsigned char first[64];
    memcpy(first, blob, 64);
    memset(first + offsetof(b2b_snap_header_t, checksum), 0, 8);
    cks_t c;
    cks_init(&c);
    cks_update(&c, first, 64);
    cks_update(&c, (const unsigned char *)blob + 64, (size_t)total - 64);
    return cks_final(&c, total);
}

/* ---- view lookups (binary searches over sorted static sections) ---- */

static uint32_t find_product(const view_t *v, int64_t id)
{
    size_t lo = 0, hi = v->nproducts;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->products[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->nproducts && v->products[lo].id == id ? (uint32_t)lo : B2B_NONE32;
}

static uint32_t find_owner(const b2b_snap_owner_t *o, uint32_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (o[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && o[lo].id == id ? (uint32_t)lo : B2B_NONE32;
}

static uint32_t find_account_id(const view_t *v, int64_t id)
{
    size_t lo = 0, hi = v->naccounts;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->account_ids[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->naccounts && v->account_ids[lo].id == id ? v->account_ids[lo].index
                                                              : B2B_NONE32;
}

static uint16_t find_currency(const view_t *v, const char *code)
{
    size_t lo = 0, hi = v->ncurrencies;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp(v->currencies[mid].code, code, 3);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->ncurrencies && memcmp(v->currencies[lo].code, code, 3) == 0 ? (uint16_t)lo
                                                                               : B2B_NONE16;
}

static int strref_cmp(const char *base, b2b_snap_strref_t r, const char *s, size_t len)
{
    size_t n = r.length < len ? r.length : len;
    int c = memcmp(base + r.offset, s, n);
    if (c)
        return c;
    return r.length < len ? -1 : r.length > len ? 1 : 0;
}

/* name index, B2B_NONE32 for NULL/"", B2B_NEVER32 for a name nobody has. */
static uint32_t find_name(const view_t *v, const char *s)
{
    if (!s || !s[0])
        return B2B_NONE32;
    size_t len = strlen(s), lo = 0, hi = v->nnames;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strref_cmp(v->strings, v->names[mid], s, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->nnames && strref_cmp(v->strings, v->names[lo], s, len) == 0 ? (uint32_t)lo
                                                                             : B2B_NEVER32;
}

/* ---- comparators (each a total order ending in the unique rule id) ---- */

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

static int cmp_list(const void *pa, const void *pb)
{
    const b2b_snap_rule_t *a = pa, *b = pb;
    CMP(a->owner, b->owner);
    CMP(a->currency, b->currency);
    CMP(a->id, b->id);
    return 0;
}

static int cmp_ranked(const void *pa, const void *pb)
{
    const b2b_snap_rule_t *a = pa, *b = pb;
    CMP(a->owner, b->owner);
    CMP(a->rank, b->rank);
    CMP(a->target, b->target);
    CMP(a->id, b->id);
    return 0;
}

static int cmp_bracket(const void *pa, const void *pb)
{
    const b2b_snap_rule_t *a = pa, *b = pb;
    CMP(a->owner, b->owner);
    CMP(b->aux, a->aux);         /* highest min_qty first */
    CMP(a->id, b->id);
    return 0;
}

static int cmp_promo(const void *pa, const void *pb)
{
    const b2b_snap_wide_t *a = pa, *b = pb;
    CMP(a->owner, b->owner);
    CMP(a->rank, b->rank);
    CMP(a->id, b->id);
    return 0;
}

/* Within a country the most specific rules come first (rank 0: region and class, 1: region,
 * 2: class, 3: neither), so the resolver's first match is the answer. */
static int cmp_tax(const void *pa, const void *pb)
{
    const b2b_snap_wide_t *a = pa, *b = pb;
    CMP(a->owner, b->owner);
    CMP(a->rank, b->rank);
    CMP(a->id, b->id);
    return 0;
}

static int cmp_fx(const void *pa, const void *pb)
{
    const b2b_snap_wide_t *a = pa, *b = pb;
    CMP(a->owner, b->owner);
    CMP(a->a, b->a);
    CMP(a->id, b->id);
    return 0;
}

typedef int (*cmp_fn)(const void *, const void *);
static const cmp_fn narrow_cmp[NV_COUNT] = { cmp_list, cmp_ranked, cmp_bracket, cmp_bracket,
                                             cmp_ranked };
static const cmp_fn wide_cmp[WV_COUNT] = { cmp_promo, cmp_tax, cmp_fx };

/* ---- compiling one input rule against a view ---- */

static b2b_snap_rule_t *push_narrow(rules_t *r, int which)
{
    narrow_vec_t *vec = &r->nv[which];
    if (!vec_reserve((void **)&vec->v, &vec->cap, vec->n + 1, sizeof *vec->v))
        return NULL;
    b2b_snap_rule_t *rec = &vec->v[vec->n++];
    memset(rec, 0, sizeof *rec);
    return rec;
}

static b2b_snap_wide_t *push_wide(rules_t *r, int which)
{
    wide_vec_t *vec = &r->wv[which];
    if (!vec_reserve((void **)&vec->v, &vec->cap, vec->n + 1, sizeof *vec->v))
        return NULL;
    b2b_snap_wide_t *rec = &vec->v[vec->n++];
    memset(rec, 0, sizeof *rec);
    return rec;
}

/* Price-or-discount payload; returns 0 if the rule's currency is unknown. */
static int set_payload(const view_t *v, const b2b_in_rule_t *in, b2b_snap_rule_t *rec)
{
    rec->id = in->id;
    rec->valid_from = in->valid_from;
    rec->valid_to = in->valid_to;
    if (in->has & B2B_RULE_HAS_PRICE) {
        rec->currency = find_currency(v, in->currency);
        if (rec->currency == B2B_NONE16)
            return 0;
        rec->value = in->value;
    } else {
        rec->currency = B2B_NONE16;
        rec->flags = B2B_RF_DISCOUNT;
        rec->value = in->discount_bp;
    }
    return 1;
}

/* Product-or-group target: rank 0 sku, 1 group, 2 all; 0 if the reference is unknown. */
static int set_target(const view_t *v, const b2b_in_rule_t *in, b2b_snap_rule_t *rec)
{
    if (in->product_id) {
        rec->rank = 0;
        rec->target = find_product(v, in->product_id);
    } else if (in->product_group_id) {
        rec->rank = 1;
        rec->target = find_owner(v->groups, v->ngroups, in->product_group_id);
    } else {
        rec->rank = 2;
        rec->target = 0;
    }
    return rec->target != B2B_NONE32;
}

/* Returns 1 compiled, 0 dropped (unknown reference), -1 out of memory. */
static int compile_rule(rules_t *r, const view_t *v, const b2b_input_t *in, const b2b_in_rule_t *x)
{
    b2b_snap_rule_t tmp;
    memset(&tmp, 0, sizeof tmp);
    int which = -1;
    switch (x->kind) {
    case B2B_KIND_LIST:
        tmp.owner = find_product(v, x->product_id);
        if (tmp.owner == B2B_NONE32 || !set_payload(v, x, &tmp))
            return 0;
        which = NV_LISTS;
        break;
    case B2B_KIND_TIER:
        tmp.owner = find_owner(v->price_lists, v->nprice_lists, x->price_list_id);
        if (tmp.owner == B2B_NONE32 || !set_target(v, x, &tmp) || !set_payload(v, x, &tmp))
            return 0;
        which = NV_TIERS;
        break;
    case B2B_KIND_BRACKET:
        if (x->product_id) {
            tmp.owner = find_product(v, x->product_id);
            which = NV_PBRACKETS;
        } else {
            tmp.owner = find_owner(v->groups, v->ngroups, x->product_group_id);
            which = NV_GBRACKETS;
        }
        tmp.aux = (uint32_t)x->min_qty;
        if (tmp.owner == B2B_NONE32 || !set_payload(v, x, &tmp))
            return 0;
        break;
    case B2B_KIND_CONTRACT:
        tmp.owner = find_account_id(v, x->account_id);
        if (tmp.owner == B2B_NONE32 || !set_target(v, x, &tmp) || !set_payload(v, x, &tmp))
            return 0;
        which = NV_CONTRACTS;
        break;
    default:
        break;
    }
    if (which >= 0) {
        b2b_snap_rule_t *rec = push_narrow(r, which);
        if (!rec)
            return -1;
        *rec = tmp;
        return 1;
    }
    b2b_snap_wide_t w;
    memset(&w, 0, sizeof w);
    w.id = x->id;
    w.valid_from = x->valid_from;
    w.valid_to = x->valid_to;
    w.currency = B2B_NONE16;
    w.a = w.b = w.c = B2B_NONE32;
    switch (x->kind) {
    case B2B_KIND_PROMO: {
        if (x->account_id && (w.a = find_account_id(v, x->account_id)) == B2B_NONE32)
            return 0;
        if (x->product_id && (w.b = find_product(v, x->product_id)) == B2B_NONE32)
            return 0;
        if (x->product_group_id &&
            (w.c = find_owner(v->groups, v->ngroups, x->product_group_id)) == B2B_NONE32)
            return 0;
        w.aux = (x->has & B2B_RULE_HAS_MIN_QTY) ? (uint32_t)x->min_qty : 0;
        w.rank = w.b != B2B_NONE32 ? 0 : w.c != B2B_NONE32 ? 1 : 2;
        if (x->has & B2B_RULE_HAS_AMOUNT_OFF) {
            if ((w.currency = find_currency(v, x->currency)) == B2B_NONE16)
                return 0;
            w.flags = B2B_RF_AMOUNT_OFF;
            w.value = x->value;
        } else {
            w.flags = B2B_RF_DISCOUNT;
            w.value = x->discount_bp;
        }
        if (x->stackable)
            w.flags |= B2B_RF_STACKABLE;
        if (!vec_reserve((void **)&r->promo_codes, &r->promo_codes_cap, r->wv[WV_PROMOS].n + 1,
                         sizeof *r->promo_codes))
            return -1;
        const char *code = b2b_input_str(in, x->promo_code);
        r->promo_codes[r->wv[WV_PROMOS].n].s = code;
        r->promo_codes[r->wv[WV_PROMOS].n].len = (uint32_t)strlen(code);
        which = WV_PROMOS;
        break;
    }
    case B2B_KIND_TAX:
        w.owner = b2b_country_key(x->country);
        w.a = x->region ? find_name(v, b2b_input_str(in, x->region)) : B2B_NONE32;
        w.b = x->tax_class ? find_name(v, b2b_input_str(in, x->tax_class)) : B2B_NONE32;
        w.rank = (uint8_t)((x->region ? 0 : 2) + (x->tax_class ? 0 : 1));
        w.value = x->rate_bp;
        which = WV_TAXES;
        break;
    case B2B_KIND_FX: {
        uint16_t from = find_currency(v, x->currency), to = find_currency(v, x->to_currency);
        if (from == B2B_NONE16 || to == B2B_NONE16)
            return 0;
        w.owner = from;
        w.a = to;
        w.value = x->value;
        which = WV_FX;
        break;
    }
    default:
        return 0;
    }
    b2b_snap_wide_t *rec = push_wide(r, which);
    if (!rec)
        return -1;
    *rec = w;
    return 1;
}

/* ---- promo finalisation: codes sorted by bytes, owner = code rank ---- */

typedef struct {
    code_ref_t code;
    size_t index;
} promo_sort_t;

static int cmp_code(const void *pa, const void *pb)
{
    const promo_sort_t *a = pa, *b = pb;
    size_t n = a->code.len < b->code.len ? a->code.len : b->code.len;
    int c = memcmp(a->code.s, b->code.s, n);
    if (c)
        return c;
    CMP(a->code.len, b->code.len);
    CMP(a->index, b->index);
    return 0;
}

static b2b_status_t finalize_promos(rules_t *r)
{
    wide_vec_t *p = &r->wv[WV_PROMOS];
    if (p->n == 0)
        return B2B_OK;
    promo_sort_t *order = malloc(p->n * sizeof *order);
    if (!order)
        return B2B_ERR_NO_MEMORY;
    for (size_t i = 0; i < p->n; i++) {
        order[i].code = r->promo_codes[i];
        order[i].index = i;
    }
    sort_n(order, p->n, sizeof *order, cmp_code);
    size_t strings = 0, ncodes = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (i == 0 || order[i].code.len != order[i - 1].code.len ||
            memcmp(order[i].code.s, order[i - 1].code.s, order[i].code.len) != 0) {
            ncodes++;
            strings += order[i].code.len;
        }
    }
    r->promo_strings = calloc(strings ? strings : 1, 1);
    r->promo_table = calloc(ncodes, sizeof *r->promo_table);
    if (!r->promo_strings || !r->promo_table) {
        free(order);
        return B2B_ERR_NO_MEMORY;
    }
    size_t code = 0, off = 0;
    for (size_t i = 0; i < p->n; i++) {
        int fresh = i == 0 || order[i].code.len != order[i - 1].code.len ||
                    memcmp(order[i].code.s, order[i - 1].code.s, order[i].code.len) != 0;
        if (fresh && i > 0)
            code++;
        if (fresh) {
            memcpy(r->promo_strings + off, order[i].code.s, order[i].code.len);
            r->promo_table[code].code.offset = (uint32_t)off;
            r->promo_table[code].code.length = order[i].code.len;
            off += order[i].code.len;
        }
        p->v[order[i].index].owner = (uint32_t)code;
    }
    r->npromo_codes = ncodes;
    r->promo_strings_size = strings;
    free(order);
    sort_n(p->v, p->n, sizeof *p->v, cmp_promo);
    return B2B_OK;
}

/* ---- emission ---- */

static const size_t narrow_rec = sizeof(b2b_snap_rule_t), wide_rec = sizeof(b2b_snap_wide_t);

typedef struct {
    uint64_t size[B2B_SEC_COUNT];
    uint64_t count[B2B_SEC_COUNT];
    uint64_t offset[B2B_SEC_COUNT];
    uint64_t total;
} layout_t;

static void plan(layout_t *L, const view_t *v, const rules_t *r)
{
    memset(L, 0, sizeof *L);
#define SET(sec, n, elem) (L->count[sec] = (n), L->size[sec] = (uint64_t)(n) * (elem))
    SET(B2B_SEC_CURRENCIES, v->ncurrencies, sizeof(b2b_snap_currency_t));
    SET(B2B_SEC_STRINGS, v->strings_size, 1);
    SET(B2B_SEC_NAMES, v->nnames, sizeof(b2b_snap_strref_t));
    SET(B2B_SEC_PRODUCTS, v->nproducts, sizeof(b2b_snap_product_t));
    SET(B2B_SEC_GROUPS, v->ngroups, sizeof(b2b_snap_owner_t));
    SET(B2B_SEC_PRICE_LISTS, v->nprice_lists, sizeof(b2b_snap_owner_t));
    SET(B2B_SEC_ACCOUNTS, v->naccounts, sizeof(b2b_snap_account_t));
    SET(B2B_SEC_ACCOUNT_IDS, v->naccounts, sizeof(b2b_snap_account_id_t));
    SET(B2B_SEC_SKU_HASH, v->sku_hash_cap, sizeof(uint32_t));
    SET(B2B_SEC_ACCOUNT_HASH, v->account_hash_cap, sizeof(uint32_t));
    for (int i = 0; i < NV_COUNT; i++)
        SET(narrow_section[i], r->nsrc[i].total, narrow_rec);
    SET(B2B_SEC_PROMO_STRINGS, r->promo_strings_size, 1);
    SET(B2B_SEC_PROMO_CODES, r->npromo_codes, sizeof(b2b_snap_promo_code_t));
    for (int i = 0; i < WV_COUNT; i++)
        SET(wide_section[i], r->wsrc[i].total, wide_rec);
    SET(B2B_SEC_TIER_KEYS, r->nsrc[NV_TIERS].total, sizeof(uint32_t));
    SET(B2B_SEC_CONTRACT_KEYS, r->nsrc[NV_CONTRACTS].total, sizeof(uint32_t));
    SET(B2B_SEC_CONTRACT_BLOOM, v->naccounts, sizeof(b2b_snap_bloom_t));
#undef SET
    uint64_t off = align_up(sizeof(b2b_snap_header_t));
    for (int s = 0; s < B2B_SEC_COUNT; s++) {
        L->offset[s] = off;
        off = align_up(off + L->size[s]);
    }
    L->total = off;
}

/* Sequential writer that hashes what it wrote while it is still in cache: one pass over
 * the destination, at memcpy speed, instead of a copy pass and a checksum pass. */
typedef struct {
    char *base;
    size_t cursor, hashed;
    cks_t cks;
} writer_t;

#define WRITE_STEP ((size_t)128 * 1024)

static void writer_hash(writer_t *w)
{
    size_t upto = w->cursor & ~(size_t)63;
    if (upto > w->hashed) {
        cks_update(&w->cks, (const unsigned char *)w->base + w->hashed, upto - w->hashed);
        w->hashed = upto;
    }
}

#if defined(__SSE2__)
#include <emmintrin.h>
/* Large copies bypass the cache (streaming stores: no read-for-ownership of the destination,
 * which nobody reads during the build) and hash the words on the way. */
static size_t writer_stream(writer_t *w, const char *p, size_t len)
{
    size_t n = len & ~(size_t)63;
    uint64_t h[8];
    memcpy(h, w->cks.h, sizeof h);
    char *d = w->base + w->cursor;
    for (size_t i = 0; i < n; i += 64) {
        __m128i x0 = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i x1 = _mm_loadu_si128((const __m128i *)(p + i + 16));
        __m128i x2 = _mm_loadu_si128((const __m128i *)(p + i + 32));
        __m128i x3 = _mm_loadu_si128((const __m128i *)(p + i + 48));
        _mm_stream_si128((__m128i *)(d + i), x0);
        _mm_stream_si128((__m128i *)(d + i + 16), x1);
        _mm_stream_si128((__m128i *)(d + i + 32), x2);
        _mm_stream_si128((__m128i *)(d + i + 48), x3);
        uint64_t wd[8];
        memcpy(wd, p + i, 64);
        for (int k = 0; k < 8; k++)
            h[k] = rotl64(h[k] + wd[k] * P2, 31) * P1;
    }
    memcpy(w->cks.h, h, sizeof h);
    w->cursor += n;
    w->hashed += n;
    return n;
}
#endif

static void writer_put(writer_t *w, const void *src, size_t len)
{
    const char *p = src;
#if defined(__SSE2__)
    if (len >= WRITE_STEP && ((uintptr_t)w->base & 63u) == 0) {
        size_t head = (64 - (w->cursor & 63)) & 63;   /* up to the next 64-byte boundary */
        if (head) {
            memcpy(w->base + w->cursor, p, head);
            w->cursor += head;
            p += head;
            len -= head;
        }
        writer_hash(w);                                /* now hashed == cursor */
        size_t done = writer_stream(w, p, len);
        p += done;
        len -= done;
    }
#endif
    while (len) {
        size_t n = len < WRITE_STEP ? len : WRITE_STEP;
        memcpy(w->base + w->cursor, p, n);
        w->cursor += n;
        p += n;
        len -= n;
        writer_hash(w);
    }
}

static void writer_zero_to(writer_t *w, size_t end)
{
    while (w->cursor < end) {
        size_t n = end - w->cursor < WRITE_STEP ? end - w->cursor : WRITE_STEP;
        memset(w->base + w->cursor, 0, n);
        w->cursor += n;
        writer_hash(w);
    }
}

static void writer_source(writer_t *w, const source_t *src, size_t rec)
{
    for (int c = 0; c < src->nchunks; c++)
        if (src->chunk[c].count)
            writer_put(w, src->chunk[c].ptr, src->chunk[c].count * rec);
}

/* Per-owner [start, count) of a narrow source, stored in an owner table (heap copy). */
static void ranges_narrow(const source_t *src, void *table, size_t stride, size_t start_off,
                          size_t count_off)
{
    size_t idx = 0;
    for (int c = 0; c < src->nchunks; c++) {
        const b2b_snap_rule_t *recs = src->chunk[c].ptr;
        for (size_t i = 0; i < src->chunk[c].count; i++, idx++) {
            char *row = (char *)table + (size_t)recs[i].owner * stride;
            uint32_t *count = (uint32_t *)(row + count_off);
            if ((*count)++ == 0)
                *(uint32_t *)(row + start_off) = (uint32_t)idx;
        }
    }
}

static void *dup_table(const void *src, size_t n, size_t elem)
{
    void *p = malloc(n * elem + 1);
    if (p && n)
        memcpy(p, src, n * elem);
    return p;
}

static b2b_status_t emit(const view_t *v, rules_t *r, uint64_t generation, const void *old,
                         void *buf, size_t capacity, b2b_build_stats_t *stats)
{
    layout_t L;
    plan(&L, v, r);
    uint64_t rule_count = 0;
    for (int i = 0; i < NV_COUNT; i++)
        rule_count += r->nsrc[i].total;
    for (int i = 0; i < WV_COUNT; i++)
        rule_count += r->wsrc[i].total;
    if (stats) {
        stats->size = L.total;
        stats->rules = rule_count;
        stats->dropped = r->dropped;
    }
    if (!buf || L.total > capacity)
        return B2B_ERR_DOES_NOT_FIT;
    if (((uintptr_t)buf & 7u) != 0)
        return B2B_ERR_BAD_ARGUMENT;

    /* Owner tables with their final ranges, prepared before the first byte is written. */
    b2b_snap_product_t *products = dup_table(v->products, v->nproducts, sizeof *products);
    b2b_snap_owner_t *groups = dup_table(v->groups, v->ngroups, sizeof *groups);
    b2b_snap_owner_t *lists = dup_table(v->price_lists, v->nprice_lists, sizeof *lists);
    b2b_snap_account_t *accounts = dup_table(v->accounts, v->naccounts, sizeof *accounts);
    if (!products || !groups || !lists || !accounts) {
        free(products);
        free(groups);
        free(lists);
        free(accounts);
        return B2B_ERR_NO_MEMORY;
    }
    for (uint32_t i = 0; i < v->nproducts; i++)
        products[i].list_start = products[i].list_count = products[i].bracket_start =
            products[i].bracket_count = 0;
    for (uint32_t i = 0; i < v->ngroups; i++)
        groups[i].bracket_start = groups[i].bracket_count = 0;
    for (uint32_t i = 0; i < v->nprice_lists; i++)
        lists[i].bracket_start = lists[i].bracket_count = 0;
    ranges_narrow(&r->nsrc[NV_LISTS], products, sizeof *products,
                  offsetof(b2b_snap_product_t, list_start), offsetof(b2b_snap_product_t, list_count));
    ranges_narrow(&r->nsrc[NV_PBRACKETS], products, sizeof *products,
                  offsetof(b2b_snap_product_t, bracket_start),
                  offsetof(b2b_snap_product_t, bracket_count));
    ranges_narrow(&r->nsrc[NV_GBRACKETS], groups, sizeof *groups,
                  offsetof(b2b_snap_owner_t, bracket_start), offsetof(b2b_snap_owner_t, bracket_count));
    ranges_narrow(&r->nsrc[NV_TIERS], lists, sizeof *lists, offsetof(b2b_snap_owner_t, bracket_start),
                  offsetof(b2b_snap_owner_t, bracket_count));
    if (r->contract_splice) {
        /* Only [lo, hi) changed: recount them from the new records, shift the rest. */
        const b2b_snap_account_t *oacc = b2b_snap_section(old, B2B_SEC_ACCOUNTS);
        size_t removed = r->splice_old_end - r->splice_old_start;
        const chunk_t *fresh = &r->nsrc[NV_CONTRACTS].chunk[1];
        for (uint32_t i = r->splice_lo; i < r->splice_hi; i++)
            accounts[i].contract_start = accounts[i].contract_count = 0;
        const b2b_snap_rule_t *recs = fresh->ptr;
        for (size_t i = 0; i < fresh->count; i++) {
            b2b_snap_account_t *a = &accounts[recs[i].owner];
            if (a->contract_count++ == 0)
                a->contract_start = (uint32_t)(r->splice_old_start + i);
        }
        for (uint32_t i = r->splice_hi; i < v->naccounts; i++)
            if (oacc[i].contract_count)
                accounts[i].contract_start =
                    (uint32_t)(oacc[i].contract_start - removed + fresh->count);
    } else {
        for (uint32_t i = 0; i < v->naccounts; i++)
            accounts[i].contract_start = accounts[i].contract_count = 0;
        ranges_narrow(&r->nsrc[NV_CONTRACTS], accounts, sizeof *accounts,
                      offsetof(b2b_snap_account_t, contract_start),
                      offsetof(b2b_snap_account_t, contract_count));
    }
    /* Contract blooms: recomputed for the accounts whose contracts changed, copied for the
     * rest (splice), or computed from all keys. */
    b2b_snap_bloom_t *blooms = calloc(v->naccounts ? v->naccounts : 1, sizeof *blooms);
    if (!blooms) {
        free(products);
        free(groups);
        free(lists);
        free(accounts);
        return B2B_ERR_NO_MEMORY;
    }
    {
        const source_t *ks = &r->ksrc[1];
        uint32_t from = 0, to = v->naccounts;
        if (r->contract_splice) {
            const b2b_snap_bloom_t *ob = b2b_snap_section(old, B2B_SEC_CONTRACT_BLOOM);
            memcpy(blooms, ob, (size_t)v->naccounts * sizeof *blooms);
            from = r->splice_lo;
            to = r->splice_hi;
        }
        for (uint32_t a = from; a < to; a++) {
            memset(&blooms[a], 0, sizeof blooms[a]);
            size_t k = accounts[a].contract_start, end = k + accounts[a].contract_count;
            /* keys of [k, end) across the key chunks */
            size_t base = 0;
            for (int c = 0; c < ks->nchunks && k < end; c++) {
                const uint32_t *keys = ks->chunk[c].ptr;
                size_t n = ks->chunk[c].count;
                for (; k < end && k < base + n; k++)
                    b2b_bloom_add(&blooms[a], keys[k - base]);
                base += n;
            }
        }
    }
    for (size_t i = 0; i < r->npromo_codes; i++)
        r->promo_table[i].start = r->promo_table[i].count = 0;
    {
        size_t idx = 0;
        const source_t *ps = &r->wsrc[WV_PROMOS];
        for (int c = 0; c < ps->nchunks; c++) {
            const b2b_snap_wide_t *recs = ps->chunk[c].ptr;
            for (size_t i = 0; i < ps->chunk[c].count; i++, idx++) {
                b2b_snap_promo_code_t *pc = &r->promo_table[recs[i].owner];
                if (pc->count++ == 0)
                    pc->start = (uint32_t)idx;
            }
        }
    }

    b2b_snap_header_t hdr;
    memset(&hdr, 0, sizeof hdr);
    memcpy(hdr.magic, B2B_SNAP_MAGIC, 8);
    hdr.version = B2B_SNAP_VERSION;
    hdr.header_size = (uint32_t)sizeof(b2b_snap_header_t);
    hdr.generation = generation;
    hdr.total_size = L.total;
    hdr.rule_count = rule_count;
    for (int s = 0; s < B2B_SEC_COUNT; s++) {
        hdr.sections[s].offset = L.offset[s];
        hdr.sections[s].size = L.size[s];
        hdr.sections[s].count = L.count[s];
    }
    writer_t w;
    w.base = buf;
    w.cursor = w.hashed = 0;
    cks_init(&w.cks);
    writer_put(&w, &hdr, sizeof hdr);     /* checksum field is 0 while hashed */
    const void *statics[10] = { v->currencies, v->strings, v->names, products, groups, lists,
                                accounts, v->account_ids, v->sku_hash, v->account_hash };
    for (int s = 0; s < B2B_SEC_COUNT; s++) {
        writer_zero_to(&w, L.offset[s]);
        if (s <= B2B_SEC_ACCOUNT_HASH) {
            if (L.size[s])
                writer_put(&w, statics[s], L.size[s]);
            continue;
        }
        switch (s) {
        case B2B_SEC_LISTS: writer_source(&w, &r->nsrc[NV_LISTS], narrow_rec); break;
        case B2B_SEC_TIERS: writer_source(&w, &r->nsrc[NV_TIERS], narrow_rec); break;
        case B2B_SEC_PRODUCT_BRACKETS: writer_source(&w, &r->nsrc[NV_PBRACKETS], narrow_rec); break;
        case B2B_SEC_GROUP_BRACKETS: writer_source(&w, &r->nsrc[NV_GBRACKETS], narrow_rec); break;
        case B2B_SEC_CONTRACTS: writer_source(&w, &r->nsrc[NV_CONTRACTS], narrow_rec); break;
        case B2B_SEC_PROMO_STRINGS:
            if (r->promo_strings_size)
                writer_put(&w, r->promo_strings, r->promo_strings_size);
            break;
        case B2B_SEC_PROMO_CODES:
            if (r->npromo_codes)
                writer_put(&w, r->promo_table, r->npromo_codes * sizeof(b2b_snap_promo_code_t));
            break;
        case B2B_SEC_PROMOS: writer_source(&w, &r->wsrc[WV_PROMOS], wide_rec); break;
        case B2B_SEC_TAXES: writer_source(&w, &r->wsrc[WV_TAXES], wide_rec); break;
        case B2B_SEC_FX: writer_source(&w, &r->wsrc[WV_FX], wide_rec); break;
        case B2B_SEC_TIER_KEYS: writer_source(&w, &r->ksrc[0], sizeof(uint32_t)); break;
        case B2B_SEC_CONTRACT_KEYS: writer_source(&w, &r->ksrc[1], sizeof(uint32_t)); break;
        case B2B_SEC_CONTRACT_BLOOM:
            if (L.size[s])
                writer_put(&w, blooms, L.size[s]);
            break;
        default: break;
        }
    }
    writer_zero_to(&w, L.total);
#if defined(__SSE2__)
    _mm_sfence();          /* streaming stores complete before the caller publishes */
#endif
    ((b2b_snap_header_t *)buf)->checksum = cks_final(&w.cks, L.total);
    free(blooms);
    free(products);
    free(groups);
    free(lists);
    free(accounts);
    return B2B_OK;
}

/* Keys (rank << 30 | target) of a ranked narrow source, into a heap array. */
static b2b_status_t keys_from_source(rules_t *r, int which_key, const source_t *src)
{
    uint32_t *k = malloc((src->total + 1) * sizeof *k);
    if (!k)
        return B2B_ERR_NO_MEMORY;
    size_t n = 0;
    for (int c = 0; c < src->nchunks; c++) {
        const b2b_snap_rule_t *recs = src->chunk[c].ptr;
        for (size_t i = 0; i < src->chunk[c].count; i++)
            k[n++] = B2B_KEY(recs[i].rank, recs[i].target);
    }
    free(r->keys_heap[which_key]);
    r->keys_heap[which_key] = k;
    memset(&r->ksrc[which_key], 0, sizeof r->ksrc[which_key]);
    r->ksrc[which_key].chunk[0].ptr = k;
    r->ksrc[which_key].chunk[0].count = n;
    r->ksrc[which_key].nchunks = 1;
    r->ksrc[which_key].total = n;
    return B2B_OK;
}

static void source_from_vec(source_t *s, const void *v, size_t n)
{
    memset(s, 0, sizeof *s);
    s->chunk[0].ptr = v;
    s->chunk[0].count = n;
    s->nchunks = 1;
    s->total = n;
}

/* ---- full build: static sections ---- */

typedef struct {
    int64_t key1, key2;
    uint32_t index;
} sort_ent_t;

static int cmp_ent(const void *pa, const void *pb)
{
    const sort_ent_t *a = pa, *b = pb;
    CMP(a->key1, b->key1);
    CMP(a->key2, b->key2);
    CMP(a->index, b->index);
    return 0;
}

typedef struct {
    const char *s;
    uint32_t len;
} name_ent_t;

static int cmp_name(const void *pa, const void *pb)
{
    const name_ent_t *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    if (c)
        return c;
    CMP(a->len, b->len);
    return 0;
}

static int cmp_i64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    CMP(a, b);
    return 0;
}

static int cmp_currency(const void *pa, const void *pb)
{
    return memcmp(((const b2b_snap_currency_t *)pa)->code, ((const b2b_snap_currency_t *)pb)->code,
                  3);
}

/* Distinct sorted non-zero ids -> owner table. */
static b2b_snap_owner_t *owner_table(int64_t *ids, size_t n, uint32_t *out_n)
{
    sort_n(ids, n, sizeof *ids, cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] != 0 && (k == 0 || ids[k - 1] != ids[i]))
            ids[k++] = ids[i];
    b2b_snap_owner_t *t = calloc(k ? k : 1, sizeof *t);
    if (!t)
        return NULL;
    for (size_t i = 0; i < k; i++)
        t[i].id = ids[i];
    *out_n = (uint32_t)k;
    return t;
}

static int hash_insert(uint32_t *table, uint64_t cap, const char *strings,
                       b2b_snap_strref_t key, uint32_t index, const b2b_snap_strref_t *(*ref_of)(
                           const void *, uint32_t), const void *ctx)
{
    uint64_t j = b2b_hash_bytes(strings + key.offset, key.length) & (cap - 1);
    while (table[j]) {
        const b2b_snap_strref_t *other = ref_of(ctx, table[j] - 1);
        if (other->length == key.length &&
            memcmp(strings + other->offset, strings + key.offset, key.length) == 0)
            return 0;
        j = (j + 1) & (cap - 1);
    }
    table[j] = index + 1;
    return 1;
}

static const b2b_snap_strref_t *product_ref(const void *ctx, uint32_t i)
{
    return &((const b2b_snap_product_t *)ctx)[i].sku;
}

static const b2b_snap_strref_t *account_ref(const void *ctx, uint32_t i)
{
    return &((const b2b_snap_account_t *)ctx)[i].code;
}

static b2b_status_t build_statics(const b2b_input_t *in, static_store_t *st, view_t *v)
{
    memset(st, 0, sizeof *st);
    memset(v, 0, sizeof *v);
    size_t na = in->naccounts, np = in->nproducts;
    if (na >= 0x7FFFFFF0u || np >= B2B_MAX_TARGET)
        return B2B_ERR_TOO_MANY;
    /* currencies */
    st->currencies = calloc(in->ncurrencies ? in->ncurrencies : 1, sizeof *st->currencies);
    if (!st->currencies)
        return B2B_ERR_NO_MEMORY;
    for (size_t i = 0; i < in->ncurrencies; i++) {
        memcpy(st->currencies[i].code, in->currencies[i].code, 3);
        st->currencies[i].digits = (uint8_t)in->currencies[i].digits;
    }
    sort_n(st->currencies, in->ncurrencies, sizeof *st->currencies, cmp_currency);
    v->currencies = st->currencies;
    v->ncurrencies = (uint32_t)in->ncurrencies;

    /* names: distinct regions and tax classes, sorted by bytes */
    name_ent_t *names = malloc((na + np + 1) * sizeof *names);
    if (!names)
        return B2B_ERR_NO_MEMORY;
    size_t nn = 0;
    for (size_t i = 0; i < na; i++)
        if (in->accounts[i].region) {
            names[nn].s = b2b_input_str(in, in->accounts[i].region);
            names[nn].len = (uint32_t)strlen(names[nn].s);
            nn++;
        }
    for (size_t i = 0; i < np; i++) {
        names[nn].s = b2b_input_str(in, in->products[i].tax_class);
        names[nn].len = (uint32_t)strlen(names[nn].s);
        nn++;
    }
    sort_n(names, nn, sizeof *names, cmp_name);
    size_t k = 0;
    for (size_t i = 0; i < nn; i++)
        if (k == 0 || cmp_name(&names[k - 1], &names[i]) != 0)
            names[k++] = names[i];
    nn = k;

    /* string section size */
    uint64_t ssize = 0;
    for (size_t i = 0; i < np; i++)
        ssize += strlen(b2b_input_str(in, in->products[i].sku));
    for (size_t i = 0; i < na; i++)
        ssize += strlen(b2b_input_str(in, in->accounts[i].code));
    for (size_t i = 0; i < nn; i++)
        ssize += names[i].len;
    if (ssize >= UINT32_MAX) {
        free(names);
        return B2B_ERR_TOO_MANY;
    }
    st->strings = malloc(ssize ? ssize : 1);
    st->names = calloc(nn ? nn : 1, sizeof *st->names);
    st->products = calloc(np ? np : 1, sizeof *st->products);
    st->accounts = calloc(na ? na : 1, sizeof *st->accounts);
    st->account_ids = calloc(na ? na : 1, sizeof *st->account_ids);
    sort_ent_t *ents = malloc(((na > np ? na : np) + 1) * sizeof *ents);
    int64_t *ids = malloc(((na > np ? na : np) + 1) * sizeof *ids);
    b2b_status_t status = B2B_OK;
    uint32_t *pre = NULL, *stack = NULL, *order_of = NULL, *size_of = NULL;
    if (!st->strings || !st->names || !st->products || !st->accounts || !st->account_ids ||
        !ents || !ids) {
        status = B2B_ERR_NO_MEMORY;
        goto out;
    }
    uint32_t soff = 0;

    /* products by id */
    for (size_t i = 0; i < np; i++) {
        ents[i].key1 = in->products[i].id;
        ents[i].key2 = 0;
        ents[i].index = (uint32_t)i;
    }
    sort_n(ents, np, sizeof *ents, cmp_ent);
    for (size_t i = 0; i < np; i++) {
        if (i > 0 && ents[i].key1 == ents[i - 1].key1) {
            status = B2B_ERR_DUPLICATE;
            goto out;
        }
        ids[i] = in->products[i].product_group_id;
    }
    st->groups = owner_table(ids, np, &v->ngroups);
    if (!st->groups) {
        status = B2B_ERR_NO_MEMORY;
        goto out;
    }
    v->groups = st->groups;
    v->names = st->names;
    v->nnames = (uint32_t)nn;
    v->strings = st->strings;
    for (size_t i = 0; i < np; i++) {
        const b2b_in_product_t *p = &in->products[ents[i].index];
        b2b_snap_product_t *o = &st->products[i];
        const char *sku = b2b_input_str(in, p->sku);
        o->id = p->id;
        o->sku.offset = soff;
        o->sku.length = (uint32_t)strlen(sku);
        memcpy(st->strings + soff, sku, o->sku.length);
        if (o->sku.length <= B2B_PRODUCT_INLINE) {
            o->key_len = (uint8_t)o->sku.length;
            memcpy(o->key, sku, o->sku.length);
        }
        soff += o->sku.length;
        o->group = p->product_group_id ? find_owner(st->groups, v->ngroups, p->product_group_id)
                                       : B2B_NONE32;
    }
    /* names go at the end of the string section; written after accounts */

    /* accounts: preorder over (parent_id, id) */
    for (size_t i = 0; i < na; i++) {
        ents[i].key1 = in->accounts[i].id;
        ents[i].key2 = 0;
        ents[i].index = (uint32_t)i;
    }
    sort_n(ents, na, sizeof *ents, cmp_ent);
    for (size_t i = 0; i < na; i++) {
        if (i > 0 && ents[i].key1 == ents[i - 1].key1) {
            status = B2B_ERR_DUPLICATE;
            goto out;
        }
        st->account_ids[i].id = ents[i].key1;
    }
    for (size_t i = 0; i < na; i++) {   /* every parent must exist */
        int64_t pid = in->accounts[i].parent_id;
        if (!pid)
            continue;
        size_t lo = 0, hi = na;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ents[mid].key1 < pid)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo >= na || ents[lo].key1 != pid) {
            status = B2B_ERR_BAD_TREE;
            goto out;
        }
    }
    for (size_t i = 0; i < na; i++) {
        ents[i].key1 = in->accounts[i].parent_id;
        ents[i].key2 = in->accounts[i].id;
        ents[i].index = (uint32_t)i;
    }
    sort_n(ents, na, sizeof *ents, cmp_ent);   /* children of P contiguous, by id */
    pre = malloc((na + 1) * sizeof *pre);       /* preorder position -> input index */
    stack = malloc((na + 1) * sizeof *stack);
    order_of = malloc((na + 1) * sizeof *order_of);   /* input index -> preorder position */
    size_of = malloc((na + 1) * sizeof *size_of);
    if (!pre || !stack || !order_of || !size_of) {
        status = B2B_ERR_NO_MEMORY;
        goto out;
    }
    size_t sp = 0, visited = 0;
    for (size_t i = na; i-- > 0;)
        if (ents[i].key1 == 0)
            stack[sp++] = (uint32_t)i;    /* positions in ents */
    while (sp > 0) {
        uint32_t e = stack[--sp];
        uint32_t idx = ents[e].index;
        order_of[idx] = (uint32_t)visited;
        pre[visited++] = idx;
        int64_t id = in->accounts[idx].id;
        size_t lo = 0, hi = na;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ents[mid].key1 < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t end = lo;
        while (end < na && ents[end].key1 == id)
            end++;
        if (sp + (end - lo) > na) {
            status = B2B_ERR_BAD_TREE;
            goto out;
        }
        for (size_t c = end; c-- > lo;)
            stack[sp++] = (uint32_t)c;
    }
    if (visited != na) {
        status = B2B_ERR_BAD_TREE;
        goto out;
    }
    for (size_t i = 0; i < na; i++)
        ids[i] = in->accounts[i].price_list_id;
    st->price_lists = owner_table(ids, na, &v->nprice_lists);
    if (!st->price_lists) {
        status = B2B_ERR_NO_MEMORY;
        goto out;
    }
    v->price_lists = st->price_lists;
    for (size_t pos = 0; pos < na; pos++) {
        const b2b_in_account_t *a = &in->accounts[pre[pos]];
        b2b_snap_account_t *o = &st->accounts[pos];
        const char *code = b2b_input_str(in, a->code);
        o->id = a->id;
        o->code.offset = soff;
        o->code.length = (uint32_t)strlen(code);
        memcpy(st->strings + soff, code, o->code.length);
        if (o->code.length <= B2B_ACCOUNT_INLINE) {
            o->key_len = (uint8_t)o->code.length;
            memcpy(o->key, code, o->code.length);
        }
        soff += o->code.length;
        o->parent = B2B_NONE32;     /* set below, once account_ids has its indexes */
        o->price_list = a->price_list_id ? find_owner(st->price_lists, v->nprice_lists,
                                                      a->price_list_id)
                                         : B2B_NONE32;
        o->currency = B2B_NONE16;
        for (uint32_t c = 0; c < v->ncurrencies; c++)
            if (memcmp(v->currencies[c].code, a->currency, 3) == 0)
                o->currency = (uint16_t)c;
        if (o->currency == B2B_NONE16) {
            status = B2B_ERR_UNKNOWN_CURRENCY;
            goto out;
        }
        memcpy(o->country, a->country, 2);
        o->tax_exempt = a->tax_exempt;
        o->region = B2B_NONE32;
        size_of[pos] = 1;
    }
    /* parents: input index of parent -> preorder position */
    for (size_t i = 0; i < na; i++) {
        ents[i].key1 = in->accounts[i].id;
        ents[i].key2 = 0;
        ents[i].index = (uint32_t)i;
    }
    sort_n(ents, na, sizeof *ents, cmp_ent);
    for (size_t i = 0; i < na; i++)
        st->account_ids[i].index = order_of[ents[i].index];
    v->account_ids = st->account_ids;
    v->naccounts = (uint32_t)na;
    for (size_t pos = 0; pos < na; pos++) {
        int64_t pid = in->accounts[pre[pos]].parent_id;
        st->accounts[pos].parent = pid ? find_account_id(v, pid) : B2B_NONE32;
    }
    for (size_t pos = na; pos-- > 0;)
        if (st->accounts[pos].parent != B2B_NONE32)
            size_of[st->accounts[pos].parent] += size_of[pos];
    for (size_t pos = 0; pos < na; pos++) {
        b2b_snap_account_t *o = &st->accounts[pos];
        o->subtree_end = (uint32_t)(pos + size_of[pos]);
        o->effective_price_list = o->price_list != B2B_NONE32 ? o->price_list
                                  : o->parent != B2B_NONE32
                                      ? st->accounts[o->parent].effective_price_list
                                      : B2B_NONE32;
    }
    /* names */
    for (size_t i = 0; i < nn; i++) {
        st->names[i].offset = soff;
        st->names[i].length = names[i].len;
        memcpy(st->strings + soff, names[i].s, names[i].len);
        soff += names[i].len;
    }
    v->strings_size = soff;
    for (size_t pos = 0; pos < na; pos++) {
        const b2b_in_account_t *a = &in->accounts[pre[pos]];
        st->accounts[pos].region = a->region ? find_name(v, b2b_input_str(in, a->region))
                                             : B2B_NONE32;
    }
    v->products = st->products;
    v->nproducts = (uint32_t)np;
    for (size_t i = 0; i < np; i++) {   /* tax class names, now that names exist */
        const b2b_in_product_t *p = &in->products[i];
        st->products[find_product(v, p->id)].tax_class =
            find_name(v, b2b_input_str(in, p->tax_class));
    }
    v->accounts = st->accounts;

    /* hashes (duplicate sku/code detected here) */
    v->sku_hash_cap = hash_cap_for(np);
    v->account_hash_cap = hash_cap_for(na);
    st->sku_hash = calloc(v->sku_hash_cap, sizeof(uint32_t));
    st->account_hash = calloc(v->account_hash_cap, sizeof(uint32_t));
    if (!st->sku_hash || !st->account_hash) {
        status = B2B_ERR_NO_MEMORY;
        goto out;
    }
    for (uint32_t i = 0; i < np; i++)
        if (!hash_insert(st->sku_hash, v->sku_hash_cap, st->strings, st->products[i].sku, i,
                         product_ref, st->products)) {
            status = B2B_ERR_DUPLICATE;
            goto out;
        }
    for (uint32_t i = 0; i < na; i++)
        if (!hash_insert(st->account_hash, v->account_hash_cap, st->strings, st->accounts[i].code,
                         i, account_ref, st->accounts)) {
            status = B2B_ERR_DUPLICATE;
            goto out;
        }
    v->sku_hash = st->sku_hash;
    v->account_hash = st->account_hash;
out:
    free(names);
    free(ents);
    free(ids);
    free(pre);
    free(stack);
    free(order_of);
    free(size_of);
    return status;
}

/* ---- full build ---- */

static b2b_status_t compile_all(rules_t *r, const view_t *v, const b2b_input_t *in)
{
    for (size_t i = 0; i < in->nrules; i++) {
        int rc = compile_rule(r, v, in, &in->rules[i]);
        if (rc < 0)
            return B2B_ERR_NO_MEMORY;
        if (rc == 0)
            r->dropped++;
    }
    return B2B_OK;
}

static b2b_status_t check_unique_ids(const b2b_input_t *in)
{
    if (in->nrules < 2)
        return B2B_OK;
    int64_t *ids = malloc(in->nrules * sizeof *ids);
    if (!ids)
        return B2B_ERR_NO_MEMORY;
    for (size_t i = 0; i < in->nrules; i++)
        ids[i] = in->rules[i].id;
    sort_n(ids, in->nrules, sizeof *ids, cmp_i64);
    b2b_status_t st = B2B_OK;
    for (size_t i = 1; i < in->nrules; i++)
        if (ids[i] == ids[i - 1])
            st = B2B_ERR_DUPLICATE;
    free(ids);
    return st;
}

b2b_status_t b2b_snapshot_build(const b2b_input_t *in, const b2b_build_options_t *opt,
                                void *buf, size_t capacity, b2b_build_stats_t *stats)
{
    if (!in)
        return B2B_ERR_BAD_ARGUMENT;
    static_store_t store;
    view_t v;
    rules_t r;
    memset(&r, 0, sizeof r);
    b2b_status_t st = build_statics(in, &store, &v);
    if (st == B2B_OK)
        st = check_unique_ids(in);
    if (st == B2B_OK)
        st = compile_all(&r, &v, in);
    if (st == B2B_OK)
        st = finalize_promos(&r);
    if (st == B2B_OK) {
        for (int i = 0; i < NV_COUNT; i++) {
            sort_n(r.nv[i].v, r.nv[i].n, narrow_rec, narrow_cmp[i]);
            source_from_vec(&r.nsrc[i], r.nv[i].v, r.nv[i].n);
        }
        for (int i = 0; i < WV_COUNT; i++) {
            if (i != WV_PROMOS)
                sort_n(r.wv[i].v, r.wv[i].n, wide_rec, wide_cmp[i]);
            source_from_vec(&r.wsrc[i], r.wv[i].v, r.wv[i].n);
        }
        st = keys_from_source(&r, 0, &r.nsrc[NV_TIERS]);
        if (st == B2B_OK)
            st = keys_from_source(&r, 1, &r.nsrc[NV_CONTRACTS]);
        if (st == B2B_OK)
            st = emit(&v, &r, opt ? opt->generation : 0, NULL, buf, capacity, stats);
    }
    rules_free(&r);
    store_free(&store);
    return st;
}

b2b_status_t b2b_snapshot_size(const b2b_input_t *in, uint64_t *size)
{
    b2b_build_stats_t stats;
    memset(&stats, 0, sizeof stats);
    b2b_status_t st = b2b_snapshot_build(in, NULL, NULL, 0, &stats);
    if (st != B2B_ERR_DOES_NOT_FIT)
        return st;
    *size = stats.size;
    return B2B_OK;
}

/* ---- incremental rebuild ---- */

static void view_from_snapshot(const void *snap, view_t *v)
{
    memset(v, 0, sizeof *v);
    const b2b_snap_header_t *h = b2b_snap_header(snap);
    v->currencies = b2b_snap_section(snap, B2B_SEC_CURRENCIES);
    v->ncurrencies = (uint32_t)h->sections[B2B_SEC_CURRENCIES].count;
    v->strings = b2b_snap_section(snap, B2B_SEC_STRINGS);
    v->strings_size = h->sections[B2B_SEC_STRINGS].count;
    v->names = b2b_snap_section(snap, B2B_SEC_NAMES);
    v->nnames = (uint32_t)h->sections[B2B_SEC_NAMES].count;
    v->products = b2b_snap_section(snap, B2B_SEC_PRODUCTS);
    v->nproducts = (uint32_t)h->sections[B2B_SEC_PRODUCTS].count;
    v->groups = b2b_snap_section(snap, B2B_SEC_GROUPS);
    v->ngroups = (uint32_t)h->sections[B2B_SEC_GROUPS].count;
    v->price_lists = b2b_snap_section(snap, B2B_SEC_PRICE_LISTS);
    v->nprice_lists = (uint32_t)h->sections[B2B_SEC_PRICE_LISTS].count;
    v->accounts = b2b_snap_section(snap, B2B_SEC_ACCOUNTS);
    v->naccounts = (uint32_t)h->sections[B2B_SEC_ACCOUNTS].count;
    v->account_ids = b2b_snap_section(snap, B2B_SEC_ACCOUNT_IDS);
    v->sku_hash = b2b_snap_section(snap, B2B_SEC_SKU_HASH);
    v->sku_hash_cap = h->sections[B2B_SEC_SKU_HASH].count;
    v->account_hash = b2b_snap_section(snap, B2B_SEC_ACCOUNT_HASH);
    v->account_hash_cap = h->sections[B2B_SEC_ACCOUNT_HASH].count;
}

typedef struct {
    b2b_scope_kind_t kind;
    uint32_t lo, hi;          /* account subtree */
    uint32_t product;         /* sku */
    uint32_t group;           /* group index or B2B_NONE32 (then nothing matches) */
    const view_t *v;
} scope_t;

static int product_in_group(const scope_t *s, uint32_t p)
{
    return s->group != B2B_NONE32 && p < s->v->nproducts && s->v->products[p].group == s->group;
}

/* Is an old (compiled) narrow record of section `which` inside the scope? */
static int narrow_in_scope(const scope_t *s, int which, const b2b_snap_rule_t *x)
{
    switch (s->kind) {
    case B2B_SCOPE_ALL:
        return 1;
    case B2B_SCOPE_ACCOUNT:
    case B2B_SCOPE_ACCOUNT_OWN:
        return which == NV_CONTRACTS && x->owner >= s->lo && x->owner < s->hi;
    case B2B_SCOPE_SKU:
        switch (which) {
        case NV_LISTS:
        case NV_PBRACKETS:
            return x->owner == s->product;
        case NV_TIERS:
        case NV_CONTRACTS:
            return x->rank == 0 && x->target == s->product;
        default:
            return 0;
        }
    case B2B_SCOPE_PRODUCT_GROUP:
        switch (which) {
        case NV_LISTS:
        case NV_PBRACKETS:
            return product_in_group(s, x->owner);
        case NV_GBRACKETS:
            return s->group != B2B_NONE32 && x->owner == s->group;
        case NV_TIERS:
        case NV_CONTRACTS:
            return (x->rank == 0 && product_in_group(s, x->target)) ||
                   (x->rank == 1 && s->group != B2B_NONE32 && x->target == s->group);
        default:
            return 0;
        }
    }
    return 0;
}

static int wide_in_scope(const scope_t *s, int which, const b2b_snap_wide_t *x)
{
    if (s->kind == B2B_SCOPE_ALL)
        return 1;
    if (which != WV_PROMOS)
        return 0;
    switch (s->kind) {
    case B2B_SCOPE_ACCOUNT:
    case B2B_SCOPE_ACCOUNT_OWN:
        return x->a != B2B_NONE32 && x->a >= s->lo && x->a < s->hi;
    case B2B_SCOPE_SKU:
        return x->b == s->product;
    case B2B_SCOPE_PRODUCT_GROUP:
        return (x->b != B2B_NONE32 && product_in_group(s, x->b)) ||
               (s->group != B2B_NONE32 && x->c == s->group);
    default:
        return 0;
    }
}

/* Is an incoming raw rule inside the scope? 1 yes, 0 no, -1 unknowable (its reference is
 * unknown to the snapshot, so it would be dropped anyway). */
static int raw_in_scope(const scope_t *s, const b2b_scope_t *scope, const b2b_in_rule_t *x)
{
    switch (s->kind) {
    case B2B_SCOPE_ALL:
        return 1;
    case B2B_SCOPE_ACCOUNT:
    case B2B_SCOPE_ACCOUNT_OWN: {
        if ((x->kind != B2B_KIND_CONTRACT && x->kind != B2B_KIND_PROMO) || !x->account_id)
            return 0;
        uint32_t a = find_account_id(s->v, x->account_id);
        if (a == B2B_NONE32)
            return -1;
        return a >= s->lo && a < s->hi;
    }
    case B2B_SCOPE_SKU:
        return x->product_id == scope->id;
    case B2B_SCOPE_PRODUCT_GROUP: {
        if (x->product_group_id == scope->id && x->kind != B2B_KIND_LIST)
            return 1;
        if (!x->product_id)
            return 0;
        uint32_t p = find_product(s->v, x->product_id);
        if (p == B2B_NONE32)
            return -1;
        return product_in_group(s, p);
    }
    }
    return 0;
}

/* old records not in scope, merged with sorted new ones, into a fresh array. */
static b2b_status_t merge_narrow(const scope_t *s, int which, const b2b_snap_rule_t *old, size_t nold,
                                 narrow_vec_t *fresh, b2b_snap_rule_t **out, size_t *nout)
{
    b2b_snap_rule_t *m = malloc((nold + fresh->n + 1) * sizeof *m);
    if (!m)
        return B2B_ERR_NO_MEMORY;
    size_t i = 0, j = 0, k = 0;
    cmp_fn cmp = narrow_cmp[which];
    while (i < nold || j < fresh->n) {
        if (i < nold && narrow_in_scope(s, which, &old[i])) {
            i++;
            continue;
        }
        if (j >= fresh->n || (i < nold && cmp(&old[i], &fresh->v[j]) <= 0))
            m[k++] = old[i++];
        else
            m[k++] = fresh->v[j++];
    }
    *out = m;
    *nout = k;
    return B2B_OK;
}

b2b_status_t b2b_snapshot_rebuild(const void *old, const b2b_scope_t *scope,
                                  const b2b_input_t *changed, const b2b_build_options_t *opt,
                                  void *buf, size_t capacity, b2b_build_stats_t *stats)
{
    if (!old || !scope || !changed)
        return B2B_ERR_BAD_ARGUMENT;
    const b2b_snap_header_t *h = b2b_snap_header(old);
    if (memcmp(h->magic, B2B_SNAP_MAGIC, 8) != 0 || h->version != B2B_SNAP_VERSION)
        return B2B_ERR_BAD_SNAPSHOT;
    if (buf && (const char *)buf < (const char *)old + h->total_size &&
        (const char *)old < (const char *)buf + capacity)
        return B2B_ERR_BAD_ARGUMENT;
    view_t v;
    view_from_snapshot(old, &v);
    scope_t s;
    memset(&s, 0, sizeof s);
    s.kind = scope->kind;
    s.v = &v;
    s.group = B2B_NONE32;
    s.product = B2B_NONE32;
    switch (scope->kind) {
    case B2B_SCOPE_ALL:
        break;
    case B2B_SCOPE_ACCOUNT: {
        uint32_t a = find_account_id(&v, scope->id);
        if (a == B2B_NONE32)
            return B2B_ERR_STALE_SNAPSHOT;
        s.lo = a;
        s.hi = v.accounts[a].subtree_end;
        break;
    }
    case B2B_SCOPE_ACCOUNT_OWN: {
        /* accounts are numbered in preorder: the account alone is [a, a + 1) */
        uint32_t a = find_account_id(&v, scope->id);
        if (a == B2B_NONE32)
            return B2B_ERR_STALE_SNAPSHOT;
        s.lo = a;
        s.hi = a + 1;
        s.kind = B2B_SCOPE_ACCOUNT;
        break;
    }
    case B2B_SCOPE_SKU:
        s.product = find_product(&v, scope->id);
        if (s.product == B2B_NONE32)
            return B2B_ERR_STALE_SNAPSHOT;
        break;
    case B2B_SCOPE_PRODUCT_GROUP:
        s.group = find_owner(v.groups, v.ngroups, scope->id);
        break;
    default:
        return B2B_ERR_BAD_ARGUMENT;
    }

    rules_t r;
    memset(&r, 0, sizeof r);
    b2b_status_t st = check_unique_ids(changed);
    for (size_t i = 0; st == B2B_OK && i < changed->nrules; i++) {
        int in_scope = raw_in_scope(&s, scope, &changed->rules[i]);
        if (in_scope == 0) {
            st = B2B_ERR_OUT_OF_SCOPE;
            break;
        }
        int rc = compile_rule(&r, &v, changed, &changed->rules[i]);
        if (rc < 0)
            st = B2B_ERR_NO_MEMORY;
        else if (rc == 0)
            r.dropped++;
    }
    b2b_snap_rule_t *merged[NV_COUNT] = { 0 };
    for (int i = 0; st == B2B_OK && i < NV_COUNT; i++) {
        sort_n(r.nv[i].v, r.nv[i].n, narrow_rec, narrow_cmp[i]);
        const b2b_snap_rule_t *orecs = b2b_snap_section(old, narrow_section[i]);
        size_t nold = (size_t)b2b_snap_count(old, narrow_section[i]);
        if (i == NV_CONTRACTS && s.kind == B2B_SCOPE_ACCOUNT) {
            /* Contracts are sorted by account, the subtree is one preorder range: splice. */
            size_t a, b, lo = 0, hi = nold;
            while (lo < hi) {       /* first record with owner >= s.lo */
                size_t mid = (lo + hi) / 2;
                if (orecs[mid].owner < s.lo)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            a = lo;
            hi = nold;
            while (lo < hi) {       /* first record with owner >= s.hi */
                size_t mid = (lo + hi) / 2;
                if (orecs[mid].owner < s.hi)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            b = lo;
            source_t *src = &r.nsrc[i];
            src->chunk[0].ptr = orecs;
            src->chunk[0].count = a;
            src->chunk[1].ptr = r.nv[i].v;
            src->chunk[1].count = r.nv[i].n;
            src->chunk[2].ptr = orecs + b;
            src->chunk[2].count = nold - b;
            src->nchunks = 3;
            src->total = a + r.nv[i].n + (nold - b);
            r.contract_splice = 1;
            r.splice_lo = s.lo;
            r.splice_hi = s.hi;
            r.splice_old_start = a;
            r.splice_old_end = b;
            /* keys: old prefix, keys of the new records, old suffix */
            const uint32_t *okeys = b2b_snap_section(old, B2B_SEC_CONTRACT_KEYS);
            st = keys_from_source(&r, 1, &(source_t){ { { r.nv[i].v, r.nv[i].n } }, 1, r.nv[i].n });
            if (st != B2B_OK)
                break;
            source_t *ks = &r.ksrc[1];
            ks->chunk[1] = ks->chunk[0];
            ks->chunk[0].ptr = okeys;
            ks->chunk[0].count = a;
            ks->chunk[2].ptr = okeys + b;
            ks->chunk[2].count = nold - b;
            ks->nchunks = 3;
            ks->total = a + r.nv[i].n + (nold - b);
            continue;
        }
        int touched = r.nv[i].n > 0;
        for (size_t k = 0; !touched && k < nold; k++)
            touched = narrow_in_scope(&s, i, &orecs[k]);
        int key = i == NV_TIERS ? 0 : i == NV_CONTRACTS ? 1 : -1;
        if (!touched) {
            source_from_vec(&r.nsrc[i], orecs, nold);
            if (key >= 0)
                source_from_vec(&r.ksrc[key],
                                b2b_snap_section(old, key ? B2B_SEC_CONTRACT_KEYS
                                                          : B2B_SEC_TIER_KEYS), nold);
            continue;
        }
        size_t n;
        st = merge_narrow(&s, i, orecs, nold, &r.nv[i], &merged[i], &n);
        if (st == B2B_OK)
            source_from_vec(&r.nsrc[i], merged[i], n);
        if (st == B2B_OK && key >= 0)
            st = keys_from_source(&r, key, &r.nsrc[i]);
    }
    /* Wide sections are small: old kept + new, re-sorted (promos re-keyed by code). */
    for (int i = 0; st == B2B_OK && i < WV_COUNT; i++) {
        const b2b_snap_wide_t *orecs = b2b_snap_section(old, wide_section[i]);
        size_t nold = (size_t)b2b_snap_count(old, wide_section[i]);
        const b2b_snap_promo_code_t *ocodes = b2b_snap_section(old, B2B_SEC_PROMO_CODES);
        const char *ostrings = b2b_snap_section(old, B2B_SEC_PROMO_STRINGS);
        wide_vec_t *vec = &r.wv[i];
        for (size_t k = 0; k < nold; k++) {
            if (wide_in_scope(&s, i, &orecs[k]))
                continue;
            if (!vec_reserve((void **)&vec->v, &vec->cap, vec->n + 1, wide_rec) ||
                (i == WV_PROMOS && !vec_reserve((void **)&r.promo_codes, &r.promo_codes_cap,
                                                vec->n + 1, sizeof *r.promo_codes))) {
                st = B2B_ERR_NO_MEMORY;
                break;
            }
            if (i == WV_PROMOS) {
                const b2b_snap_promo_code_t *c = &ocodes[orecs[k].owner];
                r.promo_codes[vec->n].s = ostrings + c->code.offset;
                r.promo_codes[vec->n].len = c->code.length;
            }
            vec->v[vec->n++] = orecs[k];
        }
        if (st != B2B_OK)
            break;
        if (i == WV_PROMOS)
            st = finalize_promos(&r);
        else
            sort_n(vec->v, vec->n, wide_rec, wide_cmp[i]);
        source_from_vec(&r.wsrc[i], vec->v, vec->n);
    }
    if (st == B2B_OK)
        st = emit(&v, &r, opt ? opt->generation : h->generation + 1, old, buf, capacity, stats);
    for (int i = 0; i < NV_COUNT; i++)
        free(merged[i]);
    rules_free(&r);
    return st;
}

/* ---- accessors and validation ---- */

uint64_t b2b_snapshot_generation(const void *snap)
{
    return b2b_snap_header(snap)->generation;
}
uint64_t b2b_snapshot_total_size(const void *snap)
{
    return b2b_snap_header(snap)->total_size;
}
uint64_t b2b_snapshot_checksum(const void *snap)
{
    return b2b_snap_header(snap)->checksum;
}
uint64_t b2b_snapshot_rule_count(const void *snap)
{
    return b2b_snap_header(snap)->rule_count;
}
uint32_t b2b_snapshot_account_count(const void *snap)
{
    return (uint32_t)b2b_snap_count(snap, B2B_SEC_ACCOUNTS);
}
uint32_t b2b_snapshot_product_count(const void *snap)
{
    return (uint32_t)b2b_snap_count(snap, B2B_SEC_PRODUCTS);
}

b2b_status_t b2b_snapshot_check(const void *snap, size_t size)
{
    if (!snap || ((uintptr_t)snap & 7u) || size < align_up(sizeof(b2b_snap_header_t)))
        return B2B_ERR_BAD_SNAPSHOT;
    const b2b_snap_header_t *h = snap;
    if (memcmp(h->magic, B2B_SNAP_MAGIC, 8) != 0 || h->version != B2B_SNAP_VERSION ||
        h->header_size != sizeof(b2b_snap_header_t) || h->total_size > size ||
        h->total_size % B2B_SNAP_ALIGN)
        return B2B_ERR_BAD_SNAPSHOT;
    static const uint64_t rec[B2B_SEC_COUNT] = {
        sizeof(b2b_snap_currency_t), 1, sizeof(b2b_snap_strref_t), sizeof(b2b_snap_product_t),
        sizeof(b2b_snap_owner_t), sizeof(b2b_snap_owner_t), sizeof(b2b_snap_account_t),
        sizeof(b2b_snap_account_id_t), 4, 4, sizeof(b2b_snap_rule_t), sizeof(b2b_snap_rule_t),
        sizeof(b2b_snap_rule_t), sizeof(b2b_snap_rule_t), sizeof(b2b_snap_rule_t), 1,
        sizeof(b2b_snap_promo_code_t), sizeof(b2b_snap_wide_t), sizeof(b2b_snap_wide_t),
        sizeof(b2b_snap_wide_t), 4, 4, sizeof(b2b_snap_bloom_t)
    };
    uint64_t prev_end = align_up(sizeof(b2b_snap_header_t));
    for (int s = 0; s < B2B_SEC_COUNT; s++) {
        const b2b_snap_section_t *sec = &h->sections[s];
        if (sec->offset % B2B_SNAP_ALIGN || sec->offset < prev_end ||
            sec->count > UINT32_MAX || sec->size != sec->count * rec[s] ||
            sec->offset + sec->size > h->total_size)
            return B2B_ERR_BAD_SNAPSHOT;
        prev_end = sec->offset + sec->size;
    }
    if (snapshot_checksum(snap, h->total_size) != h->checksum)
        return B2B_ERR_BAD_SNAPSHOT;
    /* Every stored index in range, so a resolver never reads outside the blob. */
    view_t v;
    view_from_snapshot(snap, &v);
#define BAD(cond) do { if (cond) return B2B_ERR_BAD_SNAPSHOT; } while (0)
    uint64_t nstr = v.strings_size;
    BAD(v.sku_hash_cap && (v.sku_hash_cap & (v.sku_hash_cap - 1)));
    BAD(v.account_hash_cap && (v.account_hash_cap & (v.account_hash_cap - 1)));
    BAD(v.sku_hash_cap < v.nproducts || v.account_hash_cap < v.naccounts);
    BAD(v.sku_hash_cap == 0 || v.account_hash_cap == 0);
    for (uint32_t i = 0; i < v.ncurrencies; i++)
        BAD(v.currencies[i].digits > B2B_MAX_MINOR_DIGITS || v.currencies[i].code[3] != 0);
    for (uint32_t i = 0; i < v.nnames; i++)
        BAD((uint64_t)v.names[i].offset + v.names[i].length > nstr);
    uint64_t nl = b2b_snap_count(snap, B2B_SEC_LISTS), npb = b2b_snap_count(snap,
                                                                          B2B_SEC_PRODUCT_BRACKETS);
    uint64_t ngb = b2b_snap_count(snap, B2B_SEC_GROUP_BRACKETS);
    uint64_t nt = b2b_snap_count(snap, B2B_SEC_TIERS), nc = b2b_snap_count(snap, B2B_SEC_CONTRACTS);
    for (uint32_t i = 0; i < v.nproducts; i++) {
        const b2b_snap_product_t *p = &v.products[i];
        BAD((uint64_t)p->sku.offset + p->sku.length > nstr);
        BAD(p->key_len && (p->key_len != p->sku.length || p->key_len > B2B_PRODUCT_INLINE ||
                           memcmp(p->key, v.strings + p->sku.offset, p->key_len) != 0));
        BAD(p->group != B2B_NONE32 && p->group >= v.ngroups);
        BAD(p->tax_class != B2B_NONE32 && p->tax_class != B2B_NEVER32 && p->tax_class >= v.nnames);
        BAD((uint64_t)p->list_start + p->list_count > nl);
        BAD((uint64_t)p->bracket_start + p->bracket_count > npb);
    }
    for (uint32_t i = 0; i < v.ngroups; i++)
        BAD((uint64_t)v.groups[i].bracket_start + v.groups[i].bracket_count > ngb);
    for (uint32_t i = 0; i < v.nprice_lists; i++)
        BAD((uint64_t)v.price_lists[i].bracket_start + v.price_lists[i].bracket_count > nt);
    for (uint32_t i = 0; i < v.naccounts; i++) {
        const b2b_snap_account_t *a = &v.accounts[i];
        BAD((uint64_t)a->code.offset + a->code.length > nstr);
        BAD(a->key_len && (a->key_len != a->code.length || a->key_len > B2B_ACCOUNT_INLINE ||
                           memcmp(a->key, v.strings + a->code.offset, a->key_len) != 0));
        BAD(a->parent != B2B_NONE32 && a->parent >= i);
        BAD(a->subtree_end <= i || a->subtree_end > v.naccounts);
        BAD(a->price_list != B2B_NONE32 && a->price_list >= v.nprice_lists);
        BAD(a->effective_price_list != B2B_NONE32 && a->effective_price_list >= v.nprice_lists);
        BAD((uint64_t)a->contract_start + a->contract_count > nc);
        BAD(a->region != B2B_NONE32 && a->region >= v.nnames);
        BAD(a->currency >= v.ncurrencies);
        BAD(v.account_ids[i].index >= v.naccounts);
    }
    for (uint64_t i = 0; i < v.sku_hash_cap; i++)
        BAD(v.sku_hash[i] > v.nproducts);
    for (uint64_t i = 0; i < v.account_hash_cap; i++)
        BAD(v.account_hash[i] > v.naccounts);
    static const int narrow_secs[5] = { B2B_SEC_LISTS, B2B_SEC_TIERS, B2B_SEC_PRODUCT_BRACKETS,
                                        B2B_SEC_GROUP_BRACKETS, B2B_SEC_CONTRACTS };
    for (int k = 0; k < 5; k++) {
        const b2b_snap_rule_t *x = b2b_snap_section(snap, narrow_secs[k]);
        uint64_t n = b2b_snap_count(snap, narrow_secs[k]);
        for (uint64_t i = 0; i < n; i++) {
            BAD(x[i].currency != B2B_NONE16 && x[i].currency >= v.ncurrencies);
            BAD((x[i].flags & B2B_RF_DISCOUNT) && (x[i].value < 0 || x[i].value > 10000));
            if (narrow_secs[k] == B2B_SEC_TIERS || narrow_secs[k] == B2B_SEC_CONTRACTS)
                BAD((x[i].rank == 0 && x[i].target >= v.nproducts) ||
                    (x[i].rank == 1 && x[i].target >= v.ngroups) || x[i].rank > 2);
        }
    }
    BAD(b2b_snap_count(snap, B2B_SEC_TIER_KEYS) != nt ||
        b2b_snap_count(snap, B2B_SEC_CONTRACT_KEYS) != nc);
    const b2b_snap_rule_t *trec = b2b_snap_section(snap, B2B_SEC_TIERS);
    const uint32_t *tkeys = b2b_snap_section(snap, B2B_SEC_TIER_KEYS);
    for (uint64_t i = 0; i < nt; i++)
        BAD(tkeys[i] != B2B_KEY(trec[i].rank, trec[i].target));
    const b2b_snap_rule_t *crec = b2b_snap_section(snap, B2B_SEC_CONTRACTS);
    const uint32_t *ckeys = b2b_snap_section(snap, B2B_SEC_CONTRACT_KEYS);
    for (uint64_t i = 0; i < nc; i++)
        BAD(ckeys[i] != B2B_KEY(crec[i].rank, crec[i].target));
    BAD(b2b_snap_count(snap, B2B_SEC_CONTRACT_BLOOM) != v.naccounts);
    const b2b_snap_bloom_t *blooms = b2b_snap_section(snap, B2B_SEC_CONTRACT_BLOOM);
    for (uint32_t a = 0; a < v.naccounts; a++) {
        b2b_snap_bloom_t want;
        memset(&want, 0, sizeof want);
        for (uint32_t k = v.accounts[a].contract_start;
             k < v.accounts[a].contract_start + v.accounts[a].contract_count; k++)
            b2b_bloom_add(&want, ckeys[k]);
        BAD(memcmp(&want, &blooms[a], sizeof want) != 0);
    }
    uint64_t npc = b2b_snap_count(snap, B2B_SEC_PROMO_CODES);
    uint64_t nps = b2b_snap_count(snap, B2B_SEC_PROMO_STRINGS);
    uint64_t npr = b2b_snap_count(snap, B2B_SEC_PROMOS);
    const b2b_snap_promo_code_t *codes = b2b_snap_section(snap, B2B_SEC_PROMO_CODES);
    for (uint64_t i = 0; i < npc; i++)
        BAD((uint64_t)codes[i].code.offset + codes[i].code.length > nps ||
            (uint64_t)codes[i].start + codes[i].count > npr);
    const b2b_snap_wide_t *pr = b2b_snap_section(snap, B2B_SEC_PROMOS);
    for (uint64_t i = 0; i < npr; i++) {
        BAD(pr[i].a != B2B_NONE32 && pr[i].a >= v.naccounts);
        BAD(pr[i].b != B2B_NONE32 && pr[i].b >= v.nproducts);
        BAD(pr[i].c != B2B_NONE32 && pr[i].c >= v.ngroups);
        BAD(pr[i].currency != B2B_NONE16 && pr[i].currency >= v.ncurrencies);
        BAD((pr[i].flags & B2B_RF_DISCOUNT) && (pr[i].value < 0 || pr[i].value > 10000));
    }
    const b2b_snap_wide_t *tx = b2b_snap_section(snap, B2B_SEC_TAXES);
    for (uint64_t i = 0; i < b2b_snap_count(snap, B2B_SEC_TAXES); i++)
        BAD(tx[i].value < 0 || tx[i].value > 10000);
    const b2b_snap_wide_t *fx = b2b_snap_section(snap, B2B_SEC_FX);
    for (uint64_t i = 0; i < b2b_snap_count(snap, B2B_SEC_FX); i++)
        BAD(fx[i].owner >= v.ncurrencies || fx[i].a >= v.ncurrencies || fx[i].value <= 0);
#undef BAD
    return B2B_OK;
}
