# SPDX-License-Identifier: GPL-2.0
"""The Documentation/ABI-style documents: one per entry of the schema's
documents, and one for its device_nodes."""
import textwrap

from .load import BUSY

# Documentation/ABI layout: tag, tabs to column 16, text wrapped to 80 columns
INDENT = "\t\t"
WIDTH = 80 - 16
HEADER = ("This file is generated from configfs-schema/hugedma.json by\n"
          "configfs-schema/gen-abi.  Do not edit it: edit the schema, then run\n"
          "make docs.\n")


def wrap(text, width=WIDTH):
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def show(value):
    """An example value as an inline ReST literal, C escapes for the unprintable."""
    out = []
    for c in value:
        if c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c in "\\\"":
            out.append("\\" + c)
        elif " " <= c <= "~":
            out.append(c)
        else:
            out.append(f"\\x{ord(c):02x}")
    return '``"' + "".join(out) + '"``'


def table(header, rows):
    """A ReST simple table; only the last column wraps (continuation rows)."""
    ncol = len(header)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(ncol - 1)]
    last = max(24, WIDTH - sum(widths) - 2 * (ncol - 1))
    widths.append(min(last, max(len(r[-1]) for r in [header] + rows)))
    rule = "  ".join("=" * w for w in widths)

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    out = [rule, line(header), rule]
    for r in rows:
        parts = wrap(r[-1], widths[-1]) or [""]
        out.append(line(list(r[:-1]) + [parts[0]]))
        out.extend(line([""] * (ncol - 1) + [p]) for p in parts[1:])
    out.append(rule)
    return out


def either(words):
    return " or ".join(words) if len(words) < 3 else \
        ", ".join(words[:-1]) + " or " + words[-1]


def given_text(given):
    return ", ".join(f"{a} {v.strip()}" for a, v in given)


def describe(schema, e):
    """The Description: paragraphs of one entry, as lines of text."""
    d = schema.data
    t = schema.type_of(e)
    mode = int(e["mode"], 8)
    paras = []
    first = e["description"]
    if e["kind"] == "file":
        access = ("RW" if mode & 0o222 else "RO") + f", mode {e['mode']}"
        if not mode & 0o004:
            access += ", root only"
        first = f"({access}) {first}"
    paras.append(wrap(first))
    if e["kind"] == "file":
        paras.append(wrap(f"Type: {t['summary']}."))
        if mode & 0o222:
            paras.append(wrap(f"Accepts: {t['syntax']}"))
        paras.append(wrap(f"Reads: {t['reads']}"))
    if "default" in e:
        text = f"Default: {e['default']}"
        if "default_fallback" in e:
            fb = e["default_fallback"]
            text += f" ({fb['value']} when {fb['when']})"
        paras.append(wrap(text + "."))
    paras.append(wrap(f"Exists: {e['exists']}"))
    for op, states in e.get("allowed_states", {}).items():
        others = [s for s in schema.states(e) if s not in states]
        what = {"write": "A write"}.get(op, op)
        paras.append(wrap(f"{what} succeeds only in state {either(states)}; "
                          f"in state {either(others)} it fails with {BUSY}."))
    if "precedence" in e:
        paras.append(wrap(f"Checks, in order: {e['precedence']}"))
    for op, errs in e.get("errors", {}).items():
        paras.append([f"Errors of {op}:", ""] +
                     table(["errno", "when"], [[n, w] for n, w in errs.items()]))
    rows = []
    for x in e.get("examples", []):
        note = "; ".join(s for s in (x.get("why", ""),
                                     "after " + given_text(x["given"]) if x.get("given")
                                     else "") if s)
        rows.append([show(x["value"]), x["errno"], note])
    for x in e.get("accepted", []):
        note = "; ".join(s for s in ("after " + given_text(x["given"]) if x.get("given")
                                     else "",
                                     f"reads {x['reads']}" if "reads" in x else "") if s)
        rows.append([show(x["value"]), "ok", note])
    if rows:
        op = "write" if e["kind"] == "file" else "mkdir"
        paras.append([f"Examples ({op}; checked by tests/guest/test_schema.py):", ""] +
                     table([op, "result", "note"], rows))
    if e["path"] in d["documents"].values() and e["kind"] == "dir":
        paras.extend(document_notes(schema, e))
    lines = []
    for p in paras:
        if lines:
            lines.append("")
        lines.extend(p)
    return lines


def document_notes(schema, root):
    """Paragraphs only the root entry of a document carries."""
    d = schema.data
    notes = []
    if root["path"] == d["documents"].get("configfs-hugedma"):
        log = d["rejection_log"]
        notes.append(wrap("Each write(2) to an attribute below is parsed as one value. "
                          "White space is ASCII white space: space, \\t, \\n, \\v, "
                          "\\f and \\r; not byte 0xa0, which the kernel's isspace() "
                          "also accepts."))
        notes.append(wrap(f"Rejected writes are logged, as: {log['format']}"))
        notes.append(wrap(log["description"]))
    inherited = [i for i in d["inherited"]["entries"]
                 if schema.document_of(i["path"].removesuffix("/*")) ==
                 schema.document_of(root["path"])]
    names = [i["path"].rsplit("/", 1)[-1] + ("/" if i["kind"] == "dir" else "")
             for i in inherited if not i["path"].endswith("/*")]
    if names:
        notes.append(wrap(f"Besides the entries documented here, each device directory "
                          f"has {either(names).replace(' or ', ' and ')} from the driver "
                          f"core. {d['inherited']['description']}"))
    return notes


def describe_node(schema, n):
    """The Description: paragraphs of one device node."""
    d = schema.data
    dn = d["device_nodes"]
    what = {"char": "character device", "dir": "directory"}[n["kind"]]
    paras = [wrap(f"({what}, mode {n['mode']}, owner {n['owner']}) {n['description']}"),
             wrap(f"Exists: {n['exists']}")]
    dev = n.get("device")
    if dev:
        text = f"Device: {dev}, whose dev file reads the node's MAJOR:MINOR."
        if schema.entry(dev) is None:
            names = [i["path"][len(dev) + 1:] + ("/" if i["kind"] == "dir" else "")
                     for i in d["inherited"]["entries"]
                     if i["path"].startswith(dev + "/") and "/" not in i["path"][len(dev) + 1:]]
            text += (f" It is not hugedma's: the driver core gives it "
                     f"{either(names).replace(' or ', ' and ')} and nothing else.")
        paras.append(wrap(text))
    if n["path"] == dn["root"]:
        paras.append(wrap(dn["description"]))
    lines = []
    for p in paras:
        if lines:
            lines.append("")
        lines.extend(p)
    return lines


def what(abi, path, lines):
    return (f"What:\t\t{path}\n"
            f"Date:\t\t{abi['date']}\n"
            f"KernelVersion:\t{abi['kernel_version']}\n"
            f"Contact:\t{abi['contact']}\n"
            "Description:\n" +
            "".join(f"{INDENT}{line}\n" if line else "\n" for line in lines) +
            "Users:\t\t" + f"\n{INDENT}".join(wrap(abi["users"])) + "\n")


def render(schema, doc):
    d = schema.data
    abi = d["abi"]
    out = [HEADER]
    if doc == d["device_nodes"]["document"]:
        for n in d["device_nodes"]["entries"]:
            out.append(what(abi, n["path"], describe_node(schema, n)))
        return "\n".join(out)
    for e in d["entries"]:
        if schema.document_of(e["path"]) == doc:
            out.append(what(abi, e["path"], describe(schema, e)))
    return "\n".join(out)
