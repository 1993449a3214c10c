/* imap-fetch.c - pipelined UID FETCH with bodies streamed to a sink. */
#include "mailharvest/imap-session.h"
#include "mailharvest/error.h"
#include "mailharvest/utf7.h"
#include "imap-session-private.h"

#include <stdio.h>
#include <string.h>

/* Keeps each UID FETCH line well below the 8000 bytes RFC 7162 asks
 * servers to accept. */
#define MAX_SET_LEN 1000
#define DEFAULT_BATCH_META 100
#define DEFAULT_BATCH_BODY 25
/* Commands in flight.  The server must always have the next one in hand,
 * also on a distant link: with 4, a 50 ms round trip moved at most 100
 * messages per round trip, which for runs of small messages is a few
 * MB/s.  16 asks for 400 bodies ahead; the bytes are not held here (the
 * socket's flow control bounds them), so the depth costs no memory. */
#define DEFAULT_IN_FLIGHT 16
#define MAX_IN_FLIGHT 64

typedef struct {
  MhImapSession *s;
  gboolean body;
  gboolean header;
  const MhImapFetchSink *sink;
  gpointer user_data;
  GHashTable *wanted;    /* UIDs asked for */
  GHashTable *answered;  /* UIDs already given to done or refused */
  gpointer handle;       /* the body being streamed, or NULL */
  gboolean handle_open;
  gboolean skip_literal; /* a second body in one response, or one over
                          * max_body: ignore it */
  guint64 max_body;      /* 0: no limit */
  guint64 too_big;       /* the size of this response's body, skipped
                          * because it is over max_body */
  guint32 handle_seq;
  guint64 written;
  guint delivered_count;
  const guint32 *uids;   /* the sorted UIDs asked for */
} FetchState;

/* A batch: the UIDs uids[first] to uids[end - 1] of the sorted array, as
 * a compressed UID set. */
typedef struct {
  char *set;
  gsize first;
  gsize end;
} Batch;

/* A command in flight: its tag and the batch it asked for. */
typedef struct {
  char *tag;
  guint batch;
} InFlight;

static void
batch_clear (gpointer p)
{
  g_free (((Batch *) p)->set);
}

static void
in_flight_clear (gpointer p)
{
  g_free (((InFlight *) p)->tag);
}

static void
drop_handle (FetchState *st)
{
  if (st->handle_open && st->sink->abort != NULL)
    st->sink->abort (st->handle, st->user_data);
  st->handle = NULL;
  st->handle_open = FALSE;
  st->written = 0;
  st->too_big = 0;
}

/* The batches of sorted, unique @uids as compressed UID sets ("1:50,60"),
 * each with at most @batch UIDs. */
static GArray *
make_batches (const guint32 *uids, gsize n, guint batch)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (Batch));
  gsize first = 0;

  g_array_set_clear_func (out, batch_clear);
  while (first < n)
    {
      GString *set = g_string_new (NULL);
      gsize took = mh_imap_uid_set_append (set, uids + first, n - first,
                                           batch, MAX_SET_LEN);
      Batch b = { g_string_free (set, FALSE), first, first + took };

      g_array_append_val (out, b);
      first += took;
    }
  return out;
}

/* "17-Jul-1996 02:44:25 -0700" as unix time, or 0. */
static gint64
parse_internaldate (const char *str)
{
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  int day, year, hh, mm, ss, zone;
  char mon[4] = { 0 };
  char sign;
  const char *m;
  g_autoptr(GDateTime) dt = NULL;
  int off;

  if (str == NULL
      || sscanf (str, " %2d-%3c-%4d %2d:%2d:%2d %c%4d", &day, mon, &year,
                 &hh, &mm, &ss, &sign, &zone) != 8
      || (sign != '+' && sign != '-'))
    return 0;
  m = strstr (months, mon);
  if (m == NULL || (m - months) % 3 != 0)
    return 0;
  dt = g_date_time_new_utc (year, (int) (m - months) / 3 + 1, day, hh, mm,
                            ss);
  if (dt == NULL)
    return 0;
  off = (zone / 100) * 3600 + (zone % 100) * 60;
  return g_date_time_to_unix (dt) - (sign == '+' ? off : -off);
}

static char **
strings_of (const MhImapArg *list, gboolean decode)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; list != NULL && list->type == MH_IMAP_ARG_LIST
                    && i < list->list->len; i++)
    {
      const char *str = mh_imap_arg_get_string (
        g_ptr_array_index (list->list, i));
      char *dec = NULL;

      if (str == NULL)
        continue;
      /* Gmail sends labels as modified UTF-7 mailbox names. */
      if (decode && str[0] != '\\')
        dec = mh_utf7_decode (str, NULL);
      g_ptr_array_add (out, dec != NULL ? dec : g_strdup (str));
    }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static gboolean
sink_begin (FetchState *st, guint32 seq, guint64 total, GError **error)
{
  st->handle = st->sink->begin (total, st->user_data, error);
  if (st->handle == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, MH_ERROR, MH_ERROR_IO,
                             "the fetch sink refused a message");
      return FALSE;
    }
  st->handle_open = TRUE;
  st->handle_seq = seq;
  st->written = 0;
  return TRUE;
}

static gboolean
sink_write (FetchState *st, const guint8 *data, gsize len, GError **error)
{
  if (len == 0)
    return TRUE;
  st->written += len;
  return st->sink->write (st->handle, data, len, st->user_data, error);
}

static gboolean
on_chunk (FetchState *st, const MhImapLiteralChunk *c, GError **error)
{
  if (c->offset == 0 && !st->skip_literal)
    {
      if (st->handle_open || st->too_big > 0)
        st->skip_literal = TRUE;
      else if (st->max_body > 0 && c->total > st->max_body)
        {
          /* Read and dropped: the session stays in step, and the other
           * messages of the batch still come. */
          st->too_big = c->total;
          st->skip_literal = TRUE;
        }
      else if (!sink_begin (st, c->number, c->total, error))
        return FALSE;
    }
  if (!st->skip_literal && !sink_write (st, c->data, c->len, error))
    return FALSE;
  if (c->last)
    st->skip_literal = FALSE;
  return TRUE;
}

static gboolean
on_fetch (FetchState *st, const MhImapResponse *resp, GError **error)
{
  MhImapSession *s = st->s;
  const MhImapArg *uid_arg = mh_imap_fetch_item (resp, "UID");
  const MhImapArg *body = mh_imap_fetch_item (resp, "BODY[]");
  const MhImapArg *arg;
  MhImapMessageInfo info = { 0 };
  guint64 uid = 0;
  gboolean is_message;
  gboolean asked;
  gboolean ok;

  asked = uid_arg != NULL && mh_imap_arg_get_uint64 (uid_arg, &uid)
          && uid <= G_MAXUINT32
          && g_hash_table_contains (st->wanted, GUINT_TO_POINTER (uid))
          && !g_hash_table_contains (st->answered, GUINT_TO_POINTER (uid));
  is_message = asked;
  if (st->body)
    is_message = is_message && body != NULL;
  else
    is_message = is_message
                 && (mh_imap_fetch_item (resp, "RFC822.SIZE") != NULL
                     || mh_imap_fetch_item (resp, "INTERNALDATE") != NULL);
  if (!is_message)
    {
      /* A flag update, an unasked message or a repeat: reported through
       * the counter, never delivered.  The answer of a message whose
       * body the server could not read looks like an update, but with
       * the items only a FETCH of it carries. */
      if (asked && st->body && body == NULL
          && st->sink->incomplete != NULL
          && (mh_imap_fetch_item (resp, "RFC822.SIZE") != NULL
              || mh_imap_fetch_item (resp, "INTERNALDATE") != NULL))
        st->sink->incomplete ((guint32) uid, st->user_data);
      drop_handle (st);
      s->fetch_updates++;
      return TRUE;
    }
  if (st->body && !st->handle_open && st->too_big == 0)
    {
      /* The server sent the body as a quoted string or NIL instead of a
       * streamed literal. */
      const char *str = mh_imap_arg_get_string (body);
      gsize len = str != NULL ? body->len : 0;

      /* Over max_body it is dropped as a literal would be. */
      if (st->max_body > 0 && len > st->max_body)
        st->too_big = len;
      else if (!sink_begin (st, resp->number, len, error)
               || !sink_write (st, (const guint8 *) str, len, error))
        return FALSE;
    }
  info.uid = (guint32) uid;
  info.seq = resp->number;
  info.flags = strings_of (mh_imap_fetch_item (resp, "FLAGS"), FALSE);
  arg = mh_imap_fetch_item (resp, "INTERNALDATE");
  info.internaldate = parse_internaldate (mh_imap_arg_get_string (arg));
  arg = mh_imap_fetch_item (resp, "RFC822.SIZE");
  if (arg != NULL)
    mh_imap_arg_get_uint64 (arg, &info.size);
  arg = mh_imap_fetch_item (resp, "X-GM-MSGID");
  if (arg != NULL)
    mh_imap_arg_get_uint64 (arg, &info.gm_msgid);
  arg = mh_imap_fetch_item (resp, "X-GM-THRID");
  if (arg != NULL)
    mh_imap_arg_get_uint64 (arg, &info.gm_thrid);
  info.gm_labels = strings_of (mh_imap_fetch_item (resp, "X-GM-LABELS"),
                               TRUE);
  info.has_body = st->handle_open;
  info.body_size = st->written;
  info.too_big = st->too_big;
  st->too_big = 0;
  if (st->header)
    {
      /* With a partial fetch the item is named with its origin. */
      arg = mh_imap_fetch_item (resp, "BODY[HEADER]<0>");
      if (arg == NULL)
        arg = mh_imap_fetch_item (resp, "BODY[HEADER]");
      if (arg != NULL && (arg->type == MH_IMAP_ARG_LITERAL
                          || arg->type == MH_IMAP_ARG_STRING))
        {
          info.header = (const guint8 *) mh_imap_arg_get_string (arg);
          info.header_len = MIN (arg->len, (gsize) MH_IMAP_HEADER_PEEK);
        }
    }
  g_hash_table_add (st->answered, GUINT_TO_POINTER (uid));
  st->delivered_count++;
  st->handle_open = FALSE;
  ok = st->sink->done (&info, g_steal_pointer (&st->handle), st->user_data,
                       error);
  g_strfreev (info.flags);
  g_strfreev (info.gm_labels);
  return ok;
}

static gboolean
send_batch (MhImapSession *s, gboolean body, gboolean header,
            const Batch *batch, guint index, GArray *in_flight,
            GError **error)
{
  const char *set = batch->set;
  InFlight f;

  g_autoptr(MhImapCmd) cmd = NULL;
  GString *line;

  cmd = mh_imap_cmd_new (s, body ? MH_IMAP_CMD_FETCH_BODY
                                 : MH_IMAP_CMD_FETCH_META, "UID FETCH");
  mh_imap_cmd_add_raw (cmd, " ");
  mh_imap_cmd_add_raw (cmd, set);
  mh_imap_cmd_add_raw (cmd, " (UID FLAGS INTERNALDATE RFC822.SIZE");
  if (mh_imap_session_has_capability (s, "X-GM-EXT-1"))
    mh_imap_cmd_add_raw (cmd, " X-GM-MSGID X-GM-THRID X-GM-LABELS");
  if (body)
    mh_imap_cmd_add_raw (cmd, " BODY.PEEK[]");
  else if (header)
    mh_imap_cmd_add_raw (cmd, " BODY.PEEK[HEADER]<0."
                              G_STRINGIFY (MH_IMAP_HEADER_PEEK) ">");
  mh_imap_cmd_add_raw (cmd, ")");
  line = g_ptr_array_index (cmd->segments, 0);
  g_string_append (line, "\r\n");
  if (!mh_imap_session_write (s, (int) cmd->kind, line->str, line->len,
                              cmd->trace->str, error))
    return FALSE;
  f.tag = g_steal_pointer (&cmd->tag);
  f.batch = index;
  g_array_append_val (in_flight, f);
  return TRUE;
}

/* A NO to the command for @batch: its UIDs that did not come are given to
 * the sink's refused, with @no's text.  An answer for one of them that
 * comes later is a repeat, as after done: the sink has heard of it. */
static void
refuse_batch (FetchState *st, const Batch *batch, const GError *no)
{
  for (gsize i = batch->first; i < batch->end; i++)
    if (g_hash_table_add (st->answered, GUINT_TO_POINTER (st->uids[i])))
      st->sink->refused (st->uids[i], no->message, st->user_data);
}

static gboolean
fetch_loop (FetchState *st, GArray *batches, guint max_in_flight,
            GError **error)
{
  MhImapSession *s = st->s;
  g_autoptr(GArray) in_flight = g_array_new (FALSE, FALSE,
                                             sizeof (InFlight));
  g_autoptr(GError) first_error = NULL;
  guint next = 0;

  g_array_set_clear_func (in_flight, in_flight_clear);
  for (;;)
    {
      MhImapEvent ev = { 0 };
      g_autoptr(MhImapResponse) resp = NULL;
      MhImapParseStatus pst;
      g_autoptr(GError) no = NULL;
      InFlight done;
      guint i;

      while (first_error == NULL && in_flight->len < max_in_flight
             && next < batches->len)
        {
          if (!send_batch (s, st->body, st->header,
                           &g_array_index (batches, Batch, next), next,
                           in_flight, error))
            return FALSE;
          next++;
        }
      if (in_flight->len == 0)
        break;
      pst = mh_imap_session_next_event (s, &ev, error);
      if (pst == MH_IMAP_PARSE_ERROR)
        return FALSE;
      if (pst == MH_IMAP_PARSE_LITERAL_DATA)
        {
          if (!on_chunk (st, &ev.chunk, error))
            {
              mh_imap_session_break (s);
              return FALSE;
            }
          continue;
        }
      resp = ev.response;
      if (resp->kind == MH_IMAP_RESP_UNTAGGED)
        {
          if (!mh_imap_session_untagged (s, resp, error))
            return FALSE;
          if (g_strcmp0 (resp->name, "FETCH") == 0
              && !on_fetch (st, resp, error))
            {
              mh_imap_session_break (s);
              return FALSE;
            }
          continue;
        }
      for (i = 0; i < in_flight->len; i++)
        if (g_strcmp0 (g_array_index (in_flight, InFlight, i).tag,
                       resp->tag) == 0)
          break;
      if (resp->kind != MH_IMAP_RESP_TAGGED || i == in_flight->len)
        {
          mh_imap_session_break (s);
          g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                       "unexpected %s during UID FETCH",
                       resp->kind == MH_IMAP_RESP_TAGGED
                         ? "tag" : "continuation request");
          return FALSE;
        }
      done = g_array_index (in_flight, InFlight, i);
      g_array_remove_index (in_flight, i);
      drop_handle (st);
      if (g_strcmp0 (resp->status, "OK") == 0)
        continue;
      mh_imap_session_tagged_error (s, resp, "UID FETCH", &no);
      /* A NO for some of the messages (Gmail's "Some messages could not
       * be FETCHed", a server that cannot read one message): those fail,
       * the fetch goes on. */
      if (st->sink->refused != NULL
          && g_error_matches (no, MH_ERROR, MH_ERROR_SERVER_NO))
        refuse_batch (st, &g_array_index (batches, Batch, done.batch), no);
      /* Else stop sending but drain what is in flight, so that the session
       * stays in step and can be used again. */
      else if (first_error == NULL)
        first_error = g_steal_pointer (&no);
    }
  if (first_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }
  return TRUE;
}

gboolean
mh_imap_session_uid_fetch (MhImapSession *s, const guint32 *uids,
                           gsize n_uids, const MhImapFetchOptions *opts,
                           const MhImapFetchSink *sink, gpointer user_data,
                           guint *delivered_out, GError **error)
{
  g_autoptr(GArray) sorted = g_array_sized_new (FALSE, FALSE,
                                                sizeof (guint32), n_uids);
  g_autoptr(GArray) batches = NULL;
  FetchState st = { 0 };
  guint batch;
  guint max_in_flight;
  guint out = 0;
  gboolean ok;

  if (delivered_out != NULL)
    *delivered_out = 0;
  if (!mh_imap_session_ready (s, error))
    return FALSE;
  if ((opts->body && (sink->begin == NULL || sink->write == NULL))
      || sink->done == NULL)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_CONFIG,
                           "incomplete fetch sink");
      return FALSE;
    }
  for (gsize i = 0; i < n_uids; i++)
    if (uids[i] != 0)
      g_array_append_val (sorted, uids[i]);
  g_array_sort (sorted, mh_imap_uid_cmp);
  for (guint i = 0; i < sorted->len; i++)
    if (out == 0 || g_array_index (sorted, guint32, i)
                      != g_array_index (sorted, guint32, out - 1))
      g_array_index (sorted, guint32, out++)
        = g_array_index (sorted, guint32, i);
  g_array_set_size (sorted, out);
  if (sorted->len == 0)
    return TRUE;

  batch = opts->batch_size > 0 ? opts->batch_size
          : opts->body ? DEFAULT_BATCH_BODY : DEFAULT_BATCH_META;
  max_in_flight = opts->max_in_flight > 0
                    ? MIN (opts->max_in_flight, MAX_IN_FLIGHT)
                    : DEFAULT_IN_FLIGHT;
  batches = make_batches ((const guint32 *) (void *) sorted->data,
                          sorted->len, batch);
  st.s = s;
  st.uids = (const guint32 *) (void *) sorted->data;
  st.body = opts->body;
  st.max_body = opts->body ? opts->max_body : 0;
  st.header = opts->header && !opts->body;
  st.sink = sink;
  st.user_data = user_data;
  st.wanted = g_hash_table_new (g_direct_hash, g_direct_equal);
  st.answered = g_hash_table_new (g_direct_hash, g_direct_equal);
  for (guint i = 0; i < sorted->len; i++)
    g_hash_table_add (st.wanted,
                      GUINT_TO_POINTER (g_array_index (sorted, guint32, i)));

  mh_imap_parser_set_streaming (s->parser, opts->body);
  ok = fetch_loop (&st, batches, max_in_flight, error);
  mh_imap_parser_set_streaming (s->parser, FALSE);
  drop_handle (&st);
  g_hash_table_unref (st.wanted);
  g_hash_table_unref (st.answered);
  if (delivered_out != NULL)
    *delivered_out = st.delivered_count;
  return ok;
}
