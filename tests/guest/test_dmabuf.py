# SPDX-License-Identifier: GPL-2.0
"""The dma-buf contract, with the edu test driver as the kernel-side importer: CPU
access (DMA_BUF_IOCTL_SYNC) syncs every mapped attachment of the dma-buf and no
other, each in its own direction; vmap gives the buffer's bytes, and is refused
beyond 1 GiB; a dma-buf of a range of pages maps, attaches and vmaps only that
range, and bad ranges are refused with nothing changed.

Whether a sync reached the DMA API is read from the kernel itself: a kprobe on
dma_sync_sg_for_cpu()/_for_device() records the device name, segment count and
direction of every call (on the debug kernel DMA-API debug also checks each of them
against its own record of the mapping)."""
import ctypes
import errno
import fcntl
import json
import mmap
import os
import pathlib
import re
import subprocess

import pytest

import hugedma_test as h
from hugedma_test import (DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE, EDU_DMABUF_XFER,
                          EDU_DMABUF_DETACH, EXPORT_V1, IOC_EXPORT, IOMMU, LEN, SYNC_END,
                          SYNC_READ, SYNC_START, SYNC_WRITE, dmabuf_size,
                          dmabuf_sync, edu_dmabuf_attach, edu_vmap, export, export_range,
                          frames, libc, map_dmabuf, segments, try_call, xfer)

pytestmark = pytest.mark.edu

TRACING = h.TRACING
PROBES = {"cpu": "dma_sync_sg_for_cpu", "device": "dma_sync_sg_for_device"}
EVENT = re.compile(r"hugedma_sync_(cpu|device): \(.*\) name=\"([^\"]*)\" nents=(-?\d+) dir=(-?\d+)")


class SyncProbe:
    """kprobes on the DMA API's scatterlist syncs.  From 6.10 the exported calls are
    __dma_sync_sg_for_cpu()/_for_device(), behind an inline that skips them for a
    device that needs no sync (a coherent one with no bounce buffer, which edu is),
    unless DMA-API debug is built in: there the kernel's contract is that no call
    is made, and the probe checks that instead."""

    def __init__(self):
        h.tracefs()
        self.inline = not h.kernel_before(6, 10)
        self.skips = self.inline and not pathlib.Path("/sys/kernel/debug/dma-api").exists()
        for kind, fn in PROBES.items():
            target = f"__{fn}" if self.inline else fn
            # struct device begins with its kobject, which begins with its name
            line = (f"p:hugedma_test/hugedma_sync_{kind} {target} name=+0(+0(%di)):string "
                    "nents=%dx:s32 dir=%cx:s32")
            # a write without O_TRUNC adds a probe (Python's append mode seeks: EINVAL)
            assert h.write(TRACING / "kprobe_events", line) == 0, line
        assert h.write(TRACING / "events/hugedma_test/enable", "1") == 0
        self.clear()

    def clear(self):
        with open(TRACING / "trace", "w"):   # O_TRUNC empties the ring buffer
            pass

    def calls(self):
        """[(kind, device name, nents, direction)] since the last clear(), and clear."""
        out = [(m.group(1), m.group(2), int(m.group(3)), int(m.group(4)))
               for m in EVENT.finditer(h.read(TRACING / "trace"))]
        self.clear()
        return out

    def close(self):
        h.write(TRACING / "events/hugedma_test/enable", "0")
        for kind in PROBES:
            h.write(TRACING / "kprobe_events", f"-:hugedma_test/hugedma_sync_{kind}")


@pytest.fixture
def probe():
    p = SyncProbe()
    yield p
    p.close()


def dmabuf_atts(b, bdf):
    """{attachment directory name: nr_segments} of the buffer's dma-buf attachments for bdf."""
    d = b.dev / "attachments"
    return {p.name: int(h.read(p / "nr_segments")) for p in sorted(d.glob(f"{bdf}-dmabuf*"))}


def pattern(seed, n=LEN):
    return bytes((seed * 29 + i * 7 + 3) & 0xFF for i in range(n))


# ------------------------------------------------------------- CPU access


def test_sync_syncs_every_mapped_attachment_of_the_dmabuf(edu, mkbuf, attach, probe):
    """SYNC_START syncs for the CPU, SYNC_END for the device, every mapped attachment
    of that dma-buf in the direction it was mapped in; an attachment of another
    dma-buf of the buffer and a configfs attachment are not touched; a dma-buf
    with no importer syncs nothing.  Then the bytes: the CPU writes through the
    dma-buf's mmap between SYNC_START|WRITE and SYNC_END|WRITE, edu copies them by
    DMA through its mapping, the CPU reads the copy between SYNC_START|READ and
    SYNC_END|READ."""
    fd, bdf = edu
    b = mkbuf(page_size="2M", size="8M")
    assert b.enable() == 0
    bfd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    # dfd: pages 0-1, other: pages 2-3.  DMA-API debug refuses overlapping mappings
    # for one device unless all but one are to_device (the device only reads them)
    dfd, other, idle = export_range(bfd, 0, 4 << 20), export_range(bfd, 4 << 20, 0), export(bfd)
    dmas = h.dma_entries(bdf)
    try:
        assert attach(b, bdf) == 0                       # configfs: never synced here
        cfg = b.dir / "attachments" / bdf
        assert h.write(cfg / "direction", "to_device") == 0
        assert h.write(cfg / "enable", "1") == 0
        assert edu_dmabuf_attach(fd, dfd, DMA_BIDIRECTIONAL) == 0
        assert edu_dmabuf_attach(fd, dfd, DMA_TO_DEVICE) == 0
        assert edu_dmabuf_attach(fd, other, DMA_FROM_DEVICE) == 0
        atts = dmabuf_atts(b, bdf)
        assert len(atts) == 3, atts
        dirs = {n: h.read(b.dev / "attachments" / n / "direction").strip() for n in atts}
        assert sorted(dirs.values()) == ["bidirectional", "from_device", "to_device"]
        # (direction, DMA segments) of dfd's two; a sync walks the table's CPU
        # segments (orig_nents), of which an IOMMU may have merged some
        ours = sorted((DMA_BIDIRECTIONAL if dirs[n] == "bidirectional" else DMA_TO_DEVICE,
                       atts[n]) for n in atts if dirs[n] != "from_device")
        probe.clear()

        def check(kind, calls, flags):
            if probe.skips:
                assert calls == [], (kind, flags)
                return
            assert [(c[0], c[1]) for c in calls] == [(kind, bdf)] * 2, (flags, calls)
            assert sorted(c[3] for c in calls) == [d for d, _ in ours], (flags, calls)
            for _, _, nents, d in calls:
                assert nents >= dict(ours)[d] >= 1, (flags, calls, ours)

        for flags in (SYNC_READ, SYNC_WRITE, SYNC_READ | SYNC_WRITE):
            assert dmabuf_sync(dfd, SYNC_START | flags) == 0
            check("cpu", probe.calls(), flags)
            assert dmabuf_sync(dfd, SYNC_END | flags) == 0
            check("device", probe.calls(), flags)
        assert dmabuf_sync(idle, SYNC_START | SYNC_READ) == 0
        assert dmabuf_sync(idle, SYNC_END | SYNC_READ) == 0
        assert probe.calls() == [], "a dma-buf without importers synced something"
        assert dmabuf_sync(dfd, 0x80) == errno.EINVAL   # the core's own check

        # the bytes, through the dma-buf's own mapping
        p, err = map_dmabuf(dfd, 4 << 20, h.SZ_2M)
        assert err == 0, os.strerror(err)
        try:
            for k, (src, dst) in enumerate(((64, h.SZ_2M + 128), (2 * h.SZ_2M - LEN, 64))):
                data = pattern(k)
                assert dmabuf_sync(dfd, SYNC_START | SYNC_WRITE) == 0
                ctypes.memmove(p + src, data, LEN)
                ctypes.memset(p + dst, 0, LEN)
                assert dmabuf_sync(dfd, SYNC_END | SYNC_WRITE) == 0
                err, _, _ = xfer(fd, EDU_DMABUF_XFER, src=src, dst=dst)
                assert err == 0, os.strerror(err)
                assert dmabuf_sync(dfd, SYNC_START | SYNC_READ) == 0
                got = ctypes.string_at(p + dst, LEN)
                assert dmabuf_sync(dfd, SYNC_END | SYNC_READ) == 0
                assert got == data, f"DMA {src:#x} -> {dst:#x} through edu's mapping corrupted"
            probe.calls()
        finally:
            libc.munmap(p, 4 << 20)
    finally:
        fcntl.ioctl(fd, EDU_DMABUF_DETACH)
        for f in (dfd, other, idle):
            os.close(f)
        os.close(bfd)
    assert dmabuf_atts(b, bdf) == {}, "edu's dma-buf attachments outlived its detach"
    assert h.write(b.dir / "attachments" / bdf / "enable", "0") == 0
    assert h.dma_entries(bdf) == dmas, "DMA mappings left behind"
    assert b.disable() == 0


def test_sync_after_detach_and_unplug_syncs_nothing(edu, mkbuf, probe):
    """Once edu unmapped (detach), or its attachment was taken away by an unbind,
    a sync reaches no DMA mapping: no sync of freed or removed mappings (DMA-API
    debug would report a sync of memory that is not mapped)."""
    fd, bdf = edu
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    bfd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    dfd = export(bfd)
    try:
        assert edu_dmabuf_attach(fd, dfd) == 0
        assert dmabuf_sync(dfd, SYNC_START | SYNC_READ) == 0
        assert len(probe.calls()) == (0 if probe.skips else 1)
        fcntl.ioctl(fd, EDU_DMABUF_DETACH)
        for flags in (SYNC_START | SYNC_READ, SYNC_END | SYNC_READ):
            assert dmabuf_sync(dfd, flags) == 0
        assert probe.calls() == []
        # an unbind takes the mapping (edu's remove() detaches what it holds)
        assert edu_dmabuf_attach(fd, dfd) == 0
        r = edu.unload()
        assert r.returncode == 0, r.stderr
        for flags in (SYNC_START | SYNC_WRITE, SYNC_END | SYNC_WRITE):
            assert dmabuf_sync(dfd, flags) == 0
        assert probe.calls() == []
    finally:
        if edu.fd >= 0:
            fcntl.ioctl(edu.fd, EDU_DMABUF_DETACH)
        os.close(dfd)
        os.close(bfd)
    assert b.disable() == 0


# ------------------------------------------------------------- vmap


def test_vmap_reads_and_writes_the_buffer(edu, mkbuf):
    """Bytes through edu's vmap of the dma-buf are the bytes of the buffer's mmap,
    both ways, at the ends of every page."""
    fd, _ = edu
    b = mkbuf(page_size="2M", size="8M")
    assert b.enable() == 0
    bfd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    m = mmap.mmap(bfd, 8 << 20, mmap.MAP_SHARED)
    dfd = export(bfd)
    try:
        for i in range(4):
            for off in (i * h.SZ_2M, (i + 1) * h.SZ_2M - 512):
                data = pattern(i * 2 + (off & 1), 512)
                m[off:off + 512] = data
                assert edu_vmap(fd, dfd, off, length=512) == (0, data), hex(off)
                back = bytes(reversed(data))
                assert edu_vmap(fd, dfd, off, data=back) == (0, None)
                assert m[off:off + 512] == back, f"a vmap write at {off:#x} is not in the buffer"
        # past the dma-buf's end: edu's own bounds check, against the dma-buf's size
        assert edu_vmap(fd, dfd, 8 << 20, length=1)[0] == errno.EINVAL
    finally:
        os.close(dfd)
        m.close()
        os.close(bfd)
    assert b.disable() == 0


def test_vmap_of_1g_at_the_limit(edu, mkbuf):
    """A 1 GiB dma-buf (the limit) vmaps: its first and last bytes are the buffer's."""
    fd, _ = edu
    assert h.free_pages(h.SZ_1G) >= 1, "needs a free 1 GB pool page (--hugepages-1g)"
    b = mkbuf(page_size="1G", size="1G")
    assert b.enable() == 0
    bfd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    m = mmap.mmap(bfd, h.SZ_1G, mmap.MAP_SHARED)
    dfd = export(bfd)
    try:
        for off in (0, h.SZ_1G // 2 + 4096, h.SZ_1G - 256):
            m[off:off + 256] = pattern(off % 251, 256)
            assert edu_vmap(fd, dfd, off, length=256) == (0, pattern(off % 251, 256)), hex(off)
    finally:
        os.close(dfd)
        m.close()
        os.close(bfd)
    assert b.disable() == 0


def test_vmap_refused_beyond_the_limit(edu, mkbuf):
    """A 2 GiB dma-buf has no kernel mapping: it is exported without the vmap op,
    so the core refuses with EINVAL (5.10's dma_buf_vmap() passes on no errno: edu
    sees a NULL mapping, ENOMEM), and nothing in the log (an op that failed would
    trip the core's WARN_ON_ONCE); a 1 GiB range of the same buffer vmaps."""
    fd, _ = edu
    assert h.free_pages(h.SZ_1G) >= 2, "needs 2 free 1 GB pool pages (--hugepages-1g)"
    b = mkbuf(page_size="1G", size="2G")
    assert b.enable() == 0
    bfd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    m = mmap.mmap(bfd, 2 * h.SZ_1G, mmap.MAP_SHARED)
    dfd = export(bfd)
    half = export_range(bfd, h.SZ_1G, h.SZ_1G)
    try:
        with h.KernelLog() as log:
            err, _ = edu_vmap(fd, dfd, 0, length=16)
            lines = [ln for ln in log.lines() if "vmap" in ln or "WARNING" in ln]
        assert h.errname(err) == ("ENOMEM" if h.kernel_before(5, 11) else "EINVAL")
        assert lines == [], lines
        m[h.SZ_1G:h.SZ_1G + 64] = pattern(9, 64)
        assert edu_vmap(fd, half, 0, length=64) == (0, pattern(9, 64))
        assert edu_vmap(fd, dfd, h.SZ_1G, length=16)[0] == err   # still refused
    finally:
        os.close(half)
        os.close(dfd)
        m.close()
        os.close(bfd)
    assert b.disable() == 0


# ------------------------------------------------------------- a range of pages


def test_range_export_covers_only_the_range(edu, mkbuf):
    """A dma-buf of pages 2-4 of 8: its size, its mmap (the range's own frames and
    bytes; nothing beyond), edu's attachment (DMA segments of the range's length
    only, at the range's physical addresses without an IOMMU; a DMA through it
    lands in the range) and its vmap."""
    fd, bdf = edu
    b = mkbuf(page_size="2M", size="16M")
    assert b.enable() == 0
    bfd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    m = mmap.mmap(bfd, 16 << 20, mmap.MAP_SHARED)
    phys = b.phys_addrs()
    start, length = 2 * h.SZ_2M, 3 * h.SZ_2M
    for i in range(8):
        m[i * h.SZ_2M:i * h.SZ_2M + 64] = bytes([0x40 + i]) * 64
    dfd = export_range(bfd, start, length)
    try:
        assert dmabuf_size(dfd) == length
        assert f"name:\t{b.name}" in h.read(f"/proc/self/fdinfo/{dfd}")
        p, err = map_dmabuf(dfd, length, h.SZ_2M)
        assert err == 0, os.strerror(err)
        try:
            h.touch(p, 3, h.SZ_2M)
            assert frames(p, 3, h.SZ_2M) == phys[2:5]
            for i in range(3):
                assert ctypes.string_at(p + i * h.SZ_2M, 64) == bytes([0x42 + i]) * 64
        finally:
            libc.munmap(p, length)
        for size, off in ((length + h.SZ_2M, 0), (h.SZ_2M, length), (2 * h.SZ_2M, 2 * h.SZ_2M)):
            assert map_dmabuf(dfd, size, h.SZ_2M, offset=off) == (None, errno.EINVAL), (size, off)
        p, err = map_dmabuf(dfd, h.SZ_2M, h.SZ_2M, offset=2 * h.SZ_2M)
        assert err == 0, os.strerror(err)
        h.touch(p, 1, h.SZ_2M)
        assert frames(p, 1, h.SZ_2M) == [phys[4]], "offset 4 MB of the dma-buf is not page 4"
        libc.munmap(p, h.SZ_2M)

        assert edu_dmabuf_attach(fd, dfd) == 0
        try:
            (name, nents), = dmabuf_atts(b, bdf).items()
            addrs, lens = segments(b, name)
            assert len(addrs) == nents
            assert sum(lens) == length, "edu's mapping is not the range's length"
            if not IOMMU:
                assert addrs[0] == phys[2]
            data = pattern(5)
            m[start + 100:start + 100 + LEN] = data
            m[start + length - LEN:start + length] = bytes(LEN)
            err, _, _ = xfer(fd, EDU_DMABUF_XFER, src=100, dst=length - LEN)
            assert err == 0, os.strerror(err)
            assert m[start + length - LEN:start + length] == data, "DMA missed the range"
            # an offset past the range has no bus address in edu's mapping
            assert xfer(fd, EDU_DMABUF_XFER, src=length, dst=0)[0] == errno.ERANGE
        finally:
            fcntl.ioctl(fd, EDU_DMABUF_DETACH)

        assert edu_vmap(fd, dfd, 0, length=64) == (0, bytes([0x42]) * 64)
        assert edu_vmap(fd, dfd, length - LEN, length=LEN) == (0, data)
        assert edu_vmap(fd, dfd, length, length=1)[0] == errno.EINVAL
        # the rest of the buffer from a page: length 0
        rest = export_range(bfd, 5 * h.SZ_2M, 0)
        assert dmabuf_size(rest) == 3 * h.SZ_2M
        os.close(rest)
    finally:
        os.close(dfd)
        m.close()
        os.close(bfd)
    assert b.disable() == 0


def test_old_callers_get_the_whole_buffer(edu, mkbuf):
    """argsz 16 (the first version), and argsz 32 with offset and length 0: the whole
    buffer."""
    b = mkbuf(page_size="2M", size="6M")
    assert b.enable() == 0
    bfd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    try:
        for dfd in (export(bfd), export_range(bfd, 0, 0)):
            assert dmabuf_size(dfd) == 6 << 20
            os.close(dfd)
    finally:
        os.close(bfd)
    assert b.disable() == 0


def test_bad_ranges_refused(edu, mkbuf):
    """Ranges not of whole pages, empty, wrapping or past the end: EINVAL, one log
    line each naming the buffer, the range and the page size; no fd appears, nothing
    holds the buffer afterwards."""
    b = mkbuf(page_size="2M", size="8M")
    assert b.enable() == 0
    size, ps = 8 << 20, h.SZ_2M
    # no more than the log line's burst (10 per 5 s): test_fuzz.py has the rest
    bad = [(4096, 0), (0, 4096), (ps + 1, ps), (size, 0), (size, ps), (size - ps, 2 * ps),
           (ps, (1 << 64) - ps), ((1 << 64) - ps, 2 * ps), (1 << 63, 1 << 63)]
    rx = re.compile(rf"^hugedma: {b.name}: rejected export_range 'offset (0x[0-9a-f]+) "
                    rf"length (0x[0-9a-f]+) of 0x800000 bytes in pages of 0x200000': -EINVAL$")
    bfd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    fds = sorted(os.listdir("/proc/self/fd"))
    try:
        for off, length in bad:
            with h.KernelLog() as log:
                err = try_call(export_range, bfd, off, length)
                lines = [ln for ln in log.lines() if "rejected export_range" in ln]
            assert h.errname(err) == "EINVAL", (hex(off), hex(length))
            assert len(lines) == 1 and rx.match(lines[0]), lines
            # length 0 runs to the end, and is logged as what it ran to
            want = size - off if length == 0 and off < size else length
            assert [int(x, 16) for x in rx.match(lines[0]).groups()] == [off, want], lines
            assert sorted(os.listdir("/proc/self/fd")) == fds
        # a struct the kernel knows, with a non-zero byte beyond it: E2BIG as before
        raw = bytearray(EXPORT_V1.pack(33, os.O_RDWR, 0, 0, 0, 0) + b"\x01")
        assert try_call(fcntl.ioctl, bfd, IOC_EXPORT, raw) == errno.E2BIG
        assert sorted(os.listdir("/proc/self/fd")) == fds
    finally:
        os.close(bfd)
    assert b.disable() == 0, "a refused export left a hold on the buffer"


@pytest.mark.userspace
def test_hugedmactl_check_takes_an_importer_for_a_kernel_user(edu, mkbuf):
    """An importer's attachment is named after its device and dma-buf, not a PCI
    device: hugedmactl check reports it as a kernel user's, not as a missing device."""
    fd, _ = edu
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    bfd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    dfd = export(bfd)
    try:
        assert edu_dmabuf_attach(fd, dfd) == 0
        r = subprocess.run([str(h.REPO / "userspace" / "hugedmactl"), "--json", "check"],
                           capture_output=True, text=True, timeout=60)
        checks = json.loads(r.stdout)["checks"]
        mine = [c for c in checks if c["detail"].startswith(f"{b.name}/")]
        assert len(mine) == 1 and mine[0]["level"] == "ok", mine
        assert "a kernel user's, mapped" in mine[0]["detail"], mine
        assert not [c for c in checks if c["level"] == "problem" and b.name in c["detail"]]
    finally:
        fcntl.ioctl(fd, EDU_DMABUF_DETACH)
        os.close(dfd)
        os.close(bfd)
    assert b.disable() == 0
