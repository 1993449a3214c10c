/* html2text.h - the readable text of an HTML mail body.
 *
 * Pure functions over UTF-8 strings; no HTML library, no I/O.  Meant for
 * mail bodies, not for rendering web pages: the goal is text a person or a
 * ticket system can read.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Returns the text of @html (@len bytes of UTF-8, or -1 for a C string):
 * tags removed; the content of script, style, head, title and comments
 * dropped; character references decoded (named ones from a table of the
 * common entities, decimal and hexadecimal ones of any code point, invalid
 * ones as U+FFFD); <br>, paragraphs, divs, headings, list items, table
 * rows and other block elements turned into line breaks; list items start
 * with "- "; runs of white space collapsed to one space outside <pre>;
 * at most one empty line in a row; links kept as "text <url>" when the URL
 * differs from the text and is not a fragment or javascript:.
 *
 * Returns a newly allocated valid UTF-8 string without NUL bytes (possibly
 * empty, never NULL).  Linear in the input; nothing is nested, so there is
 * no depth limit to reach. */
char *mh_html_to_text (const char *html, gssize len);

/* Looks for a charset in the first 4 KiB of @html (@len bytes, any
 * encoding that is ASCII-compatible): <meta charset="..."> or
 * <meta http-equiv="Content-Type" content="...; charset=...">.
 * Returns the label, newly allocated, or NULL. */
char *mh_html_meta_charset (const char *html, gsize len);

G_END_DECLS
