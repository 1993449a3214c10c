/* json-out.h - the archive's JSON files, written straight into a string.
 *
 * The layout is json-glib's pretty printer's with an indent of two
 * (message.json and thread.json were written with it before, and an
 * archive keeps its bytes): `"key" : value`, one member or element per
 * line, "[]" for an empty array and "{" plus two spaces per level of
 * nesting plus "}" for an empty object.  One difference: json-glib 1.6
 * writes U+001F unescaped, which no JSON reader accepts; here it is
 * "\u001f" like the other control characters.
 *
 * Strings are made valid UTF-8 first (a header need not be).  Building a
 * manifest this way, instead of a JsonBuilder tree handed to a
 * JsonGenerator, costs a fraction: no node per value, no second walk.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
  GString *s;
  GByteArray *open;    /* per open container: '{' or '[', and whether it
                        * holds anything yet (bit 7) */
  gboolean keyed;      /* a key was written; its value comes next */
} MhJsonOut;

void mh_json_out_init (MhJsonOut *j);
/* The text with a final newline (transfer full); @j is empty afterwards. */
char *mh_json_out_finish (MhJsonOut *j, gsize *len_out);
void mh_json_out_clear (MhJsonOut *j);

/* Inside an object, every value follows its key. */
void mh_json_out_key (MhJsonOut *j, const char *key);
void mh_json_out_begin_object (MhJsonOut *j);
void mh_json_out_end_object (MhJsonOut *j);
void mh_json_out_begin_array (MhJsonOut *j);
void mh_json_out_end_array (MhJsonOut *j);
/* NULL writes null. */
void mh_json_out_string (MhJsonOut *j, const char *value);
void mh_json_out_int (MhJsonOut *j, gint64 value);
void mh_json_out_bool (MhJsonOut *j, gboolean value);
void mh_json_out_null (MhJsonOut *j);
/* A parsed value, whole (objects in their members' order). */
void mh_json_out_node (MhJsonOut *j, JsonNode *node);

/* A member of either kind, the common case. */
void mh_json_out_member (MhJsonOut *j, const char *key, const char *value);
void mh_json_out_member_int (MhJsonOut *j, const char *key, gint64 value);

G_END_DECLS
