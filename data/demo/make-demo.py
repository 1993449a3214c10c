#!/usr/bin/env python3
"""Writes the demo mailboxes under data/demo/ (the committed output).

    data/demo/make-demo.py [OUTDIR]      default: the directory of this file

alice/  an Outlook-like account: INBOX/ and Sent/
bob/    a Gmail-like account: [Gmail]/All Mail/ holds everything, INBOX/
        holds the received mail again, byte for byte

Every byte is fixed by this script (no clock, no randomness), so running it
again gives the same files.  README.txt describes the content.
"""

import base64
import io
import os
import quopri
import shutil
import struct
import sys
import urllib.parse
import zipfile
import zlib

ALICE = ("Alice Martin", "alice@example.com")
BOB = ("Bob Stone", "bob@example.org")
CAROL = ("Carol Nguyen", "carol@clients.example.net")
DAVE = ("Dave O'Brien", "dave@contoso.example")
JUERGEN = ("Jürgen Weiß", "juergen.weiss@example.de")
FRANCOIS = ("François Lefèvre", "francois@example.fr")
YAMADA = ("山田太郎", "yamada@example.jp")
WANG = ("王伟", "wang.wei@example.cn")
DMITRY = ("Дмитрий Иванов", "dmitry@example.ru")
MALLORY = ("IT Helpdesk", "helpdesk@evil.example")
NEWS = ("Example Weekly", "news@weekly.example")


# ------------------------------------------------------------ attachments

def png(width, height, seed):
    """A small valid PNG: a colour gradient, so viewers show something."""
    rows = b""
    for y in range(height):
        rows += b"\x00" + bytes(
            ((x * 7 + seed) % 256, (y * 5 + seed * 3) % 256,
             (x * y + seed) % 256) [i % 3] for x in range(width)
            for i in range(3))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                         0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def pdf(title, lines):
    """A small valid one-page PDF with a few lines of ASCII text."""
    text = "BT /F1 12 Tf 72 760 Td 16 TL (%s) Tj %s ET" % (
        title, " ".join("T* (%s) Tj" % line for line in lines))
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        "<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += ("%d 0 obj\n%s\nendobj\n" % (i, o)).encode("ascii")
    xref = len(out)
    out += ("xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)).encode()
    for off in offsets:
        out += ("%010d 00000 n \n" % off).encode()
    out += ("trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, xref)).encode()
    return out


def docx(paragraphs):
    """A minimal .docx (a zip with fixed timestamps, so it is stable)."""
    body = "".join("<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % p
                   for p in paragraphs)
    files = [
        ("[Content_Types].xml",
         '<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://'
         'schemas.openxmlformats.org/package/2006/content-types"><Default '
         'Extension="rels" ContentType="application/vnd.openxmlformats-'
         'package.relationships+xml"/><Default Extension="xml" ContentType'
         '="application/xml"/><Override PartName="/word/document.xml" '
         'ContentType="application/vnd.openxmlformats-officedocument.'
         'wordprocessingml.document.main+xml"/></Types>'),
        ("_rels/.rels",
         '<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="'
         'http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
         'officeDocument/2006/relationships/officeDocument" Target="word/'
         'document.xml"/></Relationships>'),
        ("word/document.xml",
         '<?xml version="1.0" encoding="UTF-8"?>\n<w:document xmlns:w="'
         'http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
         '<w:body>%s</w:body></w:document>' % body),
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))
    return buf.getvalue()


# ------------------------------------------------------------------ MIME

def words(text, charset="utf-8"):
    """RFC 2047 B encoding of @text when it is not ASCII."""
    if all(ord(c) < 128 for c in text):
        return text
    out, chunk = [], ""
    for c in text:
        if len((chunk + c).encode(charset)) > 36:
            out.append(chunk)
            chunk = ""
        chunk += c
    out.append(chunk)
    return "\n ".join("=?%s?B?%s?=" % (charset, base64.b64encode(
        w.encode(charset)).decode()) for w in out)


def addr(person, charset="utf-8"):
    name, email = person
    if all(ord(c) < 128 for c in name):
        if "'" in name or "." in name:
            return '"%s" <%s>' % (name, email)
        return "%s <%s>" % (name, email)
    return "%s <%s>" % (words(name, charset), email)


def text_part(body, charset="utf-8", subtype="plain", cte=None):
    data = body.encode(charset)
    if cte is None:
        cte = "7bit" if all(b < 128 for b in data) else "quoted-printable"
    if cte == "base64":
        payload = base64.encodebytes(data)
    elif cte == "quoted-printable":
        payload = quopri.encodestring(data)
    else:
        payload = data
    return (b"Content-Type: text/%s; charset=\"%s\"\n"
            b"Content-Transfer-Encoding: %s\n\n" % (
                subtype.encode(), charset.encode(), cte.encode()) + payload)


_boundary = [0]


def multipart(subtype, parts, extra=""):
    _boundary[0] += 1
    b = ("=_demo_%03d_%s" % (_boundary[0], subtype)).encode()
    out = b"Content-Type: multipart/%s;%s\n boundary=\"%s\"\n\n" % (
        subtype.encode(), extra.encode(), b)
    for p in parts:
        out += b"--" + b + b"\n" + p + (b"" if p.endswith(b"\n") else b"\n")
    return out + b"--" + b + b"--\n"


def attachment(data, ctype, name=None, disposition="attachment",
               name_style="plain", cid=None, ct_name=True):
    """A base64 leaf part.  @name_style: plain, rfc2231 (utf-8 or
    iso-8859-1 percent-encoded), rfc2047 (encoded words in quotes, as
    Outlook and Japanese mailers send), or raw (the name as given)."""
    def param(key):
        if name_style == "rfc2231":
            return "%s*=utf-8''%s" % (key, urllib.parse.quote(name, safe=""))
        if name_style == "rfc2231-latin1":
            return "%s*=iso-8859-1''%s" % (key, urllib.parse.quote(
                name.encode("iso-8859-1"), safe=""))
        if name_style.startswith("rfc2047"):
            cs = name_style.split(":")[1] if ":" in name_style else "utf-8"
            return '%s="%s"' % (key, words(name, cs))
        return '%s="%s"' % (key, name)

    head = "Content-Type: %s" % ctype
    if name is not None and ct_name:
        head += ";\n " + param("name")
    head += "\n"
    if disposition is not None:
        head += "Content-Disposition: %s" % disposition
        if name is not None:
            head += ";\n " + param("filename")
        head += "\n"
    if cid is not None:
        head += "Content-ID: <%s>\n" % cid
    head += "Content-Transfer-Encoding: base64\n\n"
    return head.encode("ascii") + base64.encodebytes(data)


def thread_index(base, replies):
    """Outlook's Thread-Index: 22 bytes for the first message, 5 more per
    reply, base64."""
    return base64.b64encode(base + b"\x00\x00\x01\x2c\x40" * replies).decode()


class Msg:
    def __init__(self, box, slug, sender, to, subject, date, mid, body,
                 cc=(), charset="utf-8", reply=None, references=None,
                 extra=()):
        self.box, self.slug, self.date = box, slug, date
        self.mid = mid
        h = ["From: " + addr(sender, charset),
             "To: " + ",\n ".join(addr(p, charset) for p in to)]
        if cc:
            h.append("Cc: " + ",\n ".join(addr(p, charset) for p in cc))
        h.append("Subject: " + words(subject, charset))
        h.append("Date: " + date)
        h.append("Message-ID: <%s>" % mid)
        if reply is not None:
            h.append("In-Reply-To: <%s>" % reply)
        if references:
            h.append("References: " + "\n ".join(
                "<%s>" % r for r in references))
        h.extend(extra)
        h.append("MIME-Version: 1.0")
        self.data = "\n".join(h).encode("ascii") + b"\n" + body


def sortkey(date):
    """Sorts RFC 5322 dates of this file (all in 2026) in UTC order."""
    import email.utils
    return email.utils.parsedate_to_datetime(date).timestamp()


def write(outdir, user, msgs):
    boxes = {}
    for m in msgs:
        for box in m.box if isinstance(m.box, tuple) else (m.box,):
            boxes.setdefault(box, []).append(m)
    for box, items in boxes.items():
        d = os.path.join(outdir, user, box)
        os.makedirs(d, exist_ok=True)
        items.sort(key=lambda m: sortkey(m.date))
        for i, m in enumerate(items, 1):
            with open(os.path.join(d, "%02d-%s.eml" % (i, m.slug)),
                      "wb") as f:
                f.write(m.data)


# ---------------------------------------------------------------- content

OUTLOOK = "eurprd07.prod.outlook.example"
GMAIL = "mail.gmail.example"
SIG_ALICE = "\n-- \nAlice Martin\nHead of Operations, Example Corp.\n"
TI_BUDGET = bytes.fromhex("01dc7e2a1b3c") + b"AliceBudget#0001"
TI_MIGRATION = bytes.fromhex("01dc80f44e21") + b"MigrationPlan#01"
TI_LUNCH = bytes.fromhex("01dc9a0c7712") + b"LunchFriday#0001"


def outlook_headers(subject, base, replies):
    return ["Thread-Topic: " + words(subject),
            "Thread-Index: " + thread_index(base, replies),
            "X-MS-Has-Attach: ", "X-Mailer: Microsoft Outlook 16.0"]


def html_of(text, charset="utf-8"):
    paras = "".join("<p>%s</p>\n" % line.replace("&", "&amp;")
                    .replace("<", "&lt;").replace(">", "&gt;")
                    for line in text.strip().split("\n") if line)
    return ("<html><head><meta http-equiv=\"Content-Type\" "
            "content=\"text/html; charset=%s\"></head>\n<body>\n%s"
            "</body></html>\n" % (charset, paras))


def alt(text, charset="utf-8"):
    return multipart("alternative", [
        text_part(text, charset),
        text_part(html_of(text, charset), charset, "html")])


def quote(text):
    return "".join("> " + line + "\n" for line in text.strip().split("\n"))


def conversations():
    """Every demo message once; Msg.box says where it lives, per user:
    ("alice", box) and ("bob", box) pairs."""
    m = {}
    t = {}

    # A: budget review across Inbox and Sent, Gmail on the other side.
    t["a1"] = ("Hi Alice,\n\nattached is the draft Q1 budget. The travel "
               "line is up 12%;\ncould you check it before Thursday?\n\n"
               "Thanks,\nBob\n")
    m["a1"] = Msg(None, "q1-budget", BOB, [ALICE], "Q1 budget review",
                  "Mon, 05 Jan 2026 09:12:00 +0100",
                  "CAHx1q2Budget0001v7Qw@" + GMAIL,
                  multipart("mixed", [
                      text_part(t["a1"]),
                      attachment(pdf("Q1 budget draft", [
                          "Travel: 41,200", "Hardware: 18,900",
                          "Training: 7,300"]), "application/pdf",
                          "Q1-budget.pdf")]),
                  cc=[CAROL])
    t["a2"] = ("Bob,\n\nthe travel line includes the two customer visits "
               "in March,\nso 12% is expected. The rest looks fine.\n")
    m["a2"] = Msg(None, "re-q1-budget", ALICE, [BOB], "RE: Q1 budget review",
                  "Mon, 05 Jan 2026 11:40:00 +0100",
                  "AM0PR07MB4411A2B1C0@" + OUTLOOK,
                  alt(t["a2"] + SIG_ALICE + "\n" + quote(t["a1"])),
                  cc=[CAROL], reply=m["a1"].mid, references=[m["a1"].mid],
                  extra=outlook_headers("Q1 budget review", TI_BUDGET, 1))
    t["a3"] = ("Both,\n\nhere is the chart for the board deck. "
               "I used the numbers from Bob's draft.\n\nCarol\n")
    m["a3"] = Msg(None, "chart", CAROL, [ALICE, BOB], "Re: Q1 budget review",
                  "Tue, 06 Jan 2026 08:05:00 -0500",
                  "5f1c2a90-7d1e-4c2b-9a55-chart@clients.example.net",
                  multipart("mixed", [
                      text_part(t["a3"] + "\n" + quote(t["a2"])),
                      attachment(png(48, 32, 1), "image/png", "chart.png")]),
                  reply=m["a2"].mid,
                  references=[m["a1"].mid, m["a2"].mid])
    m["a4"] = Msg(None, "re-chart", ALICE, [CAROL], "RE: Q1 budget review",
                  "Wed, 07 Jan 2026 10:30:00 +0100",
                  "AM0PR07MB4411A4D9E2@" + OUTLOOK,
                  alt("Thanks Carol, it is in the deck now.\n" + SIG_ALICE),
                  cc=[BOB], reply=m["a3"].mid,
                  references=[m["a1"].mid, m["a2"].mid, m["a3"].mid],
                  extra=outlook_headers("Q1 budget review", TI_BUDGET, 2))

    # D: Outlook on both sides; Dave's reply has only Thread-Index.
    t["d1"] = ("Dave,\n\nplease find the plan for moving the file server "
               "to the new rack.\nWe would cut over on Saturday 17 "
               "January.\n")
    m["d1"] = Msg(None, "migration", ALICE, [DAVE], "Server migration plan",
                  "Thu, 08 Jan 2026 16:02:00 +0100",
                  "AM0PR07MB4411D1F00A@" + OUTLOOK,
                  alt(t["d1"] + SIG_ALICE),
                  extra=outlook_headers("Server migration plan",
                                        TI_MIGRATION, 0))
    t["d2"] = ("Alice,\n\nSaturday works. My runbook is attached; step 7 "
               "needs your sign-off.\n\nDave\n")
    m["d2"] = Msg(None, "re-migration", DAVE, [ALICE],
                  "RE: Server migration plan",
                  "Fri, 09 Jan 2026 09:47:00 +0000",
                  "DB8PR03MB0999D2C3B1@contoso.example",
                  multipart("mixed", [
                      alt(t["d2"] + "\n" + quote(t["d1"])),
                      attachment(docx(["Migration runbook",
                                       "1. Announce the window.",
                                       "7. Alice signs off the cut-over."]),
                                 "application/vnd.openxmlformats-"
                                 "officedocument.wordprocessingml.document",
                                 "Migration runbook.docx")]),
                  extra=outlook_headers("Server migration plan",
                                        TI_MIGRATION, 1))
    m["d3"] = Msg(None, "re-re-migration", ALICE, [DAVE],
                  "RE: Server migration plan",
                  "Fri, 09 Jan 2026 14:15:00 +0100",
                  "AM0PR07MB4411D3AB77@" + OUTLOOK,
                  alt("Signed off, thanks.\n" + SIG_ALICE + "\n"
                      + quote(t["d2"])),
                  reply=m["d2"].mid, references=[m["d1"].mid, m["d2"].mid],
                  extra=outlook_headers("Server migration plan",
                                        TI_MIGRATION, 2))

    # B: German, ISO-8859-1 quoted-printable, RFC 2231 Latin-1 file name.
    t["b1"] = ("Sehr geehrte Frau Martin,\n\nzur Rechnung 2026-014 habe ich "
               "eine Rückfrage: die Position „Schulung“\nwurde doppelt "
               "berechnet. Die korrigierte Übersicht liegt bei.\n\n"
               "Mit freundlichen Grüßen\nJürgen Weiß\n")
    m["b1"] = Msg(None, "rechnung", JUERGEN, [ALICE],
                  "Rückfrage zur Rechnung 2026-014",
                  "Mon, 12 Jan 2026 14:21:00 +0100",
                  "20260112132100.4711@mail.example.de",
                  multipart("mixed", [
                      text_part(t["b1"].replace("„", '"').replace("“", '"'),
                                "iso-8859-1"),
                      attachment(pdf("Rechnung 2026-014 (korrigiert)", [
                          "Schulung: 1 x 950,00 EUR"]), "application/pdf",
                          "Rechnung März 2026.pdf",
                          name_style="rfc2231-latin1")]),
                  charset="iso-8859-1")
    t["b2"] = ("Sehr geehrter Herr Weiß,\n\nvielen Dank, Sie haben recht. "
               "Wir schicken eine Gutschrift.\n")
    m["b2"] = Msg(None, "re-rechnung", ALICE, [JUERGEN],
                  "RE: Rückfrage zur Rechnung 2026-014",
                  "Tue, 13 Jan 2026 09:00:00 +0100",
                  "AM0PR07MB4411B2E0C4@" + OUTLOOK,
                  alt(t["b2"] + SIG_ALICE + "\n" + quote(t["b1"])),
                  reply=m["b1"].mid, references=[m["b1"].mid])
    m["b3"] = Msg(None, "aw-rechnung", JUERGEN, [ALICE],
                  "AW: RE: Rückfrage zur Rechnung 2026-014",
                  "Wed, 14 Jan 2026 08:12:00 +0100",
                  "20260114071200.4722@mail.example.de",
                  text_part("Danke, die Gutschrift ist angekommen.\n\n"
                            "Grüße\nJ. Weiß\n", "iso-8859-1"),
                  charset="iso-8859-1", reply=m["b2"].mid,
                  references=[m["b1"].mid, m["b2"].mid])

    # C: French HTML only, windows-1252, with an inline cid: image.
    html = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/"
            "html; charset=windows-1252\"></head><body>\n"
            "<p><img src=\"cid:logo.8f2a@example.fr\" alt=\"logo\"></p>\n"
            "<p>Bonjour Alice,</p>\n<p>Voici l’ordre du jour de la "
            "réunion de jeudi :</p>\n<ol><li>Bilan de l’été</li>"
            "<li>Budget – 2026</li><li>Questions diverses</li></ol>\n"
            "<p>Bien cordialement,<br>François</p>\n</body></html>\n")
    m["c1"] = Msg(None, "reunion", FRANCOIS, [ALICE],
                  "Réunion de l’équipe – ordre du jour",
                  "Thu, 15 Jan 2026 17:45:00 +0100",
                  "0a1b2c3d.4e5f@example.fr",
                  multipart("related", [
                      text_part(html, "windows-1252", "html"),
                      attachment(png(40, 16, 7), "image/png", "logo.png",
                                 disposition="inline",
                                 cid="logo.8f2a@example.fr")],
                      extra=' type="text/html";'),
                  charset="windows-1252")
    m["c2"] = Msg(None, "re-reunion", ALICE, [FRANCOIS],
                  "RE: Réunion de l’équipe – ordre du jour",
                  "Fri, 16 Jan 2026 08:30:00 +0100",
                  "AM0PR07MB4411C2FF10@" + OUTLOOK,
                  alt("Merci François, je serai là jeudi.\n" + SIG_ALICE),
                  reply=m["c1"].mid, references=[m["c1"].mid])

    # E: Japanese in ISO-2022-JP, the file name RFC 2047-encoded.
    t["e1"] = ("マーティン様\n\nいつもお世話になっております。\n"
               "ご依頼の見積書を添付いたします。\nご確認のほど、"
               "よろしくお願いいたします。\n\n山田\n")
    m["e1"] = Msg(None, "mitsumori", YAMADA, [ALICE], "見積書の送付",
                  "Mon, 19 Jan 2026 10:03:00 +0900",
                  "20260119100300.A1B2@example.jp",
                  multipart("mixed", [
                      text_part(t["e1"], "iso-2022-jp", cte="7bit"),
                      attachment(pdf("Quotation 2026-0119", [
                          "Item A: 120,000 JPY"]), "application/pdf",
                          "見積書.pdf", name_style="rfc2047:iso-2022-jp")]),
                  charset="iso-2022-jp", extra=["X-Mailer: Becky! ver. 2.81"])
    m["e2"] = Msg(None, "re-mitsumori", ALICE, [YAMADA], "RE: 見積書の送付",
                  "Mon, 19 Jan 2026 15:20:00 +0100",
                  "AM0PR07MB4411E2AA01@" + OUTLOOK,
                  alt("山田様\n\nありがとうございます。Thank you, we will "
                      "confirm by Friday.\n" + SIG_ALICE),
                  reply=m["e1"].mid, references=[m["e1"].mid])

    # F: Chinese in GB2312, base64 body, .docx with an RFC 2231 name.
    m["f1"] = Msg(None, "baogao", WANG, [ALICE], "季度报告",
                  "Wed, 21 Jan 2026 16:40:00 +0800",
                  "tencent_3F2A1B0C@example.cn",
                  multipart("mixed", [
                      text_part("马丁女士，您好：\n\n附件是本季度的报告，"
                                "请查收。\n\n王伟\n", "gb2312",
                                cte="base64"),
                      attachment(docx(["Quarterly report", "Q4 2025"]),
                                 "application/vnd.openxmlformats-"
                                 "officedocument.wordprocessingml.document",
                                 "季度报告.docx", name_style="rfc2231")]),
                  charset="gb2312")
    m["f2"] = Msg(None, "re-baogao", ALICE, [WANG], "RE: 季度报告",
                  "Wed, 21 Jan 2026 11:02:00 +0100",
                  "AM0PR07MB4411F2B0B0@" + OUTLOOK,
                  alt("Dear Wang Wei,\n\nthank you, received.\n"
                      + SIG_ALICE),
                  reply=m["f1"].mid, references=[m["f1"].mid])

    # G: Russian KOI8-R, 8bit body, an image without Content-Disposition.
    m["g1"] = Msg(None, "otchet", DMITRY, [ALICE], "Отчёт за квартал",
                  "Fri, 23 Jan 2026 12:00:00 +0300",
                  "1737622800.123456@example.ru",
                  multipart("mixed", [
                      text_part("Добрый день, Алиса!\n\nНаправляю схему "
                                "сети к отчёту.\n\nС уважением,\n"
                                "Дмитрий\n", "koi8-r", cte="8bit"),
                      attachment(png(32, 32, 3), "image/png", "схема.png",
                                 disposition=None,
                                 name_style="rfc2047:koi8-r")]),
                  charset="koi8-r")
    m["g2"] = Msg(None, "re-otchet", ALICE, [DMITRY],
                  "RE: Отчёт за квартал",
                  "Fri, 23 Jan 2026 13:30:00 +0100",
                  "AM0PR07MB4411G2C0C0@" + OUTLOOK,
                  alt("Спасибо, Дмитрий!\n" + SIG_ALICE),
                  reply=m["g1"].mid, references=[m["g1"].mid])

    # J: a five-message thread whose last References was truncated.
    ids = ["AM0PR07MB4411J1@" + OUTLOOK, "CAHx1q2Release02xY@" + GMAIL,
           "AM0PR07MB4411J3@" + OUTLOOK,
           "77a0c1d2-release-04@clients.example.net",
           "CAHx1q2Release05zZ@" + GMAIL]
    lines = ["Release 2.0 checklist: docs, packages, announcement.",
             "Packages are built; I will upload them tonight.",
             "Great. Docs are merged too.",
             "Announcement draft is in the shared folder.",
             "Uploaded. Everything on the list is done."]
    senders = [ALICE, BOB, ALICE, CAROL, BOB]
    for i in range(5):
        key = "j%d" % (i + 1)
        refs = ids[:i]
        if i == 4:
            # Like mailers that trim long References: first and last only.
            refs = [ids[0], ids[3]]
        subject = "Release 2.0 checklist"
        if i:
            subject = ("RE: " if senders[i] is ALICE else "Re: ") + subject
        body = lines[i] + "\n"
        extra = []
        if senders[i] is ALICE:
            body += SIG_ALICE
            extra = outlook_headers("Release 2.0 checklist",
                                    b"\x01\xdc\xa1\x00\x00\x00"
                                    b"ReleaseTwo#00001", i)
        m[key] = Msg(None, "release-%d" % (i + 1), senders[i],
                     [p for p in (ALICE, BOB, CAROL) if p is not senders[i]],
                     subject, "%s Jan 2026 %02d:15:00 +0100" % (
                         ["Mon, 26", "Mon, 26", "Tue, 27", "Tue, 27",
                          "Wed, 28"][i], 9 + 2 * i),
                     ids[i], alt(body) if senders[i] is ALICE
                     else text_part(body),
                     reply=ids[i - 1] if i else None, references=refs,
                     extra=extra)

    # H: a forwarded message that carries its own attachment.
    inner = (("From: Hotel Adlon Reservations <reservations@hotel.example>\n"
              "To: %s\nSubject: Booking confirmation 48213\n"
              "Date: Tue, 20 Jan 2026 18:00:00 +0100\n"
              "Message-ID: <booking-48213@hotel.example>\n"
              "MIME-Version: 1.0\n" % addr(ALICE)).encode("ascii")
             + multipart("mixed", [
                 text_part("Dear Ms Martin,\n\nyour booking 48213 for "
                           "3-5 February is confirmed.\n"),
                 attachment(pdf("Booking 48213", [
                     "3-5 February 2026, 2 nights"]), "application/pdf",
                     "confirmation-48213.pdf")]))
    m["h1"] = Msg(None, "fwd-booking", ALICE, [BOB],
                  "FW: Booking confirmation 48213",
                  "Thu, 29 Jan 2026 09:10:00 +0100",
                  "AM0PR07MB4411H1DD00@" + OUTLOOK,
                  multipart("mixed", [
                      text_part("Bob, for your expense report.\n"
                                + SIG_ALICE),
                      b"Content-Type: message/rfc822\n"
                      b"Content-Disposition: attachment;\n"
                      b" filename=\"Booking confirmation 48213.eml\"\n\n"
                      + inner]))

    # I: a hostile attachment name.
    m["i1"] = Msg(None, "password-expiry", MALLORY, [ALICE],
                  "Password expiry notice",
                  "Fri, 30 Jan 2026 03:33:00 +0000",
                  "deadbeef.0001@evil.example",
                  multipart("mixed", [
                      text_part("Your password expires today. Open the "
                                "attached file for instructions.\n"),
                      attachment(b"root:x:0:0:root:/root:/bin/bash\n"
                                 b"demo:x:1000:1000::/home/demo:/bin/sh\n",
                                 "text/plain", "../../etc/passwd")]))

    # Single messages: HTML newsletter, photos, a short exchange.
    m["n1"] = Msg(None, "newsletter", NEWS, [ALICE],
                  "Example Weekly #5: what's new in February",
                  "Mon, 02 Feb 2026 06:00:00 +0000",
                  "weekly-5.20260202@weekly.example",
                  text_part(html_of("Example Weekly, issue 5\nThree "
                                    "things we shipped — and one we "
                                    "didn't.\nRead more on our site."),
                            "utf-8", "html"),
                  extra=["List-Unsubscribe: <mailto:leave@weekly.example>"])
    m["n2"] = Msg(None, "photos", CAROL, [ALICE], "Photos from the offsite",
                  "Wed, 04 Feb 2026 19:12:00 -0500",
                  "6b1d0e2f-photos@clients.example.net",
                  multipart("mixed", [
                      alt("Hi Alice,\n\ntwo pictures from the offsite in "
                          "Zürich.\n\nCarol\n"),
                      attachment(png(64, 48, 11), "image/png",
                                 "offsite-1.png"),
                      attachment(png(64, 48, 23), "image/png",
                                 "Team am Seeufer – Zürich.png",
                                 name_style="rfc2047")]))
    m["n3"] = Msg(None, "lunch", BOB, [ALICE], "Lunch on Friday?",
                  "Fri, 06 Feb 2026 10:01:00 +0100",
                  "CAHx1q2Lunch0001aB@" + GMAIL,
                  text_part("Lunch on Friday, 12:30 at the usual place?\n"))
    m["n4"] = Msg(None, "re-lunch", ALICE, [BOB], "RE: Lunch on Friday?",
                  "Fri, 06 Feb 2026 10:20:00 +0100",
                  "AM0PR07MB4411N4EE01@" + OUTLOOK,
                  alt("Yes, see you there.\n" + SIG_ALICE),
                  reply=m["n3"].mid, references=[m["n3"].mid],
                  extra=outlook_headers("Lunch on Friday?", TI_LUNCH, 1))
    m["n5"] = Msg(None, "gruesse", ("Käthe Müller", "kaethe@example.de"),
                  [ALICE], "Grüße aus Köln",
                  "Tue, 10 Feb 2026 20:45:00 +0100",
                  "b7c9-20260210@example.de",
                  text_part("Liebe Alice,\n\nviele Grüße aus Köln – wir "
                            "sehen uns im März!\n\nKäthe\n", "utf-8",
                            cte="8bit"))

    # Bob's own mail with Carol.
    t["k1"] = "Bob,\n\nversion 3 of the contract is attached.\n\nCarol\n"
    m["k1"] = Msg(None, "contract", CAROL, [BOB], "Contract draft v3",
                  "Tue, 13 Jan 2026 15:00:00 -0500",
                  "9e8d7c6b-contract@clients.example.net",
                  multipart("mixed", [
                      text_part(t["k1"]),
                      attachment(docx(["Contract draft v3",
                                       "Clause 4 amended."]),
                                 "application/vnd.openxmlformats-"
                                 "officedocument.wordprocessingml.document",
                                 "Contract v3.docx")]))
    m["k2"] = Msg(None, "re-contract", BOB, [CAROL], "Re: Contract draft v3",
                  "Wed, 14 Jan 2026 09:30:00 +0100",
                  "CAHx1q2Contract02cD@" + GMAIL,
                  text_part("Looks good to me.\n\n" + quote(t["k1"])),
                  reply=m["k1"].mid, references=[m["k1"].mid])
    return m


def placement():
    """(message key, alice's mailbox or None, bob's mailboxes)."""
    allm = "[Gmail]/All Mail"
    return [
        ("a1", "INBOX", (allm,)), ("a2", "Sent", ("INBOX", allm)),
        ("a3", "INBOX", ("INBOX", allm)), ("a4", "Sent", ("INBOX", allm)),
        ("d1", "Sent", ()), ("d2", "INBOX", ()), ("d3", "Sent", ()),
        ("b1", "INBOX", ()), ("b2", "Sent", ()), ("b3", "INBOX", ()),
        ("c1", "INBOX", ()), ("c2", "Sent", ()),
        ("e1", "INBOX", ()), ("e2", "Sent", ()),
        ("f1", "INBOX", ()), ("f2", "Sent", ()),
        ("g1", "INBOX", ()), ("g2", "Sent", ()),
        ("j1", "Sent", ("INBOX", allm)), ("j2", "INBOX", (allm,)),
        ("j3", "Sent", ("INBOX", allm)), ("j4", "INBOX", ("INBOX", allm)),
        ("j5", "INBOX", (allm,)),
        ("h1", "Sent", ("INBOX", allm)),
        ("i1", "INBOX", ()),
        ("n1", "INBOX", ()), ("n2", "INBOX", ()),
        ("n3", "INBOX", (allm,)), ("n4", "Sent", ("INBOX", allm)),
        ("n5", "INBOX", ()),
        ("k1", None, ("INBOX", allm)), ("k2", None, (allm,)),
    ]


def alice_messages():
    m = conversations()
    out = []
    for key, box, _ in placement():
        if box is not None:
            m[key].box = box
            out.append(m[key])
    return out


def bob_messages():
    m = conversations()
    out = []
    for key, _, boxes in placement():
        if boxes:
            m[key].box = boxes
            out.append(m[key])
    return out

def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.abspath(__file__))
    for user in ("alice", "bob"):
        shutil.rmtree(os.path.join(outdir, user), ignore_errors=True)
    write(outdir, "alice", alice_messages())
    write(outdir, "bob", bob_messages())
    return 0


if __name__ == "__main__":
    sys.exit(main())
