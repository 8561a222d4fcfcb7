#!/usr/bin/python3
"""icscheck.py FILE: a strict check of an iCalendar object (RFC 5545).

Checks what a calendar program may rely on, more strictly than most of them
read: UTF-8; every line ends CRLF and is at most 75 octets; folded lines
continue with one blank; each content line is NAME *(;PARAM=VALUE) : VALUE
with names, parameter values and values free of control characters; BEGIN
and END nest with one VCALENDAR outermost; VCALENDAR has VERSION:2.0 and
PRODID once; each VEVENT has UID, DTSTAMP (UTC) and DTSTART once, not both
DTEND and DURATION, a well-formed DURATION and SEQUENCE, TEXT values with
only the escapes \\\\ \\; \\, \\n \\N and no bare ';' or ','; METHOD:PUBLISH
(RFC 5546) events name their ORGANIZER as a mailto: address. Then Debian's
python3-icalendar must parse it too. Prints the event's properties as JSON
on success; exits 1 with the reason otherwise. Also usable as a module:
check(data) returns the events, a list of {NAME: value} dicts.
"""
import json
import re
import sys

NAME = re.compile(r"^(?:[A-Za-z0-9-]+)$")
CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
UTC_DT = re.compile(r"^\d{8}T\d{6}Z$")
DT = re.compile(r"^\d{8}T\d{6}Z?$")
DURATION = re.compile(r"^[+-]?P(?:\d+W|(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)$")
TEXT_PROPS = {"SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "UID"}


class Bad(Exception):
    pass


def unfold(data):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Bad("not UTF-8: %s" % e)
    if not text.endswith("\r\n"):
        raise Bad("the last line does not end with CRLF")
    physical = text[:-2].split("\r\n")
    lines = []
    for i, line in enumerate(physical, 1):
        if "\r" in line or "\n" in line:
            raise Bad("line %d: a bare CR or LF" % i)
        if len(line.encode("utf-8")) > 75:
            raise Bad("line %d: %d octets, more than 75" % (i, len(line.encode("utf-8"))))
        if line[:1] in (" ", "\t"):
            if not lines:
                raise Bad("line %d: continues nothing" % i)
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def split_line(line):
    """NAME, {PARAM: [values]}, VALUE of one content line."""
    i, n = 0, len(line)
    while i < n and line[i] not in ";:":
        i += 1
    name = line[:i]
    if not NAME.match(name):
        raise Bad("bad property name %r" % name)
    params = {}
    while i < n and line[i] == ";":
        j = line.index("=", i) if "=" in line[i:] else -1
        if j < 0:
            raise Bad("%s: a parameter without '='" % name)
        pname = line[i + 1:j]
        if not NAME.match(pname):
            raise Bad("%s: bad parameter name %r" % (name, pname))
        i = j + 1
        values = []
        while True:
            if i < n and line[i] == '"':
                k = line.find('"', i + 1)
                if k < 0:
                    raise Bad("%s;%s: an unterminated quoted value" % (name, pname))
                value = line[i + 1:k]
                i = k + 1
            else:
                k = i
                while k < n and line[k] not in ';:,"':
                    k += 1
                if k < n and line[k] == '"':
                    raise Bad("%s;%s: a DQUOTE inside a value" % (name, pname))
                value = line[i:k]
                i = k
            if CTL.search(value):
                raise Bad("%s;%s: a control character" % (name, pname))
            values.append(value)
            if i < n and line[i] == ",":
                i += 1
                continue
            break
        params[pname.upper()] = values
    if i >= n or line[i] != ":":
        raise Bad("%s: no ':' before the value" % name)
    value = line[i + 1:]
    if CTL.search(value):
        raise Bad("%s: a control character in the value" % name)
    return name.upper(), params, value


def check_text(name, value):
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\":
            if i + 1 >= len(value) or value[i + 1] not in "\\;,nN":
                raise Bad("%s: a bad escape in %r" % (name, value))
            i += 2
            continue
        if c in ";,":
            raise Bad("%s: an unescaped %r in a TEXT value" % (name, c))
        i += 1


def check(data):
    lines = unfold(data)
    stack, events, cal, method = [], [], None, None
    for line in lines:
        name, params, value = split_line(line)
        if name == "BEGIN":
            if not stack and value != "VCALENDAR":
                raise Bad("the outermost component is %s" % value)
            if not stack and cal is not None:
                raise Bad("a second VCALENDAR")
            stack.append((value, {}))
            if value == "VCALENDAR":
                cal = stack[-1][1]
            continue
        if name == "END":
            if not stack or stack[-1][0] != value:
                raise Bad("END:%s closes %s" % (value, stack[-1][0] if stack else "nothing"))
            comp, props = stack.pop()
            if comp == "VEVENT":
                events.append(props)
            continue
        if not stack:
            raise Bad("%s outside any component" % name)
        props = stack[-1][1]
        props.setdefault(name, []).append((params, value))
    if stack:
        raise Bad("%s is never ended" % stack[-1][0])
    if cal is None:
        raise Bad("no VCALENDAR")
    for p in ("VERSION", "PRODID"):
        if len(cal.get(p, [])) != 1:
            raise Bad("VCALENDAR has %d %s" % (len(cal.get(p, [])), p))
    if cal["VERSION"][0][1] != "2.0":
        raise Bad("VERSION is %s" % cal["VERSION"][0][1])
    if "METHOD" in cal:
        method = cal["METHOD"][0][1]
    if not events:
        raise Bad("no VEVENT")
    out = []
    for ev in events:
        for p in ("UID", "DTSTAMP", "DTSTART"):
            if len(ev.get(p, [])) != 1:
                raise Bad("VEVENT has %d %s" % (len(ev.get(p, [])), p))
        for p, v in ev.items():
            if len(v) > 1 and p not in ("ATTENDEE", "COMMENT", "CATEGORIES"):
                raise Bad("VEVENT has %s %d times" % (p, len(v)))
        if "DTEND" in ev and "DURATION" in ev:
            raise Bad("VEVENT has both DTEND and DURATION")
        if not UTC_DT.match(ev["DTSTAMP"][0][1]):
            raise Bad("DTSTAMP %s is no UTC date-time" % ev["DTSTAMP"][0][1])
        if not DT.match(ev["DTSTART"][0][1]):
            raise Bad("DTSTART %s is no date-time" % ev["DTSTART"][0][1])
        if "DURATION" in ev and not DURATION.match(ev["DURATION"][0][1]):
            raise Bad("DURATION %s" % ev["DURATION"][0][1])
        if "SEQUENCE" in ev and not ev["SEQUENCE"][0][1].isdigit():
            raise Bad("SEQUENCE %s" % ev["SEQUENCE"][0][1])
        for p in TEXT_PROPS & set(ev):
            check_text(p, ev[p][0][1])
        if method == "PUBLISH":
            org = ev.get("ORGANIZER")
            if not org or not org[0][1].lower().startswith("mailto:"):
                raise Bad("a PUBLISH event without a mailto: ORGANIZER")
        out.append({p: v[0][1] for p, v in ev.items()})

    import icalendar  # Debian's python3-icalendar
    parsed = icalendar.Calendar.from_ical(data)
    if len(parsed.walk("VEVENT")) != len(events):
        raise Bad("python3-icalendar found %d events" % len(parsed.walk("VEVENT")))
    return out


def main():
    data = open(sys.argv[1], "rb").read()
    try:
        events = check(data)
    except Bad as e:
        print("icscheck: %s" % e, file=sys.stderr)
        return 1
    print(json.dumps(events))
    return 0


if __name__ == "__main__":
    sys.exit(main())
