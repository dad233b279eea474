/* b2b_pricing.h — public API of the pure pricing engine (plain C11 + libc, no httpd/APR).
 *
 * Three stages, each usable alone (unit tests, fuzzers, benchmarks, the Apache glue):
 *   1. an input set (b2b_input_t) filled from database rows, column values as text;
 *   2. the compiler, which turns an input set into one contiguous read-only snapshot blob
 *      (offsets, never pointers, so it can live in shared memory mapped anywhere), plus an
 *      incremental rebuild that replaces the rules of one scope in an existing snapshot;
 *   3. the resolver, which prices one line against a snapshot without locks or allocation.
 * The exact pricing semantics are documented at the top of b2b_resolve.c and in README.md. */
#ifndef B2B_PRICING_H
#define B2B_PRICING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes: stable snake_case names (b2b_status_name) used as API error codes ---- */
typedef enum {
    B2B_OK = 0,
    B2B_ERR_UNKNOWN_SKU,        /* unknown_sku */
    B2B_ERR_UNKNOWN_ACCOUNT,    /* unknown_account */
    B2B_ERR_BAD_QUANTITY,       /* bad_quantity: qty outside 1..B2B_MAX_QTY */
    B2B_ERR_NO_PRICE,           /* no_price: no list price in the requested currency nor in USD */
    B2B_ERR_UNKNOWN_CURRENCY,   /* unknown_currency */
    B2B_ERR_NO_FX_RATE,         /* no_fx_rate: USD list only and no valid USD->currency fx rule */
    B2B_ERR_OVERFLOW,           /* overflow: a money value does not fit int64 minor units */
    B2B_ERR_BAD_MONEY,          /* bad_money: not a decimal with at most the currency's digits */
    B2B_ERR_BAD_PERCENT,        /* bad_percent: not a percentage 0.00..100.00 */
    B2B_ERR_BAD_TIME,           /* bad_time */
    B2B_ERR_BAD_VALUE,          /* bad_value: a field that does not parse */
    B2B_ERR_BAD_RULE,           /* bad_rule: a rule without the fields its kind needs */
    B2B_ERR_DUPLICATE,          /* duplicate: two rows with the same id or code */
    B2B_ERR_BAD_TREE,           /* bad_tree: account parent unknown or a cycle */
    B2B_ERR_DOES_NOT_FIT,       /* does_not_fit: snapshot larger than the buffer given */
    B2B_ERR_BAD_SNAPSHOT,       /* bad_snapshot: magic, version, bounds or checksum wrong */
    B2B_ERR_OUT_OF_SCOPE,       /* out_of_scope: incremental rule outside the rebuilt scope */
    B2B_ERR_STALE_SNAPSHOT,     /* stale_snapshot: scope object absent: do a full build */
    B2B_ERR_TOO_MANY,           /* too_many: more rows than the snapshot format holds */
    B2B_ERR_NO_MEMORY,          /* no_memory */
    B2B_ERR_BAD_ARGUMENT,       /* bad_argument */
    B2B_STATUS_COUNT
} b2b_status_t;

const char *b2b_status_name(b2b_status_t status);

/* ---- limits ---- */
#define B2B_MAX_QTY          1000000
#define B2B_MAX_MINOR_DIGITS 3
#define B2B_CODE_MAX         64      /* sku, account code, promo code, region, tax class */
#define B2B_NONE_ID          0       /* "SQL NULL" for id columns (ids are >= 1) */

/* ---- money: exact int64 minor units, half-up (away from zero) rounding ---- */

/* Parse a decimal "-?D+(.D{1,scale})?" into units of 10^-scale; more fractional digits than
 * scale, signs other than a leading '-', blanks or exponents are errors (no silent rounding).
 * scale 0..9. Returns B2B_OK, B2B_ERR_BAD_VALUE or B2B_ERR_OVERFLOW. */
b2b_status_t b2b_decimal_parse(const char *s, size_t len, int scale, int64_t *out);
/* Money for a currency with `digits` minor digits (0..3): "17.25" -> 1725; B2B_ERR_BAD_MONEY. */
b2b_status_t b2b_money_parse(const char *s, size_t len, int digits, int64_t *out);
/* Exactly `digits` fractional digits: 1725,2 -> "17.25"; 5,0 -> "5"; -5,3 -> "-0.005".
 * Returns the length written (NUL added) or 0 if cap is too small. cap 32 always suffices. */
size_t b2b_money_format(int64_t minor, int digits, char *buf, size_t cap);
/* Percent "12.50" -> 1250 basis points of a percent; 0.00..100.00 only; B2B_ERR_BAD_PERCENT. */
b2b_status_t b2b_percent_parse(const char *s, size_t len, int32_t *bp);
size_t b2b_percent_format(int32_t bp, char *buf, size_t cap);

/* Rounded arithmetic, each overflow-checked (B2B_ERR_OVERFLOW), rounding half away from zero. */
b2b_status_t b2b_round_div(int64_t numerator, int64_t denominator, int64_t *out);
/* amount * (10000 - bp) / 10000 */
b2b_status_t b2b_money_discount(int64_t amount, int32_t bp, int64_t *out);
/* amount * bp / 10000 (tax on an amount) */
b2b_status_t b2b_money_percent_of(int64_t amount, int32_t bp, int64_t *out);
/* amount (from_digits) * rate_micro / 1e6, expressed with to_digits minor digits. */
b2b_status_t b2b_money_convert(int64_t amount, int from_digits, int64_t rate_micro,
                               int to_digits, int64_t *out);
/* amount with from_digits re-expressed with to_digits (rounded when digits are dropped). */
b2b_status_t b2b_money_rescale(int64_t amount, int from_digits, int to_digits, int64_t *out);
b2b_status_t b2b_money_mul(int64_t amount, int64_t qty, int64_t *out);
b2b_status_t b2b_money_add(int64_t a, int64_t b, int64_t *out);

/* ---- time: unix seconds ---- */
typedef enum { B2B_TIME_FLOOR = 0, B2B_TIME_CEIL = 1 } b2b_time_round_t;
/* Accepts integer unix seconds ("1700000000"), or ISO 8601 / PostgreSQL text:
 * "YYYY-MM-DD", "YYYY-MM-DD[T ]HH:MM[:SS[.f{1,9}]]" with optional zone "Z", "+HH", "+HHMM",
 * "+HH:MM" (or '-'); no zone means UTC. Fractional seconds round as asked (rule bounds use
 * CEIL so that "bound <= as_of" on whole seconds equals the database's comparison). */
b2b_status_t b2b_time_parse(const char *s, size_t len, b2b_time_round_t round, int64_t *out);
/* "YYYY-MM-DDTHH:MM:SSZ"; returns length or 0. */
size_t b2b_time_format(int64_t t, char *buf, size_t cap);
#define B2B_TIME_MIN INT64_MIN   /* valid_from NULL */
#define B2B_TIME_MAX INT64_MAX   /* valid_to NULL */

/* ---- rule model (one struct per price_rules row) ---- */
typedef enum {
    B2B_KIND_LIST = 0, B2B_KIND_TIER, B2B_KIND_BRACKET, B2B_KIND_CONTRACT,
    B2B_KIND_PROMO, B2B_KIND_TAX, B2B_KIND_FX, B2B_KIND_COUNT
} b2b_kind_t;
const char *b2b_kind_name(b2b_kind_t kind);             /* "list", "tier", ... */
int b2b_kind_parse(const char *s, size_t len);          /* -1 if unknown */

/* Layers of a resolution, in order; names as in the explain output. */
typedef enum {
    B2B_LAYER_LIST = 0, B2B_LAYER_TIER, B2B_LAYER_BRACKET, B2B_LAYER_CONTRACT,
    B2B_LAYER_PROMO, B2B_LAYER_FX, B2B_LAYER_TAX, B2B_LAYER_COUNT
} b2b_layer_t;
const char *b2b_layer_name(b2b_layer_t layer);

/* Which optional numeric columns are non-NULL. */
enum {
    B2B_RULE_HAS_PRICE      = 1u << 0,
    B2B_RULE_HAS_DISCOUNT   = 1u << 1,
    B2B_RULE_HAS_AMOUNT_OFF = 1u << 2,
    B2B_RULE_HAS_MIN_QTY    = 1u << 3,
    B2B_RULE_HAS_RATE       = 1u << 4,
    B2B_RULE_HAS_FX_RATE    = 1u << 5
};

/* One price_rules row. Ids are database ids, B2B_NONE_ID (0) for NULL; strings are
 * NUL-terminated, NULL (or "") for SQL NULL, borrowed only for the duration of the call
 * that receives the struct. valid_from/valid_to: B2B_TIME_MIN/B2B_TIME_MAX for NULL. */
typedef struct {
    int64_t id;
    b2b_kind_t kind;
    int64_t account_id, price_list_id, product_id, product_group_id;
    const char *currency;         /* 3 letters */
    unsigned has;                 /* B2B_RULE_HAS_* */
    int64_t price_minor;          /* in `currency`'s minor units */
    int32_t discount_bp;          /* 0..10000 */
    int64_t amount_off_minor;     /* in `currency` */
    int32_t min_qty;
    const char *promo_code;
    int stackable;
    int64_t valid_from, valid_to; /* half-open [from, to) */
    const char *country;          /* 2 letters */
    const char *region;
    const char *tax_class;
    int32_t rate_bp;              /* 0..10000 */
    const char *to_currency;
    int64_t fx_rate_micro;        /* > 0 */
} b2b_rule_t;

void b2b_rule_init(b2b_rule_t *rule);   /* all NULL / none */

typedef struct {
    int64_t id;
    const char *code;              /* ^[A-Z0-9][A-Z0-9-]{0,31}$ (checked loosely: 1..64 bytes) */
    int64_t parent_id;             /* 0: root */
    const char *currency;
    const char *country;           /* 2 letters or NULL */
    const char *region;            /* or NULL */
    int64_t price_list_id;         /* 0: none (inherited) */
    int tax_exempt;
} b2b_account_t;

typedef struct {
    int64_t id;
    const char *sku;
    int64_t product_group_id;      /* 0: none */
    const char *tax_class;         /* NULL means "standard" */
} b2b_product_t;

/* ---- text rows, as apr_dbd_get_entry hands them out (NULL pointer = SQL NULL) ----
 * The column order of each enum is the SELECT list the Apache side must use; README.md
 * gives the exact queries. Ids and numbers are decimal text; booleans t/f/true/false/1/0;
 * timestamps as b2b_time_parse reads them (epoch seconds recommended:
 * ceil(extract(epoch from valid_from))::bigint). */
typedef enum {
    B2B_RULE_COL_ID = 0, B2B_RULE_COL_KIND, B2B_RULE_COL_ACCOUNT_ID, B2B_RULE_COL_PRICE_LIST_ID,
    B2B_RULE_COL_PRODUCT_ID, B2B_RULE_COL_PRODUCT_GROUP_ID, B2B_RULE_COL_CURRENCY,
    B2B_RULE_COL_PRICE_MINOR, B2B_RULE_COL_DISCOUNT_BP, B2B_RULE_COL_AMOUNT_OFF_MINOR,
    B2B_RULE_COL_MIN_QTY, B2B_RULE_COL_PROMO_CODE, B2B_RULE_COL_STACKABLE,
    B2B_RULE_COL_VALID_FROM, B2B_RULE_COL_VALID_TO, B2B_RULE_COL_COUNTRY, B2B_RULE_COL_REGION,
    B2B_RULE_COL_TAX_CLASS, B2B_RULE_COL_RATE_BP, B2B_RULE_COL_TO_CURRENCY,
    B2B_RULE_COL_FX_RATE_MICRO, B2B_RULE_COL_COUNT
} b2b_rule_col_t;
typedef enum {
    B2B_ACCOUNT_COL_ID = 0, B2B_ACCOUNT_COL_CODE, B2B_ACCOUNT_COL_PARENT_ID,
    B2B_ACCOUNT_COL_CURRENCY, B2B_ACCOUNT_COL_COUNTRY, B2B_ACCOUNT_COL_REGION,
    B2B_ACCOUNT_COL_PRICE_LIST_ID, B2B_ACCOUNT_COL_TAX_EXEMPT, B2B_ACCOUNT_COL_COUNT
} b2b_account_col_t;
typedef enum {
    B2B_PRODUCT_COL_ID = 0, B2B_PRODUCT_COL_SKU, B2B_PRODUCT_COL_PRODUCT_GROUP_ID,
    B2B_PRODUCT_COL_TAX_CLASS, B2B_PRODUCT_COL_COUNT
} b2b_product_col_t;
typedef enum {
    B2B_CURRENCY_COL_CODE = 0, B2B_CURRENCY_COL_MINOR_DIGITS, B2B_CURRENCY_COL_COUNT
} b2b_currency_col_t;

/* Column names (the database's), for building SELECT lists and messages. */
const char *b2b_rule_col_name(b2b_rule_col_t col);
const char *b2b_account_col_name(b2b_account_col_t col);
const char *b2b_product_col_name(b2b_product_col_t col);

/* Where an input error was found: row index within its kind, and the column name. */
typedef struct {
    size_t row;
    const char *column;      /* static string or NULL */
    char message[128];
} b2b_input_error_t;

/* Text row -> struct parsing without an input set (strings point into `values`). */
b2b_status_t b2b_rule_from_text(const char *const values[B2B_RULE_COL_COUNT], b2b_rule_t *out,
                                b2b_input_error_t *err);

/* ---- input set ---- */
typedef struct b2b_input b2b_input_t;

b2b_input_t *b2b_input_new(void);
void b2b_input_free(b2b_input_t *in);
/* Every add copies what it needs; the struct and its strings may be reused at once. */
b2b_status_t b2b_input_add_currency(b2b_input_t *in, const char *code, int minor_digits,
                                    b2b_input_error_t *err);
b2b_status_t b2b_input_add_account(b2b_input_t *in, const b2b_account_t *account,
                                   b2b_input_error_t *err);
b2b_status_t b2b_input_add_product(b2b_input_t *in, const b2b_product_t *product,
                                   b2b_input_error_t *err);
/* Checks the per-kind shape (see README) and keeps only the columns the kind uses. */
b2b_status_t b2b_input_add_rule(b2b_input_t *in, const b2b_rule_t *rule, b2b_input_error_t *err);
b2b_status_t b2b_input_add_currency_text(b2b_input_t *in,
                                         const char *const values[B2B_CURRENCY_COL_COUNT],
                                         b2b_input_error_t *err);
b2b_status_t b2b_input_add_account_text(b2b_input_t *in,
                                        const char *const values[B2B_ACCOUNT_COL_COUNT],
                                        b2b_input_error_t *err);
b2b_status_t b2b_input_add_product_text(b2b_input_t *in,
                                        const char *const values[B2B_PRODUCT_COL_COUNT],
                                        b2b_input_error_t *err);
b2b_status_t b2b_input_add_rule_text(b2b_input_t *in,
                                     const char *const values[B2B_RULE_COL_COUNT],
                                     b2b_input_error_t *err);
size_t b2b_input_rule_count(const b2b_input_t *in);
/* Check a rule's per-kind shape without an input set. */
b2b_status_t b2b_rule_validate(const b2b_rule_t *rule, b2b_input_error_t *err);

/* ---- snapshot ---- */
typedef struct {
    uint64_t generation;     /* stored in the header; e.g. pricing_state.version */
} b2b_build_options_t;

typedef struct {
    uint64_t size;           /* bytes used in the buffer */
    uint64_t rules;          /* rules compiled into the snapshot */
    uint64_t dropped;        /* rules whose account/product/group/currency is unknown (or can never match) */
} b2b_build_stats_t;

/* Bytes the snapshot for this input needs (exact). */
b2b_status_t b2b_snapshot_size(const b2b_input_t *in, uint64_t *size);
/* Compile. buf must be 8-byte aligned (64 recommended: large sections are then written with
 * streaming stores). On any error nothing is written to buf (the size and capacity are
 * checked before the first byte is written); on does_not_fit stats->size is the size needed. */
b2b_status_t b2b_snapshot_build(const b2b_input_t *in, const b2b_build_options_t *opt,
                                void *buf, size_t capacity, b2b_build_stats_t *stats);

typedef enum {
    B2B_SCOPE_ALL = 0,        /* every rule (accounts, products, currencies kept) */
    B2B_SCOPE_ACCOUNT,        /* contract and promo rules whose account is in the subtree of id */
    B2B_SCOPE_PRODUCT_GROUP,  /* rules whose product_group_id = id or whose product is in group id */
    B2B_SCOPE_SKU,            /* rules whose product_id = id */
    B2B_SCOPE_ACCOUNT_OWN     /* contract and promo rules of account id itself: what one
                               * rule change on that account touches (its subtree's rules
                               * are untouched), so far fewer rows to re-read */
} b2b_scope_kind_t;
typedef struct {
    b2b_scope_kind_t kind;
    int64_t id;               /* account id, product group id or product id */
} b2b_scope_t;

/* Incremental rebuild: the new snapshot is the old one with every rule of `scope` removed and
 * the rules of `changed` (the complete current set of that scope's rules; its accounts,
 * products and currencies are ignored) added. Byte-identical to a full build of the same
 * rules. A changed rule outside the scope -> B2B_ERR_OUT_OF_SCOPE; scope account/sku absent
 * from the old snapshot -> B2B_ERR_STALE_SNAPSHOT (a full build is needed). Nothing is
 * written to buf on error. old and buf must not overlap. Without opt the generation is the
 * old one + 1. */
b2b_status_t b2b_snapshot_rebuild(const void *old_snapshot, const b2b_scope_t *scope,
                                  const b2b_input_t *changed, const b2b_build_options_t *opt,
                                  void *buf, size_t capacity, b2b_build_stats_t *stats);

/* Verify magic, version, sizes, section bounds, every stored index and the checksum. Use on a
 * snapshot read from a file or another process before resolving against it. */
b2b_status_t b2b_snapshot_check(const void *snapshot, size_t size);
uint64_t b2b_snapshot_generation(const void *snapshot);
uint64_t b2b_snapshot_total_size(const void *snapshot);
uint64_t b2b_snapshot_checksum(const void *snapshot);
uint64_t b2b_snapshot_rule_count(const void *snapshot);
/* The scope a rule belongs to for invalidation (narrowest of sku, account, group, all). */
b2b_scope_t b2b_rule_scope(const b2b_rule_t *rule);

/* Lookups: index >= 0, or -1. */
int32_t b2b_snapshot_find_account(const void *snapshot, const char *code, size_t len);
int32_t b2b_snapshot_find_sku(const void *snapshot, const char *sku, size_t len);
uint32_t b2b_snapshot_account_count(const void *snapshot);
uint32_t b2b_snapshot_product_count(const void *snapshot);
/* Digits of a currency code in the snapshot, or -1. */
int b2b_snapshot_currency_digits(const void *snapshot, const char *code);

/* ---- resolver ---- */
typedef struct {
    const char *account_code;  /* used when account_index < 0 */
    int32_t account_index;     /* from b2b_snapshot_find_account, or -1 */
    const char *sku;
    int64_t qty;               /* 1..B2B_MAX_QTY */
    const char *promo_code;    /* NULL or "" for none */
    const char *currency;      /* NULL or "": the account's currency */
    int64_t as_of;             /* unix seconds */
} b2b_query_t;

typedef struct {
    b2b_layer_t layer;
    int64_t rule_id;
    int64_t amount_minor;      /* unit price after the step; for tax: the line gross */
    char currency[4];
    int minor_digits;          /* of that currency */
} b2b_step_t;

typedef enum {
    B2B_PROMO_NONE = 0,        /* no code given */
    B2B_PROMO_APPLIED,         /* a rule with this code changed the price */
    B2B_PROMO_NOT_BETTER,      /* non-stackable promo not lower than the negotiated price */
    B2B_PROMO_NOT_APPLICABLE,  /* code known, no rule of it applies (scope/validity/min_qty) */
    B2B_PROMO_UNKNOWN_CODE     /* no rule has this code */
} b2b_promo_status_t;
const char *b2b_promo_status_name(b2b_promo_status_t status);

#define B2B_MAX_STEPS 8
typedef struct {
    int64_t unit_minor, net_minor, tax_minor, gross_minor;
    char currency[4];
    int minor_digits;
    int32_t tax_rate_bp;
    b2b_promo_status_t promo;
    unsigned step_count;
    b2b_step_t steps[B2B_MAX_STEPS];
} b2b_quote_t;

/* Price one line. Thread-safe, lock-free, no allocation; the snapshot is only read. */
b2b_status_t b2b_resolve(const void *snapshot, const b2b_query_t *query, b2b_quote_t *out);

#ifdef __cplusplus
}
#endif
#endif /* B2B_PRICING_H */
