/* test-run-gaps.c - which message an attempt that the server ended is
 * blamed on (run-gaps.c), and the bound on such strikes.  The whole path
 * runs against the real Dovecot in test-run.c (unreadable-message) and
 * the scripted Gmail server in test-run-gmail-faults.c. */
#include "mailharvest/error.h"
#include "../src/run-private.h"

#include "testlib.h"

static GError *
bye (void)
{
  return g_error_new_literal (MH_ERROR, MH_ERROR_BYE,
                              "the server closed the session: FETCH failed");
}

/* After a BYE, the first UID after the last answered; after a dropped
 * connection, only a message whose answer came without its body. */
static void
test_blame (void)
{
  const guint32 uids[] = { 3, 5, 8, 13 };
  g_auto(MhRunGaps) g = { 0 };
  g_autoptr(GError) b = bye ();
  g_autoptr(GError) net = g_error_new_literal (MH_ERROR, MH_ERROR_NET,
                                               "connection reset");

  mh_run_gaps_init (&g, uids, G_N_ELEMENTS (uids));
  mh_run_gaps_answered (&g, 3);
  g_assert_cmpuint (mh_run_gaps_strike (&g, b), ==, 5);
  /* One strike per attempt: a second failure of the same attempt is not
   * a message's. */
  g_assert_cmpuint (mh_run_gaps_strike (&g, b), ==, 0);

  mh_run_gaps_init (&g, uids, G_N_ELEMENTS (uids));
  mh_run_gaps_answered (&g, 3);
  g_assert_cmpuint (mh_run_gaps_strike (&g, net), ==, 0);

  mh_run_gaps_init (&g, uids, G_N_ELEMENTS (uids));
  mh_run_gaps_answered (&g, 3);
  mh_run_gaps_incomplete (&g, 8);
  g_assert_cmpuint (mh_run_gaps_strike (&g, net), ==, 8);

  /* Nothing answered yet: the first. */
  mh_run_gaps_init (&g, uids, G_N_ELEMENTS (uids));
  g_assert_cmpuint (mh_run_gaps_strike (&g, b), ==, 3);

  /* The answer without a body came, then the body after all. */
  mh_run_gaps_init (&g, uids, G_N_ELEMENTS (uids));
  mh_run_gaps_incomplete (&g, 3);
  mh_run_gaps_answered (&g, 3);
  g_assert_cmpuint (mh_run_gaps_strike (&g, net), ==, 0);
  g_assert_cmpuint (g_hash_table_size (g.strikes), ==, 3);
}

/* A BYE that gives the session as its reason blames no message, even
 * one whose answer came without its body. */
static void
test_session_bye (void)
{
  static const char *const texts[] = {
    "the server closed the session: Session invalidated - "
    "AccessTokenExpired",
    "the server closed the session: Session expired, please login again.",
  };
  const guint32 uids[] = { 3, 5, 8 };
  g_auto(MhRunGaps) g = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GError) b = g_error_new_literal (MH_ERROR, MH_ERROR_BYE,
                                                 texts[i]);

      mh_run_gaps_init (&g, uids, G_N_ELEMENTS (uids));
      mh_run_gaps_answered (&g, 3);
      g_assert_cmpuint (mh_run_gaps_strike (&g, b), ==, 0);
      mh_run_gaps_init (&g, uids, G_N_ELEMENTS (uids));
      mh_run_gaps_incomplete (&g, 5);
      g_assert_cmpuint (mh_run_gaps_strike (&g, b), ==, 0);
    }
  g_assert_null (g.strikes);
}

/* A server that ends every session: strikes stop after 2 *
 * MH_RUN_GAPS_PROBE in a row, so the reconnects stay bounded; a message
 * that comes starts the count again. */
static void
test_bounded (void)
{
  g_auto(MhRunGaps) g = { 0 };
  g_autoptr(GError) b = bye ();
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  guint struck = 0;

  for (guint32 u = 1; u <= 100; u++)
    g_array_append_val (uids, u);
  for (guint i = 0; i < 100; i++)
    {
      mh_run_gaps_init (&g, (const guint32 *) (void *) uids->data,
                        uids->len);
      if (mh_run_gaps_strike (&g, b) == 0)
        break;
      struck++;
    }
  g_assert_cmpuint (struck, ==, 2 * MH_RUN_GAPS_PROBE);

  mh_run_gaps_init (&g, (const guint32 *) (void *) uids->data, uids->len);
  mh_run_gaps_answered (&g, 1);
  g_assert_cmpuint (mh_run_gaps_strike (&g, b), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/run-gaps/blame", test_blame);
  g_test_add_func ("/run-gaps/bounded", test_bounded);
  g_test_add_func ("/run-gaps/session-bye", test_session_bye);
  return g_test_run ();
}
