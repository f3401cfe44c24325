/* curl-glue.h: libcurl's multi socket interface driven by an sd_event loop,
 * after systemd's src/import/curl-util.c. Sockets become sd_event io sources
 * (CURLMOPT_SOCKETFUNCTION), curl's timeout a CLOCK_MONOTONIC timer
 * (CURLMOPT_TIMERFUNCTION). One multi handle: its connection cache reuses
 * SMTP and HTTP connections across messages. */
#pragma once
#include <curl/curl.h>
#include <systemd/sd-event.h>

struct curl_glue;
/* Called once per finished transfer, after it was removed from the multi
 * handle; the callee owns easy (curl_easy_cleanup it). It may add transfers. */
typedef void (*curl_glue_done_fn)(CURL *easy, CURLcode result, void *userdata);

/* max_host: parallel connections per host (0 = 4); more transfers queue. */
int curl_glue_new(sd_event *e, long max_host, struct curl_glue **out);
/* Aborts transfers still running: done is called for each with
 * CURLE_ABORTED_BY_CALLBACK so its owner can free it. */
void curl_glue_free(struct curl_glue *g);
int curl_glue_add(struct curl_glue *g, CURL *easy, curl_glue_done_fn done, void *userdata);
/* Transfers added and not yet done. */
unsigned curl_glue_active(const struct curl_glue *g);
