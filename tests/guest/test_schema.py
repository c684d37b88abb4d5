# SPDX-License-Identifier: GPL-2.0
"""The live configfs and sysfs trees, and the device nodes, against
configfs-schema/hugedma.json.

- the trees hold exactly the schema's entries (plus the driver core's
  inherited ones), with the schema's kinds and modes, every placeholder's
  value matches its regex, and the modes are what the kernel enforces for an
  unprivileged reader;
- the device nodes have the schema's kinds, modes and owners, and the device
  number their sysfs device's dev file reads;
- entries exist for exactly their documented lifetime;
- new buffers and attachments read the documented defaults, and every value
  read matches its type's read_regex;
- every example in the schema gives its errno and changes nothing, every
  accepted example reads back as documented;
- allowed_states: EBUSY while enabled (or mapped), rmdir refused, writing the
  current value of enable is a no-op;
- rejected writes are logged in the documented format.

Attachments are made to the guest's PCI host bridge, which every guest has
(never mapped: without a driver, an enabled attachment waits for one), and, in
the tests marked edu, mapped for QEMU's edu device with the hugedma_edu test
driver bound (tests/vm/run --edu, best with --iommu).
"""
import errno
import grp
import json
import os
import pathlib
import pwd
import re
import stat
import subprocess

import pytest

import hugedma_test as h
from hugedma_test import CONTROL, do_import, huge_map, libc

SCHEMA = json.loads((h.REPO / "configfs-schema" / "hugedma.json").read_text())
ENTRIES = SCHEMA["entries"]
INHERITED = SCHEMA["inherited"]["entries"]
NODES = SCHEMA["device_nodes"]["entries"]
TYPES = SCHEMA["types"]
PLACEHOLDERS = {k: re.compile(v["regex"]) for k, v in SCHEMA["placeholders"].items()}
NAME_RE = PLACEHOLDERS["<name>"]
CFS_ROOT = SCHEMA["documents"]["configfs-hugedma"]
CLASS_ROOT = SCHEMA["documents"]["sysfs-class-hugedma"]
DEV_ROOT = SCHEMA["device_nodes"]["root"]
NOBODY = 65534
PCI = pathlib.Path("/sys/bus/pci/devices")
EDU_ID = ("0x1234", "0x11e8")

assert CFS_ROOT == str(h.CONFIGFS) and CLASS_ROOT == str(h.CLASS)


@pytest.fixture(scope="module", autouse=True)
def edu_driver():
    """hugedma_edu bound to edu, when the guest has one, for this file: an enabled
    attachment of a device without a driver waits for one instead of mapping."""
    if not h.edu_bdf() or pathlib.Path("/sys/module/hugedma_edu").exists():
        yield
        return
    h.load()
    subprocess.run(["insmod", str(h.EDU_KO)], check=True)
    yield
    subprocess.run(["rmmod", "hugedma_edu"], check=True)


def placeholders(path):
    return set(re.findall(r"<[a-z_]+>", path))


# entries that need no more than a buffer, and those that need an attachment:
# made in configfs (lifetime attachment), or mapped (mapping, tests marked edu)
BASIC = [e for e in ENTRIES if placeholders(e["path"]) <= {"<name>"}]
CFS_ATT = [e for e in ENTRIES if e["lifetime"] == "attachment"]
SYS_ATT = [e for e in ENTRIES if e["lifetime"] == "mapping"]
assert len(BASIC) + len(CFS_ATT) + len(SYS_ATT) == len(ENTRIES)
# sysfs device directories outside the documents (the misc device of control)
OTHER_DEVICES = [n["device"] for n in NODES
                 if "device" in n and not n["device"].startswith(CLASS_ROOT + "/")]


def raw(value):
    """A schema value as the bytes it stands for (U+0000..U+00FF, one byte each)."""
    return value.encode("latin-1")


def path_of(pattern, name, att=None):
    """A schema path with its placeholders filled: <name> with a buffer's name,
    <bdf> and <attachment> with an attachment's."""
    p = pattern.replace("<name>", name)
    if att is not None:
        p = p.replace("<bdf>", att).replace("<attachment>", att)
    return p


def pattern_re(pattern):
    """A schema path as a regex over live paths, one named group per placeholder;
    a trailing /* matches anything below."""
    rx = re.escape(pattern.removesuffix("/*"))
    for ph in placeholders(pattern):
        rx = rx.replace(re.escape(ph), f"(?P<{ph[1:-1]}>[^/]+)")
    return re.compile(rx + ("/.+" if pattern.endswith("/*") else ""))


def bad_placeholders(path, m):
    """Placeholder values in a live path that their regex does not allow."""
    return [f"{path}: {v!r} is not a <{k}> ({PLACEHOLDERS[f'<{k}>'].pattern})"
            for k, v in m.groupdict().items() if not PLACEHOLDERS[f"<{k}>"].fullmatch(v)]


def matching(specs, path):
    """The (spec, match) of specs [(spec, regex, ...)] that path matches, with
    valid placeholder values ("control" is no <name>) when any is valid."""
    found = [(s[0], m) for s in specs for m in [s[1].fullmatch(path)] if m]
    valid = [(e, m) for e, m in found if not bad_placeholders(path, m)]
    return valid or found


def kind_of(mode):
    return "link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode) else \
        "char" if stat.S_ISCHR(mode) else "file"


def try_write(path, value):
    """h.write, with a refusal at open(2) returned as its errno too."""
    try:
        return h.write(path, value)
    except OSError as e:
        return e.errno


def try_mkdir(path):
    return h.try_call(os.mkdir, path)


def try_rmdir(path):
    return h.try_call(os.rmdir, path)


def files_of(b, att=None):
    """Everything readable about a buffer (and one attachment of it): its
    configfs files and class device."""
    out = {}
    for e in ENTRIES:
        p = path_of(e["path"], b.name, att)
        if e["kind"] == "file" and "<name>" in e["path"] and not placeholders(p) and \
                os.path.exists(p):
            out[p] = h.read(p)
    out["class device"] = b.dev.exists()
    return out


def enabled_buffer(mkbuf, **kw):
    b = mkbuf(page_size="2M", size="4M", **kw)
    assert b.enable() == 0
    return b


def pci_is_edu(bdf):
    return (h.read(PCI / bdf / "vendor").strip(), h.read(PCI / bdf / "device").strip()) == EDU_ID


def host_bridge():
    """The PCI device every guest has and nothing maps: 0000:00:00.0."""
    bdf = sorted(os.listdir(PCI))[0]
    assert not pci_is_edu(bdf)
    return bdf


def edu_bdf():
    bdf = h.edu_bdf()
    assert bdf, "no edu device: run this test in a guest started with tests/vm/run --edu"
    return bdf


def translated(bdf):
    """Whether the device's DMA goes through a translating IOMMU domain."""
    group = PCI / bdf / "iommu_group"
    return group.exists() and h.read(group / "type").strip() in ("DMA", "DMA-FQ")


def mapped_attachment(mkbuf, attach):
    """An enabled 4 MB buffer of 2 MB pages, mapped for the edu device."""
    bdf = edu_bdf()
    b = enabled_buffer(mkbuf)
    rc = attach(b, bdf, enable=True)
    assert rc != errno.ERANGE or translated(bdf), (
        "without an IOMMU, edu (no driver: 32-bit DMA mask) cannot reach this buffer's "
        "pages above 4 GB: these tests are marked iommu (tests/vm/run --iommu --edu)")
    assert rc == 0, f"map for {bdf}: {h.errname(rc)}"
    return b, bdf


@pytest.fixture
def imported():
    """Factory: imported(name) -> h.Buffer of a 2 MB user page imported through
    /dev/hugedma/control; it ends (closed, unmapped) after the test."""
    made = []

    def make(name):
        fd = os.open(CONTROL, os.O_RDWR)
        p = huge_map(1)
        made.append((fd, p))
        rc = do_import(fd, name, p, h.SZ_2M)
        assert rc == 0, f"import {name}: {h.errname(rc)}"
        return h.Buffer(name)

    yield make
    for fd, p in made:
        libc.munmap(p, h.SZ_2M)
        os.close(fd)


# ---------------------------------------------------------------- the tree

def walk(top, shown_as):
    """{schema-style path: (kind, mode)} for top (through a link) and below it
    (links not followed)."""
    found = {shown_as: ("dir", stat.S_IMODE(os.stat(top).st_mode))}
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            found[shown_as + p[len(top):]] = (kind_of(st.st_mode), stat.S_IMODE(st.st_mode))
    return found


def class_link(link):
    """The class device a /sys/class/CLASS/NAME link names (a virtual device)."""
    link = pathlib.Path(link)
    assert link.is_symlink(), f"{link} is not a class device link"
    want = f"../../devices/virtual/{link.parent.name}/{link.name}"
    assert os.readlink(link) == want, f"{link} -> {os.readlink(link)}, not {want}"
    return os.path.realpath(link)


def live_tree():
    found = walk(str(h.CONFIGFS), CFS_ROOT)
    found[CLASS_ROOT] = ("dir", stat.S_IMODE(os.stat(h.CLASS).st_mode))
    for n in sorted(os.listdir(h.CLASS)):
        found.update(walk(class_link(h.CLASS / n), f"{CLASS_ROOT}/{n}"))
    for dev in OTHER_DEVICES:
        found.update(walk(class_link(dev), dev))
    return found


def tree_problems(found, required):
    """found against the schema: every live path is an entry (or inherited) with
    its kind and mode, every entry in required is live."""
    specs = [(e, pattern_re(e["path"])) for e in ENTRIES + INHERITED]
    problems, used = [], set()
    for path, (kind, mode) in sorted(found.items()):
        match = matching(specs, path)
        own = [(e, m) for e, m in match if not any(e is i for i in INHERITED)]
        if not match:
            problems.append(f"{path}: {kind} {mode:04o} is not in the schema")
            continue
        if len(own) > 1:
            problems.append(f"{path}: matches {len(own)} schema entries")
        e, m = own[0] if own else match[0]
        used.add(e["path"])
        problems += bad_placeholders(path, m)
        if e["kind"] != "any" and e["kind"] != kind:
            problems.append(f"{path}: a {kind}, the schema says {e['kind']}")
        if "mode" in e and int(e["mode"], 8) != mode:
            problems.append(f"{path}: mode {mode:04o}, the schema says {e['mode']}")
    for e in required + [i for i in INHERITED if not i["optional"]]:
        if e["path"] not in used:
            problems.append(f"{e['path']}: in the schema, not in the live tree")
    return problems


def node_problems(required):
    """/dev/hugedma against the schema's device nodes: kind, mode, owner, and for
    a char node the device number its sysfs device's dev file reads."""
    specs = [(n, pattern_re(n["path"])) for n in NODES]
    problems, used = [], set()
    found = [DEV_ROOT] + [os.path.join(DEV_ROOT, n) for n in sorted(os.listdir(DEV_ROOT))]
    for path in found:
        st = os.lstat(path)
        kind, mode = kind_of(st.st_mode), stat.S_IMODE(st.st_mode)
        match = matching(specs, path)
        if len(match) != 1:
            problems.append(f"{path}: {kind} {mode:04o} matches {len(match)} device nodes")
            continue
        n, m = match[0]
        used.add(n["path"])
        problems += bad_placeholders(path, m)
        user, group = n["owner"].split(":")
        want = (n["kind"], int(n["mode"], 8), pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)
        if (kind, mode, st.st_uid, st.st_gid) != want:
            problems.append(f"{path}: {kind} {mode:04o} {st.st_uid}:{st.st_gid}, the schema "
                            f"says {n['kind']} {n['mode']} {n['owner']} ({want[2]}:{want[3]})")
        if n["kind"] == "char" and kind == "char":
            dev = n["device"]
            for k, v in m.groupdict().items():
                dev = dev.replace(f"<{k}>", v)
            got = h.read(f"{dev}/dev")
            if got != f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}\n":
                problems.append(f"{path}: device {os.major(st.st_rdev)}:"
                                f"{os.minor(st.st_rdev)}, but {dev}/dev reads {got!r}")
    for n in required:
        if n["path"] not in used:
            problems.append(f"{n['path']}: in the schema, not in /dev")
    return problems


def test_live_tree_matches_schema(mkbuf, attach, imported):
    """With a disabled buffer that has an attachment, an enabled buffer and an
    imported one, every live entry is in the schema with its kind and mode, and
    every schema entry but a mapped attachment's is live; so are the device nodes."""
    attach(mkbuf(), host_bridge())
    enabled_buffer(mkbuf)
    imported(f"i{os.getpid()}")
    problems = tree_problems(live_tree(), [e for e in ENTRIES if e["lifetime"] != "mapping"])
    problems += node_problems(NODES)
    assert not problems, "\n".join(problems)


@pytest.mark.edu
@pytest.mark.iommu
def test_live_tree_with_a_mapping_matches_schema(mkbuf, attach):
    """With a buffer mapped for edu, every schema entry is live."""
    mapped_attachment(mkbuf, attach)
    problems = tree_problems(live_tree(), ENTRIES) + node_problems(NODES)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- lifetimes

def presence(entries, name, att=None):
    return {e["path"]: os.path.exists(path_of(e["path"], name, att)) for e in entries}


def expect(entries, lifetimes):
    return {e["path"]: e["lifetime"] in lifetimes for e in entries}


def test_lifetimes(mkbuf):
    """buffer entries exist from mkdir to rmdir, enabled entries and the device
    node only while enabled."""
    b = mkbuf(page_size="2M", size="2M")
    mine = [e for e in BASIC + NODES if "<name>" in e["path"]]
    assert presence(mine, b.name) == expect(mine, {"buffer"})
    assert b.enable() == 0
    assert presence(mine, b.name) == expect(mine, {"buffer", "enabled"})
    assert b.disable() == 0
    assert presence(mine, b.name) == expect(mine, {"buffer"})
    os.rmdir(b.dir)
    assert presence(mine, b.name) == expect(mine, set())


def test_imported_buffer_lifetime(imported):
    """An imported buffer has the enabled entries and a device node, no configfs
    directory."""
    b = imported(f"i{os.getpid()}")
    mine = [e for e in BASIC + NODES if "<name>" in e["path"]]
    assert presence(mine, b.name) == expect(mine, {"enabled"})
    assert b.sysfs("source") == "user\n"


def test_attachment_lifetime(mkbuf, attach):
    """A configfs attachment's entries exist from its mkdir to its rmdir; it has
    no sysfs directory unless mapped."""
    b = mkbuf(page_size="2M", size="2M")
    bdf = host_bridge()
    atts = CFS_ATT + SYS_ATT
    assert presence(atts, b.name, bdf) == expect(atts, set())
    attach(b, bdf)
    assert presence(atts, b.name, bdf) == expect(atts, {"attachment"})
    assert b.enable() == 0
    assert presence(atts, b.name, bdf) == expect(atts, {"attachment"})
    assert b.disable() == 0
    os.rmdir(b.dir / "attachments" / bdf)
    assert presence(atts, b.name, bdf) == expect(atts, set())


@pytest.mark.edu
@pytest.mark.iommu
def test_mapping_lifetime(mkbuf, attach):
    """An attachment's sysfs directory exists from a map to an unmap on request,
    and a mapped attachment keeps the buffer enabled and its directory in place."""
    bdf = edu_bdf()
    b, _ = mapped_attachment(mkbuf, attach)
    att = b.dir / "attachments" / bdf
    atts = CFS_ATT + SYS_ATT
    assert presence(atts, b.name, bdf) == expect(atts, {"attachment", "mapping"})
    assert b.disable() == errno.EBUSY
    assert try_rmdir(att) == errno.EBUSY
    assert h.write(att / "enable", "0") == 0
    assert presence(atts, b.name, bdf) == expect(atts, {"attachment"})
    assert h.write(att / "enable", "1") == 0
    assert presence(atts, b.name, bdf) == expect(atts, {"attachment", "mapping"})
    assert h.write(att / "enable", "0") == 0
    assert b.disable() == 0
    assert presence(atts, b.name, bdf) == expect(atts, {"attachment"})


def test_waiting_attachment_lifetime(mkbuf, attach):
    """An enabled attachment of a device without a driver waits: its sysfs directory
    exists as a mapping's does, every file reads as its type says (the bus-address
    files and iommu empty), it keeps the buffer enabled, and it goes on a write of 0."""
    free = [p.name for p in sorted(PCI.iterdir()) if not (p / "driver").exists()]
    assert free, "needs a PCI device without a driver (the guest's host bridge has none)"
    bdf = free[0]
    b = enabled_buffer(mkbuf)
    att = b.dir / "attachments" / bdf
    sysdir = b.dev / "attachments" / bdf
    atts = CFS_ATT + SYS_ATT
    assert attach(b, bdf, enable=True) == 0
    assert presence(atts, b.name, bdf) == expect(atts, {"attachment", "mapping"})
    assert h.read(att / "state") == h.read(sysdir / "state") == "waiting\n"
    assert h.read(att / "enable") == "1\n"
    assert h.read(sysdir / "nr_segments") == "0\n"
    assert h.read(sysdir / "dma_addrs") == h.read(sysdir / "dma_lengths") == ""
    assert h.read(sysdir / "iommu") == ""
    problems = [f"{p} reads {v!r}" for e in SYS_ATT + CFS_ATT if e["kind"] == "file"
                for p in [path_of(e["path"], b.name, bdf)] for v in [h.read(p)]
                if not re.fullmatch(TYPES[e["type"]]["read_regex"], v)]
    assert not problems, problems
    assert try_write(att / "direction", h.read(att / "direction")) == errno.EBUSY
    assert try_rmdir(att) == errno.EBUSY
    assert b.disable() == errno.EBUSY
    assert h.write(att / "enable", "0") == 0
    assert presence(atts, b.name, bdf) == expect(atts, {"attachment"})
    assert b.disable() == 0


def remove_pci(bdf):
    assert h.write(PCI / bdf / "remove", "1") == 0
    assert not (PCI / bdf).exists()


def rescan_pci(bdf):
    assert h.write("/sys/bus/pci/rescan", "1") == 0
    assert h.wait_for(lambda: (PCI / bdf).exists(), timeout=10)


@pytest.mark.edu
@pytest.mark.iommu
def test_removed_attachment_lifetime(mkbuf, attach):
    """After hot-unplug a mapped attachment is removed: its sysfs directory stays,
    emptied, until it is unmapped on request or the buffer is disabled; its
    configfs directory stays pinned until 0 is written to enable."""
    bdf = edu_bdf()
    b, _ = mapped_attachment(mkbuf, attach)
    att = b.dir / "attachments" / bdf
    sysdir = b.dev / "attachments" / bdf
    atts = CFS_ATT + SYS_ATT
    try:
        # removed, then unmapped on request
        remove_pci(bdf)
        assert presence(atts, b.name, bdf) == expect(atts, {"attachment", "mapping"})
        assert h.read(att / "state") == "removed\n"
        assert h.read(att / "enable") == "0\n"
        assert h.read(sysdir / "state") == "removed\n"
        assert h.read(sysdir / "nr_segments") == "0\n"
        assert h.read(sysdir / "dma_addrs") == h.read(sysdir / "dma_lengths") == ""
        problems = [f"{p} reads {v!r}" for e in SYS_ATT + CFS_ATT if e["kind"] == "file"
                    for p in [path_of(e["path"], b.name, bdf)] for v in [h.read(p)]
                    if not re.fullmatch(TYPES[e["type"]]["read_regex"], v)]
        assert not problems, problems
        assert h.write(att / "enable", "1") == errno.ENODEV
        assert try_write(att / "direction", h.read(att / "direction")) == 0, \
            "direction is writable in state removed"
        assert try_rmdir(att) == errno.EBUSY, "pinned until 0 is written to enable"
        assert h.write(att / "enable", "0") == 0
        assert presence(atts, b.name, bdf) == expect(atts, {"attachment"})
        os.rmdir(att)

        # removed, then the buffer disabled
        rescan_pci(bdf)
        assert attach(b, bdf, enable=True) == 0
        remove_pci(bdf)
        assert presence(atts, b.name, bdf) == expect(atts, {"attachment", "mapping"})
        assert b.disable() == 0, "a removed attachment does not keep the buffer enabled"
        assert presence(atts, b.name, bdf) == expect(atts, {"attachment"})
        assert h.read(att / "state") == "removed\n"
        assert b.enable() == 0
        assert h.write(att / "enable", "1") == errno.ENODEV, "removed for good"
        assert not sysdir.exists()
        assert try_rmdir(att) == errno.EBUSY
        assert h.write(att / "enable", "0") == 0
        os.rmdir(att)
    finally:
        if not (PCI / bdf).exists():
            rescan_pci(bdf)


# ---------------------------------------------------------------- modes

def modes_problems(targets):
    """[(entry, live path)]: as uid nobody, open(2) for reading succeeds exactly
    when the mode lets others read, and for writing never."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            res = {}
            for _, p in targets:
                res[p] = []
                for flags in (os.O_RDONLY, os.O_WRONLY):
                    try:
                        os.close(os.open(p, flags))
                        res[p].append(0)
                    except OSError as e:
                        res[p].append(e.errno)
            os.write(w, json.dumps(res).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        res = json.loads(f.read() or "{}")
    os.waitpid(pid, 0)
    problems = []
    for e, p in targets:
        want = [0 if int(e["mode"], 8) & 0o004 else errno.EACCES, errno.EACCES]
        if res.get(p) != want:
            problems.append(f"{p} (mode {e['mode']}): as uid {NOBODY}, open for read, write "
                            f"gave {[h.errname(x) for x in res.get(p, [])]}, "
                            f"want {[h.errname(x) for x in want]}")
    return problems


def test_modes_are_enforced(mkbuf, attach):
    """An unprivileged process can read exactly the files (and device nodes)
    whose mode lets others read, and write none of them."""
    b = enabled_buffer(mkbuf)
    bdf = host_bridge()
    attach(b, bdf)
    targets = [(e, path_of(e["path"], b.name, bdf)) for e in BASIC + CFS_ATT + NODES
               if e["kind"] in ("file", "char")]
    problems = modes_problems(targets)
    assert not problems, "\n".join(problems)


@pytest.mark.edu
@pytest.mark.iommu
def test_mapping_modes_are_enforced(mkbuf, attach):
    b, bdf = mapped_attachment(mkbuf, attach)
    problems = modes_problems([(e, path_of(e["path"], b.name, bdf))
                               for e in SYS_ATT if e["kind"] == "file"])
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- values

def test_defaults(mkbuf, attach):
    b = mkbuf()
    bdf = host_bridge()
    attach(b, bdf)
    have_1g = (h.HUGEPAGES / h.PAGE_DIRS[h.SZ_1G]).exists()
    checked = 0
    for e in ENTRIES:
        if "default" not in e:
            continue
        want = e["default"]
        if not have_1g and "default_fallback" in e:
            want = e["default_fallback"]["value"]
        got = h.read(path_of(e["path"], b.name, bdf))
        assert got == want + "\n", f"{e['path']}: new buffer reads {got!r}, schema {want!r}"
        checked += 1
    assert checked == sum("default" in e for e in ENTRIES)


def values_problems(targets):
    """[(entry, live path)]: each exists and reads as its type's read_regex says."""
    problems = []
    for e, p in targets:
        rx = re.compile(TYPES[e["type"]]["read_regex"])
        if not os.path.exists(p):
            problems.append(f"{p}: missing")
        elif not rx.fullmatch(h.read(p)):
            problems.append(f"{p} reads {h.read(p)!r}, not {rx.pattern}")
    return problems


def test_values_match_their_types(mkbuf, attach, imported):
    """Every file of a disabled buffer with an attachment, an enabled buffer and
    an imported buffer reads as its type says."""
    bdf = host_bridge()
    disabled = mkbuf()
    attach(disabled, bdf)
    enabled = enabled_buffer(mkbuf)
    user = imported(f"i{os.getpid()}")
    files = [e for e in ENTRIES if e["kind"] == "file"]
    targets = [(e, path_of(e["path"], disabled.name, bdf)) for e in files
               if e["lifetime"] in ("buffer", "attachment")]
    targets += [(e, path_of(e["path"], enabled.name)) for e in files
                if e["lifetime"] in ("buffer", "enabled")]
    targets += [(e, path_of(e["path"], user.name)) for e in files if e["lifetime"] == "enabled"]
    problems = values_problems(targets)
    assert not problems, "\n".join(problems)
    assert enabled.sysfs("source") == "pool\n" and user.sysfs("source") == "user\n"


@pytest.mark.edu
@pytest.mark.iommu
def test_mapping_values_match_their_types(mkbuf, attach):
    """A mapped attachment's files read as their types say, and agree: one line
    per segment, the lengths add up to the buffer, the direction and iommu are
    the attachment's and the device's."""
    b, bdf = mapped_attachment(mkbuf, attach)
    problems = values_problems([(e, path_of(e["path"], b.name, bdf))
                                for e in SYS_ATT + CFS_ATT if e["kind"] == "file"])
    assert not problems, "\n".join(problems)
    d = b.dev / "attachments" / bdf
    addrs, lens = h.read(d / "dma_addrs"), h.read(d / "dma_lengths")
    n = int(h.read(d / "nr_segments"))
    assert n > 0 and len(addrs) == 19 * n and len(lens.splitlines()) == n
    assert sum(int(x) for x in lens.split()) == int(b.sysfs("size"))
    assert h.read(d / "state") == "mapped\n"
    assert h.read(d / "direction") == h.read(b.dir / "attachments" / bdf / "direction")
    assert h.read(d / "iommu") == ("translated\n" if translated(bdf) else "direct\n")
    if not translated(bdf):
        pos, phys = 0, b.phys_addrs()
        psize = int(b.sysfs("page_size"))
        for a, ln in zip((int(x, 16) for x in addrs.split()), (int(x) for x in lens.split())):
            assert a == phys[pos // psize] + pos % psize
            pos += ln


def test_class_device_describes_the_buffer(mkbuf):
    b = enabled_buffer(mkbuf)
    size, psize = int(b.read("size")), int(b.read("page_size"))
    assert int(b.sysfs("size")) == size
    assert int(b.sysfs("page_size")) == psize
    nr = int(b.sysfs("nr_pages"))
    assert nr == size // psize
    addrs = b.phys_addrs()
    assert len(addrs) == nr
    assert all(a % psize == 0 for a in addrs)
    assert len(set(addrs)) == nr
    assert len(h.read(b.dev / "phys_addrs")) == 19 * nr
    node = int(b.sysfs("numa_node"))
    assert node == -1 or node in h.node_ids()
    assert b.sysfs("state") == "enabled\n"
    assert b.sysfs("source") == "pool\n"
    assert os.listdir(b.dev / "attachments") == []
    assert b.read("state") == "enabled"
    assert b.read("enable") == "1"


# ---------------------------------------------------------------- examples

def example_cases():
    cases = []
    for e in ENTRIES:
        short = e["path"].replace(CFS_ROOT, "cfs").replace(CLASS_ROOT, "class")
        marks = [pytest.mark.edu, pytest.mark.iommu] if e["lifetime"] == "mapping" else []
        for key in ("examples", "accepted"):
            for x in e.get(key, []):
                op = x.get("op", "write")
                result = x["errno"] if key == "examples" else "ok"
                given = "".join(f"[{a}={v!r}]" for a, v in x.get("given", []))
                cases.append(pytest.param(e, x, marks=marks,
                                          id=f"{short}:{given}{op}:{x['value']!r}:{result}"))
    return cases


@pytest.mark.table
@pytest.mark.parametrize("entry,example", example_cases())
def test_example(mkbuf, attach, entry, example):
    expect_rc = getattr(errno, example["errno"]) if "errno" in example else 0
    att = None
    if entry["lifetime"] == "mapping":
        b, att = mapped_attachment(mkbuf, attach)
    elif entry["lifetime"] == "attachment":
        b, att = mkbuf(), host_bridge()
        attach(b, att)
    elif entry["lifetime"] == "enabled":
        b = enabled_buffer(mkbuf)
    elif "<name>" in entry["path"]:
        b = mkbuf()
    else:
        b = None
    target = path_of(entry["path"], b.name if b else "", att)
    for attr, value in example.get("given", []):
        rc = h.write(os.path.join(os.path.dirname(target), attr), raw(value))
        assert rc == 0, f"given {attr}={value!r}: {h.errname(rc)}"
    before = files_of(b, att) if b else None

    if example.get("op", "write") == "mkdir":
        parent = os.fsencode(target)
        listing = sorted(os.listdir(parent))
        made = parent + b"/" + raw(example["value"])
        rc = try_mkdir(made)
        try:
            assert h.errname(rc) == h.errname(expect_rc), f"mkdir {made!r}"
            if expect_rc:
                assert sorted(os.listdir(parent)) == listing
            else:
                assert os.path.isdir(made)
        finally:
            if rc == 0:
                os.rmdir(made)
    else:
        old = h.read(target)
        rc = try_write(target, raw(example["value"]))
        assert h.errname(rc) == h.errname(expect_rc), f"write {example['value']!r} to {target}"
        if expect_rc:
            assert h.read(target) == old, "a rejected write changed the value"
        elif "reads" in example:
            assert h.read(target) == example["reads"] + "\n"
            before[target] = h.read(target)
    if b is not None:
        assert files_of(b, att) == before, "the buffer changed beyond the example's file"


def test_attachment_errors_beyond_the_examples(mkbuf, attach):
    """The documented errors the examples cannot show: EEXIST for a second
    attachment of a device, EPERM for rmdir of attachments/, ENOTEMPTY for rmdir
    of a disabled buffer with an attachment (EBUSY first when it is enabled)."""
    b = mkbuf(page_size="2M", size="2M")
    bdf = host_bridge()
    attach(b, bdf)
    assert try_mkdir(b.dir / "attachments" / bdf) == errno.EEXIST
    assert try_rmdir(b.dir / "attachments") == errno.EPERM
    assert try_rmdir(b.dir) == errno.ENOTEMPTY
    assert b.enable() == 0
    assert try_rmdir(b.dir) == errno.EBUSY
    assert b.disable() == 0
    assert sorted(os.listdir(b.dir / "attachments")) == [bdf]


# ---------------------------------------------------------------- states

def test_allowed_states_while_enabled(mkbuf):
    """Outside its allowed states a write or rmdir fails with EBUSY and changes
    nothing, even when it writes the current value; inside them writing the
    current value succeeds and changes nothing."""
    b = enabled_buffer(mkbuf)
    addrs = b.phys_addrs()
    before = files_of(b)
    checked = 0
    for e in BASIC:
        if "<name>" not in e["path"] or e["lifetime"] == "enabled":
            continue
        target = path_of(e["path"], b.name)
        for op, states in e.get("allowed_states", {}).items():
            want = 0 if "enabled" in states else errno.EBUSY
            if op == "write":
                rc = try_write(target, h.read(target))
            else:
                assert op == "rmdir"
                rc = try_rmdir(target)
            assert h.errname(rc) == h.errname(want), f"{op} {target} while enabled"
            checked += 1
    assert checked >= 5
    assert files_of(b) == before
    assert b.phys_addrs() == addrs, "writing 1 to an enabled buffer changed its pages"


@pytest.mark.edu
@pytest.mark.iommu
def test_allowed_states_while_mapped(mkbuf, attach):
    """While an attachment is mapped, its writes outside their allowed states fail
    with EBUSY, rmdir of it too, and nothing changes."""
    b, bdf = mapped_attachment(mkbuf, attach)
    before = files_of(b, bdf)
    addrs = h.read(b.dev / "attachments" / bdf / "dma_addrs")
    checked = 0
    for e in CFS_ATT:
        target = path_of(e["path"], b.name, bdf)
        for op, states in e.get("allowed_states", {}).items():
            assert op == "write"
            want = 0 if "mapped" in states else errno.EBUSY
            rc = try_write(target, h.read(target))
            assert h.errname(rc) == h.errname(want), f"write {target} while mapped"
            checked += 1
    assert checked >= 1
    assert try_write(b.dir / "attachments" / bdf / "enable", "1") == 0
    assert try_rmdir(b.dir / "attachments" / bdf) == errno.EBUSY
    assert files_of(b, bdf) == before
    assert h.read(b.dev / "attachments" / bdf / "dma_addrs") == addrs


def test_allowed_states_while_disabled(mkbuf, attach):
    """In the disabled state every attribute (of a buffer, of an attachment)
    takes its current value back."""
    b = mkbuf(page_size="2M", size="2M")
    bdf = host_bridge()
    attach(b, bdf)
    before = files_of(b, bdf)
    checked = 0
    for e in ENTRIES:
        if "disabled" in e.get("allowed_states", {}).get("write", []):
            target = path_of(e["path"], b.name, bdf)
            rc = try_write(target, h.read(target))
            assert rc == 0, f"write the current value of {target}: {h.errname(rc)}"
            checked += 1
    assert checked >= 4
    assert files_of(b, bdf) == before


def test_enable_short_pool_takes_nothing(mkbuf):
    """ENOSPC when the pool is one page short; nothing is kept (pool_guard checks
    the counters), the buffer stays disabled and unpublished."""
    free = h.pool(h.SZ_2M)["free_hugepages"]
    b = mkbuf(page_size="2M", size=str((free + 1) * h.SZ_2M))
    before = files_of(b)
    assert h.errname(b.enable()) == "ENOSPC"
    assert files_of(b) == before
    assert h.pool(h.SZ_2M)["free_hugepages"] == free


# ---------------------------------------------------------------- log

def test_rejected_write_is_logged(mkbuf):
    rx = re.compile(SCHEMA["rejection_log"]["regex"])
    b = mkbuf()
    size = next(e for e in ENTRIES if e["path"] == f"{CFS_ROOT}/buffers/<name>/size")
    x = next(x for x in size["examples"] if not x.get("given") and x["value"].strip())
    lines = h.logged(lambda: try_write(b.dir / "size", raw(x["value"])), rx.fullmatch)
    assert len(lines) == 1, lines
    m = rx.fullmatch(lines[0])
    assert (m["name"], m["attr"], m["value"], m["errno"]) == \
        (b.name, "size", x["value"].rstrip(), "-" + x["errno"])

    buffers = next(e for e in ENTRIES if e["path"] == f"{CFS_ROOT}/buffers")
    bad = next(x["value"] for x in buffers["examples"] if x["errno"] == "EINVAL")
    want = f"hugedma: rejected buffer name '{bad}': -EINVAL"
    assert h.logged(lambda: try_mkdir(h.BUFFERS / bad), lambda ln: ln == want) == [want]


def test_rejected_attachment_write_and_name_are_logged(mkbuf, attach):
    """An attachment's rejected write names the buffer and the attachment; a
    rejected attachment name names the buffer, with <attr> attachment."""
    rx = re.compile(SCHEMA["rejection_log"]["regex"])
    b = mkbuf()
    bdf = host_bridge()
    attach(b, bdf)
    direction = next(e for e in CFS_ATT if e["path"].endswith("/direction"))
    x = next(x for x in direction["examples"] if not x.get("given") and x["value"].strip())
    lines = h.logged(lambda: try_write(b.dir / "attachments" / bdf / "direction", raw(x["value"])),
                   rx.fullmatch)
    assert len(lines) == 1, lines
    m = rx.fullmatch(lines[0])
    assert (m["name"], m["attr"], m["value"], m["errno"]) == \
        (f"{b.name}/{bdf}", "direction", x["value"].rstrip(), "-" + x["errno"])

    atts = next(e for e in ENTRIES if e["path"] == f"{CFS_ROOT}/buffers/<name>/attachments")
    for x in (next(x for x in atts["examples"] if x["errno"] == err) for err in ("EINVAL",
                                                                              "ENODEV")):
        lines = h.logged(lambda x=x: try_mkdir(b.dir / "attachments" / x["value"]), rx.fullmatch)
        assert len(lines) == 1, lines
        m = rx.fullmatch(lines[0])
        assert (m["name"], m["attr"], m["value"], m["errno"]) == \
            (b.name, "attachment", x["value"], "-" + x["errno"])
