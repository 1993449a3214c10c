/* msgid.c - Message-ID lists, In-Reply-To heuristics, base subjects and
 * Outlook Thread-Index values. */
#include "mailharvest/msgid.h"

#include <string.h>

/* A header value is cut into words, quoted strings and bracketed texts;
 * comments are dropped.  This is enough to find ids in every shape mailers
 * produce without a full RFC 5322 grammar, which they do not follow. */
typedef enum { TOK_WORD, TOK_QUOTED, TOK_ANGLE } TokKind;

typedef struct {
  TokKind kind;
  char *text;
} Tok;

#define MAX_TOKENS 8192

static void
tok_clear (gpointer data)
{
  Tok *t = data;

  g_free (t->text);
}

static gboolean
is_ws (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static gboolean
is_word_end (char c)
{
  return is_ws (c) || c == ',' || c == ';' || c == '<' || c == '('
         || c == '"' || c == '>' || c == ')';
}

static void
push_tok (GArray *toks, TokKind kind, const char *start, gsize len,
          gboolean drop_ws)
{
  gsize cap = MIN (len, MH_MSGID_MAX_LEN + 1), i, o = 0;
  Tok t;

  if (toks->len >= MAX_TOKENS)
    return;
  /* Longer texts are cut one byte past the id limit, so that they stay
   * invalid as ids. */
  t.text = g_malloc (cap + 1);
  for (i = 0; i < len && o < cap; i++)
    {
      if (drop_ws && is_ws (start[i]))
        continue;
      t.text[o++] = start[i];
    }
  t.text[o] = '\0';
  t.kind = kind;
  g_array_append_val (toks, t);
}

/* Returns the tokens of @value.  Unterminated comments and brackets are
 * handled so that the scan stays linear: after the first one, further
 * '(' or '<' characters are plain separators. */
static GArray *
tokenize (const char *value)
{
  GArray *toks = g_array_new (FALSE, TRUE, sizeof (Tok));
  gboolean comments_ok = TRUE, angles_ok = TRUE;
  const char *p, *end;

  g_array_set_clear_func (toks, tok_clear);
  if (value == NULL)
    return toks;
  p = value;
  end = value + strnlen (value, MH_MSGID_MAX_INPUT);

  while (p < end && toks->len < MAX_TOKENS)
    {
      char c = *p;

      if (c == '(' && comments_ok)
        {
          const char *q = p;
          gsize depth = 0;

          while (q < end)
            {
              if (*q == '\\' && q + 1 < end)
                q++;
              else if (*q == '(')
                depth++;
              else if (*q == ')' && --depth == 0)
                break;
              q++;
            }
          if (q < end)
            p = q + 1;
          else
            {
              comments_ok = FALSE;
              p++;
            }
        }
      else if (c == '<' && angles_ok)
        {
          const char *q = p + 1;

          while (q < end && *q != '>' && *q != '<')
            q++;
          if (q < end && *q == '>')
            {
              push_tok (toks, TOK_ANGLE, p + 1, q - p - 1, TRUE);
              p = q + 1;
            }
          else if (q < end)
            p = q;
          else
            {
              /* "<id@host" cut off: take it up to the next separator. */
              angles_ok = FALSE;
              q = p + 1;
              while (q < end && !is_word_end (*q))
                q++;
              if (q > p + 1)
                push_tok (toks, TOK_ANGLE, p + 1, q - p - 1, FALSE);
              p = q;
            }
        }
      else if (c == '"')
        {
          const char *q = p + 1;

          while (q < end && *q != '"')
            {
              if (*q == '\\' && q + 1 < end)
                q++;
              q++;
            }
          push_tok (toks, TOK_QUOTED, p + 1, q - p - 1, FALSE);
          p = q < end ? q + 1 : q;
        }
      else if (is_word_end (c))
        p++;
      else
        {
          const char *q = p;

          while (q < end && !is_word_end (*q))
            q++;
          push_tok (toks, TOK_WORD, p, q - p, FALSE);
          p = q;
        }
    }
  return toks;
}

gboolean
mh_msgid_is_valid (const char *id)
{
  const char *at;
  gsize len, i;

  if (id == NULL)
    return FALSE;
  len = strnlen (id, MH_MSGID_MAX_LEN + 1);
  if (len == 0 || len > MH_MSGID_MAX_LEN)
    return FALSE;
  at = strrchr (id, '@');
  if (at == NULL || at == id || at[1] == '\0')
    return FALSE;
  for (i = 0; i < len; i++)
    {
      guchar c = id[i];

      if (c < 0x21 || c == 0x7f || c == '<' || c == '>')
        return FALSE;
    }
  return TRUE;
}

char *
mh_msgid_normalize (const char *id)
{
  g_autoptr(GString) s = NULL;
  const char *p, *end;
  char *at;
  g_autofree char *domain = NULL;

  if (id == NULL)
    return NULL;
  p = id;
  end = id + strnlen (id, MH_MSGID_MAX_INPUT);
  while (p < end && is_ws (*p))
    p++;
  while (end > p && is_ws (end[-1]))
    end--;
  if (end - p >= 2 && *p == '<' && end[-1] == '>')
    {
      p++;
      end--;
    }
  s = g_string_new (NULL);
  for (; p < end && s->len <= MH_MSGID_MAX_LEN; p++)
    if (!is_ws (*p))
      g_string_append_c (s, *p);
  if (!mh_msgid_is_valid (s->str))
    return NULL;

  /* The local part is case-sensitive (RFC 5322 3.6.4 compares ids
   * exactly); domains are not, and some gateways change their case. */
  at = strrchr (s->str, '@');
  for (p = at + 1; *p != '\0' && (guchar) *p < 0x80; p++)
    ;
  if (*p == '\0')
    {
      for (p = at + 1; *p != '\0'; p++)
        *(char *) p = g_ascii_tolower (*p);
      return g_string_free (g_steal_pointer (&s), FALSE);
    }
  /* g_utf8_strdown is slow; only international domains need it. */
  if (g_utf8_validate (at + 1, -1, NULL))
    domain = g_utf8_strdown (at + 1, -1);
  else
    domain = g_ascii_strdown (at + 1, -1);
  g_string_truncate (s, at + 1 - s->str);
  g_string_append (s, domain);
  if (!mh_msgid_is_valid (s->str))
    return NULL;
  return g_string_free (g_steal_pointer (&s), FALSE);
}

char *
mh_msgid_parse_message_id (const char *value)
{
  g_autoptr(GPtrArray) ids = mh_msgid_parse_references (value);

  if (ids->len == 0)
    return NULL;
  return g_strdup (g_ptr_array_index (ids, 0));
}

char *
mh_msgid_from_header_block (const char *block, gsize len)
{
  static const char field[] = "Message-ID:";
  const gsize flen = sizeof field - 1;
  gsize i = 0;

  while (i < len)
    {
      gsize eol = i;

      while (eol < len && block[eol] != '\n')
        eol++;
      /* An empty line ends the fields. */
      if (eol == i || (eol == i + 1 && block[i] == '\r'))
        return NULL;
      if (eol - i > flen && g_ascii_strncasecmp (block + i, field, flen) == 0)
        {
          g_autoptr(GString) value = g_string_new (NULL);
          g_autofree char *id = NULL;
          gsize p = i + flen;

          /* The value and its continuation lines, unfolded. */
          for (;;)
            {
              for (; p < eol && value->len < MH_MSGID_MAX_INPUT; p++)
                if (block[p] != '\r' && block[p] != '\0')
                  g_string_append_c (value, block[p]);
              if (eol + 1 >= len
                  || (block[eol + 1] != ' ' && block[eol + 1] != '\t'))
                break;
              p = eol + 1;
              for (eol = p; eol < len && block[eol] != '\n'; eol++)
                ;
            }
          id = mh_msgid_parse_message_id (value->str);
          return id != NULL ? mh_msgid_normalize (id) : NULL;
        }
      i = eol + 1;
    }
  return NULL;
}

GPtrArray *
mh_msgid_parse_references (const char *value)
{
  g_autoptr(GArray) toks = tokenize (value);
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  guint i;

  for (i = 0; i < toks->len; i++)
    {
      Tok *t = &g_array_index (toks, Tok, i);

      if (t->kind == TOK_QUOTED || !mh_msgid_is_valid (t->text))
        continue;
      g_ptr_array_add (ids, g_strdup (t->text));
    }
  if (ids->len > MH_MSGID_MAX_IDS)
    g_ptr_array_remove_range (ids, 1, ids->len - MH_MSGID_MAX_IDS);
  return ids;
}

/* Words of prose around ids in In-Reply-To ("Your message of Mon, 1 Jan
 * 2024 <id>"); a bracketed id after one of them is not an address. */
static const char *const prose_words[] = {
  "message", "mail", "email", "e-mail", "msg", "note", "letter",
  "article", "your", "my", "his", "her", "their", "our", "of", "re", "in",
  "reply", "to", "on", "at", "dated", "sent", "wrote", "posted", "the",
  "nachricht", "vom", "am", "mon", "tue", "wed", "thu", "fri", "sat",
  "sun", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
  "oct", "nov", "dec", NULL,
};

static gboolean
has_digit (const char *s)
{
  for (; *s; s++)
    if (g_ascii_isdigit (*s))
      return TRUE;
  return FALSE;
}

static gboolean
has_letter (const char *s)
{
  for (; *s; s++)
    if (g_ascii_isalpha (*s) || (guchar) *s >= 0x80)
      return TRUE;
  return FALSE;
}

/* A word that could end a display name: "Alice", "Smith" or a quoted
 * "Alice Smith", but not a date, a number or a word of prose. */
static gboolean
is_name_like (const Tok *t)
{
  g_autofree char *w = NULL;
  gsize len;

  if (t->kind == TOK_QUOTED)
    return !has_digit (t->text);
  if (t->kind != TOK_WORD)
    return FALSE;
  len = strlen (t->text);
  if (len == 0 || strchr (",:;", t->text[len - 1]) != NULL)
    return FALSE;
  if (has_digit (t->text) || !has_letter (t->text)
      || strchr (t->text, '@') != NULL)
    return FALSE;
  w = g_ascii_strdown (t->text, -1);
  if (w[len - 1] == '.')
    w[len - 1] = '\0';
  return !g_strv_contains (prose_words, w);
}

static gboolean
is_from_word (const Tok *t)
{
  g_autofree char *w = NULL;
  gsize len;

  if (t->kind != TOK_WORD)
    return FALSE;
  w = g_ascii_strdown (t->text, -1);
  len = strlen (w);
  if (len > 0 && w[len - 1] == ':')
    w[len - 1] = '\0';
  return strcmp (w, "from") == 0 || strcmp (w, "by") == 0
         || strcmp (w, "von") == 0;
}

static gboolean
is_possessive (const char *s)
{
  return g_str_has_prefix (s, "'s") || g_str_has_prefix (s, "\xe2\x80\x99s");
}

/* Generated ids carry many digits or characters people do not put in
 * their addresses; such a candidate stays an id even after a word that
 * could be a name ("Sua mensagem <CAF=x1234@mail.gmail.com>"). */
static gboolean
looks_generated (const char *id)
{
  const char *at = strrchr (id, '@');
  guint digits = 0;
  const char *p;

  for (p = id; p < at; p++)
    {
      if (g_ascii_isdigit (*p))
        digits++;
      else if (strchr ("=$%#", *p) != NULL)
        return TRUE;
    }
  return digits >= 4 || at - id >= 30;
}

static gboolean
is_hint (const char *cand, const char *const *addresses)
{
  for (; addresses != NULL && *addresses != NULL; addresses++)
    if (g_ascii_strcasecmp (cand, *addresses) == 0)
      return TRUE;
  return FALSE;
}

char *
mh_msgid_parse_in_reply_to (const char *value, const char *const *addresses)
{
  g_autoptr(GArray) toks = tokenize (value);
  guint i;

  for (i = 0; i < toks->len; i++)
    {
      Tok *t = &g_array_index (toks, Tok, i);
      Tok *prev = i > 0 ? &g_array_index (toks, Tok, i - 1) : NULL;
      Tok *next = i + 1 < toks->len ? &g_array_index (toks, Tok, i + 1) : NULL;

      if (t->kind != TOK_ANGLE || !mh_msgid_is_valid (t->text))
        continue;
      if (is_hint (t->text, addresses))
        continue;
      if (prev != NULL && is_from_word (prev))
        continue;
      if (prev != NULL && is_name_like (prev) && !looks_generated (t->text))
        continue;
      if (next != NULL && next->kind == TOK_WORD && is_possessive (next->text))
        continue;
      return g_strdup (t->text);
    }

  /* Broken mailers write the id without brackets. */
  for (i = 0; i < toks->len; i++)
    {
      Tok *t = &g_array_index (toks, Tok, i);
      Tok *prev = i > 0 ? &g_array_index (toks, Tok, i - 1) : NULL;
      g_autofree char *w = NULL;
      char *apos;
      gsize len;

      if (t->kind != TOK_WORD || strchr (t->text, '@') == NULL)
        continue;
      w = g_strdup (t->text);
      apos = strchr (w, '\'');
      if (apos == NULL)
        apos = strstr (w, "\xe2\x80\x99");
      if (apos != NULL && is_possessive (apos))
        continue;
      len = strlen (w);
      while (len > 0 && strchr (".,;:", w[len - 1]) != NULL)
        w[--len] = '\0';
      if (!mh_msgid_is_valid (w) || is_hint (w, addresses))
        continue;
      if (prev != NULL && is_from_word (prev))
        continue;
      return g_steal_pointer (&w);
    }
  return NULL;
}

/* Reply and forward markers, case-folded.  The list is the one mail
 * clients actually emit in the languages our users write; a longer list
 * would start eating real subjects ("Tr: ..." is already borderline). */
static const char *const reply_markers[] = {
  "re", "aw", "sv", "antw", "antwort", "vs", "fwd", "fw", "tr", "wg",
  "r\xc3\xa9" "f",                    /* réf */
  "\xe5\x9b\x9e\xe5\xa4\x8d",         /* 回复 */
  "\xe7\xad\x94\xe5\xa4\x8d",         /* 答复 */
  "\xe8\xbd\xac\xe5\x8f\x91",         /* 转发 */
  "\xe5\x9b\x9e\xe8\xa6\x86",         /* 回覆 */
  "\xe8\xbd\x89\xe7\x99\xbc",         /* 轉發 */
  NULL,
};

#define MAX_MARKER 16  /* bytes of a marker word */
#define MAX_TAG 128    /* bytes of a "[list]" tag */

static const char *
skip_space (const char *p)
{
  for (;;)
    {
      gunichar c = g_utf8_get_char (p);

      if (c == 0 || !g_unichar_isspace (c))
        return p;
      p = g_utf8_next_char (p);
    }
}

/* Returns the text after a colon (ASCII or fullwidth) at @p, or NULL. */
static const char *
after_colon (const char *p)
{
  if (*p == ':')
    return p + 1;
  if (g_str_has_prefix (p, "\xef\xbc\x9a"))
    return p + 3;
  return NULL;
}

/* Matches "Re:", "RE :", "Re[2]:", "Re(2):", "回复：" at @p and returns
 * the text after it, or NULL. */
static const char *
match_marker (const char *p)
{
  const char *q = p, *r;
  g_autofree char *word = NULL;
  g_autofree char *folded = NULL;

  while (*q != '\0' && q - p <= MAX_MARKER && *q != ':' && *q != '['
         && *q != '(' && !g_ascii_isspace (*q) && after_colon (q) == NULL)
    q = g_utf8_next_char (q);
  if (q == p || q - p > MAX_MARKER)
    return NULL;
  word = g_strndup (p, q - p);
  folded = g_utf8_casefold (word, -1);
  if (!g_strv_contains (reply_markers, folded))
    return NULL;
  if (*q == '[' || *q == '(')
    {
      char close = *q == '[' ? ']' : ')';

      r = q + 1;
      while (g_ascii_isdigit (*r) && r - q < 8)
        r++;
      if (r == q + 1 || *r != close)
        return NULL;
      q = r + 1;
    }
  q = skip_space (q);
  return after_colon (q);
}

static gboolean
is_ascii (const char *p, const char *end)
{
  for (; p < end; p++)
    if ((guchar) *p >= 0x80)
      return FALSE;
  return TRUE;
}

char *
mh_msgid_subject_base (const char *subject, gboolean *is_reply_out)
{
  g_autofree char *valid = NULL;
  g_autofree char *cut = NULL;
  g_autofree char *norm = NULL;
  g_autofree char *folded = NULL;
  g_autoptr(GString) out = NULL;
  gboolean reply = FALSE, space = FALSE;
  const char *p, *end;
  gsize len;

  if (is_reply_out != NULL)
    *is_reply_out = FALSE;
  if (subject == NULL)
    return g_strdup ("");
  len = strnlen (subject, MH_MSGID_MAX_SUBJECT);
  valid = g_utf8_make_valid (subject, len);
  /* make_valid may have grown the text; cut it back at a character. */
  if (strlen (valid) > MH_MSGID_MAX_SUBJECT)
    {
      const char *c = valid;

      while (*c != '\0' && g_utf8_next_char (c) - valid
                           <= MH_MSGID_MAX_SUBJECT)
        c = g_utf8_next_char (c);
      cut = g_strndup (valid, c - valid);
    }
  else
    cut = g_steal_pointer (&valid);

  /* Each round removes at least one character, so this ends. */
  p = cut;
  for (;;)
    {
      const char *q;

      p = skip_space (p);
      if (*p == '[')
        {
          q = p + 1;
          while (*q != '\0' && *q != ']' && *q != '[' && q - p < MAX_TAG)
            q++;
          if (*q != ']' || *skip_space (q + 1) == '\0')
            break;
          p = q + 1;
          continue;
        }
      q = match_marker (p);
      if (q == NULL)
        break;
      reply = TRUE;
      p = q;
    }

  /* The "(fwd)" trailer of old forwarders, as RFC 5256 removes it. */
  end = p + strlen (p);
  for (;;)
    {
      while (end > p && g_ascii_isspace (end[-1]))
        end--;
      if (end - p >= 5 && g_ascii_strncasecmp (end - 5, "(fwd)", 5) == 0)
        {
          end -= 5;
          reply = TRUE;
          continue;
        }
      break;
    }

  /* Most subjects are ASCII, where NFKC changes nothing and case
   * folding is ASCII's: the same result for a fraction of the work (the
   * conversation step computes this for every message, twice). */
  if (is_ascii (p, end))
    folded = g_ascii_strdown (p, end - p);
  else
    {
      norm = g_utf8_normalize (p, end - p, G_NORMALIZE_NFKC);
      folded = g_utf8_casefold (norm != NULL ? norm : "", -1);
    }
  out = g_string_sized_new (strlen (folded) + 1);
  for (p = folded; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c))
        {
          space = out->len > 0;
          continue;
        }
      if (space)
        g_string_append_c (out, ' ');
      space = FALSE;
      g_string_append_unichar (out, c);
    }
  if (is_reply_out != NULL)
    *is_reply_out = reply;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Subjects that many unrelated conversations share.  Joining by them is
 * how subject threading goes wrong ("Invoice" from two customers). */
static const char *const generic_subjects[] = {
  "hello", "hi", "hey", "hallo", "hello there", "greetings",
  "good morning", "test", "testing", "question", "questions", "quick question",
  "invoice", "receipt", "order", "your order", "payment", "meeting",
  "call", "update", "updates", "info", "information", "request", "help",
  "urgent", "important", "reminder", "thanks", "thank you", "fyi",
  "follow up", "follow-up", "followup", "status", "report", "no subject",
  "(no subject)", "untitled", "document", "documents", "photos",
  "pictures", "contract", "offer", "quote", "newsletter", "frage",
  "rechnung", "anfrage", "bestellung", "termin", "kein betreff",
  "sans objet", "\xe6\x97\xa0\xe4\xb8\xbb\xe9\xa2\x98", /* 无主题 */
  NULL,
};

gboolean
mh_msgid_subject_is_generic (const char *base)
{
  g_autofree char *trimmed = NULL;
  const char *p;
  guint alnum = 0;
  gsize len;

  if (base == NULL)
    return TRUE;
  for (p = base; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_isalnum (g_utf8_get_char (p)))
      alnum++;
  if (alnum < 3)
    return TRUE;
  trimmed = g_strdup (base);
  len = strlen (trimmed);
  while (len > 0 && strchr ("!?.: ", trimmed[len - 1]) != NULL)
    trimmed[--len] = '\0';
  return g_strv_contains (generic_subjects, trimmed);
}

GBytes *
mh_msgid_thread_index_decode (const char *value)
{
  const gsize max_bytes = MH_MSGID_THREAD_INDEX_HEADER
                          + MH_MSGID_THREAD_INDEX_BLOCK
                            * MH_MSGID_THREAD_INDEX_MAX_BLOCKS;
  g_autoptr(GString) b64 = NULL;
  g_autofree guchar *raw = NULL;
  gsize len = 0, pad = 0;
  const char *p;

  if (value == NULL)
    return NULL;
  b64 = g_string_new (NULL);
  for (p = value; *p != '\0'; p++)
    {
      if (is_ws (*p))
        continue;
      if (b64->len > (max_bytes + 2) / 3 * 4)
        return NULL;
      if (*p == '=')
        pad++;
      else if (pad > 0 || !(g_ascii_isalnum (*p) || *p == '+' || *p == '/'))
        return NULL;
      g_string_append_c (b64, *p);
    }
  /* Padding may be missing; a lone trailing character never decodes. */
  if (pad > 2 || b64->len % 4 == 1)
    return NULL;
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');
  raw = g_base64_decode (b64->str, &len);
  if (raw == NULL || len < MH_MSGID_THREAD_INDEX_HEADER || len > max_bytes
      || (len - MH_MSGID_THREAD_INDEX_HEADER)
           % MH_MSGID_THREAD_INDEX_BLOCK != 0)
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&raw), len);
}

guint
mh_msgid_thread_index_depth (GBytes *index)
{
  gsize len = g_bytes_get_size (index);

  if (len < MH_MSGID_THREAD_INDEX_HEADER)
    return 0;
  return (len - MH_MSGID_THREAD_INDEX_HEADER) / MH_MSGID_THREAD_INDEX_BLOCK;
}

gboolean
mh_msgid_thread_index_is_ancestor (GBytes *parent, GBytes *child)
{
  gsize plen, clen;
  const guint8 *pd, *cd;

  if (parent == NULL || child == NULL)
    return FALSE;
  pd = g_bytes_get_data (parent, &plen);
  cd = g_bytes_get_data (child, &clen);
  return plen >= MH_MSGID_THREAD_INDEX_HEADER && plen < clen
         && memcmp (pd, cd, plen) == 0;
}
