/* utf7.c - modified UTF-7 (RFC 3501 section 5.1.3). */
#include "mailharvest/utf7.h"

#include "mailharvest/error.h"

static const char b64_chars[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
b64_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == ',')
    return 63;
  return -1;
}

static gboolean
is_direct (gunichar c)
{
  return c >= 0x20 && c <= 0x7e;
}

/* Decodes the base64 run starting at *pp (just after "&") up to its "-",
 * appending the characters to @out and leaving *pp after the "-". */
static gboolean
decode_run (const char **pp, GString *out, GError **error)
{
  const char *p = *pp;
  guint32 bits = 0;
  guint nbits = 0;
  gunichar high = 0;

  for (;; p++)
    {
      int v;

      if (*p == '\0')
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                       "unterminated & sequence in modified UTF-7");
          return FALSE;
        }
      if (*p == '-')
        break;
      v = b64_value (*p);
      if (v < 0)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                       "invalid base64 character in modified UTF-7");
          return FALSE;
        }
      bits = (bits << 6) | (guint32) v;
      nbits += 6;
      if (nbits >= 16)
        {
          gunichar unit = (bits >> (nbits - 16)) & 0xffff;

          nbits -= 16;
          bits &= (1u << nbits) - 1;
          if (high != 0)
            {
              if (unit < 0xdc00 || unit > 0xdfff)
                {
                  g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                               "unpaired surrogate in modified UTF-7");
                  return FALSE;
                }
              g_string_append_unichar (out, 0x10000 + ((high - 0xd800) << 10)
                                              + (unit - 0xdc00));
              high = 0;
            }
          else if (unit >= 0xd800 && unit <= 0xdbff)
            high = unit;
          else if (unit >= 0xdc00 && unit <= 0xdfff)
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                           "unpaired surrogate in modified UTF-7");
              return FALSE;
            }
          else if (unit == 0 || is_direct (unit))
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                           "character U+%04X must not be encoded in "
                           "modified UTF-7", unit);
              return FALSE;
            }
          else
            g_string_append_unichar (out, unit);
        }
    }
  /* RFC 3501 and RFC 2152: the padding bits are zero and fewer than one
   * base64 character; a run must also hold at least one character. */
  if (p == *pp || nbits >= 6 || bits != 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                   "malformed & sequence in modified UTF-7");
      return FALSE;
    }
  if (high != 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                   "unpaired surrogate in modified UTF-7");
      return FALSE;
    }
  *pp = p + 1;
  return TRUE;
}

char *
mh_utf7_decode (const char *mutf7, GError **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *p = mutf7;
  gboolean after_run = FALSE;

  while (*p != '\0')
    {
      guchar c = (guchar) *p;

      if (c == '&')
        {
          p++;
          if (*p == '-')
            {
              g_string_append_c (out, '&');
              p++;
              after_run = FALSE;
              continue;
            }
          /* Characters one after the other are one run: "&AOQ-&AOQ-"
           * is "&AOQA5A-" written twice as long (Dovecot refuses it). */
          if (after_run)
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                           "two & sequences in a row in modified UTF-7");
              return NULL;
            }
          if (!decode_run (&p, out, error))
            return NULL;
          after_run = TRUE;
          continue;
        }
      if (!is_direct (c))
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                       "byte 0x%02x is not allowed in modified UTF-7", c);
          return NULL;
        }
      g_string_append_c (out, (char) c);
      p++;
      after_run = FALSE;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
put_bits (GString *out, guint32 *bits, guint *nbits, guint32 unit)
{
  *bits = (*bits << 16) | unit;
  *nbits += 16;
  while (*nbits >= 6)
    {
      *nbits -= 6;
      g_string_append_c (out, b64_chars[(*bits >> *nbits) & 0x3f]);
    }
  *bits &= (1u << *nbits) - 1;
}

char *
mh_utf7_encode (const char *utf8)
{
  g_autoptr(GString) out = NULL;
  const char *p;

  if (utf8 == NULL || !g_utf8_validate (utf8, -1, NULL))
    return NULL;
  out = g_string_new (NULL);
  p = utf8;
  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char (p);
      guint32 bits = 0;
      guint nbits = 0;

      if (is_direct (c))
        {
          if (c == '&')
            g_string_append (out, "&-");
          else
            g_string_append_c (out, (char) c);
          p = g_utf8_next_char (p);
          continue;
        }
      g_string_append_c (out, '&');
      while (*p != '\0' && !is_direct (c = g_utf8_get_char (p)))
        {
          if (c >= 0x10000)
            {
              put_bits (out, &bits, &nbits, 0xd800 + ((c - 0x10000) >> 10));
              put_bits (out, &bits, &nbits, 0xdc00 + ((c - 0x10000) & 0x3ff));
            }
          else
            put_bits (out, &bits, &nbits, c);
          p = g_utf8_next_char (p);
        }
      if (nbits > 0)
        g_string_append_c (out, b64_chars[(bits << (6 - nbits)) & 0x3f]);
      g_string_append_c (out, '-');
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}
