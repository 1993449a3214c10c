/* config-values.c - reading and checking single values of the
 * configuration: key words, numbers, dates, hosts, paths, and the error
 * messages that name the file, the section and the key. */
#include <stdarg.h>
#include <string.h>

#include <gio/gio.h>

#include "config-private.h"

#define SHOWN_MAX 60 /* characters of a bad value quoted in a message */

const MhCfgWord mh_cfg_profile_words[] = {
  { "generic", MH_PROFILE_GENERIC }, { "gmail", MH_PROFILE_GMAIL },
  { "outlook", MH_PROFILE_OUTLOOK }, { NULL, 0 }
};
const MhCfgWord mh_cfg_security_words[] = {
  { "tls", MH_SECURITY_TLS }, { "starttls", MH_SECURITY_STARTTLS },
  { "none", MH_SECURITY_NONE }, { NULL, 0 }
};
const MhCfgWord mh_cfg_auth_words[] = {
  { "auto", MH_AUTH_AUTO }, { "plain", MH_AUTH_PLAIN },
  { "login", MH_AUTH_LOGIN }, { "xoauth2", MH_AUTH_XOAUTH2 },
  { "oauthbearer", MH_AUTH_OAUTHBEARER }, { NULL, 0 }
};
const MhCfgWord mh_cfg_compress_words[] = {
  { "auto", MH_COMPRESS_AUTO }, { "yes", MH_COMPRESS_YES },
  { "no", MH_COMPRESS_NO }, { NULL, 0 }
};
const MhCfgWord mh_cfg_subject_words[] = {
  { "guarded", MH_THREAD_SUBJECT_GUARDED }, { "off", MH_THREAD_SUBJECT_OFF },
  { "rfc5256", MH_THREAD_SUBJECT_RFC5256 }, { NULL, 0 }
};

static const char *
word_name (const MhCfgWord *words, int value)
{
  for (; words->name != NULL; words++)
    if (words->value == value)
      return words->name;
  return "unknown";
}

const char *
mh_profile_to_string (MhProfile profile)
{
  return word_name (mh_cfg_profile_words, profile);
}

const char *
mh_security_to_string (MhSecurity security)
{
  return word_name (mh_cfg_security_words, security);
}

const char *
mh_auth_mech_to_string (MhAuthMech auth)
{
  return word_name (mh_cfg_auth_words, auth);
}

const char *
mh_subject_threading_to_string (MhThreadSubjectMode mode)
{
  return word_name (mh_cfg_subject_words, mode);
}

/* A bad value, quoted for a message: escaped so that control characters
 * cannot reach the terminal, and cut so that a huge line stays short. */
char *
mh_cfg_shown (const char *value)
{
  g_autofree char *cut = NULL;
  glong n = g_utf8_strlen (value, -1);

  if (n > SHOWN_MAX)
    {
      g_autofree char *head = g_utf8_substring (value, 0, SHOWN_MAX);
      cut = g_strconcat (head, "...", NULL);
    }
  else
    cut = g_strdup (value);
  return g_strescape (cut, "\xc2\xa0...");
}

void
mh_cfg_error (GError **error, const MhCfgLoader *l, const char *group,
              const char *key, const char *fmt, ...)
{
  g_autofree char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (group != NULL && key != NULL)
    g_set_error (error, MH_ERROR, MH_ERROR_CONFIG, "%s: [%s] %s: %s",
                 l->path, group, key, msg);
  else if (group != NULL)
    g_set_error (error, MH_ERROR, MH_ERROR_CONFIG, "%s: [%s]: %s",
                 l->path, group, msg);
  else
    g_set_error (error, MH_ERROR, MH_ERROR_CONFIG, "%s: %s", l->path, msg);
}

/* ------------------------------------------------------------------ */
/* Values.                                                             */

/* The value of @key for the account in @group, or from [defaults]; NULL
 * when neither has it.  *@where_out names the section it came from. */
static char *
lookup (const MhCfgLoader *l, const char *group, const char *key,
        const char **where_out, GError **error)
{
  const char *where = group;
  g_autoptr(GError) local = NULL;
  char *value;

  if (!g_key_file_has_key (l->kf, group, key, NULL))
    {
      if (!l->has_defaults
          || !g_key_file_has_key (l->kf, "defaults", key, NULL))
        return NULL;
      where = "defaults";
    }
  *where_out = where;
  value = g_key_file_get_value (l->kf, where, key, &local);
  if (value == NULL)
    {
      mh_cfg_error (error, l, where, key, "%s", local->message);
      return NULL;
    }
  g_strstrip (value);
  if (*value == '\0')
    {
      g_free (value);
      mh_cfg_error (error, l, where, key, "empty value");
      return NULL;
    }
  return value;
}

/* Fetches an optional value: FALSE on error, TRUE with *@value_out NULL
 * when the key is absent. */
gboolean
mh_cfg_get (const MhCfgLoader *l, const char *group, const char *key,
            char **value_out, const char **where_out, GError **error)
{
  GError *local = NULL;

  *value_out = lookup (l, group, key, where_out, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

gboolean
mh_cfg_word (const MhCfgLoader *l, const char *where, const char *key,
             const char *value, const MhCfgWord *words, int *out,
             GError **error)
{
  g_autoptr(GString) names = g_string_new (NULL);
  g_autofree char *got = NULL;

  for (const MhCfgWord *w = words; w->name != NULL; w++)
    if (g_ascii_strcasecmp (w->name, value) == 0)
      {
        *out = w->value;
        return TRUE;
      }
  for (const MhCfgWord *w = words; w->name != NULL; w++)
    g_string_append_printf (names, "%s%s", names->len ? ", " : "", w->name);
  got = mh_cfg_shown (value);
  mh_cfg_error (error, l, where, key, "expected one of %s, got \"%s\"",
                names->str, got);
  return FALSE;
}

gboolean
mh_cfg_number (const MhCfgLoader *l, const char *where, const char *key,
               const char *value, guint64 min, guint64 max, guint64 *out,
               GError **error)
{
  g_autofree char *got = NULL;

  if (g_ascii_string_to_unsigned (value, 10, min, max, out, NULL))
    return TRUE;
  got = mh_cfg_shown (value);
  mh_cfg_error (error, l, where, key,
                "expected a number from %" G_GUINT64_FORMAT " to %"
                G_GUINT64_FORMAT ", got \"%s\"", min, max, got);
  return FALSE;
}

gboolean
mh_cfg_size (const MhCfgLoader *l, const char *where, const char *key,
             const char *value, guint64 min, guint64 max, guint64 *out,
             GError **error)
{
  static const char units[] = "KMG";
  g_autofree char *digits = g_strdup (value);
  g_autofree char *got = NULL;
  gsize len = strlen (digits);
  guint shift = 0;
  guint64 n;

  if (len > 1)
    {
      const char *u = strchr (units, g_ascii_toupper (digits[len - 1]));

      if (u != NULL)
        {
          shift = 10 * (guint) (u - units + 1);
          digits[len - 1] = '\0';
        }
    }
  if (g_ascii_string_to_unsigned (digits, 10, 0, G_MAXUINT64 >> shift, &n,
                                  NULL)
      && (n << shift) >= min && (n << shift) <= max)
    {
      *out = n << shift;
      return TRUE;
    }
  got = mh_cfg_shown (value);
  mh_cfg_error (error, l, where, key,
                "expected a size from %" G_GUINT64_FORMAT "K to %"
                G_GUINT64_FORMAT "G (a number of bytes, or of K, M or G), "
                "got \"%s\"", min >> 10, max >> 30, got);
  return FALSE;
}

gboolean
mh_cfg_bool (const MhCfgLoader *l, const char *where, const char *key,
             const char *value, gboolean *out, GError **error)
{
  static const char *const yes[] = { "true", "yes", "on", "1", NULL };
  static const char *const no[] = { "false", "no", "off", "0", NULL };
  g_autofree char *lower = g_ascii_strdown (value, -1);
  g_autofree char *got = NULL;

  if (g_strv_contains (yes, lower) || g_strv_contains (no, lower))
    {
      *out = g_strv_contains (yes, lower);
      return TRUE;
    }
  got = mh_cfg_shown (value);
  mh_cfg_error (error, l, where, key, "expected true or false, got \"%s\"",
                got);
  return FALSE;
}

gboolean
mh_cfg_date (const MhCfgLoader *l, const char *where, const char *key,
             const char *value, GError **error)
{
  g_autofree char *got = NULL;
  guint64 y, m, d;
  char part[5];

  if (strlen (value) == 10 && value[4] == '-' && value[7] == '-')
    {
      memcpy (part, value, 4);
      part[4] = '\0';
      if (g_ascii_string_to_unsigned (part, 10, 1900, 9999, &y, NULL))
        {
          memcpy (part, value + 5, 2);
          part[2] = '\0';
          if (g_ascii_string_to_unsigned (part, 10, 1, 12, &m, NULL))
            {
              memcpy (part, value + 8, 2);
              if (g_ascii_string_to_unsigned (part, 10, 1, 31, &d, NULL)
                  && g_date_valid_dmy ((GDateDay) d, (GDateMonth) m,
                                       (GDateYear) y))
                return TRUE;
            }
        }
    }
  got = mh_cfg_shown (value);
  mh_cfg_error (error, l, where, key,
                "expected a date YYYY-MM-DD (1900 or later), got \"%s\"", got);
  return FALSE;
}

/* Host names go on the wire and into messages: printable ASCII or UTF-8
 * without blanks or control characters. */
gboolean
mh_cfg_host (const MhCfgLoader *l, const char *where, const char *value,
             GError **error)
{
  if (strlen (value) > 255)
    {
      mh_cfg_error (error, l, where, "host", "longer than 255 bytes");
      return FALSE;
    }
  for (const char *p = value; *p != '\0'; p++)
    if ((guchar) *p <= ' ' || *p == 0x7f || *p == '/' || *p == '@')
      {
        g_autofree char *got = mh_cfg_shown (value);
        mh_cfg_error (error, l, where, "host",
                      "expected a host name or address, got \"%s\"", got);
        return FALSE;
      }
  return TRUE;
}

gboolean
mh_config_host_is_loopback (const char *host)
{
  g_autoptr(GInetAddress) addr = NULL;
  g_autofree char *bare = NULL;
  gsize n;

  if (host == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (host, "localhost") == 0
      || g_ascii_strcasecmp (host, "localhost.") == 0)
    return TRUE;
  n = strlen (host);
  if (n > 2 && host[0] == '[' && host[n - 1] == ']')
    bare = g_strndup (host + 1, n - 2);
  else
    bare = g_strdup (host);
  addr = g_inet_address_new_from_string (bare);
  return addr != NULL && g_inet_address_get_is_loopback (addr);
}

char *
mh_cfg_path (const MhCfgLoader *l, const char *value)
{
  if (g_str_has_prefix (value, "~/"))
    return g_build_filename (g_get_home_dir (), value + 2, NULL);
  return g_canonicalize_filename (value, l->dir);
}
