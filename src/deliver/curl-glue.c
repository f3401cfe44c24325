/* curl-glue.c: libcurl multi socket API on sd_event (after systemd's
 * src/import/curl-util.c). Differences from that model: every finished
 * transfer is drained from curl_multi_info_read in one go (systemd reads one
 * message per callback), and each io source lives in curl's socket pointer
 * (curl_multi_assign) plus a list, so teardown frees them all. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "deadlined/deliver/curl-glue.h"
#include "deadlined/base/log.h"
#include "deadlined/base/util.h"

struct req {
        struct req *prev, *next;
        CURL *easy;
        curl_glue_done_fn done;
        void *userdata;
};

struct glue_io {
        struct glue_io *prev, *next;
        sd_event_source *src;
        curl_socket_t fd;
};

struct curl_glue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        struct req *reqs;
        struct glue_io *ios;
        unsigned active;
};

#define LIST_REMOVE(head, x)                                                                       \
        do {                                                                                       \
                if ((x)->prev)                                                                     \
                        (x)->prev->next = (x)->next;                                               \
                else                                                                               \
                        (head) = (x)->next;                                                        \
                if ((x)->next)                                                                     \
                        (x)->next->prev = (x)->prev;                                               \
        } while (0)
#define LIST_PREPEND(head, x)                                                                      \
        do {                                                                                       \
                (x)->prev = NULL;                                                                  \
                (x)->next = (head);                                                                \
                if (head)                                                                          \
                        (head)->prev = (x);                                                        \
                (head) = (x);                                                                      \
        } while (0)

/* Hand every finished transfer to its owner. */
static void glue_drain(struct curl_glue *g)
{
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(g->multi, &left))) {
                struct req *r = NULL;
                CURL *easy = msg->easy_handle;
                CURLcode rc = msg->data.result;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
                curl_multi_remove_handle(g->multi, easy);
                if (!r)
                        continue;
                LIST_REMOVE(g->reqs, r);
                g->active--;
                r->done(easy, rc, r->userdata);
                free(r);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct curl_glue *g = userdata;
        int action = 0, running;

        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;
        if (curl_multi_socket_action(g->multi, fd, action, &running) != CURLM_OK)
                log_warnx("curl: socket action failed");
        glue_drain(g);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct curl_glue *g = userdata;
        int running;

        if (curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
                log_warnx("curl: timeout action failed");
        glue_drain(g);
        return 0;
}

static void io_free(struct curl_glue *g, struct glue_io *io)
{
        LIST_REMOVE(g->ios, io);
        sd_event_source_disable_unref(io->src);
        free(io);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        struct curl_glue *g = userp;
        struct glue_io *io = socketp;
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                if (io) {
                        io_free(g, io);
                        curl_multi_assign(g->multi, fd, NULL);
                }
                return 0;
        }
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;
        if (io) {
                if (sd_event_source_set_io_events(io->src, events) < 0 ||
                    sd_event_source_set_enabled(io->src, SD_EVENT_ON) < 0)
                        return -1;
                return 0;
        }
        io = xcalloc(1, sizeof(*io));
        io->fd = fd;
        if (sd_event_add_io(g->event, &io->src, fd, events, on_io, g) < 0) {
                free(io);
                return -1;
        }
        LIST_PREPEND(g->ios, io);
        curl_multi_assign(g->multi, fd, io);
        return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
        struct curl_glue *g = userp;
        uint64_t now, usec;

        if (timeout_ms < 0) {
                if (g->timer)
                        sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
                return 0;
        }
        if (sd_event_now(g->event, CLOCK_MONOTONIC, &now) < 0)
                return -1;
        usec = now + (uint64_t)timeout_ms * 1000 + 1;
        if (g->timer) {
                if (sd_event_source_set_time(g->timer, usec) < 0 ||
                    sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT) < 0)
                        return -1;
                return 0;
        }
        if (sd_event_add_time(g->event, &g->timer, CLOCK_MONOTONIC, usec, 0, on_timer, g) < 0)
                return -1;
        return 0;
}

int curl_glue_new(sd_event *e, long max_host, struct curl_glue **out)
{
        struct curl_glue *g;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        g = xcalloc(1, sizeof(*g));
        g->event = sd_event_ref(e);
        g->multi = curl_multi_init();
        if (!g->multi) {
                sd_event_unref(g->event);
                free(g);
                return -ENOMEM;
        }
        curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
        curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g);
        curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g);
        curl_multi_setopt(g->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host > 0 ? max_host : 4L);
        *out = g;
        return 0;
}

void curl_glue_free(struct curl_glue *g)
{
        if (!g)
                return;
        while (g->reqs) {
                struct req *r = g->reqs;

                LIST_REMOVE(g->reqs, r);
                g->active--;
                curl_multi_remove_handle(g->multi, r->easy);
                r->done(r->easy, CURLE_ABORTED_BY_CALLBACK, r->userdata);
                free(r);
        }
        curl_multi_cleanup(g->multi);
        while (g->ios)
                io_free(g, g->ios);
        sd_event_source_disable_unref(g->timer);
        sd_event_unref(g->event);
        free(g);
}

int curl_glue_add(struct curl_glue *g, CURL *easy, curl_glue_done_fn done, void *userdata)
{
        struct req *r = xcalloc(1, sizeof(*r));

        r->easy = easy;
        r->done = done;
        r->userdata = userdata;
        curl_easy_setopt(easy, CURLOPT_PRIVATE, r);
        if (curl_multi_add_handle(g->multi, easy) != CURLM_OK) {
                free(r);
                return -EIO;
        }
        LIST_PREPEND(g->reqs, r);
        g->active++;
        return 0;
}

unsigned curl_glue_active(const struct curl_glue *g)
{
        return g->active;
}
