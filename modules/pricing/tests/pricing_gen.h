/* pricing_gen.h — seeded random pricing data sets (accounts tree, products, every rule kind)
 * for the unit tests, the differential test against the SQL reference, and the benchmark. */
#ifndef PRICING_GEN_H
#define PRICING_GEN_H

#include "../b2b_pricing.h"

#define GEN_T0 1704067200LL     /* 2024-01-01T00:00:00Z */
#define GEN_DAY 86400LL

typedef struct {
    int64_t id, parent_id, price_list_id;
    char code[32], currency[4], country[3], region[8];
    int tax_exempt, depth;
} gen_account_t;

typedef struct {
    int64_t id, group_id;
    char sku[32], tax_class[12];
} gen_product_t;

typedef struct {
    b2b_rule_t r;             /* string pointers are filled by gen_rule() */
    char currency[4], to_currency[4], country[3], region[8], tax_class[12], promo[12];
} gen_rule_t;

typedef struct {
    size_t accounts, max_depth, products, groups, price_lists;
    size_t tiers, brackets, contracts, promos, taxes;
    int lists_per_product_max;   /* 1..4 currencies */
    int validity;                /* random validity windows on rules */
    int extreme_prices;          /* sometimes huge prices (overflow paths) */
} gen_params_t;

typedef struct {
    gen_account_t *acc;
    size_t nacc;
    gen_product_t *prod;
    size_t nprod;
    gen_rule_t *rules;
    size_t nrules, cap;
    size_t ngroups, nprice_lists;
    int64_t next_id;
    uint64_t rng;
} gen_data_t;

uint64_t gen_next(uint64_t *state);
uint64_t gen_below(uint64_t *state, uint64_t n);
void gen_make(gen_data_t *d, const gen_params_t *p, uint64_t seed);
void gen_free(gen_data_t *d);
/* The b2b_rule_t of rule i with its string pointers set. */
const b2b_rule_t *gen_rule(gen_data_t *d, size_t i);
/* Fill an input set with currencies, accounts, products and the rules selected by keep
 * (NULL: all). Returns B2B_OK or the first error. */
b2b_status_t gen_fill(gen_data_t *d, b2b_input_t *in, int (*keep)(gen_data_t *, size_t, void *),
                      void *ctx, int with_static);
/* Append one random rule of the given kind (ids continue from the last). */
void gen_add_rule(gen_data_t *d, const gen_params_t *p, b2b_kind_t kind);
extern const char *const gen_promo_codes[];
extern const size_t gen_promo_code_count;

#endif
