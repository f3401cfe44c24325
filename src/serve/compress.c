/* compress.c: deflate big feeds in a worker thread. The thread only reads the
 * feed bodies (immutable once rendered; the job holds a reference on their
 * content) and writes into the job; everything the server reads is changed
 * on the loop, in on_done, after the thread has been joined. An eventfd says
 * when. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "deadlined/serve/cache.h"
#include "deadlined/serve/compress.h"
#include "deadlined/base/log.h"
#include "deadlined/base/util.h"

struct compress_out {
        char *gz;
        size_t len;
        int r, cache_r;
};

struct compress_job {
        struct http_content *c;
        struct compress_out *out; /* one per feed of c */
        sd_event_source *src;
        pthread_t thread;
        char *state_dir; /* NULL: no cache */
        int efd;
        bool running, done;
        atomic_bool cancel;
};

static void *compress_thread(void *userdata)
{
        struct compress_job *j = userdata;
        uint64_t one = 1;

        for (size_t i = 0; i < j->c->fs.n; i++) {
                const struct feed_bytes *fb = &j->c->fs.v[i];
                if (fb->gz)
                        continue;
                j->out[i].r = feeds_gzip(fb->body, fb->len, &j->cancel, &j->out[i].gz,
                                         &j->out[i].len);
                /* Logged on the loop (on_done) as a warning. */
                if (j->state_dir && !atomic_load(&j->cancel))
                        j->out[i].cache_r = feeds_cache_save(j->state_dir, fb);
        }
        /* An eventfd write cannot block or fail short of a counter overflow. */
        if (write(j->efd, &one, sizeof(one)) < 0)
                return NULL;
        return NULL;
}

static void join(struct compress_job *j)
{
        if (!j->running)
                return;
        pthread_join(j->thread, NULL);
        j->running = false;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct compress_job *j = userdata;

        join(j);
        for (size_t i = 0; i < j->c->fs.n; i++) {
                if (j->out[i].gz) {
                        http_content_set_gzip(j->c, i, j->out[i].gz, j->out[i].len);
                        j->out[i].gz = NULL;
                } else if (j->out[i].r < 0) {
                        log_warn_errno(j->out[i].r, "Cannot compress feed %s; serving it "
                                       "uncompressed", j->c->fs.v[i].feed->name);
                }
                if (j->out[i].cache_r < 0)
                        log_warn_errno(j->out[i].cache_r, "Cannot write %s/%s/%s.feed (only "
                                       "the next start-up is slower)", j->state_dir,
                                       CACHE_DIR, j->c->fs.v[i].feed->name);
        }
        j->done = true;
        j->src = sd_event_source_disable_unref(j->src);
        log_debug("Compressed the big feeds");
        return 0;
}

int compress_start(sd_event *e, struct http_content *c, struct compress_job **out)
{
        return compress_start_cached(e, c, NULL, out);
}

int compress_start_cached(sd_event *e, struct http_content *c, const char *state_dir,
                          struct compress_job **out)
{
        struct compress_job *j;
        size_t todo = 0;
        int r;

        *out = NULL;
        for (size_t i = 0; i < c->fs.n; i++)
                todo += !c->fs.v[i].gz;
        if (!todo)
                return 0;
        j = xcalloc(1, sizeof(*j));
        j->c = http_content_ref(c);
        j->state_dir = state_dir ? xstrdup(state_dir) : NULL;
        j->out = xcalloc(c->fs.n, sizeof(*j->out));
        atomic_init(&j->cancel, false);
        j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (j->efd < 0) {
                r = log_error_errno(-errno, "Cannot create an eventfd");
                compress_free(j);
                return r;
        }
        r = sd_event_add_io(e, &j->src, j->efd, EPOLLIN, on_done, j);
        if (r >= 0) {
                r = -pthread_create(&j->thread, NULL, compress_thread, j);
                j->running = r == 0;
        }
        if (r < 0) {
                log_error_errno(r, "Cannot start compressing the feeds");
                compress_free(j);
                return r;
        }
        *out = j;
        return 0;
}

bool compress_done(const struct compress_job *j)
{
        return !j || j->done;
}

struct compress_job *compress_free(struct compress_job *j)
{
        if (!j)
                return NULL;
        atomic_store(&j->cancel, true);
        join(j);
        sd_event_source_disable_unref(j->src);
        if (j->efd >= 0)
                close(j->efd);
        for (size_t i = 0; j->out && i < j->c->fs.n; i++)
                free(j->out[i].gz);
        free(j->out);
        free(j->state_dir);
        http_content_unref(j->c);
        free(j);
        return NULL;
}
