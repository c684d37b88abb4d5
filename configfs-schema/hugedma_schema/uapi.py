# SPDX-License-Identifier: GPL-2.0
"""Reading the uapi header the schema's ioctls document."""
import re


def parse_uapi(text):
    """The ioctl requests, structures, enums and plain #defines of a uapi header:
    {"magic": int, "ioctls": {NAME: nr}, "structs": {name: [{"type", "name", "array"}]},
    "enums": {name: [(NAME, value)]}, "defines": {NAME: text}}.  Raises ValueError
    for what it cannot read, so that a changed header cannot slip past."""
    code = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    defines = dict(re.findall(r"^#define[ \t]+(\w+)[ \t]+(\S.*?)[ \t]*$", code, re.M))
    if "HUGEDMA_IOC_MAGIC" not in defines:
        raise ValueError("no HUGEDMA_IOC_MAGIC")
    ioctls = {}
    for name, value in defines.items():
        if name.startswith("HUGEDMA_IOC_") and name != "HUGEDMA_IOC_MAGIC":
            m = re.fullmatch(r"_IO\(HUGEDMA_IOC_MAGIC,\s*(0x[0-9a-fA-F]+|\d+)\)", value)
            if not m:
                raise ValueError(f"{name} is not _IO(HUGEDMA_IOC_MAGIC, nr)")
            ioctls[name] = int(m.group(1), 0)
    field = r"\s*(__[us](?:8|16|32|64)|char)\s+(\w+)\s*(\[\d+\])?\s*"
    structs = {name: [{"type": f.group(1), "name": f.group(2), "array": f.group(3) or ""}
                      for f in fields]
               for name, fields in members(code, "struct", ";", field).items()}
    enums = {name: [(e.group(1), int(e.group(2))) for e in items]
             for name, items in members(code, "enum", ",", r"\s*(\w+)\s*=\s*(\d+)\s*").items()}
    return {"magic": int(defines["HUGEDMA_IOC_MAGIC"], 0), "ioctls": ioctls,
            "structs": structs, "enums": enums, "defines": defines}


def members(code, keyword, sep, pattern):
    """{name: [match of pattern]} for every "keyword name { ... };" in code, one
    match a member (members end with sep); ValueError for a member that does
    not match."""
    out = {}
    for m in re.finditer(rf"{keyword}\s+(\w+)\s*\{{(.*?)\}};", code, re.S):
        out[m.group(1)] = []
        for item in m.group(2).split(sep):
            if not item.strip():
                continue
            f = re.fullmatch(pattern, item)
            if not f:
                raise ValueError(f"{keyword} {m.group(1)}: cannot read {item.strip()!r}")
            out[m.group(1)].append(f)
    return out
