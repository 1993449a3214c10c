/* fake-transport.h - a scripted IMAP server behind the MhTransport vtable.
 *
 * A script is a text file of lines "X: text" (blank lines and lines
 * starting with '#' are ignored):
 *
 *   S: text   the server sends text + CRLF; consecutive S: and L: lines
 *             form one chunk, returned by as few reads as possible
 *   P: text   like S: without the CRLF
 *   L: N      the next N bytes of the pattern fake_transport_pattern()
 *             (no CRLF); an S: line restarts the pattern at offset 0
 *   X:        ends the current chunk: the next bytes come in a new read
 *   R: N      from here on, each read returns at most N bytes (0: no limit)
 *   C: text   the client must send exactly this line (without CRLF)
 *   T:        the client must call starttls now; unread bytes of the
 *             previous chunk are dropped, as a TLS layer would
 *   W:        the server stops answering: reads wait for their timeout
 *             and fail with MH_ERROR_TIMEOUT
 *   E:        the server closes the connection
 *
 * At the end of the script reads return end of stream. */
#pragma once

#include <glib.h>

#include "mailharvest/imap-session.h"
#include "mailharvest/net.h"

typedef struct _FakeServer FakeServer;

/* Loads tests/data/imap/@name. */
FakeServer *fake_server_new_from_file (const char *name);
FakeServer *fake_server_new (const char *script);
FakeServer *fake_server_ref (FakeServer *fs);
void fake_server_unref (FakeServer *fs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeServer, fake_server_unref)

/* A transport playing @fs (it keeps a reference). */
MhTransport *fake_server_transport (FakeServer *fs);

/* A session to "imap.example.org" port 993 over a transport playing
 * @fs, with @timeout_ms for each read (transfer full). */
MhImapSession *fake_server_session (FakeServer *fs, int timeout_ms);

/* Asserts that every step of the script ran and every client line
 * matched. */
void fake_server_assert_done (FakeServer *fs);

/* The first mismatch, or NULL. */
const char *fake_server_get_problem (FakeServer *fs);

/* TRUE once starttls was called. */
gboolean fake_server_tls_started (FakeServer *fs);

/* The byte at @offset of the L: pattern. */
guint8 fake_transport_pattern (gsize offset);
