/* layout.c - thread and message directory names. */
#include <string.h>

#include "mailharvest/layout.h"
#include "mailharvest/msgid.h"

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

/* Appends @c (UTF-8) to @out, after a '-' when one is pending, if both
 * fit in MH_LAYOUT_SLUG_MAX bytes.  Returns FALSE when the slug is full:
 * a character is added whole or not at all. */
static gboolean
append_char (GString *out, gunichar c, gboolean *dash)
{
  char buf[8];
  gint n = g_unichar_to_utf8 (c, buf);
  gsize need = (gsize) n + (*dash && out->len > 0 ? 1 : 0);

  if (out->len + need > MH_LAYOUT_SLUG_MAX)
    return FALSE;
  if (*dash && out->len > 0)
    g_string_append_c (out, '-');
  *dash = FALSE;
  g_string_append_len (out, buf, n);
  return TRUE;
}

/* Latin letters become lower-case ASCII ("Köln" -> "koln", "ß" -> "ss"),
 * as readers of Latin-script names expect; letters the C locale cannot
 * transliterate are dropped.  Returns FALSE when the slug is full. */
static gboolean
append_latin (GString *out, gunichar c, gboolean *dash)
{
  char buf[8];
  g_autofree char *ascii = NULL;

  buf[g_unichar_to_utf8 (c, buf)] = '\0';
  ascii = g_str_to_ascii (buf, "C");
  for (const char *p = ascii; *p != '\0'; p++)
    if (g_ascii_isalnum (*p)
        && !append_char (out, (gunichar) g_ascii_tolower (*p), dash))
      return FALSE;
  return TRUE;
}

char *
mh_layout_slug (const char *subject)
{
  g_autofree char *valid = NULL;
  g_autofree char *nfc = NULL;
  GString *out;
  gboolean dash = FALSE;
  /* The last character kept was a letter or digit of a non-Latin script:
   * combining marks after it belong to it (Devanagari vowel signs, Thai
   * tone marks) and are kept with it. */
  gboolean in_word = FALSE;

  if (subject == NULL)
    return g_strdup ("no-subject");
  valid = g_utf8_make_valid (subject, -1);
  nfc = g_utf8_normalize (strip_prefixes (valid), -1, G_NORMALIZE_NFC);
  if (nfc == NULL)
    return g_strdup ("no-subject");

  out = g_string_sized_new (MH_LAYOUT_SLUG_MAX + 1);
  for (const char *p = nfc; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      GUnicodeType type = g_unichar_type (c);
      gboolean ok = TRUE;

      if (c < 0x80 && g_ascii_isalnum ((char) c))
        {
          ok = append_char (out, (gunichar) g_ascii_tolower ((char) c),
                            &dash);
          in_word = FALSE;
        }
      else if (g_unichar_isalnum (c)
               && g_unichar_get_script (c) == G_UNICODE_SCRIPT_LATIN)
        {
          ok = append_latin (out, c, &dash);
          in_word = FALSE;
        }
      else if (g_unichar_isalnum (c))
        {
          ok = append_char (out, g_unichar_tolower (c), &dash);
          in_word = TRUE;
        }
      else if (in_word && (type == G_UNICODE_SPACING_MARK
                           || type == G_UNICODE_NON_SPACING_MARK))
        ok = append_char (out, c, &dash);
      else
        {
          dash = TRUE;
          in_word = FALSE;
        }
      if (!ok)
        break;
    }
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

char *
mh_layout_stage_dir (const char *gm_thrid, const char *references,
                     const char *in_reply_to, const char *message_id,
                     const char *key)
{
  g_autofree char *guess = NULL;
  g_autofree char *sum = NULL;

  if (gm_thrid != NULL && gm_thrid[0] != '\0')
    guess = g_strconcat ("thrid:", gm_thrid, NULL);
  if (guess == NULL && references != NULL)
    {
      g_autoptr(GPtrArray) ids = mh_msgid_parse_references (references);

      if (ids->len > 0)
        guess = mh_msgid_normalize (ids->pdata[0]);
    }
  if (guess == NULL && in_reply_to != NULL)
    {
      g_autofree char *id = mh_msgid_parse_in_reply_to (in_reply_to, NULL);

      if (id != NULL)
        guess = mh_msgid_normalize (id);
    }
  if (guess == NULL && message_id != NULL)
    guess = g_strdup (message_id);
  if (guess == NULL)
    guess = g_strconcat ("key:", key != NULL ? key : "", NULL);
  sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, guess, -1);
  sum[MH_LAYOUT_STAGE_CHARS] = '\0';
  return g_steal_pointer (&sum);
}
