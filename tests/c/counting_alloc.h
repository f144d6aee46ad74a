/* counting_alloc.h -- an mg_allocator for tests: counts what is outstanding and fails
 * on request, so a test can make the n-th allocation fail and then prove that the
 * library reported it and gave every byte back.
 *
 * Each block carries a small header with its size, so realloc and free keep exact
 * byte counts. Header-only (static functions): tests/c and fuzz/ both include it.
 */
#ifndef COUNTING_ALLOC_H
#define COUNTING_ALLOC_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mg.h"

typedef struct counting_alloc {
    size_t requests;     /* malloc and realloc requests since counting_alloc_reset */
    size_t fail_at;      /* request number (1-based) that fails; 0: none */
    int fail_after;      /* nonzero: every request from fail_at on fails, not just it */
    size_t failures;     /* requests refused so far */
    size_t blocks;       /* blocks outstanding */
    size_t bytes;        /* bytes outstanding (as asked for, headers not counted) */
    size_t peak_bytes;   /* most bytes outstanding at once */
    int bad_free;        /* set when free or realloc sees a pointer it never gave out */
} counting_alloc;

/* The header keeps max_align_t alignment for what follows it. */
typedef union counting_header {
    struct {
        size_t size;
        size_t magic;
    } h;
    max_align_t align;
} counting_header;

#define COUNTING_MAGIC ((size_t)0x6d67616c6c6f6321ull)

static inline int counting_should_fail(counting_alloc *c)
{
    c->requests++;
    int fail = c->fail_at && (c->fail_after ? c->requests >= c->fail_at
                                            : c->requests == c->fail_at);
    if (fail) c->failures++;
    return fail;
}

static inline void *counting_malloc(size_t size, void *ctx)
{
    counting_alloc *c = ctx;
    if (size == 0) c->bad_free = 1;   /* the library promises never to ask for 0 */
    if (counting_should_fail(c)) return NULL;
    counting_header *h = malloc(sizeof *h + size);
    if (!h) return NULL;
    h->h.size = size;
    h->h.magic = COUNTING_MAGIC;
    c->blocks++;
    c->bytes += size;
    if (c->bytes > c->peak_bytes) c->peak_bytes = c->bytes;
    return h + 1;
}

static inline void *counting_realloc(void *p, size_t size, void *ctx)
{
    counting_alloc *c = ctx;
    if (!p || size == 0) c->bad_free = 1;
    if (counting_should_fail(c)) return NULL;
    counting_header *h = (counting_header *)p - 1;
    if (h->h.magic != COUNTING_MAGIC) {
        c->bad_free = 1;
        return NULL;
    }
    size_t old = h->h.size;
    counting_header *nh = realloc(h, sizeof *nh + size);
    if (!nh) return NULL;
    nh->h.size = size;
    c->bytes = c->bytes - old + size;
    if (c->bytes > c->peak_bytes) c->peak_bytes = c->bytes;
    return nh + 1;
}

static inline void counting_free(void *p, void *ctx)
{
    counting_alloc *c = ctx;
    if (!p) {
        c->bad_free = 1;
        return;
    }
    counting_header *h = (counting_header *)p - 1;
    if (h->h.magic != COUNTING_MAGIC) {
        c->bad_free = 1;
        return;
    }
    h->h.magic = 0;
    c->blocks--;
    c->bytes -= h->h.size;
    free(h);
}

/* Starts counting requests afresh; fail_at 0 makes every request succeed. */
static inline void counting_alloc_reset(counting_alloc *c, size_t fail_at, int fail_after)
{
    c->requests = 0;
    c->failures = 0;
    c->fail_at = fail_at;
    c->fail_after = fail_after;
}

static inline mg_allocator counting_allocator(counting_alloc *c)
{
    mg_allocator a = {counting_malloc, counting_realloc, counting_free, c};
    return a;
}

#endif /* COUNTING_ALLOC_H */
