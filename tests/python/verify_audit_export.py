#!/usr/bin/env python3
"""Verify a Lockbox audit export (JSON Lines or CSV) from the file alone.

An independent verifier written from docs/audit-format.md, standard library
only; it shares no code with Lockbox. Usage:

    verify_audit_export.py [--format csv|jsonl] FILE...

The format comes from each file's name (.jsonl, .csv) unless given. For each
file the first output line starts with "FILE: ": "intact" when every line
verified (then one line per tenant says which entries it covers and its head
hash), else "TAMPERED at line N" or "MALFORMED at line N", with the tenant and
tenant_seq when the line could be read. Exit 0: every file verified; 1: some
file did not; 2: usage error or an unreadable file.
"""

import csv
import datetime
import hashlib
import json
import re
import sys

FORMAT_TAG = b"lockbox-audit-v2"
GENESIS = "0" * 64
COLUMNS = [
    "seq",
    "tenant_seq",
    "at",
    "at_ms",
    "recorded_at",
    "recorded_at_ms",
    "tenant",
    "actor_kind",
    "actor",
    "operation",
    "request_id",
    "details",
    "prev_hash",
    "hash",
]
INT_COLUMNS = ("seq", "tenant_seq", "at_ms", "recorded_at_ms")
TEXT_COLUMNS = ("at", "recorded_at", "tenant", "actor_kind", "actor", "operation",
                "details", "prev_hash", "hash")
I64_MIN, I64_MAX = -(2 ** 63), 2 ** 63 - 1
MIN_MS, MAX_MS = -62135596800000, 253402300799999  # years 1 to 9999
STRICT_INT = re.compile(r"(0|-?[1-9][0-9]*)\Z")
HEX64 = re.compile(r"[0-9a-f]{64}\Z")
SPREADSHEET_FIRST = ("=", "+", "-", "@", "\t", "\r", "'")


class Bad(Exception):
    """The current line fails. `malformed`: it is not an entry at all."""

    def __init__(self, problem, malformed=False):
        super().__init__(problem)
        self.problem = problem
        self.malformed = malformed


# --- the encoding (docs/audit-format.md, section 2) -------------------------

def field(b):
    return len(b).to_bytes(8, "big") + b


def i64(v):
    return v.to_bytes(8, "big", signed=True)


def encoding(e):
    out = field(FORMAT_TAG)
    out += field(i64(e["tenant_seq"]))
    out += field(i64(e["at_ms"]))
    out += field(i64(e["recorded_at_ms"]))
    for name in ("tenant", "actor_kind", "actor", "operation"):
        out += field(e[name].encode("utf-8"))
    if e["request_id"] is None:
        out += b"\x00"
    else:
        out += b"\x01" + field(e["request_id"].encode("utf-8"))
    out += field(e["details"].encode("utf-8"))
    out += field(e["prev_hash"].encode("ascii"))
    return out


def rfc3339(ms):
    """YYYY-MM-DDTHH:MM:SS, then .mmm if the milliseconds are not zero, then Z."""
    secs, milli = divmod(ms, 1000)
    days, rem = divmod(secs, 86400)
    d = datetime.date(1970, 1, 1) + datetime.timedelta(days=days)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    text = f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{h:02d}:{m:02d}:{s:02d}"
    if milli:
        text += f".{milli:03d}"
    return text + "Z"


# --- reading lines ----------------------------------------------------------

def check_utf8(text_of):
    try:
        text_of.encode("utf-8")
    except UnicodeEncodeError:
        raise Bad("a string holds an unpaired surrogate (not Unicode text)", True)


def no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise Bad(f"the key {k!r} appears twice", True)
        seen[k] = v
    return seen


def jsonl_entries(data):
    """Yield (line number, entry or Bad) for each line of a JSON Lines file."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for n, raw in enumerate(lines, 1):
        try:
            yield n, parse_json_line(raw)
        except Bad as b:
            yield n, b


def parse_json_line(raw):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Bad("not UTF-8", True)
    if not text.strip():
        raise Bad("an empty line (each line holds one entry)", True)
    try:
        obj = json.loads(text, object_pairs_hook=no_duplicates)
    except Bad:
        raise
    except (ValueError, RecursionError) as err:
        raise Bad(f"not JSON: {err}", True)
    if not isinstance(obj, dict):
        raise Bad("not a JSON object", True)
    for k in COLUMNS:
        if k not in obj:
            raise Bad(f"missing field {k}", True)
    for k in obj:
        if k not in COLUMNS:
            raise Bad(f"unknown field {k}", True)
    for k in INT_COLUMNS:
        v = obj[k]
        if type(v) is not int or not I64_MIN <= v <= I64_MAX:
            raise Bad(f"{k} must be an integer (i64), found {json.dumps(v)}", True)
    for k in TEXT_COLUMNS:
        if not isinstance(obj[k], str):
            raise Bad(f"{k} must be a string", True)
        check_utf8(obj[k])
    rid = obj["request_id"]
    if rid is not None:
        if not isinstance(rid, str):
            raise Bad("request_id must be a string or null", True)
        check_utf8(rid)
    return obj


def csv_value(cell, name):
    """Undo the spreadsheet escape exactly; refuse a ' the export would not write."""
    value = cell[1:] if cell.startswith("'") else cell
    escaped = "'" + value if value.startswith(SPREADSHEET_FIRST) else value
    if escaped != cell:
        raise Bad(f"{name} starts with a ' that the export does not write there", True)
    return value


def csv_entries(data):
    """Yield (line number, entry or Bad) for each record of a CSV file; the
    line is the one the record starts on (the header is line 1)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        yield data.count(b"\n", 0, err.start) + 1, Bad("not UTF-8", True)
        return
    # Lines end at LF only (not at U+2028 or a lone CR, as str.splitlines would).
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    reader = csv.reader(iter(lines), strict=True)
    header = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            yield start, Bad(f"not CSV: {err}", True)
            return
        if row == []:
            continue  # a blank line
        if header is None:
            header = row
            if row != COLUMNS:
                yield start, Bad("the header is not that of an audit export: expected "
                                 + ",".join(COLUMNS) + ", found " + ",".join(row), True)
                return
            continue
        try:
            yield start, parse_csv_record(row)
        except Bad as b:
            yield start, b
    if header is None:
        yield 1, Bad("the file is empty: no CSV header", True)


def parse_csv_record(row):
    if len(row) != len(COLUMNS):
        raise Bad(f"{len(row)} cells where the header has {len(COLUMNS)}", True)
    e = {}
    for name, cell in zip(COLUMNS, row):
        e[name] = csv_value(cell, name)
    for k in INT_COLUMNS:
        v = e[k]
        if not STRICT_INT.match(v) or not I64_MIN <= int(v) <= I64_MAX:
            raise Bad(f"{k} must be a decimal integer, found {v!r}", True)
        e[k] = int(v)
    if e["request_id"] == "":
        e["request_id"] = None
    return e


# --- the checks (docs/audit-format.md, section 6) ---------------------------

class Chain:
    def __init__(self, tenant, e):
        self.tenant = tenant
        self.entries = 0
        self.first = e["tenant_seq"]
        self.last = None
        self.head = None


def check_entry(e, state):
    """Raise Bad if the entry does not continue the file's chains."""
    # 1. Well-formed (the rest of it): positions from 1, times in range,
    # 64-hex hashes.
    for name in ("seq", "tenant_seq"):
        if e[name] < 1:
            raise Bad(f"{name} {e[name]} is not a position (they count from 1)", True)
    for name in ("at", "recorded_at"):
        ms = e[name + "_ms"]
        if not MIN_MS <= ms <= MAX_MS:
            raise Bad(f"{name}_ms {ms} is outside the years 1 to 9999", True)
    for name in ("prev_hash", "hash"):
        if not HEX64.match(e[name]):
            raise Bad(f"{name} must be 64 lowercase hex digits, found {e[name]!r}", True)
    # 2. The readable times are the hashed ones.
    for name in ("at", "recorded_at"):
        want = rfc3339(e[name + "_ms"])
        if e[name] != want:
            raise Bad(f"{name} {e[name]!r} is not {name}_ms {e[name + '_ms']} ({want}): "
                      "the unhashed time was edited")
    # 3. Order.
    if e["seq"] <= state["last_seq"]:
        raise Bad(f"seq {e['seq']} does not come after {state['last_seq']} "
                  "(entries were reordered)")
    # 4. and 5. Chain position and link.
    chain = state["chains"].get(e["tenant"])
    if chain is None:
        if e["tenant_seq"] == 1 and e["prev_hash"] != GENESIS:
            raise Bad("the tenant's first entry (tenant_seq 1) must follow GENESIS, "
                      f"but its prev_hash is {e['prev_hash']}")
    else:
        if e["tenant_seq"] != chain.last + 1:
            raise Bad(f"tenant_seq {e['tenant_seq']} found where {chain.last + 1} was expected "
                      "(an entry was deleted, inserted or moved, or the export was filtered "
                      "by something other than time)")
        if e["prev_hash"] != chain.head:
            raise Bad("prev_hash is not the hash of the tenant's previous entry "
                      "(entries were removed, reordered or forged)")
    # 6. Hash.
    if hashlib.sha256(encoding(e)).hexdigest() != e["hash"]:
        raise Bad("its content does not match its hash (the entry was edited)")
    # Passed: advance.
    if chain is None:
        chain = Chain(e["tenant"], e)
        state["chains"][e["tenant"]] = chain
    chain.entries += 1
    chain.last = e["tenant_seq"]
    chain.head = e["hash"]
    state["last_seq"] = e["seq"]


def verify(path, data, fmt):
    entries = jsonl_entries(data) if fmt == "jsonl" else csv_entries(data)
    state = {"last_seq": 0, "chains": {}}
    verified = 0
    for line, e in entries:
        bad = e if isinstance(e, Bad) else None
        if bad is None:
            try:
                check_entry(e, state)
            except Bad as b:
                bad = b
        if bad is not None:
            kind = "MALFORMED" if bad.malformed else "TAMPERED"
            whose = ""
            if not isinstance(e, Bad):
                whose = f" (tenant {e['tenant']!r}, tenant_seq {e['tenant_seq']})"
            print(f"{path}: {kind} at line {line}{whose}: {bad.problem}")
            print(f"{verified} entries before it verified")
            return 1
        verified += 1
    print(f"{path}: intact ({fmt}): {verified} entries in {len(state['chains'])} chain(s)")
    for c in state["chains"].values():
        if c.first == 1:
            how = "link together from the chain's first entry (GENESIS)"
        else:
            how = (f"link together; the file does not start at the chain's first entry, "
                   f"so it proves nothing about entries before {c.first}")
        print(f"  entries {c.first}..{c.last} of tenant {c.tenant!r} {how}; head {c.head}")
    return 0


def main(argv):
    args = argv[1:]
    fmt = None
    if len(args) >= 2 and args[0] == "--format":
        fmt, args = args[1], args[2:]
    if not args or fmt not in (None, "csv", "jsonl"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    worst = 0
    for path in args:
        f = fmt
        if f is None:
            lower = path.lower()
            f = "jsonl" if lower.endswith(".jsonl") else "csv" if lower.endswith(".csv") else None
        if f is None:
            print(f"cannot tell the format of {path}: use --format csv|jsonl", file=sys.stderr)
            code = 2
        else:
            try:
                with open(path, "rb") as file:
                    data = file.read()
            except OSError as err:
                print(f"cannot read {path}: {err}", file=sys.stderr)
                data, code = None, 2
            if data is not None:
                code = verify(path, data, f)
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv))
