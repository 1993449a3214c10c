#!/usr/bin/env python3
"""The tutorial-style baseline: what people copy from a blog post.

    baseline-imaplib.py --host H --port P --user U --password-env VAR
                        --cafile CA --out DIR [--mailbox M]...

For each mailbox (default INBOX and Sent): select it, SEARCH ALL, then one
"FETCH n (RFC822)" round trip per message, email.message_from_bytes, write
the raw message to DIR/MAILBOX/n/message.eml and every part that has a
Content-Disposition and a file name to DIR/MAILBOX/n/NAME, with NAME made
safe by keeping only its last path component.

The tutorials call select() and so mark every message \\Seen; this one
selects with readonly=True (EXAMINE) so that it leaves the server as it
found it, like mailharvest and rawfetch, and the comparison stays fair.
Everything else is kept as naive as the tutorials are on purpose: one round
trip per message, attachments without Content-Disposition are skipped, and
RFC 2047-encoded names are written as the raw encoded words.

Prints "messages=M attachments=A bytes=B" at the end.
"""

import argparse
import email
import imaplib
import os
import re
import ssl
import sys


def safe_name(name):
    name = name.replace("\\", "/").split("/")[-1]
    name = re.sub(r"[\x00-\x1f]", "_", name).strip()
    if name in ("", ".", ".."):
        name = "attachment"
    return name[:200]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=993)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-env", required=True,
                    help="environment variable holding the password")
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mailbox", action="append")
    args = ap.parse_args()
    mailboxes = args.mailbox or ["INBOX", "Sent"]
    password = os.environ.get(args.password_env)
    if password is None:
        ap.error("%s is not set" % args.password_env)

    ctx = ssl.create_default_context(cafile=args.cafile)
    imap = imaplib.IMAP4_SSL(args.host, args.port, ssl_context=ctx)
    imap.login(args.user, password)

    n_msgs = n_att = n_bytes = 0
    for box in mailboxes:
        typ, _ = imap.select('"%s"' % box, readonly=True)
        if typ != "OK":
            print("baseline: cannot select %s" % box, file=sys.stderr)
            return 1
        typ, data = imap.search(None, "ALL")
        for num in data[0].split():
            typ, data = imap.fetch(num, "(RFC822)")
            raw = data[0][1]
            msg = email.message_from_bytes(raw)
            folder = os.path.join(args.out, box, num.decode())
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "message.eml"), "wb") as f:
                f.write(raw)
            n_msgs += 1
            n_bytes += len(raw)
            for part in msg.walk():
                if part.get_content_maintype() == "multipart":
                    continue
                if part.get("Content-Disposition") is None:
                    continue
                filename = part.get_filename()
                if filename:
                    payload = part.get_payload(decode=True)
                    if payload is None:
                        continue
                    path = os.path.join(folder, safe_name(filename))
                    with open(path, "wb") as f:
                        f.write(payload)
                    n_att += 1
        imap.close()
    imap.logout()
    print("messages=%d attachments=%d bytes=%d" % (n_msgs, n_att, n_bytes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
