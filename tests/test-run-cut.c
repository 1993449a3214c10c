/* test-run-cut.c - `mailharvest run` against the test Dovecot through a
 * proxy that cuts the connection inside the body of a big message: the
 * run reconnects, fetches it again, and ends with the archive an
 * uncut run makes, the big message byte for byte as delivered. */
#include <string.h>

#include <gio/gio.h>

#include "run-cases.h"

/* @data "file": the big body goes to a file instead of a reused buffer
 * (rawbuf.h), as when the buffers are all taken, and the cut comes
 * while it is written there. */
static void
test_cut_mid_fetch (Fixture *fixture, gconstpointer data)
{
  const char *a = mh_test_alice_dir ();
  g_autofree char *proxy_py = g_build_filename (mh_test_env ("MH_SOURCE_ROOT"),
                                                "scripts", "delay-proxy.py",
                                                NULL);
  g_autofree char *target = g_strdup_printf (
      "127.0.0.1:%s", mh_test_env ("MH_TEST_IMAPS_PORT"));
  g_autofree char *ref = mh_test_new_dir (work_dir, "ref");
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg_ref = write_config ("ref.ini", ref, ACC_ALICE_OUTLOOK,
                                           NULL, 0);
  g_autofree char *cfg = NULL;
  g_autofree char *big = NULL;
  g_autofree char *line = NULL;
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  g_autoptr(GSubprocess) proxy = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autoptr(GError) error = NULL;
  guint64 port = 0;
  MhTestRun r;

  /* The big message comes first: what precedes its body (TLS handshake,
   * login, LIST, EXAMINE, SEARCH) is a few kB, so a cut after 150 kB of
   * the server's bytes lands inside its 340 kB body, which is over
   * MH_ARCHIVE_IN_MEMORY: it goes to a buffer of rawbuf.h, or to a file
   * in the "file" variant. */
  big = mh_test_mail_text ("big1", NULL, "Large scan", 1,
                           "Scanner <s@example.org>", 400 * 1024, TRUE);
  g_assert_cmpuint (strlen (big), >, 256 * 1024);
  mh_test_deliver (a, NULL, big, "");
  for (guint i = 1; i <= 8; i++)
    {
      g_autofree char *id = g_strdup_printf ("small%u", i);

      mh_test_put (a, i % 2 ? NULL : "Sent", id, i > 1 ? "small1" : NULL,
                   "Small talk", 1 + i, i % 3 ? "S" : NULL);
    }

  proxy = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                            "python3", proxy_py, "--target", target,
                            "--delay-ms", "0", "--cut-after-bytes", "150000",
                            "--max-seconds", "300", NULL);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proxy));
  line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_ascii_string_to_unsigned (g_strstrip (line), 10, 1,
                                             65535, &port, NULL));
  cfg = write_config ("c.ini", out, ACC_ALICE_OUTLOOK, NULL, (guint) port);

  if (g_strcmp0 (data, "file") == 0)
    g_setenv ("MH_DEBUG_FAIL_AT", "no-rawbuf:1+", TRUE);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_unsetenv ("MH_DEBUG_FAIL_AT");
  g_test_message ("through the proxy: %" G_GINT64_FORMAT " reconnects, %"
                  G_GINT64_FORMAT " bytes",
                  num (r.out, "alice", "reconnects"),
                  num (r.out, "alice", "bytes_received"));
  g_assert_cmpint (num (r.out, "alice", "reconnects"), >, 0);
  g_assert_cmpint (num (r.out, "alice", "added"), ==, 9);
  g_assert_cmpint (num (r.out, "alice", "failed"), ==, 0);
  /* The big body came once whole and once in part: what came before it
   * is a few kB, so 50 kB more than one copy means the cut was inside
   * it. */
  g_assert_cmpint (num (r.out, "alice", "bytes_received"), >,
                   300 * 1024 + 50000);
  mh_test_run_clear (&r);
  g_subprocess_force_exit (proxy);

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg_ref, "--json", "--progress=never", NULL });
  g_assert_cmpint (num (r.out, "alice", "reconnects"), ==, 0);
  mh_test_run_clear (&r);
  want = mh_test_listing (ref);
  got = mh_test_listing (out);
  mh_test_assert_same_listing (got, want);
  mh_test_assert_clean (out);
  /* Both runs could lose the same bytes: the big message is checked
   * against what was delivered. */
  {
    g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                                          big, -1);
    g_autofree char *eml_line = g_strdup_printf (
        "/message.eml %" G_GSIZE_FORMAT " %s\n", strlen (big), sum);

    g_assert_nonnull (strstr (got, eml_line));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/run/cut-mid-fetch", Fixture, NULL, setup, test_cut_mid_fetch,
              teardown);
  g_test_add ("/run/cut-mid-fetch-file", Fixture, "file", setup,
              test_cut_mid_fetch, teardown);
  return g_test_run ();
}
