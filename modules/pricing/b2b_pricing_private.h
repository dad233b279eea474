/* b2b_pricing_private.h — what the pricing files share and nobody else sees: the input set's
 * internal rows, the snapshot's binary layout, and the quote body's two parse paths (for the
 * tests and the fuzzer). Everything in the snapshot is an index or a byte offset relative to
 * the start of the blob, never a pointer. */
#ifndef B2B_PRICING_PRIVATE_H
#define B2B_PRICING_PRIVATE_H

#include "b2b_pricing.h"
#include "b2b_pricing_json.h"

#define B2B_NONE32 0xFFFFFFFFu       /* absent index */
#define B2B_NEVER32 0xFFFFFFFEu      /* a reference that can never match (unknown name) */
#define B2B_NONE16 0xFFFFu

/* ---- input set ---- */
typedef struct {
    int64_t id, parent_id, price_list_id;
    uint32_t code;            /* string id in the input set's pool */
    uint32_t region;          /* string id, 0 = NULL */
    char currency[4];
    char country[3];
    uint8_t tax_exempt;
} b2b_in_account_t;

typedef struct {
    int64_t id, product_group_id;
    uint32_t sku, tax_class;  /* string ids */
} b2b_in_product_t;

typedef struct {
    char code[4];
    int digits;
} b2b_in_currency_t;

typedef struct {
    int64_t id, account_id, price_list_id, product_id, product_group_id;
    int64_t value;            /* price_minor, amount_off_minor or fx_rate_micro */
    int64_t valid_from, valid_to;
    int32_t discount_bp, min_qty, rate_bp;
    uint32_t promo_code, region, tax_class;   /* string ids, 0 = NULL */
    char currency[4], to_currency[4], country[3];
    uint8_t kind, has, stackable;
} b2b_in_rule_t;

struct b2b_input {
    b2b_in_currency_t *currencies;
    size_t ncurrencies, cap_currencies;
    b2b_in_account_t *accounts;
    size_t naccounts, cap_accounts;
    b2b_in_product_t *products;
    size_t nproducts, cap_products;
    b2b_in_rule_t *rules;
    size_t nrules, cap_rules;
    char *pool;               /* NUL-terminated strings; id = offset (0 is "") */
    size_t pool_size, pool_cap;
    uint32_t *intern;         /* open addressing: string id, 0 = empty */
    size_t intern_cap, intern_count;
};

static inline const char *b2b_input_str(const b2b_input_t *in, uint32_t id)
{
    return in->pool + id;
}

/* ---- snapshot layout ---- */
#define B2B_SNAP_MAGIC "B2BPRSNP"
#define B2B_SNAP_VERSION 1u
#define B2B_SNAP_ALIGN 64u

enum {
    B2B_SEC_CURRENCIES = 0, B2B_SEC_STRINGS, B2B_SEC_NAMES, B2B_SEC_PRODUCTS, B2B_SEC_GROUPS,
    B2B_SEC_PRICE_LISTS, B2B_SEC_ACCOUNTS, B2B_SEC_ACCOUNT_IDS, B2B_SEC_SKU_HASH,
    B2B_SEC_ACCOUNT_HASH, B2B_SEC_LISTS, B2B_SEC_TIERS, B2B_SEC_PRODUCT_BRACKETS,
    B2B_SEC_GROUP_BRACKETS, B2B_SEC_CONTRACTS, B2B_SEC_PROMO_STRINGS, B2B_SEC_PROMO_CODES,
    B2B_SEC_PROMOS, B2B_SEC_TAXES, B2B_SEC_FX, B2B_SEC_TIER_KEYS, B2B_SEC_CONTRACT_KEYS,
    B2B_SEC_CONTRACT_BLOOM, B2B_SEC_COUNT
};

/* CONTRACT_BLOOM: 256 bits per account (same order as ACCOUNTS) over the keys of its own
 * contracts; a clear bit proves "no contract for this key here", so the resolver skips the
 * binary search (nearly every (account, sku) pair has none). */
typedef struct {
    uint64_t bits[4];
} b2b_snap_bloom_t;

static inline void b2b_bloom_bits(uint32_t key, unsigned *b1, unsigned *b2)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ULL;
    *b1 = (unsigned)(h >> 56);
    *b2 = (unsigned)(h >> 48) & 255u;
}

static inline void b2b_bloom_add(b2b_snap_bloom_t *b, uint32_t key)
{
    unsigned b1, b2;
    b2b_bloom_bits(key, &b1, &b2);
    b->bits[b1 >> 6] |= 1ULL << (b1 & 63);
    b->bits[b2 >> 6] |= 1ULL << (b2 & 63);
}

static inline int b2b_bloom_may_have(const b2b_snap_bloom_t *b, uint32_t key)
{
    unsigned b1, b2;
    b2b_bloom_bits(key, &b1, &b2);
    return ((b->bits[b1 >> 6] >> (b1 & 63)) & 1) && ((b->bits[b2 >> 6] >> (b2 & 63)) & 1);
}

/* TIER_KEYS and CONTRACT_KEYS parallel TIERS and CONTRACTS: (rank << 30) | target, so the
 * resolver's binary searches touch 4 bytes per probe instead of a 48-byte record. */
#define B2B_KEY(rank, target) (((uint32_t)(rank) << 30) | (uint32_t)(target))
#define B2B_MAX_TARGET 0x3FFFFFFFu

typedef struct {
    uint64_t offset;          /* from the start of the blob, multiple of B2B_SNAP_ALIGN */
    uint64_t size;            /* bytes */
    uint64_t count;           /* records */
} b2b_snap_section_t;

typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint64_t generation;
    uint64_t total_size;
    uint64_t checksum;        /* over the whole blob with this field zero */
    uint64_t rule_count;
    b2b_snap_section_t sections[B2B_SEC_COUNT];
} b2b_snap_header_t;

typedef struct {
    char code[4];
    uint8_t digits;
    uint8_t pad[3];
} b2b_snap_currency_t;

typedef struct {
    uint32_t offset;          /* into B2B_SEC_STRINGS (or PROMO_STRINGS) */
    uint32_t length;
} b2b_snap_strref_t;

#define B2B_PRODUCT_INLINE 23
#define B2B_ACCOUNT_INLINE 14

typedef struct {
    int64_t id;
    b2b_snap_strref_t sku;
    uint32_t group;           /* group index or B2B_NONE32 */
    uint32_t tax_class;       /* name index */
    uint32_t list_start, list_count;
    uint32_t bracket_start, bracket_count;
    uint8_t key_len;          /* sku length if it fits key[] (0: compare in STRINGS) */
    char key[B2B_PRODUCT_INLINE];   /* the sku again, so a lookup reads one cache line */
} b2b_snap_product_t;         /* 64 bytes, sorted by id */

typedef struct {
    int64_t id;
    uint32_t bracket_start, bracket_count;
} b2b_snap_owner_t;           /* groups and price lists, sorted by id */

typedef struct {
    int64_t id;
    b2b_snap_strref_t code;
    uint32_t parent;          /* index (always < own index) or B2B_NONE32 */
    uint32_t subtree_end;     /* preorder: the subtree is [self, subtree_end) */
    uint32_t price_list;      /* own, index or B2B_NONE32 */
    uint32_t effective_price_list;   /* own or nearest ancestor's */
    uint32_t contract_start, contract_count;
    uint32_t region;          /* name index or B2B_NONE32 */
    uint16_t currency;        /* currency index */
    char country[2];          /* both 0: none */
    uint8_t tax_exempt;
    uint8_t key_len;          /* code length if it fits key[] (0: compare in STRINGS) */
    char key[B2B_ACCOUNT_INLINE];
} b2b_snap_account_t;         /* 64 bytes, in preorder (roots and children by id) */

typedef struct {
    int64_t id;
    uint32_t index;
    uint32_t pad;
} b2b_snap_account_id_t;      /* sorted by id */

/* Rule records. Flags: */
enum {
    B2B_RF_DISCOUNT = 1,      /* value is basis points, not a price */
    B2B_RF_STACKABLE = 2,
    B2B_RF_AMOUNT_OFF = 4
};

/* list, tier, bracket, contract. Sort orders:
 *   lists:    (owner=product, currency, id)
 *   tiers:    (owner=price list, rank 0 sku / 1 group / 2 all, target, id)
 *   brackets: (owner=product or group, aux=min_qty descending, id)
 *   contracts:(owner=account, rank 0 sku / 1 group, target, id) */
typedef struct {
    int64_t id;
    int64_t value;
    int64_t valid_from, valid_to;
    uint32_t owner;
    uint32_t target;
    uint32_t aux;
    uint16_t currency;        /* B2B_NONE16 for discounts */
    uint8_t flags;
    uint8_t rank;
} b2b_snap_rule_t;            /* 48 bytes */

/* promo, tax, fx. Sort orders:
 *   promos: (owner=code index, rank 0 product / 1 group / 2 none, id);
 *           a=account, b=product, c=group (B2B_NONE32 = any), aux=min_qty (0 = none)
 *   taxes:  (owner=country as 2 bytes, rank, id); a=region name, b=tax class name (NONE =
 *           any, NEVER = a name no account/product has), value=rate_bp, rank 0 region+class,
 *           1 region, 2 class, 3 neither
 *   fx:     (owner=from currency, a=to currency, id); value=rate_micro */
typedef struct {
    int64_t id;
    int64_t value;
    int64_t valid_from, valid_to;
    uint32_t owner;
    uint32_t a, b, c;
    uint32_t aux;
    uint16_t currency;
    uint8_t flags;
    uint8_t rank;
    uint8_t pad[8];
} b2b_snap_wide_t;            /* 64 bytes */

typedef struct {
    b2b_snap_strref_t code;   /* into B2B_SEC_PROMO_STRINGS */
    uint32_t start, count;    /* into B2B_SEC_PROMOS */
} b2b_snap_promo_code_t;      /* sorted by code bytes */

_Static_assert(sizeof(b2b_snap_product_t) == 64, "product record is one cache line");
_Static_assert(sizeof(b2b_snap_account_t) == 64, "account record is one cache line");
_Static_assert(sizeof(b2b_snap_rule_t) == 48, "rule record size");
_Static_assert(sizeof(b2b_snap_wide_t) == 64, "wide record size");

static inline const b2b_snap_header_t *b2b_snap_header(const void *snap)
{
    return (const b2b_snap_header_t *)snap;
}

static inline const void *b2b_snap_section(const void *snap, int sec)
{
    return (const char *)snap + b2b_snap_header(snap)->sections[sec].offset;
}

static inline uint64_t b2b_snap_count(const void *snap, int sec)
{
    return b2b_snap_header(snap)->sections[sec].count;
}

uint64_t b2b_hash_bytes(const char *s, size_t len);
uint64_t b2b_checksum(const void *data, size_t size);
static inline uint16_t b2b_country_key(const char *c)
{
    return (uint16_t)(((uint8_t)c[0] << 8) | (uint8_t)c[1]);
}

/* ---- quote request body (b2b_pricing_json.c) ----
 * b2b_quote_request_parse() tries the fast path, then jansson. The fast path returns 1 when it
 * read the body, with out exactly as the jansson path fills it; 0 when the body is not in its
 * shape (out's head and some lines may then hold anything; it never reports an error). */
int b2b_quote_request_parse_fast(const char *body, size_t len, b2b_quote_request_t *out);
b2b_status_t b2b_quote_request_parse_jansson(const char *body, size_t len,
                                             b2b_quote_request_t *out, b2b_json_error_t *err);

#endif /* B2B_PRICING_PRIVATE_H */
