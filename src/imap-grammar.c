/* imap-grammar.c - tokenises one line segment of an IMAP response:
 * atoms, quoted strings, literal markers, lists, NIL, response codes and
 * the head of a response (RFC 3501 section 9, RFC 9051 section 9).
 *
 * The caller guarantees that the segment holds no NUL, CR or LF byte and
 * that it is no longer than the line limit, so the functions here only
 * bound nesting and the number of arguments. */
#include "imap-parser-private.h"

#include <string.h>

#include "mailharvest/error.h"

static gboolean
is_ctl (guint8 c)
{
  return c < 0x20 || c == 0x7f;
}

/* Bytes that end an atom.  ']' is handled by the caller because it may
 * belong to the atom (an astring such as "[Gmail]/Sent" or "a]b"). */
static gboolean
ends_atom (guint8 c)
{
  return c == ' ' || c == '(' || c == ')' || c == '"';
}

gboolean
mh_imap_add_arg (MhImapParser *p, GPtrArray *container, MhImapArg *arg,
                 GError **error)
{
  if (p->nargs >= p->limits.max_args)
    {
      mh_imap_arg_free (arg);
      g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                   "IMAP response with more than %u arguments",
                   p->limits.max_args);
      return FALSE;
    }
  p->nargs++;
  g_ptr_array_add (container, arg);
  return TRUE;
}

static gboolean
depth_error (MhImapParser *p, GError **error)
{
  g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
               "IMAP nesting deeper than %u levels", p->limits.max_depth);
  return FALSE;
}

/* Reads an atom starting at c->i.  Inside [ ] any byte but a control is
 * part of the atom, including spaces and parentheses, so that
 * BODY[HEADER.FIELDS (A B)]<0> is one atom.  @depth is the nesting
 * already open around the atom; @in_code makes a ']' outside the atom's
 * own brackets end it. */
static gboolean
read_atom (MhImapParser *p, MhImapCursor *c, guint depth, gboolean in_code,
           gsize *start_out, gsize *len_out, GError **error)
{
  gsize start = c->i;
  guint brackets = 0;
  guint parens = 0;

  while (c->i < c->n)
    {
      guint8 ch = c->s[c->i];

      if (is_ctl (ch))
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                       "control character 0x%02x in an IMAP atom", ch);
          return FALSE;
        }
      if (brackets == 0)
        {
          if (ends_atom (ch))
            break;
          if (ch == ']' && in_code)
            break;
        }
      if (ch == '[')
        {
          brackets++;
          if (depth + brackets + parens > p->limits.max_depth)
            return depth_error (p, error);
        }
      else if (ch == ']' && brackets > 0)
        {
          if (parens > 0)
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "unbalanced parentheses inside [ ] in an IMAP "
                           "atom");
              return FALSE;
            }
          brackets--;
        }
      else if (ch == '(' && brackets > 0)
        {
          parens++;
          if (depth + brackets + parens > p->limits.max_depth)
            return depth_error (p, error);
        }
      else if (ch == ')' && brackets > 0)
        {
          if (parens == 0)
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "unbalanced parentheses inside [ ] in an IMAP "
                           "atom");
              return FALSE;
            }
          parens--;
        }
      c->i++;
    }
  if (brackets > 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "unterminated [ in an IMAP atom");
      return FALSE;
    }
  if (c->i == start)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "empty IMAP atom");
      return FALSE;
    }
  *start_out = start;
  *len_out = c->i - start;
  return TRUE;
}

/* Reads a quoted string whose opening quote is at c->i. */
static char *
read_quoted (MhImapCursor *c, gsize *len_out, GError **error)
{
  g_autoptr(GString) out = g_string_new (NULL);

  c->i++;
  while (c->i < c->n)
    {
      guint8 ch = c->s[c->i++];

      if (ch == '"')
        {
          *len_out = out->len;
          return g_string_free (g_steal_pointer (&out), FALSE);
        }
      if (ch == '\\')
        {
          if (c->i == c->n)
            break;
          ch = c->s[c->i++];
          if (ch != '"' && ch != '\\')
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "invalid escape \\%c in an IMAP quoted string",
                           g_ascii_isprint (ch) ? ch : '?');
              return NULL;
            }
        }
      else if (ch == '\0' || ch == '\r' || ch == '\n')
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                       "control character 0x%02x in an IMAP quoted string",
                       ch);
          return NULL;
        }
      g_string_append_c (out, (char) ch);
    }
  g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
               "unterminated IMAP quoted string");
  return NULL;
}

/* Reads {N}, {N+} or ~{N} at c->i; it must end the segment. */
static gboolean
read_marker (MhImapCursor *c, MhImapMarker *m, GError **error)
{
  guint64 size = 0;
  gsize digits = 0;

  m->literal8 = FALSE;
  if (c->s[c->i] == '~')
    {
      m->literal8 = TRUE;
      c->i++;
    }
  if (c->i == c->n || c->s[c->i] != '{')
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "malformed IMAP literal marker");
      return FALSE;
    }
  c->i++;
  while (c->i < c->n && g_ascii_isdigit (c->s[c->i]))
    {
      guint d = c->s[c->i] - '0';

      /* A size beyond 64 bits is beyond every limit; say so as a limit. */
      if (size > (G_MAXUINT64 - d) / 10)
        size = G_MAXUINT64;
      else
        size = size * 10 + d;
      digits++;
      c->i++;
    }
  if (c->i < c->n && c->s[c->i] == '+')
    c->i++;
  if (digits == 0 || c->i == c->n || c->s[c->i] != '}')
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "malformed IMAP literal marker");
      return FALSE;
    }
  c->i++;
  if (c->i != c->n)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "IMAP literal marker not at the end of a line");
      return FALSE;
    }
  m->size = size;
  return TRUE;
}

MhImapArg *
mh_imap_arg_new (MhImapArgType type)
{
  MhImapArg *arg = g_new0 (MhImapArg, 1);

  arg->type = type;
  return arg;
}

MhImapTokResult
mh_imap_tokenize (MhImapParser *p, MhImapCursor *c, GPtrArray *stack,
                  guint depth0, gboolean in_code, MhImapMarker *marker,
                  GError **error)
{
  for (;;)
    {
      GPtrArray *top;
      guint depth;
      guint8 ch;
      MhImapArg *arg;

      while (c->i < c->n && c->s[c->i] == ' ')
        c->i++;
      if (c->i == c->n)
        {
          if (in_code)
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "unterminated IMAP response code");
              return TOK_ERROR;
            }
          return TOK_END;
        }

      top = g_ptr_array_index (stack, stack->len - 1);
      depth = depth0 + stack->len - 1;
      ch = c->s[c->i];
      if (ch == '(')
        {
          if (depth + 1 > p->limits.max_depth)
            {
              depth_error (p, error);
              return TOK_ERROR;
            }
          arg = mh_imap_arg_new (MH_IMAP_ARG_LIST);
          arg->list = g_ptr_array_new_with_free_func (mh_imap_arg_free);
          if (!mh_imap_add_arg (p, top, arg, error))
            return TOK_ERROR;
          g_ptr_array_add (stack, arg->list);
          c->i++;
        }
      else if (ch == ')')
        {
          if (stack->len == 1)
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "unexpected ) in IMAP response");
              return TOK_ERROR;
            }
          g_ptr_array_set_size (stack, stack->len - 1);
          c->i++;
        }
      else if (ch == ']' && in_code && stack->len == 1)
        {
          c->i++;
          return TOK_CODE_END;
        }
      else if (ch == '"')
        {
          arg = mh_imap_arg_new (MH_IMAP_ARG_STRING);
          arg->str = read_quoted (c, &arg->len, error);
          if (arg->str == NULL)
            {
              mh_imap_arg_free (arg);
              return TOK_ERROR;
            }
          if (!mh_imap_add_arg (p, top, arg, error))
            return TOK_ERROR;
        }
      else if (ch == '{' || (ch == '~' && c->i + 1 < c->n
                             && c->s[c->i + 1] == '{'))
        {
          if (in_code)
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "literal inside an IMAP response code");
              return TOK_ERROR;
            }
          if (!read_marker (c, marker, error))
            return TOK_ERROR;
          return TOK_LITERAL;
        }
      else
        {
          gsize start, len;

          if (!read_atom (p, c, depth, in_code, &start, &len, error))
            return TOK_ERROR;
          if (len == 3 && g_ascii_strncasecmp ((const char *) c->s + start,
                                               "NIL", 3) == 0)
            arg = mh_imap_arg_new (MH_IMAP_ARG_NIL);
          else
            {
              arg = mh_imap_arg_new (MH_IMAP_ARG_ATOM);
              arg->str = g_strndup ((const char *) c->s + start, len);
              arg->len = len;
            }
          if (!mh_imap_add_arg (p, top, arg, error))
            return TOK_ERROR;
        }
    }
}

/* Reads a word ending at a space or the end of the segment: a tag, "*"
 * data keyword or status.  It may not contain IMAP specials. */
static char *
read_word (MhImapCursor *c, const char *what, GError **error)
{
  gsize start = c->i;

  while (c->i < c->n && c->s[c->i] != ' ')
    {
      guint8 ch = c->s[c->i];

      if (is_ctl (ch) || ch == '(' || ch == ')' || ch == '{' || ch == '"'
          || ch == '%' || ch == '\\' || ch == ']' || ch >= 0x80)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                       "invalid character in IMAP %s", what);
          return NULL;
        }
      c->i++;
    }
  if (c->i == start)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "missing IMAP %s", what);
      return NULL;
    }
  return g_strndup ((const char *) c->s + start, c->i - start);
}

/* resp-text: an optional [code args] and free text.  The arguments of a
 * code are tokenised when they can be; RFC 3501 lets an unknown code
 * carry any text but ']', so when tokenising fails they are kept as one
 * raw ATOM instead. */
static gboolean
read_resp_text (MhImapParser *p, MhImapCursor *c, MhImapResponse *resp,
                GError **error)
{
  if (c->i < c->n && c->s[c->i] == '[')
    {
      gsize start;
      g_autoptr(GPtrArray) stack = g_ptr_array_new ();
      MhImapMarker marker;
      MhImapTokResult r;
      guint nargs_before = p->nargs;
      const guint8 *close;

      c->i++;
      start = c->i;
      while (c->i < c->n && c->s[c->i] != ' ' && c->s[c->i] != ']')
        {
          if (is_ctl (c->s[c->i]) || ends_atom (c->s[c->i])
              || c->s[c->i] == '[')
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "invalid character in IMAP response code");
              return FALSE;
            }
          c->i++;
        }
      if (c->i == start || c->i == c->n)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                       "malformed IMAP response code");
          return FALSE;
        }
      resp->code = g_ascii_strup ((const char *) c->s + start,
                                  (gssize) (c->i - start));
      if (c->s[c->i] == ']')
        c->i++;
      else
        {
          MhImapCursor args;
          g_autoptr(GError) local = NULL;

          c->i++;
          args = *c;
          g_ptr_array_add (stack, resp->code_args);
          r = mh_imap_tokenize (p, &args, stack, 1, TRUE, &marker, &local);
          if (r == TOK_CODE_END)
            *c = args;
          else
            {
              MhImapArg *raw;

              g_ptr_array_set_size (resp->code_args, 0);
              p->nargs = nargs_before;
              close = memchr (c->s + c->i, ']', c->n - c->i);
              if (close == NULL)
                {
                  g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                               "unterminated IMAP response code");
                  return FALSE;
                }
              raw = mh_imap_arg_new (MH_IMAP_ARG_ATOM);
              raw->len = (gsize) (close - (c->s + c->i));
              raw->str = g_strndup ((const char *) c->s + c->i, raw->len);
              if (!mh_imap_add_arg (p, resp->code_args, raw, error))
                return FALSE;
              c->i = (gsize) (close - c->s) + 1;
            }
        }
      if (c->i < c->n && c->s[c->i] == ' ')
        c->i++;
    }
  if (c->i < c->n)
    resp->text = g_strndup ((const char *) c->s + c->i, c->n - c->i);
  c->i = c->n;
  return TRUE;
}

static gboolean
is_status (const char *word)
{
  return strcmp (word, "OK") == 0 || strcmp (word, "NO") == 0
         || strcmp (word, "BAD") == 0 || strcmp (word, "BYE") == 0
         || strcmp (word, "PREAUTH") == 0;
}

gboolean
mh_imap_read_head (MhImapParser *p, MhImapCursor *c, MhImapResponse *resp,
                   GError **error)
{
  g_autofree char *word = NULL;

  if (c->n == 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL, "empty IMAP line");
      return FALSE;
    }
  if (c->s[0] == '+')
    {
      resp->kind = MH_IMAP_RESP_CONTINUATION;
      c->i = 1;
      if (c->n > 1 && c->s[1] != ' ')
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                       "malformed IMAP continuation request");
          return FALSE;
        }
      if (c->n > 1)
        c->i = 2;
      if (!read_resp_text (p, c, resp, error))
        return FALSE;
      if (resp->text == NULL)
        resp->text = g_strdup ("");
      return TRUE;
    }

  if (c->s[0] == '*')
    {
      resp->kind = MH_IMAP_RESP_UNTAGGED;
      if (c->n < 2 || c->s[1] != ' ')
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                       "malformed untagged IMAP response");
          return FALSE;
        }
      c->i = 2;
      word = read_word (c, "response name", error);
      if (word == NULL)
        return FALSE;
      if (g_ascii_isdigit (word[0]))
        {
          guint64 v;

          if (!g_ascii_string_to_unsigned (word, 10, 0, G_MAXUINT32, &v,
                                           NULL))
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "invalid message number in IMAP response");
              return FALSE;
            }
          resp->has_number = TRUE;
          resp->number = (guint32) v;
          if (c->i == c->n)
            {
              g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "IMAP response has a number but no name");
              return FALSE;
            }
          c->i++;
          g_clear_pointer (&word, g_free);
          word = read_word (c, "response name", error);
          if (word == NULL)
            return FALSE;
        }
      resp->name = g_ascii_strup (word, -1);
      if (!resp->has_number && is_status (resp->name))
        {
          resp->status = g_steal_pointer (&resp->name);
          if (c->i < c->n)
            c->i++;
          return read_resp_text (p, c, resp, error);
        }
      if (c->i < c->n)
        c->i++;
      return TRUE;
    }

  resp->kind = MH_IMAP_RESP_TAGGED;
  resp->tag = read_word (c, "tag", error);
  if (resp->tag == NULL)
    return FALSE;
  if (c->i == c->n)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "tagged IMAP response without a status");
      return FALSE;
    }
  c->i++;
  word = read_word (c, "status", error);
  if (word == NULL)
    return FALSE;
  resp->status = g_ascii_strup (word, -1);
  if (strcmp (resp->status, "OK") != 0 && strcmp (resp->status, "NO") != 0
      && strcmp (resp->status, "BAD") != 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "invalid status in tagged IMAP response");
      return FALSE;
    }
  if (c->i < c->n)
    c->i++;
  return read_resp_text (p, c, resp, error);
}

