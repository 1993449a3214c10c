/* test-base64.c - the streaming base64 decoder: valid input in every
 * wrapping and split, damage with exact results, and a byte-by-byte
 * reference decoder to check the vector paths against. */
#include <string.h>

#include "mailharvest/base64.h"

#include "testlib.h"

/* Everything a decode produces: the bytes and the final state. */
typedef struct {
  GByteArray *bytes;
  MhBase64Decoder d;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->bytes, g_byte_array_unref);
}

/* Feeds @in in pieces: @step 0 means pieces of random length up to @max
 * (from @rand), otherwise pieces of @step bytes.  Every piece is copied
 * to a buffer of its exact size and decoded into one of exactly
 * MH_BASE64_DECODE_MAX bytes, so ASan catches any read or write past
 * the documented bounds. */
static void
decode_pieces (const guint8 *in, gsize len, gsize step, gsize max,
               GRand *rand, Result *r)
{
  gsize pos = 0;
  guint8 tail[2];
  gsize t;

  r->bytes = g_byte_array_new ();
  mh_base64_decoder_init (&r->d);
  while (pos < len)
    {
      gsize n = step;
      g_autofree guint8 *piece = NULL;
      g_autofree guint8 *out = NULL;
      gsize got;

      if (n == 0)
        n = (gsize) g_rand_int_range (rand, 1, (gint32) max + 1);
      n = MIN (n, len - pos);
      piece = g_malloc (n);
      memcpy (piece, in + pos, n);
      out = g_malloc (MH_BASE64_DECODE_MAX (n));
      got = mh_base64_decode_step (&r->d, piece, n, out);
      g_assert_cmpuint (got, <=, MH_BASE64_DECODE_MAX (n));
      g_byte_array_append (r->bytes, out, (guint) got);
      pos += n;
    }
  t = mh_base64_decode_finish (&r->d, tail);
  g_byte_array_append (r->bytes, tail, (guint) t);
}

static void
decode_whole (const guint8 *in, gsize len, Result *r)
{
  decode_pieces (in, len, MAX (len, 1), 0, NULL, r);
}

static void
assert_same_result (const Result *a, const Result *b)
{
  g_assert_cmpmem (a->bytes->data, a->bytes->len, b->bytes->data,
                   b->bytes->len);
  g_assert_cmpuint (a->d.alphabet, ==, b->d.alphabet);
  g_assert_cmpuint (a->d.invalid, ==, b->d.invalid);
  g_assert_cmpint (a->d.padded, ==, b->d.padded);
  g_assert_cmpint (a->d.after_pad, ==, b->d.after_pad);
  g_assert_cmpint (a->d.lost_bits, ==, b->d.lost_bits);
  g_assert_cmpint (a->d.truncated, ==, b->d.truncated);
}

/* The rules of base64.h, one byte at a time and written as plainly as
 * possible, to check the fast paths against. */
static void
decode_reference (const guint8 *in, gsize len, Result *r)
{
  static const char alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  guint32 bits = 0;
  guint n = 0;

  r->bytes = g_byte_array_new ();
  memset (&r->d, 0, sizeof r->d);
  for (gsize i = 0; i < len; i++)
    {
      const char *hit = in[i] != 0 ? strchr (alpha, in[i]) : NULL;
      guint8 b[2];

      if (hit != NULL)
        {
          r->d.alphabet++;
          if (r->d.padded)
            r->d.after_pad = TRUE;
          bits = bits << 6 | (guint32) (hit - alpha);
          if (++n == 4)
            {
              guint8 g[3] = { (guint8) (bits >> 16), (guint8) (bits >> 8),
                              (guint8) bits };

              g_byte_array_append (r->bytes, g, 3);
              bits = 0;
              n = 0;
            }
        }
      else if (in[i] == '=')
        {
          r->d.padded = TRUE;
          if (n == 1)
            r->d.lost_bits = TRUE;
          else if (n == 2)
            {
              b[0] = (guint8) (bits >> 4);
              g_byte_array_append (r->bytes, b, 1);
            }
          else if (n == 3)
            {
              b[0] = (guint8) (bits >> 10);
              b[1] = (guint8) (bits >> 2);
              g_byte_array_append (r->bytes, b, 2);
            }
          bits = 0;
          n = 0;
        }
      else if (!strchr ("\r\n \t", in[i]) || in[i] == 0)
        r->d.invalid++;
    }
  if (n == 2 || n == 3)
    {
      guint8 b[2] = { (guint8) (bits >> (n == 2 ? 4 : 10)),
                      (guint8) (bits >> 2) };

      g_byte_array_append (r->bytes, b, n - 1);
    }
  r->d.truncated = n != 0 || r->d.lost_bits;
}

/* @enc wrapped at @width columns with @eol after every line, the last
 * one included; width 0 leaves it on one line. */
static GString *
wrap (const char *enc, gsize width, const char *eol)
{
  gsize len = strlen (enc);
  GString *s = g_string_sized_new (len + len / 32 + 4);

  if (width == 0)
    return g_string_append (s, enc);
  for (gsize i = 0; i < len; i += width)
    {
      g_string_append_len (s, enc + i, (gssize) MIN (width, len - i));
      g_string_append (s, eol);
    }
  return s;
}

static guint8 *
random_bytes (GRand *rand, gsize len)
{
  guint8 *buf = g_malloc (MAX (len, 1));

  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8) g_rand_int_range (rand, 0, 256);
  return buf;
}

static const struct {
  gsize width;
  const char *eol;
} wraps[] = {
  { 76, "\r\n" }, { 76, "\n" }, { 64, "\n" }, { 64, "\r\n" }, { 0, "" },
};

/* Checks a decode of valid base64 of @data. */
static void
assert_valid_decode (const Result *r, const guint8 *data, gsize len,
                     gsize alphabet)
{
  g_assert_cmpmem (r->bytes->data, r->bytes->len, data, len);
  g_assert_cmpuint (r->d.invalid, ==, 0);
  g_assert_cmpuint (r->d.alphabet, ==, alphabet);
  g_assert_false (r->d.after_pad);
  g_assert_false (r->d.lost_bits);
  g_assert_false (r->d.truncated);
  g_assert_cmpint (r->d.padded, ==, len % 3 != 0);
}

static void
test_round_trip (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());

  for (gsize len = 0; len <= 5000; len++)
    {
      g_autofree guint8 *data = random_bytes (rand, len);
      g_autofree char *enc = g_base64_encode (data, len);
      gsize alphabet = strcspn (enc, "=");
      const gsize w = len % G_N_ELEMENTS (wraps);
      g_autoptr(GString) in = wrap (enc, wraps[w].width, wraps[w].eol);
      Result whole = { 0 }, split = { 0 };

      decode_whole ((const guint8 *) in->str, in->len, &whole);
      assert_valid_decode (&whole, data, len, alphabet);
      decode_pieces ((const guint8 *) in->str, in->len, 0, 200, rand, &split);
      assert_valid_decode (&split, data, len, alphabet);
      result_clear (&split);
      if (len <= 300)
        {
          decode_pieces ((const guint8 *) in->str, in->len, 1, 0, NULL,
                         &split);
          assert_valid_decode (&split, data, len, alphabet);
          result_clear (&split);
        }
      result_clear (&whole);
    }
}

static void
test_round_trip_large (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  const gsize len = 3 * 1024 * 1024 + 17;
  g_autofree guint8 *data = random_bytes (rand, len);
  g_autofree char *enc = g_base64_encode (data, len);
  gsize alphabet = strcspn (enc, "=");

  for (gsize w = 0; w < G_N_ELEMENTS (wraps); w++)
    {
      g_autoptr(GString) in = wrap (enc, wraps[w].width, wraps[w].eol);
      Result whole = { 0 }, split = { 0 };

      decode_whole ((const guint8 *) in->str, in->len, &whole);
      assert_valid_decode (&whole, data, len, alphabet);
      decode_pieces ((const guint8 *) in->str, in->len, 0, 65536, rand,
                     &split);
      assert_valid_decode (&split, data, len, alphabet);
      result_clear (&whole);
      result_clear (&split);
    }
}

typedef struct {
  const char *in;
  gsize in_len;
  const char *out;
  gsize out_len;
  gsize alphabet;
  gsize invalid;
  gboolean padded;
  gboolean after_pad;
  gboolean lost_bits;
  gboolean truncated;
} Damage;

#define S(s) s, sizeof s - 1

static const Damage damages[] = {
  { S (""), S (""), 0, 0, FALSE, FALSE, FALSE, FALSE },
  { S (" \r\n\t  \n"), S (""), 0, 0, FALSE, FALSE, FALSE, FALSE },
  { S ("SGVs!!bG8="), S ("Hello"), 7, 2, TRUE, FALSE, FALSE, FALSE },
  { S ("QQ==QUJD"), S ("AABC"), 6, 0, TRUE, TRUE, FALSE, FALSE },
  { S ("QUJDRA"), S ("ABCD"), 6, 0, FALSE, FALSE, FALSE, TRUE },
  { S ("QUJDREU"), S ("ABCDE"), 7, 0, FALSE, FALSE, FALSE, TRUE },
  { S ("QUJDR"), S ("ABC"), 5, 0, FALSE, FALSE, FALSE, TRUE },
  { S ("QUJDR="), S ("ABC"), 5, 0, TRUE, FALSE, TRUE, TRUE },
  { S ("QUJDR=QUJD"), S ("ABCABC"), 9, 0, TRUE, TRUE, TRUE, TRUE },
  { S ("QUJD=QUJD"), S ("ABCABC"), 8, 0, TRUE, TRUE, FALSE, FALSE },
  { S ("Q U\r\nJ\tD"), S ("ABC"), 4, 0, FALSE, FALSE, FALSE, FALSE },
  { S ("\xffQU\x00JD\x80"), S ("ABC"), 4, 3, FALSE, FALSE, FALSE, FALSE },
  { S ("QUJDREU=\r\n"), S ("ABCDE"), 7, 0, TRUE, FALSE, FALSE, FALSE },
  { S ("QUJDRA===="), S ("ABCD"), 6, 0, TRUE, FALSE, FALSE, FALSE },
  { S ("-- QUJD --"), S ("ABC"), 4, 4, FALSE, FALSE, FALSE, FALSE },
  /* Long enough for the vector paths, with damage inside their blocks. */
  { S ("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5"
       "ejAxMjM0NTY3ODk=QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xt"
       "bm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk*QUJD"),
    S ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
       "\x10" "P\x90"),
    170, 1, TRUE, TRUE, FALSE, TRUE },
};

static void
assert_damage (const Damage *c, const Result *r)
{
  g_assert_cmpmem (r->bytes->data, r->bytes->len, c->out, c->out_len);
  g_assert_cmpuint (r->d.alphabet, ==, c->alphabet);
  g_assert_cmpuint (r->d.invalid, ==, c->invalid);
  g_assert_cmpint (r->d.padded, ==, c->padded);
  g_assert_cmpint (r->d.after_pad, ==, c->after_pad);
  g_assert_cmpint (r->d.lost_bits, ==, c->lost_bits);
  g_assert_cmpint (r->d.truncated, ==, c->truncated);
}

static void
test_damage (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (damages); i++)
    {
      const Damage *c = &damages[i];
      Result whole = { 0 }, ref = { 0 };

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      decode_whole ((const guint8 *) c->in, c->in_len, &whole);
      assert_damage (c, &whole);
      decode_reference ((const guint8 *) c->in, c->in_len, &ref);
      assert_damage (c, &ref);
      result_clear (&whole);
      result_clear (&ref);
    }
}

/* Decodes @in split at @a and @b (a <= b). */
static void
decode_split3 (const guint8 *in, gsize len, gsize a, gsize b, Result *r)
{
  MhBase64Decoder d = MH_BASE64_DECODER_INIT;
  const gsize cut[4] = { 0, a, b, len };
  guint8 tail[2];
  gsize t;

  r->bytes = g_byte_array_new ();
  for (guint k = 0; k < 3; k++)
    {
      gsize n = cut[k + 1] - cut[k];
      g_autofree guint8 *piece = g_malloc (MAX (n, 1));
      g_autofree guint8 *out = g_malloc (MH_BASE64_DECODE_MAX (n));
      gsize got;

      memcpy (piece, in + cut[k], n);
      got = mh_base64_decode_step (&d, piece, n, out);
      g_byte_array_append (r->bytes, out, (guint) got);
    }
  t = mh_base64_decode_finish (&d, tail);
  g_byte_array_append (r->bytes, tail, (guint) t);
  r->d = d;
}

/* Every split into two or three pieces gives the same result. */
static void
test_chunk_independence (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (damages); i++)
    {
      const Damage *c = &damages[i];
      const guint8 *in = (const guint8 *) c->in;

      for (gsize a = 0; a <= c->in_len; a++)
        for (gsize b = a; b <= c->in_len; b++)
          {
            Result r = { 0 };

            if (c->in_len > 40 && b != a && b != c->in_len)
              continue;
            decode_split3 (in, c->in_len, a, b, &r);
            assert_damage (c, &r);
            result_clear (&r);
          }
    }
}

/* Long runs of unbroken alphabet are what the vector code decodes; any
 * mistake there shows against g_base64_decode. */
static void
test_vector_runs (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());

  for (gsize len = 49; len <= 3000; len += 1 + len / 16)
    {
      g_autofree guint8 *data = random_bytes (rand, len);
      g_autofree char *enc = g_base64_encode (data, len);
      gsize want_len;
      g_autofree guint8 *want = g_base64_decode (enc, &want_len);
      Result r = { 0 };

      g_assert_cmpuint (strlen (enc), >, 64);
      decode_whole ((const guint8 *) enc, strlen (enc), &r);
      g_assert_cmpmem (r.bytes->data, r.bytes->len, want, want_len);
      g_assert_cmpmem (r.bytes->data, r.bytes->len, data, len);
      result_clear (&r);
    }
}

/* Every byte value at every position of a vector block, in alphabet runs
 * of several lengths: the nibble classification must agree with the
 * table for all 256 values. */
static void
test_every_byte (void)
{
  static const char run[] =
    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5"
    "ejAxMjM0NTY3ODkrLw+/+/AAAA";
  const gsize len = sizeof run - 1;

  for (guint b = 0; b < 256; b++)
    for (gsize pos = 0; pos < 64; pos++)
      {
        g_autofree guint8 *in = g_malloc (len);
        Result r = { 0 }, ref = { 0 };

        memcpy (in, run, len);
        in[pos] = (guint8) b;
        decode_whole (in, len, &r);
        decode_reference (in, len, &ref);
        assert_same_result (&r, &ref);
        result_clear (&r);
        result_clear (&ref);
      }
}

/* Random mostly-valid input with damage sprinkled in, split at random,
 * against the reference decoder. */
static void
test_random_damage (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());

  for (guint iter = 0; iter < 400; iter++)
    {
      gsize len = (gsize) g_rand_int_range (rand, 0, 4000);
      g_autofree guint8 *data = random_bytes (rand, len);
      g_autofree char *enc = g_base64_encode (data, len);
      g_autoptr(GString) in = wrap (enc, iter % 2 ? 76 : 0, "\r\n");
      guint damage = (guint) g_rand_int_range (rand, 0, 8);
      Result whole = { 0 }, split = { 0 }, ref = { 0 };

      for (guint k = 0; k < damage && in->len > 0; k++)
        {
          gsize at = (gsize) g_rand_int_range (rand, 0, (gint32) in->len);
          static const char junk[] = "=\r\n \t*-.\x80\xff?";

          switch (g_rand_int_range (rand, 0, 3))
            {
            case 0:
              in->str[at] = junk[g_rand_int_range (rand, 0, sizeof junk - 1)];
              break;
            case 1:
              g_string_insert_c (in, (gssize) at,
                                 junk[g_rand_int_range (rand, 0,
                                                        sizeof junk - 1)]);
              break;
            default:
              g_string_erase (in, (gssize) at, 1);
              break;
            }
        }
      decode_reference ((const guint8 *) in->str, in->len, &ref);
      decode_whole ((const guint8 *) in->str, in->len, &whole);
      assert_same_result (&whole, &ref);
      decode_pieces ((const guint8 *) in->str, in->len, 0, 100, rand,
                     &split);
      assert_same_result (&split, &ref);
      if (damage == 0)
        assert_valid_decode (&whole, data, len, strcspn (enc, "="));
      result_clear (&whole);
      result_clear (&split);
      result_clear (&ref);
    }
}

/* Throughput on 100 MB of 76-column CRLF base64, for -m perf only. */
static void
test_perf (void)
{
  g_autoptr(GRand) rand = NULL;
  g_autofree guint8 *data = NULL;
  g_autofree char *enc = NULL;
  g_autoptr(GString) in = NULL;
  g_autofree guint8 *out = NULL;
  const gsize len = 75 * 1000 * 1000;
  const gsize chunk = 65536;
  gsize total = 0;
  double secs = G_MAXDOUBLE;

  if (!g_test_perf ())
    {
      g_test_skip ("run with -m perf");
      return;
    }
  rand = g_rand_new_with_seed (1);
  data = random_bytes (rand, len);
  enc = g_base64_encode (data, len);
  in = wrap (enc, 76, "\r\n");
  /* Touched before timing, so page faults are not counted; best of 5. */
  out = g_malloc0 (MH_BASE64_DECODE_MAX (in->len));
  for (guint run = 0; run < 5; run++)
    {
      MhBase64Decoder d = MH_BASE64_DECODER_INIT;

      total = 0;
      g_test_timer_start ();
      for (gsize pos = 0; pos < in->len; pos += chunk)
        total += mh_base64_decode_step (&d, (const guint8 *) in->str + pos,
                                        MIN (chunk, in->len - pos),
                                        out + total);
      secs = MIN (secs, g_test_timer_elapsed ());
    }
  g_assert_cmpmem (out, total, data, len);
  g_test_minimized_result (secs, "decoded %.0f MB of base64 in %.3f s: "
                           "%.0f MB/s", in->len / 1e6, secs,
                           in->len / 1e6 / secs);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0:malloc_context_size=8");
MH_TEST_LSAN_GLIB_SUPPRESSION;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/base64/round-trip", test_round_trip);
  g_test_add_func ("/base64/round-trip-large", test_round_trip_large);
  g_test_add_func ("/base64/damage", test_damage);
  g_test_add_func ("/base64/chunk-independence", test_chunk_independence);
  g_test_add_func ("/base64/vector-runs", test_vector_runs);
  g_test_add_func ("/base64/every-byte", test_every_byte);
  g_test_add_func ("/base64/random-damage", test_random_damage);
  g_test_add_func ("/base64/perf", test_perf);
  return g_test_run ();
}
