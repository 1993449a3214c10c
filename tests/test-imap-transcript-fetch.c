/* test-imap-transcript-fetch.c - UID FETCH against scripted servers (the
 * scripts in tests/data/imap, played by fake-transport.c): bodies streamed
 * to the sink in any split, pipelining, Gmail attributes, and a server
 * or sink that fails midway.  The other commands are in
 * test-imap-transcript.c. */
#include <string.h>

#include "fake-transport.h"
#include "mailharvest/error.h"
#include "mailharvest/imap-session.h"

#include "testlib.h"

typedef struct {
  guint32 uid;
  gint64 internaldate;
  guint64 size;
  guint64 gm_msgid;
  guint64 gm_thrid;
  char **flags;
  char **labels;
  gboolean has_body;
  guint64 too_big;
  GByteArray *body;
  GBytes *header;
} Msg;

typedef struct {
  GPtrArray *msgs;
  GPtrArray *refused;  /* "UID reason" */
  guint aborts;
  guint open_handles;
} Sink;

static void
msg_free (gpointer p)
{
  Msg *m = p;

  g_strfreev (m->flags);
  g_strfreev (m->labels);
  if (m->body != NULL)
    g_byte_array_unref (m->body);
  if (m->header != NULL)
    g_bytes_unref (m->header);
  g_free (m);
}

static void
sink_init (Sink *k)
{
  k->msgs = g_ptr_array_new_with_free_func (msg_free);
  k->refused = g_ptr_array_new_with_free_func (g_free);
  k->aborts = 0;
  k->open_handles = 0;
}

static void
sink_clear (Sink *k)
{
  g_ptr_array_unref (k->msgs);
  g_ptr_array_unref (k->refused);
}

static gpointer
sink_begin (guint64 total, gpointer user_data, GError **error)
{
  Sink *k = user_data;

  k->open_handles++;
  return g_byte_array_new ();
}

static gboolean
sink_write (gpointer handle, const guint8 *data, gsize len,
            gpointer user_data, GError **error)
{
  g_assert_cmpuint (len, >, 0);
  g_byte_array_append (handle, data, (guint) len);
  return TRUE;
}

static gboolean
sink_done (const MhImapMessageInfo *info, gpointer handle, gpointer user_data,
           GError **error)
{
  Sink *k = user_data;
  Msg *m = g_new0 (Msg, 1);

  m->uid = info->uid;
  m->internaldate = info->internaldate;
  m->size = info->size;
  m->gm_msgid = info->gm_msgid;
  m->gm_thrid = info->gm_thrid;
  m->flags = g_strdupv (info->flags);
  m->labels = g_strdupv (info->gm_labels);
  m->has_body = info->has_body;
  m->too_big = info->too_big;
  m->body = handle;
  if (info->header != NULL)
    m->header = g_bytes_new (info->header, info->header_len);
  if (handle != NULL)
    {
      k->open_handles--;
      g_assert_cmpuint (info->body_size, ==, m->body->len);
    }
  g_ptr_array_add (k->msgs, m);
  return TRUE;
}

static void
sink_abort (gpointer handle, gpointer user_data)
{
  Sink *k = user_data;

  k->aborts++;
  k->open_handles--;
  g_byte_array_unref (handle);
}

static const MhImapFetchSink test_sink = {
  sink_begin, sink_write, sink_done, sink_abort, NULL, NULL,
};

static Msg *
msg_at (Sink *k, guint i)
{
  g_assert_cmpuint (i, <, k->msgs->len);
  return g_ptr_array_index (k->msgs, i);
}

static void
assert_pattern (const GByteArray *body, gsize len)
{
  g_assert_cmpuint (body->len, ==, len);
  for (gsize i = 0; i < len; i++)
    if (body->data[i] != fake_transport_pattern (i))
      g_error ("body differs at byte %" G_GSIZE_FORMAT, i);
}

static gboolean
fetch (MhImapSession *s, const guint32 *uids, gsize n, gboolean body,
       Sink *k, guint *delivered, GError **error)
{
  MhImapFetchOptions opts = { 0 };

  opts.body = body;
  return mh_imap_session_uid_fetch (s, uids, n, &opts, &test_sink, k,
                                    delivered, error);
}

static void
test_fetch_bye (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("fetch-bye.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  const guint32 uids[] = { 3, 2, 1 };
  guint delivered = 99;
  Sink k;

  sink_init (&k);
  g_assert_true (mh_imap_session_open (s, &error));
  g_assert_false (fetch (s, uids, G_N_ELEMENTS (uids), TRUE, &k, &delivered,
                         &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_BYE);
  g_assert_nonnull (strstr (error->message, "Server shutting down"));
  g_assert_cmpuint (delivered, ==, 1);
  g_assert_cmpuint (k.msgs->len, ==, 1);
  g_assert_cmpuint (msg_at (&k, 0)->uid, ==, 1);
  g_assert_cmpint (msg_at (&k, 0)->internaldate, ==, 837596665);
  assert_pattern (msg_at (&k, 0)->body, 20);
  g_assert_cmpuint (k.open_handles, ==, 0);
  g_assert_cmpstr (mh_imap_session_get_bye_text (s), ==,
                   "Server shutting down");
  /* The session is over: later calls fail at once. */
  g_clear_error (&error);
  g_assert_false (mh_imap_session_capability (s, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_NET);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

static void
test_fetch_dropped (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("fetch-dropped.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  const guint32 uids[] = { 1, 2 };
  guint delivered = 99;
  Sink k;

  sink_init (&k);
  g_assert_false (fetch (s, uids, 2, TRUE, &k, &delivered, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_NET);
  g_assert_cmpuint (delivered, ==, 0);
  g_assert_cmpuint (k.aborts, ==, 1);
  g_assert_cmpuint (k.open_handles, ==, 0);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

static void
run_fetch_split (const char *prefix)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "imap",
                                                 "fetch-split.txt", NULL);
  g_autofree char *text = NULL;
  g_autofree char *script = NULL;
  g_autoptr(FakeServer) fs = NULL;
  g_autoptr(MhImapSession) s = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);
  const guint32 uids[] = { 9, 7, 9 };
  guint delivered = 0;
  Sink k;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  script = g_strconcat (prefix, text, NULL);
  fs = fake_server_new (script);
  s = fake_server_session (fs, 0);
  mh_imap_session_set_trace (s, mh_test_collect_trace, trace);
  sink_init (&k);
  g_assert_true (fetch (s, uids, G_N_ELEMENTS (uids), TRUE, &k, &delivered,
                        &error));
  g_assert_no_error (error);
  g_assert_cmpuint (delivered, ==, 2);
  g_assert_cmpuint (msg_at (&k, 0)->uid, ==, 7);
  g_assert_cmpuint (msg_at (&k, 0)->size, ==, 5000);
  g_assert_cmpstr (msg_at (&k, 0)->flags[0], ==, "\\Seen");
  assert_pattern (msg_at (&k, 0)->body, 5000);
  g_assert_cmpuint (msg_at (&k, 1)->uid, ==, 9);
  g_assert_true (msg_at (&k, 1)->has_body);
  g_assert_cmpuint (msg_at (&k, 1)->body->len, ==, 0);
  g_assert_cmpuint (k.open_handles, ==, 0);
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_FETCH_BODY), ==, 1);
  g_assert_cmpuint (mh_imap_session_get_bytes_received (s), >, 5000);
  /* The trace summarises the body instead of dumping it. */
  g_assert_true (mh_test_trace_contains (trace, "<literal of 5000 bytes>"));
  for (guint i = 0; i < trace->len; i++)
    g_assert_cmpuint (strlen (g_ptr_array_index (trace, i)), <, 200);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

static void
test_fetch_split (void)
{
  run_fetch_split ("");
}

static void
test_fetch_one_byte (void)
{
  run_fetch_split ("R: 1\n");
}

static void
test_fetch_expunge (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("fetch-expunge.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  const guint32 uids[] = { 4, 5 };
  guint delivered = 0;
  Sink k;

  sink_init (&k);
  g_assert_true (fetch (s, uids, 2, TRUE, &k, &delivered, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (delivered, ==, 1);
  g_assert_cmpuint (msg_at (&k, 0)->uid, ==, 4);
  assert_pattern (msg_at (&k, 0)->body, 10);
  g_assert_cmpuint (mh_imap_session_get_expunge_count (s), ==, 1);
  g_assert_cmpuint (mh_imap_session_get_fetch_update_count (s), ==, 1);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

/* Without options, 16 commands are in flight before the first answer is
 * read, and each answer lets the next one go: on a distant server the
 * next batch must be in the server's hands when one ends. */
static void
record_refused (guint32 uid, const char *reason, gpointer user_data)
{
  Sink *k = user_data;

  g_assert_nonnull (reason);
  g_ptr_array_add (k->refused, g_strdup_printf ("%u %s", uid, reason));
}

static const MhImapFetchSink refusing_sink = {
  sink_begin, sink_write, sink_done, sink_abort, record_refused, NULL,
};

/* A NO fails only what its command did not bring, when the sink takes
 * refusals; not a NO that asks to slow down. */
static void
test_fetch_refused (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("fetch-refused.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  MhImapFetchOptions opts = { 0 };
  const guint32 uids[] = { 1, 2, 3, 4, 5 };
  const guint32 six[] = { 6 };
  guint delivered = 0;
  Sink k;

  sink_init (&k);
  opts.body = TRUE;
  opts.batch_size = 2;
  g_assert_true (mh_imap_session_uid_fetch (s, uids, G_N_ELEMENTS (uids),
                                            &opts, &refusing_sink, &k,
                                            &delivered, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (delivered, ==, 3);
  g_assert_cmpuint (msg_at (&k, 0)->uid, ==, 1);
  g_assert_cmpuint (msg_at (&k, 1)->uid, ==, 3);
  g_assert_cmpuint (msg_at (&k, 2)->uid, ==, 4);
  g_assert_cmpuint (k.refused->len, ==, 2);
  g_assert_cmpstr (k.refused->pdata[0], ==, "2 UID FETCH: Some messages "
                                            "could not be FETCHed (Failure)");
  g_assert_true (g_str_has_prefix (k.refused->pdata[1], "5 UID FETCH: "));
  g_assert_nonnull (strstr (k.refused->pdata[1], "Internal error occurred"));
  g_assert_cmpuint (k.open_handles, ==, 0);

  g_assert_false (mh_imap_session_uid_fetch (s, six, 1, &opts,
                                             &refusing_sink, &k, &delivered,
                                             &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_THROTTLED);
  g_assert_cmpuint (k.refused->len, ==, 2);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

/* max_body holds for a body sent as a quoted string as well (found by
 * fuzz-session: a server could hand over any size that way). */
static void
test_fetch_too_big_quoted (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file (
      "fetch-too-big-quoted.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  MhImapFetchOptions opts = { 0 };
  const guint32 uids[] = { 1, 2, 3 };
  guint delivered = 0;
  Sink k;

  sink_init (&k);
  opts.body = TRUE;
  opts.max_body = 8;
  g_assert_true (mh_imap_session_uid_fetch (s, uids, G_N_ELEMENTS (uids),
                                            &opts, &test_sink, &k,
                                            &delivered, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (k.msgs->len, ==, 3);
  g_assert_true (msg_at (&k, 0)->has_body);
  g_assert_cmpuint (msg_at (&k, 0)->too_big, ==, 0);
  g_assert_true (msg_at (&k, 1)->has_body);
  g_assert_cmpuint (msg_at (&k, 1)->too_big, ==, 0);
  g_assert_false (msg_at (&k, 2)->has_body);
  g_assert_null (msg_at (&k, 2)->body);
  g_assert_cmpuint (msg_at (&k, 2)->too_big, ==, 9);
  g_assert_cmpuint (k.open_handles, ==, 0);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

static void
record_incomplete (guint32 uid, gpointer user_data)
{
  Sink *k = user_data;

  g_ptr_array_add (k->refused, g_strdup_printf ("incomplete %u", uid));
}

static const MhImapFetchSink watching_sink = {
  sink_begin, sink_write, sink_done, sink_abort, NULL, record_incomplete,
};

static void
test_fetch_incomplete (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file (
      "fetch-incomplete.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  MhImapFetchOptions opts = { 0 };
  const guint32 uids[] = { 1, 2, 3 };
  guint delivered = 0;
  Sink k;

  sink_init (&k);
  opts.body = TRUE;
  g_assert_false (mh_imap_session_uid_fetch (s, uids, G_N_ELEMENTS (uids),
                                             &opts, &watching_sink, &k,
                                             &delivered, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_BYE);
  g_assert_cmpuint (delivered, ==, 1);
  g_assert_cmpuint (msg_at (&k, 0)->uid, ==, 1);
  g_assert_cmpuint (k.refused->len, ==, 1);
  g_assert_cmpstr (k.refused->pdata[0], ==, "incomplete 2");
  fake_server_assert_done (fs);
  sink_clear (&k);
}

/* max_body: a body over it is read and dropped, and done() learns its
 * size; the limit is inclusive, and the session stays usable. */
static void
test_fetch_too_big (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("fetch-too-big.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  MhImapFetchOptions opts = { 0 };
  const guint32 uids[] = { 3, 4, 5, 6 };
  const guint32 again[] = { 4 };
  guint delivered = 0;
  Sink k;

  sink_init (&k);
  opts.body = TRUE;
  opts.max_body = 1000;
  g_assert_true (mh_imap_session_uid_fetch (s, uids, G_N_ELEMENTS (uids),
                                            &opts, &test_sink, &k,
                                            &delivered, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (delivered, ==, 4);
  g_assert_cmpuint (k.msgs->len, ==, 4);
  g_assert_cmpuint (msg_at (&k, 0)->uid, ==, 3);
  g_assert_true (msg_at (&k, 0)->has_body);
  g_assert_cmpuint (msg_at (&k, 0)->too_big, ==, 0);
  assert_pattern (msg_at (&k, 0)->body, 1000);
  g_assert_cmpuint (msg_at (&k, 1)->uid, ==, 4);
  g_assert_false (msg_at (&k, 1)->has_body);
  g_assert_null (msg_at (&k, 1)->body);
  g_assert_cmpuint (msg_at (&k, 1)->too_big, ==, 5000);
  g_assert_cmpuint (msg_at (&k, 1)->size, ==, 5000);
  g_assert_cmpstr (msg_at (&k, 1)->flags[0], ==, "\\Seen");
  g_assert_cmpuint (msg_at (&k, 2)->uid, ==, 5);
  g_assert_cmpuint (msg_at (&k, 2)->too_big, ==, 1001);
  g_assert_null (msg_at (&k, 2)->body);
  g_assert_cmpuint (msg_at (&k, 3)->uid, ==, 6);
  g_assert_cmpuint (msg_at (&k, 3)->too_big, ==, 0);
  assert_pattern (msg_at (&k, 3)->body, 10);
  g_assert_cmpuint (k.open_handles, ==, 0);
  g_assert_cmpuint (k.aborts, ==, 0);
  sink_clear (&k);

  /* Without a limit the same session fetches it. */
  sink_init (&k);
  opts.max_body = 0;
  g_assert_true (mh_imap_session_uid_fetch (s, again, 1, &opts, &test_sink,
                                            &k, &delivered, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (k.msgs->len, ==, 1);
  assert_pattern (msg_at (&k, 0)->body, 5000);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

static void
test_pipeline_depth (void)
{
  g_autoptr(GString) script = g_string_new (
    "S: * PREAUTH [CAPABILITY IMAP4rev1] ready\n");
  g_autoptr(FakeServer) fs = NULL;
  g_autoptr(MhImapSession) s = NULL;
  g_autoptr(GError) error = NULL;
  guint32 uids[1800];
  MhImapFetchOptions opts = { FALSE, 0, 0 };
  guint delivered = 0;
  Sink k;

  for (guint i = 0; i < G_N_ELEMENTS (uids); i++)
    uids[i] = i + 1;
  /* 18 commands of 100 UIDs: 16 at once, then one per answer. */
  for (guint b = 0; b < 18; b++)
    {
      if (b >= 16)
        g_string_append_printf (script, "S: A%03u OK done\n", b - 15);
      g_string_append_printf (script,
                              "C: A%03u UID FETCH %u:%u (UID FLAGS "
                              "INTERNALDATE RFC822.SIZE)\n",
                              b + 1, b * 100 + 1, b * 100 + 100);
    }
  for (guint tag = 3; tag <= 18; tag++)
    g_string_append_printf (script, "S: A%03u OK done\n", tag);
  fs = fake_server_new (script->str);
  s = fake_server_session (fs, 0);
  sink_init (&k);
  g_assert_true (mh_imap_session_uid_fetch (s, uids, G_N_ELEMENTS (uids),
                                            &opts, &test_sink, &k,
                                            &delivered, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (delivered, ==, 0);
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_FETCH_META), ==, 18);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

/* The start of each header block, asked for beside the metadata (the
 * check after a UIDVALIDITY change): a literal named with its origin, a
 * quoted string named without, NIL. */
static void
test_fetch_header (void)
{
  static const char script[] =
    "S: * PREAUTH [CAPABILITY IMAP4rev1] ready\n"
    "C: A001 UID FETCH 1:3 (UID FLAGS INTERNALDATE RFC822.SIZE "
    "BODY.PEEK[HEADER]<0.65536>)\n"
    "S: * 1 FETCH (UID 1 RFC822.SIZE 40 BODY[HEADER]<0> {15}\n"
    "S: Subject: hi\n"
    "S:\n"
    "S: )\n"
    "S: * 2 FETCH (UID 2 RFC822.SIZE 50 BODY[HEADER] \"X: y\")\n"
    "S: * 3 FETCH (UID 3 RFC822.SIZE 60 BODY[HEADER]<0> NIL)\n"
    "S: A001 OK done\n";
  g_autoptr(FakeServer) fs = fake_server_new (script);
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  const guint32 uids[] = { 1, 2, 3 };
  MhImapFetchOptions opts = { 0 };
  guint delivered = 0;
  gsize len;
  const char *data;
  Sink k;

  opts.header = TRUE;
  sink_init (&k);
  g_assert_true (mh_imap_session_uid_fetch (s, uids, G_N_ELEMENTS (uids),
                                            &opts, &test_sink, &k,
                                            &delivered, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (delivered, ==, 3);
  data = g_bytes_get_data (msg_at (&k, 0)->header, &len);
  g_assert_cmpmem (data, len, "Subject: hi\r\n\r\n", 15);
  g_assert_cmpuint (msg_at (&k, 0)->size, ==, 40);
  g_assert_false (msg_at (&k, 0)->has_body);
  data = g_bytes_get_data (msg_at (&k, 1)->header, &len);
  g_assert_cmpmem (data, len, "X: y", 4);
  g_assert_null (msg_at (&k, 2)->header);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

static void
test_pipeline (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("pipeline.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  const guint32 uids[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
  MhImapFetchOptions opts = { FALSE, 2, 2 };
  guint delivered = 0;
  Sink k;

  sink_init (&k);
  g_assert_true (mh_imap_session_uid_fetch (s, uids, G_N_ELEMENTS (uids),
                                            &opts, &test_sink, &k,
                                            &delivered, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (delivered, ==, 10);
  for (guint i = 0; i < 10; i++)
    {
      g_assert_cmpuint (msg_at (&k, i)->uid, ==, i + 1);
      g_assert_cmpuint (msg_at (&k, i)->size, ==, 101 + i);
      g_assert_null (msg_at (&k, i)->body);
    }
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_FETCH_META), ==, 5);
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_FETCH_BODY), ==, 0);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

static void
test_fetch_no (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("fetch-no.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  const guint32 uids[] = { 1, 2, 3 };
  MhImapFetchOptions opts = { FALSE, 1, 2 };
  guint delivered = 0;
  Sink k;

  sink_init (&k);
  g_assert_false (mh_imap_session_uid_fetch (s, uids, G_N_ELEMENTS (uids),
                                             &opts, &test_sink, &k,
                                             &delivered, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_THROTTLED);
  g_assert_nonnull (strstr (error->message, "Temporary failure"));
  g_assert_cmpuint (delivered, ==, 1);
  g_assert_cmpuint (msg_at (&k, 0)->uid, ==, 2);
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_FETCH_META), ==, 2);
  g_clear_error (&error);
  g_assert_true (mh_imap_session_logout (s, &error));
  g_assert_no_error (error);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

static void
test_fetch_stall (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("fetch-stall.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 200);
  g_autoptr(GError) error = NULL;
  const guint32 uids[] = { 1 };
  guint delivered = 0;
  Sink k;

  sink_init (&k);
  g_assert_false (fetch (s, uids, 1, TRUE, &k, &delivered, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_TIMEOUT);
  g_assert_cmpuint (delivered, ==, 0);
  g_assert_cmpuint (k.aborts, ==, 1);
  g_assert_cmpuint (k.open_handles, ==, 0);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

static gboolean
failing_write (gpointer handle, const guint8 *data, gsize len,
               gpointer user_data, GError **error)
{
  g_set_error_literal (error, MH_ERROR, MH_ERROR_IO, "disk full");
  return FALSE;
}

static void
test_fetch_sink_fails (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("fetch-split.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  const MhImapFetchSink sink = { sink_begin, failing_write, sink_done,
                                 sink_abort, NULL, NULL };
  const guint32 uids[] = { 7, 9 };
  MhImapFetchOptions opts = { TRUE, 0, 0 };
  guint delivered = 0;
  Sink k;

  sink_init (&k);
  g_assert_false (mh_imap_session_uid_fetch (s, uids, 2, &opts, &sink, &k,
                                             &delivered, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_assert_cmpuint (delivered, ==, 0);
  g_assert_cmpuint (k.aborts, ==, 1);
  g_assert_cmpuint (k.open_handles, ==, 0);
  /* The rest of the stream cannot be trusted: the session is over. */
  g_clear_error (&error);
  g_assert_false (mh_imap_session_capability (s, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_NET);
  g_assert_null (fake_server_get_problem (fs));
  sink_clear (&k);
}

static void
test_gmail (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("gmail.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  const guint32 uids[] = { 5, 1, 2, 3 };
  guint delivered = 0;
  Msg *m;
  Sink k;

  sink_init (&k);
  g_assert_true (mh_imap_session_open (s, &error));
  g_assert_true (fetch (s, uids, G_N_ELEMENTS (uids), FALSE, &k, &delivered,
                        &error));
  g_assert_no_error (error);
  g_assert_cmpuint (delivered, ==, 2);
  m = msg_at (&k, 0);
  g_assert_cmpuint (m->uid, ==, 1);
  g_assert_cmpuint (m->gm_msgid, ==, G_GUINT64_CONSTANT (1278455344230334866));
  g_assert_cmpuint (m->gm_thrid, ==, G_GUINT64_CONSTANT (1278455344230334865));
  g_assert_cmpuint (g_strv_length (m->labels), ==, 4);
  g_assert_cmpstr (m->labels[0], ==, "\\Inbox");
  g_assert_cmpstr (m->labels[2], ==, "Muy Importante");
  g_assert_cmpstr (m->labels[3], ==, "Entw\xc3\xbcrfe");
  g_assert_cmpint (m->internaldate, ==, 1704103200);
  g_assert_cmpuint (m->size, ==, 1234);
  g_assert_false (m->has_body);
  m = msg_at (&k, 1);
  g_assert_cmpuint (m->gm_msgid, ==, G_MAXUINT64);
  g_assert_cmpuint (g_strv_length (m->labels), ==, 0);
  g_assert_cmpint (m->internaldate, ==, 1704103200 - 3600);
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_FETCH_BODY), ==, 0);
  fake_server_assert_done (fs);
  sink_clear (&k);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");

/* The sequence sets of UID FETCH and UID SEARCH: runs joined, and cut at
 * the count and the length asked for. */
static void
test_uid_set (void)
{
  static const guint32 uids[] = { 1, 2, 3, 5, 7, 8 };
  static const guint32 top[] = { 4294967294u, 4294967295u };
  static const struct {
    gsize max_uids;
    gsize max_len;
    const char *want;
    gsize took;
  } cases[] = {
    { 100, 1000, "1:3,5,7:8", 6 },
    { 6, 1000, "1:3,5,7:8", 6 },
    { 5, 1000, "1:3,5,7", 5 },
    { 4, 1000, "1:3,5", 4 },
    { 2, 1000, "1:2", 2 },
    { 1, 1000, "1", 1 },
    { 100, 3, "1:3", 3 },
    { 100, 5, "1:3,5", 4 },
    { 100, 1, "1:3", 3 },
    { 100, 0, "1:3", 3 },
  };
  g_autofree guint32 *even = g_new (guint32, 1000);
  GString *set = g_string_new (NULL);
  g_autofree char *last = NULL;
  gsize took;
  guint commas = 0;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_string_truncate (set, 0);
      took = mh_imap_uid_set_append (set, uids, G_N_ELEMENTS (uids),
                                     cases[i].max_uids, cases[i].max_len);
      g_assert_cmpstr (set->str, ==, cases[i].want);
      g_assert_cmpuint (took, ==, cases[i].took);
    }
  g_string_truncate (set, 0);
  g_assert_cmpuint (mh_imap_uid_set_append (set, uids, 0, 10, 10), ==, 0);
  g_assert_cmpuint (mh_imap_uid_set_append (set, uids, 6, 0, 10), ==, 0);
  g_assert_cmpstr (set->str, ==, "");

  /* Appended after what @set holds, up to the largest UID. */
  g_string_assign (set, "9");
  g_assert_cmpuint (mh_imap_uid_set_append (set, top, 2, 10, 100), ==, 2);
  g_assert_cmpstr (set->str, ==, "9,4294967294:4294967295");

  /* No runs: the length bound cuts just past it, after whole UIDs. */
  for (guint i = 0; i < 1000; i++)
    even[i] = 2 * (i + 1);
  g_string_truncate (set, 0);
  took = mh_imap_uid_set_append (set, even, 1000, 1000, 100);
  g_assert_cmpuint (set->len, >=, 100);
  g_assert_cmpuint (set->len, <, 100 + 6);
  for (const char *p = set->str; *p != '\0'; p++)
    commas += *p == ',';
  g_assert_cmpuint (took, ==, commas + 1);
  last = g_strdup_printf (",%u", even[took - 1]);
  g_assert_true (g_str_has_suffix (set->str, last));
  g_string_free (set, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/imap-transcript/fetch/bye", test_fetch_bye);
  g_test_add_func ("/imap-transcript/fetch/dropped", test_fetch_dropped);
  g_test_add_func ("/imap-transcript/fetch/split", test_fetch_split);
  g_test_add_func ("/imap-transcript/fetch/one-byte", test_fetch_one_byte);
  g_test_add_func ("/imap-transcript/fetch/expunge", test_fetch_expunge);
  g_test_add_func ("/imap-transcript/fetch/too-big", test_fetch_too_big);
  g_test_add_func ("/imap-transcript/fetch/too-big-quoted",
                   test_fetch_too_big_quoted);
  g_test_add_func ("/imap-transcript/fetch/refused", test_fetch_refused);
  g_test_add_func ("/imap-transcript/fetch/incomplete",
                   test_fetch_incomplete);
  g_test_add_func ("/imap-transcript/fetch/header", test_fetch_header);
  g_test_add_func ("/imap-transcript/fetch/pipeline", test_pipeline);
  g_test_add_func ("/imap-transcript/fetch/pipeline-depth",
                   test_pipeline_depth);
  g_test_add_func ("/imap-transcript/fetch/gmail", test_gmail);
  g_test_add_func ("/imap-transcript/fetch/uid-set", test_uid_set);
  g_test_add_func ("/imap-transcript/fetch/no", test_fetch_no);
  g_test_add_func ("/imap-transcript/fetch/stall", test_fetch_stall);
  g_test_add_func ("/imap-transcript/fetch/sink-fails",
                   test_fetch_sink_fails);
  return g_test_run ();
}
