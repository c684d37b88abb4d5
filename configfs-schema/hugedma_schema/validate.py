# SPDX-License-Identifier: GPL-2.0
"""Validation: every consistency check of the schema, and of its ioctls
against the uapi header.  validate() returns the problems, one string each,
in the order found; none means the facts can be built."""
import errno
import re

from . import TOP
from .load import BUSY, STATE_FILE
from .uapi import parse_uapi

FORMAT = "hugedma-abi-schema/1"
KINDS = ("dir", "file")
INHERITED_KINDS = ("dir", "file", "link", "any")
NODE_KINDS = ("dir", "char")
# each lifetime -> the lifetime it lies within (an entry may not outlive its parent)
LIFETIMES = {
    "module": None,		# while hugedma.ko is loaded
    "buffer": "module",		# mkdir to rmdir of buffers/<name>
    "enabled": "module",	# the class device is published (configfs or imported buffer)
    "attachment": "buffer",	# mkdir to rmdir of a configfs attachment
    "mapping": "enabled",	# an attachment's sysfs directory: mapped, or removed
}
PUBLISHED = ("enabled", "mapping")	# values shown, never configured: no defaults
OPS = {"file": ("read", "write"), "dir": ("mkdir", "rmdir")}
EXAMPLE_OPS = {"file": ("write",), "dir": ("mkdir",)}

TOP_KEYS = {"format", "module", "abi", "documents", "placeholders", "types",
            "entries", "inherited", "rejection_log", "device_nodes", "ioctls"}
ABI_KEYS = {"date", "kernel_version", "contact", "users"}
TYPE_KEYS = {"summary", "syntax", "regex", "values", "reads", "read_regex"}
ENTRY_KEYS = {"path", "kind", "mode", "type", "lifetime", "exists", "description",
              "default", "default_fallback", "allowed_states", "precedence",
              "errors", "examples", "accepted"}
EXAMPLE_KEYS = {"op", "given", "value", "errno", "why"}
ACCEPTED_KEYS = {"op", "given", "value", "reads"}
INHERITED_KEYS = {"path", "kind", "mode", "optional", "description"}
LOG_KEYS = {"format", "regex", "description"}
NODES_KEYS = {"document", "root", "description", "entries"}
NODE_KEYS = {"path", "kind", "mode", "owner", "lifetime", "exists", "description", "device"}
IOCTLS_KEYS = {"header", "include", "description", "enums", "entries"}
IOCTL_KEYS = {"name", "nr", "node", "struct", "size_ver0", "description", "fields", "errors"}
ENUM_KEYS = {"name", "prefix", "type"}


def validate(schema):
    """(problems, uapi): the problems found in schema, and its uapi header as
    parse_uapi() reads it (None if it could not be read).  May replace malformed
    parts of schema.data with empty ones, to go on checking the rest."""
    v = Validator(schema)
    v.validate()
    return v.problems, v.uapi


class Validator:
    """The checks, each adding to problems."""

    def __init__(self, schema):
        self.schema = schema
        self.data = schema.data
        self.problems = []
        self.uapi = None

    def bad(self, where, msg):
        self.problems.append(f"{where}: {msg}")

    def check_keys(self, where, obj, required, allowed=None):
        if not isinstance(obj, dict):
            self.bad(where, "must be an object")
            return False
        for k in sorted(set(required) - set(obj)):
            self.bad(where, f"missing '{k}'")
        for k in sorted(set(obj) - set(allowed if allowed is not None else required)):
            self.bad(where, f"unknown field '{k}'")
        return True

    def check_text(self, where, value):
        if not isinstance(value, str) or not value.strip():
            self.bad(where, "must be a non-empty string")
            return False
        return True

    def check_regex(self, where, value):
        if not self.check_text(where, value):
            return None
        try:
            return re.compile(value)
        except re.error as err:
            self.bad(where, f"bad regular expression: {err}")
            return None

    def check_errno(self, where, name):
        if not isinstance(name, str) or not name.startswith("E") or \
           not isinstance(getattr(errno, name, None), int):
            self.bad(where, f"'{name}' is not an errno name")
            return False
        return True

    def check_value(self, where, value):
        """Example values are bytes spelled as U+0000..U+00FF (Latin-1)."""
        if not isinstance(value, str):
            self.bad(where, "value must be a string")
            return False
        if any(ord(c) > 0xff for c in value):
            self.bad(where, "value has a character above U+00FF (values are bytes, Latin-1)")
            return False
        return True

    def check_mode(self, where, mode):
        if not isinstance(mode, str) or not re.fullmatch(r"0[0-7]{3}", mode):
            self.bad(where, f"mode must be an octal string like \"0644\", not {mode!r}")
            return None
        return int(mode, 8)

    def check_path(self, where, path, placeholders, roots=None):
        """roots: the paths path must be at or below; default, the documents' roots."""
        if not isinstance(path, str) or not path.startswith("/") or \
           path.endswith("/") or "//" in path:
            self.bad(where, f"path must be absolute and normalised, not {path!r}")
            return False
        for ph in re.findall(r"<[^>]*>", path):
            if ph not in placeholders:
                self.bad(where, f"unknown placeholder {ph}")
        if roots is None:
            if self.schema.document_of(path) is None:
                self.bad(where, "path is under no document's root")
        elif not any(path == r or path.startswith(r + "/") for r in roots):
            self.bad(where, f"path is not at or below {' or '.join(roots)}")
        return True

    def check_lifetime(self, where, e, parent):
        """e's lifetime is known and lies within its parent's."""
        life = e.get("lifetime")
        if life not in LIFETIMES:
            self.bad(where, f"lifetime must be one of {', '.join(LIFETIMES)}")
            return
        if parent is None or parent.get("lifetime") not in LIFETIMES:
            return
        within = life
        while within is not None and within != parent["lifetime"]:
            within = LIFETIMES[within]
        if within is None:
            self.bad(where, f"outlives its parent ({life} is not within "
                     f"{parent['lifetime']})")

    def validate(self):
        d = self.data
        if not self.check_keys("schema", d, TOP_KEYS):
            return self
        if d.get("format") != FORMAT:
            self.bad("format", f"must be \"{FORMAT}\"")
        self.check_text("module", d.get("module"))
        if self.check_keys("abi", d.get("abi"), ABI_KEYS):
            for k in sorted(ABI_KEYS):
                self.check_text(f"abi.{k}", d["abi"].get(k))
        docs = d.get("documents")
        if not isinstance(docs, dict) or not docs:
            self.bad("documents", "must map document names to root paths")
            docs = d["documents"] = {}
        for doc, root in docs.items():
            if not re.fullmatch(r"[a-z][a-z0-9-]*", doc):
                self.bad(f"documents.{doc}", "document names are lower-case file names")
            if not isinstance(root, str) or not root.startswith("/"):
                self.bad(f"documents.{doc}", "root must be an absolute path")
        placeholders = d.get("placeholders")
        if not isinstance(placeholders, dict):
            self.bad("placeholders", "must be an object")
            placeholders = {}
        for ph, spec in placeholders.items():
            where = f"placeholders.{ph}"
            if not re.fullmatch(r"<[a-z_]+>", ph):
                self.bad(where, "placeholders are spelled <word>")
            if self.check_keys(where, spec, {"regex", "description"}):
                self.check_regex(f"{where}.regex", spec.get("regex"))
                self.check_text(f"{where}.description", spec.get("description"))
        self.validate_types()
        self.validate_entries(placeholders)
        self.validate_device_nodes(placeholders)
        self.validate_inherited(placeholders)
        self.validate_ioctls()
        log = d.get("rejection_log")
        if self.check_keys("rejection_log", log, LOG_KEYS):
            self.check_text("rejection_log.format", log.get("format"))
            self.check_regex("rejection_log.regex", log.get("regex"))
            self.check_text("rejection_log.description", log.get("description"))
        return self

    def validate_types(self):
        types = self.data.get("types")
        if not isinstance(types, dict) or not types:
            self.bad("types", "must be a non-empty object")
            self.data["types"] = {}
            return
        for name, t in types.items():
            where = f"types.{name}"
            if not self.check_keys(where, t, {"summary", "reads", "read_regex"}, TYPE_KEYS):
                continue
            for k in ("summary", "reads", "syntax"):
                if k in t:
                    self.check_text(f"{where}.{k}", t[k])
            self.check_regex(f"{where}.read_regex", t.get("read_regex"))
            if ("syntax" in t) != ("regex" in t):
                self.bad(where, "a writable type has both 'syntax' and 'regex'")
            if "regex" in t:
                self.check_regex(f"{where}.regex", t["regex"])
            if "values" in t and (not isinstance(t["values"], list) or
                                  not all(isinstance(v, str) for v in t["values"])):
                self.bad(f"{where}.values", "must be a list of strings")
            elif "values" in t and _compiles(t.get("read_regex")):
                for v in t["values"]:
                    if not re.fullmatch(t["read_regex"], v + "\n"):
                        self.bad(f"{where}.values", f"{v!r} does not match read_regex")

    def validate_entries(self, placeholders):
        entries = self.data.get("entries")
        if not isinstance(entries, list) or not entries:
            self.bad("entries", "must be a non-empty list")
            self.data["entries"] = []
            return
        seen = set()
        for i, e in enumerate(entries):
            where = f"entries[{i}]"
            if not self.check_keys(where, e, {"path", "kind", "mode", "lifetime", "exists",
                                              "description"}, ENTRY_KEYS):
                continue
            path = e.get("path")
            where = f"entries[{i}] {path}"
            if not self.check_path(where, path, placeholders):
                continue
            if path in seen:
                self.bad(where, "duplicate path")
            seen.add(path)
            self.validate_entry(where, e)

    def validate_entry(self, where, e):
        path, kind = e["path"], e.get("kind")
        if kind not in KINDS:
            self.bad(where, f"kind must be one of {', '.join(KINDS)}")
            return
        mode = self.check_mode(where, e.get("mode"))
        self.check_text(f"{where}: exists", e.get("exists"))
        self.check_text(f"{where}: description", e.get("description"))

        # the tree is complete: every entry's parent is an entry or a document root
        parent = path.rsplit("/", 1)[0]
        if path not in self.data["documents"].values():
            pe = self.schema.entry(parent)
            if pe is None:
                self.bad(where, f"parent {parent} is not an entry")
            elif pe.get("kind") != "dir":
                self.bad(where, f"parent {parent} is not a dir")
            self.check_lifetime(where, e, pe if pe and pe.get("kind") == "dir" else None)
        else:
            self.check_lifetime(where, e, None)

        writable = mode is not None and mode & 0o222
        t = {}
        if kind == "file":
            if e.get("type") not in self.data["types"]:
                self.bad(where, f"unknown type {e.get('type')!r}")
            else:
                t = self.schema.type_of(e)
                if writable and "regex" not in t:
                    self.bad(where, f"writable, but type {e['type']} has no input syntax")
        else:
            for k in ("type", "default", "default_fallback", "precedence"):
                if k in e:
                    self.bad(where, f"a dir has no '{k}'")
        if "precedence" in e:
            self.check_text(f"{where}: precedence", e["precedence"])

        read_re = re.compile(t["read_regex"]) if t.get("read_regex") and \
            _compiles(t["read_regex"]) else None
        if "default" in e:
            if not writable and kind == "file" and e.get("lifetime") in PUBLISHED:
                self.bad(where, "default given for a value that is never configured")
            self.check_read(f"{where}: default", e["default"], read_re)
        if "default_fallback" in e:
            fb = e["default_fallback"]
            if "default" not in e:
                self.bad(where, "default_fallback without default")
            if self.check_keys(f"{where}: default_fallback", fb, {"value", "when"}):
                self.check_read(f"{where}: default_fallback", fb.get("value"), read_re)
                self.check_text(f"{where}: default_fallback.when", fb.get("when"))
        elif kind == "file" and writable and "default" not in e:
            self.bad(where, "a writable file needs a default")

        errors = e.get("errors", {})
        if not isinstance(errors, dict):
            self.bad(where, "errors must map operations to {errno: when}")
            errors = {}
        if kind == "file" and "write" not in errors:
            self.bad(where, "a file documents its write errors (EACCES when read-only)")
        for op, table in errors.items():
            if op not in OPS[kind]:
                self.bad(where, f"errors: '{op}' is not an operation on a {kind}")
                continue
            if not isinstance(table, dict) or not table:
                self.bad(where, f"errors.{op} must be a non-empty {{errno: when}} object")
                continue
            for name, when in table.items():
                self.check_errno(f"{where}: errors.{op}", name)
                self.check_text(f"{where}: errors.{op}.{name}", when)
        if kind == "file" and "write" in errors:
            if writable and "EACCES" in errors["write"]:
                self.bad(where, "writable, yet write fails with EACCES")
            if not writable and set(errors["write"]) != {"EACCES"}:
                self.bad(where, "read-only: the only write error is EACCES")

        allowed = e.get("allowed_states", {})
        if not isinstance(allowed, dict):
            self.bad(where, "allowed_states must map operations to state lists")
            allowed = {}
        if allowed and not self.schema.states(e):
            self.bad(where, f"allowed_states, but no '{STATE_FILE}' file with values "
                     f"{'in' if kind == 'dir' else 'beside'} it")
        for op, states in allowed.items():
            if op not in OPS[kind]:
                self.bad(where, f"allowed_states: '{op}' is not an operation on a {kind}")
            elif not isinstance(states, list) or not states or \
                    any(s not in self.schema.states(e) for s in states):
                self.bad(where, f"allowed_states.{op} must list values of the type of "
                         f"the '{STATE_FILE}' file {'in' if kind == 'dir' else 'beside'} it")
            elif BUSY not in errors.get(op, {}):
                self.bad(where, f"allowed_states.{op} implies errors.{op}.{BUSY}")

        self.validate_examples(where, e, errors, t)

    def check_read(self, where, value, read_re):
        if not isinstance(value, str):
            self.bad(where, "must be a string (the value read, without its newline)")
        elif read_re is not None and not read_re.fullmatch(value + "\n"):
            self.bad(where, f"{value!r} does not match the type's read_regex")

    def child_placeholder(self, e):
        """The placeholder regex naming e's subdirectories, if any."""
        for c in self.data["entries"]:
            if isinstance(c, dict) and isinstance(c.get("path"), str) and \
                    c["path"].rsplit("/", 1)[0] == e["path"]:
                m = re.fullmatch(r"<[a-z_]+>", c["path"].rsplit("/", 1)[1])
                if m:
                    spec = self.data["placeholders"].get(m.group(0), {})
                    if _compiles(spec.get("regex", "(")):
                        return re.compile(spec["regex"])
        return None

    def validate_examples(self, where, e, errors, t):
        kind = e["kind"]
        mode = self.check_mode(where, e.get("mode")) or 0
        syntax = re.compile(t["regex"]) if t.get("regex") and _compiles(t["regex"]) else None
        read_re = re.compile(t["read_regex"]) if t.get("read_regex") and \
            _compiles(t["read_regex"]) else None
        name_re = self.child_placeholder(e) if kind == "dir" else None
        for key, required, allowed in (("examples", {"value", "errno"}, EXAMPLE_KEYS),
                                       ("accepted", {"value"}, ACCEPTED_KEYS)):
            items = e.get(key, [])
            if not isinstance(items, list):
                self.bad(where, f"{key} must be a list")
                continue
            for j, x in enumerate(items):
                w = f"{where}: {key}[{j}]"
                if not self.check_keys(w, x, required, allowed):
                    continue
                op = x.get("op", "write" if kind == "file" else None)
                if op not in EXAMPLE_OPS[kind]:
                    self.bad(w, f"op must be one of {', '.join(EXAMPLE_OPS[kind])}")
                    continue
                if not self.check_value(w, x.get("value")):
                    continue
                value = x["value"]
                if "why" in x:
                    self.check_text(f"{w}.why", x["why"])
                self.validate_given(w, e, x.get("given", []))
                if key == "examples":
                    if self.check_errno(w, x["errno"]) and \
                            x["errno"] not in errors.get(op, {}):
                        self.bad(w, f"{x['errno']} is not in errors.{op}")
                    if name_re is not None and x["errno"] == "EINVAL" and \
                            name_re.fullmatch(value):
                        self.bad(w, f"{value!r} is a valid name, yet EINVAL")
                    continue
                if kind == "file":
                    if not mode & 0o222:
                        self.bad(w, "accepted write to a read-only file")
                    elif syntax is not None and not syntax.fullmatch(value):
                        self.bad(w, f"{value!r} does not match the type's regex")
                    if "reads" in x:
                        self.check_read(f"{w}.reads", x["reads"], read_re)
                elif "reads" in x:
                    self.bad(w, "'reads' is for writes")
                if name_re is not None and not name_re.fullmatch(value):
                    self.bad(w, f"{value!r} does not match the name's regex")

    def validate_given(self, where, e, given):
        """given: [attribute, value] pairs written first to the same directory."""
        if not isinstance(given, list):
            self.bad(where, "given must be a list of [attribute, value] pairs")
            return
        if given and e["kind"] != "file":
            self.bad(where, "given is for writes to files")
            return
        parent = e["path"].rsplit("/", 1)[0]
        for pair in given:
            if not (isinstance(pair, list) and len(pair) == 2 and
                    all(isinstance(s, str) for s in pair)):
                self.bad(where, f"given: {pair!r} is not an [attribute, value] pair")
                continue
            sib = self.schema.entry(f"{parent}/{pair[0]}")
            if sib is None or sib.get("kind") != "file" or \
                    not int(sib.get("mode", "0"), 8) & 0o222:
                self.bad(where, f"given: {pair[0]} is not a writable file beside it")
            self.check_value(where, pair[1])

    def validate_inherited(self, placeholders):
        inh = self.data.get("inherited")
        if not self.check_keys("inherited", inh, {"description", "entries"}):
            return
        self.check_text("inherited.description", inh.get("description"))
        if not isinstance(inh.get("entries"), list):
            self.bad("inherited.entries", "must be a list")
            return
        for i, e in enumerate(inh["entries"]):
            where = f"inherited.entries[{i}]"
            if not self.check_keys(where, e, {"path", "kind", "optional", "description"},
                                   INHERITED_KEYS):
                continue
            path = e["path"]
            where = f"{where} {path}"
            bare = path.removesuffix("/*")
            if self.schema.document_of(bare) is None:
                self.check_path(where, bare, placeholders, self.schema.node_devices() or ["(none)"])
            else:
                self.check_path(where, bare, placeholders)
            if self.schema.entry(path) is not None:
                self.bad(where, "both hugedma ABI and inherited")
            if e["kind"] not in INHERITED_KINDS:
                self.bad(where, f"kind must be one of {', '.join(INHERITED_KINDS)}")
            if e["kind"] == "any":
                if "mode" in e:
                    self.bad(where, "kind any has no mode")
            elif "mode" not in e:
                self.bad(where, "missing 'mode'")
            else:
                self.check_mode(where, e["mode"])
            if not isinstance(e["optional"], bool):
                self.bad(where, "optional must be true or false")
            self.check_text(f"{where}: description", e["description"])

    def validate_device_nodes(self, placeholders):
        """The character device nodes: a section, and a document, of their own."""
        dn = self.data.get("device_nodes")
        if not self.check_keys("device_nodes", dn, NODES_KEYS):
            self.data["device_nodes"] = {}
            return
        doc, root = dn.get("document"), dn.get("root")
        if not isinstance(doc, str) or not re.fullmatch(r"[a-z][a-z0-9-]*", doc):
            self.bad("device_nodes.document", "document names are lower-case file names")
        elif doc in self.data["documents"]:
            self.bad("device_nodes.document", f"{doc} is one of documents already")
        if not isinstance(root, str) or not root.startswith("/dev/"):
            self.bad("device_nodes.root", "must be a path below /dev")
            root = "/dev"
        self.check_text("device_nodes.description", dn.get("description"))
        if not isinstance(dn.get("entries"), list) or not dn["entries"]:
            self.bad("device_nodes.entries", "must be a non-empty list")
            dn["entries"] = []
            return
        seen = set()
        for i, n in enumerate(dn["entries"]):
            where = f"device_nodes.entries[{i}]"
            if not self.check_keys(where, n, NODE_KEYS - {"device"}, NODE_KEYS):
                continue
            path = n["path"]
            where = f"{where} {path}"
            if not self.check_path(where, path, placeholders, [root]):
                continue
            if path in seen:
                self.bad(where, "duplicate path")
            seen.add(path)
            if n["kind"] not in NODE_KINDS:
                self.bad(where, f"kind must be one of {', '.join(NODE_KINDS)}")
                continue
            self.check_mode(where, n["mode"])
            if not isinstance(n["owner"], str) or \
                    not re.fullmatch(r"[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*", n["owner"]):
                self.bad(where, "owner must be user:group")
            self.check_text(f"{where}: exists", n["exists"])
            self.check_text(f"{where}: description", n["description"])
            parent = None
            if path == root:
                if n["kind"] != "dir":
                    self.bad(where, "the root is a dir")
            else:
                parent = self.schema.node_entry(path.rsplit("/", 1)[0])
                if parent is None or parent.get("kind") != "dir":
                    self.bad(where, f"parent {path.rsplit('/', 1)[0]} is not a dir entry")
                    parent = None
            self.check_lifetime(where, n, parent)
            if n["kind"] == "char":
                self.validate_node_device(where, n, placeholders)
            elif "device" in n:
                self.bad(where, "only a char node has a device")
        if root not in seen:
            self.bad("device_nodes.entries", f"the root {root} is not an entry")

    def validate_node_device(self, where, n, placeholders):
        """A char node's sysfs device directory: documented here or inherited, with
        a dev file that reads the node's number, and the node's placeholders."""
        dev = n.get("device")
        if not isinstance(dev, str) or not dev.startswith("/sys/"):
            self.bad(where, "a char node names its sysfs device directory in 'device'")
            return
        if sorted(re.findall(r"<[^>]*>", dev)) != sorted(re.findall(r"<[^>]*>", n["path"])):
            self.bad(where, "device and path have different placeholders")
        d = self.schema.entry(dev) or self.schema.inherited_entry(dev)
        if d is None or d.get("kind") != "dir":
            self.bad(where, f"device {dev} is not a dir entry (own or inherited)")
        f = self.schema.entry(f"{dev}/dev") or self.schema.inherited_entry(f"{dev}/dev")
        if f is None or f.get("kind") != "file" or f.get("optional"):
            self.bad(where, f"{dev}/dev, the node's major:minor, is not a file entry")
        elif self.schema.entry(dev) is not None and d.get("lifetime") != n.get("lifetime"):
            self.bad(where, f"lifetime {n.get('lifetime')}, its device's is {d.get('lifetime')}")

    def validate_ioctls(self):
        """The ioctls, checked against the uapi header they document: the same
        requests and numbers, structures with the same fields in the same order,
        first sizes as the header's *_SIZE_VER0, enums matching the state and
        source files' values."""
        io = self.data.get("ioctls")
        if not self.check_keys("ioctls", io, IOCTLS_KEYS):
            self.data["ioctls"] = {"entries": [], "enums": []}
            return
        self.check_text("ioctls.description", io.get("description"))
        self.check_text("ioctls.include", io.get("include"))
        if not self.check_text("ioctls.header", io.get("header")):
            return
        try:
            self.uapi = parse_uapi((TOP / io["header"]).read_text(encoding="utf-8"))
        except OSError as err:
            self.bad("ioctls.header", str(err))
            return
        except ValueError as err:
            self.bad("ioctls.header", f"{io['header']}: {err}")
            return
        u = self.uapi
        for i, en in enumerate(io.get("enums") or []):
            where = f"ioctls.enums[{i}]"
            if not self.check_keys(where, en, ENUM_KEYS):
                continue
            items = u["enums"].get(en["name"])
            if items is None:
                self.bad(where, f"no enum {en['name']} in {io['header']}")
                continue
            values = self.data["types"].get(en["type"], {}).get("values")
            if not isinstance(values, list):
                self.bad(where, f"type {en['type']!r} has no values")
                continue
            names = [n.removeprefix(en["prefix"]).lower() if n.startswith(en["prefix"])
                     else n for n, _ in items]
            if names != values or [v for _, v in items] != list(range(len(items))):
                self.bad(where, f"enum {en['name']} is {items}; type {en['type']}'s "
                         f"values are {values} (as {en['prefix']}*, 0 up)")
        entries = io.get("entries")
        if not isinstance(entries, list) or not entries:
            self.bad("ioctls.entries", "must be a non-empty list")
            io["entries"] = []
            return
        seen = {}
        for i, x in enumerate(entries):
            where = f"ioctls.entries[{i}]"
            if not self.check_keys(where, x, IOCTL_KEYS):
                continue
            where = f"{where} {x['name']}"
            seen[x["name"]] = x
            self.check_text(f"{where}: description", x["description"])
            req = u["ioctls"].get(x["name"])
            if req is None:
                self.bad(where, f"not defined in {io['header']}")
            elif not isinstance(x["nr"], str) or not re.fullmatch(r"0x[0-9a-f]{2}", x["nr"]) \
                    or int(x["nr"], 16) != req:
                self.bad(where, f"nr is {x['nr']!r}; the header's is 0x{req:02x}")
            node = self.schema.node_entry(x["node"])
            if node is None or node.get("kind") != "char":
                self.bad(where, f"node {x['node']} is not a char device_nodes entry")
            fields = u["structs"].get(x["struct"])
            if fields is None:
                self.bad(where, f"no struct {x['struct']} in {io['header']}")
            else:
                ours = [f[0] if isinstance(f, list) and len(f) == 2 else None
                        for f in x["fields"]] if isinstance(x["fields"], list) else []
                if ours != [f["name"] for f in fields]:
                    self.bad(where, f"fields {ours}; struct {x['struct']} has "
                             f"{[f['name'] for f in fields]}")
                for f in x["fields"] if isinstance(x["fields"], list) else []:
                    if isinstance(f, list) and len(f) == 2:
                        self.check_text(f"{where}: field {f[0]}", f[1])
                ver0 = f"HUGEDMA_{x['struct'].removeprefix('hugedma_').upper()}_SIZE_VER0"
                if str(x["size_ver0"]) != u["defines"].get(ver0):
                    self.bad(where, f"size_ver0 {x['size_ver0']}; {ver0} is "
                             f"{u['defines'].get(ver0)}")
            if not isinstance(x["errors"], dict) or not x["errors"]:
                self.bad(where, "errors must map errno names to when")
            else:
                for name, when in x["errors"].items():
                    self.check_errno(f"{where}: errors", name)
                    self.check_text(f"{where}: errors.{name}", when)
        for name in sorted(set(u["ioctls"]) - set(seen)):
            self.bad("ioctls.entries", f"{name} of {io['header']} is not documented")


def _compiles(regex):
    try:
        re.compile(regex)
        return True
    except (re.error, TypeError):
        return False
