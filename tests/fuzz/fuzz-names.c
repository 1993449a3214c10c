/* fuzz-names.c - libFuzzer target for every name made from what a sender
 * or a server wrote: attachment names (safename.c), thread and message
 * dir names (layout.c) and mailbox names (utf7.c).
 *
 * The input is cut at NUL bytes into strings: a file name, a fallback, a
 * subject, a root id, more names for one directory; a date comes from
 * the input too.  The results are checked against the contracts in
 * safename.h, layout.h and utf7.h by checks written here, apart from the
 * code they check:
 *   - a safe name is one path component that cannot leave its directory
 *     or turn into a device on Windows, in NFC, within MH_SAFENAME_MAX
 *     bytes, and making it safe again changes nothing;
 *   - names claimed in one directory differ after case folding;
 *   - a dir name has no dot, space, control or format character, and the
 *     shape its header gives;
 *   - a mailbox name that decodes re-encodes to the same bytes, and any
 *     UTF-8 name survives an encode and a decode.
 * A violation aborts, which libFuzzer reports as a crash. */
#include <stdlib.h>
#include <string.h>

#include "mailharvest/layout.h"
#include "mailharvest/safename.h"
#include "mailharvest/utf7.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#define CHECK(cond) \
  do { if (!(cond)) { g_printerr ("check failed: %s\n", #cond); abort (); } } \
  while (0)

#define MAX_STRINGS 12

static gboolean
is_nfc (const char *s)
{
  g_autofree char *n = g_utf8_normalize (s, -1, G_NORMALIZE_NFC);

  return n != NULL && strcmp (n, s) == 0;
}

static gboolean
is_control_or_bidi (gunichar c)
{
  return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f)
         || c == 0x200e || c == 0x200f || c == 0x061c
         || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* A Windows device name: the stem before the first dot, without the
 * spaces that end it. */
static gboolean
is_device (const char *s)
{
  static const char *const three[] = { "con", "prn", "aux", "nul" };
  gsize len = strcspn (s, ".");

  while (len > 0 && s[len - 1] == ' ')
    len--;
  for (guint i = 0; i < G_N_ELEMENTS (three); i++)
    if (len == 3 && g_ascii_strncasecmp (s, three[i], 3) == 0)
      return TRUE;
  return len == 4
         && (g_ascii_strncasecmp (s, "com", 3) == 0
             || g_ascii_strncasecmp (s, "lpt", 3) == 0)
         && s[3] >= '1' && s[3] <= '9';
}

static void
check_safe (const char *s)
{
  gsize len;

  CHECK (s != NULL);
  len = strlen (s);
  CHECK (len > 0 && len <= MH_SAFENAME_MAX);
  CHECK (g_utf8_validate (s, -1, NULL));
  CHECK (is_nfc (s));
  CHECK (strcmp (s, ".") != 0 && strcmp (s, "..") != 0);
  CHECK (s[0] != '.' && s[0] != ' ');
  CHECK (s[len - 1] != '.' && s[len - 1] != ' ');
  CHECK (!is_device (s));
  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      CHECK (c != '/' && c != '\\');
      CHECK (c >= 0x80 || strchr ("<>:\"|?*", (int) c) == NULL);
      CHECK (!is_control_or_bidi (c));
    }
}

/* A dir name of layout.h: no '.', space, control or format character. */
static void
check_dir_name (const char *s)
{
  CHECK (s != NULL && s[0] != '\0' && strlen (s) < 256);
  CHECK (g_utf8_validate (s, -1, NULL));
  CHECK (is_nfc (s));
  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      GUnicodeType t = g_unichar_type (c);

      CHECK (c != '/' && c != '\\' && c != '.' && c != ' ');
      CHECK (!is_control_or_bidi (c));
      CHECK (t != G_UNICODE_CONTROL && t != G_UNICODE_FORMAT
             && t != G_UNICODE_SPACE_SEPARATOR
             && t != G_UNICODE_LINE_SEPARATOR
             && t != G_UNICODE_PARAGRAPH_SEPARATOR);
    }
}

static void
check_slug (const char *slug)
{
  gsize len;

  check_dir_name (slug);
  len = strlen (slug);
  CHECK (len <= MH_LAYOUT_SLUG_MAX);
  CHECK (slug[0] != '-' && slug[len - 1] != '-');
  CHECK (strstr (slug, "--") == NULL);
  CHECK (strchr (slug, '_') == NULL);
}

static gboolean
all_hex (const char *s, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]))
      return FALSE;
  return s[n] == '\0';
}

static void
check_layout (gint64 date, const char *subject, const char *root_id)
{
  g_autofree char *slug = mh_layout_slug (subject);
  g_autofree char *tdir = mh_layout_thread_dir (date, subject, root_id);
  g_autofree char *mdir = NULL;
  g_autofree char *stage = NULL;
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                                       root_id, -1);
  gsize slen, tlen;

  check_slug (slug);
  check_dir_name (tdir);
  /* YYYY-MM-DD_SLUG_HASH10, with the slug mh_layout_slug() gives */
  slen = strlen (slug);
  tlen = strlen (tdir);
  CHECK (tlen == 11 + slen + 1 + MH_LAYOUT_HASH_CHARS);
  CHECK (tdir[4] == '-' && tdir[7] == '-' && tdir[10] == '_');
  CHECK (memcmp (tdir + 11, slug, slen) == 0);
  CHECK (tdir[11 + slen] == '_');
  CHECK (all_hex (tdir + tlen - MH_LAYOUT_HASH_CHARS, MH_LAYOUT_HASH_CHARS));
  CHECK (memcmp (tdir + tlen - MH_LAYOUT_HASH_CHARS, sum,
                 MH_LAYOUT_HASH_CHARS) == 0);

  mdir = mh_layout_message_dir (date, sum);
  check_dir_name (mdir);
  CHECK (strlen (mdir) == 17 + MH_LAYOUT_HASH_CHARS);
  CHECK (mdir[8] == 'T' && mdir[15] == 'Z' && mdir[16] == '_');
  CHECK (memcmp (mdir + 17, sum, MH_LAYOUT_HASH_CHARS) == 0);

  stage = mh_layout_stage_dir (subject, root_id, NULL, NULL, "key");
  check_dir_name (stage);
  CHECK (all_hex (stage, MH_LAYOUT_STAGE_CHARS));
}

static void
check_utf7 (const char *s)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dec = mh_utf7_decode (s, &error);

  if (dec != NULL)
    {
      g_autofree char *again = mh_utf7_encode (dec);

      CHECK (error == NULL);
      CHECK (g_utf8_validate (dec, -1, NULL));
      CHECK (again != NULL && strcmp (again, s) == 0);
    }
  else
    CHECK (error != NULL);

  /* Any UTF-8 name survives an encode and a decode. */
  {
    g_autofree char *valid = g_utf8_make_valid (s, -1);
    g_autofree char *enc = mh_utf7_encode (valid);
    g_autoptr(GError) e2 = NULL;
    g_autofree char *back = NULL;

    CHECK (enc != NULL);
    for (const char *p = enc; *p != '\0'; p++)
      CHECK (*p >= 0x20 && *p <= 0x7e);
    back = mh_utf7_decode (enc, &e2);
    CHECK (back != NULL && strcmp (back, valid) == 0);
  }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *copy = g_malloc (size + 1);
  const char *strs[MAX_STRINGS];
  guint n = 0;
  gint64 date = 0;

  memcpy (copy, data, size);
  copy[size] = '\0';
  for (gsize i = 0; i <= size && n < MAX_STRINGS;)
    {
      strs[n++] = copy + i;
      i += strlen (copy + i) + 1;
    }
  for (gsize i = 0; i < 8 && i < size; i++)
    date = (gint64) ((guint64) date << 8 | data[i]);
  /* Mostly plausible dates; now and then whatever the bytes say. */
  if (size > 8 && data[8] < 224)
    date = 1700000000 + (date % (400LL * 24 * 3600));

  {
    g_autofree char *s = mh_safename (strs[0], n > 1 ? strs[1] : NULL);
    g_autofree char *again = NULL;

    check_safe (s);
    again = mh_safename (s, NULL);
    CHECK (strcmp (again, s) == 0);
  }

  /* Names claimed in one directory: every input string, and each twice. */
  {
    g_autoptr(MhNameSet) set = mh_name_set_new ();
    g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func (g_free);

    for (guint k = 0; k < 2 * n; k++)
      {
        g_autofree char *safe = mh_safename (strs[k % n], NULL);
        char *claimed = mh_name_set_claim (set, safe);

        check_safe (claimed);
        CHECK (mh_name_set_contains (set, claimed));
        g_ptr_array_add (got, claimed);
      }
    for (guint i = 0; i < got->len; i++)
      for (guint j = i + 1; j < got->len; j++)
        {
          g_autofree char *fi = g_utf8_casefold (got->pdata[i], -1);
          g_autofree char *fj = g_utf8_casefold (got->pdata[j], -1);
          g_autofree char *ni = g_utf8_normalize (fi, -1, G_NORMALIZE_NFC);
          g_autofree char *nj = g_utf8_normalize (fj, -1, G_NORMALIZE_NFC);

          CHECK (strcmp (ni, nj) != 0);
        }
  }

  check_layout (date, n > 2 ? strs[2] : strs[0], n > 3 ? strs[3] : "");
  check_utf7 (strs[0]);
  return 0;
}
