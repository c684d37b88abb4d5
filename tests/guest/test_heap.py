# SPDX-License-Identifier: GPL-2.0
"""The dma-heaps hugedma-1g and hugedma-2m (module parameter dma_heaps, module/heap.c).

Where the kernel exports dma_heap_add() (7.2), DMA_HEAP_IOCTL_ALLOC returns a
dma-buf of zeroed pool pages, rounded up to whole pages of the heap, placed by the
caller's memory policy, charged to its locked memory and listed in sysfs (source
heap, its pid) while it lives; bad input is refused with nothing taken; closing the
dma-buf (and unmapping it) returns every page; edu imports it and DMAs through it;
and the module, which cannot remove a dma-heap, refuses to unload once it has
registered them.  The plain C program tests/heap/hugedma_heap_test does the
allocator's side.  On kernels without the export the module loads with
dma_heaps=1, says so in one line and registers nothing; the tests that need a heap
(marker dmaheap) are deselected there (conftest.py).

conftest.py runs this file last: from its first test on, on 7.2, the module stays
loaded until the guest shuts down."""
import ctypes
import errno
import fcntl
import mmap
import os
import pathlib
import re
import resource
import struct
import subprocess

import pytest

import hugedma_test as h
from hugedma_test import (DMA_BIDIRECTIONAL, EDU_DMABUF_DETACH, EDU_DMABUF_XFER, LEN, SZ_1G,
                          SZ_2M, edu_dmabuf_attach, libc, map_dmabuf, xfer)

PROG = h.REPO / "tests" / "heap" / "hugedma_heap_test"
DEV = pathlib.Path("/dev/dma_heap")
# <linux/dma-heap.h>: _IOWR('H', 0, struct dma_heap_allocation_data)
ALLOC = struct.Struct("=QIIQ")            # len, fd, fd_flags, heap_flags
DMA_HEAP_IOCTL_ALLOC = (3 << 30) | (ALLOC.size << 16) | (ord("H") << 8) | 0
NO_EXPORT = "dma_heaps=1: this kernel does not export dma_heap_add() (namespace DMA_BUF_HEAP): no dma-heaps"
REGISTERED = "dma-heaps registered: the module stays loaded until reboot"
EXPORTED = h.kernel_exports("dma_heap_add")


def alloc(heap, length, fd_flags=os.O_RDWR | os.O_CLOEXEC, heap_flags=0, fd=0):
    """DMA_HEAP_IOCTL_ALLOC on /dev/dma_heap/heap: (dma-buf fd, 0) or (None, errno)."""
    hfd = os.open(DEV / heap, os.O_RDONLY | os.O_CLOEXEC)
    try:
        raw = bytearray(ALLOC.pack(length, fd, fd_flags, heap_flags))
        fcntl.ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, raw)
        return ALLOC.unpack(raw)[1], 0
    except OSError as e:
        return None, e.errno
    finally:
        os.close(hfd)


def name_of(dfd):
    """The dma-buf's name, its hugedma buffer's, from the kernel's fdinfo."""
    m = re.search(r"^name:\s+(\S+)$", h.read(f"/proc/self/fdinfo/{dfd}"), re.M)
    assert m, f"no name in the fdinfo of dma-buf fd {dfd}"
    return m.group(1)


def listed():
    """The heap allocations /sys/class/hugedma lists now."""
    return sorted(p.name for p in h.CLASS.iterdir() if h.read(p / "source").strip() == "heap")


def vmlck():
    return int(re.search(r"^VmLck:\s+(\d+) kB$", h.read("/proc/self/status"), re.M).group(1)) << 10


@pytest.fixture(scope="module")
def heaps():
    """The module with its dma-heaps registered (this file's load test did it, when
    it is selected).  Module-scoped, and named before edu where a test takes both,
    so that a reload it needs runs before edu_mod's hugedma_edu holds the module."""
    h.load_heaps()
    assert h.heaps_registered(), "dma_heaps=1 registered no heap"


def test_load_with_dma_heaps_says_once():
    """insmod hugedma.ko dma_heaps=1: where the kernel exports dma_heap_add() both
    heaps appear in /dev/dma_heap and one line says the module now stays loaded;
    elsewhere the module loads without them and one line names the missing export,
    the module unloads as always, and a load without the parameter says nothing."""
    assert h.unload() == 0
    log = h.KernelLog()
    subprocess.run(["insmod", str(h.MODULE), "dma_heaps=1"], check=True)
    lines = [ln for ln in log.lines() if ln.startswith("hugedma: ")]
    assert h.read("/sys/module/hugedma/parameters/dma_heaps").strip() == "Y"
    nodes = sorted(p.name for p in DEV.glob("hugedma-*")) if DEV.exists() else []
    if EXPORTED:
        assert lines.count(f"hugedma: {REGISTERED}") == 1, lines
        assert not [ln for ln in lines if "dma_heap_add" in ln], lines
        assert nodes == ["hugedma-1g", "hugedma-2m"], nodes
        assert int(h.read("/sys/module/hugedma/refcnt")) >= 1
    else:
        assert lines.count(f"hugedma: {NO_EXPORT}") == 1, lines
        assert nodes == []
        assert h.unload() == 0, "without heaps the module unloads"
        h.load()
        assert not [ln for ln in log.lines() if "dma_heap" in ln], "said without the parameter"
    log.close()


def test_modinfo_describes_the_parameter():
    r = subprocess.run(["modinfo", "-F", "parm", str(h.MODULE)], capture_output=True, text=True,
                       check=True)
    assert re.search(r"^dma_heaps:Register the dma-heaps hugedma-1g and hugedma-2m .*"
                     r"stays loaded until reboot \(default: off\) \(bool\)$", r.stdout, re.M), \
        r.stdout


@pytest.mark.dmaheap
@pytest.mark.parametrize("heap, length", [("hugedma-2m", "8M"), ("hugedma-2m", "3M"),
                                          ("hugedma-1g", "1G")])
def test_program_allocates_maps_and_frees(heaps, heap, length):
    """tests/heap/hugedma_heap_test: the allocation's size, pool, VmLck, sysfs
    listing, huge mapping onto the listed pages, zeroes, writes, and the return of
    it all (3M: rounded up to 4M)."""
    before = h.snapshot()
    r = subprocess.run([str(PROG), heap, length], capture_output=True, text=True, timeout=600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^\d+ passed, 0 failed$", r.stdout, re.M), r.stdout
    assert h.snapshot() == before
    assert listed() == []


@pytest.mark.dmaheap
@pytest.mark.parametrize("heap, length, size", [
    ("hugedma-2m", 4096, SZ_2M), ("hugedma-2m", SZ_2M, SZ_2M), ("hugedma-2m", SZ_2M + 1, 2 * SZ_2M),
    ("hugedma-1g", 4096, SZ_1G)])
def test_length_rounded_up_to_whole_pages(heaps, heap, length, size):
    """A length that is not whole pages of the heap is rounded up: the dma-buf, the
    listed buffer and the pool all count whole pages."""
    ps = SZ_2M if heap.endswith("2m") else SZ_1G
    free = h.pool(ps)["free_hugepages"]
    dfd, err = alloc(heap, length)
    assert err == 0, h.errname(err)
    try:
        assert h.dmabuf_size(dfd) == size
        assert os.lseek(dfd, 0, os.SEEK_END) == size
        assert int(h.read(h.CLASS / name_of(dfd) / "size")) == size
        assert h.pool(ps)["free_hugepages"] == free - size // ps
    finally:
        os.close(dfd)
    assert h.pool(ps)["free_hugepages"] == free


@pytest.mark.dmaheap
def test_listed_in_sysfs_while_it_lives(heaps):
    """/sys/class/hugedma/hugedma-2m-N exists from the allocation to the close:
    source heap, this pid, size, pages and node, each listed page a huge page of
    that node by the kernel's own kpageflags and memory blocks, and its node;
    /dev/hugedma/NAME beside it.  Then everything is back."""
    before = h.snapshot()
    dfd, err = alloc("hugedma-2m", 6 << 20)
    assert err == 0, h.errname(err)
    try:
        name = name_of(dfd)
        assert re.fullmatch(r"hugedma-2m-[1-9][0-9]*", name), name
        d = h.CLASS / name
        assert listed() == [name]
        assert h.read(d / "source") == "heap\n"
        assert h.read(d / "pid") == f"{os.getpid()}\n"
        assert h.read(d / "state") == "enabled\n"
        assert (int(h.read(d / "size")), int(h.read(d / "page_size")),
                int(h.read(d / "nr_pages"))) == (6 << 20, SZ_2M, 3)
        node = int(h.read(d / "numa_node"))
        addrs = [int(x, 16) for x in h.read(d / "phys_addrs").split()]
        assert len(addrs) == 3
        assert h.check_huge_frames(addrs, SZ_2M) == []
        nodes = {h.pfn_node(a // h.PAGE_SIZE) for a in addrs}
        assert node == (nodes.pop() if len(nodes) == 1 else -1), (node, nodes)
        assert pathlib.Path(f"/dev/hugedma/{name}").exists()
    finally:
        os.close(dfd)
    assert not (h.CLASS / name).exists()
    assert not pathlib.Path(f"/dev/hugedma/{name}").exists()
    assert h.snapshot() == before


POLICY_CHILD = r"""
import ctypes, fcntl, json, os, struct, sys
import hugedma_test as h
libc = ctypes.CDLL(None, use_errno=True)
node, heap, length = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
if node >= 0:
    mask = ctypes.c_ulong(1 << node)
    # set_mempolicy(MPOL_BIND, &mask, maxnode)
    assert libc.syscall(238, 2, ctypes.byref(mask), 64) == 0, ctypes.get_errno()
A = struct.Struct("=QIIQ")
hfd = os.open("/dev/dma_heap/" + heap, os.O_RDONLY)
raw = bytearray(A.pack(length, 0, os.O_RDWR, 0))
fcntl.ioctl(hfd, (3 << 30) | (A.size << 16) | (ord("H") << 8), raw)
dfd = A.unpack(raw)[1]
import re
name = re.search(r"^name:\s+(\S+)$", h.read(f"/proc/self/fdinfo/{dfd}"), re.M).group(1)
d = h.CLASS / name
addrs = [int(x, 16) for x in h.read(d / "phys_addrs").split()]
print(json.dumps({"numa_node": int(h.read(d / "numa_node")),
                  "nodes": [h.pfn_node(a // h.PAGE_SIZE) for a in addrs]}))
"""


@pytest.mark.dmaheap
def test_pages_follow_the_callers_memory_policy(heaps):
    """A caller bound to a node (set_mempolicy MPOL_BIND, as numactl --membind) gets
    every page from that node: the listed numa_node and each page's node by the
    kernel's memory blocks.  Every node with free 2 MB pages is tried (the main
    guest has one; the numa-direct guest three)."""
    tried = 0
    for node in h.node_ids():
        if h.node_free(node, SZ_2M) < 2:
            continue
        before = h.snapshot()
        got = h.run_without_caps(POLICY_CHILD, args=(node, "hugedma-2m", 4 << 20))
        assert got == {"numa_node": node, "nodes": [node, node]}, (node, got)
        assert h.wait_for_pool(before) == before
        tried += 1
    assert tried, "no node has two free 2 MB pages"


@pytest.mark.dmaheap
def test_bad_input_refused_with_nothing_taken(heaps):
    """The dma-heap core's own checks (EINVAL: unknown heap_flags or fd_flags, a
    non-zero fd, a zero length) and hugedma's (ENOSPC, with one rejection line, for
    more than the pool's free pages or than all memory) take nothing: the pool, the
    listing and VmLck are unchanged.  A dma-buf allocated read-only maps read-only."""
    before, lck = h.snapshot(), vmlck()
    free = h.pool(SZ_2M)["free_hugepages"]
    with h.KernelLog() as log:
        for kw, want in (({"heap_flags": 1}, errno.EINVAL), ({"fd_flags": os.O_APPEND}, errno.EINVAL),
                         ({"fd": 3}, errno.EINVAL)):
            assert alloc("hugedma-2m", SZ_2M, **kw) == (None, want), kw
        assert alloc("hugedma-2m", 0) == (None, errno.EINVAL)
        assert log.rejects() == [], "the core's refusals reached hugedma"
        too_many = (free + 1) * SZ_2M
        assert alloc("hugedma-2m", too_many) == (None, errno.ENOSPC)
        assert log.rejects() == [f"hugedma: hugedma-2m: rejected len '{too_many}': -ENOSPC"]
        huge = 1 << 62
        assert alloc("hugedma-1g", huge) == (None, errno.ENOSPC)
        assert log.rejects() == [f"hugedma: hugedma-1g: rejected len '{huge}': -ENOSPC"]
    assert h.snapshot() == before and listed() == [] and vmlck() == lck

    dfd, err = alloc("hugedma-2m", SZ_2M, fd_flags=os.O_RDONLY)
    assert err == 0, h.errname(err)
    try:
        assert fcntl.fcntl(dfd, fcntl.F_GETFD) == 0, "O_CLOEXEC not asked, yet set"
        assert map_dmabuf(dfd, SZ_2M, SZ_2M)[1] == errno.EACCES
        p, err = map_dmabuf(dfd, SZ_2M, SZ_2M, prot=mmap.PROT_READ)
        assert err == 0, os.strerror(err)
        assert ctypes.string_at(p, 4096) == bytes(4096)
        libc.munmap(p, SZ_2M)
    finally:
        os.close(dfd)
    assert h.wait_for_pool(before) == before


MEMLOCK_CHILD = r"""
import fcntl, json, os, re, struct, sys
import hugedma_test as h
A = struct.Struct("=QIIQ")
hfd = os.open("/dev/dma_heap/hugedma-2m", os.O_RDONLY)
raw = bytearray(A.pack(int(sys.argv[1]), 0, os.O_RDWR, 0))
try:
    fcntl.ioctl(hfd, (3 << 30) | (A.size << 16) | (ord("H") << 8), raw)
    err = 0
except OSError as e:
    err = e.errno
lck = int(re.search(r"^VmLck:\s+(\d+) kB$", h.read("/proc/self/status"), re.M).group(1))
print(json.dumps({"err": err, "vmlck_kb": lck}))
"""


@pytest.mark.dmaheap
def test_charged_to_locked_memory(heaps):
    """Without CAP_IPC_LOCK an allocation must fit RLIMIT_MEMLOCK: one byte short is
    ENOMEM with one rejection line and nothing taken; within it the pages show in
    VmLck.  The charge goes with the pages (the child exits with its dma-buf)."""
    before = h.snapshot()
    with h.KernelLog() as log:
        got = h.run_without_caps(MEMLOCK_CHILD, drop=("CAP_IPC_LOCK",), args=(4 << 20,),
                                 rlimits={resource.RLIMIT_MEMLOCK: (4 << 20) - 4096})
        assert got == {"err": errno.ENOMEM, "vmlck_kb": 0}
        assert log.rejects() == [f"hugedma: hugedma-2m: rejected len '{4 << 20}': -ENOMEM"]
        assert h.snapshot() == before
        got = h.run_without_caps(MEMLOCK_CHILD, drop=("CAP_IPC_LOCK",), args=(4 << 20,),
                                 rlimits={resource.RLIMIT_MEMLOCK: 4 << 20})
        assert got == {"err": 0, "vmlck_kb": 4096}
        assert log.rejects() == []
    assert h.wait_for_pool(before) == before
    assert listed() == []


@pytest.mark.dmaheap
def test_a_mapping_outlives_the_dmabuf(heaps):
    """Closing the dma-buf while it is mapped keeps the pages (and the listing)
    until the mapping goes; then they are back in the pool without another call."""
    before = h.snapshot()
    dfd, err = alloc("hugedma-2m", 4 << 20)
    assert err == 0, h.errname(err)
    name = name_of(dfd)
    p, err = map_dmabuf(dfd, 4 << 20, SZ_2M)
    assert err == 0, os.strerror(err)
    os.close(dfd)
    try:
        ctypes.memset(p + (4 << 20) - 1, 0x5A, 1)
        assert listed() == [name]
        assert h.pool(SZ_2M)["free_hugepages"] == before[("all", SZ_2M)]["free_hugepages"] - 2
    finally:
        libc.munmap(p, 4 << 20)
    assert h.wait_for(lambda: listed() == [], timeout=10), "still listed after the munmap"
    assert h.wait_for_pool(before) == before


@pytest.mark.dmaheap
@pytest.mark.edu
def test_edu_imports_a_heap_allocation(heaps, edu):
    """edu attaches the dma-buf and maps it (listed as an attachment of the heap's
    buffer), and its DMA engine copies bytes between pages of it, seen through the
    CPU's mapping; after the detach and the close nothing is left."""
    fd, bdf = edu
    before = h.snapshot()
    dmas = h.dma_entries(bdf)
    dfd, err = alloc("hugedma-2m", 4 << 20)
    assert err == 0, h.errname(err)
    name = name_of(dfd)
    p, err = map_dmabuf(dfd, 4 << 20, SZ_2M)
    assert err == 0, os.strerror(err)
    try:
        assert edu_dmabuf_attach(fd, dfd, DMA_BIDIRECTIONAL) == 0
        atts = sorted(x.name for x in (h.CLASS / name / "attachments").iterdir())
        assert atts == [f"{bdf}-dmabuf1"], atts
        att = h.CLASS / name / "attachments" / atts[0]
        assert h.read(att / "state") == "mapped\n"
        for src, dst in ((64, SZ_2M + 128), (2 * SZ_2M - LEN, 4096)):
            data = bytes((src * 3 + i * 11) & 0xFF for i in range(LEN))
            ctypes.memmove(p + src, data, LEN)
            ctypes.memset(p + dst, 0, LEN)
            err, _, _ = xfer(fd, EDU_DMABUF_XFER, src=src, dst=dst)
            assert err == 0, os.strerror(err)
            assert ctypes.string_at(p + dst, LEN) == data, f"edu's copy {src:#x} -> {dst:#x}"
    finally:
        fcntl.ioctl(fd, EDU_DMABUF_DETACH)
        libc.munmap(p, 4 << 20)
        os.close(dfd)
    assert h.wait_for(lambda: listed() == [], timeout=10)
    assert h.dma_entries(bdf) == dmas, "DMA mappings left behind"
    assert h.wait_for_pool(before) == before


@pytest.mark.dmaheap
def test_unload_refused_once_heaps_are_registered(heaps):
    """The kernel cannot remove a dma-heap, so the module holds itself: rmmod is
    refused with a live allocation and without one, and the heaps still work."""
    dfd, err = alloc("hugedma-2m", SZ_2M)
    assert err == 0, h.errname(err)
    try:
        r = subprocess.run(["rmmod", "hugedma"], capture_output=True, text=True)
        assert r.returncode != 0 and h.loaded(), r.stderr
        assert "in use" in r.stderr or "Resource temporarily unavailable" in r.stderr, r.stderr
    finally:
        os.close(dfd)
    r = subprocess.run(["rmmod", "hugedma"], capture_output=True, text=True)
    assert r.returncode != 0 and h.loaded(), r.stderr
    dfd, err = alloc("hugedma-2m", SZ_2M)
    assert err == 0, h.errname(err)
    os.close(dfd)
    assert listed() == []
