# SPDX-License-Identifier: GPL-2.0
"""Privilege and data hygiene.

- As uid 65534 (forked children that drop every id and capability): no configfs
  write, mkdir or rmdir; no read of phys_addrs, dma_addrs or dma_lengths; no open
  of /dev/hugedma/NAME or /dev/hugedma/control.
- As root without CAP_SYS_ADMIN (dropped from the bounding set, as in a container):
  no address from phys_addrs, extent_addrs or dma_addrs (EPERM, as pagemap's rule).
- A process without CAP_SYS_ADMIN that was handed an open /dev/hugedma/NAME gets
  no physical address from any ioctl (nor from what they give it: the dma-buf's
  fdinfo, its own page map).
- A buffer enabled on pages another buffer wrote never shows those bytes: with the
  pool held down to exactly the pages needed, the re-enabled buffer and a new
  buffer get the very same frames, zeroed.  (test_chardev covers pages user space
  dirtied; test_buffers covers reuse.)
"""
import ctypes
import errno
import fcntl
import json
import mmap
import os
import traceback

import pytest

import hugedma_test as h
from hugedma_test import EXPORT, INFO, IOC_EXPORT, IOC_INFO

NOBODY = 65534
PR_SET_DUMPABLE = 4


def as_nobody(fn):
    """fn() in a forked child running as uid/gid 65534 with no groups and no
    capabilities (inherited fds stay open); returns its JSON-able result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            # changing ids made it undumpable, which hands /proc/self to root:
            # an ordinary unprivileged process is dumpable
            if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0):
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")
            out = {"result": fn()}
        except BaseException:  # noqa: B902 - reported to the parent
            out, code = {"exception": traceback.format_exc()}, 1
        try:
            data = json.dumps(out).encode()
            while data:
                data = data[os.write(w, data):]
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while True:
        c = os.read(r, 65536)
        if not c:
            break
        chunks.append(c)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    out = json.loads(b"".join(chunks))
    assert os.waitstatus_to_exitcode(status) == 0, out
    return out["result"]


def try_open(path, flags):
    try:
        os.close(os.open(path, flags))
        return 0
    except OSError as e:
        return e.errno


def caps():
    """Effective and permitted capability masks of this process."""
    out = {}
    for line in h.read("/proc/self/status").splitlines():
        if line.startswith(("CapEff:", "CapPrm:")):
            out[line[:6]] = int(line.split()[1], 16)
    return out


def buffer_state(b):
    s = {a: b.read(a) for a in ("size", "page_size", "numa_node", "enable", "state")}
    s["buffers"] = sorted(os.listdir(h.BUFFERS))
    return s


# ---------------------------------------------------------------- uid 65534

def test_nobody_cannot_write_configfs(mkbuf, attach):
    b = mkbuf(page_size="2M", size="4M")
    bdf = h.pci_device()
    att = b.dir / "attachments" / bdf
    attach(b, bdf)
    before = buffer_state(b), h.read(att / "direction")

    def child():
        res = {"caps": caps()}
        for a in ("size", "page_size", "numa_node", "enable"):
            res[a] = try_open(b.dir / a, os.O_WRONLY)
        for a in ("direction", "enable"):
            res[f"att/{a}"] = try_open(att / a, os.O_WRONLY)
        res["mkdir buffer"] = h.try_call(os.mkdir, h.BUFFERS / "nobodys")
        res["rmdir buffer"] = h.try_call(os.rmdir, b.dir)
        res["rmdir attachment"] = h.try_call(os.rmdir, att)
        res["mkdir attachment"] = h.try_call(os.mkdir, b.dir / "attachments" / "0000:00:01.0")
        return res

    res = as_nobody(child)
    assert res.pop("caps") == {"CapEff": 0, "CapPrm": 0}
    assert {k: h.errname(v) for k, v in res.items()} == {k: "EACCES" for k in res}
    assert (buffer_state(b), h.read(att / "direction")) == before


def test_nobody_cannot_read_phys_addrs_or_open_device_nodes(mkbuf):
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    node = f"/dev/hugedma/{b.name}"

    def child():
        return {"phys_addrs": try_open(b.dev / "phys_addrs", os.O_RDONLY),
                "node ro": try_open(node, os.O_RDONLY),
                "node rw": try_open(node, os.O_RDWR),
                "control ro": try_open("/dev/hugedma/control", os.O_RDONLY),
                "control rw": try_open("/dev/hugedma/control", os.O_RDWR),
                # what is not an address stays readable: the child really ran
                "nr_pages": h.read(b.dev / "nr_pages")}

    res = as_nobody(child)
    assert res.pop("nr_pages") == "2\n"
    assert {k: h.errname(v) for k, v in res.items()} == {k: "EACCES" for k in res}


@pytest.mark.edu
def test_nobody_cannot_read_bus_addresses(edu, edu_attachment):
    _, bdf = edu
    b, att = edu_attachment()
    assert h.write(att / "enable", "1") == 0
    d = b.dev / "attachments" / bdf
    assert h.read(d / "dma_addrs") and h.read(d / "dma_lengths")

    def child():
        return {"dma_addrs": try_open(d / "dma_addrs", os.O_RDONLY),
                "dma_lengths": try_open(d / "dma_lengths", os.O_RDONLY),
                "nr_segments": h.read(d / "nr_segments")}

    res = as_nobody(child)
    assert int(res.pop("nr_segments")) >= 1
    assert {k: h.errname(v) for k, v in res.items()} == {k: "EACCES" for k in res}


# ---------------------------------------------------------------- root without CAP_SYS_ADMIN

def read_without(cap, paths):
    return {p: tuple(v) for p, v in
            h.run_without_caps(h.READ_EACH, drop=[cap] if cap else [], args=paths).items()}


def test_root_without_cap_sys_admin_reads_no_physical_address(mkbuf):
    """uid 0 is not enough (a container's root, or root that dropped the
    capability from its bounding set): as for pagemap's frame numbers, reading an
    address takes CAP_SYS_ADMIN; what is not an address stays readable."""
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    addrs = [str(b.dev / f) for f in ("phys_addrs", "extent_addrs")]
    others = [str(b.dev / f) for f in ("extent_lengths", "nr_pages", "nr_extents")]
    res = read_without("CAP_SYS_ADMIN", addrs + others)
    assert {p: res[p] for p in addrs} == {p: ("read", errno.EPERM) for p in addrs}
    assert {p: res[p] for p in others} == {p: ("read", 0) for p in others}
    # the same child with the capability reads them all
    res = read_without(None, addrs + others)
    assert res == {p: ("read", 0) for p in addrs + others}


@pytest.mark.edu
def test_root_without_cap_sys_admin_reads_no_bus_address(edu, edu_attachment):
    _, bdf = edu
    b, att = edu_attachment()
    assert h.write(att / "enable", "1") == 0
    d = b.dev / "attachments" / bdf
    addrs, lens = str(d / "dma_addrs"), str(d / "dma_lengths")
    assert read_without("CAP_SYS_ADMIN", [addrs, lens]) == {
        addrs: ("read", errno.EPERM), lens: ("read", 0)}
    assert read_without(None, [addrs]) == {addrs: ("read", 0)}


# ---------------------------------------------------------------- a passed fd

def address_forms(phys):
    """Every way an address of these pages could show: the address and its frame
    number, as 8 little-endian bytes and as hex and decimal text."""
    raw, text = [], []
    for p in phys:
        for v in (p, p // h.PAGE_SIZE):
            raw.append(v.to_bytes(8, "little"))
            text += [f"{v:x}", f"{v:#x}", str(v)]
    return raw, [t for t in text if len(t) >= 5]


def test_fd_holder_without_cap_sys_admin_gets_no_physical_addresses(mkbuf):
    b = mkbuf(page_size="2M", size="8M")
    assert b.enable() == 0
    phys = b.phys_addrs()
    fd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    try:
        def child():
            res = {"caps": caps()}
            raw = bytearray(INFO.pack(88, 0, 0, 0, 0, 0, 0, 0, 0, b""))
            fcntl.ioctl(fd, IOC_INFO, raw)
            res["info"] = raw.hex()
            # a larger (future) struct: nothing beyond what the kernel knows
            big = bytearray(INFO.pack(256, 0, 0, 0, 0, 0, 0, 0, 0, b"") + bytes(168))
            fcntl.ioctl(fd, IOC_INFO, big)
            res["info_big"] = big.hex()
            exp = bytearray(EXPORT.pack(16, os.O_RDWR | os.O_CLOEXEC, 0, 0))
            fcntl.ioctl(fd, IOC_EXPORT, exp)
            dfd = EXPORT.unpack(exp)[2]
            res["export"] = exp.hex()
            res["fdinfo"] = h.read(f"/proc/self/fdinfo/{dfd}")
            os.close(dfd)
            m = mmap.mmap(fd, 8 << 20, mmap.MAP_SHARED)
            m[0] = 1
            addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
            with open("/proc/self/pagemap", "rb") as f:
                pfns = []
                for i in range(4):
                    f.seek((addr + i * h.SZ_2M) // h.PAGE_SIZE * 8)
                    e = int.from_bytes(f.read(8), "little")
                    pfns.append((e >> 63, e & ((1 << 55) - 1)))
            res["pagemap"] = pfns
            return res

        res = as_nobody(child)
    finally:
        os.close(fd)
    assert res["caps"] == {"CapEff": 0, "CapPrm": 0}
    raw_forms, text_forms = address_forms(phys)
    for key in ("info", "info_big", "export"):
        blob = bytes.fromhex(res[key])
        assert not [f for f in raw_forms if f in blob], f"{key} holds a physical address"
    for t in text_forms:
        assert t not in res["fdinfo"], f"the dma-buf's fdinfo shows {t}"
    # and the struct holds exactly what the ABI says
    argsz, flags, size, psize, nr, node, state, source, _, name = INFO.unpack(
        bytes.fromhex(res["info"]))
    assert (argsz, flags, size, psize, nr, state, source) == (88, 0, 8 << 20, h.SZ_2M, 4, 2, 0)
    assert node == int(b.sysfs("numa_node")) and name.rstrip(b"\0") == b.name.encode()
    assert bytes.fromhex(res["info_big"])[88:] == bytes(168)
    # the kernel's own rule for page maps: present, frame number hidden
    assert res["pagemap"][0] == [1, 0]
    assert all(pfn == 0 for _, pfn in res["pagemap"])


# ---------------------------------------------------------------- no stale bytes

PATTERN = b"hugedma: a previous buffer's bytes "


def write_pattern(b, size):
    fd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    try:
        m = mmap.mmap(fd, size, mmap.MAP_SHARED)
        ctypes.memset(ctypes.addressof(ctypes.c_char.from_buffer(m)), 0xA5, size)
        for off in range(0, size, 4096):
            m[off:off + len(PATTERN)] = PATTERN
        m.close()
    finally:
        os.close(fd)


def read_all_bytes(b, size):
    fd = os.open(f"/dev/hugedma/{b.name}", os.O_RDONLY)
    try:
        m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
        data = m[:]
        m.close()
        return data
    finally:
        os.close(fd)


def test_new_buffer_never_shows_previous_bytes(mkbuf, pool_guard):
    """The pool is held (reserved by a hugetlb mapping) down to exactly the pages one
    buffer needs, so every enable below must take the same frames: the buffer that
    wrote them, re-enabled, and then a new buffer, both read zeros only."""
    nr, size = 4, 4 * h.SZ_2M
    b = mkbuf(page_size="2M", size=size)
    spare = h.free_pages(h.SZ_2M) - nr
    assert spare >= 0, "the 2 MB pool is too small for this test"
    with h.HugeMapping(h.SZ_2M, spare, touch=False):
        assert h.free_pages(h.SZ_2M) == nr
        assert b.enable() == 0
        first = b.phys_addrs()
        write_pattern(b, size)
        assert b.disable() == 0
        assert h.wait_for(lambda: h.free_pages(h.SZ_2M) == nr), "pages not back in the pool"

        assert b.enable() == 0
        assert sorted(b.phys_addrs()) == sorted(first), "not re-enabled on the same pages"
        data = read_all_bytes(b, size)
        assert PATTERN not in data and data == bytes(size), "the re-enabled buffer shows old bytes"
        write_pattern(b, size)
        assert b.disable() == 0
        assert h.wait_for(lambda: h.free_pages(h.SZ_2M) == nr), "pages not back in the pool"

        c = mkbuf(page_size="2M", size=size)
        assert c.enable() == 0
        assert sorted(c.phys_addrs()) == sorted(first), "the new buffer got other pages"
        data = read_all_bytes(c, size)
        assert PATTERN not in data and data == bytes(size), "a new buffer shows old bytes"
        assert c.disable() == 0
