# SPDX-License-Identifier: GPL-2.0
"""Leak runs: with kmemleak on (the debug kernel booted with kmemleak=on:
tests/vm/run --append kmemleak=on), cycles of everything that allocates -- mkdir,
enable, mmap, dma-buf export (whole, and of a range held by edu across CPU-access
syncs and vmapped), the kernel API's map, configfs attachments to edu
(behind the IOMMU when there is one), import, refused requests, and a module
unload and reload -- then a kmemleak scan (a second one confirms any report).
No object allocated by this test may be reported (and none whose trace names
hugedma); the hugetlb pool, edu's DMA mappings (DMA-API debug's list) and every
IOVA the cycles used (the IOMMU faults a DMA read of it) are back to where they
started."""
import errno
import fcntl
import mmap
import os
import pathlib
import re
import subprocess
import time

import pytest

import faultinject as fi
import hugedma_test as h
from hugedma_test import CONTROL, do_import, huge_map, libc

pytestmark = pytest.mark.kmemleak

KMEMLEAK = pathlib.Path(fi.DEBUGFS) / "kmemleak"
CYCLES = int(os.environ.get("HUGEDMA_LEAK_CYCLES", "8"))


def kmemleak(cmd):
    rc = h.write(KMEMLEAK, cmd)
    assert rc == 0, f"kmemleak {cmd}: {h.errname(rc)}"


def kmemleak_on():
    if not KMEMLEAK.exists():
        return False
    return h.write(KMEMLEAK, "stack=on") == 0  # EPERM when kmemleak is off


def reports(text):
    """kmemleak's report, one block per unreferenced object."""
    blocks = re.split(r"(?m)^(?=unreferenced object )", text)
    return [b for b in blocks if b.startswith("unreferenced object")]


def cycle(i, edu, bdf, iovas):
    b = h.Buffer(f"leak{i}")
    os.mkdir(b.dir)
    assert b.write("page_size", "2M") == 0 and b.write("size", "4M") == 0
    assert b.write("size", "3M") == errno.EINVAL            # refused: no leak either
    assert b.enable() == 0
    # user mapping through the char device
    fd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    m = mmap.mmap(fd, 4 << 20, mmap.MAP_SHARED)
    m[0] = 1
    m[(4 << 20) - 1] = 2
    assert b.disable() == errno.EBUSY
    m.close()
    # dma-buf: export, an importer (edu) attaches, maps, DMAs, detaches; close
    dfd = h.export(fd)
    if edu and i % 4 == 0:
        err, s, d = h.xfer(edu.fd, h.EDU_DMABUF, dmafd=dfd, src=64, dst=h.SZ_2M + 64)
        assert err == 0, os.strerror(err)
        iovas.update((s, d))
    os.close(dfd)
    # a dma-buf of the second page: held by edu across CPU-access syncs, vmapped
    dfd = h.export_range(fd, h.SZ_2M, h.SZ_2M)
    assert h.try_call(h.export_range, fd, h.SZ_2M, 4096) == errno.EINVAL
    if edu:
        assert h.edu_dmabuf_attach(edu.fd, dfd) == 0
        assert h.dmabuf_sync(dfd, h.SYNC_START | h.SYNC_WRITE) == 0
        assert h.dmabuf_sync(dfd, h.SYNC_END | h.SYNC_WRITE) == 0
        err, s, d = h.xfer(edu.fd, h.EDU_DMABUF_XFER, src=64, dst=8192)
        assert err == 0, os.strerror(err)
        iovas.update((s, d))
        fcntl.ioctl(edu.fd, h.EDU_DMABUF_DETACH)
        assert h.edu_vmap(edu.fd, dfd, 0, data=b"v") == (0, None)
    os.close(dfd)
    os.close(fd)
    if edu:
        # the kernel API: hold (map) and release
        err, _, _ = h.xfer(edu.fd, h.EDU_HOLD, name=b.name)
        assert err == 0, os.strerror(err)
        addrs = h.read(b.dev / "attachments" / bdf / "dma_addrs").split()
        iovas.update(int(a, 16) for a in addrs[:2])
        fcntl.ioctl(edu.fd, h.EDU_RELEASE)
        # configfs attachment: mkdir, map, unmap, map again, rmdir after disable
        a = b.dir / "attachments" / bdf
        os.mkdir(a)
        assert h.write(a / "enable", "1") == 0
        iovas.update(int(x, 16) for x in
                     h.read(b.dev / "attachments" / bdf / "dma_addrs").split()[:2])
        assert h.write(a / "enable", "0") == 0
        assert h.write(a / "enable", "1") == 0
        assert h.write(a / "enable", "0") == 0
        os.rmdir(a)
    assert b.disable() == 0
    os.rmdir(b.dir)
    # import, with a refused import beside it
    p = huge_map(2)
    cfd = os.open(CONTROL, os.O_RDWR)
    try:
        assert do_import(cfd, f"limp{i}", p + 4096, h.SZ_2M) == errno.EINVAL
        assert do_import(cfd, f"limp{i}", p, 2 * h.SZ_2M) == 0
        assert do_import(cfd, f"limp{i}", p, 2 * h.SZ_2M) in (errno.EEXIST, errno.EBUSY)
        ifd = os.open(f"/dev/hugedma/limp{i}", os.O_RDWR)
        os.close(h.export(ifd))
        os.close(ifd)
    finally:
        os.close(cfd)
        libc.munmap(p, 2 * h.SZ_2M)


def iovas_unmapped(edu, iovas):
    """Behind the IOMMU, a DMA read of every IOVA used must fault: nothing left mapped."""
    if not h.IOMMU or not iovas:
        return
    seen = sorted(iovas)
    for iova in {seen[0], seen[len(seen) // 2], seen[-1]}:
        assert h.dma_faults(edu.fd, h.EDU_READ, iova), f"IOVA {iova:#x} is still mapped"


def test_no_leaks(pool_guard):
    if not kmemleak_on():
        pytest.skip("kmemleak is off: boot the debug kernel with kmemleak=on "
                    "(tests/vm/run --append kmemleak=on)")
    bdf = h.edu_bdf()
    h.load()
    edu = h.Edu(bdf) if bdf else None
    try:
        # no scan before the cycles (each walks every struct page: a minute
        # under TCG): what the final scans report is filtered to this test's
        dma0 = h.dma_entries(bdf) if bdf else 0
        iovas = set()
        t0 = time.monotonic()
        for i in range(CYCLES):
            cycle(i, edu, bdf, iovas)
        took = time.monotonic() - t0
        assert h.wait_for_pool(pool_guard) == pool_guard
        if bdf:
            assert h.dma_entries(bdf) == dma0, "DMA mappings of edu left behind"
            iovas_unmapped(edu, iovas)
    finally:
        if edu:
            r = edu.unload()
            assert r.returncode == 0, r.stderr
    # module unload: every global allocation must go with it; load it back for the rest
    assert h.unload() == 0
    subprocess.run(["insmod", str(h.MODULE)], check=True)
    time.sleep(6)           # kmemleak reports objects older than 5 s

    def scan():
        kmemleak("scan")
        text = h.read(KMEMLEAK)
        objs = reports(text)
        return text, objs, [o for o in objs if "hugedma" in o or
                            re.search(rf'pid {os.getpid()}\b', o) or
                            'comm "insmod"' in o or 'comm "rmmod"' in o]

    # one scan (a minute under TCG); a report of ours is confirmed by a second:
    # the file lists only what is still unreferenced after the latest scan
    text, objs, mine = scan()
    if mine:
        time.sleep(1)
        text, objs, mine = scan()
    print(f"\nkmemleak: {CYCLES} cycles in {took:.0f} s; {len(objs)} suspected leaks "
          f"reported, {len(mine)} from this test or hugedma")
    h.record_figure("kmemleak cycles", CYCLES)
    h.record_figure("kmemleak reports from hugedma", len(mine))
    out = os.environ.get("HUGEDMA_VM_OUT")
    if out and os.path.isdir(out):
        with open(os.path.join(out, "kmemleak.txt"), "w") as f:
            f.write(f"{CYCLES} cycles; {len(objs)} reported, {len(mine)} ours\n{text}")
    assert not mine, "kmemleak:\n" + "\n".join(mine[:10])
    if objs:
        print("elsewhere in the kernel (not this test's):\n" + "\n".join(objs[:5]))
