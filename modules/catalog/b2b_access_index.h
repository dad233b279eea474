/*
 * b2b_access_index.h: SKU -> access key for every product on the catalog, as
 * one flat read-only block (offsets, no pointers), so the worker can build it
 * into shared memory and every thread of every child can ask it without a
 * lock, a cache round trip or the database. The quote, the cart and orders
 * ask "may this account see this SKU" once per line; this makes that a hash
 * probe plus a look at the account's hidden keys.
 *
 * Readers may look at a block while the writer rewrites it (a seqlock around
 * it tells them afterwards to throw the answer away): every offset is
 * checked against the block's size, so a torn block gives a wrong answer that
 * is discarded, never a read outside the block or a loop without end.
 *
 * Pure C, no APR or httpd types.
 */
#ifndef B2B_ACCESS_INDEX_H
#define B2B_ACCESS_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define B2B_AIX_MAGIC   0xb2b0a1c5u
/* an access key is "<category id>:<product group id or 0>" */
#define B2B_AIX_KEY_MAX 48

typedef struct b2b_aix_builder_t b2b_aix_builder_t;

/* Collects (sku, access key) pairs; NULL when out of memory. */
b2b_aix_builder_t *b2b_aix_builder_new(void);
/* 0, or -1 (out of memory, empty or over-long sku or key). */
int b2b_aix_builder_add(b2b_aix_builder_t *b, const char *sku, const char *key);
/* Bytes the block needs. */
size_t b2b_aix_builder_size(const b2b_aix_builder_t *b);
size_t b2b_aix_builder_count(const b2b_aix_builder_t *b);
/* Writes the block for version into dst: bytes written, or 0 if it does
 * not fit in cap. A SKU added twice keeps its last key. */
size_t b2b_aix_build(const b2b_aix_builder_t *b, uint64_t version, void *dst, size_t cap);
void b2b_aix_builder_free(b2b_aix_builder_t *b);

/* The version a block was built for; 0 if it is not a block. */
uint64_t b2b_aix_version(const void *block, size_t cap);
/* 1: sku is on the catalog, its access key copied into key (NUL-terminated);
 * 0: not on the catalog; -1: the block is damaged (torn by a concurrent
 * rewrite, or not a block). */
int b2b_aix_lookup(const void *block, size_t cap, const char *sku,
                   char key[B2B_AIX_KEY_MAX]);

#endif
