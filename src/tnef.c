/* tnef.c - attachments out of winmail.dat.
 *
 * Layout (MS-OXTNEF): a 32-bit signature, a 16-bit key, then attributes:
 * level (8 bits), id (32 bits: type << 16 | id), length (32 bits), data,
 * checksum (16 bits, the byte sum of data).  attAttachRendData starts an
 * attachment; attAttachTitle, attAttachData and attAttachment (a MAPI
 * property list) describe it.  All integers are little-endian.
 */
#include "mailharvest/tnef.h"
#include "mailharvest/charset.h"
#include "mailharvest/error.h"

#include <string.h>

#define TNEF_SIGNATURE 0x223E9F78u

#define ATT_OEM_CODEPAGE 0x9007u
#define ATT_ATTACH_REND_DATA 0x9002u
#define ATT_ATTACH_TITLE 0x8010u
#define ATT_ATTACH_DATA 0x800Fu
#define ATT_ATTACHMENT 0x9005u

#define PR_ATTACH_DATA_OBJ 0x3701u
#define PR_ATTACH_FILENAME 0x3704u
#define PR_ATTACH_LONG_FILENAME 0x3707u
#define PR_ATTACH_MIME_TAG 0x370Eu

#define PT_MV_FLAG 0x1000u
/* Property values per property and properties per list worth reading. */
#define MAX_VALUES 4096u
#define MAX_PROPS 65536u

typedef struct {
  const guint8 *p;
  gsize left;
} Reader;

static gboolean
rd_u16 (Reader *r, guint32 *v)
{
  if (r->left < 2)
    return FALSE;
  *v = (guint32) r->p[0] | ((guint32) r->p[1] << 8);
  r->p += 2;
  r->left -= 2;
  return TRUE;
}

static gboolean
rd_u32 (Reader *r, guint32 *v)
{
  if (r->left < 4)
    return FALSE;
  *v = (guint32) r->p[0] | ((guint32) r->p[1] << 8)
       | ((guint32) r->p[2] << 16) | ((guint32) r->p[3] << 24);
  r->p += 4;
  r->left -= 4;
  return TRUE;
}

static gboolean
rd_skip (Reader *r, gsize n)
{
  if (r->left < n)
    return FALSE;
  r->p += n;
  r->left -= n;
  return TRUE;
}

void
mh_tnef_member_free (MhTnefMember *member)
{
  if (member == NULL)
    return;
  g_free (member->name);
  g_free (member->content_type);
  g_clear_pointer (&member->data, g_bytes_unref);
  g_free (member);
}

static void
warn (GPtrArray *warnings, const char *text)
{
  if (warnings != NULL)
    g_ptr_array_add (warnings, g_strdup (text));
}

/* An 8-bit string in the message's code page, up to its first NUL. */
static char *
ansi_string (const guint8 *data, gsize len, guint32 codepage)
{
  const guint8 *nul = memchr (data, 0, len);
  g_autofree char *label = NULL;

  if (nul != NULL)
    len = (gsize) (nul - data);
  if (len == 0)
    return NULL;
  if (codepage != 0)
    label = g_strdup_printf ("cp%u", codepage);
  return mh_charset_to_utf8 ((const char *) data, len, label, NULL, NULL);
}

static char *
unicode_string (const guint8 *data, gsize len)
{
  g_autofree char *utf8 = NULL;
  gsize units = len / 2;
  gsize n = 0;

  while (n < units && (data[2 * n] != 0 || data[2 * n + 1] != 0))
    n++;
  if (n == 0)
    return NULL;
  utf8 = g_convert ((const char *) data, (gssize) (n * 2), "UTF-8",
                    "UTF-16LE", NULL, NULL, NULL);
  if (utf8 == NULL)
    return NULL;
  return mh_charset_clean_utf8 (utf8, strlen (utf8));
}

static gsize
fixed_size (guint32 type)
{
  switch (type)
    {
    case 0x0002: /* PT_SHORT, padded */
    case 0x0003: /* PT_LONG */
    case 0x0004: /* PT_FLOAT */
    case 0x000A: /* PT_ERROR */
    case 0x000B: /* PT_BOOLEAN, padded */
      return 4;
    case 0x0005: /* PT_DOUBLE */
    case 0x0006: /* PT_CURRENCY */
    case 0x0007: /* PT_APPTIME */
    case 0x0014: /* PT_I8 */
    case 0x0040: /* PT_SYSTIME */
      return 8;
    case 0x0048: /* PT_CLSID */
      return 16;
    default:
      return 0;
    }
}

static gboolean
is_variable (guint32 type)
{
  return type == 0x001E || type == 0x001F || type == 0x0102
         || type == 0x000D;
}

/* Reads the MAPI property list of attAttachment into @m.  Returns FALSE
 * when the list is damaged (what was read is kept). */
static gboolean
read_props (const guint8 *data, gsize len, guint32 codepage,
            MhTnefMember *m, GBytes **obj_data)
{
  Reader r = { data, len };
  guint32 count;

  if (!rd_u32 (&r, &count) || count > MAX_PROPS)
    return FALSE;
  for (guint32 i = 0; i < count; i++)
    {
      guint32 type, id, nvalues = 1;
      gboolean multi;

      if (!rd_u16 (&r, &type) || !rd_u16 (&r, &id))
        return FALSE;
      if (id >= 0x8000)
        {
          guint32 kind, v;

          if (!rd_skip (&r, 16) || !rd_u32 (&r, &kind))
            return FALSE;
          if (kind == 0)
            {
              if (!rd_u32 (&r, &v))
                return FALSE;
            }
          else
            {
              if (!rd_u32 (&r, &v) || !rd_skip (&r, (v + 3u) & ~3u))
                return FALSE;
            }
        }
      multi = (type & PT_MV_FLAG) != 0;
      type &= ~PT_MV_FLAG;
      if (multi || is_variable (type))
        if (!rd_u32 (&r, &nvalues) || nvalues > MAX_VALUES)
          return FALSE;
      for (guint32 k = 0; k < nvalues; k++)
        {
          if (is_variable (type))
            {
              guint32 vlen;
              const guint8 *v;

              if (!rd_u32 (&r, &vlen) || vlen > r.left)
                return FALSE;
              v = r.p;
              if (!rd_skip (&r, MIN ((gsize) ((vlen + 3u) & ~3u), r.left)))
                return FALSE;
              if (k != 0)
                continue;
              if (id == PR_ATTACH_LONG_FILENAME
                  || (id == PR_ATTACH_FILENAME && m->name == NULL))
                {
                  char *s = type == 0x001F ? unicode_string (v, vlen)
                                           : ansi_string (v, vlen, codepage);
                  if (s != NULL)
                    {
                      g_free (m->name);
                      m->name = s;
                    }
                }
              else if (id == PR_ATTACH_MIME_TAG && m->content_type == NULL)
                {
                  g_autofree char *s = type == 0x001F
                                           ? unicode_string (v, vlen)
                                           : ansi_string (v, vlen, 0);
                  if (s != NULL)
                    m->content_type = g_ascii_strdown (s, -1);
                }
              else if (id == PR_ATTACH_DATA_OBJ && type == 0x0102
                       && *obj_data == NULL)
                *obj_data = g_bytes_new (v, vlen);
            }
          else
            {
              gsize size = fixed_size (type);

              if (size == 0 || !rd_skip (&r, size))
                return FALSE;
            }
        }
    }
  return TRUE;
}

GPtrArray *
mh_tnef_parse (const guint8 *data, gsize len, GPtrArray *warnings,
               GError **error)
{
  g_autoptr(GPtrArray) members =
    g_ptr_array_new_with_free_func ((GDestroyNotify) mh_tnef_member_free);
  Reader r = { data, len };
  guint32 sig, key;
  guint32 codepage = 0;
  MhTnefMember *cur = NULL;
  GBytes *obj_data = NULL;
  gboolean checksum_warned = FALSE;

  if (!rd_u32 (&r, &sig) || sig != TNEF_SIGNATURE || !rd_u16 (&r, &key))
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                   "not a TNEF stream (bad signature)");
      return NULL;
    }

  while (r.left > 0)
    {
      guint32 level, attr, alen, sum, want = 0;
      const guint8 *adata;

      if (r.left < 1)
        break;
      level = r.p[0];
      rd_skip (&r, 1);
      if (!rd_u32 (&r, &attr) || !rd_u32 (&r, &alen) || alen > r.left)
        {
          warn (warnings, "TNEF: truncated attribute");
          break;
        }
      adata = r.p;
      rd_skip (&r, alen);
      if (!rd_u16 (&r, &sum))
        {
          warn (warnings, "TNEF: truncated attribute checksum");
          sum = G_MAXUINT32;
        }
      for (guint32 i = 0; i < alen; i++)
        want += adata[i];
      if (sum != G_MAXUINT32 && (want & 0xFFFFu) != sum && !checksum_warned)
        {
          warn (warnings, "TNEF: attribute checksum mismatch");
          checksum_warned = TRUE;
        }

      attr &= 0xFFFFu;
      if (level == 1 && attr == ATT_OEM_CODEPAGE && alen >= 4)
        codepage = (guint32) adata[0] | ((guint32) adata[1] << 8);
      if (level != 2)
        continue;

      if (attr == ATT_ATTACH_REND_DATA || cur == NULL)
        {
          if (cur != NULL && cur->data == NULL && obj_data != NULL)
            cur->data = g_steal_pointer (&obj_data);
          g_clear_pointer (&obj_data, g_bytes_unref);
          if (members->len >= MH_TNEF_MAX_MEMBERS)
            {
              warn (warnings, "TNEF: too many attachments, rest skipped");
              cur = NULL;
              break;
            }
          cur = g_new0 (MhTnefMember, 1);
          g_ptr_array_add (members, cur);
        }
      if (attr == ATT_ATTACH_TITLE && cur->name == NULL)
        cur->name = ansi_string (adata, alen, codepage);
      else if (attr == ATT_ATTACH_DATA && cur->data == NULL)
        cur->data = g_bytes_new (adata, alen);
      else if (attr == ATT_ATTACHMENT
               && !read_props (adata, alen, codepage, cur, &obj_data))
        warn (warnings, "TNEF: damaged attachment property list");
    }

  if (cur != NULL && cur->data == NULL && obj_data != NULL)
    cur->data = g_steal_pointer (&obj_data);
  g_clear_pointer (&obj_data, g_bytes_unref);

  /* A rendering record without data or name is Outlook's placeholder for
   * an OLE object we cannot extract; an entry for it would be empty. */
  for (guint i = members->len; i > 0; i--)
    {
      MhTnefMember *m = g_ptr_array_index (members, i - 1);

      if (m->data == NULL && m->name == NULL)
        g_ptr_array_remove_index (members, i - 1);
      else if (m->data == NULL)
        m->data = g_bytes_new (NULL, 0);
    }
  return g_steal_pointer (&members);
}
