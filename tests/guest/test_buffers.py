# SPDX-License-Identifier: GPL-2.0
"""Buffers: names, configfs attributes, enable/disable, the sysfs device, pool
accounting, the physical pages (checked independently of the module), concurrency,
signals, and the rmdir/rmmod rules.

Most behaviour is exercised with 2 MB pages; 1 GB pages only where the page size
itself is the point (the default, the whole 1 GB pool, slow enables for timing-free
concurrency and signal tests).  Exact pool deltas are asserted inside the tests;
conftest's pool_guard checks every counter around each test on top.
"""
import errno
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

import hugedma_test as h

SZ_2M, SZ_1G = h.SZ_2M, h.SZ_1G
ATTRS = ("size", "page_size", "numa_node", "contiguous", "enable", "state")
DEVICE_ATTRS = ("size", "page_size", "nr_pages", "numa_node", "state", "phys_addrs")
ERR = {errno.EINVAL: "EINVAL", errno.ERANGE: "ERANGE", errno.ENODEV: "ENODEV",
       errno.EBUSY: "EBUSY", errno.ENOSPC: "ENOSPC", errno.EINTR: "EINTR"}


def attrs(b):
    return {a: b.read(a) for a in ATTRS}


def free(ps):
    return h.pool(ps)["free_hugepages"]


def expect_pool(before, ps, delta):
    """The pool equals `before` except free pages of size ps, lowered by delta."""
    want = {k: dict(v) for k, v in before.items()}
    want[("all", ps)]["free_hugepages"] -= delta
    now = h.snapshot()
    # per-node counters: the total drop over nodes must be delta too
    node_drop = sum(before[k]["free_hugepages"] - now[k]["free_hugepages"]
                    for k in before if k[0] != "all" and k[1] == ps)
    assert node_drop == delta, f"per-node free {ps} pages dropped by {node_drop}, not {delta}"
    for k in before:
        if k[0] != "all" and k[1] == ps:
            want[k]["free_hugepages"] = now[k]["free_hugepages"]
    assert now == want


def published(b):
    return b.dev.exists()


def need_1g(n):
    have = h.free_pages(SZ_1G)
    if have < n:
        pytest.skip(f"needs {n} free 1 GB pool pages, the guest has {have} "
                    "(run with --hugepages-1g 3)")


# ======================================================================= 1. names

VALID_NAMES = ["a", "7", "0abc", "9lives", "a" * 32, "abcdefghijklmnopqrstuvwxyz012345",
               "a_b-c", "x-", "z_", "9-_9", "a--__--b"]


@pytest.mark.table
@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_name(mkbuf, name):
    b = mkbuf(name=name)
    assert b.dir.is_dir()
    assert sorted(os.listdir(b.dir)) == sorted(ATTRS + ("attachments",))
    assert b.read("state") == "disabled"


def test_valid_32_char_name_publishes(mkbuf, pool_guard):
    """The longest name makes it through to the class device (and the kthread name)."""
    b = mkbuf(name="n" * 31 + "9", page_size="2M", size="2M", node="0")
    assert b.enable() == 0
    assert (h.CLASS / ("n" * 31 + "9")).is_dir()
    assert b.sysfs("nr_pages") == "1\n"
    assert b.disable() == 0
    assert not b.dev.exists()


INVALID_NAMES = [
    "a" * 33, "0" * 33, "A", "Abc", "aBc", "abC", "-a", "_a", "-", "_", "a.b", ".a", "a.",
    "a b", " a", "a ", "a\tb", "a:b", "a+b", "a@b", "a=b", "a,b",
    "é", "aé", "a\u00e9b", "\u65e5\u672c", "a\u2013b", "\U0001f600",
]


def _try_mkdir(path):
    try:
        os.mkdir(path)
    except OSError as e:
        return e.errno
    os.rmdir(path)  # wrongly accepted: do not leave it behind
    return 0


@pytest.mark.table
@pytest.mark.parametrize("name", INVALID_NAMES, ids=lambda n: n.encode().hex())
def test_invalid_name(name):
    before = sorted(os.listdir(h.BUFFERS))
    assert h.errname(_try_mkdir(h.BUFFERS / name)) == "EINVAL"
    assert sorted(os.listdir(h.BUFFERS)) == before


@pytest.mark.table
@pytest.mark.parametrize("raw", [b"\xe9", b"a\xe9", b"a\xdf", b"\xff", b"a\xe0b", b"\xc0"],
                         ids=lambda r: r.hex())
def test_invalid_name_non_ascii_bytes(raw):
    """Names are bytes: non-ASCII bytes that are not UTF-8 (Latin-1 letters) are not
    [a-z0-9_-] either.  (The kernel's islower() counts Latin-1 0xdf-0xff as lower
    case, so a name check built on it lets them through.)"""
    before = sorted(os.listdir(h.BUFFERS))
    assert h.errname(_try_mkdir(bytes(h.BUFFERS) + b"/" + raw)) == "EINVAL"
    assert sorted(os.listdir(h.BUFFERS)) == before


# ======================================================================= 2. attributes

def test_defaults_and_modes(mkbuf):
    b = mkbuf()
    assert attrs(b) == {"size": "0", "page_size": "1073741824", "numa_node": "-1",
                        "contiguous": "0", "enable": "0", "state": "disabled"}
    modes = {a: stat.S_IMODE(os.stat(b.dir / a).st_mode) for a in ATTRS}
    assert modes == {"size": 0o644, "page_size": 0o644, "numa_node": 0o644,
                     "contiguous": 0o644, "enable": 0o644, "state": 0o444}
    with pytest.raises(OSError):
        os.open(b.dir / "state", os.O_WRONLY)
    assert not published(b)


SIZE_OK_2M = [
    ("2M", SZ_2M), ("2m", SZ_2M), ("4096K", 2 * SZ_2M), ("4096k", 2 * SZ_2M),
    ("2097152", SZ_2M), ("1G", SZ_1G), ("1g", SZ_1G), ("6M", 3 * SZ_2M),
    (" 2M", SZ_2M), ("2M\n", SZ_2M), ("\t 4M \n", 2 * SZ_2M), ("  8388608\n", 4 * SZ_2M),
]


@pytest.mark.parametrize("value,want", SIZE_OK_2M)
def test_size_accepted(mkbuf, value, want):
    b = mkbuf(page_size="2M")
    assert h.errname(b.write("size", value)) == "OK"
    assert b.read("size") == str(want)
    assert b.read("state") == "disabled"


@pytest.mark.parametrize("value,want", [("1G", SZ_1G), ("2g", 2 * SZ_1G), ("1024M", SZ_1G),
                                        ("1048576K", SZ_1G), ("2147483648", 2 * SZ_1G)])
def test_size_accepted_default_page_size(mkbuf, value, want):
    b = mkbuf()
    assert b.write("size", value) == 0
    assert b.read("size") == str(want)


def test_size_up_to_total_ram(mkbuf):
    """Size may be as large as RAM (it is only checked against the pool on enable)."""
    b = mkbuf(page_size="2M")
    top = h.mem_total() // SZ_2M * SZ_2M
    assert b.write("size", str(top)) == 0
    assert b.read("size") == str(top)
    assert h.errname(b.write("size", str(top + SZ_2M))) == "ERANGE"
    assert b.read("size") == str(top)


# (value, errno) with page_size 2M and a current size of 4M
SIZE_BAD = [
    ("1.5G", errno.EINVAL), ("1Q", errno.EINVAL), ("abc", errno.EINVAL),
    ("0x40000000", errno.EINVAL), ("0x200000", errno.EINVAL), ("-1", errno.EINVAL),
    ("-2M", errno.EINVAL), ("+2M", errno.EINVAL), ("\n", errno.EINVAL), ("\0", errno.EINVAL),
    (" ", errno.EINVAL), (" \t\n ", errno.EINVAL), ("G", errno.EINVAL), ("M", errno.EINVAL),
    ("2 M", errno.EINVAL), ("2MB", errno.EINVAL), ("2MiB", errno.EINVAL), ("2MM", errno.EINVAL),
    ("1e9", errno.EINVAL), ("2M2", errno.EINVAL), ("2,097,152", errno.EINVAL),
    ("x" * 100, errno.EINVAL), ("k" * 5000, errno.EINVAL), ("abc" * 2000, errno.EINVAL),
    ("0", errno.EINVAL), ("0M", errno.EINVAL), ("0G", errno.EINVAL), ("000", errno.EINVAL),
    ("1", errno.EINVAL), ("4095", errno.EINVAL), ("1M", errno.EINVAL), ("3M", errno.EINVAL),
    ("1K", errno.EINVAL), ("2097153", errno.EINVAL), ("4097K", errno.EINVAL),
    ("18446744073709551616", errno.ERANGE), ("99999999999999999999999", errno.ERANGE),
    ("9" * 5000, errno.EINVAL),  # 4095 bytes or more: configfs may have cut it
    ("16777216T", errno.ERANGE), ("17179869184G", errno.ERANGE),
    ("18446744073709551615", errno.ERANGE), ("1T", errno.ERANGE), ("1t", errno.ERANGE),
    ("1024G", errno.ERANGE),
]


def _configured(mkbuf):
    """A buffer with every attribute away from its default, so that a reset shows."""
    node = str(h.node_ids()[0])
    return mkbuf(page_size="2M", size="4M", node=node)


@pytest.mark.table
@pytest.mark.parametrize("value,err", SIZE_BAD,
                         ids=lambda v: v[:24].encode().hex() if isinstance(v, str) else None)
def test_size_rejected(mkbuf, value, err):
    b = _configured(mkbuf)
    before = attrs(b)
    assert h.errname(b.write("size", value)) == ERR[err]
    assert attrs(b) == before


def test_size_not_multiple_of_default_page_size(mkbuf):
    b = mkbuf()
    for v in ("2M", "1536M", "1025M", "1048577K", "1073741825"):
        before = attrs(b)
        assert h.errname(b.write("size", v)) == "EINVAL", v
        assert attrs(b) == before


def test_size_above_ram_is_erange(mkbuf):
    b = _configured(mkbuf)
    before = attrs(b)
    over = (h.mem_total() // SZ_1G + 1) * SZ_1G
    for v in (str(over), f"{over // SZ_1G}G", f"{over >> 20}M"):
        assert h.errname(b.write("size", v)) == "ERANGE", v
        assert attrs(b) == before


def test_empty_write_changes_nothing(mkbuf):
    """write(fd, "", 0): configfs never passes an empty write to the module (it fails
    it itself, with EFAULT on 6.1), so the store-level "empty" cases are "\\n"/"\\0",
    tested as EINVAL above.  Here: whatever the errno, it fails and changes nothing."""
    b = _configured(mkbuf)
    before = attrs(b)
    for a in ("size", "page_size", "numa_node", "enable"):
        # 5.10's configfs returns 0 for an empty write, without calling the store
        assert b.write(a, b"") != 0 or h.kernel_before(6, 1), a
        assert attrs(b) == before


PAGE_SIZE_OK = [("1G", SZ_1G), ("1g", SZ_1G), ("2M", SZ_2M), ("2m", SZ_2M),
                ("1024M", SZ_1G), ("1048576K", SZ_1G), ("1073741824", SZ_1G),
                ("2048K", SZ_2M), ("2048k", SZ_2M), ("2097152", SZ_2M), (" 2M\n", SZ_2M),
                ("1G\n", SZ_1G)]


@pytest.mark.parametrize("value,want", PAGE_SIZE_OK)
def test_page_size_accepted(mkbuf, value, want):
    b = mkbuf()
    other = SZ_2M if want == SZ_1G else SZ_1G
    assert b.write("page_size", str(other)) == 0
    assert b.write("page_size", value) == 0
    assert b.read("page_size") == str(want)


PAGE_SIZE_BAD = ["4K", "4096", "1M", "3M", "4M", "512M", "2G", "1T", "0", "0M", "1", "abc",
                 "1.5G", "-2M", "\n", "\0", " ", "2 M", "2MB", "0x200000",
                 "18446744073709551616", "9" * 5000, "x" * 5000, "1048575K"]


@pytest.mark.table
@pytest.mark.parametrize("value", PAGE_SIZE_BAD, ids=lambda v: v[:24].encode().hex())
def test_page_size_rejected(mkbuf, value):
    b = _configured(mkbuf)
    before = attrs(b)
    assert h.errname(b.write("page_size", value)) == "EINVAL"
    assert attrs(b) == before


def test_page_size_must_divide_size(mkbuf):
    b = mkbuf(page_size="2M", size="1G")
    assert b.write("page_size", "1G") == 0          # 1G is a multiple of 1G
    assert b.write("page_size", "2M") == 0          # and of 2M
    assert b.write("size", "1026M") == 0
    before = attrs(b)
    assert h.errname(b.write("page_size", "1G")) == "EINVAL"
    assert attrs(b) == before
    assert b.write("size", "2G") == 0
    assert b.write("page_size", "1G") == 0
    assert attrs(b)["page_size"] == str(SZ_1G)
    # and the other way round: size must be a multiple of the page size
    assert h.errname(b.write("size", "2050M")) == "EINVAL"
    assert b.read("size") == str(2 * SZ_1G)


def test_numa_node_accepted(mkbuf):
    b = mkbuf()
    for n in h.node_list("has_memory"):
        for v in (str(n), f" {n}\n"):
            assert b.write("numa_node", v) == 0, v
            assert b.read("numa_node") == str(n)
    for v in ("-1", "-1\n", " -1 "):
        assert b.write("numa_node", "0") == 0
        assert b.write("numa_node", v) == 0, v
        assert b.read("numa_node") == "-1"


NODE_BAD = [
    ("-2", errno.EINVAL), ("-10", errno.EINVAL), ("- 1", errno.EINVAL), ("--1", errno.EINVAL),
    ("abc", errno.EINVAL), ("\n", errno.EINVAL), ("\0", errno.EINVAL), (" ", errno.EINVAL),
    ("0x1", errno.EINVAL), ("0x0", errno.EINVAL), ("1.0", errno.EINVAL), ("0 0", errno.EINVAL),
    ("1k", errno.EINVAL), ("-1-1", errno.EINVAL), ("x" * 5000, errno.EINVAL),
    ("2147483648", errno.ERANGE), ("99999999999999999999", errno.ERANGE),
    ("9" * 5000, errno.EINVAL),  # 4095 bytes or more: configfs may have cut it
    ("63", errno.ENODEV), ("1000", errno.ENODEV), ("1023", errno.ENODEV),
    ("1024", errno.ENODEV), ("65535", errno.ENODEV), ("2147483647", errno.ENODEV),
]


@pytest.mark.table
@pytest.mark.parametrize("value,err", NODE_BAD,
                         ids=lambda v: v[:24].encode().hex() if isinstance(v, str) else None)
def test_numa_node_rejected(mkbuf, value, err):
    b = _configured(mkbuf)
    before = attrs(b)
    assert h.errname(b.write("numa_node", value)) == ERR[err]
    assert attrs(b) == before


def test_numa_node_absent_nodes_enodev(mkbuf):
    """Every node id below 64 that is not an online node with memory: ENODEV."""
    b = _configured(mkbuf)
    with_memory = {int(x) for x in h.node_list("has_memory")}
    before = attrs(b)
    for n in range(64):
        if n in with_memory:
            continue
        assert h.errname(b.write("numa_node", str(n))) == "ENODEV", n
        assert attrs(b) == before


ENABLE_BAD = ["2", "-1", "01", "10", "00", "11", "yes", "no", "true", "on", "y", "1.0",
              "1 1", "0x1", "\n", "\0", " ", "e" * 5000, "1" * 5000]


@pytest.mark.table
@pytest.mark.parametrize("value", ENABLE_BAD, ids=lambda v: v[:24].encode().hex())
def test_enable_rejected(mkbuf, value):
    b = _configured(mkbuf)
    before = attrs(b)
    free_before = h.snapshot()
    assert h.errname(b.write("enable", value)) == "EINVAL"
    assert attrs(b) == before
    assert h.snapshot() == free_before
    assert not published(b)


def test_enable_accepts_surrounding_whitespace(mkbuf, pool_guard):
    b = mkbuf(page_size="2M", size="2M")
    assert b.write("enable", " 1\n") == 0
    assert b.read("state") == "enabled"
    assert b.write("enable", "\t0 \n") == 0
    assert b.read("state") == "disabled"


def test_bad_input_never_changes_state_enabled(mkbuf, pool_guard):
    """Rejected writes to an enabled buffer leave it, its device and the pool alone."""
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    before, addrs, snap = attrs(b), b.phys_addrs(), h.snapshot()
    for attr, value in (("size", "1.5G"), ("size", "6M"), ("size", "0"),
                        ("page_size", "4K"), ("page_size", "1G"), ("numa_node", "-2"),
                        ("numa_node", "1000"), ("enable", "2"), ("enable", "\n")):
        assert b.write(attr, value) != 0, (attr, value)
        assert attrs(b) == before, (attr, value)
        assert b.phys_addrs() == addrs
        assert h.snapshot() == snap
    assert b.disable() == 0


# ----------------------------------------------------------------------- the log

def test_rejected_writes_log_one_line_each(unloaded, pool_guard):
    """Each rejected write: exactly one line naming buffer, attribute, value, errno;
    accepted writes log none; a burst is rate-limited.

    The module is loaded fresh here so that its rate limit starts from zero (fewer
    than its burst of 10 rejections come before the burst test at the end)."""
    h.load()
    b = h.Buffer("logged")
    os.mkdir(b.dir)
    log = h.KernelLog()
    try:
        assert b.write("page_size", "2M") == 0
        assert b.write("size", "2M") == 0
        cases = [("size", "1.5G\n", "1.5G", "EINVAL"),
                 ("size", "18446744073709551616", "18446744073709551616", "ERANGE"),
                 ("page_size", "4K", "4K", "EINVAL"),
                 ("numa_node", "1000", "1000", "ENODEV"),
                 ("enable", "2\n", "2", "EINVAL")]
        for attr, value, shown, err in cases:
            log.lines()
            assert h.errname(b.write(attr, value)) == err
            lines = log.rejects()
            assert lines == [f"hugedma: logged: rejected {attr} '{shown}': -{err}"], lines
        # an accepted write logs no rejection
        assert b.write("size", "4M") == 0
        assert log.rejects() == []
        # EBUSY while enabled
        assert b.enable() == 0
        log.lines()
        assert h.errname(b.write("size", "8M")) == "EBUSY"
        assert log.rejects() == ["hugedma: logged: rejected size '8M': -EBUSY"]
        assert b.disable() == 0
        # an overlong value is shown cut short (64 characters and "...")
        log.lines()
        assert h.errname(b.write("numa_node", "x" * 100)) == "EINVAL"
        assert log.rejects() == [f"hugedma: logged: rejected numa_node '{'x' * 64}'...: -EINVAL"]
        # a burst: rate-limited, so fewer lines than rejections (but some)
        log.lines()
        for _ in range(50):
            assert h.errname(b.write("size", "nonsense")) == "EINVAL"
        lines = log.rejects("logged")
        assert 1 <= len(lines) < 50, lines
    finally:
        log.close()
        b.remove()


# ======================================================================= 3. enable / disable

def test_enable_disable_cycle(mkbuf, pool_guard):
    before = pool_guard
    b = mkbuf(page_size="2M", size="8M")
    assert not published(b)
    assert b.enable() == 0
    assert attrs(b) == {"size": str(4 * SZ_2M), "page_size": str(SZ_2M), "numa_node": "-1",
                        "contiguous": "0", "enable": "1", "state": "enabled"}
    assert published(b)
    expect_pool(before, SZ_2M, 4)
    addrs = b.phys_addrs()

    assert b.enable() == 0                        # already enabled: no-op
    assert b.read("state") == "enabled"
    assert b.phys_addrs() == addrs
    expect_pool(before, SZ_2M, 4)

    assert b.disable() == 0
    assert attrs(b)["state"] == "disabled" and b.read("enable") == "0"
    assert not published(b)
    assert h.snapshot() == before                 # returned by the time write returns

    assert b.disable() == 0                       # already disabled: no-op
    assert b.read("state") == "disabled"
    assert h.snapshot() == before

    assert b.enable() == 0                        # and again, after a full cycle
    expect_pool(before, SZ_2M, 4)
    assert b.disable() == 0
    assert h.snapshot() == before


def test_enable_without_size(mkbuf, pool_guard):
    for kw in ({}, {"page_size": "2M"}, {"page_size": "2M", "node": "0"}):
        b = mkbuf(**kw)
        before = attrs(b)
        assert h.errname(b.enable()) == "EINVAL"
        assert attrs(b) == before
        assert not published(b)
        assert h.snapshot() == pool_guard


def test_enabled_buffer_is_frozen(mkbuf, pool_guard):
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    before = attrs(b)
    for attr, value in (("size", "4M"), ("size", "2M"), ("size", "1G"),
                        ("page_size", "2M"), ("page_size", "1G"),
                        ("numa_node", "-1"), ("numa_node", "0"), ("contiguous", "1")):
        assert h.errname(b.write(attr, value)) == "EBUSY", (attr, value)
        assert attrs(b) == before
    with pytest.raises(OSError) as e:
        os.rmdir(b.dir)
    assert e.value.errno == errno.EBUSY
    assert b.dir.is_dir() and published(b)

    assert b.disable() == 0
    assert b.write("size", "2M") == 0
    assert h.errname(b.write("page_size", "1G")) == "EINVAL"   # 2M is no multiple of 1G
    assert b.write("numa_node", "0") == 0
    assert attrs(b) == {"size": str(SZ_2M), "page_size": str(SZ_2M), "numa_node": "0",
                        "contiguous": "0", "enable": "0", "state": "disabled"}
    os.rmdir(b.dir)
    assert not b.dir.exists()
    assert h.snapshot() == pool_guard


def test_device_attributes(mkbuf, pool_guard):
    b = mkbuf(page_size="2M", size="6M")
    assert not published(b)
    assert b.enable() == 0
    assert set(DEVICE_ATTRS) <= set(os.listdir(b.dev))
    assert b.sysfs("size") == f"{3 * SZ_2M}\n"
    assert b.sysfs("page_size") == f"{SZ_2M}\n"
    assert b.sysfs("nr_pages") == "3\n"
    assert b.sysfs("state") == "enabled\n"
    addrs = b.phys_addrs()
    nodes = {h.pfn_node(a // h.PAGE_SIZE) for a in addrs}
    assert b.sysfs("numa_node") == f"{nodes.pop() if len(nodes) == 1 else -1}\n"
    for a in DEVICE_ATTRS:
        mode = stat.S_IMODE(os.stat(b.dev / a).st_mode)
        assert mode == (0o400 if a == "phys_addrs" else 0o444), (a, oct(mode))
    assert os.stat(b.dev / "phys_addrs").st_uid == 0
    text = b.sysfs("phys_addrs")
    assert re.fullmatch(r"(0x[0-9a-f]{16}\n){3}", text), text
    assert b.disable() == 0
    assert not published(b)
    assert not (h.CLASS / b.name).exists()


def test_phys_addrs_root_only(mkbuf, pool_guard):
    b = mkbuf(page_size="2M", size="2M")
    assert b.enable() == 0
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "cat", str(b.dev / "phys_addrs")], capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    # the other attributes are world-readable
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "cat", str(b.dev / "nr_pages")], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "1\n", r


def test_phys_addrs_many_pages_and_odd_reads(mkbuf, pool_guard):
    """256 pages: 256 x 19 bytes, more than one 4 KB sysfs page; any read pattern."""
    n = 256
    b = mkbuf(page_size="2M", size=str(n * SZ_2M))
    assert b.enable() == 0
    expect_pool(pool_guard, SZ_2M, n)
    whole = (b.dev / "phys_addrs").read_bytes()
    assert len(whole) == n * 19 > 4096
    assert re.fullmatch(rb"(0x[0-9a-f]{16}\n){%d}" % n, whole)
    addrs = [int(x, 16) for x in whole.split()]
    assert h.check_huge_frames(addrs, SZ_2M) == []

    fd = os.open(b.dev / "phys_addrs", os.O_RDONLY)
    try:
        for chunk in (7, 1, 19, 4096, 5000):
            os.lseek(fd, 0, os.SEEK_SET)
            parts = []
            while True:
                p = os.read(fd, chunk)
                if not p:
                    break
                assert len(p) <= chunk
                parts.append(p)
            assert b"".join(parts) == whole, chunk
        for off in list(range(0, 200, 3)) + list(range(4000, len(whole) + 30, 7)):
            assert os.pread(fd, 23, off) == whole[off:off + 23], off
        assert os.pread(fd, 100, len(whole)) == b""
        assert os.pread(fd, 100, len(whole) + 12345) == b""
    finally:
        os.close(fd)
    assert b.disable() == 0
    assert h.snapshot() == pool_guard


# ======================================================================= 4. the pool

def test_pool_delta_2m(mkbuf, pool_guard):
    b = mkbuf(page_size="2M", size="32M")
    assert b.enable() == 0
    expect_pool(pool_guard, SZ_2M, 16)
    assert b.disable() == 0
    assert h.snapshot() == pool_guard


@pytest.mark.gigantic(1)
def test_pool_delta_1g_default_page_size(mkbuf, pool_guard):
    need_1g(1)
    b = mkbuf(size="1G")                          # page_size left at its 1G default
    assert b.enable() == 0
    expect_pool(pool_guard, SZ_1G, 1)
    assert b.sysfs("page_size") == f"{SZ_1G}\n" and b.sysfs("nr_pages") == "1\n"
    assert h.check_huge_frames(b.phys_addrs(), SZ_1G) == []
    assert b.disable() == 0
    assert h.snapshot() == pool_guard


def test_pool_exhaustion_2m(mkbuf, pool_guard):
    """One page more than the pool holds: ENOSPC, and all the pages taken on the
    way are back by the time the write returns."""
    n = free(SZ_2M)
    b = mkbuf(page_size="2M", size=str((n + 1) * SZ_2M))
    before = attrs(b)
    assert h.errname(b.enable()) == "ENOSPC"
    assert attrs(b) == before and not published(b)
    assert h.snapshot() == pool_guard
    # the same buffer fits once it asks for what there is
    assert b.write("size", str(n * SZ_2M)) == 0
    assert b.enable() == 0
    expect_pool(pool_guard, SZ_2M, n)
    assert b.disable() == 0
    assert h.snapshot() == pool_guard


@pytest.mark.gigantic(2)
def test_pool_exhaustion_1g(mkbuf, pool_guard):
    """1 GB pages, with all but one free page reserved by a user mapping (cheap: a
    reservation takes no page and zeroes nothing): a 2-page buffer takes the one
    page, fails on the next, returns it."""
    need_1g(2)
    n = h.free_pages(SZ_1G)
    b = mkbuf(size="2G")
    with h.HugeMapping(SZ_1G, n - 1, touch=False):
        held = h.snapshot()
        assert h.errname(b.enable()) == "ENOSPC"
        assert h.snapshot() == held
        assert b.read("state") == "disabled" and not published(b)
    assert h.snapshot() == pool_guard


def test_pool_exhaustion_other_buffer(mkbuf, pool_guard):
    """A short pool because another buffer holds pages: ENOSPC, holder untouched."""
    n = free(SZ_2M)
    a = mkbuf(page_size="2M", size=str((n - 2) * SZ_2M))
    assert a.enable() == 0
    a_addrs = a.phys_addrs()
    held = h.snapshot()
    b = mkbuf(page_size="2M", size="6M")
    assert h.errname(b.enable()) == "ENOSPC"
    assert h.snapshot() == held
    assert a.phys_addrs() == a_addrs and a.read("state") == "enabled"
    assert b.write("size", "4M") == 0
    assert b.enable() == 0
    expect_pool(pool_guard, SZ_2M, n)
    assert not set(b.phys_addrs()) & set(a_addrs)
    assert b.disable() == 0 and a.disable() == 0
    assert h.snapshot() == pool_guard


@pytest.mark.gigantic(3)
def test_whole_1g_pool(mkbuf, pool_guard):
    need_1g(3)
    n = h.free_pages(SZ_1G)
    b = mkbuf(size=f"{n}G")
    assert b.enable() == 0
    expect_pool(pool_guard, SZ_1G, n)
    assert h.free_pages(SZ_1G) == 0
    assert b.sysfs("nr_pages") == f"{n}\n" and b.sysfs("size") == f"{n * SZ_1G}\n"
    addrs = b.phys_addrs()
    assert len(addrs) == n
    assert h.check_huge_frames(addrs, SZ_1G) == []
    assert b.disable() == 0
    assert h.snapshot() == pool_guard


# ======================================================================= 5. physical pages

def _cross_check(mkbuf, pool_guard, ps, nr):
    b = mkbuf(page_size=str(ps), size=str(nr * ps))
    assert b.enable() == 0
    addrs = b.phys_addrs()
    assert len(addrs) == nr
    assert h.check_huge_frames(addrs, ps) == []
    # every other free page of that size, mapped by user space: none is ours
    rest = h.free_pages(ps)
    with h.HugeMapping(ps, rest) as m:
        assert len(set(m.phys)) == rest
        assert h.check_huge_frames(m.phys, ps) == []
        assert not set(m.phys) & set(addrs), "a published page is still in the pool"
    assert b.disable() == 0
    # the whole pool, mapped after disable: every page we had is back in it
    whole = h.free_pages(ps)
    assert whole == rest + nr
    with h.HugeMapping(ps, whole) as m:
        assert set(addrs) <= set(m.phys), "a formerly published page did not return"
    return b


def test_phys_addrs_cross_check_2m(mkbuf, pool_guard):
    _cross_check(mkbuf, pool_guard, SZ_2M, 8)


@pytest.mark.gigantic(2)
def test_phys_addrs_cross_check_1g(mkbuf, pool_guard):
    need_1g(2)
    _cross_check(mkbuf, pool_guard, SZ_1G, 1)


def test_pages_are_reused_after_user_dirtied_them(mkbuf, pool_guard):
    """Evidence of reuse (not of zeroing, which needs mmap of the buffer): after
    disable, user space maps the whole 2M pool and writes a pattern into every
    page; a buffer enabled afterwards can only be made of those dirtied frames,
    and kpageflags/pagemap say it is."""
    b = mkbuf(page_size="2M", size="16M")
    assert b.enable() == 0
    first = b.phys_addrs()
    assert b.disable() == 0
    whole = h.free_pages(SZ_2M)
    with h.HugeMapping(SZ_2M, whole, pattern=b"hugedma dirty page pattern") as m:
        dirtied = set(m.phys)
    assert set(first) <= dirtied
    assert h.snapshot() == pool_guard
    assert b.enable() == 0
    again = b.phys_addrs()
    assert h.check_huge_frames(again, SZ_2M) == []
    assert set(again) <= dirtied, "the buffer got frames user space never dirtied"
    assert b.disable() == 0


# ======================================================================= 6. concurrency

def test_parallel_enables_both_succeed(mkbuf, pool_guard):
    a = mkbuf(page_size="2M", size="256M")
    b = mkbuf(page_size="2M", size="256M")
    barrier = threading.Barrier(2)
    results = {}

    def run(buf, key):
        barrier.wait()
        results[key] = buf.enable()

    threads = [threading.Thread(target=run, args=(a, "a")),
               threading.Thread(target=run, args=(b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"a": 0, "b": 0}
    expect_pool(pool_guard, SZ_2M, 256)
    pa, pb = a.phys_addrs(), b.phys_addrs()
    assert len(pa) == len(pb) == 128
    assert not set(pa) & set(pb)
    assert h.check_huge_frames(pa + pb, SZ_2M) == []
    assert a.disable() == 0 and b.disable() == 0
    assert h.snapshot() == pool_guard


def test_concurrent_enables_of_one_buffer(mkbuf, pool_guard):
    """Racing writers on one buffer: exactly one takes pages, the other sees a no-op
    or EBUSY; never two sets of pages."""
    b = mkbuf(page_size="2M", size="128M")
    barrier = threading.Barrier(3)
    results = []

    def run():
        barrier.wait()
        results.append(b.enable())

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(0) >= 1 and set(results) <= {0, errno.EBUSY}, results
    expect_pool(pool_guard, SZ_2M, 64)
    assert b.disable() == 0
    assert h.snapshot() == pool_guard


@pytest.mark.gigantic(2)
def test_no_global_lock_during_slow_enable(mkbuf, pool_guard):
    """While A (1 GB pages, seconds to zero) is `enabling`, B (one 2M page) enables
    and completes, and A's own configuration is frozen (EBUSY, rmdir EBUSY).

    Timing-free: every probe is bracketed by two reads of A's state that both say
    `enabling` (the state only moves forward), so the probes provably ran inside
    A's transition.  If A happens to finish first the attempt is inconclusive and
    is repeated (up to six times: under the debug kernel, on a loaded host, A can
    win three in a row); with a lock held across A's enable, no attempt could
    succeed.  A enables from a child process, B from this one."""
    need_1g(2)
    n = min(h.free_pages(SZ_1G), 3)
    a = mkbuf(size=f"{n}G")
    b = mkbuf(page_size="2M", size="2M")
    expected = {"b_enable": 0, "b_state": "enabled", "a_published": False,
                "a_size": errno.EBUSY, "a_page_size": errno.EBUSY, "a_numa_node": errno.EBUSY,
                "a_enable_1": errno.EBUSY, "a_rmdir": errno.EBUSY, "a_enable_0": errno.EBUSY}
    seen = []
    for _ in range(6):
        probes, still = None, None
        # A from another process: B's enable maps its fill in this one, which must
        # not wait on A's fill in A's (5.10's mmap lock keeps a writer of one
        # process behind its readers; that lock is the writer's own, not global)
        w = h.ChildWriter(a.dir / "enable", "1")
        try:
            h.wait_for(lambda: a.read("state") != "disabled" or not w.running())
            if a.read("state") == "enabling":
                probes = {"b_enable": b.enable(), "b_state": b.read("state"),
                          "a_published": published(a),
                          "a_size": a.write("size", "2G"),
                          "a_page_size": a.write("page_size", "2M"),
                          "a_numa_node": a.write("numa_node", "0"),
                          "a_enable_1": a.write("enable", "1")}
                try:
                    os.rmdir(a.dir)
                    probes["a_rmdir"] = 0
                except OSError as e:
                    probes["a_rmdir"] = e.errno
                probes["a_enable_0"] = a.write("enable", "0")
                still = a.read("state")
        finally:
            res = w.result()
        assert res == (1, 0), res
        seen.append((probes, still))
        if probes is not None:
            assert probes["b_enable"] == 0, probes
            assert b.disable() == 0
        if still == "enabling":     # every probe ran inside A's transition
            print(f"conclusive after {len(seen)} attempt(s): {seen}")
            assert probes == expected
            assert a.read("state") == "enabled" and published(a)
            assert a.read("size") == str(n * SZ_1G)
            assert a.sysfs("nr_pages") == f"{n}\n"
            assert a.disable() == 0
            break
        a.disable()                 # inconclusive: A finished first; again
    else:
        pytest.fail("B never completed while A was enabling (6 attempts): a global lock? "
                    f"(probes, A's state after them): {seen}")
    assert h.snapshot() == pool_guard


# ======================================================================= 7. signals

def _interrupt_slow_enable(mkbuf, node, sig, **kw):
    """A buffer of the whole free 1 GB pool (seconds to zero), a child writing
    enable=1 to it, and `sig` sent to the child once the buffer reads `enabling`.
    Returns (buffer, the child's (ret, errno) or None if it died).  Should the
    enable win the race against the signal, the attempt is repeated."""
    need_1g(2)
    for _ in range(3):
        n = h.free_pages(SZ_1G)
        b = mkbuf(size=f"{n}G", node=node)
        w = h.ChildWriter(b.dir / "enable", "1", **kw)
        try:
            assert h.wait_for(lambda: b.read("state") == "enabling" or not w.running(),
                              timeout=60)
            if w.running():
                w.signal(sig)
            res = w.result()
        finally:
            w.kill()
        if res == (1, 0) or (res is None and b.read("state") == "enabled"):
            print(f"signal {sig}: the enable finished first; again")
            assert b.disable() == 0
            b.remove()
            continue
        return b, res
    pytest.fail(f"the enable always finished before signal {sig} arrived")


@pytest.mark.gigantic(2)
@pytest.mark.parametrize("node,membind", [("-1", None), ("0", None), ("-1", [0])],
                         ids=["all-cpus", "node-kthread", "writer-context"])
def test_handled_signal_lets_enable_finish(mkbuf, pool_guard, node, membind):
    """Handled signals arriving all through an enable (a terminal resize, a shell's
    SIGCHLD) do not abort it: write(2) succeeds once every page is zeroed.  Only a
    fatal signal stops an enable.  The kthread fills (all CPUs, a node's CPUs) and
    the writer's own (under its memory policy) each."""
    need_1g(2)
    for _ in range(3):
        n = h.free_pages(SZ_1G)
        b = mkbuf(size=f"{n}G", node=node)
        w = h.ChildWriter(b.dir / "enable", "1", membind=membind, sigusr1_handler=True)
        sent = 0
        try:
            assert h.wait_for(lambda: b.read("state") == "enabling" or not w.running(),
                              timeout=60)
            while w.running() and b.read("state") == "enabling":
                w.signal(signal.SIGUSR1)
                sent += 1
                time.sleep(0.05)
            res = w.result()
        finally:
            w.kill()
        if sent:
            break
        print("the enable finished before a signal was sent; again")
        assert b.disable() == 0
        b.remove()
    else:
        pytest.fail("the enable always finished before a signal was sent")
    assert res == (1, 0), res
    assert b.read("state") == "enabled" and published(b)
    assert int(b.sysfs("nr_pages")) == n
    assert b.disable() == 0


def test_enable_without_address_space_is_enomem(mkbuf, pool_guard):
    """A writer whose address space cannot hold the fill's temporary mapping
    (RLIMIT_AS) gets ENOMEM, not the pool's ENOSPC, with nothing taken."""
    b = mkbuf(page_size="2M", size="512M")
    w = h.ChildWriter(b.dir / "enable", "1", rlimit_as=256 << 20)
    res = w.result()
    assert res == (-1, errno.ENOMEM), res
    assert b.read("state") == "disabled" and not published(b)
    assert h.snapshot() == pool_guard


@pytest.mark.gigantic(2)
@pytest.mark.parametrize("node", ["-1", "0"], ids=["writer-context", "node-kthread"])
def test_sigkill_mid_enable(mkbuf, pool_guard, node):
    b, res = _interrupt_slow_enable(mkbuf, node, signal.SIGKILL)
    assert res is None, res
    assert h.wait_for(lambda: b.read("state") == "disabled", timeout=60), b.read("state")
    assert not published(b)
    assert h.wait_for_pool(pool_guard) == pool_guard
    os.rmdir(b.dir)


# ======================================================================= 8. rmdir / rmmod

def test_rmdir_rules(mkbuf, pool_guard):
    b = mkbuf(page_size="2M", size="2M")
    assert b.enable() == 0
    with pytest.raises(OSError) as e:
        os.rmdir(b.dir)
    assert e.value.errno == errno.EBUSY
    assert b.read("state") == "enabled" and published(b)
    assert b.disable() == 0
    os.rmdir(b.dir)
    assert not b.dir.exists() and not published(b)
    assert h.snapshot() == pool_guard
    # the name is free again
    os.mkdir(b.dir)
    assert attrs(b)["size"] == "0"


def _rmmod():
    return subprocess.run(["rmmod", "hugedma"], capture_output=True, text=True)


def test_rmmod_rules_and_pool_after_unload(unloaded, pool_guard):
    before = h.snapshot()
    h.load()
    a = h.Buffer("rm-a")
    b = h.Buffer("rm-b")
    os.mkdir(a.dir)
    os.mkdir(b.dir)
    try:
        assert a.write("page_size", "2M") == 0 and a.write("size", "8M") == 0
        assert b.write("size", "1G" if h.free_pages(SZ_1G) else "2M") == 0
        if not h.free_pages(SZ_1G):
            assert b.write("page_size", "2M") == 0
        assert a.enable() == 0 and b.enable() == 0
        r = _rmmod()
        assert r.returncode != 0 and "in use" in r.stderr, r
        assert a.disable() == 0 and b.disable() == 0
        r = _rmmod()                    # disabled, but the directories remain
        assert r.returncode != 0 and "in use" in r.stderr, r
        os.rmdir(a.dir)
        r = _rmmod()
        assert r.returncode != 0 and "in use" in r.stderr, r
        assert h.loaded()
        os.rmdir(b.dir)
        assert _rmmod().returncode == 0
        assert not h.loaded()
        assert h.snapshot() == before
    finally:
        if h.loaded():
            for x in (a, b):
                x.remove()


# ======================================================================= 9. the fill's mapping

# A writer (argv: enable path, size in bytes, "move" or "poke") whose second thread
# finds the fill's temporary mapping in /proc/self/maps while write(2) zeroes, and
# tries what the writer's other threads could do to it.  Prints one JSON object.
_ATTACKER = r"""
import ctypes, errno, fcntl, json, mmap, os, struct, sys, threading, time
path, size, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mremap.restype = ctypes.c_void_p
libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
                        ctypes.c_void_p]
for f in (libc.madvise, libc.mprotect, libc.munmap):
    f.argtypes = [ctypes.c_void_p, ctypes.c_size_t] + ([ctypes.c_int] if f != libc.munmap else [])
FAILED = ctypes.c_void_p(-1).value
out = {}


def err(rc):
    return 0 if rc == 0 else ctypes.get_errno()


def find():
    for ln in open("/proc/self/maps"):
        f = ln.split()
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if hi - lo == size and f[1] in ("r--s", "rw-s"):  # rw-s: a writable file's
            return lo
    return None


def attack():
    deadline = time.monotonic() + 120
    addr = None
    while addr is None and time.monotonic() < deadline:
        addr = find()
    if addr is None:
        out["found"] = False
        return
    out["found"] = True
    if mode == "move":
        # move it into a reserved window, and put a sentinel where it was
        win = libc.mmap(None, 2 * size, 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        to = (win + size - 1) // size * size
        moved = libc.mremap(addr, size, size, 3, to)        # MAYMOVE | FIXED
        out["mremap"] = 0 if moved != FAILED else ctypes.get_errno()
        # EFAULT: nothing at addr any more, the fill ended first (inconclusive);
        # EINVAL before 5.16: the kernel cannot move a hugetlb mapping (conclusive)
        out["gone"] = moved == FAILED and out["mremap"] == errno.EFAULT
        if moved != FAILED:
            s = libc.mmap(addr, 4096, mmap.PROT_READ | mmap.PROT_WRITE,
                          mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x10, -1, 0)
            ctypes.memset(s, 0x5A, 4096)
            out["sentinel"] = s
        return
    out["madvise_remove"] = err(libc.madvise(addr, size, 9))
    out["mprotect_write"] = err(libc.mprotect(addr, size, mmap.PROT_READ | mmap.PROT_WRITE))
    fd = os.open("/dev/hugedma/control", os.O_RDWR)
    raw = bytearray(struct.pack("=IIQQ40s", 64, 0, addr, size, b"stolen"))
    try:
        fcntl.ioctl(fd, (0xB8 << 8) | 0x10, raw)
        out["import"] = 0
    except OSError as e:
        out["import"] = e.errno
    os.close(fd)
    # the fill ended (and unmapped) before the last move: inconclusive
    out["gone"] = find() != addr
    pid = os.fork()
    if pid == 0:
        os._exit(1 if any(ln.split()[1] in ("r--s", "rw-s") and (lambda a, b: int(b, 16) - int(a, 16))(
            *ln.split()[0].split("-")) == size for ln in open("/proc/self/maps")) else 0)
    out["child_inherited"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 1


t = threading.Thread(target=attack)
t.start()
fd = os.open(path, os.O_WRONLY)
ret = libc.write(fd, b"1", 1)
out["write"] = [ret, ctypes.get_errno() if ret < 0 else 0]
t.join()
if "sentinel" in out:
    out["sentinel_intact"] = ctypes.string_at(out.pop("sentinel"), 4096) == b"\x5a" * 4096
print(json.dumps(out))
"""


def attack_fill(b, size, mode):
    """The attacker's findings, from an attempt whose moves all ran while the fill's
    mapping was there (one that found it gone is repeated, up to five times)."""
    for _ in range(5):
        r = subprocess.run([sys.executable, "-c", _ATTACKER, str(b.dir / "enable"), str(size),
                            mode], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        res = json.loads(r.stdout.strip().splitlines()[-1])
        if not res.pop("gone", False):
            return res
        print(f"the fill finished before the attacker's last move: again ({res})")
        if b.read("state") == "enabled":
            assert b.disable() == 0
    pytest.fail("the fill always finished before the attacker's moves")


@pytest.mark.gigantic(2)
def test_fill_mapping_is_out_of_other_threads_reach(mkbuf, pool_guard):
    """While an enable zeroes, the fill's temporary mapping in the writer's mm is of
    the read-only file and not inherited: another thread of the writer cannot punch
    a page out of it, make it writable or import it, and a child it forks does not
    get it (which would keep the buffer busy).  The enable completes."""
    need_1g(2)
    b = mkbuf(size="2G")
    res = attack_fill(b, 2 * SZ_1G, "poke")
    assert res["found"], "the fill's mapping never showed in the writer's maps"
    assert {k: h.errname(v) if isinstance(v, int) and not isinstance(v, bool) else v
            for k, v in res.items()} == {
        "found": True, "madvise_remove": "EACCES", "mprotect_write": "EACCES",
        "import": "EACCES", "child_inherited": False, "write": [1, 0]}, res
    assert b.read("state") == "enabled" and not (h.CLASS / "stolen").exists()
    assert b.disable() == 0


@pytest.mark.gigantic(2)
def test_fill_mapping_moved_away_unmaps_nothing_else(mkbuf, pool_guard):
    """Another thread moves the fill's mapping (mremap) and maps something of its own
    at the old address: the enable fails, nothing is kept, and the fill does not
    unmap what now sits where its mapping was."""
    need_1g(2)
    b = mkbuf(size="2G")
    res = attack_fill(b, 2 * SZ_1G, "move")
    if h.kernel_before(5, 16):          # a hugetlb mapping cannot move there: no attack
        assert res == {"found": True, "mremap": errno.EINVAL, "write": [1, 0]}, res
        assert b.read("state") == "enabled" and b.disable() == 0
        assert h.wait_for_pool(pool_guard) == pool_guard
        return
    assert res["found"] and res["mremap"] == 0, res
    assert res["sentinel_intact"], "the fill unmapped a range that was no longer its own"
    if res["write"][0] == -1:           # moved while pages were still being faulted
        assert b.read("state") == "disabled" and not published(b)
    else:                               # moved after the last page, before the unmap
        assert res["write"] == [1, 0] and b.read("state") == "enabled"
        assert b.disable() == 0         # the mover's mapping went with its process
    assert h.wait_for_pool(pool_guard) == pool_guard
