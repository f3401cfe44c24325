/* cache.h: the daemon's copy of each big feed's last render, kept in
 * STATE/cache/NAME.feed, so that a restart copies unchanged events instead
 * of serialising all of them again (ics_reuse). Only a start-up reads it; a
 * reload reuses the bytes in memory. A missing, stale or damaged file costs
 * only speed: reused bytes must match the event's UID, content and state
 * hashes and look like a whole VEVENT. */
#pragma once
#include "deadlined/serve/feeds.h"

#define CACHE_DIR "cache"

struct feeds_cache;

/* Map the cache files of m's feeds found in state_dir (none is fine). */
void feeds_cache_load(const char *state_dir, const struct model *m, struct feeds_cache **out);
const struct feeds_prev *feeds_cache_prev(const struct feeds_cache *c);
void feeds_cache_free(struct feeds_cache *c);
/* Write fb's body and spans to STATE/cache/NAME.feed (temporary file, fsync,
 * rename). Safe in any thread: reads fb only. */
int feeds_cache_save(const char *state_dir, const struct feed_bytes *fb);
