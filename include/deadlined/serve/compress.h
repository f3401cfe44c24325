/* compress.h: the gzip copies of big feeds, made by a thread after READY=1
 * (which also writes them to the start-up cache, cache.h)
 * so that start-up and reload do not wait for deflate (0.5 s for a 90 MB
 * feed). Until a copy is attached, gzip clients get the identity bytes. */
#pragma once
#include <systemd/sd-event.h>
#include "deadlined/serve/snapshot.h"

struct compress_job;

/* Compress every feed of c that has no gzip copy yet, in one thread; the
 * copies are attached on the loop when it is done (http_content_set_gzip).
 * *out is NULL when there is nothing to compress. Holds a reference on c. */
int compress_start(sd_event *e, struct http_content *c, struct compress_job **out);
/* The same, and then write each big feed to the cache in state_dir
 * (feeds_cache_save) for the next start-up. */
int compress_start_cached(sd_event *e, struct http_content *c, const char *state_dir,
                          struct compress_job **out);
/* True once the copies are attached (or the job failed and gave up). */
bool compress_done(const struct compress_job *j);
/* Call off a running job (within one 1 MiB step), join its thread, free it. */
struct compress_job *compress_free(struct compress_job *j);
