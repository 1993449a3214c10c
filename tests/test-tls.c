/* test-tls.c - TLS, STARTTLS and login against the real Dovecot started
 * by tests/dovecot/with-dovecot. */
#include <stdlib.h>
#include <string.h>

#include "mailharvest/error.h"
#include "mailharvest/imap-session.h"
#include "mailharvest/tls.h"

#include "testlib.h"

static void
options (MhConnectOptions *o, MhSecurity security)
{
  mh_connect_options_init (o);
  o->host = mh_test_env ("MH_TEST_HOST");
  o->security = security;
  o->port = (guint16) atoi (mh_test_env (security == MH_SECURITY_TLS
                                           ? "MH_TEST_IMAPS_PORT"
                                           : "MH_TEST_IMAP_PORT"));
  o->ca_file = mh_test_env ("MH_TEST_CA_FILE");
  o->timeout_ms = 10000;
}

static void
login_and_logout (const MhConnectOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MhImapSession) s = mh_imap_session_connect (o, &error);
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *plain = g_strdup_printf ("_%s_%s",
                                            mh_test_env ("MH_TEST_USER"),
                                            mh_test_env ("MH_TEST_PASSWORD"));
  g_autofree char *b64 = NULL;
  gboolean redacted = FALSE;

  g_assert_no_error (error);
  g_assert_nonnull (s);
  g_assert_false (mh_imap_session_is_authenticated (s));
  mh_imap_session_set_trace (s, mh_test_collect_trace, trace);
  g_assert_true (mh_imap_session_authenticate (
      s, mh_test_env ("MH_TEST_USER"), mh_test_env ("MH_TEST_PASSWORD"),
      MH_IMAP_AUTH_AUTO, &error));
  g_assert_no_error (error);
  g_assert_true (mh_imap_session_is_authenticated (s));
  g_assert_true (mh_imap_session_has_capability (s, "IMAP4rev1"));
  g_assert_true (mh_imap_session_logout (s, &error));
  g_assert_no_error (error);
  /* The wire trace saw the login, without the password, plain or in the
   * base64 of AUTHENTICATE PLAIN. */
  plain[0] = '\0';
  plain[strlen (mh_test_env ("MH_TEST_USER")) + 1] = '\0';
  b64 = g_base64_encode ((const guchar *) plain,
                         strlen (mh_test_env ("MH_TEST_USER"))
                         + strlen (mh_test_env ("MH_TEST_PASSWORD")) + 2);
  g_assert_cmpuint (trace->len, >, 2);
  for (guint i = 0; i < trace->len; i++)
    {
      const char *line = g_ptr_array_index (trace, i);

      g_assert_null (strstr (line, mh_test_env ("MH_TEST_PASSWORD")));
      g_assert_null (strstr (line, b64));
      redacted = redacted || strstr (line, "<redacted>") != NULL;
    }
  g_assert_true (redacted);
}

static void
test_implicit (void)
{
  MhConnectOptions o;

  options (&o, MH_SECURITY_TLS);
  login_and_logout (&o);
}

static void
test_implicit_localhost (void)
{
  MhConnectOptions o;

  /* A name, not an IP literal: SNI and SSL_set1_host against the
   * certificate's DNS:localhost. */
  options (&o, MH_SECURITY_TLS);
  o.host = "localhost";
  login_and_logout (&o);
}

static void
test_starttls (void)
{
  MhConnectOptions o;
  g_autoptr(GError) error = NULL;
  g_autoptr(MhImapSession) s = NULL;

  options (&o, MH_SECURITY_STARTTLS);
  login_and_logout (&o);
  s = mh_imap_session_connect (&o, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_STARTTLS), ==, 1);
  /* Over TLS Dovecot no longer disables LOGIN. */
  g_assert_false (mh_imap_session_has_capability (s, "LOGINDISABLED"));
  g_assert_false (mh_imap_session_has_capability (s, "STARTTLS"));
}

static void
assert_rejected (const MhConnectOptions *o, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MhImapSession) s = mh_imap_session_connect (o, &error);
  g_autofree char *port = g_strdup_printf (":%u", o->port);

  g_assert_null (s);
  g_assert_error (error, MH_ERROR, MH_ERROR_TLS);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "verification failed"));
  g_assert_nonnull (strstr (error->message, o->host));
  g_assert_nonnull (strstr (error->message, port));
  g_assert_nonnull (strstr (error->message, needle));
}

static void
test_other_ca (void)
{
  MhConnectOptions o;

  options (&o, MH_SECURITY_TLS);
  o.ca_file = mh_test_env ("MH_TEST_OTHER_CA_FILE");
  assert_rejected (&o, "local issuer");
  options (&o, MH_SECURITY_STARTTLS);
  o.ca_file = mh_test_env ("MH_TEST_OTHER_CA_FILE");
  assert_rejected (&o, "local issuer");
}

static void
test_wrong_name (void)
{
  MhConnectOptions o;

  options (&o, MH_SECURITY_TLS);
  o.verify_name = "imap.wrong.example";
  assert_rejected (&o, "imap.wrong.example");
  options (&o, MH_SECURITY_TLS);
  o.verify_name = "127.0.0.2";
  assert_rejected (&o, "mismatch");
}

static void
test_no_verify (void)
{
  MhConnectOptions o;

  /* Only when the caller asks: an unknown CA is then accepted. */
  options (&o, MH_SECURITY_TLS);
  o.ca_file = mh_test_env ("MH_TEST_OTHER_CA_FILE");
  o.tls_verify = FALSE;
  login_and_logout (&o);
}

static void
test_wrong_password (void)
{
  MhConnectOptions o;
  g_autoptr(GError) error = NULL;
  g_autoptr(MhImapSession) s = NULL;

  options (&o, MH_SECURITY_TLS);
  s = mh_imap_session_connect (&o, &error);
  g_assert_no_error (error);
  g_assert_false (mh_imap_session_authenticate (
      s, mh_test_env ("MH_TEST_USER"), "not-the-password",
      MH_IMAP_AUTH_AUTO, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_AUTH);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "Authentication failed"));
  g_assert_null (strstr (error->message, "not-the-password"));
}

static void
test_login_mech (void)
{
  MhConnectOptions o;
  g_autoptr(GError) error = NULL;
  g_autoptr(MhImapSession) s = NULL;

  options (&o, MH_SECURITY_TLS);
  s = mh_imap_session_connect (&o, &error);
  g_assert_no_error (error);
  g_assert_true (mh_imap_session_authenticate (
      s, mh_test_env ("MH_TEST_USER2"), mh_test_env ("MH_TEST_PASSWORD2"),
      MH_IMAP_AUTH_LOGIN, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mh_imap_session_get_command_count (s, MH_IMAP_CMD_LOGIN),
                    ==, 1);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/tls/implicit", test_implicit);
  g_test_add_func ("/tls/implicit-localhost", test_implicit_localhost);
  g_test_add_func ("/tls/starttls", test_starttls);
  g_test_add_func ("/tls/other-ca", test_other_ca);
  g_test_add_func ("/tls/wrong-name", test_wrong_name);
  g_test_add_func ("/tls/no-verify", test_no_verify);
  g_test_add_func ("/tls/wrong-password", test_wrong_password);
  g_test_add_func ("/tls/login-mechanism", test_login_mech);
  return g_test_run ();
}
