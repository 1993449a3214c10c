/* config.c - INI parsing with GKeyFile, profiles and validation. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "config-private.h"

static const char *const account_keys[] = {
  "profile", "host", "port", "security", "username", "auth",
  "password_env", "password_command", "password_file",
  "oauth2_token_command", "ca_file", "tls_verify", "compress", "mailboxes",
  "latest",
  "since", "timeout", "max_message_size", "subject_threading",
  "subject_window_days", NULL
};

static const char *const secret_keys[] = {
  "password_env", "password_command", "password_file",
  "oauth2_token_command", NULL
};

void
mh_account_free (MhAccount *account)
{
  if (account == NULL)
    return;
  g_free (account->name);
  g_free (account->host);
  g_free (account->username);
  g_free (account->password_env);
  g_free (account->password_command);
  g_free (account->password_file);
  g_free (account->oauth2_token_command);
  g_free (account->ca_file);
  g_strfreev (account->mailboxes);
  g_free (account->since);
  g_free (account);
}

void
mh_config_free (MhConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->path);
  g_free (config->output);
  g_clear_pointer (&config->accounts, g_ptr_array_unref);
  g_free (config);
}


/* ------------------------------------------------------------------ */
/* The text before GKeyFile sees it.                                   */

static gboolean
is_blank (char c)
{
  return c == ' ' || c == '\t';
}

/* Cuts an inline comment: ';' or '#' after a blank, as in the example
 * configuration.  GKeyFile alone would keep it as part of the value. */
static void
cut_comment (char *line)
{
  char *end;

  for (char *p = line + 1; *p != '\0'; p++)
    if ((*p == ';' || *p == '#') && is_blank (p[-1]))
      {
        *p = '\0';
        break;
      }
  end = line + strlen (line);
  while (end > line && is_blank (end[-1]))
    *--end = '\0';
}

/* Rewrites @data into what GKeyFile accepts, keeping line numbers, and
 * rejects what GKeyFile would accept silently: a section or a key given
 * twice (GKeyFile merges or overwrites them).  Lines are never quoted in
 * errors, in case a user pasted a password into the wrong place. */
static char *
prepare (const MhCfgLoader *l, const char *data, gsize len, GError **error)
{
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) out = g_string_sized_new (len + 1);
  g_autoptr(GHashTable) groups = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) keys = NULL;
  g_autofree char *text = NULL;
  const char *group = NULL;

  if (len > MH_CONFIG_MAX_SIZE)
    {
      mh_cfg_error (error, l, NULL, NULL, "larger than %d bytes",
                    MH_CONFIG_MAX_SIZE);
      return NULL;
    }
  if (memchr (data, '\0', len) != NULL)
    {
      mh_cfg_error (error, l, NULL, NULL, "contains a NUL byte");
      return NULL;
    }
  text = g_strndup (data, len);
  if (!g_utf8_validate (text, -1, NULL))
    {
      mh_cfg_error (error, l, NULL, NULL, "is not valid UTF-8");
      return NULL;
    }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = lines[i];
      guint lineno = i + 1;
      gsize n = strlen (line);
      char *eq;

      if (n > 0 && line[n - 1] == '\r')
        line[n - 1] = '\0';
      while (is_blank (*line))
        line++;
      if (*line == '\0' || *line == ';' || *line == '#')
        {
          g_string_append_c (out, '\n');
          continue;
        }
      cut_comment (line);
      if (*line == '[')
        {
          char *close = strchr (line, ']');
          gpointer seen;

          if (close == NULL || close[1] != '\0' || close == line + 1)
            {
              mh_cfg_error (error, l, NULL, NULL,
                            "line %u: a section header must be [NAME]",
                            lineno);
              return NULL;
            }
          *close = '\0';
          if (g_hash_table_lookup_extended (groups, line + 1, NULL, &seen))
            {
              mh_cfg_error (error, l, line + 1, NULL,
                            "defined twice (lines %u and %u)",
                            GPOINTER_TO_UINT (seen), lineno);
              return NULL;
            }
          g_hash_table_insert (groups, g_strdup (line + 1),
                               GUINT_TO_POINTER (lineno));
          group = line + 1;
          g_clear_pointer (&keys, g_hash_table_unref);
          keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        NULL);
          g_string_append_printf (out, "[%s]\n", group);
          continue;
        }
      eq = strchr (line, '=');
      if (eq == NULL || eq == line)
        {
          mh_cfg_error (error, l, NULL, NULL,
                        "line %u: expected KEY = VALUE, [SECTION] or a "
                        "comment",
                        lineno);
          return NULL;
        }
      if (group == NULL)
        {
          mh_cfg_error (error, l, NULL, NULL,
                        "line %u: a key before the first [section]", lineno);
          return NULL;
        }
      {
        g_autofree char *key = g_strndup (line, eq - line);
        gpointer seen;

        g_strstrip (key);
        if (g_hash_table_lookup_extended (keys, key, NULL, &seen))
          {
            mh_cfg_error (error, l, group, key,
                          "given twice (lines %u and %u)",
                          GPOINTER_TO_UINT (seen), lineno);
            return NULL;
          }
        g_hash_table_insert (keys, g_steal_pointer (&key),
                             GUINT_TO_POINTER (lineno));
      }
      g_string_append (out, line);
      g_string_append_c (out, '\n');
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ------------------------------------------------------------------ */
/* Accounts.                                                           */

static gboolean
check_keys (const MhCfgLoader *l, const char *group, gboolean is_defaults,
            GError **error)
{
  g_auto(GStrv) keys = g_key_file_get_keys (l->kf, group, NULL, NULL);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      if (g_strv_contains (account_keys, keys[i]))
        continue;
      if (is_defaults && strcmp (keys[i], "output") == 0)
        continue;
      if (strcmp (keys[i], "output") == 0)
        mh_cfg_error (error, l, group, keys[i],
                      "output belongs in [defaults]");
      else
        mh_cfg_error (error, l, group, keys[i], "unknown key");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_name (const MhCfgLoader *l, const char *group, const char *name,
            GError **error)
{
  gsize n = strlen (name);

  if (n == 0 || n > MH_CONFIG_MAX_NAME || name[0] == '.')
    goto bad;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
      goto bad;
  return TRUE;

bad:
  mh_cfg_error (error, l, group, NULL,
                "an account name is 1 to %d letters, digits, '.', '_' or '-', "
                "not starting with '.'", MH_CONFIG_MAX_NAME);
  return FALSE;
}

/* The secret source keys count as one setting: the account's own, if it
 * names any, else those of [defaults].  Exactly one must remain. */
static gboolean
load_secrets (const MhCfgLoader *l, const char *group, MhAccount *a,
              GError **error)
{
  const char *where = group;
  const char *found[G_N_ELEMENTS (secret_keys)] = { NULL };
  char **slots[] = { &a->password_env, &a->password_command,
                     &a->password_file, &a->oauth2_token_command };
  guint count = 0;

  G_STATIC_ASSERT (G_N_ELEMENTS (slots) + 1 == G_N_ELEMENTS (secret_keys));
  for (guint i = 0; secret_keys[i] != NULL; i++)
    if (g_key_file_has_key (l->kf, group, secret_keys[i], NULL))
      count++;
  if (count == 0)
    where = l->has_defaults ? "defaults" : group;
  count = 0;
  for (guint i = 0; secret_keys[i] != NULL; i++)
    {
      g_autoptr(GError) local = NULL;
      char *value;

      if (!g_key_file_has_key (l->kf, where, secret_keys[i], NULL))
        continue;
      value = g_key_file_get_value (l->kf, where, secret_keys[i], &local);
      if (value == NULL)
        {
          mh_cfg_error (error, l, where, secret_keys[i], "%s", local->message);
          return FALSE;
        }
      g_strstrip (value);
      *slots[i] = value;
      if (*value == '\0')
        {
          mh_cfg_error (error, l, where, secret_keys[i], "empty value");
          return FALSE;
        }
      found[count++] = secret_keys[i];
    }
  if (count == 0)
    {
      mh_cfg_error (error, l, group, "password_command",
                    "no secret source: set one of password_env, "
                    "password_command, password_file or oauth2_token_command");
      return FALSE;
    }
  if (count > 1)
    {
      mh_cfg_error (error, l, where, found[1],
                    "only one secret source may be set, but %s is set too",
                    found[0]);
      return FALSE;
    }
  if (a->password_env != NULL)
    {
      const char *p = a->password_env;

      if (!g_ascii_isalpha (*p) && *p != '_')
        goto bad_env;
      for (; *p != '\0'; p++)
        if (!g_ascii_isalnum (*p) && *p != '_')
          goto bad_env;
    }
  if (a->password_file != NULL)
    {
      char *abs = mh_cfg_path (l, a->password_file);
      g_free (a->password_file);
      a->password_file = abs;
    }
  return TRUE;

bad_env:
  mh_cfg_error (error, l, where, "password_env",
                "expected the name of an environment variable");
  return FALSE;
}

static gboolean
load_mailboxes (const MhCfgLoader *l, const char *group, MhAccount *a,
                GError **error)
{
  g_autofree char *value = NULL;
  g_auto(GStrv) parts = NULL;
  g_autoptr(GPtrArray) names = NULL;
  const char *where;

  if (a->profile != MH_PROFILE_GENERIC)
    {
      if (g_key_file_has_key (l->kf, group, "mailboxes", NULL))
        {
          mh_cfg_error (error, l, group, "mailboxes",
                        "the %s profile finds its folders by SPECIAL-USE; "
                        "mailboxes needs profile = generic",
                        mh_profile_to_string (a->profile));
          return FALSE;
        }
      return TRUE;
    }
  if (!mh_cfg_get (l, group, "mailboxes", &value, &where, error))
    return FALSE;
  names = g_ptr_array_new_with_free_func (g_free);
  if (value == NULL)
    g_ptr_array_add (names, g_strdup ("INBOX"));
  else
    {
      parts = g_strsplit (value, ",", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        {
          g_strstrip (parts[i]);
          if (*parts[i] == '\0')
            {
              mh_cfg_error (error, l, where, "mailboxes",
                            "empty mailbox name in the list");
              return FALSE;
            }
          if (names->len >= MH_CONFIG_MAX_MAILBOXES)
            {
              mh_cfg_error (error, l, where, "mailboxes",
                            "more than %d mailboxes", MH_CONFIG_MAX_MAILBOXES);
              return FALSE;
            }
          g_ptr_array_add (names, g_strdup (parts[i]));
        }
    }
  g_ptr_array_add (names, NULL);
  a->mailboxes = (char **) g_ptr_array_free (g_steal_pointer (&names),
                                             FALSE);
  return TRUE;
}

static gboolean
load_connection (const MhCfgLoader *l, const char *group, MhAccount *a,
                 GError **error)
{
  g_autofree char *v = NULL;
  const char *where = group;
  const char *host_where = NULL;
  int word;
  guint64 n;

  if (!mh_cfg_get (l, group, "profile", &v, &where, error))
    return FALSE;
  if (v != NULL && !mh_cfg_word (l, where, "profile", v, mh_cfg_profile_words,
                                 &word, error))
    return FALSE;
  a->profile = v != NULL ? (MhProfile) word : MH_PROFILE_GENERIC;
  g_clear_pointer (&v, g_free);

  if (!mh_cfg_get (l, group, "host", &a->host, &host_where, error))
    return FALSE;
  if (a->host == NULL)
    {
      if (a->profile == MH_PROFILE_GMAIL)
        a->host = g_strdup ("imap.gmail.com");
      else if (a->profile == MH_PROFILE_OUTLOOK)
        a->host = g_strdup ("outlook.office365.com");
      else
        {
          mh_cfg_error (error, l, group, "host",
                        "required for the generic profile");
          return FALSE;
        }
    }
  else if (!mh_cfg_host (l, host_where, a->host, error))
    return FALSE;

  if (!mh_cfg_get (l, group, "security", &v, &where, error))
    return FALSE;
  if (v != NULL && !mh_cfg_word (l, where, "security", v,
                                 mh_cfg_security_words, &word, error))
    return FALSE;
  a->security = v != NULL ? (MhSecurity) word : MH_SECURITY_TLS;
  if (a->security == MH_SECURITY_NONE
      && !mh_config_host_is_loopback (a->host))
    {
      /* The password would cross the network in the clear. */
      mh_cfg_error (error, l, v != NULL ? where : group, "security",
                    "none is only allowed for a loopback host (localhost, "
                    "127.0.0.0/8, ::1), not %s; use tls or starttls", a->host);
      return FALSE;
    }
  g_clear_pointer (&v, g_free);

  if (!mh_cfg_get (l, group, "port", &v, &where, error))
    return FALSE;
  if (v != NULL && !mh_cfg_number (l, where, "port", v, 1, 65535, &n, error))
    return FALSE;
  a->port = v != NULL ? (guint16) n
                      : (a->security == MH_SECURITY_TLS ? 993 : 143);
  g_clear_pointer (&v, g_free);

  if (!mh_cfg_get (l, group, "ca_file", &v, &where, error))
    return FALSE;
  if (v != NULL)
    a->ca_file = mh_cfg_path (l, v);
  g_clear_pointer (&v, g_free);

  a->tls_verify = TRUE;
  if (!mh_cfg_get (l, group, "tls_verify", &v, &where, error))
    return FALSE;
  if (v != NULL && !mh_cfg_bool (l, where, "tls_verify", v, &a->tls_verify,
                                 error))
    return FALSE;
  g_clear_pointer (&v, g_free);

  if (!mh_cfg_get (l, group, "compress", &v, &where, error))
    return FALSE;
  if (v != NULL && !mh_cfg_word (l, where, "compress", v,
                                 mh_cfg_compress_words, &word, error))
    return FALSE;
  a->compress = v != NULL ? (MhCompress) word : MH_COMPRESS_AUTO;
  return TRUE;
}

static gboolean
load_auth (const MhCfgLoader *l, const char *group, MhAccount *a,
           GError **error)
{
  g_autofree char *v = NULL;
  const char *where = group;
  int word;

  if (!mh_cfg_get (l, group, "username", &a->username, &where, error))
    return FALSE;
  if (a->username == NULL)
    {
      mh_cfg_error (error, l, group, "username", "required");
      return FALSE;
    }
  for (const char *p = a->username; *p != '\0'; p++)
    if ((guchar) *p < ' ' || *p == 0x7f)
      {
        mh_cfg_error (error, l, where, "username",
                      "contains a control character");
        return FALSE;
      }

  if (!mh_cfg_get (l, group, "auth", &v, &where, error))
    return FALSE;
  if (v != NULL && !mh_cfg_word (l, where, "auth", v, mh_cfg_auth_words, &word,
                                 error))
    return FALSE;
  a->auth = v != NULL ? (MhAuthMech) word : MH_AUTH_AUTO;
  if (!load_secrets (l, group, a, error))
    return FALSE;
  if ((a->auth == MH_AUTH_XOAUTH2 || a->auth == MH_AUTH_OAUTHBEARER)
      && a->oauth2_token_command == NULL)
    {
      mh_cfg_error (error, l, v != NULL ? where : group, "auth",
                    "%s needs oauth2_token_command",
                    mh_auth_mech_to_string (a->auth));
      return FALSE;
    }
  if ((a->auth == MH_AUTH_PLAIN || a->auth == MH_AUTH_LOGIN)
      && a->oauth2_token_command != NULL)
    {
      mh_cfg_error (error, l, v != NULL ? where : group, "auth",
                    "%s needs a password (password_env, password_command or "
                    "password_file), not oauth2_token_command",
                    mh_auth_mech_to_string (a->auth));
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_limits (const MhCfgLoader *l, const char *group, MhAccount *a,
             GError **error)
{
  g_autofree char *v = NULL;
  const char *where = group;
  guint64 n;
  int word;

  a->latest = MH_CONFIG_DEFAULT_LATEST;
  if (!mh_cfg_get (l, group, "latest", &v, &where, error))
    return FALSE;
  if (v != NULL && g_ascii_strcasecmp (v, "all") == 0)
    a->latest = 0;
  else if (v != NULL)
    {
      if (!g_ascii_string_to_unsigned (v, 10, 1, MH_CONFIG_MAX_LATEST, &n,
                                       NULL))
        {
          g_autofree char *got = mh_cfg_shown (v);
          mh_cfg_error (error, l, where, "latest",
                        "expected a number from 1 to %d or \"all\", "
                        "got \"%s\"",
                        MH_CONFIG_MAX_LATEST, got);
          return FALSE;
        }
      a->latest = (gint64) n;
    }
  g_clear_pointer (&v, g_free);

  if (!mh_cfg_get (l, group, "since", &a->since, &where, error))
    return FALSE;
  if (a->since != NULL && !mh_cfg_date (l, where, "since", a->since, error))
    return FALSE;

  a->timeout = MH_CONFIG_DEFAULT_TIMEOUT;
  if (!mh_cfg_get (l, group, "timeout", &v, &where, error))
    return FALSE;
  if (v != NULL)
    {
      if (!mh_cfg_number (l, where, "timeout", v, 1, MH_CONFIG_MAX_TIMEOUT,
                          &n, error))
        return FALSE;
      a->timeout = (guint) n;
    }
  g_clear_pointer (&v, g_free);

  a->max_message_size = MH_CONFIG_DEFAULT_MESSAGE_SIZE;
  if (!mh_cfg_get (l, group, "max_message_size", &v, &where, error))
    return FALSE;
  if (v != NULL
      && !mh_cfg_size (l, where, "max_message_size", v,
                       MH_CONFIG_MIN_MESSAGE_SIZE, MH_CONFIG_MAX_MESSAGE_SIZE,
                       &a->max_message_size, error))
    return FALSE;
  g_clear_pointer (&v, g_free);

  a->subject_threading = MH_THREAD_SUBJECT_GUARDED;
  if (!mh_cfg_get (l, group, "subject_threading", &v, &where, error))
    return FALSE;
  if (v != NULL)
    {
      if (!mh_cfg_word (l, where, "subject_threading", v, mh_cfg_subject_words,
                        &word, error))
        return FALSE;
      a->subject_threading = (MhThreadSubjectMode) word;
    }
  g_clear_pointer (&v, g_free);

  a->subject_window_days = MH_THREAD_DEFAULT_WINDOW;
  if (!mh_cfg_get (l, group, "subject_window_days", &v, &where, error))
    return FALSE;
  if (v != NULL)
    {
      if (!mh_cfg_number (l, where, "subject_window_days", v, 1,
                          MH_THREAD_MAX_WINDOW, &n, error))
        return FALSE;
      a->subject_window_days = (guint) n;
    }
  return TRUE;
}

static MhAccount *
load_account (const MhCfgLoader *l, const char *group, const char *name,
              GError **error)
{
  g_autoptr(MhAccount) a = g_new0 (MhAccount, 1);

  if (!check_name (l, group, name, error)
      || !check_keys (l, group, FALSE, error))
    return NULL;
  a->name = g_strdup (name);
  if (!load_connection (l, group, a, error)
      || !load_auth (l, group, a, error)
      || !load_mailboxes (l, group, a, error)
      || !load_limits (l, group, a, error))
    return NULL;
  return g_steal_pointer (&a);
}

static gboolean
load_all (MhCfgLoader *l, MhConfig *cfg, GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (l->kf, NULL);
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *output = NULL;
  const char *where = NULL;

  l->has_defaults = g_key_file_has_group (l->kf, "defaults");
  if (l->has_defaults && !check_keys (l, "defaults", TRUE, error))
    return FALSE;
  for (guint i = 0; groups[i] != NULL; i++)
    {
      const char *g = groups[i];
      const char *name;
      MhAccount *a;

      if (strcmp (g, "defaults") == 0)
        continue;
      if (!g_str_has_prefix (g, "account") || !is_blank (g[7]))
        {
          mh_cfg_error (error, l, g, NULL, "unknown section; expected "
                        "[defaults] or [account NAME]");
          return FALSE;
        }
      name = g + 7;
      while (is_blank (*name))
        name++;
      if (g_hash_table_contains (names, name))
        {
          mh_cfg_error (error, l, g, NULL, "account %s is defined twice",
                        name);
          return FALSE;
        }
      if (cfg->accounts->len >= MH_CONFIG_MAX_ACCOUNTS)
        {
          mh_cfg_error (error, l, g, NULL, "more than %d accounts",
                        MH_CONFIG_MAX_ACCOUNTS);
          return FALSE;
        }
      a = load_account (l, g, name, error);
      if (a == NULL)
        return FALSE;
      g_ptr_array_add (cfg->accounts, a);
      g_hash_table_add (names, a->name);
    }

  if (l->has_defaults
      && !mh_cfg_get (l, "defaults", "output", &output, &where, error))
    return FALSE;
  cfg->output = mh_cfg_path (l, output != NULL ? output : "archive");
  return TRUE;
}

MhConfig *
mh_config_load_from_data (const char *data, gsize len, const char *path,
                          GError **error)
{
  g_autoptr(MhConfig) cfg = g_new0 (MhConfig, 1);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  g_autofree char *text = NULL;
  g_autofree char *dir = NULL;
  MhCfgLoader l = { 0 };

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  cfg->path = g_strdup (path);
  cfg->accounts = g_ptr_array_new_with_free_func (
      (GDestroyNotify) mh_account_free);
  dir = g_path_get_dirname (path);
  l.path = path;
  l.dir = g_canonicalize_filename (dir, NULL);
  l.kf = kf;
  text = prepare (&l, data != NULL ? data : "", len, error);
  if (text == NULL)
    {
      g_free (l.dir);
      return NULL;
    }
  if (!g_key_file_load_from_data (kf, text, (gsize) -1, G_KEY_FILE_NONE,
                                  &local))
    {
      mh_cfg_error (error, &l, NULL, NULL, "%s", local->message);
      g_free (l.dir);
      return NULL;
    }
  if (!load_all (&l, cfg, error))
    {
      g_free (l.dir);
      return NULL;
    }
  g_free (l.dir);
  return g_steal_pointer (&cfg);
}

MhConfig *
mh_config_load (const char *path, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *data = NULL;
  GStatBuf st;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);

  /* Checked before reading: a FIFO would block and /dev/zero never end. */
  if (g_stat (path, &st) != 0)
    {
      int e = errno;
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "%s: %s", path,
                   g_strerror (e));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                   "%s: not a regular file", path);
      return NULL;
    }
  if (st.st_size > MH_CONFIG_MAX_SIZE)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                   "%s: larger than %d bytes", path, MH_CONFIG_MAX_SIZE);
      return NULL;
    }
  if (!g_file_get_contents (path, &data, &len, &local))
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "%s", local->message);
      return NULL;
    }
  return mh_config_load_from_data (data, len, path, error);
}

const MhAccount *
mh_config_find_account (const MhConfig *config, const char *name)
{
  g_return_val_if_fail (config != NULL && name != NULL, NULL);

  for (guint i = 0; i < config->accounts->len; i++)
    {
      const MhAccount *a = config->accounts->pdata[i];
      if (strcmp (a->name, name) == 0)
        return a;
    }
  return NULL;
}

gboolean
mh_config_select (MhConfig *config, const char *const *names,
                  GError **error)
{
  g_autoptr(GPtrArray) keep = NULL;

  g_return_val_if_fail (config != NULL, FALSE);

  if (names == NULL || names[0] == NULL)
    return TRUE;
  for (guint i = 0; names[i] != NULL; i++)
    if (mh_config_find_account (config, names[i]) == NULL)
      {
        g_autoptr(GString) known = g_string_new (NULL);

        for (guint j = 0; j < config->accounts->len; j++)
          g_string_append_printf (known, "%s%s", j ? ", " : "",
                                  ((MhAccount *) config->accounts->pdata[j])
                                      ->name);
        g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                     "%s: no account \"%s\" (accounts: %s)", config->path,
                     names[i], known->len ? known->str : "none");
        return FALSE;
      }
  keep = g_ptr_array_new_with_free_func ((GDestroyNotify) mh_account_free);
  /* Steal the kept accounts from the old array in file order; the rest
   * are freed with it. */
  for (guint i = 0; i < config->accounts->len; i++)
    {
      MhAccount *a = config->accounts->pdata[i];
      if (g_strv_contains (names, a->name))
        {
          g_ptr_array_add (keep, a);
          config->accounts->pdata[i] = NULL;
        }
    }
  g_ptr_array_unref (config->accounts);
  config->accounts = g_steal_pointer (&keep);
  return TRUE;
}
