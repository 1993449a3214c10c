/* test-utf7.c - modified UTF-7 mailbox names. */
#include <string.h>

#include "mailharvest/error.h"
#include "mailharvest/utf7.h"

#include "testlib.h"

typedef struct {
  const char *mutf7;
  const char *utf8;
} Pair;

/* Valid names and their UTF-8 form; each must decode, and encode back to
 * exactly the same bytes. */
static const Pair pairs[] = {
  { "", "" },
  { "INBOX", "INBOX" },
  { "&-", "&" },
  { "Tom &- Jerry", "Tom & Jerry" },
  { "&AOQ-", "\xc3\xa4" },
  { "Entw&APw-rfe", "Entw\xc3\xbc" "rfe" },
  { "[Gmail]/Gel&APY-scht", "[Gmail]/Gel\xc3\xb6scht" },
  { "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
    "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
  { "&MMYwuTDI-", "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88" },
  { "&2D3eAA-", "\xf0\x9f\x98\x80" },
  { "Fun &2D3eANg93gE-!", "Fun \xf0\x9f\x98\x80\xf0\x9f\x98\x81!" },
  { "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-",
    "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5"
    "\xd0\xbd\xd0\xbd\xd1\x8b\xd0\xb5" },
  { "a&AAk-b", "a\tb" },
  /* A run, then "&" itself: not two runs in a row. */
  { "&AOQ-&-&AOQ-", "\xc3\xa4&\xc3\xa4" },
};

static void
test_pairs (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *dec = mh_utf7_decode (pairs[i].mutf7, &error);
      g_autofree char *enc = mh_utf7_encode (pairs[i].utf8);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, pairs[i].mutf7);
      g_assert_no_error (error);
      g_assert_cmpstr (dec, ==, pairs[i].utf8);
      g_assert_cmpstr (enc, ==, pairs[i].mutf7);
    }
}

/* Every encoded run must round-trip, including runs of every length so
 * that each padding case (0, 2 and 4 leftover bits) is exercised. */
static void
test_round_trip (void)
{
  static const char *samples[] = {
    "\xc3\xa4", "\xc3\xa4\xc3\xb6", "\xc3\xa4\xc3\xb6\xc3\xbc",
    "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x9f",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe5\x8f\x97\xe4\xbf\xa1",
    "x\xf0\x9f\x93\xa7y\xf0\x9f\x8e\x89\xf0\x9f\x8e\x89&z",
    "&&&", "\x7f", "a\001b",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *enc = mh_utf7_encode (samples[i]);
      g_autofree char *dec = NULL;

      g_assert_nonnull (enc);
      for (const char *p = enc; *p != '\0'; p++)
        g_assert_true (*p >= 0x20 && *p <= 0x7e);
      dec = mh_utf7_decode (enc, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (dec, ==, samples[i]);
    }
}

static void
test_malformed (void)
{
  static const char *bad[] = {
    "&",              /* unterminated */
    "&AOQ",           /* unterminated */
    "abc&AOQ",        /* unterminated */
    "&AO?-",          /* not base64 */
    "&AO/-",          /* "/" is "," in modified base64 */
    "&AO=-",          /* no padding in modified base64 */
    "&AOR-",          /* leftover bits not zero */
    "&AOQA-",         /* a whole base64 character left over */
    "&A-",            /* less than one UTF-16 unit */
    "&AEE-",          /* "A" must be written directly */
    "&ACY-",          /* "&" must be written "&-" */
    "&AAA-",          /* NUL */
    "&2D0-",          /* lone high surrogate */
    "&2D0AQQ-",       /* high surrogate then "A" */
    "&3gA-",          /* lone low surrogate */
    "\xc3\xa4",       /* 8-bit byte */
    "a\tb",           /* control character written directly */
    "&AOQ-&AOQ-",     /* two runs in a row: one run must hold them */
    "x&U,BTFw-&ZeVnLIqe-", /* the same, Dovecot's own test case */
    "&--",            /* "&-" then a stray "-" is fine, see below */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *dec = mh_utf7_decode (bad[i], &error);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, bad[i]);
      if (strcmp (bad[i], "&--") == 0)
        {
          g_assert_no_error (error);
          g_assert_cmpstr (dec, ==, "&-");
          continue;
        }
      g_assert_null (dec);
      g_assert_error (error, MH_ERROR, MH_ERROR_PARSE);
    }
}

static void
test_encode_invalid (void)
{
  g_assert_null (mh_utf7_encode ("\xff"));
  g_assert_null (mh_utf7_encode ("ab\xc3"));
  g_assert_null (mh_utf7_encode ("\xed\xa0\x80"));
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0:malloc_context_size=8");
MH_TEST_LSAN_GLIB_SUPPRESSION;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/utf7/pairs", test_pairs);
  g_test_add_func ("/utf7/round-trip", test_round_trip);
  g_test_add_func ("/utf7/malformed", test_malformed);
  g_test_add_func ("/utf7/encode-invalid", test_encode_invalid);
  return g_test_run ();
}
