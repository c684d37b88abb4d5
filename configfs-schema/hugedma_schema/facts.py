# SPDX-License-Identifier: GPL-2.0
"""The facts: one pass over a valid schema (and its uapi header) that derives
everything the documents say, as a model both renderers read.

The model holds plain text: what a file accepts and reads, its default, when it
exists, the states it works in, its errors, its examples with their notes, the
device nodes, the ioctls with the header's structures.  A paragraph both the ABI
documents and hugedma(7) print is built here, once; a renderer adds only its
layout (wrapping, tables, troff) and the few words that differ between the two
(the ABI's "RW" is the man page's "read-write")."""
from dataclasses import dataclass, field

from .load import BUSY

# not in the schema: how hugedma's parser reads every write
WHITE_SPACE = ("White space is ASCII white space: space, \\t, \\n, \\v, \\f and \\r; "
               "not byte 0xa0, which the kernel's isspace() also accepts.")
NODE_KINDS = {"char": "character device", "dir": "directory"}
C_ESCAPES = {"\n": "\\n", "\t": "\\t", "\\": "\\\\", '"': '\\"'}
LOGGED = "configfs-hugedma"	# the document whose root carries the rejection log


def either(words):
    """a, b or c."""
    return " or ".join(words) if len(words) < 3 else \
        ", ".join(words[:-1]) + " or " + words[-1]


def all_of(words):
    """a, b and c."""
    return either(words).replace(" or ", " and ")


def quoted(value):
    """An example value in double quotes, C escapes for the unprintable."""
    return '"' + "".join(C_ESCAPES.get(c) or (c if " " <= c <= "~" else f"\\x{ord(c):02x}")
                         for c in value) + '"'


@dataclass
class Abi:
    """The ABI documents' Date:, KernelVersion:, Contact: and Users:."""
    date: str
    kernel_version: str
    contact: str
    users: str


@dataclass
class Example:
    """One example of an operation: its value (bytes, as the schema spells
    them), the errno it fails with (None: it succeeds) and a note ("" if none)."""
    value: str
    errno: str | None
    note: str


@dataclass
class Entry:
    """A file or directory of hugedma's."""
    path: str
    kind: str				# dir or file
    mode: str				# "0644"
    writable: bool
    root_only: bool			# not readable by others
    description: str
    paragraphs: list			# type, syntax, reads, default, lifetime, states, checks
    errors: list			# [(operation, [(errno, when)])]
    op: str				# the examples' operation: write or mkdir
    refused: list			# [Example] that fail
    accepted: list			# [Example] that succeed
    is_root: bool			# a directory at a document's root
    logged: bool			# the root that describes the rejection log

    def access(self, rw, ro):
        """The access note, "RW, mode 0644": rw and ro are the words for read-write
        and read-only."""
        text = f"{rw if self.writable else ro}, mode {self.mode}"
        return text + (", root only" if self.root_only else "")


@dataclass
class Document:
    """One ABI document: a root and the entries below it."""
    name: str
    root: str
    entries: list			# [Entry]
    placeholders: list			# [(placeholder, description)] its paths use
    logged: bool			# the document that describes the rejection log
    inherited: list			# names the driver core adds to each device directory
    inherited_description: str

    def driver_core(self, where):
        """The paragraph on the driver core's entries, where saying where hugedma's
        own are ("documented here"); None if the document has none."""
        if not self.inherited:
            return None
        return (f"Besides the entries {where}, each device directory has "
                f"{all_of(self.inherited)} from the driver core. "
                f"{self.inherited_description}")


@dataclass
class Node:
    """A device node (or the directory of them)."""
    path: str
    kind: str				# char or dir
    paragraphs: list			# what it is (kind, mode, owner), when it exists
    device: str | None			# its sysfs device directory
    foreign: list | None		# that directory's entries, when it is not hugedma's
    is_root: bool


@dataclass
class Nodes:
    document: str
    root: str
    description: str
    nodes: list				# [Node]


@dataclass
class Ioctl:
    name: str
    nr: str
    node: str
    struct: str
    size_ver0: int
    description: str
    declaration: list			# the header's fields: [{"type", "name", "array"}]
    fields: list			# [(field, description)]
    errors: list			# [(errno, when)]


@dataclass
class Ioctls:
    header: str				# the uapi header, relative to the tree's top
    include: str			# what a program includes
    description: str
    magic: int
    requests: list			# [Ioctl]
    enums: list				# [(enum, [(NAME, value)], type)]


@dataclass
class Model:
    abi: Abi
    documents: list			# [Document]
    nodes: Nodes
    ioctls: Ioctls
    rejection_log: dict			# format and description of a rejected write's log line
    names: list = field(init=False)	# every ABI document's file name

    def __post_init__(self):
        self.names = [d.name for d in self.documents] + [self.nodes.document]


def build(schema, uapi):
    """The model of a schema that validate() found no problem in."""
    d = schema.data
    return Model(Abi(**d["abi"]),
                 [document(schema, name, root) for name, root in d["documents"].items()],
                 nodes(schema), ioctls(d, uapi), d["rejection_log"])


def given_text(given):
    return ", ".join(f"{a} {v.strip()}" for a, v in given)


def notes(*parts):
    return "; ".join(s for s in parts if s)


def examples(e):
    """([refused Example], [accepted Example]) of entry e."""
    refused = [Example(x["value"], x["errno"],
                       notes(x.get("why", ""),
                             "after " + given_text(x["given"]) if x.get("given") else ""))
               for x in e.get("examples", [])]
    accepted = [Example(x["value"], None,
                        notes("after " + given_text(x["given"]) if x.get("given") else "",
                              f"reads {x['reads']}" if "reads" in x else ""))
                for x in e.get("accepted", [])]
    return refused, accepted


def entry(schema, e):
    mode = int(e["mode"], 8)
    documents = schema.data["documents"]
    is_root = e["kind"] == "dir" and e["path"] in documents.values()
    paras = []
    if e["kind"] == "file":
        t = schema.type_of(e)
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
        what = {"write": "A write"}.get(op, op)
        paras.append(f"{what} succeeds only in state {either(states)}; "
                     f"in state {either(others)} it fails with {BUSY}.")
    if "precedence" in e:
        paras.append(f"Checks, in order: {e['precedence']}")
    refused, accepted = examples(e)
    return Entry(path=e["path"], kind=e["kind"], mode=e["mode"],
                 writable=bool(mode & 0o222), root_only=not mode & 0o004,
                 description=e["description"], paragraphs=paras,
                 errors=[(op, list(errs.items())) for op, errs in e.get("errors", {}).items()],
                 op="write" if e["kind"] == "file" else "mkdir",
                 refused=refused, accepted=accepted, is_root=is_root,
                 logged=is_root and e["path"] == documents.get(LOGGED))


def document(schema, name, root):
    d = schema.data
    entries = [e for e in d["entries"] if schema.document_of(e["path"]) == name]
    inherited = [i for i in d["inherited"]["entries"]
                 if schema.document_of(i["path"].removesuffix("/*")) == name]
    return Document(
        name=name, root=root, entries=[entry(schema, e) for e in entries],
        placeholders=[(ph, spec["description"]) for ph, spec in d["placeholders"].items()
                      if any(ph in e["path"] for e in entries)],
        logged=root == d["documents"].get(LOGGED),
        inherited=[i["path"].rsplit("/", 1)[-1] + ("/" if i["kind"] == "dir" else "")
                   for i in inherited if not i["path"].endswith("/*")],
        inherited_description=d["inherited"]["description"])


def nodes(schema):
    d = schema.data
    dn = d["device_nodes"]
    out = []
    for n in dn["entries"]:
        dev = n.get("device") or None
        foreign = None
        if dev and schema.entry(dev) is None:
            foreign = [i["path"][len(dev) + 1:] + ("/" if i["kind"] == "dir" else "")
                       for i in d["inherited"]["entries"]
                       if i["path"].startswith(dev + "/") and
                       "/" not in i["path"][len(dev) + 1:]]
        out.append(Node(path=n["path"], kind=n["kind"],
                        paragraphs=[f"({NODE_KINDS[n['kind']]}, mode {n['mode']}, owner "
                                    f"{n['owner']}) {n['description']}",
                                    f"Exists: {n['exists']}"],
                        device=dev, foreign=foreign, is_root=n["path"] == dn["root"]))
    return Nodes(dn["document"], dn["root"], dn["description"], out)


def ioctls(d, uapi):
    io = d["ioctls"]
    return Ioctls(
        header=io["header"], include=io["include"], description=io["description"],
        magic=uapi["magic"],
        requests=[Ioctl(name=x["name"], nr=x["nr"], node=x["node"], struct=x["struct"],
                        size_ver0=x["size_ver0"], description=x["description"],
                        declaration=uapi["structs"][x["struct"]],
                        fields=[tuple(f) for f in x["fields"]],
                        errors=list(x["errors"].items()))
                   for x in io["entries"]],
        enums=[(en["name"], uapi["enums"][en["name"]], en["type"]) for en in io["enums"]])
