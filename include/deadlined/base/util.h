/* util.h: allocation, cleanup attributes, string buffers, arena, string map. */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
/* Hand ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p_ = (p);                                                           \
                (p) = NULL;                                                                        \
                _p_;                                                                               \
        })

static inline void freep(void *p)
{
        free(*(void **)p);
}

/* Allocation failure is fatal (OpenBSD style): callers never half-handle it. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);

/* Growable byte buffer, always NUL-terminated. */
struct strbuf {
        char *buf;
        size_t len, cap;
};
void sb_grow(struct strbuf *sb, size_t extra);
void sb_append(struct strbuf *sb, const char *s, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_putc(struct strbuf *sb, char c);
void sb_appendf(struct strbuf *sb, const char *fmt, ...) _printf_(2, 3);
void sb_vappendf(struct strbuf *sb, const char *fmt, va_list ap) _printf_(2, 0);
void sb_reset(struct strbuf *sb);
void sb_free(struct strbuf *sb);
char *sb_steal(struct strbuf *sb);

/* Bump allocator: one per model, freed in one go. */
struct arena_block;
struct arena {
        struct arena_block *head;
};
void *arena_alloc(struct arena *a, size_t n); /* zeroed, 8-byte aligned */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);

/* Open-addressing map from string to uint32_t. Keys are not copied:
 * they must outlive the map (arena strings). O(1) average per lookup. */
struct strmap {
        const char **keys;
        uint32_t *vals;
        uint32_t *hashes; /* of each key: growing never rehashes a string, and a
                           * probe compares a string only when these match */
        size_t n, cap;
};
/* Returns true if inserted, false if the key existed (*existing set). */
bool strmap_put(struct strmap *m, const char *key, uint32_t val, uint32_t *existing);
bool strmap_get(const struct strmap *m, const char *key, uint32_t *val);
void strmap_free(struct strmap *m);

/* Open-addressing map from a 64-bit hash to uint32_t: for keys that are
 * already hashes (a UID's), so a lookup touches no string. */
struct u64map {
        uint64_t *keys;
        uint32_t *vals; /* value + 1; 0: empty slot */
        size_t n, cap;
};
/* Returns true if inserted, false if the key existed (*existing set). */
bool u64map_put(struct u64map *m, uint64_t key, uint32_t val, uint32_t *existing);
bool u64map_get(const struct u64map *m, uint64_t key, uint32_t *val);
void u64map_free(struct u64map *m);

/* Edit distance, for "did you mean" suggestions. */
size_t str_distance(const char *a, const char *b);
/* The candidate nearest to s, or NULL if none is close (distance <= 2 or a prefix). */
const char *str_nearest(const char *s, const char *const *candidates, size_t n);
bool str_has_prefix(const char *s, const char *prefix);
/* Valid UTF-8 with no control characters except tab. Returns offset of the first bad byte or -1. */
long utf8_check(const char *s, size_t len, bool allow_tab);
uint64_t hash64(const void *data, size_t len); /* FNV-1a */
#define SHA256_LEN 32
void sha256(const void *data, size_t len, unsigned char md[SHA256_LEN]); /* OpenSSL's */
