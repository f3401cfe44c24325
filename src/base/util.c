/* util.c: allocation, string buffers, arena, string map, small string helpers. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "deadlined/base/log.h"
#include "deadlined/base/util.h"

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (!p)
                fatalx("out of memory allocating %zu bytes", n);
        return p;
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                fatalx("out of memory allocating %zu x %zu bytes", n, size);
        return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
        void *q = reallocarray(p, n ? n : 1, size ? size : 1);
        if (!q)
                fatalx("out of memory allocating %zu x %zu bytes", n, size);
        return q;
}

char *xstrdup(const char *s)
{
        char *p = strdup(s);
        if (!p)
                fatalx("out of memory");
        return p;
}

char *xstrndup(const char *s, size_t n)
{
        char *p = strndup(s, n);
        if (!p)
                fatalx("out of memory");
        return p;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                fatalx("out of memory");
        va_end(ap);
        return s;
}

void sb_grow(struct strbuf *sb, size_t extra)
{
        size_t need = sb->len + extra + 1;

        if (need <= sb->cap)
                return;
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap < need)
                cap *= 2;
        sb->buf = xreallocarray(sb->buf, cap, 1);
        sb->cap = cap;
}

void sb_append(struct strbuf *sb, const char *s, size_t n)
{
        sb_grow(sb, n);
        memcpy(sb->buf + sb->len, s, n);
        sb->len += n;
        sb->buf[sb->len] = '\0';
}

void sb_puts(struct strbuf *sb, const char *s)
{
        sb_append(sb, s, strlen(s));
}

void sb_putc(struct strbuf *sb, char c)
{
        sb_append(sb, &c, 1);
}

void sb_vappendf(struct strbuf *sb, const char *fmt, va_list ap)
{
        va_list aq;
        int n;

        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                fatalx("bad format string");
        sb_grow(sb, (size_t)n);
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
        sb->len += (size_t)n;
}

void sb_appendf(struct strbuf *sb, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        sb_vappendf(sb, fmt, ap);
        va_end(ap);
}

void sb_reset(struct strbuf *sb)
{
        sb->len = 0;
        if (sb->buf)
                sb->buf[0] = '\0';
}

void sb_free(struct strbuf *sb)
{
        free(sb->buf);
        *sb = (struct strbuf){0};
}

char *sb_steal(struct strbuf *sb)
{
        char *p = sb->buf ? sb->buf : xstrdup("");
        *sb = (struct strbuf){0};
        return p;
}

/* Arena: blocks of at least 64 KiB; big requests get a block of their own. */
struct arena_block {
        struct arena_block *next;
        size_t used, size;
        _Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK (64u * 1024u)

void *arena_alloc(struct arena *a, size_t n)
{
        struct arena_block *b = a->head;

        n = (n + 7) & ~(size_t)7;
        if (!b || b->size - b->used < n) {
                size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
                b = xmalloc(sizeof(*b) + size);
                b->used = 0;
                b->size = size;
                b->next = a->head;
                a->head = b;
        }
        void *p = b->data + b->used;
        b->used += n;
        memset(p, 0, n);
        return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
        char *p = arena_alloc(a, n + 1);
        memcpy(p, s, n);
        p[n] = '\0';
        return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
        return arena_strndup(a, s, strlen(s));
}

void arena_free(struct arena *a)
{
        struct arena_block *b = a->head;

        while (b) {
                struct arena_block *next = b->next;
                free(b);
                b = next;
        }
        a->head = NULL;
}

/* The core needs SHA-256 (stable Message-IDs) but no library of its own. */
void sha256(const void *data, size_t len, unsigned char md[SHA256_LEN])
{
        unsigned mdlen = 0;

        if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != SHA256_LEN)
                fatalx("SHA-256 failed");
}

uint64_t hash64(const void *data, size_t len)
{
        const unsigned char *p = data;
        uint64_t h = 0xcbf29ce484222325ull;

        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= 0x100000001b3ull;
        }
        return h;
}

/* Fibonacci hashing: FNV-1a's low bits cluster on keys that share a suffix
 * (a roster's ids, a feed's UIDs). */
static uint32_t strmap_hash(const char *key)
{
        return (uint32_t)((hash64(key, strlen(key)) * 0x9e3779b97f4a7c15ull) >> 32);
}

static size_t strmap_slot(const struct strmap *m, const char *key, uint32_t h)
{
        size_t mask = m->cap - 1;
        size_t i = h & mask;

        while (m->keys[i] && (m->hashes[i] != h || strcmp(m->keys[i], key) != 0))
                i = (i + 1) & mask;
        return i;
}

static void strmap_rehash(struct strmap *m)
{
        struct strmap n = {.cap = m->cap ? m->cap * 2 : 64, .n = m->n};

        n.keys = xcalloc(n.cap, sizeof(*n.keys));
        n.vals = xcalloc(n.cap, sizeof(*n.vals));
        n.hashes = xcalloc(n.cap, sizeof(*n.hashes));
        for (size_t i = 0; i < m->cap; i++) {
                if (!m->keys[i])
                        continue;
                size_t j = m->hashes[i] & (n.cap - 1);
                while (n.keys[j]) /* keys are distinct: find the first free slot */
                        j = (j + 1) & (n.cap - 1);
                n.keys[j] = m->keys[i];
                n.vals[j] = m->vals[i];
                n.hashes[j] = m->hashes[i];
        }
        strmap_free(m);
        *m = n;
}

bool strmap_put(struct strmap *m, const char *key, uint32_t val, uint32_t *existing)
{
        uint32_t h = strmap_hash(key);

        if ((m->n + 1) * 4 >= m->cap * 3)
                strmap_rehash(m);
        size_t i = strmap_slot(m, key, h);
        if (m->keys[i]) {
                if (existing)
                        *existing = m->vals[i];
                return false;
        }
        m->keys[i] = key;
        m->vals[i] = val;
        m->hashes[i] = h;
        m->n++;
        return true;
}

bool strmap_get(const struct strmap *m, const char *key, uint32_t *val)
{
        if (!m->cap)
                return false;
        size_t i = strmap_slot(m, key, strmap_hash(key));
        if (!m->keys[i])
                return false;
        if (val)
                *val = m->vals[i];
        return true;
}

static size_t u64map_slot(const struct u64map *m, uint64_t key)
{
        size_t mask = m->cap - 1;
        size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & mask;

        while (m->vals[i] && m->keys[i] != key)
                i = (i + 1) & mask;
        return i;
}

static void u64map_rehash(struct u64map *m)
{
        struct u64map n = {.cap = m->cap ? m->cap * 2 : 64, .n = m->n};

        n.keys = xcalloc(n.cap, sizeof(*n.keys));
        n.vals = xcalloc(n.cap, sizeof(*n.vals));
        for (size_t i = 0; i < m->cap; i++) {
                if (!m->vals[i])
                        continue;
                size_t j = u64map_slot(&n, m->keys[i]);
                n.keys[j] = m->keys[i];
                n.vals[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        *m = n;
}

bool u64map_put(struct u64map *m, uint64_t key, uint32_t val, uint32_t *existing)
{
        if ((m->n + 1) * 2 >= m->cap) /* at most half full: probes stay short */
                u64map_rehash(m);
        size_t i = u64map_slot(m, key);
        if (m->vals[i]) {
                if (existing)
                        *existing = m->vals[i] - 1;
                return false;
        }
        m->keys[i] = key;
        m->vals[i] = val + 1;
        m->n++;
        return true;
}

bool u64map_get(const struct u64map *m, uint64_t key, uint32_t *val)
{
        if (!m->cap)
                return false;
        size_t i = u64map_slot(m, key);
        if (!m->vals[i])
                return false;
        if (val)
                *val = m->vals[i] - 1;
        return true;
}

void u64map_free(struct u64map *m)
{
        free(m->keys);
        free(m->vals);
        *m = (struct u64map){0};
}

void strmap_free(struct strmap *m)
{
        free(m->keys);
        free(m->vals);
        free(m->hashes);
        *m = (struct strmap){0};
}

size_t str_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);

        if (la > 64 || lb > 64)
                return la > lb ? la : lb; /* names are short; long input is never "close" */
        size_t prev[65], cur[65];
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t best = prev[j - 1] + cost;
                        if (prev[j] + 1 < best)
                                best = prev[j] + 1;
                        if (cur[j - 1] + 1 < best)
                                best = cur[j - 1] + 1;
                        cur[j] = best;
                }
                memcpy(prev, cur, (lb + 1) * sizeof(size_t));
        }
        return prev[lb];
}

const char *str_nearest(const char *s, const char *const *candidates, size_t n)
{
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        for (size_t i = 0; i < n; i++) {
                size_t d = str_distance(s, candidates[i]);
                if (d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        if (best && best_d <= 2)
                return best;
        for (size_t i = 0; i < n; i++)
                if (strlen(s) >= 3 && str_has_prefix(candidates[i], s))
                        return candidates[i];
        return NULL;
}

bool str_has_prefix(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Length of the UTF-8 sequence at p (1..4), or 0 if it is not valid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
        unsigned c = p[0];
        size_t n;
        unsigned cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 4, cp = c & 0x07;
        else
                return 0;
        if (avail < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0;
        if (cp >= 0xd800 && cp <= 0xdfff)
                return 0;
        return n;
}

long utf8_check(const char *s, size_t len, bool allow_tab)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;

        while (i < len) {
                if (p[i] < 0x20 || p[i] == 0x7f) {
                        if (!(allow_tab && p[i] == '\t'))
                                return (long)i;
                        i++;
                        continue;
                }
                size_t n = utf8_seq(p + i, len - i);
                if (n == 0)
                        return (long)i;
                i += n;
        }
        return -1;
}
