/* config-private.h - shared between config.c (sections, accounts) and
 * config-values.c (single values and error messages). */
#pragma once

#include "mailharvest/config.h"
#include "mailharvest/error.h"

typedef struct {
  const char *path;       /* as given, for messages */
  char *dir;              /* absolute directory anchoring relative paths */
  GKeyFile *kf;
  gboolean has_defaults;
} MhCfgLoader;

typedef struct {
  const char *name;
  int value;
} MhCfgWord;

/* { NULL, 0 }-terminated tables of the key words of each enum. */
extern const MhCfgWord mh_cfg_profile_words[];
extern const MhCfgWord mh_cfg_security_words[];
extern const MhCfgWord mh_cfg_auth_words[];
extern const MhCfgWord mh_cfg_subject_words[];
extern const MhCfgWord mh_cfg_compress_words[];

/* Sets MH_ERROR_CONFIG "PATH: [GROUP] KEY: message"; @key and @group may
 * be NULL to leave them out. */
void mh_cfg_error (GError **error, const MhCfgLoader *l, const char *group,
                   const char *key, const char *fmt, ...)
  G_GNUC_PRINTF (5, 6);

/* A bad value made fit to quote: escaped and cut to a few dozen
 * characters.  Never call it on a value that may be a secret. */
char *mh_cfg_shown (const char *value);

/* Fetches @key for the account in @group, falling back to [defaults];
 * trims it.  FALSE on error (bad escape, empty value); TRUE with
 * *@value_out NULL when neither section has the key.  *@where_out names
 * the section the value came from, for later messages. */
gboolean mh_cfg_get (const MhCfgLoader *l, const char *group,
                     const char *key, char **value_out,
                     const char **where_out, GError **error);

/* Each checks one value and, on failure, sets an error naming @where and
 * @key and quoting the value. */
gboolean mh_cfg_word (const MhCfgLoader *l, const char *where,
                      const char *key, const char *value,
                      const MhCfgWord *words, int *out, GError **error);
gboolean mh_cfg_number (const MhCfgLoader *l, const char *where,
                        const char *key, const char *value, guint64 min,
                        guint64 max, guint64 *out, GError **error);
/* A byte count: digits with an optional K, M or G (powers of 1024). */
gboolean mh_cfg_size (const MhCfgLoader *l, const char *where,
                      const char *key, const char *value, guint64 min,
                      guint64 max, guint64 *out, GError **error);
gboolean mh_cfg_bool (const MhCfgLoader *l, const char *where,
                      const char *key, const char *value, gboolean *out,
                      GError **error);
gboolean mh_cfg_date (const MhCfgLoader *l, const char *where,
                      const char *key, const char *value, GError **error);
gboolean mh_cfg_host (const MhCfgLoader *l, const char *where,
                      const char *value, GError **error);

/* @value made absolute: "~/" is the home directory, anything else
 * relative is relative to the configuration file's directory. */
char *mh_cfg_path (const MhCfgLoader *l, const char *value);
