/* b2b_resolve.c — the resolver: prices one line against a compiled snapshot. Lock-free,
 * allocation-free, reads only the snapshot. This comment is THE definition of the pricing
 * semantics; sql/050_price_reference.sql implements the same, and the differential test
 * checks that both agree. README.md repeats it for readers of the HTTP layer.
 *
 * Inputs: account (code or index), sku, qty, promo code (optional), currency K (optional:
 * default the account's currency), as_of T (unix seconds).
 * Checks, in this order: qty in 1..1,000,000 (bad_quantity); account (unknown_account);
 * sku (unknown_sku); K is a known currency (unknown_currency).
 *
 * "Valid" always means valid_from <= T < valid_to (half-open; NULL bounds are open).
 * A rule "applies" only if valid; a rule with a fixed price (price_minor + currency) or an
 * amount off applies only when its currency is the working currency W (below); discounts
 * (basis points) apply in any currency. Among the applicable rules of one precedence class
 * the lowest rule id wins. Every step's result is rounded half away from zero to whole minor
 * units of its currency.
 *
 * 1. list. If the product has an applicable list rule in K, W = K. Otherwise, if it has one
 *    in USD, W = USD and the result is converted at step 6 (needs an applicable fx rule
 *    USD -> K, else no_fx_rate); otherwise no_price. L = that list price (lowest id).
 * 2-4. negotiated price N:
 *    contract: walk the account, then its parent, ... to the root; at the first account that
 *      has an applicable contract for this product, take it: a sku contract beats a group
 *      contract of the same account; a nearer account beats a farther one (even a farther
 *      sku contract). N = contract price, or L discounted. A contract replaces tier AND
 *      brackets (they are not applied, not listed in the explanation).
 *    otherwise: tier: the price list is the account's own or the nearest ancestor's
 *      (accounts.price_list_id). Its applicable rules: sku rule beats group rule beats
 *      all-products rule. N = tier price, or L discounted (from the list price).
 *      then brackets: product brackets if any applies (min_qty <= qty), else group brackets;
 *      within them the highest min_qty, then lowest id. A fixed bracket price replaces N; a
 *      bracket discount applies to N (so it stacks on the tier).
 * 5. promo (only when a code is given): rules with exactly that code (case-sensitive), valid,
 *    min_qty NULL or <= qty, account scope NULL or the account or one of its ancestors,
 *    product NULL or this product, group NULL or this product's group. Precedence: product-
 *    scoped beats group-scoped beats unscoped, then lowest id; only one promo applies.
 *    Effect P' = discount or (amount off per unit, floored at 0) of a base:
 *      stackable:     base = N, the buyer pays P'.
 *      non-stackable: base = L, the buyer pays min(P', N) (promo_status not_better when
 *                     P' >= N: the negotiated price stays, the promo is not listed).
 * 6. fx: if W != K, unit = convert(unit, rate of the lowest-id applicable fx rule USD->K),
 *    rounded to K's digits. The conversion happens once, on the final unit price, after
 *    the promo; nothing before it is rounded to K.
 * 7. line and tax: net = unit * qty (the unit is rounded first; overflow -> overflow).
 *    tax_exempt account -> tax 0 (no rule listed). Otherwise tax rules of the account's own
 *    country (an account without a country pays no tax), valid, region NULL or = account
 *    region, tax_class NULL or = product tax_class; a region rule beats a country-wide rule,
 *    then a class rule beats a NULL-class rule, then lowest id; no rule -> rate 0.
 *    tax = round(net * rate_bp / 10000) on the line; gross = net + tax.
 * Explanation: list, then tier/bracket or contract, promo, fx, tax — each with the rule id
 * and the unit price after it (tax: the line gross), in that step's currency. */
#include "b2b_pricing_private.h"

#include <string.h>

/* Records keep short keys inline (key_len > 0): compare there, in the line the probe already
 * loaded; longer keys are compared in the string section. */
static uint32_t hash_find(const uint32_t *table, uint64_t cap, const char *strings,
                          const void *records, size_t stride, size_t ref_offset,
                          size_t inline_offset, const char *key, size_t len, uint64_t hash)
{
    if (cap == 0)
        return B2B_NONE32;
    uint64_t j = hash & (cap - 1);
    for (uint64_t probes = 0; probes < cap && table[j]; probes++) {
        uint32_t idx = table[j] - 1;
        const char *rec = (const char *)records + (size_t)idx * stride;
        b2b_snap_strref_t ref;
        memcpy(&ref, rec + ref_offset, sizeof ref);
        if (ref.length == len) {
            uint8_t inline_len = (uint8_t)rec[inline_offset];
            const char *have = inline_len ? rec + inline_offset + 1 : strings + ref.offset;
            if (memcmp(have, key, len) == 0)
                return idx;
        }
        j = (j + 1) & (cap - 1);
    }
    return B2B_NONE32;
}

static int32_t find_account_hashed(const void *snap, const char *code, size_t len, uint64_t hash)
{
    const b2b_snap_header_t *h = b2b_snap_header(snap);
    uint32_t i = hash_find(b2b_snap_section(snap, B2B_SEC_ACCOUNT_HASH),
                           h->sections[B2B_SEC_ACCOUNT_HASH].count,
                           b2b_snap_section(snap, B2B_SEC_STRINGS),
                           b2b_snap_section(snap, B2B_SEC_ACCOUNTS), sizeof(b2b_snap_account_t),
                           offsetof(b2b_snap_account_t, code),
                           offsetof(b2b_snap_account_t, key_len), code, len, hash);
    return i == B2B_NONE32 ? -1 : (int32_t)i;
}

static int32_t find_sku_hashed(const void *snap, const char *sku, size_t len, uint64_t hash)
{
    const b2b_snap_header_t *h = b2b_snap_header(snap);
    uint32_t i = hash_find(b2b_snap_section(snap, B2B_SEC_SKU_HASH),
                           h->sections[B2B_SEC_SKU_HASH].count,
                           b2b_snap_section(snap, B2B_SEC_STRINGS),
                           b2b_snap_section(snap, B2B_SEC_PRODUCTS), sizeof(b2b_snap_product_t),
                           offsetof(b2b_snap_product_t, sku),
                           offsetof(b2b_snap_product_t, key_len), sku, len, hash);
    return i == B2B_NONE32 ? -1 : (int32_t)i;
}

int32_t b2b_snapshot_find_account(const void *snap, const char *code, size_t len)
{
    return find_account_hashed(snap, code, len, b2b_hash_bytes(code, len));
}

int32_t b2b_snapshot_find_sku(const void *snap, const char *sku, size_t len)
{
    return find_sku_hashed(snap, sku, len, b2b_hash_bytes(sku, len));
}

/* Three capitals as one integer that sorts like the bytes; 0 if not a 3-byte code. */
static inline uint32_t currency_key(const char *code)
{
    if (!code || !code[0] || !code[1] || !code[2] || code[3])
        return 0;
    return ((uint32_t)(uint8_t)code[0] << 16) | ((uint32_t)(uint8_t)code[1] << 8) |
           (uint8_t)code[2];
}

static uint16_t currency_index(const b2b_snap_currency_t *c, uint32_t n, const char *code)
{
    uint32_t key = currency_key(code);
    if (!key)
        return B2B_NONE16;
    if (n <= 16) {              /* the usual handful: a linear scan of packed codes */
        uint32_t want;
        memcpy(&want, code, 4);  /* 3 letters + NUL */
        for (uint32_t i = 0; i < n; i++) {
            uint32_t have;
            memcpy(&have, c[i].code, 4);
            if (have == want)
                return (uint16_t)i;
        }
        return B2B_NONE16;
    }
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (currency_key(c[mid].code) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && currency_key(c[lo].code) == key ? (uint16_t)lo : B2B_NONE16;
}

int b2b_snapshot_currency_digits(const void *snap, const char *code)
{
    const b2b_snap_currency_t *c = b2b_snap_section(snap, B2B_SEC_CURRENCIES);
    uint16_t i = currency_index(c, (uint32_t)b2b_snap_count(snap, B2B_SEC_CURRENCIES), code);
    return i == B2B_NONE16 ? -1 : c[i].digits;
}

static inline int valid_at(int64_t from, int64_t to, int64_t t)
{
    return from <= t && t < to;
}

static inline int narrow_applies(const b2b_snap_rule_t *x, int64_t t, uint16_t w)
{
    return valid_at(x->valid_from, x->valid_to, t) &&
           ((x->flags & B2B_RF_DISCOUNT) || x->currency == w);
}

/* First applicable record with (rank, target) in a (rank, target, id)-sorted range; the binary
 * search runs over the parallel 4-byte key array, records are read only on a key match. */
static const b2b_snap_rule_t *find_ranked(const b2b_snap_rule_t *recs, const uint32_t *keys,
                                          uint32_t start, uint32_t count, uint8_t rank,
                                          uint32_t target, int64_t t, uint16_t w)
{
    const uint32_t key = B2B_KEY(rank, target);
    size_t lo = start, hi = (size_t)start + count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < (size_t)start + count && keys[i] == key; i++)
        if (narrow_applies(&recs[i], t, w))
            return &recs[i];
    return NULL;
}

static const b2b_snap_rule_t *find_list(const b2b_snap_rule_t *lists, const b2b_snap_product_t *p,
                                        uint16_t currency, int64_t t)
{
    for (uint32_t i = p->list_start; i < p->list_start + p->list_count; i++) {
        const b2b_snap_rule_t *x = &lists[i];
        if (x->currency == currency && valid_at(x->valid_from, x->valid_to, t))
            return x;       /* sorted (currency, id): the first is the lowest id */
    }
    return NULL;
}

static const b2b_snap_wide_t *find_fx(const void *snap, uint16_t from, uint16_t to, int64_t t)
{
    const b2b_snap_wide_t *fx = b2b_snap_section(snap, B2B_SEC_FX);
    uint64_t n = b2b_snap_count(snap, B2B_SEC_FX);
    for (uint64_t i = 0; i < n; i++)
        if (fx[i].owner == from && fx[i].a == to && valid_at(fx[i].valid_from, fx[i].valid_to, t))
            return &fx[i];
    return NULL;
}

static const b2b_snap_rule_t *find_bracket(const b2b_snap_rule_t *recs, uint32_t start,
                                           uint32_t count, int64_t qty, int64_t t, uint16_t w)
{
    /* sorted by min_qty descending, then id: skip the brackets above qty by bisection */
    size_t lo = start, hi = (size_t)start + count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((int64_t)recs[mid].aux > qty)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < (size_t)start + count; i++)
        if (narrow_applies(&recs[i], t, w))
            return &recs[i];
    return NULL;
}

static int32_t promo_code_index(const void *snap, const char *code)
{
    const b2b_snap_promo_code_t *codes = b2b_snap_section(snap, B2B_SEC_PROMO_CODES);
    const char *strings = b2b_snap_section(snap, B2B_SEC_PROMO_STRINGS);
    size_t n = (size_t)b2b_snap_count(snap, B2B_SEC_PROMO_CODES), len = strlen(code);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const b2b_snap_strref_t r = codes[mid].code;
        size_t m = r.length < len ? r.length : len;
        int c = memcmp(strings + r.offset, code, m);
        if (c == 0)
            c = r.length < len ? -1 : r.length > len ? 1 : 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && codes[lo].code.length == len &&
        memcmp(strings + codes[lo].code.offset, code, len) == 0)
        return (int32_t)lo;
    return -1;
}

static void add_step(b2b_quote_t *out, b2b_layer_t layer, int64_t id, int64_t amount,
                     const b2b_snap_currency_t *cur)
{
    if (out->step_count >= B2B_MAX_STEPS)
        return;
    b2b_step_t *s = &out->steps[out->step_count++];
    s->layer = layer;
    s->rule_id = id;
    s->amount_minor = amount;
    memcpy(s->currency, cur->code, 3);
    s->currency[3] = '\0';
    s->minor_digits = cur->digits;
}

/* Fixed price or discount of `base`. */
static b2b_status_t apply_narrow(const b2b_snap_rule_t *x, int64_t base, int64_t *out)
{
    if (x->flags & B2B_RF_DISCOUNT)
        return b2b_money_discount(base, (int32_t)x->value, out);
    *out = x->value;
    return B2B_OK;
}

b2b_status_t b2b_resolve(const void *snap, const b2b_query_t *q, b2b_quote_t *out)
{
    b2b_status_t st;
    out->step_count = 0;
    out->promo = B2B_PROMO_NONE;
    out->unit_minor = out->net_minor = out->tax_minor = out->gross_minor = 0;
    out->tax_rate_bp = 0;
    out->currency[0] = '\0';
    out->minor_digits = 0;
    if (!snap || !q)
        return B2B_ERR_BAD_ARGUMENT;
    if (q->qty < 1 || q->qty > B2B_MAX_QTY)
        return B2B_ERR_BAD_QUANTITY;

    const b2b_snap_header_t *h = b2b_snap_header(snap);
    const b2b_snap_account_t *accounts = b2b_snap_section(snap, B2B_SEC_ACCOUNTS);
    const b2b_snap_product_t *products = b2b_snap_section(snap, B2B_SEC_PRODUCTS);
    const b2b_snap_currency_t *currencies = b2b_snap_section(snap, B2B_SEC_CURRENCIES);
    uint32_t naccounts = (uint32_t)h->sections[B2B_SEC_ACCOUNTS].count;
    uint32_t ncurrencies = (uint32_t)h->sections[B2B_SEC_CURRENCIES].count;

    /* The account and the product are independent lookups: start both hash probes, then
     * both records, before waiting on either (each is a likely cache miss). */
    const uint32_t *ahash = b2b_snap_section(snap, B2B_SEC_ACCOUNT_HASH);
    const uint32_t *shash = b2b_snap_section(snap, B2B_SEC_SKU_HASH);
    const uint64_t acap = h->sections[B2B_SEC_ACCOUNT_HASH].count;
    const uint64_t scap = h->sections[B2B_SEC_SKU_HASH].count;
    size_t alen = 0, slen = 0;
    uint64_t aslot = 0, sslot = 0, ahashv = 0;
    if (q->account_index < 0) {
        if (!q->account_code)
            return B2B_ERR_UNKNOWN_ACCOUNT;
        alen = strlen(q->account_code);
        ahashv = b2b_hash_bytes(q->account_code, alen);
        aslot = ahashv & (acap - 1);
        __builtin_prefetch(&ahash[aslot]);
    }
    if (!q->sku)
        return B2B_ERR_UNKNOWN_SKU;
    slen = strlen(q->sku);
    const uint64_t shashv = b2b_hash_bytes(q->sku, slen);
    sslot = shashv & (scap - 1);
    __builtin_prefetch(&shash[sslot]);
    if (q->account_index < 0 && ahash[aslot])
        __builtin_prefetch(&accounts[ahash[aslot] - 1]);
    if (shash[sslot])
        __builtin_prefetch(&products[shash[sslot] - 1]);

    uint32_t acc;
    if (q->account_index >= 0) {
        if ((uint32_t)q->account_index >= naccounts)
            return B2B_ERR_UNKNOWN_ACCOUNT;
        acc = (uint32_t)q->account_index;
        __builtin_prefetch(&accounts[acc]);
    } else {
        int32_t a = find_account_hashed(snap, q->account_code, alen, ahashv);
        if (a < 0)
            return B2B_ERR_UNKNOWN_ACCOUNT;
        acc = (uint32_t)a;
    }
    int32_t pi = find_sku_hashed(snap, q->sku, slen, shashv);
    if (pi < 0)
        return B2B_ERR_UNKNOWN_SKU;
    {
        /* Everything later layers read, requested at once. */
        const b2b_snap_product_t *p = &products[pi];
        const b2b_snap_account_t *x = &accounts[acc];
        __builtin_prefetch((const b2b_snap_rule_t *)b2b_snap_section(snap, B2B_SEC_LISTS) +
                           p->list_start);
        if (p->bracket_count)
            __builtin_prefetch((const b2b_snap_rule_t *)b2b_snap_section(
                                   snap, B2B_SEC_PRODUCT_BRACKETS) + p->bracket_start);
        for (uint32_t a = acc, depth = 0; a != B2B_NONE32 && depth < 8;
             a = accounts[a].parent, depth++) {
            x = &accounts[a];
            if (x->contract_count)
                __builtin_prefetch((const b2b_snap_bloom_t *)b2b_snap_section(
                                       snap, B2B_SEC_CONTRACT_BLOOM) + a);
        }
        x = &accounts[acc];
        if (x->effective_price_list != B2B_NONE32) {
            const b2b_snap_owner_t *pl = (const b2b_snap_owner_t *)b2b_snap_section(
                                             snap, B2B_SEC_PRICE_LISTS) + x->effective_price_list;
            __builtin_prefetch(pl);
        }
        if (p->group != B2B_NONE32)
            __builtin_prefetch((const b2b_snap_owner_t *)b2b_snap_section(snap, B2B_SEC_GROUPS) +
                               p->group);
    }
    const b2b_snap_product_t *prod = &products[pi];
    const b2b_snap_account_t *account = &accounts[acc];
    uint16_t k = account->currency;
    if (q->currency && q->currency[0]) {
        k = currency_index(currencies, ncurrencies, q->currency);
        if (k == B2B_NONE16)
            return B2B_ERR_UNKNOWN_CURRENCY;
    }
    const int64_t t = q->as_of, qty = q->qty;
    memcpy(out->currency, currencies[k].code, 3);
    out->currency[3] = '\0';
    out->minor_digits = currencies[k].digits;

    /* 1. list price, working currency */
    const b2b_snap_rule_t *lists = b2b_snap_section(snap, B2B_SEC_LISTS);
    uint16_t w = k;
    const b2b_snap_rule_t *list = find_list(lists, prod, k, t);
    const b2b_snap_wide_t *fx = NULL;
    if (!list) {
        uint16_t usd = currency_index(currencies, ncurrencies, "USD");
        if (usd == B2B_NONE16 || usd == k || !(list = find_list(lists, prod, usd, t)))
            return B2B_ERR_NO_PRICE;
        w = usd;
        fx = find_fx(snap, usd, k, t);
        if (!fx)
            return B2B_ERR_NO_FX_RATE;
    }
    const int64_t L = list->value;
    add_step(out, B2B_LAYER_LIST, list->id, L, &currencies[w]);

    /* 4 (checked first, since it replaces 2 and 3): contract along the account chain */
    int64_t n = L;
    const b2b_snap_rule_t *contracts = b2b_snap_section(snap, B2B_SEC_CONTRACTS);
    const uint32_t *contract_keys = b2b_snap_section(snap, B2B_SEC_CONTRACT_KEYS);
    const b2b_snap_bloom_t *blooms = b2b_snap_section(snap, B2B_SEC_CONTRACT_BLOOM);
    const uint32_t sku_key = B2B_KEY(0, (uint32_t)pi);
    const uint32_t group_key = prod->group != B2B_NONE32 ? B2B_KEY(1, prod->group) : 0;
    const b2b_snap_rule_t *contract = NULL;
    for (uint32_t a = acc; a != B2B_NONE32 && !contract; a = accounts[a].parent) {
        const b2b_snap_account_t *x = &accounts[a];
        if (!x->contract_count)
            continue;
        if (b2b_bloom_may_have(&blooms[a], sku_key))
            contract = find_ranked(contracts, contract_keys, x->contract_start,
                                   x->contract_count, 0, (uint32_t)pi, t, w);
        if (!contract && prod->group != B2B_NONE32 && b2b_bloom_may_have(&blooms[a], group_key))
            contract = find_ranked(contracts, contract_keys, x->contract_start,
                                   x->contract_count, 1, prod->group, t, w);
    }
    if (contract) {
        if ((st = apply_narrow(contract, L, &n)) != B2B_OK)
            return st;
        add_step(out, B2B_LAYER_CONTRACT, contract->id, n, &currencies[w]);
    } else {
        /* 2. tier of the effective price list */
        if (account->effective_price_list != B2B_NONE32) {
            const b2b_snap_owner_t *pl = (const b2b_snap_owner_t *)b2b_snap_section(
                                             snap, B2B_SEC_PRICE_LISTS) +
                                         account->effective_price_list;
            const b2b_snap_rule_t *tiers = b2b_snap_section(snap, B2B_SEC_TIERS);
            const uint32_t *tier_keys = b2b_snap_section(snap, B2B_SEC_TIER_KEYS);
            const b2b_snap_rule_t *tier = NULL;
            if (pl->bracket_count) {
                tier = find_ranked(tiers, tier_keys, pl->bracket_start, pl->bracket_count, 0, (uint32_t)pi,
                                   t, w);
                if (!tier && prod->group != B2B_NONE32)
                    tier = find_ranked(tiers, tier_keys, pl->bracket_start, pl->bracket_count, 1,
                                       prod->group, t, w);
                if (!tier)
                    tier = find_ranked(tiers, tier_keys, pl->bracket_start, pl->bracket_count, 2, 0, t, w);
            }
            if (tier) {
                if ((st = apply_narrow(tier, L, &n)) != B2B_OK)
                    return st;
                add_step(out, B2B_LAYER_TIER, tier->id, n, &currencies[w]);
            }
        }
        /* 3. brackets: product beats group */
        const b2b_snap_rule_t *bracket =
            find_bracket(b2b_snap_section(snap, B2B_SEC_PRODUCT_BRACKETS), prod->bracket_start,
                         prod->bracket_count, qty, t, w);
        if (!bracket && prod->group != B2B_NONE32) {
            const b2b_snap_owner_t *g = (const b2b_snap_owner_t *)b2b_snap_section(
                                            snap, B2B_SEC_GROUPS) + prod->group;
            bracket = find_bracket(b2b_snap_section(snap, B2B_SEC_GROUP_BRACKETS),
                                   g->bracket_start, g->bracket_count, qty, t, w);
        }
        if (bracket) {
            if ((st = apply_narrow(bracket, n, &n)) != B2B_OK)
                return st;
            add_step(out, B2B_LAYER_BRACKET, bracket->id, n, &currencies[w]);
        }
    }

    /* 5. promo */
    int64_t unit = n;
    if (q->promo_code && q->promo_code[0]) {
        int32_t code = promo_code_index(snap, q->promo_code);
        if (code < 0) {
            out->promo = B2B_PROMO_UNKNOWN_CODE;
        } else {
            const b2b_snap_promo_code_t *c =
                (const b2b_snap_promo_code_t *)b2b_snap_section(snap, B2B_SEC_PROMO_CODES) + code;
            const b2b_snap_wide_t *promos = b2b_snap_section(snap, B2B_SEC_PROMOS);
            const b2b_snap_wide_t *promo = NULL;
            for (uint32_t i = c->start; i < c->start + c->count && !promo; i++) {
                const b2b_snap_wide_t *x = &promos[i];
                if (!valid_at(x->valid_from, x->valid_to, t) || (int64_t)x->aux > qty)
                    continue;
                if (x->a != B2B_NONE32 && (acc < x->a || acc >= accounts[x->a].subtree_end))
                    continue;
                if ((x->b != B2B_NONE32 && x->b != (uint32_t)pi) ||
                    (x->c != B2B_NONE32 && x->c != prod->group))
                    continue;
                if ((x->flags & B2B_RF_AMOUNT_OFF) && x->currency != w)
                    continue;
                promo = x;
            }
            if (!promo) {
                out->promo = B2B_PROMO_NOT_APPLICABLE;
            } else {
                int stackable = (promo->flags & B2B_RF_STACKABLE) != 0;
                int64_t base = stackable ? n : L, p;
                if (promo->flags & B2B_RF_DISCOUNT) {
                    if ((st = b2b_money_discount(base, (int32_t)promo->value, &p)) != B2B_OK)
                        return st;
                } else {
                    p = base > promo->value ? base - promo->value : 0;
                }
                if (stackable || p < n) {
                    unit = p;
                    out->promo = B2B_PROMO_APPLIED;
                    add_step(out, B2B_LAYER_PROMO, promo->id, unit, &currencies[w]);
                } else {
                    out->promo = B2B_PROMO_NOT_BETTER;
                }
            }
        }
    }

    /* 6. currency conversion of the final unit price */
    if (w != k) {
        if ((st = b2b_money_convert(unit, currencies[w].digits, fx->value, currencies[k].digits,
                                    &unit)) != B2B_OK)
            return st;
        add_step(out, B2B_LAYER_FX, fx->id, unit, &currencies[k]);
    }

    /* 7. line and tax */
    int64_t net, tax = 0, gross;
    if ((st = b2b_money_mul(unit, qty, &net)) != B2B_OK)
        return st;
    const b2b_snap_wide_t *taxrule = NULL;
    if (!account->tax_exempt && account->country[0]) {
        uint32_t key = b2b_country_key(account->country);
        const b2b_snap_wide_t *taxes = b2b_snap_section(snap, B2B_SEC_TAXES);
        size_t nt = (size_t)b2b_snap_count(snap, B2B_SEC_TAXES), lo = 0, hi = nt;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (taxes[mid].owner < key)
                lo = mid + 1;
            else
                hi = mid;
        }
        /* sorted by (specificity, id): the first match is the answer */
        for (size_t i = lo; i < nt && taxes[i].owner == key && !taxrule; i++) {
            const b2b_snap_wide_t *x = &taxes[i];
            if (!valid_at(x->valid_from, x->valid_to, t))
                continue;
            if (x->a != B2B_NONE32 && x->a != account->region)
                continue;
            if (x->b != B2B_NONE32 && x->b != prod->tax_class)
                continue;
            taxrule = x;
        }
    }
    if (taxrule) {
        out->tax_rate_bp = (int32_t)taxrule->value;
        if ((st = b2b_money_percent_of(net, (int32_t)taxrule->value, &tax)) != B2B_OK)
            return st;
    }
    if ((st = b2b_money_add(net, tax, &gross)) != B2B_OK)
        return st;
    if (taxrule)
        add_step(out, B2B_LAYER_TAX, taxrule->id, gross, &currencies[k]);
    out->unit_minor = unit;
    out->net_minor = net;
    out->tax_minor = tax;
    out->gross_minor = gross;
    return B2B_OK;
}
