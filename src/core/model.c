/* model.c: freeing the model and looking things up in it by name. */
#include <string.h>

#include "deadlined/core/model.h"
#include "deadlined/core/tz.h"

/* Secrets are wiped before they go back to the allocator. */
static void free_secret(char *s, size_t len)
{
        if (!s)
                return;
        explicit_bzero(s, len);
        free(s);
}

/* Frees everything config_load allocated, including m itself. NULL is fine. */
void model_free(struct model *m)
{
        if (!m)
                return;
        for (uint32_t i = 0; i < m->nfeeds; i++)
                free_secret(m->feeds[i].token, m->feeds[i].token ? strlen(m->feeds[i].token) : 0);
        for (uint32_t i = 0; i < m->nwebhooks; i++)
                free_secret(m->webhooks[i].secret, m->webhooks[i].secret_len);
        free_secret(m->smtp.password, m->smtp.password ? strlen(m->smtp.password) : 0);
        if (m->set.tz)
                tz_free(m->set.tz);
        free(m->rules);
        free(m->commitments);
        free(m->people);
        free(m->fields);
        free(m->roles);
        free(m->orgs);
        free(m->webhooks);
        free(m->feeds);
        free(m->files);
        strmap_free(&m->person_ids);
        strmap_free(&m->rule_ids);
        strmap_free(&m->commitment_ids);
        strmap_free(&m->webhook_ids);
        strmap_free(&m->feed_ids);
        arena_free(&m->arena);
        free(m);
}

static uint32_t lookup(const struct strmap *map, const char *name)
{
        uint32_t idx;

        if (!name || !strmap_get(map, name, &idx))
                return IDX_NONE;
        return idx;
}

uint32_t model_person(const struct model *m, const char *id)
{
        return lookup(&m->person_ids, id);
}

uint32_t model_rule(const struct model *m, const char *id)
{
        return lookup(&m->rule_ids, id);
}

uint32_t model_webhook(const struct model *m, const char *name)
{
        return lookup(&m->webhook_ids, name);
}

uint32_t model_feed(const struct model *m, const char *name)
{
        return lookup(&m->feed_ids, name);
}

bool person_has_role(const struct model *m, const struct person *p, uint32_t role)
{
        (void)m;
        for (uint8_t i = 0; i < p->nroles; i++)
                if (p->roles[i] == role)
                        return true;
        return false;
}
