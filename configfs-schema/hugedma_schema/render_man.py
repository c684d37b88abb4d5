# SPDX-License-Identifier: GPL-2.0
"""The man page hugedma(7), from the facts: the ABI documents' entries as
sections, then the device nodes, the ioctls and the uapi header's enums."""
import re

from .facts import WHITE_SPACE, quoted


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
TROFF_ESCAPES = {"\\": "\\e", "-": "\\-", "'": "\\(aq", "`": "\\(ga"}


def troff(text):
    """Text for a troff line: escapes, ASCII hyphens and quotes, non-ASCII as \\[uXXXX],
    placeholders in italics."""
    t = "".join(TROFF_ESCAPES.get(c) or
                (f"\\[u{ord(c):04X}]" if ord(c) > 0x7e or (ord(c) < 0x20 and c != "\n")
                 else c) for c in text)
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
    return troff(quoted(value))


def man_path(path, root):
    """A path below a section's root, relative to it; the root itself in full."""
    rel = path[len(root) + 1:] if path.startswith(root + "/") else path
    return troff(rel)


def listing(intro, items):
    """An indented paragraph: intro, then items one a line, "," after each but
    the last, "." after it."""
    return [".IP", intro] + [x + ("," if i < len(items) - 1 else ".")
                             for i, x in enumerate(items)]


def errors(errs):
    """An errno -> when list."""
    out = [".RS"]
    for name, when in errs:
        out += [".TP", f".B {name}"] + roff_lines(when)
    return out + [".RE"]


def man_entry(e, root):
    out = [".TP", "\\fB" + man_path(e.path, root) + ("/" if e.kind == "dir" else "")
           + "\\fP"]
    out += roff_lines(f"({e.access('read-write', 'read-only')}) {e.description}"
                      if e.kind == "file" else e.description)
    for p in e.paragraphs:
        out += [".IP"] + roff_lines(p)
    for op, errs in e.errors:
        out += [".IP", f"Errors of {troff(op)}:"] + errors(errs)
    if e.refused:
        out += listing(f"Refused, for example ({e.op}):",
                       [f"{man_value(x.value)} {x.errno}" +
                        (f" ({troff(x.note)})" if x.note else "") for x in e.refused])
    if e.accepted:
        out += listing(f"Accepted, for example ({e.op}):",
                       [man_value(x.value) + (f" ({troff(x.note)})" if x.note else "")
                        for x in e.accepted])
    return out


def man_section(model, doc):
    out = [f".SH {MAN_SECTIONS.get(doc.name, doc.name.upper())}",
           f"Paths below are relative to \\fB{troff(doc.root)}\\fP.",
           "Placeholders:", ".RS"]
    for ph, description in doc.placeholders:
        out += [".TP", f"\\fI{ph[1:-1]}\\fP"] + roff_lines(description)
    out.append(".RE")
    for e in doc.entries:
        out += man_entry(e, doc.root)
    if doc.logged:
        log = model.rejection_log
        out += [".SS Writes and the kernel log"]
        out += roff_lines(f"Each write(2) to an attribute is parsed as one value. {WHITE_SPACE}")
        out += [".PP", "Rejected writes are logged, as:", ".PP", ".RS",
                "\\f(CR" + troff(log["format"]) + "\\fP", ".RE", ".PP"]
        out += roff_lines(log["description"])
    core = doc.driver_core("above")
    if core:
        out += [".SS From the driver core"] + roff_lines(core)
    return out


def man_nodes(model):
    dn = model.nodes
    out = [".SH DEVICE NODES"] + roff_lines(dn.description)
    for n in dn.nodes:
        out += [".TP", "\\fB" + troff(n.path) + "\\fP"] + roff_lines(n.paragraphs[0])
        for p in n.paragraphs[1:]:
            out += [".IP"] + roff_lines(p)
        if n.device:
            out += [".IP"] + roff_lines(f"Its device in sysfs is {n.device}, whose "
                                        f"dev file reads the node's MAJOR:MINOR.")
    return out


def man_ioctls(model):
    io = model.ioctls
    out = [".SH IOCTLS"] + roff_lines(io.description)
    out += [".PP"] + roff_lines(f"The requests and structures are declared in "
                                f"<{io.include}>, installed by libhugedma "
                                f"({io.header} in the hugedma tree); HUGEDMA_IOC_MAGIC "
                                f"is 0x{io.magic:02X}.")
    for x in io.requests:
        out += [f".SS {x.name}", ".nf",
                f"\\fBint ioctl(int \\fP\\fIfd\\fP\\fB, {troff(x.name)}, struct "
                f"{troff(x.struct)} *\\fP\\fIarg\\fP\\fB);\\fP",
                ".fi", ".PP"]
        out += roff_lines(f"On {x.node}. Request _IO(HUGEDMA_IOC_MAGIC, {x.nr}); "
                          f"first size {x.size_ver0} bytes.")
        out += [".PP"] + roff_lines(x.description)
        out += [".PP", ".RS", ".nf", f"\\f(CRstruct {troff(x.struct)} {{"]
        for f in x.declaration:
            out.append(f"    {f['type']:<6}{f['name']}{f['array']};")
        out += ["};\\fP", ".fi", ".RE"]
        for name, text in x.fields:
            out += [".TP", f".I {name}"] + roff_lines(text)
        out += [".PP", "Errors:"] + errors(x.errors)
    out += [".SS Enumerations"]
    for name, constants, type_ in io.enums:
        out += [".TP", f"\\fBenum {troff(name)}\\fP"]
        out += [", ".join(f"{troff(n)} = {v}" for n, v in constants) + "."]
        out += roff_lines(f"The values of the {type_} file, in the same order.")
    return out


def render_man(model):
    out = [MAN_HEADER.rstrip("\n"),
           f'.TH HUGEDMA 7 "{model.abi.date}" "hugedma" "Miscellaneous Information Manual"',
           ".\\\" no hyphenation: values, paths and names must read as they are typed",
           ".nh", ".ad l",
           ".SH NAME",
           "hugedma \\- huge DMA buffers from the hugetlb pool: configfs, sysfs, "
           "device nodes and ioctls",
           ".SH SYNOPSIS", ".nf"]
    for doc in model.documents:
        out.append(f"\\fB{troff(doc.root)}/\\fP")
    out += [f"\\fB{troff(n.path)}\\fP" for n in model.nodes.nodes if n.kind == "char"]
    out += [".PP", f"\\fB#include <{troff(model.ioctls.include)}>\\fP", ".fi",
            ".SH DESCRIPTION"]
    for i, p in enumerate(MAN_INTRO):
        out += ([".PP"] if i else []) + roff_lines(p)
    for doc in model.documents:
        out += man_section(model, doc)
    out += man_nodes(model)
    out += man_ioctls(model)
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
