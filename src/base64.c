/* base64.c - streaming base64 decoder with AVX2 and SSSE3 fast paths.
 *
 * Every byte of every base64 attachment passes through here, so the
 * common case (whole lines of alphabet between line breaks) is decoded
 * 32 or 16 characters at a time with vector code, and only line breaks,
 * padding and damage take the byte-at-a-time path.  The vector code
 * checks its block against the alphabet; a block with anything else in
 * it is decoded only up to the last whole group before that byte, so
 * the scalar rules below decide everything that is not plain alphabet.
 */
#include "mailharvest/base64.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MH_BASE64_X86 1
#include <immintrin.h>
#endif

/* Table values above the sextets; all have the top bit set so that four
 * lookups ORed together tell whether a quad is pure alphabet. */
#define SP 0x80 /* CR, LF, space, tab */
#define EQ 0x81 /* '=' */
#define XX 0x82 /* anything else */

static const guint8 b64_table[256] = {
  XX, XX, XX, XX, XX, XX, XX, XX, XX, SP, SP, XX, XX, SP, XX, XX,
  XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
  SP, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, XX, 63,
  52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, EQ, XX, XX,
  XX,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
  15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, XX,
  XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
  41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX,
  XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
  XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
  XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
  XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
  XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
  XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
  XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
  XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
};

#ifdef MH_BASE64_X86

/* The vector kernels store whole registers (32 bytes for 24 decoded,
 * 16 for 12), so they only run while this much input is left: then the
 * rest of the input can itself produce enough output that the store
 * stays inside MH_BASE64_DECODE_MAX of the whole call (the header's
 * promise of no slack).  With R input bytes left and n == 0, the room
 * left is at least floor((R - 3) / 4) * 3 + 3 bytes. */
#define AVX2_MIN_LEFT 44
#define SSSE3_MIN_LEFT 24

/* Alphabet check, one nibble lookup per half: the high nibble picks a
 * class bit (0x01 "2x", 0x02 "3x", 0x04 "4x/6x", 0x08 "5x/7x", 0x10
 * never valid), the low nibble gives the classes in which it is NOT
 * valid.  A byte is alphabet exactly when the two ANDed are zero:
 * 2B '+' 2F '/', 30-39, 41-4F 61-6F, 50-5A 70-7A. */
#define LUT_LO                                                            \
  0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,                         \
  0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A
#define LUT_HI                                                            \
  0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,                         \
  0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10
/* What to add to a character to get its sextet, by high nibble; '/' is
 * moved to index 1 (by adding the 0xFF of a compare) since it shares
 * the high nibble of '+' but needs another offset. */
#define LUT_OFF                                                           \
  0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0
/* Within each 32-bit word, sextets a b c d end up as the value
 * a<<18 | b<<12 | c<<6 | d, whose bytes 2, 1, 0 are the output. */
#define PACK_SHUF                                                         \
  2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1

/* A vector block of @in decoded up to its first non-alphabet byte, at
 * @first within the block that starts at *@done: counts the whole groups
 * before it (already stored at *@o), and steps over that byte when it
 * starts a CR LF or bare LF between whole groups.  Returns whether the
 * vector loop can go on.  Such line breaks are all the vector loops
 * skip; the scalar rules would skip them there too, without a change of
 * state. */
static inline gboolean
step_over_break (const guint8 *in, gsize len, guint first, gsize *done,
                 gsize *o)
{
  const guint8 *p;

  *done += first / 4 * 4;
  *o += first / 4 * 3;
  if (first % 4 != 0)
    return FALSE;
  p = in + *done;
  if (p[0] == '\n')
    *done += 1;
  else if (p[0] == '\r' && len - *done > 1 && p[1] == '\n')
    *done += 2;
  else
    return FALSE;
  return TRUE;
}

/* Decodes 32-character blocks of pure alphabet from @in to @out while at
 * least AVX2_MIN_LEFT bytes are left, stepping over line breaks that
 * fall between whole groups (the 76-column lines of mail).  Returns how
 * many input bytes it consumed; *@out_len gets how many bytes it wrote,
 * 3 for every 4 alphabet characters.  Stops after the last whole group
 * before the first byte that is neither alphabet nor such a line break. */
__attribute__ ((target ("avx2")))
static gsize
decode_avx2 (const guint8 *in, gsize len, guint8 *out, gsize *out_len)
{
  const __m256i lut_lo = _mm256_setr_epi8 (LUT_LO, LUT_LO);
  const __m256i lut_hi = _mm256_setr_epi8 (LUT_HI, LUT_HI);
  const __m256i lut_off = _mm256_setr_epi8 (LUT_OFF, LUT_OFF);
  const __m256i shuf = _mm256_setr_epi8 (PACK_SHUF, PACK_SHUF);
  const __m256i perm = _mm256_setr_epi32 (0, 1, 2, 4, 5, 6, 7, 7);
  const __m256i nibble = _mm256_set1_epi8 (0x0f);
  const __m256i slash = _mm256_set1_epi8 ('/');
  const __m256i mul_pairs = _mm256_set1_epi32 (0x01400140);
  const __m256i mul_words = _mm256_set1_epi32 (0x00011000);
  gsize done = 0;
  gsize o = 0;

  while (len - done >= AVX2_MIN_LEFT)
    {
      __m256i v = _mm256_loadu_si256 ((const __m256i *) (in + done));
      __m256i hi = _mm256_and_si256 (_mm256_srli_epi32 (v, 4), nibble);
      __m256i lo = _mm256_and_si256 (v, nibble);
      __m256i bad = _mm256_and_si256 (_mm256_shuffle_epi8 (lut_lo, lo),
                                      _mm256_shuffle_epi8 (lut_hi, hi));
      guint32 ok = (guint32) _mm256_movemask_epi8 (
        _mm256_cmpeq_epi8 (bad, _mm256_setzero_si256 ()));
      __m256i idx = _mm256_add_epi8 (hi, _mm256_cmpeq_epi8 (v, slash));
      __m256i sext = _mm256_add_epi8 (v, _mm256_shuffle_epi8 (lut_off, idx));
      __m256i words = _mm256_maddubs_epi16 (sext, mul_pairs);
      __m256i dwords = _mm256_madd_epi16 (words, mul_words);
      __m256i bytes = _mm256_shuffle_epi8 (dwords, shuf);

      /* The store happens even for a damaged block: the bytes past the
       * whole groups are overwritten later or lie past the returned
       * length, and AVX2_MIN_LEFT keeps them inside the buffer (the
       * output so far is at most 3 bytes per 4 consumed). */
      _mm256_storeu_si256 ((__m256i *) (out + o),
                           _mm256_permutevar8x32_epi32 (bytes, perm));
      if (ok != 0xffffffffu)
        {
          if (!step_over_break (in, len, (guint) __builtin_ctz (~ok), &done,
                                &o))
            break;
          continue;
        }
      done += 32;
      o += 24;
    }
  *out_len = o;
  return done;
}

/* decode_avx2() for 16-character blocks while SSSE3_MIN_LEFT bytes are
 * left. */
__attribute__ ((target ("ssse3")))
static gsize
decode_ssse3 (const guint8 *in, gsize len, guint8 *out, gsize *out_len)
{
  const __m128i lut_lo = _mm_setr_epi8 (LUT_LO);
  const __m128i lut_hi = _mm_setr_epi8 (LUT_HI);
  const __m128i lut_off = _mm_setr_epi8 (LUT_OFF);
  const __m128i shuf = _mm_setr_epi8 (PACK_SHUF);
  const __m128i nibble = _mm_set1_epi8 (0x0f);
  const __m128i slash = _mm_set1_epi8 ('/');
  const __m128i mul_pairs = _mm_set1_epi32 (0x01400140);
  const __m128i mul_words = _mm_set1_epi32 (0x00011000);
  gsize done = 0;
  gsize o = 0;

  while (len - done >= SSSE3_MIN_LEFT)
    {
      __m128i v = _mm_loadu_si128 ((const __m128i *) (in + done));
      __m128i hi = _mm_and_si128 (_mm_srli_epi32 (v, 4), nibble);
      __m128i lo = _mm_and_si128 (v, nibble);
      __m128i bad = _mm_and_si128 (_mm_shuffle_epi8 (lut_lo, lo),
                                   _mm_shuffle_epi8 (lut_hi, hi));
      guint32 ok = (guint32) _mm_movemask_epi8 (
        _mm_cmpeq_epi8 (bad, _mm_setzero_si128 ()));
      __m128i idx = _mm_add_epi8 (hi, _mm_cmpeq_epi8 (v, slash));
      __m128i sext = _mm_add_epi8 (v, _mm_shuffle_epi8 (lut_off, idx));
      __m128i words = _mm_maddubs_epi16 (sext, mul_pairs);
      __m128i dwords = _mm_madd_epi16 (words, mul_words);

      _mm_storeu_si128 ((__m128i *) (out + o),
                        _mm_shuffle_epi8 (dwords, shuf));
      if (ok != 0xffffu)
        {
          if (!step_over_break (in, len, (guint) __builtin_ctz (~ok), &done,
                                &o))
            break;
          continue;
        }
      done += 16;
      o += 12;
    }
  *out_len = o;
  return done;
}

/* Input bytes consumed by the vector kernels this CPU has, as they are
 * documented above (*@out_len gets the bytes written); 0 when it has
 * neither. */
static gsize
decode_vectors (const guint8 *in, gsize len, guint8 *out, gsize *out_len)
{
  gsize done = 0;
  gsize o = 0;

  if (len >= AVX2_MIN_LEFT && __builtin_cpu_supports ("avx2"))
    {
      done = decode_avx2 (in, len, out, &o);
      /* Stopped at damage rather than near the end: SSSE3 would stop
       * at the same byte. */
      if (len - done >= AVX2_MIN_LEFT)
        {
          *out_len = o;
          return done;
        }
    }
  if (len - done >= SSSE3_MIN_LEFT && __builtin_cpu_supports ("ssse3"))
    {
      gsize more = 0;

      done += decode_ssse3 (in + done, len - done, out + o, &more);
      o += more;
    }
  *out_len = o;
  return done;
}

#else

static gsize
decode_vectors (const guint8 *in, gsize len, guint8 *out, gsize *out_len)
{
  *out_len = 0;
  return 0;
}

#endif

void
mh_base64_decoder_init (MhBase64Decoder *d)
{
  *d = (MhBase64Decoder) MH_BASE64_DECODER_INIT;
}

gsize
mh_base64_decode_step (MhBase64Decoder *d, const guint8 *in, gsize len,
                       guint8 *out)
{
  const guint8 *p = in;
  const guint8 *end = in + len;
  guint8 *o = out;
  guint32 bits = d->bits;
  guint n = d->n;
  gsize alphabet = d->alphabet;
  gsize invalid = d->invalid;

  while (p < end)
    {
      guint v;

      /* Between groups whole quads of alphabet can be decoded without
       * looking at the state; that is nearly all of a normal part. */
      if (n == 0)
        {
          guint8 *o_start = o;
          gsize wrote = 0;

          p += decode_vectors (p, (gsize) (end - p), o, &wrote);
          o += wrote;
          while (end - p >= 4)
            {
              guint a = b64_table[p[0]], b = b64_table[p[1]];
              guint c = b64_table[p[2]], e = b64_table[p[3]];
              guint32 w;

              if ((a | b | c | e) & 0x80)
                break;
              w = (guint32) a << 18 | (guint32) b << 12 | (guint32) c << 6 | e;
              o[0] = (guint8) (w >> 16);
              o[1] = (guint8) (w >> 8);
              o[2] = (guint8) w;
              o += 3;
              p += 4;
            }
          if (o != o_start)
            {
              alphabet += (gsize) (o - o_start) / 3 * 4;
              if (d->padded)
                d->after_pad = TRUE;
            }
          if (p == end)
            break;
        }

      v = b64_table[*p++];
      if (v < 64)
        {
          alphabet++;
          if (d->padded)
            d->after_pad = TRUE;
          bits = bits << 6 | v;
          if (++n == 4)
            {
              o[0] = (guint8) (bits >> 16);
              o[1] = (guint8) (bits >> 8);
              o[2] = (guint8) bits;
              o += 3;
              bits = 0;
              n = 0;
            }
        }
      else if (v == SP)
        {
          while (p < end && b64_table[*p] == SP)
            p++;
        }
      else if (v == EQ)
        {
          /* The top bits of a short group are whole bytes; the low 4 or
           * 2 bits are padding, which is not checked to be zero. */
          if (n == 2)
            *o++ = (guint8) (bits >> 4);
          else if (n == 3)
            {
              o[0] = (guint8) (bits >> 10);
              o[1] = (guint8) (bits >> 2);
              o += 2;
            }
          else if (n == 1)
            d->lost_bits = TRUE;
          d->padded = TRUE;
          bits = 0;
          n = 0;
        }
      else
        invalid++;
    }

  d->bits = bits;
  d->n = n;
  d->alphabet = alphabet;
  d->invalid = invalid;
  return (gsize) (o - out);
}

gsize
mh_base64_decode_finish (MhBase64Decoder *d, guint8 *out)
{
  gsize written = 0;

  if (d->n == 2)
    out[written++] = (guint8) (d->bits >> 4);
  else if (d->n == 3)
    {
      out[written++] = (guint8) (d->bits >> 10);
      out[written++] = (guint8) (d->bits >> 2);
    }
  d->truncated = d->n != 0 || d->lost_bits;
  d->bits = 0;
  d->n = 0;
  return written;
}
