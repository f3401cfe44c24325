/* fuzz-roster: the streaming CSV parser. The first byte seeds the chunk
 * sizes; the rest is the file. Fed whole and fed in random chunks, it must
 * deliver the same rows on the same lines and the same diagnostics. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "deadlined/base/log.h"
#include "deadlined/config/roster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct digest {
        uint64_t hash;
        size_t rows;
        long last_line;
        size_t stop_after; /* the callback stops parsing after this many rows; 0 = never */
};

static int on_row(const struct roster_row *row, void *userdata)
{
        struct digest *g = userdata;

        if (row->n == 0 || row->line < 1 || row->line < g->last_line ||
            row->header != (g->rows == 0))
                fatalx("row %zu: n=%zu line=%ld after line %ld", g->rows, row->n, row->line,
                       g->last_line);
        g->last_line = row->line;
        g->hash = g->hash * 31 + (uint64_t)row->line;
        for (size_t i = 0; i < row->n; i++) {
                if (strlen(row->fields[i]) != row->lens[i] || row->lens[i] > 1024)
                        fatalx("field %zu: length %zu", i, row->lens[i]);
                g->hash = g->hash * 31 + hash64(row->fields[i], row->lens[i] + 1);
        }
        if (++g->rows == g->stop_after)
                return -ECANCELED;
        return 0;
}

static int parse(const uint8_t *data, size_t size, uint32_t seed, struct digest *g, struct diags *d)
{
        struct roster_parser *p = roster_new("fuzz.csv", on_row, g, d);
        size_t pos = 0;
        int r = 0;

        while (pos < size && r == 0) {
                size_t n = size - pos;
                if (seed) {
                        seed = seed * 1103515245u + 12345u; /* any cheap PRNG will do */
                        n = 1 + (seed >> 16) % (n < 64 ? n : 64);
                }
                r = roster_feed(p, (const char *)data + pos, n);
                pos += n;
        }
        if (r == 0)
                r = roster_finish(p);
        roster_free(p);
        return r;
}

static uint64_t diags_hash(const struct diags *d)
{
        uint64_t h = d->nerrors;

        for (size_t i = 0; i < d->n; i++)
                h = h * 31 + hash64(d->v[i].msg, strlen(d->v[i].msg)) + (uint64_t)d->v[i].line;
        return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct digest whole = {0}, chunked = {0};
        struct diags dw = {0}, dc = {0};

        if (size < 1)
                return 0;
        uint32_t seed = data[0] | 1u;
        whole.stop_after = chunked.stop_after = data[0] & 0x80 ? (data[0] & 7) + 1 : 0;
        int rw = parse(data + 1, size - 1, 0, &whole, &dw);
        int rc = parse(data + 1, size - 1, seed, &chunked, &dc);
        if (rw != rc || whole.rows != chunked.rows || whole.hash != chunked.hash ||
            diags_hash(&dw) != diags_hash(&dc))
                fatalx("chunking changed the result: %d/%d, %zu/%zu rows, %zu/%zu errors", rw, rc,
                       whole.rows, chunked.rows, dw.nerrors, dc.nerrors);
        if ((rw == -EINVAL) != (dw.nerrors > 0) && rw != -ECANCELED)
                fatalx("roster returned %d with %zu errors", rw, dw.nerrors);
        diag_free(&dw);
        diag_free(&dc);
        return 0;
}
