/* layout.c - thread and message directory names. */
#include <string.h>

#include "mailharvest/layout.h"

/* Reply and forward prefixes in the languages mailers commonly use. */
static const char *const prefixes[] = {
  "re", "fwd", "fw", "aw", "wg", "sv", "vs", "tr", "antw", "r", "rif",
};

/* Returns the length of one reply prefix at @s ("Re:", "RE [2] :",
 * "Fwd:"), or 0. */
static gsize
prefix_len (const char *s)
{
  for (gsize i = 0; i < G_N_ELEMENTS (prefixes); i++)
    {
      gsize n = strlen (prefixes[i]);
      const char *p = s + n;

      if (g_ascii_strncasecmp (s, prefixes[i], n) != 0)
        continue;
      while (*p == ' ')
        p++;
      if (*p == '[' || *p == '(')
        {
          char close = *p == '[' ? ']' : ')';

          p++;
          while (g_ascii_isdigit (*p))
            p++;
          if (*p != close)
            continue;
          p++;
          while (*p == ' ')
            p++;
        }
      if (*p == ':')
        return (gsize) (p + 1 - s);
    }
  return 0;
}

static const char *
strip_prefixes (const char *s)
{
  /* Bounded: each round consumes at least one byte. */
  for (;;)
    {
      gsize n;

      while (*s == ' ' || *s == '\t')
        s++;
      n = prefix_len (s);
      if (n == 0)
        return s;
      s += n;
    }
}

char *
mh_layout_slug (const char *subject)
{
  g_autofree char *valid = NULL;
  g_autofree char *ascii = NULL;
  GString *out;
  gboolean dash = FALSE;

  if (subject == NULL)
    return g_strdup ("no-subject");
  valid = g_utf8_make_valid (subject, -1);
  ascii = g_str_to_ascii (strip_prefixes (valid), "C");

  out = g_string_sized_new (MH_LAYOUT_SLUG_MAX + 1);
  for (const char *p = ascii; *p != '\0' && out->len < MH_LAYOUT_SLUG_MAX;
       p++)
    {
      if (g_ascii_isalnum (*p))
        {
          if (dash && out->len > 0)
            {
              g_string_append_c (out, '-');
              if (out->len >= MH_LAYOUT_SLUG_MAX)
                break;
            }
          dash = FALSE;
          g_string_append_c (out, g_ascii_tolower (*p));
        }
      else
        dash = TRUE;
    }
  while (out->len > 0 && out->str[out->len - 1] == '-')
    g_string_truncate (out, out->len - 1);
  if (out->len == 0)
    g_string_assign (out, "no-subject");
  return g_string_free (out, FALSE);
}

static GDateTime *
utc_time (gint64 date)
{
  /* 253402300799 is 9999-12-31T23:59:59Z, the last second a four-digit
   * year holds; dates before the epoch are almost always broken headers,
   * and %Y would not pad years below 1000 to four digits. */
  if (date < 0 || date > G_GINT64_CONSTANT (253402300799))
    date = 0;
  return g_date_time_new_from_unix_utc (date);
}

static char *
hash_prefix (const char *hex)
{
  char buf[MH_LAYOUT_HASH_CHARS + 1];
  gsize i;

  for (i = 0; i < MH_LAYOUT_HASH_CHARS && hex != NULL && hex[i] != '\0'; i++)
    buf[i] = g_ascii_isxdigit (hex[i]) ? g_ascii_tolower (hex[i]) : '0';
  for (; i < MH_LAYOUT_HASH_CHARS; i++)
    buf[i] = '0';
  buf[MH_LAYOUT_HASH_CHARS] = '\0';
  return g_strdup (buf);
}

char *
mh_layout_message_dir (gint64 date, const char *sha256_hex)
{
  g_autoptr(GDateTime) dt = utc_time (date);
  g_autofree char *stamp = g_date_time_format (dt, "%Y%m%dT%H%M%SZ");
  g_autofree char *hash = hash_prefix (sha256_hex);

  return g_strdup_printf ("%s_%s", stamp, hash);
}

char *
mh_layout_thread_dir (gint64 date, const char *subject, const char *root_id)
{
  g_autoptr(GDateTime) dt = utc_time (date);
  g_autofree char *day = g_date_time_format (dt, "%Y-%m-%d");
  g_autofree char *slug = mh_layout_slug (subject);
  g_autofree char *sum = g_compute_checksum_for_string (
      G_CHECKSUM_SHA256, root_id != NULL ? root_id : "", -1);
  g_autofree char *hash = hash_prefix (sum);

  return g_strdup_printf ("%s_%s_%s", day, slug, hash);
}
