/* safename.c - safe single-component file names from hostile input. */
#include <string.h>

#include "mailharvest/safename.h"

/* Characters that are dropped: invisible controls and the bidi formatting
 * characters that make "invoice\u202Egpj.exe" display as "invoiceexe.jpg". */
static gboolean
is_dropped (gunichar c)
{
  if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f))
    return TRUE;
  if (c == 0x200e || c == 0x200f || c == 0x061c)
    return TRUE;
  if (c >= 0x202a && c <= 0x202e)
    return TRUE;
  if (c >= 0x2066 && c <= 0x2069)
    return TRUE;
  return FALSE;
}

static gboolean
is_replaced (gunichar c)
{
  return c > 0 && c < 0x80 && strchr ("<>:\"|?*", (int) c) != NULL;
}

static gboolean
is_trimmed (char c)
{
  return c == '.' || c == ' ';
}

/* Removes leading and trailing dots and spaces in place. */
static void
trim (GString *s)
{
  gsize start = 0;

  while (s->len > 0 && is_trimmed (s->str[s->len - 1]))
    g_string_truncate (s, s->len - 1);
  while (start < s->len && is_trimmed (s->str[start]))
    start++;
  g_string_erase (s, 0, start);
}

/* Windows opens a device instead of a file for these stems, whatever the
 * extension ("nul.txt") and ignoring trailing spaces before it. */
static gboolean
is_reserved (const char *name)
{
  static const char *const devices[] = { "CON", "PRN", "AUX", "NUL" };
  gsize len = strcspn (name, ".");

  while (len > 0 && name[len - 1] == ' ')
    len--;
  for (gsize i = 0; i < G_N_ELEMENTS (devices); i++)
    if (len == 3 && g_ascii_strncasecmp (name, devices[i], 3) == 0)
      return TRUE;
  if (len == 4
      && (g_ascii_strncasecmp (name, "COM", 3) == 0
          || g_ascii_strncasecmp (name, "LPT", 3) == 0)
      && name[3] >= '1' && name[3] <= '9')
    return TRUE;
  return FALSE;
}

/* The byte offset of the extension's dot in @s, or @len when there is no
 * extension worth keeping (none, a leading dot, or too long). */
static gsize
extension_start (const char *s, gsize len)
{
  const char *dot = g_utf8_strrchr (s, len, '.');

  if (dot == NULL || dot == s)
    return len;
  if ((gsize) (s + len - dot) > MH_SAFENAME_MAX_EXT)
    return len;
  return (gsize) (dot - s);
}

/* The longest prefix of @s that is at most @max bytes and ends on a
 * character boundary (@s is valid UTF-8). */
static gsize
utf8_cut (const char *s, gsize len, gsize max)
{
  const char *end;

  if (len <= max)
    return len;
  end = s + max;
  /* Back off continuation bytes so no sequence is split. */
  while (end > s && ((guchar) *end & 0xc0) == 0x80)
    end--;
  return (gsize) (end - s);
}

/* Cuts @s to @max bytes keeping its extension, then trims again. */
static void
fit (GString *s, gsize max)
{
  gsize ext, keep;
  g_autofree char *tail = NULL;

  if (s->len <= max)
    return;
  ext = extension_start (s->str, s->len);
  tail = g_strdup (s->str + ext);
  keep = utf8_cut (s->str, ext, max - strlen (tail));
  g_string_truncate (s, keep);
  while (s->len > 0 && is_trimmed (s->str[s->len - 1]))
    g_string_truncate (s, s->len - 1);
  if (s->len == 0 && tail[0] != '\0')
    g_string_append_c (s, '_');
  g_string_append (s, tail);
}

static char *
sanitize (const char *name)
{
  g_autofree char *valid = NULL;
  g_autofree char *nfc = NULL;
  const char *base, *p;
  GString *out;

  if (name == NULL)
    return NULL;
  valid = g_utf8_make_valid (name, -1);
  nfc = g_utf8_normalize (valid, -1, G_NORMALIZE_NFC);
  if (nfc == NULL)
    return NULL;

  base = nfc;
  for (p = nfc; *p != '\0'; p++)
    if (*p == '/' || *p == '\\')
      base = p + 1;

  out = g_string_sized_new (strlen (base) + 2);
  for (p = base; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_dropped (c))
        continue;
      if (is_replaced (c))
        g_string_append_c (out, '_');
      else
        g_string_append_unichar (out, c);
    }
  /* A dropped control between a letter and its combining mark leaves
   * the two side by side: "e\x01\u0301" is "e\u0301" now, which NFC
   * writes as one character.  Composing only shortens what was NFC. */
  if (out->len > 0)
    {
      g_autofree char *composed = g_utf8_normalize (out->str, (gssize) out->len,
                                                    G_NORMALIZE_NFC);

      if (composed != NULL)
        g_string_assign (out, composed);
    }
  trim (out);
  if (is_reserved (out->str))
    g_string_prepend_c (out, '_');
  fit (out, MH_SAFENAME_MAX);
  if (out->len == 0)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

char *
mh_safename (const char *name, const char *fallback)
{
  char *s = sanitize (name);

  if (s == NULL)
    s = sanitize (fallback);
  if (s == NULL)
    s = g_strdup ("attachment");
  return s;
}

struct _MhNameSet {
  GHashTable *taken;  /* folded name -> NULL */
  GHashTable *next;   /* folded safe name -> next suffix to try */
};

static char *
fold (const char *name)
{
  g_autofree char *folded = g_utf8_casefold (name, -1);

  return g_utf8_normalize (folded, -1, G_NORMALIZE_NFC);
}

MhNameSet *
mh_name_set_new (void)
{
  MhNameSet *set = g_new0 (MhNameSet, 1);

  set->taken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  set->next = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return set;
}

void
mh_name_set_free (MhNameSet *set)
{
  if (set == NULL)
    return;
  g_hash_table_destroy (set->taken);
  g_hash_table_destroy (set->next);
  g_free (set);
}

gboolean
mh_name_set_contains (MhNameSet *set, const char *name)
{
  g_autofree char *key = fold (name);

  return key != NULL && g_hash_table_contains (set->taken, key);
}

/* "stem (N).ext", with the stem cut so that the whole fits. */
static char *
numbered (const char *name, guint n)
{
  gsize len = strlen (name);
  gsize ext = extension_start (name, len);
  g_autofree char *suffix = g_strdup_printf (" (%u)", n);
  gsize room = MH_SAFENAME_MAX - strlen (suffix) - (len - ext);
  gsize keep = utf8_cut (name, ext, room);

  return g_strdup_printf ("%.*s%s%s", (int) keep, name, suffix, name + ext);
}

char *
mh_name_set_claim (MhNameSet *set, const char *safe_name)
{
  g_autofree char *base_key = fold (safe_name);
  guint n;

  if (base_key == NULL)
    base_key = g_strdup (safe_name);
  if (!g_hash_table_contains (set->taken, base_key))
    {
      g_hash_table_add (set->taken, g_strdup (base_key));
      return g_strdup (safe_name);
    }

  /* Remember where the last search for this name ended so that many
   * attachments with one name cost linear, not quadratic, time. */
  n = GPOINTER_TO_UINT (g_hash_table_lookup (set->next, base_key));
  if (n < 2)
    n = 2;
  for (;; n++)
    {
      g_autofree char *candidate = numbered (safe_name, n);
      g_autofree char *key = fold (candidate);

      if (key == NULL)
        key = g_strdup (candidate);
      if (!g_hash_table_contains (set->taken, key))
        {
          g_hash_table_add (set->taken, g_steal_pointer (&key));
          g_hash_table_insert (set->next, g_strdup (base_key),
                               GUINT_TO_POINTER (n + 1));
          return g_steal_pointer (&candidate);
        }
    }
}
