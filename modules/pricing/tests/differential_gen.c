/* differential_gen.c — one side of the engine-vs-SQL differential test.
 *
 *   differential_gen SEED NCASES OUTDIR
 *
 * Makes a seeded random data set that satisfies the real schema's constraints (sql/00x:
 * per-kind shapes, unique indexes, no overlapping tax/fx windows), and writes
 *   OUTDIR/data.sql    inserts into the real tables of an empty database, plus the table
 *                      pricing_diff_cases(case_no, account_code, sku, qty, promo_code,
 *                      currency, as_of) holding NCASES random cases;
 *   OUTDIR/engine.csv  the compiled engine's answer per case:
 *                      case_no,unit_minor,net_minor,tax_minor,gross_minor,currency,error
 * differential.sh loads data.sql, lets b2b_price_reference() answer the same cases and
 * compares both in SQL. */
#include "../b2b_pricing.h"
#include "pricing_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t key_of(const b2b_rule_t *r, const char *currency, const char *promo)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%d|%lld|%lld|%lld|%lld|%s|%d|%lld|%s", (int)r->kind,
             (long long)r->account_id, (long long)r->price_list_id, (long long)r->product_id,
             (long long)r->product_group_id, currency, (r->has & B2B_RULE_HAS_MIN_QTY) ? r->min_qty : 0,
             (long long)r->valid_from, promo);
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = buf; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    return h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Make the generated set satisfy the schema's CHECKs and unique indexes. */
static void conform(gen_data_t *d)
{
    static const char *const countries[] = { "US", "DE", "JP", "KW" };
    for (size_t i = 0; i < d->nacc; i++)
        if (!d->acc[i].country[0])
            strcpy(d->acc[i].country, countries[i % 4]);
    uint64_t *seen = malloc((d->nrules + 1) * sizeof *seen);
    size_t nseen = 0, k = 0;
    for (size_t i = 0; i < d->nrules; i++) {
        gen_rule_t *g = &d->rules[i];
        b2b_rule_t *r = &g->r;
        if (r->kind == B2B_KIND_TAX || r->kind == B2B_KIND_FX)
            continue;                          /* regenerated below */
        if (r->kind == B2B_KIND_LIST) {
            r->valid_from = B2B_TIME_MIN;      /* lists have no validity in the schema */
            r->valid_to = B2B_TIME_MAX;
        }
        if (r->kind == B2B_KIND_TIER && !r->product_id && !r->product_group_id &&
            (r->has & B2B_RULE_HAS_PRICE)) {   /* a fixed tier price needs a product/group */
            r->has = B2B_RULE_HAS_DISCOUNT;
            r->discount_bp = 1500;
            g->currency[0] = '\0';
        }
        if (r->kind != B2B_KIND_PROMO && r->kind != B2B_KIND_LIST && !(r->has & B2B_RULE_HAS_PRICE))
            g->currency[0] = '\0';
        uint64_t key = key_of(r, g->currency, g->promo);
        int dup = 0;
        for (size_t j = 0; j < nseen && !dup; j++)   /* small sets: quadratic is fine */
            dup = seen[j] == key;
        if (dup)
            continue;
        seen[nseen++] = key;
        d->rules[k++] = *g;
    }
    d->nrules = k;
    free(seen);
    (void)cmp_u64;
    /* tax: at most one rule per (country, region, class) key, some with a window */
    static const char *const regions[] = { "", "CA", "NY", "BY", "HE" };
    static const char *const classes[] = { "", "standard", "reduced", "zero" };
    for (int c = 0; c < 4; c++)
        for (int rg = 0; rg < 5; rg++)
            for (int cl = 0; cl < 4; cl++) {
                if (gen_below(&d->rng, 100) >= 35)
                    continue;
                gen_params_t p = { 0 };
                p.validity = 1;
                gen_add_rule(d, &p, B2B_KIND_TAX);
                gen_rule_t *g = &d->rules[d->nrules - 1];
                strcpy(g->country, countries[c]);
                strcpy(g->region, regions[rg]);
                strcpy(g->tax_class, classes[cl]);
            }
    /* fx: per target currency none, one, or two back-to-back windows */
    static const char *const targets[] = { "EUR", "JPY", "KWD", "GBP" };
    for (int t = 0; t < 4; t++) {
        uint64_t roll = gen_below(&d->rng, 10);
        if (roll < 2)
            continue;
        gen_params_t p = { 0 };
        gen_add_rule(d, &p, B2B_KIND_FX);
        gen_rule_t *g = &d->rules[d->nrules - 1];
        strcpy(g->to_currency, targets[t]);
        if (roll >= 7) {
            int64_t cut = GEN_T0 + ((int64_t)gen_below(&d->rng, 3) - 1) * 15 * GEN_DAY;
            g->r.valid_to = cut;
            gen_add_rule(d, &p, B2B_KIND_FX);
            g = &d->rules[d->nrules - 1];
            strcpy(g->to_currency, targets[t]);
            g->r.valid_from = cut + 10 * GEN_DAY;   /* a gap: no rate in between */
        }
    }
}

static void sql_str(FILE *f, const char *s)
{
    if (!s || !s[0]) {
        fputs("NULL", f);
        return;
    }
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static void sql_id(FILE *f, int64_t v)
{
    if (v)
        fprintf(f, "%lld", (long long)v);
    else
        fputs("NULL", f);
}

static void sql_time(FILE *f, int64_t t, int64_t none)
{
    if (t == none)
        fputs("NULL", f);
    else
        fprintf(f, "to_timestamp(%lld)", (long long)t);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s SEED NCASES OUTDIR\n", argv[0]);
        return 2;
    }
    uint64_t seed = strtoull(argv[1], NULL, 10);
    size_t ncases = strtoull(argv[2], NULL, 10);
    const char *dir = argv[3];
    gen_params_t p = { 120, 4, 160, 10, 4, 120, 160, 900, 80, 0, 4, 1, 1 };
    gen_data_t d;
    gen_make(&d, &p, seed);
    /* gen_make's own tax/fx rules are replaced by conform() */
    conform(&d);

    char path[4096];
    snprintf(path, sizeof path, "%s/data.sql", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 2;
    }
    fprintf(f, "-- differential data set, seed %llu\n\\set ON_ERROR_STOP 1\nBEGIN;\n",
            (unsigned long long)seed);
    fputs("INSERT INTO currencies (code, minor_digits, name) VALUES ('USD',2,'US Dollar'),"
          "('EUR',2,'Euro'),('JPY',0,'Yen'),('KWD',3,'Dinar'),('GBP',2,'Pound')"
          " ON CONFLICT (code) DO NOTHING;\n", f);
    for (size_t i = 0; i < d.nprice_lists; i++)
        fprintf(f, "INSERT INTO price_lists (id, code, name) VALUES (%zu, 'PL%zu', 'List %zu');\n",
                i + 1, i + 1, i + 1);
    fputs("INSERT INTO categories (id, code, name) VALUES (1, 'DIFF', 'Differential');\n", f);
    for (size_t i = 0; i < d.ngroups; i++)
        fprintf(f, "INSERT INTO product_groups (id, code, name) VALUES (%zu, 'G%zu', 'Group %zu');\n",
                i + 1, i + 1, i + 1);
    for (size_t i = 0; i < d.nacc; i++) {
        gen_account_t *a = &d.acc[i];
        fprintf(f, "INSERT INTO accounts (id, code, name, parent_id, currency, country, region,"
                   " price_list_id, tax_exempt) VALUES (%lld, '%s', '%s', ", (long long)a->id,
                a->code, a->code);
        sql_id(f, a->parent_id);
        fprintf(f, ", '%s', '%s', ", a->currency, a->country);
        sql_str(f, a->region);
        fputs(", ", f);
        sql_id(f, a->price_list_id);
        fprintf(f, ", %s);\n", a->tax_exempt ? "true" : "false");
    }
    for (size_t i = 0; i < d.nprod; i++) {
        gen_product_t *q = &d.prod[i];
        fprintf(f, "INSERT INTO products (id, sku, name, category_id, product_group_id, tax_class)"
                   " VALUES (%lld, '%s', '%s', 1, ", (long long)q->id, q->sku, q->sku);
        sql_id(f, q->group_id);
        fprintf(f, ", '%s');\n", q->tax_class);
    }
    for (size_t i = 0; i < d.nrules; i++) {
        const b2b_rule_t *r = gen_rule(&d, i);
        fprintf(f, "INSERT INTO price_rules (id, kind, account_id, price_list_id, product_id,"
                   " product_group_id, currency, price_minor, discount_bp, amount_off_minor,"
                   " min_qty, promo_code, stackable, valid_from, valid_to, country, region,"
                   " tax_class, rate_bp, to_currency, fx_rate_micro) VALUES (%lld, '%s', ",
                (long long)r->id, b2b_kind_name(r->kind));
        sql_id(f, r->account_id);
        fputs(", ", f);
        sql_id(f, r->price_list_id);
        fputs(", ", f);
        sql_id(f, r->product_id);
        fputs(", ", f);
        sql_id(f, r->product_group_id);
        fputs(", ", f);
        sql_str(f, r->currency);
        if (r->has & B2B_RULE_HAS_PRICE)
            fprintf(f, ", %lld", (long long)r->price_minor);
        else
            fputs(", NULL", f);
        if (r->has & B2B_RULE_HAS_DISCOUNT)
            fprintf(f, ", %d", r->discount_bp);
        else
            fputs(", NULL", f);
        if (r->has & B2B_RULE_HAS_AMOUNT_OFF)
            fprintf(f, ", %lld", (long long)r->amount_off_minor);
        else
            fputs(", NULL", f);
        if (r->has & B2B_RULE_HAS_MIN_QTY)
            fprintf(f, ", %d, ", r->min_qty);
        else
            fputs(", NULL, ", f);
        sql_str(f, r->promo_code);
        fprintf(f, ", %s, ", r->stackable ? "true" : "false");
        sql_time(f, r->valid_from, B2B_TIME_MIN);
        fputs(", ", f);
        sql_time(f, r->valid_to, B2B_TIME_MAX);
        fputs(", ", f);
        sql_str(f, r->country);
        fputs(", ", f);
        sql_str(f, r->region);
        fputs(", ", f);
        sql_str(f, r->tax_class);
        if (r->has & B2B_RULE_HAS_RATE)
            fprintf(f, ", %d, ", r->rate_bp);
        else
            fputs(", NULL, ", f);
        sql_str(f, r->to_currency);
        if (r->has & B2B_RULE_HAS_FX_RATE)
            fprintf(f, ", %lld);\n", (long long)r->fx_rate_micro);
        else
            fputs(", NULL);\n", f);
    }

    /* the engine, from the same rows */
    b2b_input_t *in = b2b_input_new();
    b2b_status_t st = gen_fill(&d, in, NULL, NULL, 1);
    uint64_t size = 0;
    if (st == B2B_OK)
        st = b2b_snapshot_size(in, &size);
    void *snap = st == B2B_OK ? aligned_alloc(64, (size_t)size) : NULL;
    if (st == B2B_OK)
        st = b2b_snapshot_build(in, NULL, snap, (size_t)size, NULL);
    if (st != B2B_OK) {
        fprintf(stderr, "engine build failed: %s\n", b2b_status_name(st));
        return 1;
    }

    fputs("CREATE TABLE pricing_diff_cases (case_no integer PRIMARY KEY, account_code text,"
          " sku text, qty integer, promo_code text, currency text, as_of bigint);\n", f);
    snprintf(path, sizeof path, "%s/engine.csv", dir);
    FILE *csv = fopen(path, "w");
    if (!csv) {
        perror(path);
        return 2;
    }
    static const int64_t qtys[] = { 1, 1, 2, 3, 5, 9, 10, 11, 49, 50, 99, 100, 999, 1000,
                                    999999, 1000000, 0, -1, 1000001 };
    static const char *const curs[] = { NULL, NULL, NULL, "USD", "EUR", "JPY", "KWD", "GBP",
                                        "XXX" };
    static const char *const promos[] = { NULL, NULL, "SAVE10", "VIP", "BULK", "XMAS", "NOPE" };
    static const int64_t days[] = { -61, -60, -31, -30, -16, -15, -1, 0, 1, 14, 15, 16, 29, 30,
                                    31, 59, 60, 61 };
    uint64_t rng = seed * 0xD1342543DE82EF95ULL + 0x9E3779B97F4A7C15ULL;
    size_t layer_hits[B2B_LAYER_COUNT] = { 0 }, not_better = 0;
    for (size_t c = 0; c < ncases; c++) {
        char acc[32], sku[32];
        if (gen_below(&rng, 100) == 0)
            strcpy(acc, "NO-SUCH-ACCOUNT");
        else
            snprintf(acc, sizeof acc, "%s", d.acc[gen_below(&rng, d.nacc)].code);
        if (gen_below(&rng, 100) == 0)
            strcpy(sku, "NO-SUCH-SKU");
        else
            snprintf(sku, sizeof sku, "%s", d.prod[gen_below(&rng, d.nprod)].sku);
        int64_t qty = qtys[gen_below(&rng, sizeof qtys / sizeof qtys[0])];
        const char *cur = curs[gen_below(&rng, sizeof curs / sizeof curs[0])];
        const char *promo = promos[gen_below(&rng, sizeof promos / sizeof promos[0])];
        int64_t as_of = GEN_T0 + days[gen_below(&rng, sizeof days / sizeof days[0])] * GEN_DAY +
                        (gen_below(&rng, 4) == 0 ? (int64_t)gen_below(&rng, 3) - 1 : 0);
        fprintf(f, "INSERT INTO pricing_diff_cases VALUES (%zu, '%s', '%s', %lld, ", c + 1, acc,
                sku, (long long)qty);
        sql_str(f, promo);
        fputs(", ", f);
        sql_str(f, cur);
        fprintf(f, ", %lld);\n", (long long)as_of);
        b2b_query_t q = { acc, -1, sku, qty, promo, cur, as_of };
        b2b_quote_t out;
        st = b2b_resolve(snap, &q, &out);
        if (st == B2B_OK)
            for (unsigned k = 0; k < out.step_count; k++)
                layer_hits[out.steps[k].layer]++;
        if (st == B2B_OK && out.promo == B2B_PROMO_NOT_BETTER)
            not_better++;
        if (st == B2B_OK)
            fprintf(csv, "%zu,%lld,%lld,%lld,%lld,%s,\n", c + 1, (long long)out.unit_minor,
                    (long long)out.net_minor, (long long)out.tax_minor,
                    (long long)out.gross_minor, out.currency);
        else
            fprintf(csv, "%zu,,,,,,%s\n", c + 1, b2b_status_name(st));
    }
    fputs("COMMIT;\n", f);
    fclose(f);
    fclose(csv);
    fprintf(stderr, "seed %llu: %zu accounts, %zu products, %zu rules, %zu cases; priced lines"
                    " using each layer:", (unsigned long long)seed, d.nacc, d.nprod, d.nrules,
            ncases);
    for (int l = 0; l < B2B_LAYER_COUNT; l++)
        fprintf(stderr, " %s %zu", b2b_layer_name((b2b_layer_t)l), layer_hits[l]);
    fprintf(stderr, "; promo not better %zu\n", not_better);
    free(snap);
    b2b_input_free(in);
    gen_free(&d);
    return 0;
}
