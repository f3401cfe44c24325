/* deliver.c: one delivery pass. Every message is composed up front (so the
 * model may be swapped while sends are in flight) and claimed as pending in
 * one transaction before anything leaves. Finished sends are marked in
 * batches: one short transaction (one fsync) per MARK_BATCH results or
 * MARK_DELAY_USEC, whichever comes first, and always before the pass ends;
 * a transaction per message would cost an fsync each and cap a batch at a
 * few hundred messages a second while blocking the loop. A crash before the
 * mark resends the message later with the same Message-ID: at least once,
 * never lost; only rows still pending (in flight) can be sent twice. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadlined/deliver/curl-glue.h"
#include "deadlined/deliver/deliver.h"
#include "deadlined/base/log.h"
#include "deadlined/deliver/mail.h"
#include "deadlined/core/plan.h"
#include "deadlined/deliver/webhook.h"

#define DEFAULT_RETRY_MIN 300
#define DEFAULT_RETRY_MAX 3600
#define DEFAULT_GIVE_UP 432000
#define DEFAULT_SEND_TIMEOUT 30
#define MAX_CONNECTIONS 8                /* parallel connections per host */
#define SEND_WINDOW (2 * MAX_CONNECTIONS) /* transfers handed to curl at once */
#define MARK_BATCH 256                   /* results per ledger transaction */
#define MARK_DELAY_USEC (50 * 1000ULL)   /* longest a result waits for its mark */
#define MARK_RETRY_USEC (1000 * 1000ULL) /* the ledger was busy */
#define OUTBOX_SLICE 64                  /* .eml files written per loop iteration */

/* A send's result, waiting for the next mark transaction. */
struct mark {
        char *message_id, *error;
        const char *state;
        int64_t next_attempt;
        bool outbox; /* an .eml: "sent" only once it is synced */
};

/* A FIFO of composed jobs. */
struct jobq {
        struct job **v;
        size_t head, len, cap;
};

struct deliverer {
        sd_event *event;
        struct curl_glue *glue;
        struct ledger *ledger;
        char *state_dir;
        FILE *out;
        const char *fault; /* DEADLINED_FAULT, only with -DDEADLINED_FAULTS */
        unsigned accepted; /* successful sends this pass, for fault points */
        bool quiet;        /* the caller reports ledger errors (the daemon, once) */
        bool mark_failing; /* results waiting for a writable ledger; logged once */
        /* The running pass. */
        bool busy, closing;
        int64_t now;
        int64_t retry_min, retry_max, give_up;
        int64_t pass_start; /* now of the last pass that claimed; 0: none */
        unsigned active;    /* jobs not settled yet: queued or sending */
        unsigned sending;   /* of which handed to curl */
        /* Composed jobs waiting for a place in the window: curl 7.88's
         * curl_multi_remove_handle walks every handle in the multi, so
         * adding a whole 2,000-message batch at once costs O(n^2). */
        struct jobq queue;
        /* .eml files to write, OUTBOX_SLICE per loop iteration, and how many
         * written files the next mark transaction must sync first. */
        struct jobq outq;
        sd_event_source *outbox_src;
        unsigned unsynced;
        int lock_fd; /* STATE/deliver.lock while we hold it, else -1 */
        pid_t lock_holder;
        struct deliver_stats stats;
        deliver_done_fn done;
        void *userdata;
        sd_event_source *defer;
        struct mark *marks;
        size_t nmarks, capmarks;
        sd_event_source *mark_timer;
        int *socks; /* every socket curl opened for us, so they can be cut */
        size_t nsocks, capsocks;
};

struct job {
        struct deliverer *d;
        char *recipient, *message_id;
        char idem[PLAN_IDEM_LEN + 1];
        size_t n;
        int64_t fire_at, attempts;
        bool test;
        char *eml; /* the message, for the outbox */
        size_t eml_len;
        CURL *easy; /* until handed to curl */
        struct mail_upload *mu;
        struct webhook_upload *wu;
};

static bool fault_on(const struct deliverer *d, const char *name)
{
        return d->fault && !strcmp(d->fault, name);
}

static void fault_point(struct deliverer *d, const char *name)
{
        if (fault_on(d, name)) {
                fprintf(stderr, "deadlined: fault injected: %s\n", name);
                if (d->out)
                        fflush(d->out);
                abort();
        }
}

int deliver_new(sd_event *e, const char *state_dir, struct deliverer **out)
{
        struct deliverer *d = xcalloc(1, sizeof(*d));
        int r;

        d->lock_fd = -1;
        d->state_dir = xstrdup(state_dir);
        r = ledger_open(state_dir, &d->ledger);
        if (r >= 0)
                r = curl_glue_new(e, MAX_CONNECTIONS, &d->glue);
        if (r < 0) {
                deliver_free(d);
                return r;
        }
        d->event = sd_event_ref(e);
#ifdef DEADLINED_FAULTS
        d->fault = getenv("DEADLINED_FAULT");
#endif
        *out = d;
        return 0;
}

static void job_free(struct job *j)
{
        mail_upload_free(j->mu);
        webhook_upload_free(j->wu);
        free(j->eml);
        free(j->recipient);
        free(j->message_id);
        free(j);
}

static int flush_marks(struct deliverer *d);

/* curl's SMTP "done" on a transfer removed mid-way still writes the end of
 * data (".") and waits for the reply: the relay would deliver a truncated
 * message and the loop would block. Hanging up first makes those writes fail. */
static void hang_up(struct deliverer *d)
{
        for (size_t i = 0; i < d->nsocks; i++)
                shutdown(d->socks[i], SHUT_RDWR);
}

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
        struct deliverer *d = clientp;
        int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);

        if (fd < 0)
                return CURL_SOCKET_BAD;
        if (d->nsocks == d->capsocks) {
                d->capsocks = d->capsocks ? d->capsocks * 2 : 16;
                d->socks = xreallocarray(d->socks, d->capsocks, sizeof(*d->socks));
        }
        d->socks[d->nsocks++] = fd;
        return fd;
}

static int close_socket(void *clientp, curl_socket_t fd)
{
        struct deliverer *d = clientp;

        for (size_t i = 0; i < d->nsocks; i++)
                if (d->socks[i] == fd) {
                        d->socks[i] = d->socks[--d->nsocks];
                        break;
                }
        return close(fd);
}

static void track_sockets(struct deliverer *d, CURL *easy)
{
        curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, d);
        curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
        curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, d);
}

static struct job *jobq_pop(struct jobq *q)
{
        if (q->head == q->len)
                return NULL;
        struct job *j = q->v[q->head++];
        if (q->head == q->len)
                q->head = q->len = 0;
        return j;
}

static void jobq_push(struct jobq *q, struct job *j)
{
        if (q->len == q->cap) {
                q->cap = q->cap ? q->cap * 2 : 64;
                q->v = xreallocarray(q->v, q->cap, sizeof(*q->v));
        }
        q->v[q->len++] = j;
}

/* Jobs never started: their rows stay pending for the next holder. */
static void jobq_drop(struct jobq *q)
{
        for (struct job *j; (j = jobq_pop(q));) {
                curl_easy_cleanup(j->easy);
                job_free(j);
        }
        free(q->v);
}

int deliver_close(struct deliverer *d)
{
        int r;

        if (!d)
                return 0;
        /* Aborted sends are not marked: their rows stay pending for the next run.
         * Finished ones are. */
        d->closing = true;
        hang_up(d);
        curl_glue_free(d->glue);
        jobq_drop(&d->queue);
        jobq_drop(&d->outq);
        free(d->socks);
        r = flush_marks(d);
        if (r < 0)
                log_warnx("%zu send results could not be recorded; those messages stay pending "
                          "and are sent again (same Message-ID)",
                          d->nmarks);
        for (size_t i = 0; i < d->nmarks; i++) {
                free(d->marks[i].message_id);
                free(d->marks[i].error);
        }
        free(d->marks);
        ledger_close(d->ledger);
        /* Only now may another process deliver: every result we could record is. */
        if (d->lock_fd >= 0)
                close(d->lock_fd);
        sd_event_source_disable_unref(d->outbox_src);
        sd_event_source_disable_unref(d->mark_timer);
        sd_event_source_disable_unref(d->defer);
        sd_event_unref(d->event);
        free(d->state_dir);
        free(d);
        return r;
}

void deliver_free(struct deliverer *d)
{
        (void)deliver_close(d);
}

/* The holder's pid, as it wrote it into the lock file; 0 if unknown. */
static pid_t read_holder(int fd)
{
        char buf[24];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        long pid;

        if (n <= 0)
                return 0;
        buf[n] = '\0';
        pid = strtol(buf, NULL, 10);
        return pid > 0 && pid <= INT32_MAX ? (pid_t)pid : 0;
}

int deliver_lock(struct deliverer *d)
{
        _cleanup_free_ char *path = NULL;
        char pid[24];
        int fd, n;

        if (d->lock_fd >= 0)
                return 0;
        path = xasprintf("%s/%s", d->state_dir, DELIVER_LOCK_FILE);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return log_error_errno(-errno, "Cannot open %s", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int r = -errno;
                d->lock_holder = r == -EWOULDBLOCK ? read_holder(fd) : 0;
                close(fd);
                return r;
        }
        /* For the message another process prints; the flock is what counts. */
        n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
                log_debug("Cannot write our pid into %s: %s", path, strerror(errno));
        d->lock_fd = fd;
        d->lock_holder = 0;
        return 0;
}

pid_t deliver_lock_holder(const struct deliverer *d)
{
        return d->lock_holder;
}

struct ledger *deliver_ledger(struct deliverer *d)
{
        return d->ledger;
}

void deliver_set_output(struct deliverer *d, FILE *f)
{
        d->out = f;
}

void deliver_set_quiet(struct deliverer *d, bool quiet)
{
        d->quiet = quiet;
        ledger_set_quiet(d->ledger, quiet);
}

bool deliver_busy(const struct deliverer *d)
{
        return d->busy;
}

const struct deliver_stats *deliver_stats(const struct deliverer *d)
{
        return &d->stats;
}

/* The journal at info level names no email addresses (the daemon logs person
 * ids, not addresses): "mailto:ADDR" becomes "mailto:-"; `deadlined history`
 * maps the Message-ID back to the address. */
static const char *redact_addresses(const char *in, char *out, size_t len)
{
        size_t o = 0;

        while (*in && o + 1 < len) {
                if (!strncmp(in, "mailto:", 7)) {
                        for (const char *c = "mailto:-"; *c && o + 1 < len; c++)
                                out[o++] = *c;
                        in += 7;
                        while (*in && *in != ' ' && *in != '|')
                                in++;
                        continue;
                }
                out[o++] = *in++;
        }
        out[o] = '\0';
        return out;
}

/* Skipped reminders can number hundreds of thousands on a fresh ledger: the
 * journal gets them at debug level (the pass summary counts them); tick still
 * prints each. */
static void report_skip(struct deliverer *d, const char *key, const char *why)
{
        if (d->out) {
                fprintf(d->out, "skipped %s%s\n", key, why);
                fflush(d->out);
        } else {
                log_debug("skipped %s%s", key, why);
        }
}

static void report(struct deliverer *d, const char *fmt, ...) _printf_(2, 3);
static void report(struct deliverer *d, const char *fmt, ...)
{
        va_list ap;
        char line[1024];

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (d->out) {
                fprintf(d->out, "%s\n", line);
                fflush(d->out);
        } else {
                char safe[1024];
                log_info("%s", redact_addresses(line, safe, sizeof(safe)));
                log_debug("%s", line);
        }
}

static int write_marks(struct deliverer *d)
{
        int r = ledger_begin(d->ledger);

        for (size_t i = 0; r >= 0 && i < d->nmarks; i++) {
                struct mark *k = &d->marks[i];
                r = ledger_mark(d->ledger, k->message_id, k->state, k->error, k->next_attempt,
                                d->now);
        }
        if (r >= 0)
                r = ledger_commit(d->ledger);
        if (r < 0)
                ledger_rollback(d->ledger);
        return r;
}

/* The .eml files written since the last sync, made durable in one step: a
 * file each fsync'ed would cost thousands of syncs, each blocking the loop.
 * syncfs also writes the directory entries of their renames. */
static int sync_outbox(struct deliverer *d)
{
        _cleanup_free_ char *dir = NULL;
        int fd, r = 0;

        if (d->unsynced == 0)
                return 0;
        dir = xasprintf("%s/outbox", d->state_dir);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || syncfs(fd) < 0)
                r = -errno;
        if (fd >= 0)
                close(fd);
        d->unsynced = 0;
        return r;
}

/* A failed sync may have lost any of those files: they are not "sent" but
 * retried (rewritten under the same name). */
static void unsynced_to_retry(struct deliverer *d, int r)
{
        unsigned n = 0;

        for (size_t i = 0; i < d->nmarks; i++) {
                struct mark *k = &d->marks[i];
                if (!k->outbox || strcmp(k->state, "sent") != 0)
                        continue;
                k->state = "pending";
                free(k->error);
                k->error = xasprintf("outbox: sync failed: %s", strerror(-r));
                k->next_attempt = d->now + d->retry_min;
                n++;
        }
        if (d->busy && n <= d->stats.sent) {
                d->stats.sent -= n;
                d->stats.retry += n;
        }
        log_warn_errno(r, "Cannot sync %s/outbox; %u messages will be written again", d->state_dir,
                       n);
}

/* One transaction for every queued result. If the ledger refuses it (locked
 * past the busy timeout, disk full) the results stay queued and are tried
 * again: dropping them would send those messages a second time. */
static int flush_marks(struct deliverer *d)
{
        int r;

        r = sync_outbox(d);
        if (r < 0)
                unsynced_to_retry(d, r);
        if (d->nmarks == 0 || !d->ledger)
                return 0;
        r = write_marks(d);
        if (r < 0) {
                if (!d->mark_failing && !d->quiet)
                        log_warn_errno(r, "Cannot record %zu send results yet; retrying",
                                       d->nmarks);
                d->mark_failing = true;
                if (d->mark_timer &&
                    sd_event_source_set_time_relative(d->mark_timer, MARK_RETRY_USEC) >= 0)
                        sd_event_source_set_enabled(d->mark_timer, SD_EVENT_ONESHOT);
                return r;
        }
        if (d->mark_failing)
                log_info("Recorded %zu delayed send results", d->nmarks);
        d->mark_failing = false;
        for (size_t i = 0; i < d->nmarks; i++) {
                free(d->marks[i].message_id);
                free(d->marks[i].error);
        }
        d->nmarks = 0;
        if (d->mark_timer)
                sd_event_source_set_enabled(d->mark_timer, SD_EVENT_OFF);
        return 0;
}

static int on_mark_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        flush_marks(userdata);
        return 0;
}

static void queue_mark(struct deliverer *d, const char *message_id, const char *state,
                       const char *error, int64_t next_attempt, bool outbox)
{
        int r = 0;

        if (d->nmarks == d->capmarks) {
                d->capmarks = d->capmarks ? d->capmarks * 2 : 64;
                d->marks = xreallocarray(d->marks, d->capmarks, sizeof(*d->marks));
        }
        d->marks[d->nmarks++] = (struct mark){
                .message_id = xstrdup(message_id),
                .error = error ? xstrdup(error) : NULL,
                .state = state,
                .next_attempt = next_attempt,
                .outbox = outbox,
        };
        if (d->nmarks >= MARK_BATCH || d->closing) {
                flush_marks(d);
                return;
        }
        /* More of the outbox to come: its results go in MARK_BATCHes (one
         * syncfs each) or when it has been written, not every 50 ms. */
        if (outbox && d->outq.head < d->outq.len)
                return;
        if (!d->mark_timer)
                r = sd_event_add_time_relative(d->event, &d->mark_timer, CLOCK_MONOTONIC,
                                               MARK_DELAY_USEC, 0, on_mark_timer, d);
        else if (sd_event_source_get_enabled(d->mark_timer, NULL) == 0)
                r = sd_event_source_set_time_relative(d->mark_timer, MARK_DELAY_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->mark_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                flush_marks(d);
}

static int on_finish(sd_event_source *s, void *userdata)
{
        struct deliverer *d = userdata;
        deliver_done_fn done = d->done;

        flush_marks(d); /* results are on disk before anyone hears the pass is over */
        d->defer = sd_event_source_disable_unref(d->defer);
        d->busy = false;
        d->done = NULL;
        if (done)
                done(d->userdata);
        return 0;
}

/* The pass is over once no job is active: tell the caller from the loop. */
static void maybe_finish(struct deliverer *d)
{
        if (d->active > 0 || d->defer)
                return;
        if (sd_event_add_defer(d->event, &d->defer, on_finish, d) < 0)
                on_finish(NULL, d);
}

/* Exponential backoff from retry_min doubling to retry_max, minus up to a
 * quarter of jitter so a burst of failures does not retry in lockstep. */
static int64_t backoff(const struct deliverer *d, int64_t attempts)
{
        int64_t base = d->retry_min;

        for (int64_t i = 0; i < attempts && base < d->retry_max; i++)
                base *= 2;
        if (base > d->retry_max)
                base = d->retry_max;
        return base - (int64_t)arc4random_uniform((uint32_t)(base / 4 + 1));
}

static void job_settle(struct job *j, int r, int64_t retry_at, const char *err)
{
        struct deliverer *d = j->d;
        const char *what = j->n == 1 ? "deadline" : "deadlines";
        int64_t next = 0;
        const char *state = "sent";

        if (r == -EAGAIN) {
                next = retry_at > d->now ? retry_at : d->now + backoff(d, j->attempts);
                state = next - j->fire_at > d->give_up ? "failed" : "pending";
        } else if (r < 0) {
                state = "failed";
        }
        if (!j->test)
                queue_mark(d, j->message_id, state, r < 0 ? err : NULL, next, j->eml != NULL);
        if (r == 0) {
                d->stats.sent++;
                report(d, "sent %s %zu %s %s", j->recipient, j->n, what, j->message_id);
        } else if (!strcmp(state, "pending")) {
                char when[32];
                d->stats.retry++;
                report(d, "retry %s %zu %s %s at %s: %s", j->recipient, j->n, what,
                       j->message_id, time_format_utc(next, when, sizeof(when)), err);
        } else {
                d->stats.failed++;
                report(d, "failed %s %zu %s %s: %s", j->recipient, j->n, what, j->message_id,
                       err);
        }
}

static void job_done(CURL *easy, CURLcode rc, void *userdata);

/* Hand queued jobs to curl while the window has room. A handle curl will
 * not take (no memory, no descriptors) is our shortage, not the recipient's:
 * retried later, never failed for good. */
static void pump(struct deliverer *d)
{
        struct job *j;

        while (d->sending < SEND_WINDOW && (j = jobq_pop(&d->queue))) {
                int r = -EIO;
#ifdef DEADLINED_FAULTS
                if (!fault_on(d, "add-fail"))
#endif
                        r = curl_glue_add(d->glue, j->easy, job_done, j);
                if (r >= 0) {
                        j->easy = NULL;
                        d->sending++;
                        continue;
                }
                curl_easy_cleanup(j->easy);
                j->easy = NULL;
                job_settle(j, -EAGAIN, 0, "cannot start the transfer");
                job_free(j);
                d->active--;
        }
}

static void enqueue(struct deliverer *d, struct job *j, CURL *easy)
{
        j->easy = easy;
        jobq_push(&d->queue, j);
        d->active++;
        pump(d);
}

static void job_done(CURL *easy, CURLcode rc, void *userdata)
{
        struct job *j = userdata;
        struct deliverer *d = j->d;
        char err[CURL_ERROR_SIZE + 64];
        int64_t retry_at = 0;
        int r;

        d->sending--;
        if (d->closing) {
                curl_easy_cleanup(easy);
                job_free(j);
                return;
        }
        if (j->mu)
                r = mail_result(easy, rc, j->mu, err, sizeof(err));
        else
                r = webhook_result(easy, rc, j->wu, d->now, &retry_at, err, sizeof(err));
        curl_easy_cleanup(easy);
        if (r == 0 && !j->test) {
                d->accepted++;
                if (d->accepted == 1)
                        fault_point(d, "after-accept");
                if (d->accepted == 2)
                        fault_point(d, "before-mark");
        }
        job_settle(j, r, retry_at, err);
        job_free(j);
        d->active--;
        pump(d);
        maybe_finish(d);
}

/* No [smtp]: the message becomes STATE/outbox/IDEM.eml, written atomically
 * (tmp + rename) but not synced: flush_marks syncs them all at once before
 * their rows are marked sent. */
static int write_outbox(struct deliverer *d, int dirfd, const struct job *j)
{
        _cleanup_free_ char *path = xasprintf("%s.eml", j->idem);
        _cleanup_free_ char *tmp = xasprintf(".%s.eml.tmp", j->idem);
        size_t off = 0;
        int fd, r = 0;

        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        while (off < j->eml_len) {
                ssize_t n = write(fd, j->eml + off, j->eml_len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : -EIO;
                        break;
                }
                off += (size_t)n;
        }
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && renameat(dirfd, tmp, dirfd, path) < 0)
                r = -errno;
        if (r < 0) {
                unlinkat(dirfd, tmp, 0);
                return r;
        }
        d->unsynced++;
        return 0;
}

static int open_outbox(const struct deliverer *d)
{
        _cleanup_free_ char *dir = xasprintf("%s/outbox", d->state_dir);
        int fd;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* A slice of the outbox per loop iteration: a 2,000-message batch must not
 * keep the loop (HTTP, the watchdog) waiting while it is written. */
static int on_outbox(sd_event_source *s, void *userdata)
{
        struct deliverer *d = userdata;
        int dirfd = open_outbox(d);
        struct job *j;

        for (unsigned i = 0; i < OUTBOX_SLICE && (j = jobq_pop(&d->outq)); i++) {
                char err[128];
                int r = dirfd < 0 ? dirfd : write_outbox(d, dirfd, j);

                snprintf(err, sizeof(err), "outbox: %s", strerror(-r));
                job_settle(j, r < 0 ? -EAGAIN : 0, 0, err);
                job_free(j);
                d->active--;
        }
        if (dirfd >= 0)
                close(dirfd);
        if (d->outq.head == d->outq.len) {
                if (s)
                        sd_event_source_set_enabled(s, SD_EVENT_OFF);
                flush_marks(d);
        }
        maybe_finish(d);
        return 0;
}

static void enqueue_outbox(struct deliverer *d, struct job *j, struct strbuf *msg)
{
        int r = 0;

        j->eml_len = msg->len;
        j->eml = sb_steal(msg);
        jobq_push(&d->outq, j);
        d->active++;
        /* Idle priority: a pending defer source is dispatched before any
         * io source of its priority, so HTTP would wait for the whole batch. */
        if (!d->outbox_src) {
                r = sd_event_add_defer(d->event, &d->outbox_src, on_outbox, d);
                if (r >= 0)
                        r = sd_event_source_set_priority(d->outbox_src,
                                                         SD_EVENT_PRIORITY_IDLE);
        }
        if (r >= 0)
                r = sd_event_source_set_enabled(d->outbox_src, SD_EVENT_ON);
        while (r < 0 && d->outq.head < d->outq.len)
                on_outbox(NULL, d);
}

static const struct webhook *find_webhook(const struct model *m, const char *name)
{
        for (uint32_t i = 0; i < m->nwebhooks; i++)
                if (!strcmp(m->webhooks[i].name, name))
                        return &m->webhooks[i];
        return NULL;
}

static long send_timeout(const struct model *m)
{
        return m->set.send_timeout > 0 ? m->set.send_timeout : DEFAULT_SEND_TIMEOUT;
}

/* Compose one email into msg, or set it up as a curl transfer. */
static int start_mail(struct deliverer *d, const struct model *m, struct job *j,
                      const struct mail_entry *e, struct strbuf *msg, CURL **easy)
{
        const char *to = j->recipient + 7;
        size_t len;
        int r;

        if (j->test)
                r = mail_compose_test(m, m->smtp.from, to, d->now, j->message_id, msg);
        else
                r = mail_compose(m, m->smtp.from, to, e, j->n, d->now, j->message_id, msg);
        if (r < 0 || !m->smtp.present)
                return r;
        len = msg->len;
        return mail_easy_new(&m->smtp, to, sb_steal(msg), len, send_timeout(m), &j->mu, easy);
}

static int start_webhook(struct deliverer *d, const struct model *m, struct job *j,
                         const struct mail_entry *e, struct strbuf *msg, CURL **easy)
{
        const struct webhook *w = find_webhook(m, j->recipient + 8);
        size_t len;
        int r;

        if (!w)
                return -ENOENT;
        if (j->test)
                r = webhook_payload_test(m, w, d->now, j->idem, msg);
        else
                r = webhook_payload(m, w, e, j->n, d->now, j->idem, msg);
        if (r < 0)
                return r;
        len = msg->len;
        return webhook_easy_new(w, sb_steal(msg), len, j->idem, d->now, send_timeout(m), &j->wu,
                                easy);
}

/* Compose and start one message; on failure it is settled at once: for good
 * when the message or the configuration is wrong, for a retry when we ran
 * short of memory or descriptors setting it up. */
static void job_start(struct deliverer *d, const struct model *m, struct job *j,
                      const struct mail_entry *e)
{
        struct strbuf msg = {0};
        CURL *easy = NULL;
        bool mail = str_has_prefix(j->recipient, "mailto:");
        int r = mail ? start_mail(d, m, j, e, &msg, &easy) : start_webhook(d, m, j, e, &msg, &easy);
        char err[256];

#ifdef DEADLINED_FAULTS
        if (r >= 0 && easy && fault_on(d, "easy-fail")) {
                curl_easy_cleanup(easy);
                easy = NULL;
                r = -ENOMEM;
        }
#endif
        if (r >= 0 && !easy) {
                enqueue_outbox(d, j, &msg);
                return;
        }
        sb_free(&msg);
        if (r >= 0) {
                track_sockets(d, easy);
                enqueue(d, j, easy);
                return;
        }
        if (easy)
                curl_easy_cleanup(easy);
        if (r == -ENOMEM || r == -EMFILE || r == -ENFILE || r == -EAGAIN) {
                snprintf(err, sizeof(err), "cannot set up the transfer: %s", strerror(-r));
                job_settle(j, -EAGAIN, 0, err);
        } else {
                snprintf(err, sizeof(err), "%s",
                         r == -ENOENT ? "webhook no longer configured"
                                      : "invalid recipient or message");
                job_settle(j, -EPERM, 0, err);
        }
        job_free(j);
}

static struct job *job_new(struct deliverer *d, const char *recipient, const char *message_id)
{
        struct job *j = xcalloc(1, sizeof(*j));
        const char *p = message_id + 1;
        size_t n = 0;

        j->d = d;
        j->recipient = xstrdup(recipient);
        j->message_id = xstrdup(message_id);
        while (n < PLAN_IDEM_LEN && p[n] && p[n] != '@')
                n++;
        memcpy(j->idem, p, n);
        j->idem[n] = '\0';
        j->fire_at = INT64_MAX;
        return j;
}

static void settings(struct deliverer *d, const struct model *m, int64_t now)
{
        d->now = now;
        d->retry_min = m->set.retry_min > 0 ? m->set.retry_min : DEFAULT_RETRY_MIN;
        d->retry_max = m->set.retry_max > 0 ? m->set.retry_max : DEFAULT_RETRY_MAX;
        if (d->retry_max < d->retry_min)
                d->retry_max = d->retry_min;
        d->give_up = m->set.retry_give_up > 0 ? m->set.retry_give_up : DEFAULT_GIVE_UP;
        d->stats = (struct deliver_stats){0};
        d->accepted = 0;
}

int deliver_test(struct deliverer *d, const struct model *m, const char *to, const char *webhook,
                 int64_t now, deliver_done_fn done, void *userdata)
{
        char idem[PLAN_IDEM_LEN + 1];
        _cleanup_free_ char *key = xasprintf("test|%lld", (long long)now);
        _cleanup_free_ char *msgid = NULL, *rcpt = NULL;
        const char *keys[] = {key};

        if (d->busy)
                return -EBUSY;
        if (webhook && !find_webhook(m, webhook))
                return -ENOENT;
        if (!webhook && mail_check_address(to) < 0)
                return -EINVAL;
        settings(d, m, now);
        plan_digest_id(keys, 1, m->set.uid_domain, idem, &msgid);
        rcpt = webhook ? xasprintf("webhook:%s", webhook) : xasprintf("mailto:%s", to);
        struct job *j = job_new(d, rcpt, msgid);
        j->test = true;
        j->fire_at = now;
        d->busy = true;
        d->done = done;
        d->userdata = userdata;
        job_start(d, m, j, NULL);
        maybe_finish(d);
        return 0;
}

static int known_cb(void *userdata, const char *key)
{
        return ledger_known(userdata, key);
}

static int claim_one(struct deliverer *d, const struct model *m, const struct plan_item *it,
                     const char *message_id)
{
        char id[512], due[16], slot[48];
        struct ledger_row row = {
                .key = it->key,
                .deadline = id,
                .due = date_format(it->d->due.day, due, sizeof(due)),
                .slot = plan_slot(m, it->d, &it->r, slot, sizeof(slot)),
                .recipient = it->recipient,
                .fire_at = it->r.at,
                .state = message_id ? "pending" : "skipped",
                .last_error = message_id ? NULL : "older than catch_up",
                .message_id = message_id,
        };

        deadline_id(m, it->d, id, sizeof(id));
        return ledger_insert(d->ledger, &row, d->now);
}

/* Record every SKIP and claim every digest's rows as pending. */
static int claim(struct deliverer *d, const struct model *m, const struct plan *p)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < p->n; i++)
                if (p->items[i].act == PLAN_SKIP)
                        r = claim_one(d, m, &p->items[i], NULL);
        for (size_t k = 0; r >= 0 && k < p->ndigests; k++)
                for (size_t i = 0; r >= 0 && i < p->digests[k].n; i++)
                        r = claim_one(d, m, &p->items[p->digests[k].items[i]],
                                      p->digests[k].message_id);
        return r < 0 ? r : 0;
}

/* Rows to resend (crash leftovers and due retries), copied out of SQLite. */
struct prow {
        char *key, *deadline, *slot, *recipient, *message_id;
        int64_t fire_at, attempts;
};
struct prows {
        struct prow *v;
        size_t n, cap;
};

static int collect_pending(const struct ledger_row *r, void *userdata)
{
        struct prows *ps = userdata;

        if (!r->message_id)
                return 0;
        if (ps->n == ps->cap) {
                ps->cap = ps->cap ? ps->cap * 2 : 16;
                ps->v = xreallocarray(ps->v, ps->cap, sizeof(*ps->v));
        }
        ps->v[ps->n++] = (struct prow){
                .key = xstrdup(r->key),
                .deadline = xstrdup(r->deadline),
                .slot = xstrdup(r->slot),
                .recipient = xstrdup(r->recipient),
                .message_id = xstrdup(r->message_id),
                .fire_at = r->fire_at,
                .attempts = r->attempts,
        };
        return 0;
}

static void prows_free(struct prows *ps)
{
        for (size_t i = 0; i < ps->n; i++) {
                free(ps->v[i].key);
                free(ps->v[i].deadline);
                free(ps->v[i].slot);
                free(ps->v[i].recipient);
                free(ps->v[i].message_id);
        }
        free(ps->v);
}

/* Rebuild a reminder from its slot ("lead:6m" / "overdue:N"). */
static bool slot_reminder(const struct model *m, const struct deadline *dl, const char *slot,
                          int64_t fire_at, struct reminder *r)
{
        const struct remind_spec *rs = deadline_remind(m, dl);
        int minute;

        *r = (struct reminder){.at = fire_at, .lead = -1, .repeat = -1};
        tz_utc_to_local(m->set.tz, fire_at, &r->day, &minute);
        if (str_has_prefix(slot, "overdue:")) {
                r->repeat = (int32_t)strtol(slot + 8, NULL, 10);
                return true;
        }
        for (unsigned i = 0; i < rs->nleads; i++) {
                char dur[32];
                if (!strcmp(slot + 5, dur_format(rs->leads[i], dur, sizeof(dur)))) {
                        r->lead = (int16_t)i;
                        return true;
                }
        }
        return false;
}

static const struct deadline *find_deadline(const struct model *m, const struct deadlines *ds,
                                            const char *id)
{
        char buf[512];

        /* Linear, but only for rows left pending: rare and few. */
        for (size_t i = 0; i < ds->n; i++)
                if (deadline_id(m, &ds->v[i], buf, sizeof(buf)) < sizeof(buf) &&
                    !strcmp(buf, id))
                        return &ds->v[i];
        return NULL;
}

/* Resend rows [a, b) of one message_id. Rows whose deadline is gone or no
 * longer active are marked skipped instead. */
static void resend_group(struct deliverer *d, const struct model *m, const struct deadlines *ds,
                         const struct prow *v, size_t n)
{
        struct mail_entry *e = xcalloc(n, sizeof(*e));
        struct job *j = job_new(d, v[0].recipient, v[0].message_id);

        for (size_t i = 0; i < n; i++) {
                const struct deadline *dl = find_deadline(m, ds, v[i].deadline);
                struct reminder r;

                if (!dl || !deadline_active(dl) || !slot_reminder(m, dl, v[i].slot, v[i].fire_at, &r)) {
                        ledger_set_state(d->ledger, v[i].key, "skipped",
                                         "deadline or reminder no longer active", d->now);
                        d->stats.skipped++;
                        report_skip(d, v[i].key, " (no longer active)");
                        continue;
                }
                e[j->n++] = (struct mail_entry){.d = dl, .r = r};
                if (v[i].fire_at < j->fire_at)
                        j->fire_at = v[i].fire_at;
                if (v[i].attempts > j->attempts)
                        j->attempts = v[i].attempts;
        }
        if (j->n > 0)
                job_start(d, m, j, e);
        else
                job_free(j);
        free(e);
}

static void start_resends(struct deliverer *d, const struct model *m, const struct deadlines *ds,
                          const struct prows *ps)
{
        for (size_t i = 0; i < ps->n;) {
                size_t k = i;
                while (k < ps->n && !strcmp(ps->v[k].message_id, ps->v[i].message_id))
                        k++;
                resend_group(d, m, ds, ps->v + i, k - i);
                i = k;
        }
}

static void start_digests(struct deliverer *d, const struct model *m, const struct plan *p)
{
        for (size_t i = 0; i < p->n; i++)
                if (p->items[i].act == PLAN_SKIP) {
                        d->stats.skipped++;
                        report_skip(d, p->items[i].key, "");
                }
        for (size_t k = 0; k < p->ndigests; k++) {
                const struct plan_digest *g = &p->digests[k];
                struct mail_entry *e = xcalloc(g->n, sizeof(*e));
                struct job *j = job_new(d, g->recipient, g->message_id);

                for (size_t i = 0; i < g->n; i++) {
                        const struct plan_item *it = &p->items[g->items[i]];
                        e[i] = (struct mail_entry){.d = it->d, .r = it->r};
                        if (it->r.at < j->fire_at)
                                j->fire_at = it->r.at;
                }
                j->n = g->n;
                job_start(d, m, j, e);
                free(e);
        }
}

/* Inside one write transaction: what to resend, the plan, the claims. */
static int pass_claim(struct deliverer *d, const struct model *m, const struct deadlines *ds,
                      struct prows *ps, struct plan *p)
{
        int64_t last = -1;
        int r = ledger_begin(d->ledger);

        if (r < 0)
                return r;
        if (ledger_meta_get(d->ledger, "last_pass", &last) < 0)
                last = -1;
        r = ledger_pending(d->ledger, d->now, collect_pending, ps);
        if (r >= 0)
                r = plan_build(m, ds, plan_window_start(m, d->now, last), d->now, known_cb,
                               d->ledger, p);
        if (r >= 0)
                r = claim(d, m, p);
        if (r >= 0 && d->now > last)
                r = ledger_meta_set(d->ledger, "last_pass", d->now);
        if (r >= 0)
                r = ledger_commit(d->ledger);
        if (r < 0)
                ledger_rollback(d->ledger);
        return r;
}

int deliver_pass(struct deliverer *d, const struct model *m, const struct deadlines *ds,
                 int64_t now, deliver_done_fn done, void *userdata)
{
        struct prows ps = {0};
        struct plan p = {0};
        int r;

        if (d->busy)
                return -EBUSY;
        /* Only the lock holder sends: the caller reports who holds it. */
        r = deliver_lock(d);
        if (r < 0)
                return r;
        /* The last pass's results first: a row still marked pending in the
         * ledger but sent would otherwise be sent again now. */
        r = flush_marks(d);
        if (r >= 0) {
                settings(d, m, now);
                r = pass_claim(d, m, ds, &ps, &p);
        }
        if (r >= 0)
                d->pass_start = now;
        if (r < 0) {
                prows_free(&ps);
                plan_free(&p);
                if (d->quiet)
                        return r;
                return log_error_errno(r, "Delivery pass: nothing claimed, nothing sent");
        }
        fault_point(d, "after-claim");
        d->busy = true;
        d->done = done;
        d->userdata = userdata;
        start_resends(d, m, ds, &ps);
        start_digests(d, m, &p);
        prows_free(&ps);
        plan_free(&p);
        maybe_finish(d);
        return 0;
}

int64_t deliver_next_wakeup(struct deliverer *d, const struct model *m,
                            const struct deadlines *ds, int64_t now)
{
        int64_t best = INT64_MAX, t;
        /* From the start of the last pass, not from its end: a reminder that
         * fell due while it ran is due now, not at the following wake-up. */
        int64_t from = d->pass_start > 0 && d->pass_start < now ? d->pass_start : now;

        for (size_t i = 0; i < ds->n; i++) {
                struct reminder r;
                if (schedule_next(m, &ds->v[i], from + 1, &r) == 0 && r.at < best)
                        best = r.at;
        }
        if (ledger_next_attempt(d->ledger, &t) == 0 && t < best)
                best = t > now ? t : now + 1;
        return best;
}
