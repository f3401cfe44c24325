/* cache.c: STATE/cache/NAME.feed = header, spans, body, in one file so that
 * one rename replaces all of it. Native byte order: the file never leaves the
 * machine, and the header's span size and magic reject another layout. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "deadlined/serve/cache.h"
#include "deadlined/base/log.h"
#include "deadlined/core/model.h"
#include "deadlined/base/util.h"

#define CACHE_MAGIC "DLFEED01"

struct cache_head {
        char magic[8];
        uint32_t span_size, crc; /* crc: CRC-32 of the spans and the body */
        uint64_t sig, nspans, body_len;
};

/* The spans and the body are checked whole before anything is copied: the
 * per-event hashes describe the source, not these bytes (50 ms at 100 MB). */
static uint32_t cache_crc(const void *spans, size_t spans_bytes, const void *body, size_t len)
{
        uLong c = crc32_z(0L, Z_NULL, 0);

        c = crc32_z(c, spans, spans_bytes);
        return (uint32_t)crc32_z(c, body, len);
}

struct cache_map {
        void *base;
        size_t size;
};

struct feeds_cache {
        struct feeds_prev prev;
        struct cache_map *maps;
        struct ics_spans *spans; /* views into the maps: never freed one by one */
};

/* Feed names are [a-z0-9_-] (config); refuse anything else as a file name. */
static char *cache_path(const char *dir, const char *name, const char *suffix)
{
        if (!*name || name[0] == '.' || strpbrk(name, "/\\"))
                return NULL;
        return xasprintf("%s/%s/%s.feed%s", dir, CACHE_DIR, name, suffix);
}

static bool map_one(const char *path, struct cache_map *map, struct feeds_prev_one *one,
                    struct ics_spans *sp)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct cache_head h;
        struct stat st;

        if (fd < 0)
                return false;
        if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(h)) {
                close(fd);
                return false;
        }
        map->size = (size_t)st.st_size;
        map->base = mmap(NULL, map->size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (map->base == MAP_FAILED) {
                map->base = NULL;
                return false;
        }
        memcpy(&h, map->base, sizeof(h));
        size_t spans_bytes = 0;
        bool ok = !memcmp(h.magic, CACHE_MAGIC, 8) && h.span_size == sizeof(struct ics_span) &&
                  h.nspans <= (map->size - sizeof(h)) / sizeof(struct ics_span);
        if (ok) {
                spans_bytes = h.nspans * sizeof(struct ics_span);
                ok = h.body_len == map->size - sizeof(h) - spans_bytes &&
                     cache_crc((char *)map->base + sizeof(h), spans_bytes,
                               (char *)map->base + sizeof(h) + spans_bytes, h.body_len) == h.crc;
        }
        if (!ok) {
                log_debug("%s: not an intact feed cache of this build; ignored", path);
                return false;
        }
        /* The header is 40 bytes and a span 40: the spans are 8-byte aligned. */
        *sp = (struct ics_spans){.v = (struct ics_span *)((char *)map->base + sizeof(h)),
                                 .n = h.nspans,
                                 .sig = h.sig};
        one->ru = (struct ics_reuse){
            .spans = sp, .body = (const char *)map->base + sizeof(h) + spans_bytes,
            .len = h.body_len};
        return true;
}

void feeds_cache_load(const char *state_dir, const struct model *m, struct feeds_cache **out)
{
        struct feeds_cache *c = xcalloc(1, sizeof(*c));
        size_t n = m->nfeeds ? m->nfeeds : 1;

        c->prev.v = xcalloc(n, sizeof(*c->prev.v));
        c->maps = xcalloc(n, sizeof(*c->maps));
        c->spans = xcalloc(n, sizeof(*c->spans));
        for (uint32_t i = 0; i < m->nfeeds; i++) {
                _cleanup_free_ char *path = cache_path(state_dir, m->feeds[i].name, "");
                struct feeds_prev_one *one = &c->prev.v[c->prev.n];

                if (!path || !map_one(path, &c->maps[c->prev.n], one, &c->spans[c->prev.n])) {
                        if (c->maps[c->prev.n].base)
                                munmap(c->maps[c->prev.n].base, c->maps[c->prev.n].size);
                        c->maps[c->prev.n] = (struct cache_map){0};
                        continue;
                }
                one->name = m->feeds[i].name;
                c->prev.n++;
        }
        *out = c;
}

const struct feeds_prev *feeds_cache_prev(const struct feeds_cache *c)
{
        return c ? &c->prev : NULL;
}

void feeds_cache_free(struct feeds_cache *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->prev.n; i++)
                munmap(c->maps[i].base, c->maps[i].size);
        free(c->maps);
        free(c->spans);
        free(c->prev.v);
        free(c);
}

static int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                len -= (size_t)k;
        }
        return 0;
}

int feeds_cache_save(const char *state_dir, const struct feed_bytes *fb)
{
        _cleanup_free_ char *dir = xasprintf("%s/%s", state_dir, CACHE_DIR);
        _cleanup_free_ char *path = cache_path(state_dir, fb->feed->name, "");
        _cleanup_free_ char *tmp = cache_path(state_dir, fb->feed->name, ".tmp");
        struct cache_head h = {.span_size = sizeof(struct ics_span),
                               .sig = fb->spans.sig,
                               .nspans = fb->spans.n,
                               .body_len = fb->len,
                               .crc = cache_crc(fb->spans.v, fb->spans.n * sizeof(*fb->spans.v),
                                                fb->body, fb->len)};
        int fd, r;

        if (!path || !tmp)
                return -EINVAL;
        memcpy(h.magic, CACHE_MAGIC, 8);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = write_all(fd, &h, sizeof(h));
        if (r >= 0)
                r = write_all(fd, fb->spans.v, fb->spans.n * sizeof(*fb->spans.v));
        if (r >= 0)
                r = write_all(fd, fb->body, fb->len);
        /* Durable before it replaces the old one: a torn file after a power
         * cut would otherwise look like a valid cache. */
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        close(fd);
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}
