/* base64.h - a streaming, forgiving base64 decoder (RFC 2045 section 6.8).
 *
 * Mail carries base64 wrapped at 76 (or 64) columns, often damaged: junk
 * bytes, '=' in the middle of a part, concatenated encodings, a missing
 * tail.  The decoder never fails; it decodes what it can and counts what
 * it had to skip, so the caller can judge the damage.
 *
 * The result (bytes and counters) depends only on the concatenation of
 * all input, never on how it was split into calls.  For valid input the
 * bytes equal those of g_base64_decode().
 *
 * Rules, byte by byte:
 *  - A-Z a-z 0-9 + /: a sextet; every 4 sextets give 3 bytes.
 *  - CR, LF, space, tab: skipped silently.
 *  - '=': ends the group.  After 2 pending sextets it writes 1 byte,
 *    after 3 it writes 2; after 1 the 6 bits are lost (lost_bits); with
 *    none pending (the second '=' of "==", or a stray one) it does
 *    nothing.  It always sets padded.
 *  - Alphabet after a '=' starts new groups (concatenated base64) and
 *    sets after_pad.
 *  - Any other byte: skipped and counted in invalid.
 *
 * On x86-64 the decoder uses AVX2 or SSSE3 when the CPU has them.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint32 bits;        /* pending sextets, the newest in the low bits */
  guint n;             /* how many sextets are pending (0..3) */
  gsize alphabet;      /* base64 alphabet characters seen */
  gsize invalid;       /* bytes neither alphabet, '=', CR, LF, space, tab */
  gboolean padded;     /* a '=' was seen */
  gboolean after_pad;  /* alphabet characters came after a '=' */
  gboolean lost_bits;  /* a '=' came after a single sextet */
  gboolean truncated;  /* set by finish: the input ended inside a group,
                        * or a '=' lost bits (lost_bits) */
} MhBase64Decoder;

#define MH_BASE64_DECODER_INIT { 0 }

/* The output room mh_base64_decode_step() needs for @len input bytes,
 * whatever state the decoder is in.  No extra slack is needed: the
 * vector code only stores whole vectors where they fit in this bound. */
#define MH_BASE64_DECODE_MAX(len) ((len) / 4 * 3 + 3)

/* Resets @d to MH_BASE64_DECODER_INIT. */
void mh_base64_decoder_init (MhBase64Decoder *d);

/* Decodes @len bytes of @in, carrying partial groups over in @d.  Writes
 * to @out, which must have room for MH_BASE64_DECODE_MAX (@len) bytes;
 * returns how many bytes were written.  @in and @out must not overlap. */
gsize mh_base64_decode_step (MhBase64Decoder *d, const guint8 *in,
                             gsize len, guint8 *out);

/* Ends the input.  A final group without padding is salvaged: 2 pending
 * sextets write 1 byte, 3 write 2 (@out needs room for 2).  Returns how
 * many bytes were written.  Sets truncated when any sextet was pending
 * (a single one is dropped) or lost_bits is set; the decoder is then
 * ready for new groups, with its counters kept. */
gsize mh_base64_decode_finish (MhBase64Decoder *d, guint8 *out);

G_END_DECLS
