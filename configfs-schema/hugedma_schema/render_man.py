# SPDX-License-Identifier: GPL-2.0
"""The man page hugedma(7)."""
import re

from .load import BUSY
from .render_abi import either, given_text, show


MAN_HEADER = (".\\\" SPDX-License-Identifier: GPL-2.0\n"
              ".\\\" Generated from configfs-schema/hugedma.json (and the ioctls checked against\n"
              ".\\\" module/include/uapi/hugedma.h) by configfs-schema/gen-abi.  Do not edit:\n"
              ".\\\" edit the schema, then run make docs.\n")

MAN_INTRO = [
    "hugedma gives devices and programs huge DMA buffers backed by 1\u00a0GB (or 2\u00a0MB) "
    "pages of the kernel's hugetlb pool. An administrator creates a buffer as a "
    "directory in configfs, sets its size, page size and NUMA node, and writes 1 to "
    "its enable file: hugedma takes that many zeroed pages from the pool (lowering "
    "free_hugepages by exactly as many), pins them for as long as the buffer is "
    "enabled, so their addresses never change, and publishes the buffer in sysfs "
    "and as a character device. Writing 0 gives the pages back to the pool.",
    "Consumers map the buffer through their own device's DMA API: configfs "
    "attachments for PCI devices, the in-kernel API of <linux/hugedma.h>, and "
    "dma-bufs. Each mapping is published under the buffer's attachments/ in sysfs "
    "with its bus addresses (IOVAs behind an IOMMU). User space maps a buffer "
    "through its device node with huge page-table entries, or publishes its own "
    "hugetlb memory as a buffer through /dev/hugedma/control.",
    "This page describes every file and directory hugedma shows, its device nodes "
    "and its ioctls. hugedmactl(8) drives the same interface in one command; "
    "libhugedma(3) wraps the device nodes and ioctls for programs.",
]

MAN_EXAMPLE = [
    "cd /sys/kernel/config/hugedma/buffers",
    "mkdir dma0",
    "echo 64G > dma0/size",
    "echo 1 > dma0/numa_node",
    "echo 1 > dma0/enable",
    "cat /sys/class/hugedma/dma0/phys_addrs",
    "echo 0 > dma0/enable",
    "rmdir dma0",
]

MAN_SECTIONS = {"configfs-hugedma": "CONFIGFS", "sysfs-class-hugedma": "SYSFS"}


def troff(text):
    """Text for a troff line: escapes, ASCII hyphens and quotes, non-ASCII as \\[uXXXX],
    placeholders in italics."""
    out = []
    for c in text:
        if c == "\\":
            out.append("\\e")
        elif c == "-":
            out.append("\\-")
        elif c == "'":
            out.append("\\(aq")
        elif c == "`":
            out.append("\\(ga")
        elif ord(c) > 0x7e or (ord(c) < 0x20 and c != "\n"):
            out.append(f"\\[u{ord(c):04X}]")
        else:
            out.append(c)
    t = "".join(out)
    return re.sub(r"<([a-z_]+)>", r"\\fI\1\\fP", t)


def roff_lines(text):
    """A paragraph's text as troff input lines: one sentence a line, none starting
    with a control character."""
    lines = []
    for sentence in re.split(r"(?<=[.;:])\s+(?=[A-Z(])", text.strip()):
        line = troff(sentence)
        lines.append("\\&" + line if line[:1] in ".'" else line)
    return lines


def man_value(value):
    """An example value, C-escaped and quoted as in the ABI documents."""
    return troff(show(value).strip("`"))


def man_path(path, root):
    """A path below a section's root, relative to it; the root itself in full."""
    rel = path[len(root) + 1:] if path.startswith(root + "/") else path
    return troff(rel)


def man_entry(schema, e, root):
    t = schema.type_of(e)
    mode = int(e["mode"], 8)
    out = [".TP", "\\fB" + man_path(e["path"], root) + ("/" if e["kind"] == "dir" else "")
           + "\\fP"]
    first = e["description"]
    if e["kind"] == "file":
        access = ("read-write" if mode & 0o222 else "read-only") + f", mode {e['mode']}"
        if not mode & 0o004:
            access += ", root only"
        first = f"({access}) {first}"
    out += roff_lines(first)
    paras = []
    if e["kind"] == "file":
        paras.append(f"Type: {t['summary']}.")
        if mode & 0o222:
            paras.append(f"Accepts: {t['syntax']}")
        paras.append(f"Reads: {t['reads']}")
    if "default" in e:
        text = f"Default: {e['default']}"
        if "default_fallback" in e:
            fb = e["default_fallback"]
            text += f" ({fb['value']} when {fb['when']})"
        paras.append(text + ".")
    paras.append(f"Exists: {e['exists']}")
    for op, states in e.get("allowed_states", {}).items():
        others = [s for s in schema.states(e) if s not in states]
        what_ = {"write": "A write"}.get(op, op)
        paras.append(f"{what_} succeeds only in state {either(states)}; "
                     f"in state {either(others)} it fails with {BUSY}.")
    if "precedence" in e:
        paras.append(f"Checks, in order: {e['precedence']}")
    for p in paras:
        out += [".IP"] + roff_lines(p)
    for op, errs in e.get("errors", {}).items():
        out += [".IP", f"Errors of {troff(op)}:", ".RS"]
        for name, when in errs.items():
            out += [".TP", f".B {name}"] + roff_lines(when)
        out.append(".RE")
    refused = []
    for x in e.get("examples", []):
        note = "; ".join(s for s in (x.get("why", ""),
                                     "after " + given_text(x["given"]) if x.get("given")
                                     else "") if s)
        refused.append(f"{man_value(x['value'])} {x['errno']}" + (f" ({troff(note)})"
                                                                  if note else ""))
    accepted = []
    for x in e.get("accepted", []):
        note = "; ".join(s for s in ("after " + given_text(x["given"]) if x.get("given")
                                     else "",
                                     f"reads {x['reads']}" if "reads" in x else "") if s)
        accepted.append(man_value(x["value"]) + (f" ({troff(note)})" if note else ""))
    op = "write" if e["kind"] == "file" else "mkdir"
    if refused:
        out += [".IP", f"Refused, for example ({op}):"] + \
            [r + ("," if i < len(refused) - 1 else ".") for i, r in enumerate(refused)]
    if accepted:
        out += [".IP", f"Accepted, for example ({op}):"] + \
            [a + ("," if i < len(accepted) - 1 else ".") for i, a in enumerate(accepted)]
    return out


def man_section(schema, doc):
    d = schema.data
    root = d["documents"][doc]
    out = [f".SH {MAN_SECTIONS.get(doc, doc.upper())}",
           f"Paths below are relative to \\fB{troff(root)}\\fP.",
           "Placeholders:", ".RS"]
    for ph, spec in d["placeholders"].items():
        if any(ph in e["path"] for e in d["entries"]
               if schema.document_of(e["path"]) == doc):
            out += [".TP", f"\\fI{ph[1:-1]}\\fP"] + roff_lines(spec["description"])
    out.append(".RE")
    for e in d["entries"]:
        if schema.document_of(e["path"]) == doc:
            out += man_entry(schema, e, root)
    if root == d["documents"].get("configfs-hugedma"):
        log = d["rejection_log"]
        out += [".SS Writes and the kernel log"]
        out += roff_lines("Each write(2) to an attribute is parsed as one value. White "
                          "space is ASCII white space: space, \\t, \\n, \\v, \\f and "
                          "\\r; not byte 0xa0, which the kernel's isspace() also accepts.")
        out += [".PP", "Rejected writes are logged, as:", ".PP", ".RS",
                "\\f(CR" + troff(log["format"]) + "\\fP", ".RE", ".PP"]
        out += roff_lines(log["description"])
    inherited = [i for i in d["inherited"]["entries"]
                 if schema.document_of(i["path"].removesuffix("/*")) == doc]
    names = [i["path"].rsplit("/", 1)[-1] + ("/" if i["kind"] == "dir" else "")
             for i in inherited if not i["path"].endswith("/*")]
    if names:
        out += [".SS From the driver core"]
        out += roff_lines(f"Besides the entries above, each device directory has "
                          f"{either(names).replace(' or ', ' and ')} from the driver "
                          f"core. {d['inherited']['description']}")
    return out


def man_nodes(schema):
    d = schema.data
    dn = d["device_nodes"]
    out = [".SH DEVICE NODES"] + roff_lines(dn["description"])
    for n in dn["entries"]:
        what_ = {"char": "character device", "dir": "directory"}[n["kind"]]
        out += [".TP", "\\fB" + troff(n["path"]) + "\\fP"]
        out += roff_lines(f"({what_}, mode {n['mode']}, owner {n['owner']}) "
                          f"{n['description']}")
        out += [".IP"] + roff_lines(f"Exists: {n['exists']}")
        if n.get("device"):
            out += [".IP"] + roff_lines(f"Its device in sysfs is {n['device']}, whose "
                                        f"dev file reads the node's MAJOR:MINOR.")
    return out


def man_ioctls(schema):
    d = schema.data
    io = d["ioctls"]
    u = schema.uapi
    out = [".SH IOCTLS"] + roff_lines(io["description"])
    out += [".PP"] + roff_lines(f"The requests and structures are declared in "
                                f"<{io['include']}>, installed by libhugedma "
                                f"({io['header']} in the hugedma tree); HUGEDMA_IOC_MAGIC "
                                f"is 0x{u['magic']:02X}.")
    for x in io["entries"]:
        node = troff(x["node"])
        out += [f".SS {x['name']}", ".nf",
                f"\\fBint ioctl(int \\fP\\fIfd\\fP\\fB, {troff(x['name'])}, struct "
                f"{troff(x['struct'])} *\\fP\\fIarg\\fP\\fB);\\fP",
                ".fi", ".PP"]
        out += roff_lines(f"On {x['node']}. Request _IO(HUGEDMA_IOC_MAGIC, {x['nr']}); "
                          f"first size {x['size_ver0']} bytes.")
        out += [".PP"] + roff_lines(x["description"])
        out += [".PP", ".RS", ".nf", f"\\f(CRstruct {troff(x['struct'])} {{"]
        for f in u["structs"][x["struct"]]:
            out.append(f"    {f['type']:<6}{f['name']}{f['array']};")
        out += ["};\\fP", ".fi", ".RE"]
        for name, text in x["fields"]:
            out += [".TP", f".I {name}"] + roff_lines(text)
        out += [".PP", "Errors:", ".RS"]
        for name, when in x["errors"].items():
            out += [".TP", f".B {name}"] + roff_lines(when)
        out.append(".RE")
        del node
    out += [".SS Enumerations"]
    for en in io["enums"]:
        out += [".TP", f"\\fBenum {troff(en['name'])}\\fP"]
        out += [", ".join(f"{troff(n)} = {v}" for n, v in u["enums"][en["name"]]) + "."]
        out += roff_lines(f"The values of the {en['type']} file, in the same order.")
    return out


def render_man(schema):
    d = schema.data
    out = [MAN_HEADER.rstrip("\n"),
           f'.TH HUGEDMA 7 "{d["abi"]["date"]}" "hugedma" "Miscellaneous Information Manual"',
           ".\\\" no hyphenation: values, paths and names must read as they are typed",
           ".nh", ".ad l",
           ".SH NAME",
           "hugedma \\- huge DMA buffers from the hugetlb pool: configfs, sysfs, "
           "device nodes and ioctls",
           ".SH SYNOPSIS", ".nf"]
    for doc, root in d["documents"].items():
        out.append(f"\\fB{troff(root)}/\\fP")
    out += [f"\\fB{troff(n['path'])}\\fP" for n in d["device_nodes"]["entries"]
            if n["kind"] == "char"]
    out += [".PP", f"\\fB#include <{troff(d['ioctls']['include'])}>\\fP", ".fi",
            ".SH DESCRIPTION"]
    for i, p in enumerate(MAN_INTRO):
        out += ([".PP"] if i else []) + roff_lines(p)
    for doc in d["documents"]:
        out += man_section(schema, doc)
    out += man_nodes(schema)
    out += man_ioctls(schema)
    out += [".SH EXAMPLES"] + roff_lines("A 64\u00a0GB buffer of 1\u00a0GB pages on node 1, "
                                         "its physical addresses, and back to the pool:")
    out += [".PP", ".RS", ".nf", "\\f(CR" + "\n".join(troff(x) for x in MAN_EXAMPLE) + "\\fP",
            ".fi", ".RE"]
    out += [".SH SEE ALSO",
            ".BR hugedmactl (8),",
            ".BR libhugedma (3),",
            ".BR ioctl (2),",
            ".BR mmap (2).",
            ".PP"]
    out += roff_lines("The kernel's Documentation/admin-guide/mm/hugetlbpage.rst (the "
                      "pool) and Documentation/filesystems/configfs.rst. "
                      "configfs-schema/ in the hugedma tree: this interface in "
                      "machine-readable form, and its ABI documents.")
    return "\n".join(out) + "\n"
