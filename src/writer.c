/* writer.c - message dirs built in a temporary dir and renamed in. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailharvest/archive.h"
#include "mailharvest/error.h"
#include "mailharvest/sha256.h"
#include "mailharvest/safename.h"
#include "mailharvest/writeback.h"
#include "mailharvest/writer.h"
#include "writer-private.h"

/* See mh_writer_set_sync(). */
static gboolean writer_sync = TRUE;

gboolean
mh_writer_syncs_each_file (void)
{
  return writer_sync;
}

void
mh_writer_set_sync (gboolean sync)
{
  writer_sync = sync;
  /* Without a sync per file, the caller syncs the file system per batch
   * and has mh_writeback_drop_until() drop what the sync made clean. */
  mh_writeback_enable (!sync);
}

/* message.json is small; a bigger one is not ours. */
#define MAX_MANIFEST (64 * 1024 * 1024)

gboolean
mh_writer_io_error (GError **error, const char *what, const char *name)
{
  int saved = errno;

  g_set_error (error, MH_ERROR,
               saved == ENOSPC || saved == EDQUOT ? MH_ERROR_NO_SPACE
                                                  : MH_ERROR_IO,
               "%s %s: %s", what, name, g_strerror (saved));
  return FALSE;
}

void
mh_write_result_free (MhWriteResult *result)
{
  if (result == NULL)
    return;
  g_free (result->dir);
  g_free (result->sha256);
  g_clear_pointer (&result->attachments, g_ptr_array_unref);
  g_free (result);
}

/* ---- files ---- */

/* An attachment is decoded in pieces of any size; they are gathered in
 * a buffer of SINK_BUF bytes, aligned for direct I/O, which goes out
 * whole (writer-direct.c).  One per thread, kept. */
#define SINK_BUF (1024 * 1024)

typedef struct {
  int fd;
  const char *name;
  MhSha256 *sum;
  guint64 size;
  guint64 cached;  /* bytes that went through the page cache */
  guint8 *buf;
  gsize fill;
} Sink;

static GPrivate sink_buf = G_PRIVATE_INIT (g_aligned_free);

static guint8 *
thread_sink_buf (void)
{
  guint8 *buf = g_private_get (&sink_buf);

  if (buf == NULL)
    {
      buf = g_aligned_alloc (SINK_BUF, 1, MH_WRITER_DIRECT_ALIGN);
      g_private_set (&sink_buf, buf);
    }
  return buf;
}

gboolean
mh_writer_write_all (int fd, const guint8 *data, gsize len,
                     const char *name, GError **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return mh_writer_io_error (error, "cannot write", name);
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static gboolean
sink_write (const guint8 *data, gsize len, gpointer user_data,
            GError **error)
{
  Sink *s = user_data;

  mh_sha256_update (s->sum, data, len);
  s->size += len;
  while (len > 0)
    {
      gsize n = MIN (len, SINK_BUF - s->fill);

      memcpy (s->buf + s->fill, data, n);
      s->fill += n;
      data += n;
      len -= n;
      if (s->fill == SINK_BUF)
        {
          if (!mh_writer_write_direct (s->fd, s->buf, s->fill, TRUE,
                                       &s->cached, s->name, error))
            return FALSE;
          s->fill = 0;
        }
    }
  return TRUE;
}

/* The rest of the buffer; direct as far as aligned once the file went
 * direct at all. */
static gboolean
sink_finish (Sink *s, GError **error)
{
  gboolean ok = mh_writer_write_direct (s->fd, s->buf, s->fill,
                                        s->size > SINK_BUF, &s->cached,
                                        s->name, error);

  s->fill = 0;
  return ok;
}

int
mh_writer_create_file (int dir_fd, const char *name, GError **error)
{
  int fd = openat (dir_fd, name,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   0644);

  if (fd < 0)
    mh_writer_io_error (error, "cannot create", name);
  return fd;
}

/* fdatasync before close: the rename that publishes the dir must not
 * reach the disk before the data it points to.  Without a sync per file
 * (mh_writer_set_sync) the caller syncs the whole file system before it
 * records anything, and the file goes to the write-behind queue. */
gboolean
mh_writer_finish_file (int fd, const char *name, guint64 size, GError **error)
{
  gboolean ok = TRUE;

  if (!writer_sync)
    {
      /* Closed later; write errors show at the caller's syncfs. */
      mh_writeback_add (fd, size);
      return TRUE;
    }
  if (fdatasync (fd) != 0)
    ok = mh_writer_io_error (error, "cannot sync", name);
  if (close (fd) != 0 && ok)
    ok = mh_writer_io_error (error, "cannot close", name);
  return ok;
}

static gboolean
write_file (int dir_fd, const char *name, const char *data, gsize len,
            GError **error)
{
  int fd = mh_writer_create_file (dir_fd, name, error);

  if (fd < 0)
    return FALSE;
  if (!mh_writer_write_all (fd, (const guint8 *) data, len, name, error))
    {
      close (fd);
      return FALSE;
    }
  return mh_writer_finish_file (fd, name, len, error);
}

static gboolean
sync_dir (int fd, const char *name, GError **error)
{
  if (writer_sync && fsync (fd) != 0)
    return mh_writer_io_error (error, "cannot sync directory", name);
  return TRUE;
}

/* ---- one message level (the message, or an embedded one) ---- */

typedef struct {
  GPtrArray *written;    /* MhWrittenAttachment*, owned */
  GHashTable *by_source; /* MhAttachment* -> MhWrittenAttachment* */
} WriteState;

static gboolean write_level (WriteState *st, int dir_fd, const char *prefix,
                             MhMessage *msg, guint depth,
                             char **text_path_out, char **html_path_out,
                             GError **error);

/* The dir that holds an embedded message's parts: the .eml name without
 * its extension, or with "_parts" when that leaves nothing new. */
static char *
embedded_dir_name (const char *eml_name)
{
  if (g_str_has_suffix (eml_name, ".eml") && strlen (eml_name) > 4)
    return g_strndup (eml_name, strlen (eml_name) - 4);
  return g_strconcat (eml_name, "_parts", NULL);
}

static gboolean
write_attachment (WriteState *st, int att_fd, const char *prefix,
                  MhNameSet *names, MhMessage *msg, MhAttachment *att,
                  guint depth, GError **error)
{
  g_autofree char *safe = mh_safename (att->filename, att->fallback_name);
  g_autofree char *name = mh_name_set_claim (names, safe);
  g_autoptr(MhSha256) sum = mh_sha256_new ();
  MhWrittenAttachment *w;
  Sink sink = { 0 };

  sink.fd = mh_writer_create_file (att_fd, name, error);
  if (sink.fd < 0)
    return FALSE;
  sink.name = name;
  sink.sum = sum;
  sink.buf = thread_sink_buf ();
  if (!mh_attachment_write (msg, att, sink_write, &sink, error)
      || !sink_finish (&sink, error))
    {
      close (sink.fd);
      return FALSE;
    }
  if (!mh_writer_finish_file (sink.fd, name, sink.cached, error))
    return FALSE;

  w = g_new0 (MhWrittenAttachment, 1);
  w->path = g_strconcat (prefix, "attachments/", name, NULL);
  w->filename = g_strdup (att->filename);
  w->content_type = g_strdup (att->content_type);
  w->part = g_strdup (att->part);
  w->size = sink.size;
  w->sha256 = g_strdup (mh_sha256_get_string (sum));
  w->source = att;
  g_ptr_array_add (st->written, w);
  g_hash_table_insert (st->by_source, att, w);

  if (att->origin == MH_ORIGIN_MESSAGE && att->embedded != NULL
      && depth + 1 < MH_WRITER_MAX_DEPTH)
    {
      g_autofree char *dir_base = embedded_dir_name (name);
      g_autofree char *dir = mh_name_set_claim (names, dir_base);
      g_autofree char *inner_prefix = NULL;
      int fd;
      gboolean ok;

      fd = mh_writer_open_dir (att_fd, dir, TRUE, error);
      if (fd < 0)
        return FALSE;
      inner_prefix = g_strconcat (prefix, "attachments/", dir, "/", NULL);
      ok = write_level (st, fd, inner_prefix, att->embedded, depth + 1,
                        &w->text_path, &w->html_path, error)
           && sync_dir (fd, dir, error);
      close (fd);
      return ok;
    }
  return TRUE;
}

static gboolean
write_level (WriteState *st, int dir_fd, const char *prefix, MhMessage *msg,
             guint depth, char **text_path_out, char **html_path_out,
             GError **error)
{
  g_autoptr(MhNameSet) names = NULL;
  int att_fd;
  gboolean ok = TRUE;

  if (msg->text != NULL)
    {
      if (!write_file (dir_fd, "body.txt", msg->text, strlen (msg->text),
                       error))
        return FALSE;
      *text_path_out = g_strconcat (prefix, "body.txt", NULL);
    }
  if (msg->html != NULL)
    {
      if (!write_file (dir_fd, "body.html", msg->html, strlen (msg->html),
                       error))
        return FALSE;
      *html_path_out = g_strconcat (prefix, "body.html", NULL);
    }
  if (msg->attachments == NULL || msg->attachments->len == 0)
    return TRUE;

  att_fd = mh_writer_open_dir (dir_fd, "attachments", TRUE, error);
  if (att_fd < 0)
    return FALSE;
  names = mh_name_set_new ();
  for (guint i = 0; ok && i < msg->attachments->len; i++)
    ok = write_attachment (st, att_fd, prefix, names, msg,
                           msg->attachments->pdata[i], depth, error);
  if (ok)
    ok = sync_dir (att_fd, "attachments", error);
  close (att_fd);
  return ok;
}

/* ---- publishing ---- */

static char *
make_tmp_dir (int parent_fd, const char *name, GError **error)
{
  for (int attempt = 0; attempt < 100; attempt++)
    {
      char *tmp = g_strdup_printf (TMP_PREFIX "%.*s.%06x", 100, name,
                                   g_random_int_range (0, 0x1000000));

      if (mkdirat (parent_fd, tmp, 0755) == 0)
        return tmp;
      g_free (tmp);
      if (errno != EEXIST)
        {
          mh_writer_io_error (error,
                              "cannot create a temporary directory for",
                              name);
          return NULL;
        }
    }
  g_set_error (error, MH_ERROR, MH_ERROR_IO,
               "cannot create a temporary directory for %s", name);
  return NULL;
}

/* Moves @tmp to @name, replacing what is there (see writer.h). */
static gboolean
publish (int parent_fd, const char *tmp, const char *name, GError **error)
{
  if (renameat2 (parent_fd, tmp, parent_fd, name, RENAME_NOREPLACE) == 0)
    return sync_dir (parent_fd, name, error);
  if (errno == EEXIST)
    {
      if (renameat2 (parent_fd, tmp, parent_fd, name, RENAME_EXCHANGE) == 0)
        return sync_dir (parent_fd, name, error)
               && mh_writer_remove_tree (parent_fd, tmp, error);
      if (errno != EINVAL && errno != ENOSYS)
        return mh_writer_io_error (error, "cannot replace", name);
    }
  else if (errno != EINVAL && errno != ENOSYS)
    return mh_writer_io_error (error, "cannot rename into place", name);
  return mh_writer_replace_aside (parent_fd, tmp, name, error);
}

gboolean
mh_writer_replace_aside (int parent_fd, const char *tmp, const char *name,
                         GError **error)
{
  g_autofree char *aside = g_strconcat (tmp, ".old", NULL);

  if (renameat (parent_fd, name, parent_fd, aside) != 0 && errno != ENOENT)
    return mh_writer_io_error (error, "cannot move aside", name);
  if (renameat (parent_fd, tmp, parent_fd, name) != 0)
    return mh_writer_io_error (error, "cannot rename into place", name);
  return sync_dir (parent_fd, name, error)
         && mh_writer_remove_tree (parent_fd, aside, error);
}

static gboolean
write_message (int parent_fd, const char *name, const MhWriterRaw *raw,
               gboolean staging, MhMessage *msg, const MhWriteMeta *meta,
               MhWriteResult **result_out, GError **error);

gboolean
mh_writer_write_message (int parent_fd, const char *name,
                         const char *raw_path, gboolean move, MhMessage *msg,
                         const MhWriteMeta *meta, MhWriteResult **result_out,
                         GError **error)
{
  MhWriterRaw raw = { raw_path, -1, move, NULL };

  return write_message (parent_fd, name, &raw, FALSE, msg, meta, result_out,
                        error);
}

gboolean
mh_writer_write_message_fd (int parent_fd, const char *name, int raw_fd,
                            MhMessage *msg, const MhWriteMeta *meta,
                            MhWriteResult **result_out, GError **error)
{
  MhWriterRaw raw = { NULL, raw_fd, FALSE, NULL };

  return write_message (parent_fd, name, &raw, FALSE, msg, meta, result_out,
                        error);
}

gboolean
mh_writer_stage_message (int parent_fd, const char *name,
                         const MhWriterRaw *raw, MhMessage *msg,
                         const MhWriteMeta *meta, MhWriteResult **result_out,
                         GError **error)
{
  g_return_val_if_fail (raw->fd >= 0 || raw->path != NULL
                        || raw->bytes != NULL, FALSE);
  return write_message (parent_fd, name, raw, TRUE, msg, meta, result_out,
                        error);
}

/* The dir to write message dir @name in: @name itself in a staging dir
 * (*@direct set) unless it is there already, else a temporary one.  The
 * debug fail point "disk-full" is met once per message dir. */
static char *
make_message_dir (int parent_fd, const char *name, gboolean staging,
                  gboolean *direct, GError **error)
{
  *direct = FALSE;
  if (mh_debug_fail_point ("disk-full"))
    {
      errno = ENOSPC;
      mh_writer_io_error (error,
                          staging ? "cannot create directory"
                                  : "cannot create a temporary directory for",
                          name);
      return NULL;
    }
  if (!staging)
    return make_tmp_dir (parent_fd, name, error);
  if (mkdirat (parent_fd, name, 0755) == 0)
    {
      *direct = TRUE;
      return g_strdup (name);
    }
  if (errno != EEXIST)
    {
      mh_writer_io_error (error, "cannot create directory", name);
      return NULL;
    }
  return make_tmp_dir (parent_fd, name, error);
}

static gboolean
write_message (int parent_fd, const char *name, const MhWriterRaw *raw,
               gboolean staging, MhMessage *msg, const MhWriteMeta *meta,
               MhWriteResult **result_out, GError **error)
{
  g_autoptr(MhSha256) sum = mh_sha256_new ();
  g_autoptr(GHashTable) by_source = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func (
      (GDestroyNotify) mh_written_attachment_free);
  const char *known_sha = meta != NULL ? meta->raw_sha256 : NULL;
  const char *raw_sha;
  g_autofree char *tmp = NULL;
  g_autofree char *text_path = NULL;
  g_autofree char *html_path = NULL;
  g_autofree char *json = NULL;
  WriteState st = { written, by_source };
  gboolean ok, moved = FALSE, direct;
  guint64 size = 0;
  gsize json_len = 0;
  int dir_fd;

  if (name == NULL || name[0] == '\0' || name[0] == '.'
      || strchr (name, '/') != NULL)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "invalid message directory name '%s'",
                   name != NULL ? name : "");
      return FALSE;
    }
  tmp = make_message_dir (parent_fd, name, staging, &direct, error);
  if (tmp == NULL)
    return FALSE;
  dir_fd = mh_writer_open_dir (parent_fd, tmp, FALSE, error);
  if (dir_fd < 0)
    {
      unlinkat (parent_fd, tmp, AT_REMOVEDIR);
      return FALSE;
    }

  /* The raw message goes in last, so that a failure before it leaves the
   * caller's file untouched.  One source (MhWriterRaw): a file when there
   * is one, since the caller gave it to be taken, else the bytes. */
  ok = write_level (&st, dir_fd, "", msg, 0, &text_path, &html_path, error);
  if (ok && raw->fd >= 0)
    ok = mh_writer_link_raw (dir_fd, raw->fd, sum, known_sha == NULL, &size,
                             error);
  else if (ok && raw->path != NULL)
    ok = mh_writer_put_raw (dir_fd, raw->path, raw->move, &moved, sum,
                            known_sha == NULL, &size, error);
  else if (ok)
    ok = mh_writer_put_raw_bytes (dir_fd, raw->bytes, sum, known_sha == NULL,
                                  &size, error);
  raw_sha = known_sha != NULL ? known_sha : mh_sha256_get_string (sum);
  if (ok)
    {
      json = mh_manifest_build (msg, meta, raw_sha, size, text_path,
                                html_path, by_source, &json_len);
      ok = write_file (dir_fd, "message.json", json, json_len, error)
           && sync_dir (dir_fd, name, error);
    }
  close (dir_fd);
  if (ok)
    ok = direct ? sync_dir (parent_fd, name, error)
                : publish (parent_fd, tmp, name, error);
  if (!ok)
    {
      g_autofree char *eml = g_strconcat (tmp, "/message.eml", NULL);

      if (moved)
        renameat (parent_fd, eml, AT_FDCWD, raw->path);
      mh_writer_remove_tree (parent_fd, tmp, NULL);
      return FALSE;
    }

  if (result_out != NULL)
    {
      MhWriteResult *r = g_new0 (MhWriteResult, 1);

      r->dir = g_strdup (name);
      r->sha256 = g_strdup (raw_sha);
      r->size = size;
      r->attachments = g_steal_pointer (&written);
      r->n_warnings = msg->warnings != NULL ? msg->warnings->len : 0;
      *result_out = r;
    }
  return TRUE;
}

static char *
read_manifest (int dir_fd, gsize *len_out, GError **error)
{
  GByteArray *buf = g_byte_array_new ();
  guint8 chunk[COPY_CHUNK];
  int fd = openat (dir_fd, "message.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0)
    {
      g_byte_array_unref (buf);
      mh_writer_io_error (error, "cannot open", "message.json");
      return NULL;
    }
  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || buf->len + (gsize) n > MAX_MANIFEST)
        {
          if (n < 0)
            mh_writer_io_error (error, "cannot read", "message.json");
          else
            g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                         "message.json is larger than %d bytes",
                         MAX_MANIFEST);
          close (fd);
          g_byte_array_unref (buf);
          return NULL;
        }
      if (n == 0)
        break;
      g_byte_array_append (buf, chunk, (guint) n);
    }
  close (fd);
  *len_out = buf->len;
  g_byte_array_append (buf, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (buf, FALSE);
}

gboolean
mh_writer_update_locations (int parent_fd, const char *name,
                            const MhWriteMeta *meta, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonNode) updated = NULL;
  g_autofree char *data = NULL;
  g_autofree char *json = NULL;
  g_autofree char *tmp = NULL;
  g_autoptr(GError) parse_error = NULL;
  gsize len = 0, json_len = 0;
  gboolean ok;
  int dir_fd = mh_writer_open_dir (parent_fd, name, FALSE, error);

  if (dir_fd < 0)
    return FALSE;
  /* A run killed between the write and the rename below left its
   * ".tmp-message.json.*" here. */
  if (mh_writer_clean_stale (dir_fd, error) < 0)
    {
      close (dir_fd);
      return FALSE;
    }
  data = read_manifest (dir_fd, &len, error);
  if (data == NULL)
    {
      close (dir_fd);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, data, (gssize) len, &parse_error)
      || (updated = mh_manifest_set_locations (
              json_parser_get_root (parser), meta)) == NULL)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                   "%s/message.json: not a manifest%s%s", name,
                   parse_error != NULL ? ": " : "",
                   parse_error != NULL ? parse_error->message : "");
      close (dir_fd);
      return FALSE;
    }
  json = mh_manifest_to_data (updated, &json_len);
  tmp = g_strdup_printf (TMP_PREFIX "message.json.%06x",
                         g_random_int_range (0, 0x1000000));
  ok = write_file (dir_fd, tmp, json, json_len, error);
  if (ok)
    mh_debug_kill_point ("location-written");
  if (ok && renameat (dir_fd, tmp, dir_fd, "message.json") != 0)
    ok = mh_writer_io_error (error, "cannot replace", "message.json");
  if (ok)
    ok = sync_dir (dir_fd, name, error);
  else
    unlinkat (dir_fd, tmp, 0);
  close (dir_fd);
  return ok;
}
