# SPDX-License-Identifier: GPL-2.0
"""Hostile input: at least 50 malformed values for every writable configfs attribute
(a buffer's size, page_size, numa_node and enable; an attachment's direction and
enable), and malformed ioctl structs (INFO and EXPORT_DMABUF on /dev/hugedma/NAME,
IMPORT on /dev/hugedma/control).

The values are hand-picked edge cases, seeded random bytes (reproducible: the seed
is the attribute's name), huge numbers, embedded NULs, 4096-byte writes, values
split over two write(2)s, and concurrent writers.  A model of each attribute's
syntax (configfs-schema/hugedma.json) gives the exact errno expected, and first
checks that the value is indeed malformed.  After every rejection all attributes,
the pool counters (both page sizes, every node), the buffer list and an enabled
buffer's pages are read back unchanged.

The rejections are counted: the last test prints the total and writes it to
$HUGEDMA_VM_OUT/fuzz-rejected.txt (junit property inputs_rejected).
"""
import collections
import ctypes
import errno
import functools
import mmap
import os
import random
import struct
import threading

import pytest

import hugedma_test as h

pytestmark = pytest.mark.fuzz

WS = b" \t\n\r\v\f"          # the module's white space: ASCII only
CUT = 4095                    # what configfs keeps of one write
U64 = (1 << 64) - 1
INT_MAX = (1 << 31) - 1
SUFFIX = {b"k": 10, b"m": 20, b"g": 30, b"t": 40}
REJECTED = collections.Counter()  # per attribute or ioctl
_count_lock = threading.Lock()


def count(key):
    with _count_lock:
        REJECTED[key] += 1

libc = ctypes.CDLL(None, use_errno=True)
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


# ---------------------------------------------------------------- the model

def parse_size(v):
    """(0, bytes) or (errno, None), as module/parse.c's hugedma_parse_size()."""
    s = v.strip(WS)
    if not s:
        return errno.EINVAL, None
    shift = SUFFIX.get(s[-1:].lower(), 0) if s[-1:].isalpha() else 0
    if shift:
        s = s[:-1]
    if not s:
        return errno.EINVAL, None
    val = 0
    for c in s:
        if not 0x30 <= c <= 0x39:
            return errno.EINVAL, None
        val = val * 10 + c - 0x30
        if val > U64:
            return errno.ERANGE, None
    if val > U64 >> shift:
        return errno.ERANGE, None
    val <<= shift
    return (errno.EINVAL, None) if val == 0 else (0, val)


def parse_node(v):
    s = v.strip(WS)
    if s == b"-1":
        return 0, -1
    if not s:
        return errno.EINVAL, None
    val = 0
    for c in s:
        if not 0x30 <= c <= 0x39:
            return errno.EINVAL, None
        val = val * 10 + c - 0x30
        if val > INT_MAX:
            return errno.ERANGE, None
    return 0, val


def expected(attr, v, buf):
    """The errno writing v to attr must give (0: accepted). buf: {size, page_size,
    enabled} of the buffer written to."""
    if len(v) >= CUT or b"\0" in v:
        return errno.EINVAL
    if attr == "size":
        rc, val = parse_size(v)
        if rc:
            return rc
        if val > h.mem_total():
            return errno.ERANGE
        if buf["enabled"]:
            return errno.EBUSY
        return errno.EINVAL if val % buf["page_size"] else 0
    if attr == "page_size":
        rc, val = parse_size(v)
        if rc or val not in (h.SZ_1G, h.SZ_2M):
            return errno.EINVAL
        if not (h.HUGEPAGES / h.PAGE_DIRS[val]).exists():
            return errno.EOPNOTSUPP
        if buf["enabled"]:
            return errno.EBUSY
        return errno.EINVAL if buf["size"] % val else 0
    if attr == "numa_node":
        rc, val = parse_node(v)
        if rc:
            return rc
        if val != -1 and val not in h.node_list("has_memory"):
            return errno.ENODEV
        return errno.EBUSY if buf["enabled"] else 0
    if attr in ("enable", "att_enable"):
        return 0 if v.strip(WS) in (b"0", b"1") else errno.EINVAL
    if attr == "direction":
        return 0 if v.strip(WS) in (b"bidirectional", b"to_device", b"from_device") \
            else errno.EINVAL
    raise AssertionError(attr)


# ---------------------------------------------------------------- the values

VALID = {"size": b"4M", "page_size": b"2M", "numa_node": b"-1", "enable": b"1",
         "direction": b"to_device", "att_enable": b"1"}
POISON = b"!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~\x01\x1b\x7f\x80\xa0\xc3\xe9\xff"

HAND = {
    "size": [b"1.5G", b"1Q", b"abc", b"0x40000000", b"-1", b"-2M", b"+2M", b"\n", b" ",
             b"G", b"2 M", b"2MB", b"2MiB", b"2MM", b"1e9", b"2M2", b"2,097,152", b"0",
             b"0M", b"000", b"1", b"4095", b"1M", b"3M", b"2097153", b"4097K", b"1P",
             b"\xa02M", b"2M\xa0", b"\xef\xbc\x92M", b"2\nM", b"2M\n2M", b"1T", b"1024G"],
    "page_size": [b"4K", b"4096", b"1M", b"3M", b"4M", b"512M", b"2G", b"1T", b"0", b"0M",
                  b"1", b"abc", b"1.5G", b"-2M", b"\n", b" ", b"2 M", b"2MB", b"0x200000",
                  b"1048575K", b"2097153", b"1G", b"1024M", b"2M2M", b"\xa02M", b"huge"],
    "numa_node": [b"-2", b"-10", b"- 1", b"--1", b"abc", b"\n", b" ", b"0x1", b"0x0",
                  b"1.0", b"0 0", b"1k", b"-1-1", b"-0", b"+0", b"63", b"1000", b"1023",
                  b"1024", b"65535", b"2147483647", b"2147483648", b"4294967296", b"any",
                  b"-1\n-1", b"\xa00"],
    "enable": [b"2", b"-1", b"01", b"10", b"00", b"11", b"yes", b"no", b"true", b"on", b"y",
               b"1.0", b"1 1", b"0x1", b"\n", b" ", b"enable", b"\xa01", b"1\xa0", b"\x01"],
    "direction": [b"", b"to-device", b"TO_DEVICE", b"to_device2", b"to", b"none",
                  b"to_devic", b"bidirectional bidirectional", b"\n", b" ", b"0", b"1",
                  b"DMA_TO_DEVICE", b"from device", b"\xa0to_device", b"to_device\xa0"],
    "att_enable": [b"2", b"-1", b"01", b"10", b"yes", b"true", b"on", b"1 1", b"0x1",
                   b"\n", b" ", b"\xa01", b"mapped", b"1.0"],
}
HUGE = [b"9" * 20, b"9" * 100, b"9" * 1000, str(1 << 64).encode(), str((1 << 64) + 1).encode(),
        str(10 ** 40).encode(), str(U64).encode() + b"T", b"18446744073709551616K",
        b"-" + b"9" * 30, b"1" + b"0" * 4000]


def corpus(attr):
    """At least 50 malformed values for attr, the same on every run."""
    rng = random.Random(attr)
    valid = VALID[attr]
    vals = [v for v in HAND[attr] if v]  # an empty write never reaches the module
    for _ in range(20):  # random bytes, each with a byte no value may hold
        raw = bytearray(rng.randbytes(rng.randint(1, 48)))
        raw.insert(rng.randint(0, len(raw)), rng.choice(POISON))
        vals.append(bytes(raw).replace(b"\0", b"\x01") or b"\x01")
    vals += HUGE
    # embedded NULs: the value the module would see ends early
    vals += [valid + b"\0", b"\0" + valid, valid[:1] + b"\0" + valid[1:], valid + b"\0junk",
             b"\0" * 8, b"\0\n", valid + b"\n\0"]
    # 4095 bytes and more: configfs keeps only the first 4095, so never a whole value
    vals += [valid.ljust(CUT, b" "), valid.ljust(4096, b" "), valid.ljust(4097, b"\n"),
             valid + b" " * (4096 - len(valid) - 1) + b"x", b"9" * 4096, b"\n" * 4096,
             bytes(rng.randrange(1, 256) for _ in range(4096))]
    return vals


def split_values(attr, buf):
    """Valid values cut in two, every way where a piece is malformed on its own.  A
    piece that is valid alone is the attribute's current value (a no-op), so the
    state must not move at all."""
    cands = {"size": [b"4M\n", b"6M", b"4194304"], "page_size": [b"2M", b"2048K\n"],
             "numa_node": [b"-1", b" -1\n"], "enable": [b" 0\n", b"\t0 "],
             "direction": [b"to_device", b"from_device", b"bidirectional\n"],
             "att_enable": [b" 0\n", b"\t0 "]}[attr]
    out = []
    for v in cands:
        for i in range(1, len(v)):
            a, b = v[:i], v[i:]
            if expected(attr, a, buf) or expected(attr, b, buf):
                out.append((a, b))
    return out


# ---------------------------------------------------------------- state

def rd(path):
    """A small sysfs or configfs file, with less overhead than pathlib (this runs
    tens of thousands of times under TCG)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 1 << 16)
    finally:
        os.close(fd)


@functools.lru_cache(maxsize=None)
def pool_files():
    """Every file h.snapshot() reads: both page sizes' counters, globally and per node."""
    files = []
    for d in h.PAGE_DIRS.values():
        files += [h.HUGEPAGES / d / c for c in h.COUNTERS]
        for n in h.node_ids():
            files += [h.NODES / f"node{n}" / "hugepages" / d / c for c in h.NODE_COUNTERS]
    return [str(f) for f in files]


def read_all(b, att=None):
    """Everything a rejected write must leave alone: the buffer's and the
    attachment's attributes, the buffer list, every pool counter, the pages."""
    paths = [str(b.dir / a) for a in ("size", "page_size", "numa_node", "enable", "state")]
    if att is not None:
        paths += [str(att / a) for a in ("direction", "enable", "state")]
    s = {p: rd(p) for p in paths + pool_files()}
    s["buffers"] = sorted(os.listdir(h.BUFFERS))
    s["class"] = sorted(os.listdir(h.CLASS)) if h.CLASS.exists() else []
    if b.dev.exists():
        s["phys"] = rd(b.dev / "phys_addrs")
    return s


def write_fd(fd, value):
    try:
        os.write(fd, value)
        return 0
    except OSError as e:
        return e.errno


def attr_path(b, att, attr):
    if attr == "direction":
        return att / "direction"
    if attr == "att_enable":
        return att / "enable"
    return b.dir / attr


@pytest.fixture
def target(mkbuf):
    """A disabled 2 MB-page buffer of 4 MB with an (unmapped) attachment."""
    b = mkbuf(page_size="2M", size="4M")
    att = b.dir / "attachments" / h.pci_device()
    os.mkdir(att)
    yield b, att
    os.rmdir(att)


def desc(b):
    return {"size": int(b.read("size")), "page_size": int(b.read("page_size")),
            "enabled": b.read("state") == "enabled"}


def fuzz(b, att, attr, values, key=None):
    """Write each value in one write(2); each must fail with the model's errno and
    change nothing."""
    path = attr_path(b, att, attr)
    buf = desc(b)
    before = read_all(b, att)
    for v in values:
        want = expected(attr, v, buf)
        assert want != 0, f"{attr}: {v[:40]!r} is valid, not a hostile value"
        got = h.write(path, v)
        assert h.errname(got) == h.errname(want), f"{attr}: {v[:40]!r} (len {len(v)})"
        assert read_all(b, att) == before, f"{attr}: {v[:40]!r} changed something"
        count(key or attr)


ATTRS = ("size", "page_size", "numa_node", "enable", "direction", "att_enable")


@pytest.mark.parametrize("attr", ATTRS)
def test_malformed_values_disabled(target, attr):
    b, att = target
    values = corpus(attr)
    assert len(values) >= 50
    fuzz(b, att, attr, values)


@pytest.mark.parametrize("attr", ("size", "page_size", "numa_node", "enable"))
def test_malformed_values_enabled(target, attr):
    """The same values to an enabled buffer: rejected as malformed (or EBUSY where the
    syntax is right), pages and device untouched."""
    b, att = target
    assert b.enable() == 0
    try:
        fuzz(b, att, attr, corpus(attr)[::2], key=f"{attr}(enabled)")
    finally:
        assert b.disable() == 0


@pytest.mark.parametrize("attr", ATTRS)
def test_partial_writes(target, attr):
    """A valid value written in two pieces: each write(2) is a whole value to configfs,
    so each piece is judged alone, and both are rejected."""
    b, att = target
    buf = desc(b)
    before = read_all(b, att)
    pairs = split_values(attr, buf)
    assert len(pairs) >= 3
    for first, rest in pairs:
        fd = os.open(attr_path(b, att, attr), os.O_WRONLY)
        try:
            for piece in (first, rest):
                want = expected(attr, piece, buf)
                got = write_fd(fd, piece)
                assert h.errname(got) == h.errname(want), (first, rest, piece)
                assert read_all(b, att) == before, (first, rest, piece)
                if want:
                    count(attr)
        finally:
            os.close(fd)


CONCURRENT = {
    "size": ([b"2M", b"4M", b"6M\n", b"8M"], lambda s: s.encode()),
    "page_size": ([b"2M", b"2097152", b" 2048K\n"], None),
    "numa_node": ([b"-1", b"0"], None),
    "direction": ([b"to_device", b"from_device", b"bidirectional\n"], None),
    "enable": ([b"0", b"1"], None),
}


def normal(attr, v):
    """What reading attr shows after v was written."""
    if attr in ("size", "page_size"):
        return str(parse_size(v)[1])
    if attr == "numa_node":
        return str(parse_node(v)[1])
    return v.strip(WS).decode()


@pytest.mark.parametrize("attr", list(CONCURRENT))
def test_concurrent_writers(target, attr):
    """Four threads, each with its own fd, write valid and malformed values to one
    attribute at once: every valid write succeeds, every malformed one fails with its
    errno, and the attribute ends at one of the valid values."""
    b, att = target
    goods = CONCURRENT[attr][0]
    bads = corpus(attr)[:40]
    buf = desc(b)
    path = attr_path(b, att, attr)
    errors = []

    def writer(seed):
        rng = random.Random(f"{attr}-{seed}")
        fd = os.open(path, os.O_WRONLY)
        try:
            for _ in range(40):
                good = rng.random() < 0.3
                v = rng.choice(goods if good else bads)
                got = write_fd(fd, v)
                want = 0 if good else expected(attr, v, buf)
                # enable 0 or 1 meets the other writers' transitions (EBUSY)
                busy_ok = attr == "enable" and good and got == errno.EBUSY
                if got != want and not busy_ok:
                    errors.append((v[:40], h.errname(got), h.errname(want)))
                elif not good:
                    count(f"{attr}(concurrent)")
        finally:
            os.close(fd)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    if attr == "enable":
        assert b.read("enable") in ("0", "1")
        assert b.read("state") in ("enabled", "disabled")
        assert b.disable() == 0
    elif attr == "direction":
        assert h.read(att / "direction").strip() in {normal(attr, g) for g in goods}
    else:
        assert b.read(attr) in {normal(attr, g) for g in goods}
    # nothing else moved
    assert b.read("state") == "disabled"


# ---------------------------------------------------------------- ioctls

IOC_INFO, IOC_EXPORT, IOC_IMPORT = (0xB8 << 8) | 0x00, (0xB8 << 8) | 0x01, (0xB8 << 8) | 0x10
INFO = struct.Struct("=IIQQQiIII40s")
EXPORT = struct.Struct("=IIiI")
IMPORT = struct.Struct("=IIQQ40s")
PROT_RW = mmap.PROT_READ | mmap.PROT_WRITE


def ioctl(fd, cmd, arg):
    """(errno or 0, bytes after the call) for a bytes argument, or errno for an address."""
    if isinstance(arg, int):
        ret = libc.ioctl(fd, cmd, arg)
        return ctypes.get_errno() if ret < 0 else 0
    raw = ctypes.create_string_buffer(bytes(arg), len(arg))
    ret = libc.ioctl(fd, cmd, ctypes.addressof(raw))
    return (ctypes.get_errno() if ret < 0 else 0), raw.raw


class Guarded:
    """Two pages, the second PROT_NONE: a struct placed to end at the boundary."""

    def __init__(self):
        self.p = libc.mmap(None, 2 * h.PAGE_SIZE, PROT_RW,
                           mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        assert self.p not in (None, ctypes.c_void_p(-1).value)
        assert libc.mprotect(self.p + h.PAGE_SIZE, h.PAGE_SIZE, 0) == 0

    def at_end(self, data):
        """Copy data so that it ends at the guard page; its address."""
        addr = self.p + h.PAGE_SIZE - len(data)
        ctypes.memmove(addr, data, len(data))
        return addr

    def close(self):
        libc.munmap(self.p, 2 * h.PAGE_SIZE)


BAD_POINTERS = [0, 1, 16, 4095, 0x7fffffffe000, (1 << 47), 0xffff888000000000,
                0xffffffffff600000, 0xffffffffffffffff]


def open_fds():
    return sorted(os.listdir("/proc/self/fd"))


@pytest.fixture
def enabled(mkbuf):
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    return b


def test_info_ioctl_malformed(enabled):
    """INFO: argsz below the first version, flags, bad and short pointers; a rejected
    call writes nothing back."""
    rng = random.Random("info")
    fd = os.open(f"/dev/hugedma/{enabled.name}", os.O_RDONLY)
    g = Guarded()
    before = read_all(enabled)
    try:
        cases = []
        for argsz in range(0, 88):                       # every size below VER0
            cases.append((argsz, 0, errno.EINVAL))
        for _ in range(20):                              # flags: no bit is defined
            cases.append((rng.choice([88, 96, 4096, 0xffffffff]),
                          rng.randrange(1, 1 << 32), errno.EINVAL))
        for argsz, flags, err in cases:
            garbage = rng.randbytes(INFO.size - 8)
            raw = struct.pack("=II", argsz, flags) + garbage
            got, after = ioctl(fd, IOC_INFO, raw)
            assert h.errname(got) == h.errname(err), (argsz, flags)
            assert after == raw, f"argsz {argsz} flags {flags:#x}: the struct was written"
            count("ioctl INFO")
        for ptr in BAD_POINTERS:
            assert h.errname(ioctl(fd, IOC_INFO, ptr)) == "EFAULT", hex(ptr)
            count("ioctl INFO")
        # only the first n bytes readable: the struct runs into the guard page
        for n in (4, 8, 16, 87):
            data = (struct.pack("=II", 88, 0) + bytes(80))[:n]
            assert h.errname(ioctl(fd, IOC_INFO, g.at_end(data))) == "EFAULT", n
            count("ioctl INFO")
        # unknown commands on the buffer's fd
        for nr in (0x02, 0x10, 0x7f, 0xff):
            assert h.errname(ioctl(fd, (0xB8 << 8) | nr, 0)) == "ENOTTY"
            count("ioctl INFO")
        assert read_all(enabled) == before
    finally:
        g.close()
        os.close(fd)


def test_export_ioctl_malformed(enabled):
    """EXPORT_DMABUF: argsz, unknown flags, fd and reserved set, ranges (offset and
    length) that are not whole pages inside the buffer, a struct larger than the
    kernel's with a non-zero tail, bad pointers.  No dma-buf fd appears and none is
    left holding the buffer (it disables afterwards)."""
    rng = random.Random("export")
    fd = os.open(f"/dev/hugedma/{enabled.name}", os.O_RDWR)
    before, fds = read_all(enabled), open_fds()
    try:
        cases = [(argsz, os.O_RDWR, 0, 0, b"", errno.EINVAL) for argsz in range(16)]
        allowed = os.O_CLOEXEC | os.O_ACCMODE
        for _ in range(20):
            flags = rng.randrange(1, 1 << 32) & ~allowed or 0x40
            cases.append((16, flags, 0, 0, b"", errno.EINVAL))
        for _ in range(10):
            cases.append((16, os.O_RDWR, rng.randrange(1, 1 << 31), 0, b"", errno.EINVAL))
            cases.append((16, os.O_RDWR, 0, rng.randrange(1, 1 << 32), b"", errno.EINVAL))
        # offset and length (argsz 32): not whole 2 MB pages, or not inside the 4 MB
        size, ps = 4 << 20, h.SZ_2M
        ranges = [(ps, ps * 2), (size, 0), (0, size + ps), (U64 - ps + 1, ps), (ps, U64 - ps + 1)]
        for _ in range(20):
            off, length = rng.randrange(0, 1 << 64), rng.randrange(0, 1 << 64)
            if not (off % ps == 0 and length % ps == 0 and off < size and
                    length <= size - off):
                ranges.append((off, length))
        for off, length in ranges:
            cases.append((32, os.O_RDWR, 0, 0, struct.pack("=QQ", off, length), errno.EINVAL))
        # a struct larger than the kernel's (32 bytes) with a non-zero byte beyond it
        for extra in (b"\x01", b"\0" * 7 + b"\x80", rng.randbytes(48) + b"\x01"):
            cases.append((32 + len(extra), os.O_RDWR, 0, 0, bytes(16) + extra, errno.E2BIG))
        for argsz, flags, dfd, res, extra, err in cases:
            raw = EXPORT.pack(argsz, flags, dfd, res) + extra
            got, _ = ioctl(fd, IOC_EXPORT, raw)
            assert h.errname(got) == h.errname(err), (argsz, hex(flags), dfd, res, extra)
            assert open_fds() == fds
            count("ioctl EXPORT_DMABUF")
        for ptr in BAD_POINTERS:
            assert h.errname(ioctl(fd, IOC_EXPORT, ptr)) == "EFAULT", hex(ptr)
            count("ioctl EXPORT_DMABUF")
        assert open_fds() == fds
        assert read_all(enabled) == before
    finally:
        os.close(fd)
    assert enabled.disable() == 0, "a rejected export left a hold on the buffer"


def test_import_ioctl_malformed(enabled):
    """IMPORT: argsz, flags, names (unterminated, invalid, taken), ranges that are not
    whole huge pages of a writable hugetlb mapping, tagged addresses, bad pointers.
    No buffer appears and the pool does not move."""
    rng = random.Random("import")
    ctl = os.open("/dev/hugedma/control", os.O_RDWR)
    huge = libc.mmap(None, 2 * h.SZ_2M, PROT_RW,
                     mmap.MAP_SHARED | mmap.MAP_ANONYMOUS | 0x40000 | (21 << 26), -1, 0)
    assert huge not in (None, ctypes.c_void_p(-1).value)
    ctypes.memset(huge, 1, 2 * h.SZ_2M)   # fault the pages in
    anon = libc.mmap(None, 4 * h.SZ_2M, PROT_RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    ro = libc.mmap(None, h.SZ_2M, mmap.PROT_READ,
                   mmap.MAP_SHARED | mmap.MAP_ANONYMOUS | 0x40000 | (21 << 26), -1, 0)
    before = read_all(enabled)
    try:
        ok = (64, 0, huge, h.SZ_2M, b"fuzzimp")
        cases = [((argsz,) + ok[1:], b"", errno.EINVAL) for argsz in range(64)]
        for _ in range(15):
            cases.append(((64, rng.randrange(1, 1 << 32)) + ok[2:], b"", errno.EINVAL))
        names = [b"", b"control", b"Upper", b"-x", b"_x", b"a.b", b"a/b", b"a b", b"a" * 33,
                 b"\xe9", b"x\n"] + [bytes(rng.choice(POISON) for _ in range(rng.randint(1, 20)))
                                    for _ in range(10)]
        for n in names:
            cases.append((ok[:4] + (n,), b"", errno.EINVAL))
        cases.append((ok[:4] + (enabled.name.encode(),), b"", errno.EEXIST))
        # 40 name bytes and no NUL: the struct packs it without a terminator
        cases.append((ok[:4] + (b"a" * 40,), b"", errno.EINVAL))
        for addr, length, err in (
                (huge, 0, errno.EINVAL), (huge + 4096, h.SZ_2M, errno.EINVAL),
                (huge, h.SZ_2M + 4096, errno.EINVAL), (huge, 3 * h.SZ_2M, errno.EINVAL),
                (huge, (1 << 64) - 1, errno.EINVAL), ((1 << 64) - h.SZ_2M, h.SZ_2M, errno.EINVAL),
                (anon, h.SZ_2M, errno.EINVAL), (0, h.SZ_2M, errno.EINVAL),
                (huge | (0x3f << 57), h.SZ_2M, errno.EINVAL), (ro, h.SZ_2M, errno.EACCES)):
            cases.append(((64, 0, addr, length, b"fuzzimp"), b"", err))
        for extra in (b"\x01", rng.randbytes(32) + b"\x02"):
            cases.append(((64 + len(extra),) + ok[1:], extra, errno.E2BIG))
        for fields, extra, err in cases:
            raw = IMPORT.pack(*fields) + extra
            got, _ = ioctl(ctl, IOC_IMPORT, raw)
            assert h.errname(got) == h.errname(err), (fields[:4], fields[4][:40], extra)
            assert read_all(enabled) == before, fields
            count("ioctl IMPORT")
        for ptr in BAD_POINTERS:
            assert h.errname(ioctl(ctl, IOC_IMPORT, ptr)) == "EFAULT", hex(ptr)
            count("ioctl IMPORT")
        assert h.errname(ioctl(ctl, IOC_INFO, 0)) == "ENOTTY"
        count("ioctl IMPORT")
        assert read_all(enabled) == before
    finally:
        os.close(ctl)
        libc.munmap(huge, 2 * h.SZ_2M)
        libc.munmap(anon, 4 * h.SZ_2M)
        libc.munmap(ro, h.SZ_2M)


def test_rejected_count_summary():
    """The figure for the record: every rejection above, counted."""
    total = sum(REJECTED.values())
    lines = [f"{k}: {v}" for k, v in sorted(REJECTED.items())]
    summary = f"fuzz: {total} malformed inputs rejected, no state change"
    print("\n".join(lines + [summary]))
    h.record_figure("malformed inputs rejected", total)
    out = os.environ.get("HUGEDMA_VM_OUT")
    if out and os.path.isdir(out):
        with open(os.path.join(out, "fuzz-rejected.txt"), "w") as f:
            f.write("\n".join(lines + [summary]) + "\n")
    for attr in ATTRS:
        assert REJECTED[attr] >= 50, f"only {REJECTED[attr]} malformed values for {attr}"
    for ioc in ("ioctl INFO", "ioctl EXPORT_DMABUF", "ioctl IMPORT"):
        assert REJECTED[ioc] >= 50, f"only {REJECTED[ioc]} malformed {ioc} calls"
