/* plan.h: what one delivery pass does, as data. Pure: `now` is an argument
 * and "is this reminder already in the ledger?" is a callback.
 *
 * Catch-up (exact calendar semantics): a reminder that fired on local day D
 * at send_at may still be sent until send_at local time on D + catch_up
 * (date_add, so 1m after 31 January is 28/29 February), exclusive. With
 * catch_up = 0 it may be sent until the end of local day D. Only the latest
 * reminder of each deadline and recipient in the window is ever sent; every
 * older one not yet in the ledger is recorded as skipped. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "deadlined/core/deadline.h"
#include "deadlined/core/schedule.h"

#define PLAN_SKIP_HORIZON (366 * 86400) /* skip records reach back at most a year */
#define PLAN_IDEM_LEN 32                /* hex digits of the digest idempotency key */

enum plan_act { PLAN_SEND, PLAN_SKIP };

struct plan_item {
        const struct deadline *d;
        struct reminder r;
        struct recipient rc;
        uint8_t act;
        char *key;       /* schedule_key + "|" + recipient */
        char *recipient; /* "mailto:addr" (address lowercased) or "webhook:NAME" */
};

/* One email or webhook call: every SEND item of one recipient. */
struct plan_digest {
        const char *recipient; /* points into the first item */
        struct recipient rc;
        size_t *items; /* indexes into plan.items, by fire time then key */
        size_t n;
        char idem[PLAN_IDEM_LEN + 1]; /* hex SHA-256 of the sorted keys joined by '\n' */
        char *message_id;             /* "<idem@uid_domain>" */
};

struct plan {
        struct plan_item *items; /* SEND and SKIP, deadline order */
        size_t n, nsend, nskip;
        struct plan_digest *digests; /* sorted by recipient */
        size_t ndigests;
};

/* 1 if key is already recorded, 0 if not, negative errno on failure. */
typedef int (*plan_known_fn)(void *userdata, const char *key);

/* Until when (exclusive) a reminder may still be sent. */
int64_t plan_catch_up_until(const struct model *m, const struct reminder *r);
/* Start of the window to scan: covers catch-up and the time since the last
 * pass (last_pass < 0: none, e.g. a fresh ledger), never more than a year. */
int64_t plan_window_start(const struct model *m, int64_t now, int64_t last_pass);
/* Reminders with from <= at <= now of every active deadline. */
int plan_build(const struct model *m, const struct deadlines *ds, int64_t from, int64_t now,
               plan_known_fn known, void *userdata, struct plan *out);
void plan_free(struct plan *p);

/* "mailto:addr" (lowercased) or "webhook:NAME"; malloc'ed. */
char *plan_recipient_name(const struct model *m, const struct recipient *rc);
/* Idempotency key (hex) and Message-ID of a digest made of these keys (any order). */
void plan_digest_id(const char *const *keys, size_t n, const char *uid_domain,
                    char idem[PLAN_IDEM_LEN + 1], char **message_id);
/* "lead:6m" or "overdue:N": the tail of a reminder's key. buf >= 48 bytes. */
const char *plan_slot(const struct model *m, const struct deadline *d, const struct reminder *r,
                      char *buf, size_t len);
