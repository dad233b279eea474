/*
 * b2b_access_index.c: see b2b_access_index.h.
 *
 * Block layout (native byte order, offsets from the block's start):
 *   header | slots: uint32[nslots], 0 or entry + 1, open addressing, load
 *   <= 1/2 | entries: {hash, sku offset, key number} | keys: uint32 string
 *   offsets | strings, NUL-terminated
 * Access keys repeat (a category and a group are shared by many products),
 * so each is stored once and entries carry its number.
 */
#include "b2b_access_index.h"

#include <stdlib.h>
#include <string.h>

#define SKU_MAX 64

typedef struct {
    uint32_t magic;
    uint32_t nslots;
    uint32_t nentries;
    uint32_t nkeys;
    uint64_t version;
    uint32_t slots_off;
    uint32_t entries_off;
    uint32_t keys_off;
    uint32_t strings_off;
    uint32_t size;
    uint32_t reserved;
} aix_header_t;

typedef struct {
    uint32_t hash;
    uint32_t sku;              /* offset in strings */
    uint32_t key;              /* key number */
} aix_entry_t;

typedef struct {
    char *p;
    size_t len, cap;
} arena_t;

struct b2b_aix_builder_t {
    arena_t strings;           /* skus, then keys are appended at build */
    struct pair { uint32_t sku, key; } *pairs;   /* sku offset, key number */
    size_t n, cap;
    arena_t keys;              /* distinct keys, NUL-separated */
    uint32_t *key_off;         /* offset of key k in keys */
    uint32_t *key_slots;       /* interning table: 0 or key + 1 */
    size_t nkeys, cap_keys, nkey_slots;
};

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;          /* FNV-1a */
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

static int grow(void **p, size_t *cap, size_t want, size_t size)
{
    size_t n = *cap ? *cap : 64;
    void *q;
    if (want <= *cap) {
        return 0;
    }
    while (n < want) {
        n *= 2;
    }
    if (!(q = realloc(*p, n * size))) {
        return -1;
    }
    *p = q;
    *cap = n;
    return 0;
}

/* Offset of the copy, or -1. */
static long arena_add(arena_t *a, const char *s)
{
    size_t n = strlen(s) + 1;
    long at = (long)a->len;
    if (a->len + n > 0x7fffffffu || grow((void **)&a->p, &a->cap, a->len + n, 1)) {
        return -1;
    }
    memcpy(a->p + a->len, s, n);
    a->len += n;
    return at;
}

b2b_aix_builder_t *b2b_aix_builder_new(void)
{
    return calloc(1, sizeof(b2b_aix_builder_t));
}

void b2b_aix_builder_free(b2b_aix_builder_t *b)
{
    if (b) {
        free(b->strings.p);
        free(b->pairs);
        free(b->keys.p);
        free(b->key_off);
        free(b->key_slots);
        free(b);
    }
}

static int rehash_keys(b2b_aix_builder_t *b, size_t nslots)
{
    uint32_t *t = calloc(nslots, sizeof(uint32_t));
    size_t k;
    if (!t) {
        return -1;
    }
    for (k = 0; k < b->nkeys; k++) {
        size_t i = hash_str(b->keys.p + b->key_off[k]) & (nslots - 1);
        while (t[i]) {
            i = (i + 1) & (nslots - 1);
        }
        t[i] = (uint32_t)k + 1;
    }
    free(b->key_slots);
    b->key_slots = t;
    b->nkey_slots = nslots;
    return 0;
}

/* The key's number, interned; -1 when out of memory. */
static long intern_key(b2b_aix_builder_t *b, const char *key)
{
    size_t i;
    long off;
    if ((b->nkeys + 1) * 2 > b->nkey_slots
        && rehash_keys(b, b->nkey_slots ? b->nkey_slots * 2 : 64)) {
        return -1;
    }
    for (i = hash_str(key) & (b->nkey_slots - 1); b->key_slots[i];
         i = (i + 1) & (b->nkey_slots - 1)) {
        uint32_t k = b->key_slots[i] - 1;
        if (!strcmp(b->keys.p + b->key_off[k], key)) {
            return (long)k;
        }
    }
    if (grow((void **)&b->key_off, &b->cap_keys, b->nkeys + 1, sizeof(uint32_t))
        || (off = arena_add(&b->keys, key)) < 0) {
        return -1;
    }
    b->key_off[b->nkeys] = (uint32_t)off;
    b->key_slots[i] = (uint32_t)++b->nkeys;
    return (long)b->nkeys - 1;
}

int b2b_aix_builder_add(b2b_aix_builder_t *b, const char *sku, const char *key)
{
    long off, k;
    if (!sku || !key || !*sku || strlen(sku) > SKU_MAX || strlen(key) >= B2B_AIX_KEY_MAX
        || b->n >= 0x7ffffff0u) {
        return -1;
    }
    if (grow((void **)&b->pairs, &b->cap, b->n + 1, sizeof(*b->pairs))
        || (k = intern_key(b, key)) < 0 || (off = arena_add(&b->strings, sku)) < 0) {
        return -1;
    }
    b->pairs[b->n].sku = (uint32_t)off;
    b->pairs[b->n].key = (uint32_t)k;
    b->n++;
    return 0;
}

static size_t slots_for(size_t n)
{
    size_t s = 16;
    while (s < n * 2) {
        s *= 2;
    }
    return s;
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

size_t b2b_aix_builder_count(const b2b_aix_builder_t *b)
{
    return b->n;
}

size_t b2b_aix_builder_size(const b2b_aix_builder_t *b)
{
    return align8(sizeof(aix_header_t)) + slots_for(b->n) * sizeof(uint32_t)
           + b->n * sizeof(aix_entry_t) + b->nkeys * sizeof(uint32_t)
           + b->strings.len + b->keys.len;
}

size_t b2b_aix_build(const b2b_aix_builder_t *b, uint64_t version, void *dst, size_t cap)
{
    size_t size = b2b_aix_builder_size(b), nslots = slots_for(b->n), i, nentries = 0;
    aix_header_t h;
    unsigned char *base = dst;
    uint32_t *slots, *keys;
    aix_entry_t *entries;
    char *strings;

    if (size > cap || size > 0xffffffffu) {
        return 0;
    }
    memset(&h, 0, sizeof(h));
    h.nslots = (uint32_t)nslots;
    h.nkeys = (uint32_t)b->nkeys;
    h.version = version;
    h.slots_off = (uint32_t)align8(sizeof(h));
    h.entries_off = h.slots_off + (uint32_t)(nslots * sizeof(uint32_t));
    h.keys_off = h.entries_off + (uint32_t)(b->n * sizeof(aix_entry_t));
    h.strings_off = h.keys_off + (uint32_t)(b->nkeys * sizeof(uint32_t));
    h.size = (uint32_t)size;
    slots = (uint32_t *)(void *)(base + h.slots_off);
    entries = (aix_entry_t *)(void *)(base + h.entries_off);
    keys = (uint32_t *)(void *)(base + h.keys_off);
    strings = (char *)base + h.strings_off;

    /* the magic goes in last: a half-written block is not a block */
    memset(base, 0, h.strings_off);
    if (b->strings.len) {
        memcpy(strings, b->strings.p, b->strings.len);
    }
    if (b->keys.len) {
        memcpy(strings + b->strings.len, b->keys.p, b->keys.len);
    }
    for (i = 0; i < b->nkeys; i++) {
        keys[i] = (uint32_t)b->strings.len + b->key_off[i];
    }
    for (i = 0; i < b->n; i++) {
        const char *sku = b->strings.p + b->pairs[i].sku;
        uint32_t hv = hash_str(sku);
        size_t j = hv & (nslots - 1);
        for (; slots[j]; j = (j + 1) & (nslots - 1)) {
            aix_entry_t *e = &entries[slots[j] - 1];
            if (e->hash == hv && !strcmp(strings + e->sku, sku)) {
                break;
            }
        }
        if (slots[j]) {
            entries[slots[j] - 1].key = b->pairs[i].key;      /* the last one wins */
            continue;
        }
        entries[nentries].hash = hv;
        entries[nentries].sku = b->pairs[i].sku;
        entries[nentries].key = b->pairs[i].key;
        slots[j] = (uint32_t)++nentries;
    }
    h.nentries = (uint32_t)nentries;
    memcpy(base, &h, sizeof(h));
    ((aix_header_t *)dst)->magic = B2B_AIX_MAGIC;
    return size;
}

/* The header, checked against cap; 0 if it does not describe a block. */
static int header_of(const void *block, size_t cap, aix_header_t *h)
{
    if (!block || cap < sizeof(*h)) {
        return 0;
    }
    memcpy(h, block, sizeof(*h));
    return h->magic == B2B_AIX_MAGIC && h->size <= cap && h->nslots
           && !(h->nslots & (h->nslots - 1))
           && h->slots_off >= sizeof(*h)
           && (uint64_t)h->slots_off + (uint64_t)h->nslots * 4 <= h->entries_off
           && (uint64_t)h->entries_off + (uint64_t)h->nentries * sizeof(aix_entry_t)
              <= h->keys_off
           && (uint64_t)h->keys_off + (uint64_t)h->nkeys * 4 <= h->strings_off
           && h->strings_off <= h->size;
}

uint64_t b2b_aix_version(const void *block, size_t cap)
{
    aix_header_t h;
    return header_of(block, cap, &h) ? h.version : 0;
}

int b2b_aix_lookup(const void *block, size_t cap, const char *sku,
                   char key[B2B_AIX_KEY_MAX])
{
    const unsigned char *base = block;
    aix_header_t h;
    uint32_t hv, i, j;

    key[0] = '\0';
    if (!header_of(block, cap, &h)) {
        return -1;
    }
    hv = hash_str(sku);
    for (i = 0, j = hv & (h.nslots - 1); i < h.nslots; i++, j = (j + 1) & (h.nslots - 1)) {
        uint32_t slot, off, room, n;
        aix_entry_t e;
        const char *s;
        memcpy(&slot, base + h.slots_off + (size_t)j * 4, 4);
        if (!slot) {
            return 0;
        }
        if (slot > h.nentries) {
            return -1;
        }
        memcpy(&e, base + h.entries_off + (size_t)(slot - 1) * sizeof(e), sizeof(e));
        if (e.hash != hv) {
            continue;
        }
        if (e.sku >= h.size - h.strings_off) {
            return -1;
        }
        off = h.strings_off + e.sku;
        room = h.size - off;
        s = (const char *)base + off;
        for (n = 0; n < room && sku[n] && s[n] == sku[n]; n++) {
        }
        if (n == room) {
            return -1;
        }
        if (sku[n] || s[n]) {
            continue;
        }
        if (e.key >= h.nkeys) {
            return -1;
        }
        memcpy(&off, base + h.keys_off + (size_t)e.key * 4, 4);
        if (off >= h.size - h.strings_off) {
            return -1;
        }
        off += h.strings_off;
        for (n = 0; n < B2B_AIX_KEY_MAX && off + n < h.size; n++) {
            key[n] = ((const char *)base)[off + n];
            if (!key[n]) {
                return 1;
            }
        }
        key[0] = '\0';
        return -1;
    }
    return -1;
}
