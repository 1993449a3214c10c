/* source-local.c - mbox, Maildir and .eml files as raw messages. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mailharvest/error.h"
#include "mailharvest/source-local.h"
#include "source-local-private.h"

#define MAX_DEPTH 32

void
mh_local_mailbox_free (MhLocalMailbox *mailbox)
{
  if (mailbox == NULL)
    return;
  g_free (mailbox->name);
  g_free (mailbox->path);
  g_clear_pointer (&mailbox->files, g_ptr_array_unref);
  g_free (mailbox);
}

/* FNV-1a: small, stable across versions and platforms. */
static guint32
path_hash (const char *path)
{
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  guint32 h = 2166136261u;

  for (const guchar *p = (const guchar *) abs; *p != '\0'; p++)
    {
      h ^= *p;
      h *= 16777619u;
    }
  return h != 0 ? h : 1;
}

static MhLocalMailbox *
mailbox_new (const char *name, MhLocalKind kind, const char *path)
{
  MhLocalMailbox *m = g_new0 (MhLocalMailbox, 1);

  m->name = g_strdup (name);
  m->kind = kind;
  m->path = g_strdup (path);
  m->uidvalidity = path_hash (path);
  if (kind == MH_LOCAL_EML)
    m->files = g_ptr_array_new_with_free_func (g_free);
  return m;
}

static gboolean
starts_with_from (const char *path)
{
  char buf[5];
  gboolean ok;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

  if (fd < 0)
    return FALSE;
  ok = read (fd, buf, sizeof buf) == (ssize_t) sizeof buf
       && memcmp (buf, "From ", 5) == 0;
  close (fd);
  return ok;
}

static gboolean
is_dir_nofollow (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

static gboolean
is_maildir (const char *path)
{
  g_autofree char *cur = g_build_filename (path, "cur", NULL);
  g_autofree char *new_dir = g_build_filename (path, "new", NULL);

  return is_dir_nofollow (cur) && is_dir_nofollow (new_dir);
}

static gboolean
has_suffix_ci (const char *name, const char *suffix)
{
  gsize n = strlen (name), s = strlen (suffix);

  return n > s && g_ascii_strcasecmp (name + n - s, suffix) == 0;
}

static char *
mbox_name (const char *file)
{
  if (has_suffix_ci (file, ".mbox") || has_suffix_ci (file, ".mbx"))
    return g_strndup (file, strrchr (file, '.') - file);
  return g_strdup (file);
}

static char *
join_name (const char *parent, const char *child)
{
  if (parent == NULL || parent[0] == '\0')
    return g_strdup (child);
  return g_strconcat (parent, "/", child, NULL);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The entries of @dir sorted by name, without "." and "..". */
static GPtrArray *
list_dir (const char *dir, GError **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) names = NULL;
  const char *name;

  if (d == NULL)
    {
      if (error != NULL && *error != NULL)
        {
          g_autofree char *msg = g_strdup ((*error)->message);

          g_clear_error (error);
          g_set_error (error, MH_ERROR, MH_ERROR_IO, "%s", msg);
        }
      return NULL;
    }
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  return g_steal_pointer (&names);
}

static gboolean walk (const char *dir, const char *rel, const char *top_name,
                      guint depth, GPtrArray *out, GError **error);

/* Adds the Maildir at @path as @name, then its Maildir++ subfolders and
 * any other folders below it. */
static gboolean
add_maildir (const char *path, const char *name, gboolean top, guint depth,
             GPtrArray *out, GError **error)
{
  g_autoptr(GPtrArray) names = list_dir (path, error);
  gboolean plusplus = FALSE;
  const char *own;

  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = names->pdata[i];
      g_autofree char *sub = g_build_filename (path, n, NULL);

      if (n[0] == '.' && n[1] != '\0' && n[1] != '.' && is_maildir (sub))
        plusplus = TRUE;
    }
  /* The root of a Maildir++ hierarchy is the user's inbox. */
  own = top && plusplus ? "INBOX" : name;
  g_ptr_array_add (out, mailbox_new (own, MH_LOCAL_MAILDIR, path));

  if (depth >= MAX_DEPTH)
    return TRUE;
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = names->pdata[i];
      g_autofree char *sub = g_build_filename (path, n, NULL);

      if (!is_dir_nofollow (sub) || strcmp (n, "cur") == 0
          || strcmp (n, "new") == 0 || strcmp (n, "tmp") == 0)
        continue;
      if (n[0] == '.')
        {
          g_autofree char *folder = NULL;
          g_autofree char *full = NULL;

          if (n[1] == '\0' || n[1] == '.' || !is_maildir (sub))
            continue;
          folder = g_strdelimit (g_strdup (n + 1), ".", '/');
          full = top ? g_strdup (folder) : join_name (name, folder);
          g_ptr_array_add (out, mailbox_new (full, MH_LOCAL_MAILDIR, sub));
        }
      else
        {
          g_autofree char *rel = join_name (top && plusplus ? NULL : name, n);

          if (is_maildir (sub))
            {
              if (!add_maildir (sub, rel, FALSE, depth + 1, out, error))
                return FALSE;
            }
          else if (!walk (sub, rel, rel, depth + 1, out, error))
            return FALSE;
        }
    }
  return TRUE;
}

static gboolean
walk (const char *dir, const char *rel, const char *top_name, guint depth,
      GPtrArray *out, GError **error)
{
  g_autoptr(GPtrArray) names = list_dir (dir, error);
  MhLocalMailbox *eml = NULL;

  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = names->pdata[i];
      g_autofree char *sub = g_build_filename (dir, n, NULL);
      struct stat st;

      /* Hidden entries are other tools' state (.git, .notmuch, dovecot
       * indexes); symbolic links could lead anywhere. */
      if (n[0] == '.' || lstat (sub, &st) != 0 || S_ISLNK (st.st_mode))
        continue;
      /* An empty file holds no message (a mailer may be writing it). */
      if (S_ISREG (st.st_mode) && has_suffix_ci (n, ".eml")
          && st.st_size == 0)
        continue;
      if (S_ISREG (st.st_mode) && has_suffix_ci (n, ".eml"))
        {
          if (eml == NULL)
            {
              eml = mailbox_new (top_name, MH_LOCAL_EML, dir);
              g_ptr_array_add (out, eml);
            }
          g_ptr_array_add (eml->files, g_steal_pointer (&sub));
        }
      else if (S_ISREG (st.st_mode) && starts_with_from (sub))
        {
          g_autofree char *base = mbox_name (n);
          g_autofree char *name = join_name (rel, base);

          g_ptr_array_add (out, mailbox_new (name, MH_LOCAL_MBOX, sub));
        }
      else if (S_ISDIR (st.st_mode) && depth < MAX_DEPTH)
        {
          g_autofree char *name = join_name (rel, n);

          if (is_maildir (sub))
            {
              if (!add_maildir (sub, name, FALSE, depth + 1, out, error))
                return FALSE;
            }
          else if (!walk (sub, name, name, depth + 1, out, error))
            return FALSE;
        }
    }
  return TRUE;
}

GPtrArray *
mh_local_scan (const char *const *paths, GError **error)
{
  g_autoptr(GPtrArray) out =
      g_ptr_array_new_with_free_func ((GDestroyNotify) mh_local_mailbox_free);
  /* Explicit .eml files are grouped by the folder they are in. */
  g_autoptr(GHashTable) explicit_eml =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (gsize i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      const char *path = paths[i];
      g_autofree char *base = g_path_get_basename (path);
      struct stat st;

      if (stat (path, &st) != 0)
        {
          int saved = errno;

          g_set_error (error, MH_ERROR, MH_ERROR_IO, "%s: %s", path,
                       g_strerror (saved));
          return NULL;
        }
      if (S_ISDIR (st.st_mode))
        {
          if (is_maildir (path))
            {
              if (!add_maildir (path, base, TRUE, 0, out, error))
                return NULL;
            }
          else if (!walk (path, NULL, base, 0, out, error))
            return NULL;
        }
      else if (S_ISREG (st.st_mode)
               && (st.st_size == 0 || starts_with_from (path)))
        {
          /* An empty file is an empty mbox, not a message without
           * headers. */
          g_autofree char *name = mbox_name (base);

          g_ptr_array_add (out, mailbox_new (name, MH_LOCAL_MBOX, path));
        }
      else if (S_ISREG (st.st_mode))
        {
          g_autofree char *dir = g_path_get_dirname (path);
          MhLocalMailbox *m = g_hash_table_lookup (explicit_eml, dir);

          if (m == NULL)
            {
              g_autofree char *abs = g_canonicalize_filename (dir, NULL);
              g_autofree char *name = g_path_get_basename (abs);

              m = mailbox_new (name, MH_LOCAL_EML, dir);
              m->named = TRUE;
              g_ptr_array_add (out, m);
              g_hash_table_insert (explicit_eml, g_strdup (dir), m);
            }
          g_ptr_array_add (m->files, g_strdup (path));
        }
      else
        {
          g_set_error (error, MH_ERROR, MH_ERROR_IO,
                       "%s: not a file or directory", path);
          return NULL;
        }
    }
  for (guint i = 0; i < out->len; i++)
    {
      MhLocalMailbox *m = out->pdata[i];

      if (m->files != NULL)
        g_ptr_array_sort (m->files, compare_strings);
    }
  return g_steal_pointer (&out);
}

/* ---- Maildir ---- */

typedef struct {
  char *key;   /* the unique name without the ":2,flags" info */
  char *path;
  char *info;  /* the flags after ":2,", or NULL */
} MaildirEntry;

static void
maildir_entry_free (gpointer p)
{
  MaildirEntry *e = p;

  g_free (e->key);
  g_free (e->path);
  g_free (e->info);
  g_free (e);
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  const MaildirEntry *x = *(MaildirEntry *const *) a;
  const MaildirEntry *y = *(MaildirEntry *const *) b;
  int c = strcmp (x->key, y->key);

  return c != 0 ? c : strcmp (x->path, y->path);
}

static gboolean
maildir_collect (const char *dir, GPtrArray *entries, GError **error)
{
  g_autoptr(GPtrArray) names = list_dir (dir, error);

  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = names->pdata[i];
      const char *colon = strchr (n, ':');
      MaildirEntry *e;
      struct stat st;
      g_autofree char *path = g_build_filename (dir, n, NULL);

      /* An empty file holds no message. */
      if (n[0] == '.' || lstat (path, &st) != 0 || !S_ISREG (st.st_mode)
          || st.st_size == 0)
        continue;
      e = g_new0 (MaildirEntry, 1);
      e->key = colon != NULL ? g_strndup (n, colon - n) : g_strdup (n);
      e->path = g_steal_pointer (&path);
      if (colon != NULL && strncmp (colon, ":2,", 3) == 0)
        e->info = g_strdup (colon + 3);
      g_ptr_array_add (entries, e);
    }
  return TRUE;
}

/* The delivery time a Maildir unique name begins with: its digits up to
 * the first '.' (or '_', as some IMAP sync tools write it).  Nine to
 * eleven digits, since 1973 and before 5138; anything else gives 0. */
static gint64
delivery_time (const char *key)
{
  gint64 t = 0;
  gsize n = 0;

  while (g_ascii_isdigit (key[n]) && n < 12)
    t = t * 10 + (key[n++] - '0');
  if (n < 9 || n > 11 || (key[n] != '.' && key[n] != '_'))
    return 0;
  return t;
}

static void
maildir_flags (const char *info, GPtrArray *flags)
{
  static const struct { char letter; const char *flag; } map[] = {
    { 'D', "\\Draft" }, { 'F', "\\Flagged" }, { 'R', "\\Answered" },
    { 'S', "\\Seen" }, { 'T', "\\Deleted" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (map); i++)
    if (info != NULL && strchr (info, map[i].letter) != NULL)
      g_ptr_array_add (flags, (gpointer) map[i].flag);
  g_ptr_array_add (flags, NULL);
}

static gboolean
foreach_maildir (const MhLocalMailbox *mailbox, MhLocalFunc func,
                 gpointer user_data, GError **error)
{
  g_autoptr(GPtrArray) entries =
      g_ptr_array_new_with_free_func (maildir_entry_free);
  g_autofree char *cur = g_build_filename (mailbox->path, "cur", NULL);
  g_autofree char *new_dir = g_build_filename (mailbox->path, "new", NULL);

  if (!maildir_collect (cur, entries, error)
      || !maildir_collect (new_dir, entries, error))
    return FALSE;
  g_ptr_array_sort (entries, compare_entries);
  for (guint i = 0; i < entries->len; i++)
    {
      MaildirEntry *e = entries->pdata[i];
      g_autoptr(GPtrArray) flags = g_ptr_array_new ();
      MhLocalMessage m = { 0 };

      maildir_flags (e->info, flags);
      m.mailbox = mailbox;
      m.uidvalidity = mailbox->uidvalidity;
      m.uid = i + 1;
      m.path = e->path;
      m.flags = (const char *const *) flags->pdata;
      m.delivered = delivery_time (e->key);
      m.done = i + 1;
      m.total = entries->len;
      if (!func (&m, user_data, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
foreach_eml (const MhLocalMailbox *mailbox, MhLocalFunc func,
             gpointer user_data, GError **error)
{
  for (guint i = 0; i < mailbox->files->len; i++)
    {
      MhLocalMessage m = { 0 };

      m.mailbox = mailbox;
      m.path = mailbox->files->pdata[i];
      m.uidvalidity = mailbox->named ? path_hash (m.path)
                                     : mailbox->uidvalidity;
      m.uid = mailbox->named ? 1 : i + 1;
      m.done = i + 1;
      m.total = mailbox->files->len;
      if (!func (&m, user_data, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
mh_local_mailbox_foreach (const MhLocalMailbox *mailbox, const char *tmp_dir,
                          MhLocalFunc func, gpointer user_data,
                          GError **error)
{
  switch (mailbox->kind)
    {
    case MH_LOCAL_MBOX:
      return mh_local_foreach_mbox (mailbox, tmp_dir, func, user_data,
                                    error);
    case MH_LOCAL_MAILDIR:
      return foreach_maildir (mailbox, func, user_data, error);
    case MH_LOCAL_EML:
    default:
      return foreach_eml (mailbox, func, user_data, error);
    }
}
