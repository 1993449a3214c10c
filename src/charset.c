/* charset.c - declared charset labels and byte detection to UTF-8. */
#include "mailharvest/charset.h"

#include <string.h>

typedef enum {
  KIND_UTF8,
  KIND_SINGLE, /* one byte per character: any byte string converts */
  KIND_MULTI,  /* multi-byte or stateful: invalid input is detectable */
} Kind;

typedef struct {
  const char *label;
  const char *decoder;
  Kind kind;
} Alias;

/* Labels seen in mail mapped to the decoder mail clients really use.  The
 * substitutions are supersets: Outlook and webmail send cp1252 bytes under
 * iso-8859-1 and us-ascii, cp932 under shift_jis, GBK under gb2312. */
static const Alias aliases[] = {
  { "utf-8", "utf-8", KIND_UTF8 },
  { "utf8", "utf-8", KIND_UTF8 },
  { "unicode-1-1-utf-8", "utf-8", KIND_UTF8 },
  { "us-ascii", "windows-1252", KIND_SINGLE },
  { "ascii", "windows-1252", KIND_SINGLE },
  { "ansi_x3.4-1968", "windows-1252", KIND_SINGLE },
  { "iso-8859-1", "windows-1252", KIND_SINGLE },
  { "iso8859-1", "windows-1252", KIND_SINGLE },
  { "iso_8859-1", "windows-1252", KIND_SINGLE },
  { "latin1", "windows-1252", KIND_SINGLE },
  { "latin-1", "windows-1252", KIND_SINGLE },
  { "l1", "windows-1252", KIND_SINGLE },
  { "cp1252", "windows-1252", KIND_SINGLE },
  { "windows-1252", "windows-1252", KIND_SINGLE },
  { "x-user-defined", "windows-1252", KIND_SINGLE },
  { "iso-8859-9", "windows-1254", KIND_SINGLE },
  { "latin5", "windows-1254", KIND_SINGLE },
  { "iso-8859-11", "cp874", KIND_SINGLE },
  { "tis-620", "cp874", KIND_SINGLE },
  { "windows-874", "cp874", KIND_SINGLE },
  { "gb2312", "gb18030", KIND_MULTI },
  { "gbk", "gb18030", KIND_MULTI },
  { "x-gbk", "gb18030", KIND_MULTI },
  { "cp936", "gb18030", KIND_MULTI },
  { "euc-cn", "gb18030", KIND_MULTI },
  { "gb18030", "gb18030", KIND_MULTI },
  { "shift_jis", "cp932", KIND_MULTI },
  { "shift-jis", "cp932", KIND_MULTI },
  { "sjis", "cp932", KIND_MULTI },
  { "x-sjis", "cp932", KIND_MULTI },
  { "ms_kanji", "cp932", KIND_MULTI },
  { "windows-31j", "cp932", KIND_MULTI },
  { "cp932", "cp932", KIND_MULTI },
  { "euc-jp", "euc-jp", KIND_MULTI },
  { "iso-2022-jp", "iso-2022-jp-2", KIND_MULTI },
  { "iso-2022-jp-2", "iso-2022-jp-2", KIND_MULTI },
  { "euc-kr", "cp949", KIND_MULTI },
  { "ks_c_5601-1987", "cp949", KIND_MULTI },
  { "cp949", "cp949", KIND_MULTI },
  { "iso-2022-kr", "iso-2022-kr", KIND_MULTI },
  { "big5", "cp950", KIND_MULTI },
  { "cp950", "cp950", KIND_MULTI },
  { "big5-hkscs", "big5-hkscs", KIND_MULTI },
  { "utf-16", "utf-16", KIND_MULTI },
  { "utf-16le", "utf-16le", KIND_MULTI },
  { "utf-16be", "utf-16be", KIND_MULTI },
  { "utf-32", "utf-32", KIND_MULTI },
  { "utf-7", "utf-7", KIND_MULTI },
  { "unicode-1-1-utf-7", "utf-7", KIND_MULTI },
};

/* Labels longer than this are not charsets but junk. */
#define MAX_LABEL 64

static char *
normalize_label (const char *label)
{
  gsize len;

  if (label == NULL)
    return NULL;
  while (*label == ' ' || *label == '\t' || *label == '"' || *label == '\'')
    label++;
  len = strlen (label);
  while (len > 0 && strchr (" \t\"';", label[len - 1]) != NULL)
    len--;
  if (len == 0 || len > MAX_LABEL)
    return NULL;
  return g_ascii_strdown (label, (gssize) len);
}


/* glibc loads a converter module on iconv_open and unloads it on the last
 * iconv_close, so converting one short body at a time loaded and unloaded
 * the same shared object thousands of times in a run.  One descriptor per
 * charset is kept open for the life of the process (a few dozen at most)
 * only to keep its module loaded. */
static void
keep_loaded (const char *charset)
{
  static GHashTable *open_cds;
  G_LOCK_DEFINE_STATIC (open_cds);

  G_LOCK (open_cds);
  if (open_cds == NULL)
    open_cds = g_hash_table_new (g_str_hash, g_str_equal);
  if (!g_hash_table_contains (open_cds, charset)
      && g_hash_table_size (open_cds) < 256)
    {
      GIConv cd = g_iconv_open ("UTF-8", charset);

      if (cd != (GIConv) -1)
        g_hash_table_insert (open_cds, (gpointer) g_intern_string (charset),
                             cd);
    }
  G_UNLOCK (open_cds);
}

static gboolean
lookup (const char *label, const char **decoder_out, Kind *kind_out)
{
  g_autofree char *norm = normalize_label (label);
  GIConv cd;

  if (norm == NULL)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
    {
      if (strcmp (norm, aliases[i].label) == 0)
        {
          *decoder_out = aliases[i].decoder;
          *kind_out = aliases[i].kind;
          return TRUE;
        }
    }
  /* Any other label iconv knows (koi8-r, iso-8859-2, windows-1251, ...) is
   * treated as single-byte: valid UTF-8 is tried before it. */
  for (const char *p = norm; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("-_.:", *p) == NULL)
      return FALSE;
  cd = g_iconv_open ("UTF-8", norm);
  if (cd == (GIConv) -1)
    return FALSE;
  g_iconv_close (cd);
  keep_loaded (norm);
  *decoder_out = g_intern_string (norm);
  *kind_out = KIND_SINGLE;
  return TRUE;
}

const char *
mh_charset_decoder_for (const char *label)
{
  const char *decoder = NULL;
  Kind kind;

  if (!lookup (label, &decoder, &kind))
    return NULL;
  return decoder;
}

/* Appends @c as UTF-8; NUL and invalid code points become U+FFFD. */
static void
append_unichar (GString *out, gunichar c)
{
  if (c == 0 || !g_unichar_validate (c))
    c = 0xFFFD;
  g_string_append_unichar (out, c);
}

char *
mh_charset_clean_utf8 (const char *data, gsize len)
{
  GString *out = g_string_sized_new (len + 1);
  const char *p = data;
  const char *end = data + len;

  while (p < end)
    {
      const char *stop = NULL;
      gunichar c;

      /* Valid runs go in whole: a body is mostly one. */
      if (g_utf8_validate_len (p, end - p, &stop))
        stop = end;
      g_string_append_len (out, p, stop - p);
      p = stop;
      if (p >= end)
        break;
      /* The one character validation stopped at: NUL or broken is one
       * replacement character for one byte. */
      c = g_utf8_get_char_validated (p, end - p);
      if (c == (gunichar) -1 || c == (gunichar) -2 || c == 0)
        {
          g_string_append (out, "\xEF\xBF\xBD");
          p++;
        }
      else
        {
          const char *next = g_utf8_next_char (p);

          g_string_append_len (out, p, next - p);
          p = next;
        }
    }
  return g_string_free (out, FALSE);
}

/* Windows-1252 0x80..0x9F; the five undefined bytes map to C1 controls. */
static const guint16 cp1252_high[32] = {
  0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
  0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
  0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
  0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

char *
mh_charset_from_cp1252 (const char *data, gsize len)
{
  GString *out = g_string_sized_new (len + len / 4 + 1);

  for (gsize i = 0; i < len; i++)
    {
      guint8 b = (guint8) data[i];

      if (b >= 0x80 && b <= 0x9F)
        append_unichar (out, cp1252_high[b - 0x80]);
      else if (b >= 0x80 || b == 0)
        append_unichar (out, b);
      else
        g_string_append_c (out, (char) b);
    }
  return g_string_free (out, FALSE);
}

/* g_utf8_validate() stops at NUL; NUL is valid UTF-8 and replaced later. */
static gboolean
utf8_valid (const char *data, gsize len)
{
  const char *end = data + len;

  while (data < end)
    {
      const char *nul = memchr (data, 0, (gsize) (end - data));
      gsize seg = nul != NULL ? (gsize) (nul - data) : (gsize) (end - data);

      if (!g_utf8_validate_len (data, seg, NULL))
        return FALSE;
      data += seg + (nul != NULL ? 1 : 0);
    }
  return TRUE;
}

static gboolean
has_8bit (const char *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if ((guint8) data[i] >= 0x80)
      return TRUE;
  return FALSE;
}

static gboolean
mostly_utf8 (const char *data, gsize len)
{
  const char *p = data;
  const char *end = data + len;
  gsize good = 0;
  gsize bad = 0;

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          bad++;
          p++;
        }
      else
        {
          if (c >= 0x80)
            good++;
          p = g_utf8_next_char (p);
        }
    }
  return good > 0 && good >= 2 * bad;
}

/* Strict conversion: NULL unless every byte is valid in @decoder. */
static char *
convert_strict (const char *data, gsize len, const char *decoder)
{
  gsize written = 0;
  g_autofree char *conv = NULL;

  if (strcmp (decoder, "windows-1252") == 0)
    return mh_charset_from_cp1252 (data, len);
  keep_loaded (decoder);
  conv = g_convert (data, (gssize) len, "UTF-8", decoder, NULL, &written,
                    NULL);
  if (conv == NULL)
    return NULL;
  return mh_charset_clean_utf8 (conv, written);
}

static void
set_used (char **used_out, const char *name)
{
  if (used_out != NULL)
    *used_out = g_strdup (name);
}

char *
mh_charset_to_utf8 (const char *data, gsize len, const char *declared,
                    char **used_out, gboolean *lossy_out)
{
  const char *decoder = NULL;
  Kind kind = KIND_SINGLE;
  gboolean known;
  char *out;

  if (used_out != NULL)
    *used_out = NULL;
  if (lossy_out != NULL)
    *lossy_out = FALSE;
  if (data == NULL)
    {
      data = "";
      len = 0;
    }
  if (len > MH_CHARSET_MAX_INPUT)
    len = MH_CHARSET_MAX_INPUT;

  known = lookup (declared, &decoder, &kind);

  if (known && kind == KIND_MULTI)
    {
      out = convert_strict (data, len, decoder);
      if (out != NULL)
        {
          set_used (used_out, decoder);
          return out;
        }
    }

  if (utf8_valid (data, len))
    {
      /* Pure ASCII is reported under the declared name: it decodes the
       * same either way and the label is what the sender chose. */
      gboolean ascii = !has_8bit (data, len);

      set_used (used_out, known && ascii ? decoder : "utf-8");
      if (lossy_out != NULL)
        *lossy_out = (declared != NULL && !known)
                     || (known && kind != KIND_UTF8 && !ascii);
      return mh_charset_clean_utf8 (data, len);
    }

  if (known && kind == KIND_SINGLE)
    {
      out = convert_strict (data, len, decoder);
      if (out != NULL)
        {
          set_used (used_out, decoder);
          return out;
        }
    }

  if (lossy_out != NULL)
    *lossy_out = TRUE;

  /* Text that is mostly UTF-8 with a few broken bytes (a cut in the middle
   * of a character, one pasted Latin-1 word) reads better with U+FFFD in
   * those places than as windows-1252 mojibake throughout. */
  if ((!known || kind == KIND_UTF8) && mostly_utf8 (data, len))
    {
      set_used (used_out, "utf-8");
      return mh_charset_clean_utf8 (data, len);
    }

  set_used (used_out, "windows-1252");
  return mh_charset_from_cp1252 (data, len);
}

void
mh_charset_preload (void)
{
  /* The charsets mail is written in, in headers (GMime's RFC 2047
   * decoder) as well as in bodies. */
  static const char *const common[] = {
    "ISO-8859-1", "ISO-8859-2", "ISO-8859-15", "WINDOWS-1250",
    "WINDOWS-1251", "WINDOWS-1252", "SHIFT_JIS", "CP932", "EUC-JP",
    "ISO-2022-JP", "GBK", "GB2312", "GB18030", "BIG5", "EUC-KR", "CP949",
    "KOI8-R", "KOI8-U",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (common); i++)
    keep_loaded (common[i]);
}
