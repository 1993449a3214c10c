#!/usr/bin/env python3
"""Writes the message-module fixtures in this directory.

The files are committed; run this again only to change them.  Byte-exact
content (8-bit headers, NUL bytes, TNEF) is why they are generated."""
import base64
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def b64(data, width=76):
    s = base64.b64encode(data).decode("ascii")
    return "\n".join(s[i:i + width] for i in range(0, len(s), width)) + "\n"


# --- TNEF -----------------------------------------------------------------

def tnef_attr(level, attr_id, data):
    return (struct.pack("<BII", level, attr_id, len(data)) + data
            + struct.pack("<H", sum(data) & 0xFFFF))


def mapi_string_prop(prop_id, text, unicode=True):
    if unicode:
        raw = text.encode("utf-16-le") + b"\0\0"
        ptype = 0x001F
    else:
        raw = text.encode("cp1252") + b"\0"
        ptype = 0x001E
    pad = (4 - len(raw) % 4) % 4
    return (struct.pack("<HH", ptype, prop_id) + struct.pack("<I", 1)
            + struct.pack("<I", len(raw)) + raw + b"\0" * pad)


def mapi_props(*props):
    return struct.pack("<I", len(props)) + b"".join(props)


def make_tnef():
    out = struct.pack("<IH", 0x223E9F78, 0x1234)
    out += tnef_attr(1, 0x00089006, b"\x01\x00\x00\x00")  # version
    out += tnef_attr(1, 0x00069007, struct.pack("<II", 1252, 0))  # codepage
    # Member 1: short title, long name in the MAPI property list.
    out += tnef_attr(2, 0x00069002, b"\x01\x00" + b"\0" * 12)
    out += tnef_attr(2, 0x00018010, b"LONGNA~1.TXT\0")
    out += tnef_attr(2, 0x0006800F, b"Quarterly numbers: 42\n")
    out += tnef_attr(2, 0x00069005, mapi_props(
        struct.pack("<HHI", 0x0003, 0x0E21, 0),  # PR_ATTACH_NUM, PT_LONG
        mapi_string_prop(0x3707, "Long name r\u00e9sum\u00e9.txt"),
        mapi_string_prop(0x370E, "text/plain", unicode=False)))
    # Member 2: a title only (cp1252 byte 0xE9).
    out += tnef_attr(2, 0x00069002, b"\x01\x00" + b"\0" * 12)
    out += tnef_attr(2, 0x00018010, b"caf\xe9.png\0")
    out += tnef_attr(2, 0x0006800F, b"\x89PNG\r\n\x1a\nfake")
    return out


def main():
    hdr = ("From: =?utf-8?q?Ren=C3=A9_Dupont?= <Rene.Dupont@Example.COM>\n"
           "To: bob@example.org, \"Carol C.\" <carol@example.net>\n")

    write("simple.eml",
          hdr +
          "Cc: Undisclosed:;, BOB@example.org\n"
          "Subject: =?utf-8?q?Caf=C3=A9_au_lait?= and\n"
          " =?iso-8859-1?q?cr=E8me?=\n"
          "Date: Tue, 1 Feb 2022 13:14:15 +0100\n"
          "Message-ID: <abc.123@example.com>\n"
          "In-Reply-To: Your message of Monday <parent@example.com>\n"
          "References: <root@example.com>, junk text\n"
          "  <mid@example.com>\n"
          " <par ent@example.com>\n"
          "Thread-Index: AQHYBAbcdef==\n"
          "Thread-Topic: Caf\xc3\xa9 topic\n"
          "X-GM-THRID: 1723456789012345678\n"
          "X-Gmail-Labels: Inbox,Important\n"
          "MIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "Content-Transfer-Encoding: quoted-printable\n"
          "\n"
          "Hello caf=C3=A9.\n"
          "Second line.\n")

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    pdf = b"%PDF-1.4\n" + b"x" * 300 + b"\n%%EOF\n"
    write("mixed.eml",
          hdr +
          "Subject: Mixed\n"
          "Date: Wed, 2 Feb 2022 08:00:00 -0500\n"
          "Message-ID: <mixed@example.com>\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=\"outer\"\n"
          "\n"
          "preamble\n"
          "--outer\n"
          "Content-Type: multipart/alternative; boundary=alt\n"
          "\n"
          "--alt\n"
          "Content-Type: text/plain; charset=iso-8859-1\n"
          "Content-Transfer-Encoding: quoted-printable\n"
          "\n"
          "Price: 5 =80, caf=E9\n"
          "--alt\n"
          "Content-Type: multipart/related; boundary=rel; type=\"text/html\"\n"
          "\n"
          "--rel\n"
          "Content-Type: text/html; charset=utf-8\n"
          "\n"
          "<p>Price: 5 &euro;, caf\xc3\xa9</p><img src=\"cid:logo%40x\">\n"
          "--rel\n"
          "Content-Type: image/png\n"
          "Content-ID: <logo@x>\n"
          "Content-Disposition: inline\n"
          "Content-Transfer-Encoding: base64\n"
          "\n" + b64(png) +
          "--rel--\n"
          "--alt--\n"
          "--outer\n"
          "Content-Type: application/pdf\n"
          "Content-Transfer-Encoding: base64\n"
          "\n" + b64(pdf) +
          "--outer\n"
          "Content-Type: text/plain; name=\"notes.txt\"\n"
          "\n"
          "my notes\n"
          "--outer\n"
          "Content-Type: text/calendar; method=REQUEST\n"
          "\n"
          "BEGIN:VCALENDAR\n"
          "END:VCALENDAR\n"
          "--outer\n"
          "\n"
          "no headers at all\n"
          "--outer--\n")

    write("forwarded.eml",
          hdr +
          "Subject: Fwd: report\n"
          "Date: Thu, 3 Feb 2022 10:00:00 +0000\n"
          "Message-ID: <fwd@example.com>\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=f\n"
          "\n"
          "--f\n"
          "Content-Type: text/plain\n"
          "\n"
          "See below.\n"
          "--f\n"
          "Content-Type: message/rfc822\n"
          "\n"
          "From: inner@example.com\n"
          "Subject: =?utf-8?b?SW5uZXIgcsOpcG9ydA==?=\n"
          "Message-ID: <inner@example.com>\n"
          "Date: Mon, 31 Jan 2022 09:00:00 +0000\n"
          "Content-Type: multipart/mixed; boundary=i\n"
          "\n"
          "--i\n"
          "Content-Type: text/plain\n"
          "\n"
          "Inner text.\n"
          "--i\n"
          "Content-Type: text/csv\n"
          "Content-Disposition: attachment; filename=report.csv\n"
          "\n"
          "a,b\n1,2\n"
          "--i--\n"
          "--f--\n")

    tnef = make_tnef()
    write("winmail.dat", tnef)
    write("winmail.eml",
          hdr +
          "Subject: Outlook\n"
          "Date: Fri, 4 Feb 2022 10:00:00 +0000\n"
          "Message-ID: <tnef@example.com>\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/mixed; boundary=t\n"
          "\n"
          "--t\n"
          "Content-Type: text/plain\n"
          "\n"
          "See attached.\n"
          "--t\n"
          "Content-Type: application/ms-tnef; name=\"winmail.dat\"\n"
          "Content-Transfer-Encoding: base64\n"
          "\n" + b64(tnef) +
          "--t--\n")

    write("signed.eml",
          hdr +
          "Subject: Signed\n"
          "Date: Sat, 5 Feb 2022 10:00:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/signed; micalg=pgp-sha256;\n"
          " protocol=\"application/pgp-signature\"; boundary=s\n"
          "\n"
          "--s\n"
          "Content-Type: text/plain; charset=us-ascii\n"
          "\n"
          "Signed text.\n"
          "--s\n"
          "Content-Type: application/pgp-signature; name=\"signature.asc\"\n"
          "\n"
          "-----BEGIN PGP SIGNATURE-----\nAAAA\n-----END PGP SIGNATURE-----\n"
          "--s--\n")

    write("encrypted.eml",
          hdr +
          "Subject: Encrypted\n"
          "Date: Sat, 5 Feb 2022 11:00:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: multipart/encrypted;\n"
          " protocol=\"application/pgp-encrypted\"; boundary=e\n"
          "\n"
          "--e\n"
          "Content-Type: application/pgp-encrypted\n"
          "\n"
          "Version: 1\n"
          "--e\n"
          "Content-Type: application/octet-stream; name=\"encrypted.asc\"\n"
          "\n"
          "-----BEGIN PGP MESSAGE-----\nBBBB\n-----END PGP MESSAGE-----\n"
          "--e--\n")

    uu = "begin 644 hello.txt\n#:&D*\n`\nend\n"
    write("uuencode.eml",
          hdr +
          "Subject: uu\n"
          "Date: Sun, 6 Feb 2022 10:00:00 +0000\n"
          "\n"
          "Before.\n" + uu + "After.\n")

    write("html-only.eml",
          hdr +
          "Subject: HTML only\n"
          "Date: Mon, 7 Feb 2022 10:00:00 +0000\n"
          "MIME-Version: 1.0\n"
          "Content-Type: text/html\n"
          "\n"
          "<html><head><meta http-equiv=\"Content-Type\" "
          "content=\"text/html; charset=windows-1251\">"
          "<title>T</title><style>p {color: red}</style></head>\n"
          "<body><p>\xcf\xf0\xe8\xe2\xe5\xf2 &amp; welcome</p>"
          "<script>alert(1)</script>"
          "<ul><li>one</li><li>two</li></ul>"
          "<a href=\"https://example.com/x\">site</a> a&#233;&#x20AC;<br>end"
          "</body></html>\n")

    write("nodate.eml",
          "From: a@example.com\n"
          "Received: from x by y; Tue, 1 Mar 2022 10:00:00 +0000\n"
          "Received: from w by x; Tue, 1 Mar 2022 09:00:00 -0200\n"
          "Received: garbage without a date\n"
          "Subject: no date\n"
          "\n"
          "body\n")

    write("nodate-noreceived.eml",
          "From: a@example.com\n"
          "Date: not a date at all\n"
          "Subject: no date\n"
          "\n"
          "body\n")

    # --- hostile ---------------------------------------------------------
    write("h-broken-base64.eml",
          "From: a@example.com\n"
          "Subject: broken base64\n"
          "Content-Type: multipart/mixed; boundary=b\n"
          "\n"
          "--b\n"
          "Content-Type: text/plain\n"
          "\n"
          "body\n"
          "--b\n"
          "Content-Type: application/octet-stream; name=bad.bin\n"
          "Content-Transfer-Encoding: base64\n"
          "\n"
          "SGVs!!bG8g*d29y\n"
          "bGQ\n"
          "--b--\n")

    write("h-truncated.eml",
          "From: a@example.com\n"
          "Subject: truncated\n"
          "Content-Type: multipart/mixed; boundary=b\n"
          "\n"
          "--b\n"
          "Content-Type: text/plain\n"
          "\n"
          "body\n"
          "--b\n"
          "Content-Type: application/pdf; name=cut.pdf\n"
          "Content-Transfer-Encoding: base64\n"
          "\n"
          "JVBERi0xLjQK\n"
          "JVBE")

    write("h-no-boundary.eml",
          "From: a@example.com\n"
          "Subject: no boundary\n"
          "Content-Type: multipart/mixed\n"
          "\n"
          "--b\n"
          "Content-Type: text/plain\n"
          "\n"
          "body\n"
          "--b--\n")

    write("h-nul.eml",
          b"From: a@example.com\n"
          b"Subject: nul\x00here\n"
          b"Content-Type: text/plain; charset=utf-8\n"
          b"\n"
          b"before\x00after\n")

    write("h-8bit-headers.eml",
          b"From: Ren\xe9 <rene@example.com>\n"
          b"To: =?utf-8?q?J=C3=BCrgen?= <j@example.com>\n"
          b"Subject: Gr\xfc\xdfe aus K\xf6ln\n"
          b"Content-Type: text/plain\n"
          b"Content-Disposition: inline\n"
          b"\n"
          b"Gr\xfc\xdfe\n")

    write("h-wrong-charset.eml",
          b"From: a@example.com\n"
          b"Subject: wrong label\n"
          b"Content-Type: multipart/alternative; boundary=w\n"
          b"\n"
          b"--w\n"
          b"Content-Type: text/plain; charset=iso-8859-1\n"
          b"\n"
          b"caf\xc3\xa9 \xe2\x82\xac\n"
          b"--w\n"
          b"Content-Type: text/html; charset=utf-8\n"
          b"\n"
          b"<p>caf\xe9 \x80</p>\n"
          b"--w--\n")

    write("h-unknown-charset.eml",
          b"From: a@example.com\n"
          b"Subject: unknown label\n"
          b"Content-Type: multipart/mixed; boundary=u\n"
          b"\n"
          b"--u\n"
          b"Content-Type: text/plain; charset=x-no-such-charset\n"
          b"\n"
          b"na\xefve\n"
          b"--u\n"
          b"Content-Type: text/plain; charset=gb2312; name=gbk.txt\n"
          b"\n"
          b"\x81\x40\n"
          b"--u--\n")

    write("h-cjk.eml",
          b"From: a@example.com\n"
          b"Subject: =?shift_jis?b?k/qWe4zq?=\n"
          b"Content-Type: text/plain; charset=shift_jis\n"
          b"\n"
          # NEC row 13 circled one (cp932 only) and "nihongo".
          b"\x87\x40\x93\xfa\x96\x7b\x8c\xea\n")

    write("h-encoded-words.eml",
          "From: a@example.com\n"
          "Subject: =?utf-8?q?a?==?utf-8?q?b?= =?UTF-8?B?w6k=?=x"
          " =?x-bogus?q?q=E9?= =?utf-8?q?broken\n"
          "\n"
          "body\n")

    write("h-rfc2231.eml",
          "From: a@example.com\n"
          "Subject: 2231\n"
          "Content-Type: multipart/mixed; boundary=r\n"
          "\n"
          "--r\n"
          "Content-Type: text/plain\n"
          "\n"
          "body\n"
          "--r\n"
          "Content-Type: application/octet-stream\n"
          "Content-Disposition: attachment;\n"
          " filename*2*=%20final.txt;\n"
          " filename*0*=utf-8'en'r%C3%A9sum;\n"
          " filename*1*=%C3%A9\n"
          "\n"
          "x\n"
          "--r\n"
          "Content-Type: application/octet-stream;\n"
          " name=\"=?iso-8859-1?q?d=E9j=E0_vu.doc?=\"\n"
          "\n"
          "y\n"
          "--r\n"
          "Content-Type: application/octet-stream\n"
          "Content-Disposition: attachment; filename*=iso-8859-1''%E9t%E9.txt\n"
          "\n"
          "z\n"
          "--r--\n")

    write("h-hostile-name.eml",
          "From: a@example.com\n"
          "Subject: hostile\n"
          "Content-Type: multipart/mixed; boundary=h\n"
          "\n"
          "--h\n"
          "Content-Type: text/plain\n"
          "\n"
          "body\n"
          "--h\n"
          "Content-Type: application/octet-stream\n"
          "Content-Disposition: attachment;"
          " filename*=utf-8''..%2F..%2Fetc%2Fpasswd%01%0A\n"
          "\n"
          "x\n"
          "--h--\n")

    write("h-empty.eml", b"")
    write("h-not-mail.txt", "Just some notes,\nnot a mail at all.\n")
    write("h-binary.bin", bytes((i * 37 + 11) % 256 for i in range(512)))


if __name__ == "__main__":
    main()
