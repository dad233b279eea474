/*
 * Unit tests of the access index (TAP on stdout; t/unit.t runs it): every SKU
 * found with its key, absent ones not, and a block torn by a concurrent
 * rewrite never read outside (the ASan build checks that).
 */
#include "../b2b_access_index.h"

#include "../../../tests/tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static unsigned long long seed = 42;
static unsigned rnd(void)
{
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(seed >> 33);
}

static void sku_of(int i, char *buf, size_t n)
{
    snprintf(buf, n, "SKU-%05d", i);
}

static void key_of(int i, char *buf, size_t n)
{
    snprintf(buf, n, "%d:%d", 1 + i % 35, i % 7 ? 0 : 1 + i % 11);
}

#define N 50000

static void test_build_and_find(void)
{
    b2b_aix_builder_t *b = b2b_aix_builder_new();
    char sku[32], key[32], got[B2B_AIX_KEY_MAX];
    size_t size, used;
    void *block;
    int i, found = 0, right = 0, absent = 0;

    for (i = 0; i < N; i++) {
        sku_of(i, sku, sizeof(sku));
        key_of(i, key, sizeof(key));
        if (b2b_aix_builder_add(b, sku, key)) {
            break;
        }
    }
    ok(i == N, "50,000 products added");
    size = b2b_aix_builder_size(b);
    printf("# %d products: %zu bytes (%.1f per product)\n", N, size, (double)size / N);
    block = malloc(size);
    ok(b2b_aix_build(b, 7, block, size - 1) == 0, "a block that does not fit is refused");
    used = b2b_aix_build(b, 7, block, size);
    ok(used > 0 && used <= size, "the block fits in the size it asked for");
    ok(b2b_aix_version(block, used) == 7, "the block names its version");
    for (i = 0; i < N; i++) {
        sku_of(i, sku, sizeof(sku));
        key_of(i, key, sizeof(key));
        if (b2b_aix_lookup(block, used, sku, got) == 1) {
            found++;
            right += !strcmp(got, key);
        }
    }
    ok(found == N, "every product is found");
    ok(right == N, "every product has its own access key");
    for (i = N; i < N + 1000; i++) {
        sku_of(i, sku, sizeof(sku));
        absent += b2b_aix_lookup(block, used, sku, got) == 0;
    }
    absent += b2b_aix_lookup(block, used, "", got) == 0;
    absent += b2b_aix_lookup(block, used, "sku-00001", got) == 0;   /* exact, case and all */
    absent += b2b_aix_lookup(block, used, "SKU-000011", got) == 0;
    ok(absent == 1003, "SKUs not on the catalog are not found");
    ok(b2b_aix_lookup(block, 10, "SKU-00001", got) == -1, "a cut block is damaged");
    ok(b2b_aix_version(block, 10) == 0, "a cut block has no version");
    free(block);
    b2b_aix_builder_free(b);
}

static void test_edges(void)
{
    b2b_aix_builder_t *b = b2b_aix_builder_new();
    char got[B2B_AIX_KEY_MAX], long_sku[80], long_key[B2B_AIX_KEY_MAX + 1];
    unsigned char block[4096];
    size_t used;

    used = b2b_aix_build(b, 1, block, sizeof(block));
    ok(used > 0 && b2b_aix_lookup(block, used, "SKU-1", got) == 0,
       "an empty catalog finds nothing");
    ok(b2b_aix_builder_add(b, "A-1", "3:0") == 0 && b2b_aix_builder_add(b, "A-1", "4:2") == 0
       && b2b_aix_builder_add(b, "B-1", "3:0") == 0, "pairs added, one SKU twice");
    used = b2b_aix_build(b, 2, block, sizeof(block));
    ok(b2b_aix_lookup(block, used, "A-1", got) == 1 && !strcmp(got, "4:2"),
       "a SKU added twice keeps its last key");
    ok(b2b_aix_lookup(block, used, "B-1", got) == 1 && !strcmp(got, "3:0"),
       "keys are shared between products");
    memset(long_sku, 'X', sizeof(long_sku) - 1);
    long_sku[sizeof(long_sku) - 1] = '\0';
    memset(long_key, '1', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    ok(b2b_aix_builder_add(b, long_sku, "1:0") == -1, "an over-long SKU is refused");
    ok(b2b_aix_builder_add(b, "C-1", long_key) == -1, "an over-long key is refused");
    ok(b2b_aix_builder_add(b, "", "1:0") == -1 && b2b_aix_builder_add(b, NULL, "1:0") == -1,
       "an empty SKU is refused");
    ok(b2b_aix_builder_count(b) == 3, "refused pairs are not counted");
    memset(block, 0, sizeof(block));
    ok(b2b_aix_lookup(block, sizeof(block), "A-1", got) == -1, "zeros are not a block");
    b2b_aix_builder_free(b);
}

/* What a reader sees while the writer rewrites the block under it: random
 * bytes over random ranges. The answer may be wrong (the seqlock throws it
 * away); reading outside the block, or not returning, would be the bug. */
static void test_torn(void)
{
    b2b_aix_builder_t *b = b2b_aix_builder_new();
    char sku[32], key[32], got[B2B_AIX_KEY_MAX];
    unsigned char *block, *copy;
    size_t used, k;
    int i, answers[3] = { 0, 0, 0 };

    for (i = 0; i < 2000; i++) {
        sku_of(i, sku, sizeof(sku));
        key_of(i, key, sizeof(key));
        b2b_aix_builder_add(b, sku, key);
    }
    used = b2b_aix_builder_size(b);
    block = malloc(used);
    copy = malloc(used);
    used = b2b_aix_build(b, 3, block, used);
    for (i = 0; i < 20000; i++) {
        size_t at, len;
        int rc;
        memcpy(copy, block, used);
        for (k = 0; k < 1 + rnd() % 4; k++) {
            at = rnd() % used;
            len = 1 + rnd() % (i % 2 ? 8 : 256);
            if (at + len > used) {
                len = used - at;
            }
            while (len--) {
                copy[at + len] = (unsigned char)(i % 3 ? rnd() : 0xff);
            }
        }
        sku_of((int)(rnd() % 2200), sku, sizeof(sku));
        rc = b2b_aix_lookup(copy, used, sku, got);
        answers[rc + 1]++;
        if (rc == 1 && strlen(got) >= B2B_AIX_KEY_MAX) {
            break;
        }
    }
    printf("# torn blocks: %d damaged, %d absent, %d found\n", answers[0], answers[1],
           answers[2]);
    ok(i == 20000, "20,000 torn blocks read without a fault, keys always terminated");
    ok(answers[0] > 0, "damage is noticed");
    free(copy);
    free(block);
    b2b_aix_builder_free(b);
}

int main(void)
{
    test_build_and_find();
    test_edges();
    test_torn();
    return tap_done();
}
