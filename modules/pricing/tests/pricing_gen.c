/* pricing_gen.c — see pricing_gen.h. Deterministic for a seed (splitmix64). */
#include "pricing_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const gen_promo_codes[] = { "SAVE10", "VIP", "BULK", "XMAS" };
const size_t gen_promo_code_count = 4;

static const char *const currencies[] = { "USD", "EUR", "JPY", "KWD", "GBP" };
static const int currency_digits[] = { 2, 2, 0, 3, 2 };
static const char *const countries[] = { "US", "DE", "JP", "KW" };
static const char *const regions[] = { "CA", "NY", "BY", "HE" };
static const char *const classes[] = { "standard", "reduced", "zero" };

uint64_t gen_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t gen_below(uint64_t *s, uint64_t n)
{
    return n ? gen_next(s) % n : 0;
}

static gen_rule_t *new_rule(gen_data_t *d, b2b_kind_t kind)
{
    if (d->nrules == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 1024;
        d->rules = realloc(d->rules, d->cap * sizeof *d->rules);
        if (!d->rules) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
    }
    gen_rule_t *g = &d->rules[d->nrules];
    memset(g, 0, sizeof *g);
    b2b_rule_init(&g->r);
    d->nrules++;
    g->r.id = ++d->next_id;
    g->r.kind = kind;
    return g;
}

static int64_t rand_time(uint64_t *s)
{
    static const int64_t offsets[] = { -60, -30, -1, 0, 15, 30, 60 };
    return GEN_T0 + offsets[gen_below(s, 7)] * GEN_DAY;
}

static void rand_validity(gen_data_t *d, const gen_params_t *p, gen_rule_t *g)
{
    if (!p->validity || gen_below(&d->rng, 100) < 60)
        return;
    int which = (int)gen_below(&d->rng, 3);
    int64_t a = rand_time(&d->rng), b = rand_time(&d->rng);
    if (a > b) {
        int64_t t = a;
        a = b;
        b = t;
    }
    if (which != 1)
        g->r.valid_from = a;
    if (which != 0)
        g->r.valid_to = b == a ? b + GEN_DAY : b;
}

static int64_t rand_price(gen_data_t *d, const gen_params_t *p)
{
    if (p->extreme_prices && gen_below(&d->rng, 1000) == 0)
        return 9000000000000000LL + (int64_t)gen_below(&d->rng, 1000);
    return (int64_t)gen_below(&d->rng, 200000) + 1;
}

static const int32_t discounts[] = { 0, 500, 1000, 1250, 2500, 3333, 5000, 7500, 10000 };

static void price_or_discount(gen_data_t *d, const gen_params_t *p, gen_rule_t *g)
{
    if (gen_below(&d->rng, 2)) {
        g->r.has |= B2B_RULE_HAS_PRICE;
        g->r.price_minor = rand_price(d, p);
        snprintf(g->currency, sizeof g->currency, "%s", currencies[gen_below(&d->rng, 3)]);
    } else {
        g->r.has |= B2B_RULE_HAS_DISCOUNT;
        g->r.discount_bp = gen_below(&d->rng, 4) ? discounts[gen_below(&d->rng, 9)]
                                                 : (int32_t)gen_below(&d->rng, 10001);
    }
}

void gen_add_rule(gen_data_t *d, const gen_params_t *p, b2b_kind_t kind)
{
    uint64_t *s = &d->rng;
    gen_rule_t *g = new_rule(d, kind);
    switch (kind) {
    case B2B_KIND_TIER:
        g->r.price_list_id = (int64_t)gen_below(s, d->nprice_lists) + 1;
        switch (gen_below(s, 3)) {
        case 0: g->r.product_id = (int64_t)gen_below(s, d->nprod) + 1; break;
        case 1: g->r.product_group_id = (int64_t)gen_below(s, d->ngroups) + 1; break;
        default: break;
        }
        price_or_discount(d, p, g);
        break;
    case B2B_KIND_BRACKET: {
        static const int32_t mins[] = { 1, 5, 10, 50, 100, 1000 };
        if (gen_below(s, 2))
            g->r.product_id = (int64_t)gen_below(s, d->nprod) + 1;
        else
            g->r.product_group_id = (int64_t)gen_below(s, d->ngroups) + 1;
        g->r.has |= B2B_RULE_HAS_MIN_QTY;
        g->r.min_qty = mins[gen_below(s, 6)];
        price_or_discount(d, p, g);
        break;
    }
    case B2B_KIND_CONTRACT:
        g->r.account_id = (int64_t)gen_below(s, d->nacc) + 1;
        if (gen_below(s, 3))
            g->r.product_id = (int64_t)gen_below(s, d->nprod) + 1;
        else
            g->r.product_group_id = (int64_t)gen_below(s, d->ngroups) + 1;
        price_or_discount(d, p, g);
        break;
    case B2B_KIND_PROMO:
        snprintf(g->promo, sizeof g->promo, "%s", gen_promo_codes[gen_below(s, gen_promo_code_count)]);
        if (gen_below(s, 3) == 0)
            g->r.account_id = (int64_t)gen_below(s, d->nacc) + 1;
        switch (gen_below(s, 4)) {
        case 0: g->r.product_id = (int64_t)gen_below(s, d->nprod) + 1; break;
        case 1: g->r.product_group_id = (int64_t)gen_below(s, d->ngroups) + 1; break;
        default: break;
        }
        if (gen_below(s, 3) == 0) {
            g->r.has |= B2B_RULE_HAS_MIN_QTY;
            g->r.min_qty = (int32_t)gen_below(s, 60) + 1;
        }
        g->r.stackable = (int)gen_below(s, 2);
        if (gen_below(s, 3) == 0) {
            g->r.has |= B2B_RULE_HAS_AMOUNT_OFF;
            g->r.amount_off_minor = (int64_t)gen_below(s, 5000);
            snprintf(g->currency, sizeof g->currency, "%s", currencies[gen_below(s, 3)]);
        } else {
            g->r.has |= B2B_RULE_HAS_DISCOUNT;
            g->r.discount_bp = discounts[gen_below(s, 9)];
        }
        break;
    case B2B_KIND_TAX:
        snprintf(g->country, sizeof g->country, "%s", countries[gen_below(s, 4)]);
        if (gen_below(s, 2))
            snprintf(g->region, sizeof g->region, "%s", regions[gen_below(s, 4)]);
        if (gen_below(s, 2))
            snprintf(g->tax_class, sizeof g->tax_class, "%s", classes[gen_below(s, 3)]);
        g->r.has |= B2B_RULE_HAS_RATE;
        g->r.rate_bp = gen_below(s, 4) ? (int32_t)(gen_below(s, 25) * 100 + gen_below(s, 2) * 50)
                                       : (int32_t)gen_below(s, 10001);
        break;
    case B2B_KIND_FX: {
        snprintf(g->currency, sizeof g->currency, "USD");
        snprintf(g->to_currency, sizeof g->to_currency, "%s", currencies[1 + gen_below(s, 4)]);
        g->r.has |= B2B_RULE_HAS_FX_RATE;
        g->r.fx_rate_micro = (int64_t)gen_below(s, 200000000) + 1;
        break;
    }
    default:
        break;
    }
    rand_validity(d, p, g);
}

void gen_make(gen_data_t *d, const gen_params_t *p, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->rng = seed * 0xD1342543DE82EF95ULL + 0x2545F4914F6CDD1DULL;   /* not a multiple of the step */
    uint64_t *s = &d->rng;
    d->ngroups = p->groups ? p->groups : 1;
    d->nprice_lists = p->price_lists ? p->price_lists : 1;
    d->nacc = p->accounts;
    d->acc = calloc(d->nacc ? d->nacc : 1, sizeof *d->acc);
    for (size_t i = 0; i < d->nacc; i++) {
        gen_account_t *a = &d->acc[i];
        a->id = (int64_t)i + 1;
        snprintf(a->code, sizeof a->code, "A%06u", (unsigned)(i + 1));
        a->depth = 1;
        if (i > 0 && gen_below(s, 10) < 7) {
            /* a parent among the last accounts keeps trees compact */
            size_t lo = i > 50 ? i - 50 : 0;
            size_t parent = lo + gen_below(s, i - lo);
            if (d->acc[parent].depth < (int)p->max_depth) {
                a->parent_id = d->acc[parent].id;
                a->depth = d->acc[parent].depth + 1;
            }
        }
        snprintf(a->currency, sizeof a->currency, "%s", currencies[gen_below(s, 5)]);
        if (gen_below(s, 20))
            snprintf(a->country, sizeof a->country, "%s", countries[gen_below(s, 4)]);
        if (gen_below(s, 2))
            snprintf(a->region, sizeof a->region, "%s", regions[gen_below(s, 4)]);
        if (gen_below(s, 10) < 3)
            a->price_list_id = (int64_t)gen_below(s, d->nprice_lists) + 1;
        a->tax_exempt = gen_below(s, 20) == 0;
    }
    d->nprod = p->products;
    d->prod = calloc(d->nprod ? d->nprod : 1, sizeof *d->prod);
    for (size_t i = 0; i < d->nprod; i++) {
        gen_product_t *q = &d->prod[i];
        q->id = (int64_t)i + 1;
        snprintf(q->sku, sizeof q->sku, "SKU-%06u", (unsigned)(i + 1));
        if (gen_below(s, 5))
            q->group_id = (int64_t)gen_below(s, d->ngroups) + 1;
        snprintf(q->tax_class, sizeof q->tax_class, "%s", classes[gen_below(s, 3)]);
        /* list prices: USD mostly, others sometimes; sometimes a second, windowed one */
        int maxc = p->lists_per_product_max ? p->lists_per_product_max : 4;
        for (int c = 0; c < maxc && c < 4; c++) {
            int want = c == 0 ? gen_below(s, 10) < 9 : gen_below(s, 10) < 3;
            if (!want)
                continue;
            gen_rule_t *g = new_rule(d, B2B_KIND_LIST);
            g->r.product_id = q->id;
            g->r.has = B2B_RULE_HAS_PRICE;
            g->r.price_minor = rand_price(d, p);
            snprintf(g->currency, sizeof g->currency, "%s", currencies[c]);
            if (p->validity && gen_below(s, 10) == 0)
                rand_validity(d, p, g);
        }
    }
    for (size_t i = 0; i < p->tiers; i++)
        gen_add_rule(d, p, B2B_KIND_TIER);
    for (size_t i = 0; i < p->brackets; i++)
        gen_add_rule(d, p, B2B_KIND_BRACKET);
    for (size_t i = 0; i < p->contracts; i++)
        gen_add_rule(d, p, B2B_KIND_CONTRACT);
    for (size_t i = 0; i < p->promos; i++)
        gen_add_rule(d, p, B2B_KIND_PROMO);
    for (size_t i = 0; i < p->taxes; i++)
        gen_add_rule(d, p, B2B_KIND_TAX);
    for (int i = 0; i < 6; i++)
        gen_add_rule(d, p, B2B_KIND_FX);
}

void gen_free(gen_data_t *d)
{
    free(d->acc);
    free(d->prod);
    free(d->rules);
    memset(d, 0, sizeof *d);
}

static const char *nz(const char *s)
{
    return s[0] ? s : NULL;
}

const b2b_rule_t *gen_rule(gen_data_t *d, size_t i)
{
    gen_rule_t *g = &d->rules[i];
    g->r.currency = nz(g->currency);
    g->r.to_currency = nz(g->to_currency);
    g->r.country = nz(g->country);
    g->r.region = nz(g->region);
    g->r.tax_class = nz(g->tax_class);
    g->r.promo_code = nz(g->promo);
    return &g->r;
}

b2b_status_t gen_fill(gen_data_t *d, b2b_input_t *in, int (*keep)(gen_data_t *, size_t, void *),
                      void *ctx, int with_static)
{
    b2b_status_t st;
    b2b_input_error_t err;
    if (with_static) {
        for (size_t i = 0; i < 5; i++)
            if ((st = b2b_input_add_currency(in, currencies[i], currency_digits[i], &err)))
                return st;
        for (size_t i = 0; i < d->nacc; i++) {
            gen_account_t *a = &d->acc[i];
            b2b_account_t x = { a->id, a->code, a->parent_id, a->currency, nz(a->country),
                                nz(a->region), a->price_list_id, a->tax_exempt };
            if ((st = b2b_input_add_account(in, &x, &err)))
                return st;
        }
        for (size_t i = 0; i < d->nprod; i++) {
            gen_product_t *q = &d->prod[i];
            b2b_product_t x = { q->id, q->sku, q->group_id, q->tax_class };
            if ((st = b2b_input_add_product(in, &x, &err)))
                return st;
        }
    }
    for (size_t i = 0; i < d->nrules; i++) {
        if (keep && !keep(d, i, ctx))
            continue;
        if ((st = b2b_input_add_rule(in, gen_rule(d, i), &err))) {
            fprintf(stderr, "rule %zu: %s %s\n", i, err.column ? err.column : "", err.message);
            return st;
        }
    }
    return B2B_OK;
}
