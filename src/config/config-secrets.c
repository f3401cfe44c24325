/* config-secrets.c: feed tokens, the SMTP password and webhook keys. Each
 * lives in its own file, refused when others can read it, as ssh refuses a
 * key. Under systemd the file may come as a credential instead. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"

#define SECRET_MAX_BYTES (64ull << 10)

static void trim_right(char *s, size_t *len)
{
        while (*len > 0 && strchr(" \t\r\n", s[*len - 1]))
                s[--*len] = '\0';
}

/* Read one secret file; any permission bit in deny is a refusal. */
static int read_secret(struct loader *L, struct place pl, const char *key, const char *path,
                       mode_t deny, char **secret, size_t *len)
{
        struct stat st;
        char *buf;
        int r = cfg_read_file(path, SECRET_MAX_BYTES, &buf, len, &st);

        if (r == -EISDIR || r == -EFBIG) {
                perr(L, pl, "key '%s': %s is %s", key, path,
                     r == -EISDIR ? "not a regular file" : "too large for a secret");
                return r;
        }
        if (r < 0) {
                perr(L, pl, "key '%s': cannot read %s: %s", key, path, strerror(-r));
                return r;
        }
        if (st.st_mode & deny) {
                perr(L, pl, "key '%s': %s is readable by others; chmod %s it", key, path,
                     deny == 077 ? "600" : "o-rwx");
                explicit_bzero(buf, *len);
                free(buf);
                return -EPERM;
        }
        trim_right(buf, len);
        if (*len == 0) {
                perr(L, pl, "key '%s': %s is empty", key, path);
                free(buf);
                return -EINVAL;
        }
        *secret = buf;
        return 0;
}

/* systemd's LoadCredential=NAME:PATH copies PATH to $CREDENTIALS_DIRECTORY/NAME,
 * owned by the service, in a directory only it can enter. systemd may grant
 * the group read (0440), so only the bits for others are refused there. */
int cfg_load_credential(struct loader *L, struct place pl, const char *key, const char *name,
                        const char **path, char **secret, size_t *len)
{
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        struct stat st;

        *secret = NULL;
        if (!dir || !*dir || !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return 0;
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        if (stat(p, &st) < 0 && errno == ENOENT)
                return 0;
        *path = arena_strdup(&L->m->arena, p);
        return read_secret(L, pl, key, *path, 007, secret, len);
}

/* A credential with the file's base name wins over the file itself, so the
 * same configuration works inside and outside systemd. */
int cfg_load_secret(struct loader *L, const struct section *s, const char *key, const char **path,
                    char **secret, size_t *len)
{
        const char *v = cfg_get(s, key);
        struct place pl = cfg_place(s, key);

        if (cfg_blank(v))
                return 0;
        const char *slash = strrchr(v, '/');
        int r = cfg_load_credential(L, pl, key, slash ? slash + 1 : v, path, secret, len);
        if (r < 0 || *secret)
                return r;
        *path = cfg_path_join(&L->m->arena, s->f->dir, v);
        return read_secret(L, pl, key, *path, 077, secret, len);
}
