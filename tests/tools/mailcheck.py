#!/usr/bin/python3
"""mailcheck.py MAILDIR [OUT.json]: the mails an SMTP sink received, read strictly.

Reads every message of the Maildir (tests/tools/smtpsink.py writes it) with
Python's email package under a policy that raises on any defect, and checks
what every quarterhour mail has: Message-ID, Date, From, To, Subject,
Auto-Submitted, Content-Language, X-Quarterhour-Event, and a
multipart/alternative with a text/plain and a text/html part (in a
multipart/mixed with the attachments). Prints (or writes to OUT.json) one
JSON object per message: event, headers, the envelope's recipients (the
sink's X-RcptTo), the text and HTML bodies decoded, and attachments by
name with their content. Exits 1 with the reason on the first problem.
"""
import email
import email.policy
import json
import os
import sys

STRICT = email.policy.default.clone(raise_on_defect=True)
NEEDED = ("Message-ID", "Date", "From", "To", "Subject", "Auto-Submitted",
          "Content-Language", "X-Quarterhour-Event")


def read(path):
    msg = email.message_from_bytes(open(path, "rb").read(), policy=STRICT)
    for h in NEEDED:
        if msg[h] is None:
            raise ValueError("%s: no %s header" % (path, h))
    out = {h.lower(): str(msg[h]) for h in NEEDED}
    out["event"] = out["x-quarterhour-event"]
    out["rcpt"] = sorted(a.strip() for a in str(msg.get("X-RcptTo", "")).split(","))
    out["attachments"] = {}
    top = msg.get_content_type()
    if top == "multipart/mixed":
        parts = list(msg.iter_parts())
        alt = parts[0]
        for p in parts[1:]:
            if p.get_content_disposition() != "attachment":
                raise ValueError("%s: a part after the first is no attachment" % path)
            out["attachments"][p.get_filename()] = {
                "type": p.get_content_type(),
                "method": p.get_param("method"),
                "content": p.get_content() if p.get_content_maintype() == "text"
                else None,
                "bytes": p.get_payload(decode=True).decode("utf-8"),
            }
    elif top == "multipart/alternative":
        alt = msg
    else:
        raise ValueError("%s: %s, not multipart/alternative" % (path, top))
    if alt.get_content_type() != "multipart/alternative":
        raise ValueError("%s: the first part is %s" % (path, alt.get_content_type()))
    kinds = [p.get_content_type() for p in alt.iter_parts()]
    if kinds != ["text/plain", "text/html"]:
        raise ValueError("%s: alternatives %s" % (path, kinds))
    plain, html = alt.iter_parts()
    for p in (plain, html):
        if p.get_content_charset() != "utf-8":
            raise ValueError("%s: charset %s" % (path, p.get_content_charset()))
    out["text"] = plain.get_content()
    out["html"] = html.get_content()
    return out


def main():
    paths = []
    for sub in ("new", "cur"):
        d = os.path.join(sys.argv[1], sub)
        if os.path.isdir(d):
            paths += [os.path.join(d, n) for n in os.listdir(d) if not n.startswith(".")]
    mails = []
    try:
        for path in sorted(paths, key=os.path.basename):
            mails.append(read(path))
    except Exception as e:
        print("mailcheck: %s" % e, file=sys.stderr)
        return 1
    text = json.dumps(mails, ensure_ascii=False, indent=1)
    if len(sys.argv) > 2:
        open(sys.argv[2], "w", encoding="utf-8").write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
