# SPDX-License-Identifier: GPL-2.0
"""The live configfs and sysfs trees against configfs-schema/hugedma.json.

- the trees hold exactly the schema's entries (plus the driver core's
  inherited ones), with the schema's kinds and modes, and the modes are what
  the kernel enforces for an unprivileged reader;
- entries exist for exactly their documented lifetime;
- new buffers read the documented defaults, and every value read matches its
  type's read_regex;
- every example in the schema gives its errno and changes nothing, every
  accepted example reads back as documented;
- allowed_states: EBUSY while enabled, rmdir refused, writing the current
  value of enable is a no-op;
- rejected writes are logged in the documented format.
"""
import errno
import json
import os
import re
import stat
import time

import pytest

import hugedma_test as h

SCHEMA = json.loads((h.REPO / "configfs-schema" / "hugedma.json").read_text())
ENTRIES = SCHEMA["entries"]
INHERITED = SCHEMA["inherited"]["entries"]
TYPES = SCHEMA["types"]
NAME_RE = re.compile(SCHEMA["placeholders"]["<name>"]["regex"])
CFS_ROOT = SCHEMA["documents"]["configfs-hugedma"]
CLASS_ROOT = SCHEMA["documents"]["sysfs-class-hugedma"]
NOBODY = 65534

assert CFS_ROOT == str(h.CONFIGFS) and CLASS_ROOT == str(h.CLASS)


def raw(value):
    """A schema value as the bytes it stands for (U+0000..U+00FF, one byte each)."""
    return value.encode("latin-1")


def path_of(pattern, name):
    return pattern.replace("<name>", name)


def pattern_re(pattern):
    """A schema path as a regex over live paths; a trailing /* matches anything below."""
    rx = re.escape(pattern.removesuffix("/*")).replace(re.escape("<name>"), "[^/]+")
    return re.compile(rx + ("/.+" if pattern.endswith("/*") else ""))


def kind_of(mode):
    return "link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode) else "file"


def try_write(path, value):
    """h.write, with a refusal at open(2) returned as its errno too."""
    try:
        return h.write(path, value)
    except OSError as e:
        return e.errno


def try_mkdir(path):
    try:
        os.mkdir(path)
        return 0
    except OSError as e:
        return e.errno


def files_of(b):
    """Everything readable about a buffer: its configfs files and class device."""
    out = {}
    for e in ENTRIES:
        p = path_of(e["path"], b.name)
        if e["kind"] == "file" and "<name>" in e["path"] and os.path.exists(p):
            out[p] = h.read(p)
    out["class device"] = b.dev.exists()
    return out


def enabled_buffer(mkbuf, **kw):
    b = mkbuf(page_size="2M", size="4M", **kw)
    assert b.enable() == 0
    return b


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


def live_tree():
    found = walk(str(h.CONFIGFS), CFS_ROOT)
    found[CLASS_ROOT] = ("dir", stat.S_IMODE(os.stat(h.CLASS).st_mode))
    for n in sorted(os.listdir(h.CLASS)):
        dev = h.CLASS / n
        assert dev.is_symlink(), f"{dev} is not a class device link"
        assert os.readlink(dev) == f"../../devices/virtual/hugedma/{n}", os.readlink(dev)
        found.update(walk(os.path.realpath(dev), f"{CLASS_ROOT}/{n}"))
    return found


# ---------------------------------------------------------------- the tree

def test_live_tree_matches_schema(mkbuf):
    """With one disabled and one enabled buffer, every live entry is in the schema
    with its kind and mode, and every schema entry is live."""
    mkbuf()
    enabled_buffer(mkbuf)
    found = live_tree()
    specs = [(e, pattern_re(e["path"]), False) for e in ENTRIES] + \
            [(e, pattern_re(e["path"]), True) for e in INHERITED]
    problems, used = [], set()
    for path, (kind, mode) in sorted(found.items()):
        match = [(e, inh) for e, rx, inh in specs if rx.fullmatch(path)]
        own = [e for e, inh in match if not inh]
        if not match:
            problems.append(f"{path}: {kind} {mode:04o} is not in the schema")
            continue
        if len(own) > 1:
            problems.append(f"{path}: matches {len(own)} schema entries")
        e = own[0] if own else match[0][0]
        used.add(e["path"])
        if e["kind"] != "any" and e["kind"] != kind:
            problems.append(f"{path}: a {kind}, the schema says {e['kind']}")
        if "mode" in e and int(e["mode"], 8) != mode:
            problems.append(f"{path}: mode {mode:04o}, the schema says {e['mode']}")
    for e in ENTRIES + [i for i in INHERITED if not i["optional"]]:
        if e["path"] not in used:
            problems.append(f"{e['path']}: in the schema, not in the live tree")
    assert not problems, "\n".join(problems)


def test_lifetimes(mkbuf):
    """buffer entries exist from mkdir to rmdir, enabled entries only while enabled."""
    b = mkbuf(page_size="2M", size="2M")

    def present():
        return {e["path"]: os.path.exists(path_of(e["path"], b.name))
                for e in ENTRIES if "<name>" in e["path"]}

    def expect(lifetimes):
        return {e["path"]: e["lifetime"] in lifetimes for e in ENTRIES if "<name>" in e["path"]}

    assert present() == expect({"buffer"})
    assert b.enable() == 0
    assert present() == expect({"buffer", "enabled"})
    assert b.disable() == 0
    assert present() == expect({"buffer"})
    os.rmdir(b.dir)
    assert present() == expect(set())


def test_modes_are_enforced(mkbuf):
    """An unprivileged process can read exactly the files whose mode lets others
    read, and write none of them."""
    b = enabled_buffer(mkbuf)
    paths = [path_of(e["path"], b.name) for e in ENTRIES if e["kind"] == "file"]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            res = {}
            for p in paths:
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
    for e in ENTRIES:
        if e["kind"] != "file":
            continue
        p = path_of(e["path"], b.name)
        want = [0 if int(e["mode"], 8) & 0o004 else errno.EACCES, errno.EACCES]
        if res.get(p) != want:
            problems.append(f"{p} (mode {e['mode']}): as uid {NOBODY}, open for read, write "
                            f"gave {[h.errname(x) for x in res.get(p, [])]}, "
                            f"want {[h.errname(x) for x in want]}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- values

def test_defaults(mkbuf):
    b = mkbuf()
    have_1g = (h.HUGEPAGES / h.PAGE_DIRS[h.SZ_1G]).exists()
    for e in ENTRIES:
        if "default" not in e:
            continue
        want = e["default"]
        if not have_1g and "default_fallback" in e:
            want = e["default_fallback"]["value"]
        got = h.read(path_of(e["path"], b.name))
        assert got == want + "\n", f"{e['path']}: new buffer reads {got!r}, schema {want!r}"


def test_values_match_their_types(mkbuf):
    """Every file of a disabled and an enabled buffer reads as its type says."""
    names = [mkbuf().name, enabled_buffer(mkbuf).name]
    checked = 0
    for e in ENTRIES:
        if e["kind"] != "file":
            continue
        rx = re.compile(TYPES[e["type"]]["read_regex"])
        for n in names:
            p = path_of(e["path"], n)
            if os.path.exists(p):
                got = h.read(p)
                assert rx.fullmatch(got), f"{p} reads {got!r}, not {rx.pattern}"
                checked += 1
    assert checked == sum(2 if e["lifetime"] != "enabled" else 1
                          for e in ENTRIES if e["kind"] == "file" and "<name>" in e["path"])


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
    assert b.read("state") == "enabled"
    assert b.read("enable") == "1"


# ---------------------------------------------------------------- examples

def example_cases():
    cases = []
    for e in ENTRIES:
        short = e["path"].replace(CFS_ROOT, "cfs").replace(CLASS_ROOT, "class")
        for key in ("examples", "accepted"):
            for x in e.get(key, []):
                op = x.get("op", "write")
                result = x["errno"] if key == "examples" else "ok"
                given = "".join(f"[{a}={v!r}]" for a, v in x.get("given", []))
                cases.append(pytest.param(e, x, id=f"{short}:{given}{op}:{x['value']!r}:{result}"))
    return cases


@pytest.mark.parametrize("entry,example", example_cases())
def test_example(mkbuf, entry, example):
    expect = getattr(errno, example["errno"]) if "errno" in example else 0
    if entry["lifetime"] == "enabled":
        b = enabled_buffer(mkbuf)
    elif "<name>" in entry["path"]:
        b = mkbuf()
    else:
        b = None
    for attr, value in example.get("given", []):
        rc = b.write(attr, raw(value))
        assert rc == 0, f"given {attr}={value!r}: {h.errname(rc)}"
    target = path_of(entry["path"], b.name if b else "")
    before = files_of(b) if b else None

    if example.get("op", "write") == "mkdir":
        parent = os.fsencode(target)
        listing = sorted(os.listdir(parent))
        made = parent + b"/" + raw(example["value"])
        rc = try_mkdir(made)
        try:
            assert h.errname(rc) == h.errname(expect), f"mkdir {made!r}"
            if expect:
                assert sorted(os.listdir(parent)) == listing
            else:
                assert os.path.isdir(made)
        finally:
            if rc == 0:
                os.rmdir(made)
    else:
        old = h.read(target)
        rc = try_write(target, raw(example["value"]))
        assert h.errname(rc) == h.errname(expect), f"write {example['value']!r} to {target}"
        if expect:
            assert h.read(target) == old, "a rejected write changed the value"
        elif "reads" in example:
            assert h.read(target) == example["reads"] + "\n"
            before[target] = h.read(target)
    if b is not None:
        assert files_of(b) == before, "the buffer changed beyond the example's file"


# ---------------------------------------------------------------- states

def test_allowed_states_while_enabled(mkbuf):
    """Outside its allowed states a write or rmdir fails with EBUSY and changes
    nothing, even when it writes the current value; inside them writing the
    current value succeeds and changes nothing."""
    b = enabled_buffer(mkbuf)
    addrs = b.phys_addrs()
    before = files_of(b)
    checked = 0
    for e in ENTRIES:
        if "<name>" not in e["path"] or e["lifetime"] == "enabled":
            continue
        target = path_of(e["path"], b.name)
        for op, states in e.get("allowed_states", {}).items():
            want = 0 if "enabled" in states else errno.EBUSY
            if op == "write":
                rc = try_write(target, h.read(target))
            else:
                assert op == "rmdir"
                try:
                    os.rmdir(target)
                    rc = 0
                except OSError as err:
                    rc = err.errno
            assert h.errname(rc) == h.errname(want), f"{op} {target} while enabled"
            checked += 1
    assert checked >= 5
    assert files_of(b) == before
    assert b.phys_addrs() == addrs, "writing 1 to an enabled buffer changed its pages"


def test_allowed_states_while_disabled(mkbuf):
    """In the disabled state every attribute takes its current value back."""
    b = mkbuf(page_size="2M", size="2M")
    before = files_of(b)
    for e in ENTRIES:
        if "disabled" in e.get("allowed_states", {}).get("write", []):
            target = path_of(e["path"], b.name)
            rc = try_write(target, h.read(target))
            assert rc == 0, f"write the current value of {target}: {h.errname(rc)}"
    assert files_of(b) == before


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

def logged(action, want):
    """The kernel log lines action leaves that satisfy want.  The log is
    rate-limited (a burst of 10 per 5 s), so if nothing came, wait one interval
    and try again."""
    for wait in (0, 5.5):
        time.sleep(wait)
        with h.KernelLog() as log:
            action()
            lines = [ln for ln in log.lines() if want(ln)]
        if lines:
            return lines
    return []


def test_rejected_write_is_logged(mkbuf):
    rx = re.compile(SCHEMA["rejection_log"]["regex"])
    b = mkbuf()
    size = next(e for e in ENTRIES if e["path"] == f"{CFS_ROOT}/buffers/<name>/size")
    x = next(x for x in size["examples"] if not x.get("given") and x["value"].strip())
    lines = logged(lambda: try_write(b.dir / "size", raw(x["value"])), rx.fullmatch)
    assert len(lines) == 1, lines
    m = rx.fullmatch(lines[0])
    assert (m["name"], m["attr"], m["value"], m["errno"]) == \
        (b.name, "size", x["value"].rstrip(), "-" + x["errno"])

    buffers = next(e for e in ENTRIES if e["path"] == f"{CFS_ROOT}/buffers")
    bad = next(x["value"] for x in buffers["examples"] if x["errno"] == "EINVAL")
    want = f"hugedma: rejected buffer name '{bad}': -EINVAL"
    assert logged(lambda: try_mkdir(h.BUFFERS / bad), lambda ln: ln == want) == [want]
