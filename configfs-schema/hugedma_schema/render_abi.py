# SPDX-License-Identifier: GPL-2.0
"""The Documentation/ABI-style documents, from the facts: one per document of
the schema and one for its device nodes, a What: block per entry."""
import textwrap

from .facts import WHITE_SPACE, all_of, quoted

# Documentation/ABI layout: tag, tabs to column 16, text wrapped to 80 columns
INDENT = "\t\t"
WIDTH = 80 - 16
HEADER = ("This file is generated from configfs-schema/hugedma.json by\n"
          "configfs-schema/gen-abi.  Do not edit it: edit the schema, then run\n"
          "make docs.\n")


def render(model):
    """[(file name, text)] of every ABI document, in the schema's order."""
    out = [(doc.name, document(model, doc)) for doc in model.documents]
    return out + [(model.nodes.document, nodes(model))]


def wrap(text, width=WIDTH):
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def show(value):
    """An example value as an inline ReST literal."""
    return "``" + quoted(value) + "``"


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


def lines(paras):
    """Paragraphs (each a list of lines) as lines, a blank line between two."""
    out = []
    for p in paras:
        if out:
            out.append("")
        out.extend(p)
    return out


def describe(model, doc, e):
    """The Description: lines of one entry."""
    paras = [wrap(f"({e.access('RW', 'RO')}) {e.description}" if e.kind == "file"
                  else e.description)]
    paras += [wrap(p) for p in e.paragraphs]
    for op, errs in e.errors:
        paras.append([f"Errors of {op}:", ""] + table(["errno", "when"], [list(x) for x in errs]))
    rows = [[show(x.value), x.errno or "ok", x.note] for x in e.refused + e.accepted]
    if rows:
        paras.append([f"Examples ({e.op}; checked by tests/guest/test_schema.py):", ""] +
                     table([e.op, "result", "note"], rows))
    if e.is_root:
        if e.logged:
            paras.append(wrap(f"Each write(2) to an attribute below is parsed as one value. "
                              f"{WHITE_SPACE}"))
            paras.append(wrap(f"Rejected writes are logged, as: {model.rejection_log['format']}"))
            paras.append(wrap(model.rejection_log["description"]))
        core = doc.driver_core("documented here")
        if core:
            paras.append(wrap(core))
    return lines(paras)


def describe_node(model, n):
    """The Description: lines of one device node."""
    paras = [wrap(p) for p in n.paragraphs]
    if n.device:
        text = f"Device: {n.device}, whose dev file reads the node's MAJOR:MINOR."
        if n.foreign is not None:
            text += (f" It is not hugedma's: the driver core gives it "
                     f"{all_of(n.foreign)} and nothing else.")
        paras.append(wrap(text))
    if n.is_root:
        paras.append(wrap(model.nodes.description))
    return lines(paras)


def what(abi, path, desc):
    return (f"What:\t\t{path}\n"
            f"Date:\t\t{abi.date}\n"
            f"KernelVersion:\t{abi.kernel_version}\n"
            f"Contact:\t{abi.contact}\n"
            "Description:\n" +
            "".join(f"{INDENT}{line}\n" if line else "\n" for line in desc) +
            "Users:\t\t" + f"\n{INDENT}".join(wrap(abi.users)) + "\n")


def document(model, doc):
    return "\n".join([HEADER] + [what(model.abi, e.path, describe(model, doc, e))
                                 for e in doc.entries])


def nodes(model):
    return "\n".join([HEADER] + [what(model.abi, n.path, describe_node(model, n))
                                 for n in model.nodes.nodes])
