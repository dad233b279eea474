/* b2b_rules.c — the pricing input model: currencies, the account tree, products and price
 * rules, gathered into an input set (b2b_input_t) from structs or from rows whose columns
 * arrive as text (apr_dbd_get_entry), with per-kind validation. Strings are interned into
 * one pool so a million rules cost one allocation pattern, not a million. */
#include "b2b_pricing_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_col_names[B2B_RULE_COL_COUNT] = {
    "id", "kind", "account_id", "price_list_id", "product_id", "product_group_id", "currency",
    "price_minor", "discount_bp", "amount_off_minor", "min_qty", "promo_code", "stackable",
    "valid_from", "valid_to", "country", "region", "tax_class", "rate_bp", "to_currency",
    "fx_rate_micro"
};
static const char *const account_col_names[B2B_ACCOUNT_COL_COUNT] = {
    "id", "code", "parent_id", "currency", "country", "region", "price_list_id", "tax_exempt"
};
static const char *const product_col_names[B2B_PRODUCT_COL_COUNT] = {
    "id", "sku", "product_group_id", "tax_class"
};

const char *b2b_rule_col_name(b2b_rule_col_t col)
{
    return (unsigned)col < B2B_RULE_COL_COUNT ? rule_col_names[col] : "?";
}
const char *b2b_account_col_name(b2b_account_col_t col)
{
    return (unsigned)col < B2B_ACCOUNT_COL_COUNT ? account_col_names[col] : "?";
}
const char *b2b_product_col_name(b2b_product_col_t col)
{
    return (unsigned)col < B2B_PRODUCT_COL_COUNT ? product_col_names[col] : "?";
}

static b2b_status_t fail(b2b_input_error_t *err, b2b_status_t st, const char *column,
                         const char *message)
{
    if (err) {
        err->column = column;
        snprintf(err->message, sizeof err->message, "%s", message);
    }
    return st;
}

/* 8 bytes per step (keys are short: skus, account codes); the same function hashes at
 * compile time and at lookup time, so only its determinism matters, not its exact mix. */
uint64_t b2b_hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (len * 0xC2B2AE3D27D4EB4FULL);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
    }
    if (i < len) {
        uint64_t w = 0;
        if (len >= 8) {
            memcpy(&w, s + len - 8, 8);          /* overlapping last word: no byte loop */
        } else {
            for (size_t k = 0; k < len; k++)
                w |= (uint64_t)(uint8_t)s[k] << (8 * k);
        }
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
    }
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 29;
    return h;
}

/* ---- input set: allocation and interning ---- */

b2b_input_t *b2b_input_new(void)
{
    b2b_input_t *in = calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->pool_cap = 4096;
    in->pool = malloc(in->pool_cap);
    in->intern_cap = 1024;
    in->intern = calloc(in->intern_cap, sizeof *in->intern);
    if (!in->pool || !in->intern) {
        b2b_input_free(in);
        return NULL;
    }
    in->pool[0] = '\0';
    in->pool_size = 1;
    return in;
}

void b2b_input_free(b2b_input_t *in)
{
    if (!in)
        return;
    free(in->currencies);
    free(in->accounts);
    free(in->products);
    free(in->rules);
    free(in->pool);
    free(in->intern);
    free(in);
}

static int grow(void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*array, n * elem);
    if (!p)
        return 0;
    *array = p;
    *cap = n;
    return 1;
}

static int intern_rehash(b2b_input_t *in)
{
    size_t cap = in->intern_cap * 2;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return 0;
    for (size_t i = 0; i < in->intern_cap; i++) {
        uint32_t id = in->intern[i];
        if (!id)
            continue;
        const char *s = in->pool + id;
        size_t j = b2b_hash_bytes(s, strlen(s)) & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = id;
    }
    free(in->intern);
    in->intern = t;
    in->intern_cap = cap;
    return 1;
}

/* Returns the string id (0 for NULL or ""), or UINT32_MAX when out of memory/too big. */
static uint32_t intern(b2b_input_t *in, const char *s, size_t len)
{
    if (!s || len == 0)
        return 0;
    if ((in->intern_count + 1) * 2 > in->intern_cap && !intern_rehash(in))
        return UINT32_MAX;
    size_t j = b2b_hash_bytes(s, len) & (in->intern_cap - 1);
    while (in->intern[j]) {
        const char *t = in->pool + in->intern[j];
        if (strncmp(t, s, len) == 0 && t[len] == '\0')
            return in->intern[j];
        j = (j + 1) & (in->intern_cap - 1);
    }
    if (in->pool_size + len + 1 > UINT32_MAX - 1)
        return UINT32_MAX;
    if (!grow((void **)&in->pool, &in->pool_cap, in->pool_size + len + 1, 1))
        return UINT32_MAX;
    uint32_t id = (uint32_t)in->pool_size;
    memcpy(in->pool + id, s, len);
    in->pool[id + len] = '\0';
    in->pool_size += len + 1;
    in->intern[j] = id;
    in->intern_count++;
    return id;
}

/* ---- field checks ---- */

static int is_upper_code(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return 0;
    return 1;
}

static int present(const char *s)
{
    return s && s[0];
}

static int code_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= B2B_CODE_MAX;
}

void b2b_rule_init(b2b_rule_t *rule)
{
    memset(rule, 0, sizeof *rule);
    rule->valid_from = B2B_TIME_MIN;
    rule->valid_to = B2B_TIME_MAX;
}

/* "price_minor+currency or discount_bp" — exactly one. */
static b2b_status_t check_price_or_discount(const b2b_rule_t *r, b2b_input_error_t *err)
{
    int price = (r->has & B2B_RULE_HAS_PRICE) != 0, discount = (r->has & B2B_RULE_HAS_DISCOUNT) != 0;
    if (price == discount)
        return fail(err, B2B_ERR_BAD_RULE, price ? "discount_bp" : "price_minor",
                    "a price or a discount is required, not both");
    if (price && !is_upper_code(r->currency, 3))
        return fail(err, B2B_ERR_BAD_RULE, "currency", "a price needs a currency");
    return B2B_OK;
}

b2b_status_t b2b_rule_validate(const b2b_rule_t *r, b2b_input_error_t *err)
{
    if (r->id <= 0)
        return fail(err, B2B_ERR_BAD_RULE, "id", "id must be a positive integer");
    if ((unsigned)r->kind >= B2B_KIND_COUNT)
        return fail(err, B2B_ERR_BAD_RULE, "kind", "unknown rule kind");
    if ((r->has & B2B_RULE_HAS_PRICE) && r->price_minor < 0)
        return fail(err, B2B_ERR_BAD_RULE, "price_minor", "price must not be negative");
    if ((r->has & B2B_RULE_HAS_DISCOUNT) && (r->discount_bp < 0 || r->discount_bp > 10000))
        return fail(err, B2B_ERR_BAD_RULE, "discount_bp", "discount must be 0..10000 bp");
    if ((r->has & B2B_RULE_HAS_AMOUNT_OFF) && r->amount_off_minor < 0)
        return fail(err, B2B_ERR_BAD_RULE, "amount_off_minor", "amount off must not be negative");
    if ((r->has & B2B_RULE_HAS_MIN_QTY) && r->min_qty < 1)
        return fail(err, B2B_ERR_BAD_RULE, "min_qty", "min_qty must be at least 1");
    if ((r->has & B2B_RULE_HAS_RATE) && (r->rate_bp < 0 || r->rate_bp > 10000))
        return fail(err, B2B_ERR_BAD_RULE, "rate_bp", "rate must be 0..10000 bp");
    if ((r->has & B2B_RULE_HAS_FX_RATE) && r->fx_rate_micro <= 0)
        return fail(err, B2B_ERR_BAD_RULE, "fx_rate_micro", "fx rate must be positive");
    if (r->account_id < 0 || r->price_list_id < 0 || r->product_id < 0 || r->product_group_id < 0)
        return fail(err, B2B_ERR_BAD_RULE, "id", "reference ids must be positive");
    if (present(r->promo_code) && !code_ok(r->promo_code))
        return fail(err, B2B_ERR_BAD_RULE, "promo_code", "promo code too long");
    if (present(r->region) && !code_ok(r->region))
        return fail(err, B2B_ERR_BAD_RULE, "region", "region too long");
    if (present(r->tax_class) && !code_ok(r->tax_class))
        return fail(err, B2B_ERR_BAD_RULE, "tax_class", "tax class too long");
    switch (r->kind) {
    case B2B_KIND_LIST:
        if (!r->product_id)
            return fail(err, B2B_ERR_BAD_RULE, "product_id", "a list price needs a product");
        if (!(r->has & B2B_RULE_HAS_PRICE) || !is_upper_code(r->currency, 3))
            return fail(err, B2B_ERR_BAD_RULE, "price_minor", "a list price needs price and currency");
        return B2B_OK;
    case B2B_KIND_TIER:
        if (!r->price_list_id)
            return fail(err, B2B_ERR_BAD_RULE, "price_list_id", "a tier rule needs a price list");
        if (r->product_id && r->product_group_id)
            return fail(err, B2B_ERR_BAD_RULE, "product_group_id", "product or group, not both");
        return check_price_or_discount(r, err);
    case B2B_KIND_BRACKET:
        if (!r->product_id == !r->product_group_id)
            return fail(err, B2B_ERR_BAD_RULE, "product_id", "exactly one of product and group");
        if (!(r->has & B2B_RULE_HAS_MIN_QTY))
            return fail(err, B2B_ERR_BAD_RULE, "min_qty", "a bracket needs min_qty");
        return check_price_or_discount(r, err);
    case B2B_KIND_CONTRACT:
        if (!r->account_id)
            return fail(err, B2B_ERR_BAD_RULE, "account_id", "a contract needs an account");
        if (!r->product_id == !r->product_group_id)
            return fail(err, B2B_ERR_BAD_RULE, "product_id", "exactly one of product and group");
        return check_price_or_discount(r, err);
    case B2B_KIND_PROMO: {
        if (!present(r->promo_code))
            return fail(err, B2B_ERR_BAD_RULE, "promo_code", "a promo needs a code");
        int discount = (r->has & B2B_RULE_HAS_DISCOUNT) != 0;
        int off = (r->has & B2B_RULE_HAS_AMOUNT_OFF) != 0;
        if (discount == off)
            return fail(err, B2B_ERR_BAD_RULE, "discount_bp",
                        "a promo needs a discount or an amount off, not both");
        if (off && !is_upper_code(r->currency, 3))
            return fail(err, B2B_ERR_BAD_RULE, "currency", "an amount off needs a currency");
        return B2B_OK;
    }
    case B2B_KIND_TAX:
        if (!is_upper_code(r->country, 2))
            return fail(err, B2B_ERR_BAD_RULE, "country", "a tax rule needs a country");
        if (!(r->has & B2B_RULE_HAS_RATE))
            return fail(err, B2B_ERR_BAD_RULE, "rate_bp", "a tax rule needs a rate");
        return B2B_OK;
    case B2B_KIND_FX:
        if (!is_upper_code(r->currency, 3) || !is_upper_code(r->to_currency, 3))
            return fail(err, B2B_ERR_BAD_RULE, "to_currency", "fx needs currency and to_currency");
        if (!(r->has & B2B_RULE_HAS_FX_RATE))
            return fail(err, B2B_ERR_BAD_RULE, "fx_rate_micro", "fx needs a rate");
        return B2B_OK;
    default:
        return fail(err, B2B_ERR_BAD_RULE, "kind", "unknown rule kind");
    }
}

b2b_scope_t b2b_rule_scope(const b2b_rule_t *r)
{
    b2b_scope_t s = { B2B_SCOPE_ALL, 0 };
    if (r->kind == B2B_KIND_TAX || r->kind == B2B_KIND_FX)
        return s;
    if ((r->kind == B2B_KIND_CONTRACT || r->kind == B2B_KIND_PROMO) && r->account_id) {
        s.kind = B2B_SCOPE_ACCOUNT;
        s.id = r->account_id;
    } else if (r->product_id) {
        s.kind = B2B_SCOPE_SKU;
        s.id = r->product_id;
    } else if (r->product_group_id && r->kind != B2B_KIND_LIST) {
        s.kind = B2B_SCOPE_PRODUCT_GROUP;
        s.id = r->product_group_id;
    }
    return s;
}

/* ---- adding rows ---- */

b2b_status_t b2b_input_add_currency(b2b_input_t *in, const char *code, int digits,
                                    b2b_input_error_t *err)
{
    if (!is_upper_code(code, 3))
        return fail(err, B2B_ERR_BAD_VALUE, "code", "currency code must be 3 letters A-Z");
    if (digits < 0 || digits > B2B_MAX_MINOR_DIGITS)
        return fail(err, B2B_ERR_BAD_VALUE, "minor_digits", "minor digits must be 0..3");
    for (size_t i = 0; i < in->ncurrencies; i++)
        if (memcmp(in->currencies[i].code, code, 3) == 0)
            return fail(err, B2B_ERR_DUPLICATE, "code", "duplicate currency");
    if (in->ncurrencies >= 4096)
        return fail(err, B2B_ERR_TOO_MANY, "code", "too many currencies");
    if (!grow((void **)&in->currencies, &in->cap_currencies, in->ncurrencies + 1,
              sizeof *in->currencies))
        return fail(err, B2B_ERR_NO_MEMORY, NULL, "out of memory");
    b2b_in_currency_t *c = &in->currencies[in->ncurrencies++];
    memset(c, 0, sizeof *c);
    memcpy(c->code, code, 3);
    c->digits = digits;
    return B2B_OK;
}

b2b_status_t b2b_input_add_account(b2b_input_t *in, const b2b_account_t *a, b2b_input_error_t *err)
{
    if (a->id <= 0)
        return fail(err, B2B_ERR_BAD_VALUE, "id", "account id must be positive");
    if (!code_ok(a->code))
        return fail(err, B2B_ERR_BAD_VALUE, "code", "account code must be 1..64 bytes");
    if (a->parent_id < 0 || a->parent_id == a->id)
        return fail(err, B2B_ERR_BAD_TREE, "parent_id", "bad parent");
    if (!is_upper_code(a->currency, 3))
        return fail(err, B2B_ERR_BAD_VALUE, "currency", "account currency must be 3 letters");
    if (present(a->country) && !is_upper_code(a->country, 2))
        return fail(err, B2B_ERR_BAD_VALUE, "country", "country must be 2 letters");
    if (present(a->region) && !code_ok(a->region))
        return fail(err, B2B_ERR_BAD_VALUE, "region", "region too long");
    if (a->price_list_id < 0)
        return fail(err, B2B_ERR_BAD_VALUE, "price_list_id", "bad price list id");
    if (in->naccounts >= 0x7FFFFFF0u)
        return fail(err, B2B_ERR_TOO_MANY, NULL, "too many accounts");
    if (!grow((void **)&in->accounts, &in->cap_accounts, in->naccounts + 1, sizeof *in->accounts))
        return fail(err, B2B_ERR_NO_MEMORY, NULL, "out of memory");
    b2b_in_account_t *o = &in->accounts[in->naccounts];
    memset(o, 0, sizeof *o);
    o->id = a->id;
    o->parent_id = a->parent_id;
    o->price_list_id = a->price_list_id;
    o->code = intern(in, a->code, strlen(a->code));
    o->region = present(a->region) ? intern(in, a->region, strlen(a->region)) : 0;
    if (o->code == UINT32_MAX || o->region == UINT32_MAX)
        return fail(err, B2B_ERR_NO_MEMORY, NULL, "out of memory");
    memcpy(o->currency, a->currency, 3);
    if (present(a->country))
        memcpy(o->country, a->country, 2);
    o->tax_exempt = a->tax_exempt ? 1 : 0;
    in->naccounts++;
    return B2B_OK;
}

b2b_status_t b2b_input_add_product(b2b_input_t *in, const b2b_product_t *p, b2b_input_error_t *err)
{
    if (p->id <= 0)
        return fail(err, B2B_ERR_BAD_VALUE, "id", "product id must be positive");
    if (!code_ok(p->sku))
        return fail(err, B2B_ERR_BAD_VALUE, "sku", "sku must be 1..64 bytes");
    if (p->product_group_id < 0)
        return fail(err, B2B_ERR_BAD_VALUE, "product_group_id", "bad group id");
    const char *tc = present(p->tax_class) ? p->tax_class : "standard";
    if (!code_ok(tc))
        return fail(err, B2B_ERR_BAD_VALUE, "tax_class", "tax class too long");
    if (in->nproducts >= 0x7FFFFFF0u)
        return fail(err, B2B_ERR_TOO_MANY, NULL, "too many products");
    if (!grow((void **)&in->products, &in->cap_products, in->nproducts + 1, sizeof *in->products))
        return fail(err, B2B_ERR_NO_MEMORY, NULL, "out of memory");
    b2b_in_product_t *o = &in->products[in->nproducts];
    o->id = p->id;
    o->product_group_id = p->product_group_id;
    o->sku = intern(in, p->sku, strlen(p->sku));
    o->tax_class = intern(in, tc, strlen(tc));
    if (o->sku == UINT32_MAX || o->tax_class == UINT32_MAX)
        return fail(err, B2B_ERR_NO_MEMORY, NULL, "out of memory");
    in->nproducts++;
    return B2B_OK;
}

b2b_status_t b2b_input_add_rule(b2b_input_t *in, const b2b_rule_t *r, b2b_input_error_t *err)
{
    b2b_status_t st = b2b_rule_validate(r, err);
    if (st != B2B_OK)
        return st;
    if (in->nrules >= 0x7FFFFFF0u)
        return fail(err, B2B_ERR_TOO_MANY, NULL, "too many rules");
    if (!grow((void **)&in->rules, &in->cap_rules, in->nrules + 1, sizeof *in->rules))
        return fail(err, B2B_ERR_NO_MEMORY, NULL, "out of memory");
    b2b_in_rule_t o;
    memset(&o, 0, sizeof o);
    o.id = r->id;
    o.kind = (uint8_t)r->kind;
    o.valid_from = r->valid_from;
    o.valid_to = r->valid_to;
    /* Keep only the columns the kind uses (see README: per-kind shape). */
    switch (r->kind) {
    case B2B_KIND_LIST:
        o.product_id = r->product_id;
        o.has = B2B_RULE_HAS_PRICE;
        o.value = r->price_minor;
        memcpy(o.currency, r->currency, 3);
        break;
    case B2B_KIND_TIER:
    case B2B_KIND_BRACKET:
    case B2B_KIND_CONTRACT:
        if (r->kind == B2B_KIND_TIER)
            o.price_list_id = r->price_list_id;
        if (r->kind == B2B_KIND_CONTRACT)
            o.account_id = r->account_id;
        if (r->kind == B2B_KIND_BRACKET) {
            o.has |= B2B_RULE_HAS_MIN_QTY;
            o.min_qty = r->min_qty;
        }
        o.product_id = r->product_id;
        o.product_group_id = r->product_group_id;
        if (r->has & B2B_RULE_HAS_PRICE) {
            o.has |= B2B_RULE_HAS_PRICE;
            o.value = r->price_minor;
            memcpy(o.currency, r->currency, 3);
        } else {
            o.has |= B2B_RULE_HAS_DISCOUNT;
            o.discount_bp = r->discount_bp;
        }
        break;
    case B2B_KIND_PROMO:
        o.account_id = r->account_id;
        o.product_id = r->product_id;
        o.product_group_id = r->product_group_id;
        o.promo_code = intern(in, r->promo_code, strlen(r->promo_code));
        o.stackable = r->stackable ? 1 : 0;
        if (r->has & B2B_RULE_HAS_MIN_QTY) {
            o.has |= B2B_RULE_HAS_MIN_QTY;
            o.min_qty = r->min_qty;
        }
        if (r->has & B2B_RULE_HAS_AMOUNT_OFF) {
            o.has |= B2B_RULE_HAS_AMOUNT_OFF;
            o.value = r->amount_off_minor;
            memcpy(o.currency, r->currency, 3);
        } else {
            o.has |= B2B_RULE_HAS_DISCOUNT;
            o.discount_bp = r->discount_bp;
        }
        break;
    case B2B_KIND_TAX:
        memcpy(o.country, r->country, 2);
        o.region = present(r->region) ? intern(in, r->region, strlen(r->region)) : 0;
        o.tax_class = present(r->tax_class) ? intern(in, r->tax_class, strlen(r->tax_class)) : 0;
        o.has = B2B_RULE_HAS_RATE;
        o.rate_bp = r->rate_bp;
        break;
    case B2B_KIND_FX:
        memcpy(o.currency, r->currency, 3);
        memcpy(o.to_currency, r->to_currency, 3);
        o.has = B2B_RULE_HAS_FX_RATE;
        o.value = r->fx_rate_micro;
        break;
    default:
        break;
    }
    if (o.promo_code == UINT32_MAX || o.region == UINT32_MAX || o.tax_class == UINT32_MAX)
        return fail(err, B2B_ERR_NO_MEMORY, NULL, "out of memory");
    in->rules[in->nrules++] = o;
    return B2B_OK;
}

size_t b2b_input_rule_count(const b2b_input_t *in)
{
    return in->nrules;
}

/* ---- text rows ---- */

static b2b_status_t text_id(const char *v, int64_t *out)
{
    if (!v) {
        *out = 0;
        return B2B_OK;
    }
    if (b2b_decimal_parse(v, strlen(v), 0, out) != B2B_OK || *out <= 0)
        return B2B_ERR_BAD_VALUE;
    return B2B_OK;
}

static b2b_status_t text_int64(const char *v, int64_t *out)
{
    return b2b_decimal_parse(v, strlen(v), 0, out) == B2B_OK ? B2B_OK : B2B_ERR_BAD_VALUE;
}

static b2b_status_t text_int32(const char *v, int32_t *out)
{
    int64_t x;
    if (text_int64(v, &x) != B2B_OK || x < INT32_MIN || x > INT32_MAX)
        return B2B_ERR_BAD_VALUE;
    *out = (int32_t)x;
    return B2B_OK;
}

static b2b_status_t text_bool(const char *v, int *out)
{
    if (!v) {
        *out = 0;
        return B2B_OK;
    }
    if (!strcmp(v, "t") || !strcmp(v, "true") || !strcmp(v, "1")) {
        *out = 1;
        return B2B_OK;
    }
    if (!strcmp(v, "f") || !strcmp(v, "false") || !strcmp(v, "0")) {
        *out = 0;
        return B2B_OK;
    }
    return B2B_ERR_BAD_VALUE;
}

/* PostgreSQL char(n) columns come back blank-padded: trim trailing blanks into buf. */
static const char *trimmed(const char *v, char *buf, size_t cap)
{
    if (!v)
        return NULL;
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == ' ')
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    return buf;
}

#define BAD_COL(col, msg) fail(err, B2B_ERR_BAD_VALUE, rule_col_names[col], msg)

b2b_status_t b2b_rule_from_text(const char *const v[B2B_RULE_COL_COUNT], b2b_rule_t *r,
                                b2b_input_error_t *err)
{
    b2b_rule_init(r);
    if (!v[B2B_RULE_COL_ID] || text_id(v[B2B_RULE_COL_ID], &r->id) != B2B_OK)
        return BAD_COL(B2B_RULE_COL_ID, "id must be a positive integer");
    int kind = v[B2B_RULE_COL_KIND] ? b2b_kind_parse(v[B2B_RULE_COL_KIND],
                                                      strlen(v[B2B_RULE_COL_KIND])) : -1;
    if (kind < 0)
        return BAD_COL(B2B_RULE_COL_KIND, "unknown rule kind");
    r->kind = (b2b_kind_t)kind;
    static const b2b_rule_col_t id_cols[4] = { B2B_RULE_COL_ACCOUNT_ID, B2B_RULE_COL_PRICE_LIST_ID,
                                               B2B_RULE_COL_PRODUCT_ID,
                                               B2B_RULE_COL_PRODUCT_GROUP_ID };
    int64_t *id_fields[4] = { &r->account_id, &r->price_list_id, &r->product_id,
                              &r->product_group_id };
    for (int i = 0; i < 4; i++)
        if (text_id(v[id_cols[i]], id_fields[i]) != B2B_OK)
            return BAD_COL(id_cols[i], "must be a positive integer");
    r->currency = v[B2B_RULE_COL_CURRENCY];
    r->to_currency = v[B2B_RULE_COL_TO_CURRENCY];
    r->country = v[B2B_RULE_COL_COUNTRY];
    r->promo_code = v[B2B_RULE_COL_PROMO_CODE];
    r->region = v[B2B_RULE_COL_REGION];
    r->tax_class = v[B2B_RULE_COL_TAX_CLASS];
    if (v[B2B_RULE_COL_PRICE_MINOR]) {
        if (text_int64(v[B2B_RULE_COL_PRICE_MINOR], &r->price_minor) != B2B_OK)
            return BAD_COL(B2B_RULE_COL_PRICE_MINOR, "must be an integer");
        r->has |= B2B_RULE_HAS_PRICE;
    }
    if (v[B2B_RULE_COL_DISCOUNT_BP]) {
        if (text_int32(v[B2B_RULE_COL_DISCOUNT_BP], &r->discount_bp) != B2B_OK)
            return BAD_COL(B2B_RULE_COL_DISCOUNT_BP, "must be an integer");
        r->has |= B2B_RULE_HAS_DISCOUNT;
    }
    if (v[B2B_RULE_COL_AMOUNT_OFF_MINOR]) {
        if (text_int64(v[B2B_RULE_COL_AMOUNT_OFF_MINOR], &r->amount_off_minor) != B2B_OK)
            return BAD_COL(B2B_RULE_COL_AMOUNT_OFF_MINOR, "must be an integer");
        r->has |= B2B_RULE_HAS_AMOUNT_OFF;
    }
    if (v[B2B_RULE_COL_MIN_QTY]) {
        if (text_int32(v[B2B_RULE_COL_MIN_QTY], &r->min_qty) != B2B_OK)
            return BAD_COL(B2B_RULE_COL_MIN_QTY, "must be an integer");
        r->has |= B2B_RULE_HAS_MIN_QTY;
    }
    if (v[B2B_RULE_COL_RATE_BP]) {
        if (text_int32(v[B2B_RULE_COL_RATE_BP], &r->rate_bp) != B2B_OK)
            return BAD_COL(B2B_RULE_COL_RATE_BP, "must be an integer");
        r->has |= B2B_RULE_HAS_RATE;
    }
    if (v[B2B_RULE_COL_FX_RATE_MICRO]) {
        if (text_int64(v[B2B_RULE_COL_FX_RATE_MICRO], &r->fx_rate_micro) != B2B_OK)
            return BAD_COL(B2B_RULE_COL_FX_RATE_MICRO, "must be an integer");
        r->has |= B2B_RULE_HAS_FX_RATE;
    }
    if (text_bool(v[B2B_RULE_COL_STACKABLE], &r->stackable) != B2B_OK)
        return BAD_COL(B2B_RULE_COL_STACKABLE, "must be a boolean");
    if (v[B2B_RULE_COL_VALID_FROM] &&
        b2b_time_parse(v[B2B_RULE_COL_VALID_FROM], strlen(v[B2B_RULE_COL_VALID_FROM]),
                       B2B_TIME_CEIL, &r->valid_from) != B2B_OK)
        return BAD_COL(B2B_RULE_COL_VALID_FROM, "must be a timestamp");
    if (v[B2B_RULE_COL_VALID_TO] &&
        b2b_time_parse(v[B2B_RULE_COL_VALID_TO], strlen(v[B2B_RULE_COL_VALID_TO]),
                       B2B_TIME_CEIL, &r->valid_to) != B2B_OK)
        return BAD_COL(B2B_RULE_COL_VALID_TO, "must be a timestamp");
    return B2B_OK;
}

b2b_status_t b2b_input_add_rule_text(b2b_input_t *in, const char *const v[B2B_RULE_COL_COUNT],
                                     b2b_input_error_t *err)
{
    /* char(n) columns may be blank-padded by the driver. */
    char cur[8], to[8], country[8];
    const char *vals[B2B_RULE_COL_COUNT];
    memcpy(vals, v, sizeof vals);
    vals[B2B_RULE_COL_CURRENCY] = trimmed(v[B2B_RULE_COL_CURRENCY], cur, sizeof cur);
    vals[B2B_RULE_COL_TO_CURRENCY] = trimmed(v[B2B_RULE_COL_TO_CURRENCY], to, sizeof to);
    vals[B2B_RULE_COL_COUNTRY] = trimmed(v[B2B_RULE_COL_COUNTRY], country, sizeof country);
    b2b_rule_t r;
    b2b_status_t st = b2b_rule_from_text(vals, &r, err);
    if (st != B2B_OK)
        return st;
    return b2b_input_add_rule(in, &r, err);
}

b2b_status_t b2b_input_add_currency_text(b2b_input_t *in,
                                         const char *const v[B2B_CURRENCY_COL_COUNT],
                                         b2b_input_error_t *err)
{
    char code[8];
    int32_t digits;
    if (!v[B2B_CURRENCY_COL_MINOR_DIGITS] ||
        text_int32(v[B2B_CURRENCY_COL_MINOR_DIGITS], &digits) != B2B_OK)
        return fail(err, B2B_ERR_BAD_VALUE, "minor_digits", "must be an integer");
    return b2b_input_add_currency(in, trimmed(v[B2B_CURRENCY_COL_CODE], code, sizeof code),
                                  digits, err);
}

b2b_status_t b2b_input_add_account_text(b2b_input_t *in,
                                        const char *const v[B2B_ACCOUNT_COL_COUNT],
                                        b2b_input_error_t *err)
{
    b2b_account_t a;
    char cur[8], country[8];
    memset(&a, 0, sizeof a);
    if (!v[B2B_ACCOUNT_COL_ID] || text_id(v[B2B_ACCOUNT_COL_ID], &a.id) != B2B_OK)
        return fail(err, B2B_ERR_BAD_VALUE, "id", "must be a positive integer");
    if (text_id(v[B2B_ACCOUNT_COL_PARENT_ID], &a.parent_id) != B2B_OK)
        return fail(err, B2B_ERR_BAD_VALUE, "parent_id", "must be a positive integer");
    if (text_id(v[B2B_ACCOUNT_COL_PRICE_LIST_ID], &a.price_list_id) != B2B_OK)
        return fail(err, B2B_ERR_BAD_VALUE, "price_list_id", "must be a positive integer");
    if (text_bool(v[B2B_ACCOUNT_COL_TAX_EXEMPT], &a.tax_exempt) != B2B_OK)
        return fail(err, B2B_ERR_BAD_VALUE, "tax_exempt", "must be a boolean");
    a.code = v[B2B_ACCOUNT_COL_CODE];
    a.currency = trimmed(v[B2B_ACCOUNT_COL_CURRENCY], cur, sizeof cur);
    a.country = trimmed(v[B2B_ACCOUNT_COL_COUNTRY], country, sizeof country);
    a.region = v[B2B_ACCOUNT_COL_REGION];
    return b2b_input_add_account(in, &a, err);
}

b2b_status_t b2b_input_add_product_text(b2b_input_t *in,
                                        const char *const v[B2B_PRODUCT_COL_COUNT],
                                        b2b_input_error_t *err)
{
    b2b_product_t p;
    memset(&p, 0, sizeof p);
    if (!v[B2B_PRODUCT_COL_ID] || text_id(v[B2B_PRODUCT_COL_ID], &p.id) != B2B_OK)
        return fail(err, B2B_ERR_BAD_VALUE, "id", "must be a positive integer");
    if (text_id(v[B2B_PRODUCT_COL_PRODUCT_GROUP_ID], &p.product_group_id) != B2B_OK)
        return fail(err, B2B_ERR_BAD_VALUE, "product_group_id", "must be a positive integer");
    p.sku = v[B2B_PRODUCT_COL_SKU];
    p.tax_class = v[B2B_PRODUCT_COL_TAX_CLASS];
    return b2b_input_add_product(in, &p, err);
}
