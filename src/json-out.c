/* json-out.c - JSON text the way the archive lays it out (json-out.h). */
#include <string.h>

#include "mailharvest/json-out.h"

#define HAS_ITEMS 0x80

void
mh_json_out_init (MhJsonOut *j)
{
  j->s = g_string_sized_new (1024);
  j->open = g_byte_array_new ();
  j->keyed = FALSE;
}

void
mh_json_out_clear (MhJsonOut *j)
{
  if (j->s != NULL)
    g_string_free (j->s, TRUE);
  if (j->open != NULL)
    g_byte_array_unref (j->open);
  j->s = NULL;
  j->open = NULL;
}

char *
mh_json_out_finish (MhJsonOut *j, gsize *len_out)
{
  char *out;

  g_string_append_c (j->s, '\n');
  if (len_out != NULL)
    *len_out = j->s->len;
  out = g_string_free (j->s, FALSE);
  j->s = NULL;
  mh_json_out_clear (j);
  return out;
}

static void
indent (MhJsonOut *j, guint levels)
{
  static const char spaces[] = "                                ";

  for (guint n = levels * 2; n > 0;)
    {
      guint k = MIN (n, (guint) sizeof spaces - 1);

      g_string_append_len (j->s, spaces, k);
      n -= k;
    }
}

/* Starts a new line for a member or element of the innermost container. */
static void
next_item (MhJsonOut *j)
{
  guint8 *top;

  if (j->open->len == 0)
    return;
  top = &j->open->data[j->open->len - 1];
  g_string_append (j->s, (*top & HAS_ITEMS) != 0 ? ",\n" : "\n");
  *top |= HAS_ITEMS;
  indent (j, j->open->len);
}

/* Before a value: after its key, or on a line of its own in an array. */
static void
value_start (MhJsonOut *j)
{
  if (j->keyed)
    j->keyed = FALSE;
  else
    next_item (j);
}

static void
escaped (GString *s, const char *str)
{
  static const char hex[] = "0123456789abcdef";
  const char *run = str;
  const char *p;

  g_string_append_c (s, '"');
  for (p = str; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;
      char esc = 0;

      if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
        continue;
      g_string_append_len (s, run, p - run);
      run = p + 1;
      switch (c)
        {
        case '"': esc = '"'; break;
        case '\\': esc = '\\'; break;
        case '\b': esc = 'b'; break;
        case '\f': esc = 'f'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\t': esc = 't'; break;
        default: break;
        }
      if (esc != 0)
        {
          g_string_append_c (s, '\\');
          g_string_append_c (s, esc);
        }
      else
        {
          g_string_append (s, "\\u00");
          g_string_append_c (s, hex[c >> 4]);
          g_string_append_c (s, hex[c & 0xf]);
        }
    }
  g_string_append_len (s, run, p - run);
  g_string_append_c (s, '"');
}

static void
valid_escaped (GString *s, const char *str)
{
  if (g_utf8_validate (str, -1, NULL))
    escaped (s, str);
  else
    {
      g_autofree char *valid = g_utf8_make_valid (str, -1);

      escaped (s, valid);
    }
}

void
mh_json_out_key (MhJsonOut *j, const char *key)
{
  next_item (j);
  valid_escaped (j->s, key);
  g_string_append (j->s, " : ");
  j->keyed = TRUE;
}

static void
begin (MhJsonOut *j, char kind)
{
  guint8 b = (guint8) kind;

  value_start (j);
  g_string_append_c (j->s, kind);
  g_byte_array_append (j->open, &b, 1);
}

static void
end (MhJsonOut *j, char kind, char close)
{
  guint8 top;

  g_return_if_fail (j->open->len > 0);
  top = j->open->data[j->open->len - 1];
  g_return_if_fail ((top & ~HAS_ITEMS) == (guint8) kind);
  g_byte_array_set_size (j->open, j->open->len - 1);
  if ((top & HAS_ITEMS) != 0)
    {
      g_string_append_c (j->s, '\n');
      indent (j, j->open->len);
    }
  else if (kind == '{')
    indent (j, j->open->len);
  g_string_append_c (j->s, close);
}

void
mh_json_out_begin_object (MhJsonOut *j)
{
  begin (j, '{');
}

void
mh_json_out_end_object (MhJsonOut *j)
{
  end (j, '{', '}');
}

void
mh_json_out_begin_array (MhJsonOut *j)
{
  begin (j, '[');
}

void
mh_json_out_end_array (MhJsonOut *j)
{
  end (j, '[', ']');
}

void
mh_json_out_string (MhJsonOut *j, const char *value)
{
  value_start (j);
  if (value == NULL)
    g_string_append (j->s, "null");
  else
    valid_escaped (j->s, value);
}

void
mh_json_out_int (MhJsonOut *j, gint64 value)
{
  value_start (j);
  g_string_append_printf (j->s, "%" G_GINT64_FORMAT, value);
}

void
mh_json_out_bool (MhJsonOut *j, gboolean value)
{
  value_start (j);
  g_string_append (j->s, value ? "true" : "false");
}

void
mh_json_out_null (MhJsonOut *j)
{
  value_start (j);
  g_string_append (j->s, "null");
}

void
mh_json_out_member (MhJsonOut *j, const char *key, const char *value)
{
  mh_json_out_key (j, key);
  mh_json_out_string (j, value);
}

void
mh_json_out_member_int (MhJsonOut *j, const char *key, gint64 value)
{
  mh_json_out_key (j, key);
  mh_json_out_int (j, value);
}

/* Deeper than any file of ours nests: a value below is written as null
 * rather than followed. */
#define MAX_NODE_DEPTH 1024

void
mh_json_out_node (MhJsonOut *j, JsonNode *node)
{
  if (j->open->len >= MAX_NODE_DEPTH)
    {
      mh_json_out_null (j);
      return;
    }
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *o = json_node_get_object (node);
        g_autoptr(GList) members = json_object_get_members (o);

        mh_json_out_begin_object (j);
        for (GList *l = members; l != NULL; l = l->next)
          {
            mh_json_out_key (j, l->data);
            mh_json_out_node (j, json_object_get_member (o, l->data));
          }
        mh_json_out_end_object (j);
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *a = json_node_get_array (node);
        guint n = json_array_get_length (a);

        mh_json_out_begin_array (j);
        for (guint i = 0; i < n; i++)
          mh_json_out_node (j, json_array_get_element (a, i));
        mh_json_out_end_array (j);
        break;
      }
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          mh_json_out_int (j, json_node_get_int (node));
          break;
        case G_TYPE_BOOLEAN:
          mh_json_out_bool (j, json_node_get_boolean (node));
          break;
        case G_TYPE_DOUBLE:
          {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];

            value_start (j);
            g_string_append (j->s, g_ascii_dtostr (buf, sizeof buf,
                                                   json_node_get_double (
                                                       node)));
            break;
          }
        case G_TYPE_STRING:
          mh_json_out_string (j, json_node_get_string (node));
          break;
        default:
          mh_json_out_null (j);
          break;
        }
      break;
    case JSON_NODE_NULL:
    default:
      mh_json_out_null (j);
      break;
    }
}
