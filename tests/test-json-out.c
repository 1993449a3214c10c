/* test-json-out.c - the archive's JSON writer against json-glib's pretty
 * printer, whose layout the archive's files have always had. */
#include <string.h>

#include <json-glib/json-glib.h>

#include "mailharvest/json-out.h"
#include "mailharvest/manifest.h"

#include "testlib.h"

/* json-glib 1.6 leaves U+001F unescaped; the writer does not. */
#define UNIT_SEP 0x1f

static char *
random_string (GRand *r, gboolean valid)
{
  GString *s = g_string_new (NULL);
  guint n = g_rand_int_range (r, 0, 24);

  for (guint i = 0; i < n; i++)
    {
      guint kind = g_rand_int_range (r, 0, 8);
      guchar c;

      if (kind == 0)
        {
          /* Any byte but NUL and the unit separator. */
          do
            c = (guchar) g_rand_int_range (r, 1, 256);
          while (c == UNIT_SEP);
          g_string_append_c (s, (char) c);
        }
      else if (kind == 1)
        g_string_append_unichar (s, g_rand_int_range (r, 0x80, 0x2fff));
      else if (kind == 2)
        g_string_append_c (s, "\"\\/\b\f\n\r\t\x7f"[g_rand_int_range (r, 0,
                                                                      9)]);
      else
        g_string_append_c (s, (char) g_rand_int_range (r, 'a', 'z' + 1));
    }
  if (valid && !g_utf8_validate (s->str, -1, NULL))
    {
      char *v = g_utf8_make_valid (s->str, -1);

      g_string_free (s, TRUE);
      return v;
    }
  return g_string_free (s, FALSE);
}

/* The same random value, built twice: with the writer, and as a
 * JsonBuilder tree for json-glib's generator. */
static void
build (GRand *r, MhJsonOut *j, JsonBuilder *b, guint depth)
{
  /* JsonBuilder takes no scalar at the root. */
  guint kind = depth == 0 ? g_rand_int_range (r, 4, 7)
                          : g_rand_int_range (r, 0, depth < 5 ? 7 : 4);

  switch (kind)
    {
    case 0:
      {
        g_autofree char *raw = random_string (r, FALSE);
        g_autofree char *valid = g_utf8_make_valid (raw, -1);

        mh_json_out_string (j, raw);
        json_builder_add_string_value (b, valid);
        break;
      }
    case 1:
      {
        gint64 v = (gint64) g_rand_int (r) - G_MAXINT32;

        if (g_rand_boolean (r))
          v *= G_MAXINT32;
        mh_json_out_int (j, v);
        json_builder_add_int_value (b, v);
        break;
      }
    case 2:
      mh_json_out_null (j);
      json_builder_add_null_value (b);
      break;
    case 3:
      {
        gboolean v = g_rand_boolean (r);

        mh_json_out_bool (j, v);
        json_builder_add_boolean_value (b, v);
        break;
      }
    case 4:
    case 5:
      {
        guint n = g_rand_int_range (r, 0, 5);

        mh_json_out_begin_object (j);
        json_builder_begin_object (b);
        for (guint i = 0; i < n; i++)
          {
            /* Distinct keys: json-glib's objects keep one per name. */
            g_autofree char *s = random_string (r, TRUE);
            g_autofree char *key = g_strdup_printf ("%u%s", i, s);

            mh_json_out_key (j, key);
            json_builder_set_member_name (b, key);
            build (r, j, b, depth + 1);
          }
        mh_json_out_end_object (j);
        json_builder_end_object (b);
        break;
      }
    default:
      {
        guint n = g_rand_int_range (r, 0, 5);

        mh_json_out_begin_array (j);
        json_builder_begin_array (b);
        for (guint i = 0; i < n; i++)
          build (r, j, b, depth + 1);
        mh_json_out_end_array (j);
        json_builder_end_array (b);
        break;
      }
    }
}

static char *
generate (JsonNode *root)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *data = NULL;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, root);
  data = json_generator_to_data (gen, NULL);
  return g_strconcat (data, "\n", NULL);
}

static void
test_like_json_glib (void)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (20261123);

  for (guint round = 0; round < 3000; round++)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *ours = NULL;
      g_autofree char *theirs = NULL;
      g_autofree char *again = NULL;
      MhJsonOut j;
      gsize len = 0;

      mh_json_out_init (&j);
      build (r, &j, b, 0);
      ours = mh_json_out_finish (&j, &len);
      root = json_builder_get_root (b);
      theirs = generate (root);
      g_assert_cmpuint (len, ==, strlen (ours));
      g_assert_cmpstr (ours, ==, theirs);
      /* A parsed tree comes out the same way. */
      mh_json_out_init (&j);
      mh_json_out_node (&j, root);
      again = mh_json_out_finish (&j, NULL);
      g_assert_cmpstr (again, ==, theirs);
    }
}

static void
test_layout (void)
{
  MhJsonOut j;
  g_autofree char *out = NULL;

  mh_json_out_init (&j);
  mh_json_out_begin_object (&j);
  mh_json_out_member (&j, "s", "x");
  mh_json_out_member (&j, "n", NULL);
  mh_json_out_member_int (&j, "i", -3);
  mh_json_out_key (&j, "ea");
  mh_json_out_begin_array (&j);
  mh_json_out_end_array (&j);
  mh_json_out_key (&j, "eo");
  mh_json_out_begin_object (&j);
  mh_json_out_end_object (&j);
  mh_json_out_key (&j, "a");
  mh_json_out_begin_array (&j);
  mh_json_out_bool (&j, TRUE);
  mh_json_out_begin_object (&j);
  mh_json_out_end_object (&j);
  mh_json_out_end_array (&j);
  mh_json_out_end_object (&j);
  out = mh_json_out_finish (&j, NULL);
  g_assert_cmpstr (out, ==,
                   "{\n"
                   "  \"s\" : \"x\",\n"
                   "  \"n\" : null,\n"
                   "  \"i\" : -3,\n"
                   "  \"ea\" : [],\n"
                   "  \"eo\" : {  },\n"
                   "  \"a\" : [\n"
                   "    true,\n"
                   "    {    }\n"
                   "  ]\n"
                   "}\n");
}

/* Every control character is escaped, U+001F too, and what comes out
 * reads back as what went in. */
static void
test_controls (void)
{
  char in[40];
  MhJsonOut j;
  g_autofree char *out = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *a;

  for (guint c = 1; c < 0x20; c++)
    in[c - 1] = (char) c;
  in[0x1f] = 0x7f;
  in[0x20] = '"';
  in[0x21] = '\\';
  in[0x22] = '\0';
  mh_json_out_init (&j);
  mh_json_out_begin_array (&j);
  mh_json_out_string (&j, in);
  mh_json_out_end_array (&j);
  out = mh_json_out_finish (&j, NULL);
  for (const char *p = out; *p != '\0'; p++)
    if (*p != '\n')
      g_assert_cmpint ((guchar) *p, >=, 0x20);
  g_assert_nonnull (strstr (out, "\\u001e\\u001f\\u007f\\\"\\\\\""));
  g_assert_nonnull (strstr (out, "\\b\\t\\n\\u000b\\f\\r"));
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  a = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpstr (json_array_get_string_element (a, 0), ==, in);
}

static void
test_invalid_utf8 (void)
{
  MhJsonOut j;
  g_autofree char *out = NULL;

  mh_json_out_init (&j);
  mh_json_out_begin_object (&j);
  mh_json_out_member (&j, "k\xff", "a\xc3(b\xe2\x82");
  mh_json_out_end_object (&j);
  out = mh_json_out_finish (&j, NULL);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  g_assert_cmpstr (out, ==,
                   "{\n  \"k\xef\xbf\xbd\" : "
                   "\"a\xef\xbf\xbd(b\xef\xbf\xbd\xef\xbf\xbd\"\n}\n");
}

/* A parsed tree deeper than any file of ours is cut, not followed. */
static void
test_node_depth (void)
{
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_ARRAY);
  JsonNode *cur = root;
  g_autofree char *out = NULL;
  MhJsonOut j;
  guint opened = 0;

  json_node_take_array (root, json_array_new ());
  for (guint i = 0; i < 1100; i++)
    {
      JsonNode *child = json_node_new (JSON_NODE_ARRAY);

      json_node_take_array (child, json_array_new ());
      json_array_add_element (json_node_get_array (cur), child);
      cur = child;
    }
  mh_json_out_init (&j);
  mh_json_out_node (&j, root);
  out = mh_json_out_finish (&j, NULL);
  for (const char *p = out; *p != '\0'; p++)
    opened += *p == '[';
  g_assert_cmpuint (opened, ==, 1024);
  g_assert_nonnull (strstr (out, "null"));
}

/* The manifests' dates are what GDateTime made of them: years 1 to 9999,
 * the year unpadded, NULL outside. */
static void
test_dates (void)
{
  static const gint64 edges[] = {
    G_GINT64_CONSTANT (-62135596801), G_GINT64_CONSTANT (-62135596800),
    G_GINT64_CONSTANT (-62000000000), -1, 0, 1, 951782400, 4107542399,
    G_GINT64_CONSTANT (253402300799), G_GINT64_CONSTANT (253402300800),
    G_MININT64, G_MAXINT64,
  };
  g_autoptr(GRand) r = g_rand_new_with_seed (1970);

  for (guint i = 0; i < G_N_ELEMENTS (edges) + 20000; i++)
    {
      gint64 t = i < G_N_ELEMENTS (edges)
                     ? edges[i]
                     : (gint64) g_rand_double_range (r, -6.3e10, 2.6e11);
      g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (t);
      g_autofree char *want = dt != NULL
                                  ? g_date_time_format (dt,
                                                        "%Y-%m-%dT%H:%M:%SZ")
                                  : NULL;
      g_autofree char *got = mh_manifest_format_date (t);

      g_assert_cmpstr (got, ==, want);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json-out/like-json-glib", test_like_json_glib);
  g_test_add_func ("/json-out/layout", test_layout);
  g_test_add_func ("/json-out/controls", test_controls);
  g_test_add_func ("/json-out/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/json-out/node-depth", test_node_depth);
  g_test_add_func ("/json-out/dates", test_dates);
  return g_test_run ();
}
