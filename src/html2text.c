/* html2text.c - tags out, text in, for HTML-only mail. */
#include "mailharvest/html2text.h"
#include "mailharvest/charset.h"

#include <string.h>

/* Tag names and entity names longer than these are not ones we know. */
#define MAX_TAG_NAME 16
#define MAX_ENTITY_NAME 10
#define MAX_HREF 2048
#define META_SCAN 4096

typedef struct {
  const char *name;
  guint32 code;
} Entity;

static const Entity entities[] = {
  { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
  { "apos", '\'' }, { "nbsp", 0xA0 }, { "copy", 0xA9 }, { "reg", 0xAE },
  { "trade", 0x2122 }, { "hellip", 0x2026 }, { "mdash", 0x2014 },
  { "ndash", 0x2013 }, { "lsquo", 0x2018 }, { "rsquo", 0x2019 },
  { "ldquo", 0x201C }, { "rdquo", 0x201D }, { "sbquo", 0x201A },
  { "bdquo", 0x201E }, { "bull", 0x2022 }, { "middot", 0xB7 },
  { "euro", 0x20AC }, { "pound", 0xA3 }, { "yen", 0xA5 }, { "cent", 0xA2 },
  { "laquo", 0xAB }, { "raquo", 0xBB }, { "deg", 0xB0 }, { "plusmn", 0xB1 },
  { "times", 0xD7 }, { "divide", 0xF7 }, { "sect", 0xA7 }, { "para", 0xB6 },
  { "shy", 0xAD }, { "iexcl", 0xA1 }, { "iquest", 0xBF }, { "szlig", 0xDF },
  { "auml", 0xE4 }, { "ouml", 0xF6 }, { "uuml", 0xFC }, { "Auml", 0xC4 },
  { "Ouml", 0xD6 }, { "Uuml", 0xDC }, { "eacute", 0xE9 }, { "Eacute", 0xC9 },
  { "egrave", 0xE8 }, { "ecirc", 0xEA }, { "agrave", 0xE0 },
  { "aacute", 0xE1 }, { "acirc", 0xE2 }, { "ccedil", 0xE7 },
  { "iacute", 0xED }, { "oacute", 0xF3 }, { "uacute", 0xFA },
  { "ntilde", 0xF1 }, { "Ntilde", 0xD1 }, { "aring", 0xE5 },
  { "oslash", 0xF8 }, { "aelig", 0xE6 }, { "zwnj", 0x200C },
  { "zwj", 0x200D }, { "ensp", 0x2002 }, { "emsp", 0x2003 },
  { "thinsp", 0x2009 },
};

typedef enum { TAG_OTHER, TAG_BREAK, TAG_LINE, TAG_PARA, TAG_CELL } TagKind;

static const struct {
  const char *name;
  TagKind kind;
} tags[] = {
  { "br", TAG_BREAK }, { "p", TAG_PARA }, { "h1", TAG_PARA },
  { "h2", TAG_PARA }, { "h3", TAG_PARA }, { "h4", TAG_PARA },
  { "h5", TAG_PARA }, { "h6", TAG_PARA }, { "blockquote", TAG_PARA },
  { "table", TAG_PARA }, { "ul", TAG_PARA }, { "ol", TAG_PARA },
  { "pre", TAG_PARA }, { "div", TAG_LINE }, { "tr", TAG_LINE },
  { "li", TAG_LINE }, { "hr", TAG_LINE }, { "dt", TAG_LINE },
  { "dd", TAG_LINE }, { "dl", TAG_LINE }, { "section", TAG_LINE },
  { "article", TAG_LINE }, { "header", TAG_LINE }, { "footer", TAG_LINE },
  { "address", TAG_LINE }, { "center", TAG_LINE }, { "form", TAG_LINE },
  { "fieldset", TAG_LINE }, { "nav", TAG_LINE }, { "main", TAG_LINE },
  { "aside", TAG_LINE }, { "figure", TAG_LINE }, { "caption", TAG_LINE },
  { "body", TAG_LINE }, { "td", TAG_CELL }, { "th", TAG_CELL },
};

typedef struct {
  GString *out;
  gboolean pending_space;
  guint pre_depth;
  char *href;       /* of the open <a>, or NULL */
  gsize link_start; /* out->len when the <a> opened */
} State;

static void
trim_trailing_spaces (GString *out)
{
  while (out->len > 0 && out->str[out->len - 1] == ' ')
    g_string_truncate (out, out->len - 1);
}

static guint
trailing_newlines (GString *out)
{
  guint n = 0;

  while (n < out->len && out->str[out->len - 1 - n] == '\n')
    n++;
  return n;
}

/* Ends the current line so that @lines line breaks separate it from what
 * follows (2 gives an empty line).  Nothing at the very start. */
static void
line_break (State *st, guint lines)
{
  st->pending_space = FALSE;
  trim_trailing_spaces (st->out);
  if (st->out->len == 0)
    return;
  while (trailing_newlines (st->out) < lines)
    g_string_append_c (st->out, '\n');
}

static void
emit_text (State *st, const char *s, gsize n)
{
  if (st->pending_space && st->out->len > 0
      && st->out->str[st->out->len - 1] != '\n'
      && st->out->str[st->out->len - 1] != ' ')
    g_string_append_c (st->out, ' ');
  st->pending_space = FALSE;
  g_string_append_len (st->out, s, (gssize) n);
}

static void
emit_unichar (State *st, gunichar c)
{
  char buf[8];
  gint n;

  if (c == 0 || !g_unichar_validate (c))
    c = 0xFFFD;
  if (c == 0xA0)
    c = ' ';
  n = g_unichar_to_utf8 (c, buf);
  emit_text (st, buf, (gsize) n);
}

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

/* Decodes the character reference at @p (which points at '&').  Returns the
 * number of bytes consumed, 0 when it is not a reference. */
static gsize
decode_entity (const char *p, const char *end, gunichar *c_out)
{
  const char *q = p + 1;

  if (q < end && *q == '#')
    {
      gboolean hex = FALSE;
      guint64 v = 0;
      guint digits = 0;

      q++;
      if (q < end && (*q == 'x' || *q == 'X'))
        {
          hex = TRUE;
          q++;
        }
      while (q < end && (hex ? g_ascii_isxdigit (*q) : g_ascii_isdigit (*q)))
        {
          if (v <= 0x10FFFF)
            v = v * (hex ? 16 : 10)
                + (guint64) (hex ? g_ascii_xdigit_value (*q)
                                 : g_ascii_digit_value (*q));
          digits++;
          q++;
        }
      if (digits == 0)
        return 0;
      if (q < end && *q == ';')
        q++;
      *c_out = v > 0x10FFFF ? 0xFFFD : (gunichar) v;
      return (gsize) (q - p);
    }

  {
    char name[MAX_ENTITY_NAME + 1];
    gsize n = 0;

    while (q < end && g_ascii_isalnum (*q) && n < MAX_ENTITY_NAME)
      name[n++] = *q++;
    name[n] = '\0';
    if (n == 0)
      return 0;
    for (gsize i = 0; i < G_N_ELEMENTS (entities); i++)
      {
        if (strcmp (name, entities[i].name) != 0)
          continue;
        /* Browsers accept the oldest entities without the semicolon. */
        if (q < end && *q == ';')
          q++;
        else if (i > 5)
          return 0;
        *c_out = entities[i].code;
        return (gsize) (q - p);
      }
  }
  return 0;
}

/* Finds a case-insensitive @needle in [@p, @end); returns NULL if absent. */
static const char *
find_ci (const char *p, const char *end, const char *needle)
{
  gsize n = strlen (needle);

  for (; p + n <= end; p++)
    if (g_ascii_strncasecmp (p, needle, n) == 0)
      return p;
  return NULL;
}

/* Reads the value of attribute @attr from the tag text [@p, @end). */
static char *
tag_attribute (const char *p, const char *end, const char *attr)
{
  gsize alen = strlen (attr);

  while (p < end)
    {
      const char *vstart;
      const char *vend;
      char quote = 0;
      gboolean match;

      while (p < end && (is_space (*p) || *p == '/'))
        p++;
      match = (gsize) (end - p) > alen
              && g_ascii_strncasecmp (p, attr, alen) == 0
              && (p[alen] == '=' || is_space (p[alen]));
      while (p < end && !is_space (*p) && *p != '=')
        p++;
      while (p < end && is_space (*p))
        p++;
      if (p >= end || *p != '=')
        continue;
      p++;
      while (p < end && is_space (*p))
        p++;
      if (p < end && (*p == '"' || *p == '\''))
        quote = *p++;
      vstart = p;
      while (p < end && (quote ? *p != quote : !is_space (*p)))
        p++;
      vend = p;
      if (p < end)
        p++;
      if (match)
        {
          gsize vlen = (gsize) (vend - vstart);

          while (vlen > 0 && is_space (*vstart))
            {
              vstart++;
              vlen--;
            }
          if (vlen > MAX_HREF)
            return NULL;
          return g_strndup (vstart, vlen);
        }
    }
  return NULL;
}

static void
close_link (State *st)
{
  g_autofree char *href = g_steal_pointer (&st->href);
  g_autofree char *text = NULL;

  if (href == NULL || href[0] == '#' || href[0] == '\0'
      || g_ascii_strncasecmp (href, "javascript:", 11) == 0
      || st->link_start > st->out->len)
    return;
  text = g_strstrip (g_strdup (st->out->str + st->link_start));
  if (strcmp (text, href) == 0
      || (g_ascii_strncasecmp (href, "mailto:", 7) == 0
          && strcmp (text, href + 7) == 0))
    return;
  emit_text (st, " <", 2);
  g_string_append (st->out, href);
  g_string_append_c (st->out, '>');
}

/* Handles the tag whose text (between '<' and '>') is [@p, @end). */
static void
handle_tag (State *st, const char *p, const char *end)
{
  gboolean closing = FALSE;
  char name[MAX_TAG_NAME + 1];
  gsize n = 0;

  if (p < end && *p == '/')
    {
      closing = TRUE;
      p++;
    }
  while (p < end && (g_ascii_isalnum (*p) || *p == '-' || *p == ':'))
    {
      if (n < MAX_TAG_NAME)
        name[n++] = g_ascii_tolower (*p);
      p++;
    }
  name[n] = '\0';

  if (strcmp (name, "a") == 0)
    {
      if (st->href != NULL)
        close_link (st);
      if (!closing)
        {
          st->href = tag_attribute (p, end, "href");
          st->link_start = st->out->len;
        }
      return;
    }
  if (strcmp (name, "pre") == 0)
    {
      if (closing && st->pre_depth > 0)
        st->pre_depth--;
      else if (!closing && st->pre_depth < G_MAXUINT)
        st->pre_depth++;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (tags); i++)
    {
      if (strcmp (name, tags[i].name) != 0)
        continue;
      switch (tags[i].kind)
        {
        case TAG_BREAK:
          st->pending_space = FALSE;
          trim_trailing_spaces (st->out);
          if (trailing_newlines (st->out) < 2)
            g_string_append_c (st->out, '\n');
          break;
        case TAG_LINE:
          line_break (st, 1);
          if (!closing && strcmp (name, "li") == 0)
            g_string_append (st->out, "- ");
          break;
        case TAG_PARA:
          line_break (st, 2);
          break;
        case TAG_CELL:
          st->pending_space = TRUE;
          break;
        case TAG_OTHER:
          break;
        }
      return;
    }
}

/* Elements whose content is not text for the reader. */
static const char *const skipped[] = { "script", "style", "title",
                                       "template" };

char *
mh_html_to_text (const char *html, gssize len)
{
  State st = { 0 };
  const char *p;
  const char *end;
  g_autofree char *raw = NULL;

  if (html == NULL)
    return g_strdup ("");
  if (len < 0)
    len = (gssize) strlen (html);
  p = html;
  end = html + len;
  st.out = g_string_sized_new ((gsize) len / 2 + 1);

  while (p < end)
    {
      if (*p == '<' && p + 1 < end
          && (g_ascii_isalpha (p[1]) || p[1] == '/' || p[1] == '!'
              || p[1] == '?'))
        {
          const char *tag = p + 1;
          const char *q = tag;
          char quote = 0;

          if (end - p >= 4 && memcmp (p, "<!--", 4) == 0)
            {
              const char *close = find_ci (p + 4, end, "-->");
              p = close != NULL ? close + 3 : end;
              continue;
            }
          /* Quotes matter only inside real tags: a '>' in an attribute
           * value does not end the tag. */
          while (q < end && (quote != 0 || *q != '>'))
            {
              if (quote != 0 && *q == quote)
                quote = 0;
              else if (quote == 0 && (*q == '"' || *q == '\'')
                       && g_ascii_isalpha (tag[0]) && q > tag
                       && q[-1] == '=')
                quote = *q;
              q++;
            }
          if (*tag != '!' && *tag != '?')
            handle_tag (&st, tag, q);
          p = q < end ? q + 1 : end;

          for (gsize i = 0; i < G_N_ELEMENTS (skipped); i++)
            {
              gsize sl = strlen (skipped[i]);
              g_autofree char *closer = NULL;
              const char *c;

              if ((gsize) (q - tag) < sl
                  || g_ascii_strncasecmp (tag, skipped[i], sl) != 0
                  || (tag + sl < q && g_ascii_isalnum (tag[sl])))
                continue;
              closer = g_strconcat ("</", skipped[i], NULL);
              c = find_ci (p, end, closer);
              if (c == NULL)
                p = end;
              else
                {
                  const char *gt = memchr (c, '>', (gsize) (end - c));
                  p = gt != NULL ? gt + 1 : end;
                }
              break;
            }
          continue;
        }
      if (*p == '&')
        {
          gunichar c = 0;
          gsize used = decode_entity (p, end, &c);

          if (used > 0)
            {
              emit_unichar (&st, c);
              p += used;
              continue;
            }
        }
      if (is_space (*p))
        {
          if (st.pre_depth > 0)
            {
              if (*p == '\n')
                g_string_append_c (st.out, '\n');
              else if (*p != '\r')
                g_string_append_c (st.out, ' ');
            }
          else
            st.pending_space = TRUE;
          p++;
          continue;
        }
      emit_text (&st, p, 1);
      p++;
    }
  if (st.href != NULL)
    close_link (&st);

  trim_trailing_spaces (st.out);
  while (st.out->len > 0 && st.out->str[st.out->len - 1] == '\n')
    g_string_truncate (st.out, st.out->len - 1);
  raw = g_string_free (st.out, FALSE);
  {
    const char *s = raw;
    while (*s == '\n' || *s == ' ')
      s++;
    return mh_charset_clean_utf8 (s, strlen (s));
  }
}

char *
mh_html_meta_charset (const char *html, gsize len)
{
  const char *end;
  const char *p;

  if (html == NULL)
    return NULL;
  end = html + MIN (len, META_SCAN);
  p = html;
  while ((p = find_ci (p, end, "charset")) != NULL)
    {
      const char *lt = p;
      const char *q = p + 7;
      const char *v;

      while (lt > html && *lt != '<' && *lt != '>')
        lt--;
      p = q;
      if (*lt != '<' || (gsize) (end - lt) < 5
          || g_ascii_strncasecmp (lt, "<meta", 5) != 0)
        continue;
      while (q < end && is_space (*q))
        q++;
      if (q >= end || *q != '=')
        continue;
      q++;
      while (q < end && (is_space (*q) || *q == '"' || *q == '\''))
        q++;
      v = q;
      while (q < end && (g_ascii_isalnum (*q) || strchr ("-_.:", *q) != NULL)
             && q - v < 40)
        q++;
      if (q > v)
        return g_strndup (v, (gsize) (q - v));
    }
  return NULL;
}
