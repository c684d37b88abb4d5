# SPDX-License-Identifier: GPL-2.0
"""Fault injection: every allocation that mkdir, enable, disable, attach (configfs and
the kernel API), dma-buf export and import make is failed in turn (slab and page
allocations alike, through this thread's fail-nth; faultinject.py says how).  After each forced failure the operation reports a clean errno,
nothing changed (attributes, sysfs, device nodes), and nothing leaked: pool pages
come back, pins go (an imported range returns to the pool on munmap), no DMA
mapping is left (DMA-API debug's own list of the device's mappings), no hold is
left (the buffer disables).  The debug kernel only (FAULT_INJECTION_DEBUG_FS);
the figures are printed at the end (pytest -s, or the junit's system-out).

Pool exhaustion (ENOSPC, nothing taken) and a signal during zeroing (EINTR, nothing
taken; SIGKILL) are test_buffers.py's, which the debug tier runs as well."""
import ctypes
import errno
import fcntl
import mmap
import os
import pathlib
import re
import shutil

import pytest

import faultinject as fi
import hugedma_test as h
from hugedma_test import (CONTROL, IOC_IMPORT, IMPORT, MAP_FAILED, SYS_FINIT_MODULE, huge_map,
                          libc)

pytestmark = [pytest.mark.debug, pytest.mark.faultwalk]

NR = 4                                   # 2 MB pages per buffer
MAP_NR = 32         # for mappings: a step per IOMMU page table and segment
RESULT = fi.Walk()
# The module loader's jump-label notifier WARNs when its own allocation fails,
# and again when the failed module's jump entries are dropped: the kernel's.
KERNEL_LOG_ALLOW = re.compile(r"kernel/jump_label\.c:\d+ jump_label_")


@pytest.fixture(scope="module")
def inj():
    if not fi.available():
        pytest.skip("needs a kernel with FAULT_INJECTION_DEBUG_FS, FAILSLAB and "
                    "FAIL_PAGE_ALLOC (the debug kernel: tests/kernel/debug)")
    i = fi.Injector()
    yield i
    i.close()
    print("\nfault injection:", RESULT.summary())
    for op, n in RESULT.per_op.items():
        print(f"  {op}: {n}")
    out = os.environ.get("HUGEDMA_VM_OUT")
    if out and os.path.isdir(out):
        with open(os.path.join(out, "faults.txt"), "w") as f:
            f.write(RESULT.summary() + "\n")
            for op, n in RESULT.per_op.items():
                f.write(f"{op}: {n}\n")
            for s in sorted(RESULT.ours):
                f.write(f"site {s}\n")


@pytest.fixture
def klog():
    with h.KernelLog() as k:
        yield k


def free2m():
    p = h.pool(h.SZ_2M)
    return p["free_hugepages"], p["resv_hugepages"]


def devnode(name):
    return pathlib.Path(f"/dev/hugedma/{name}")


def assert_unpublished(b):
    assert not b.dev.exists(), "the class device outlived the failure"
    if devnode(b.name).exists():
        # device_del() ignores devtmpfs failures (its name allocation in
        # device_get_devnode()): the driver core's, and every driver's
        print(f"device node left by the driver core after an absorbed failure: {b.name}")
        os.unlink(devnode(b.name))


def libc_op(fn, *args):
    """The op for fi.walk() of a libc call that returns -1 and sets errno."""
    def op(arm):
        try:
            arm(True)
            r = fn(*args)
            e = ctypes.get_errno() if r in (-1, MAP_FAILED) else 0
        finally:
            arm(False)
        return e
    return op


def armed(call):
    """The op for fi.walk(): call() (one system call) with the injector armed
    around it; 0, or the errno it failed with."""
    def op(arm):
        try:
            arm(True)
            call()
            return 0
        except OSError as e:
            return e.errno
        finally:
            arm(False)
    return op


def write_op(path, value):
    """Writing value to an attribute: the file is opened before arming."""
    def op(arm):
        fd = os.open(path, os.O_WRONLY)
        try:
            return armed(lambda: os.write(fd, value.encode()))(arm)
        finally:
            os.close(fd)
    return op


# ------------------------------------------------------------------ buffers


def test_mkdir(inj, klog):
    b = h.Buffer("fmk")

    def failed(rc):
        assert not b.dir.exists()

    def ok():
        assert b.read("size") == "0" and b.read("state") == "disabled"
        os.rmdir(b.dir)

    fi.walk(inj, klog, RESULT, "mkdir", armed(lambda: os.mkdir(b.dir)), failed, ok)


def test_module_load(inj, klog):
    """finit_module(hugedma.ko): every allocation from do_init_module() on
    (hugedma's init, then the loader's last steps) fails in turn; a failed load
    leaves nothing registered behind it.  The ~180 allocations the loader
    makes before it are the kernel's: the walk skips them (fi.find_start()),
    having checked the first of hugedma's.  The module is read from tmpfs
    (each attempt reads all of it)."""
    assert h.unload() == 0
    before = h.snapshot()
    ko = pathlib.Path("/run/hugedma-walk.ko")
    shutil.copyfile(h.MODULE, ko)
    fd = os.open(ko, os.O_RDONLY)

    def gone():
        assert not h.loaded()
        assert not h.CLASS.exists(), "the class outlived a failed load"
        assert not pathlib.Path(CONTROL).exists(), "the control device outlived it"
        assert not h.BUFFERS.parent.exists(), "the configfs subsystem outlived it"
        assert "hugedma" not in h.read("/proc/devices"), "the chrdev region outlived it"

    def failed(rc):
        assert rc in (errno.ENOMEM, errno.EFAULT, errno.ENOSPC), h.errname(rc)
        gone()
        assert h.wait_for_pool(before) == before

    def ok():
        assert h.BUFFERS.exists()
        d = pathlib.Path(CONTROL).parent
        assert not d.exists() or d.is_dir(), f"{d} is a node, not the nodes' directory"
        if not pathlib.Path(CONTROL).exists():
            # device_add() ignores devtmpfs failures: the driver core's
            print(f"module load: no {CONTROL} after an absorbed failure")
        b = h.Buffer("fload")
        os.mkdir(b.dir)
        assert b.write("page_size", "2M") == 0 and b.write("size", "2M") == 0
        assert b.enable() == 0 and b.disable() == 0
        os.rmdir(b.dir)
        assert h.unload() == 0
        gone()

    def undo():
        if h.loaded():
            assert h.unload() == 0
        gone()

    op = libc_op(libc.syscall, SYS_FINIT_MODULE, fd, b"", 0)
    try:
        start = fi.find_start(inj, klog, op,
                              lambda frames: any(f.startswith("do_init_module")
                                                 for f in frames),
                              undo, allow=KERNEL_LOG_ALLOW)
        print(f"module load: the walk starts at call {start}")
        fi.walk(inj, klog, RESULT, "module load", op, failed, ok,
                allow=KERNEL_LOG_ALLOW, start=start)
    finally:
        os.close(fd)
        ko.unlink()
        h.load()


SYS_SET_MEMPOLICY = 238
MPOL_DEFAULT, MPOL_PREFERRED = 0, 1


@pytest.fixture
def mempolicy(request):
    """MPOL_PREFERRED node 0 for this thread while the test runs (when asked):
    hugedma then faults the pages in the writer itself, under its policy."""
    if not request.param:
        yield False
        return
    mask = ctypes.c_ulong(1)
    assert libc.syscall(SYS_SET_MEMPOLICY, MPOL_PREFERRED, ctypes.byref(mask), 64) == 0
    yield True
    assert libc.syscall(SYS_SET_MEMPOLICY, MPOL_DEFAULT, None, 0) == 0


def enable_checks(b, nr):
    """failed() and ok() for a walk over the enable of buffer b (nr pages)."""
    base = free2m()

    def failed(rc):
        assert rc in (errno.ENOMEM, errno.ENOSPC), h.errname(rc)
        assert b.read("enable") == "0" and b.read("state") == "disabled"
        assert_unpublished(b)
        assert h.wait_for(lambda: free2m() == base, timeout=5), (free2m(), base)

    def ok():
        assert b.read("state") == "enabled"
        assert b.sysfs("nr_pages").strip() == str(nr)
        addrs = b.phys_addrs()
        assert len(addrs) == nr and not h.check_huge_frames(addrs, h.SZ_2M)
        assert free2m()[0] == base[0] - nr
        if not devnode(b.name).exists():
            # device_add() ignores devtmpfs failures: the driver core's, not ours
            print(f"enable: device node missing after an absorbed failure: {b.name}")
        assert b.disable() == 0
        assert_unpublished(b)
        assert h.wait_for(lambda: free2m() == base, timeout=5)

    return failed, ok


# the fill's three ways: kthreads on every CPU, kthreads on the node's CPUs, and
# the writer itself (one page; or a writer with a memory policy of its own); and
# a larger buffer, for the work done per page (holds, extents)
@pytest.mark.parametrize("node,nr,mempolicy", [
    ("-1", NR, False), ("-1", 2 * NR, False), ("0", NR, False), ("-1", 1, False),
    ("-1", NR, True)],
    ids=["kthreads", "kthreads-8pages", "node-kthreads", "writer-1page",
         "writer-mempolicy"],
    indirect=["mempolicy"])
def test_enable(inj, klog, mkbuf, node, nr, mempolicy):
    b = mkbuf(page_size="2M", size=f"{nr * 2}M", node=node)
    failed, ok = enable_checks(b, nr)
    fi.walk(inj, klog, RESULT, f"enable(node {node}, {nr} pages"
            f"{', writer policy' if mempolicy else ''})",
            write_op(b.dir / "enable", "1"), failed, ok)


@pytest.mark.parametrize("attr", ["failslab", "fail_page_alloc"])
@pytest.mark.parametrize("node", ["-1", "0"], ids=["kthreads", "node-kthreads"])
def test_enable_in_kthreads(inj, klog, mkbuf, attr, node):
    """The fill's workers: their creation by kthreadd and their faults, failed
    in turn through the task filter (fi.TaskFilter)."""
    b = mkbuf(page_size="2M", size=f"{NR * 2}M", node=node)
    failed, ok = enable_checks(b, NR)
    tf = fi.TaskFilter(attr)
    try:
        fi.walk(tf, klog, RESULT, f"enable kthreads(node {node}, {attr})",
                write_op(b.dir / "enable", "1"), failed, ok)
    finally:
        tf.close()


def test_rmdir(inj, klog):
    b = h.Buffer("frm")

    def prepare():
        if not b.dir.exists():
            os.mkdir(b.dir)

    def failed(rc):
        assert rc == errno.ENOMEM, h.errname(rc)
        assert b.read("state") == "disabled"

    def ok():
        assert not b.dir.exists()

    fi.walk(inj, klog, RESULT, "rmdir", armed(lambda: os.rmdir(b.dir)), failed, ok,
            prepare=prepare)


def test_sysfs_reads(inj, klog, mkbuf, edu_dev, attach):
    """Every file the enabled buffer and its attachment (mapped for edu)
    publish, read (root): a failed read changes nothing, a successful one
    reads what it read before."""
    b = mkbuf(page_size="2M", size=f"{NR * 2}M")
    att = b.dir / "attachments" / edu_dev.bdf
    attach(b, edu_dev.bdf)
    assert b.enable() == 0
    assert h.write(att / "enable", "1") == 0
    files = [p for d in (b.dev, b.dev / "attachments" / edu_dev.bdf) for p in d.iterdir()
             if p.is_file() and os.access(p, os.R_OK) and p.name != "uevent"]
    assert len(files) >= 15, files
    buf = bytearray(1 << 20)        # no allocation (a system call) while armed
    for f in files:
        want = h.read(f)
        got = {}

        def read_it():
            fd = os.open(f, os.O_RDONLY)
            try:
                got["n"] = os.readv(fd, [buf])
            finally:
                os.close(fd)

        def failed(rc):
            assert rc == errno.ENOMEM, h.errname(rc)
            assert h.read(f) == want

        def ok():
            assert buf[:got["n"]].decode() == want

        fi.walk(inj, klog, RESULT, f"read {f.relative_to(b.dev)}", armed(read_it), failed, ok)
    assert h.write(att / "enable", "0") == 0
    os.rmdir(att)
    assert b.disable() == 0


@pytest.mark.parametrize("attr,value", [("size", "6M"), ("page_size", "1G"),
                                        ("numa_node", "0")])
def test_setters(inj, klog, mkbuf, attr, value):
    """A disabled buffer's attribute writes: a failed one keeps the old value.
    (page_size and numa_node on a buffer without a size: any value fits.)"""
    b = mkbuf(page_size="2M", size=f"{NR * 2}M" if attr == "size" else None)
    old = b.read(attr)

    def failed(rc):
        assert rc == errno.ENOMEM, h.errname(rc)
        assert b.read(attr) == old

    def ok():
        assert b.read(attr) != old
        assert b.write(attr, old) == 0 and b.read(attr) == old

    fi.walk(inj, klog, RESULT, f"write {attr}", write_op(b.dir / attr, value), failed, ok)


@pytest.mark.parametrize("node", ["buffer", "control"])
def test_open(inj, klog, mkbuf, node):
    """open() of a buffer's node and of the control node: a failed open takes
    no hold (the buffer disables afterwards)."""
    b = mkbuf(page_size="2M", size=f"{NR * 2}M")
    assert b.enable() == 0
    path = devnode(b.name) if node == "buffer" else pathlib.Path(CONTROL)
    st = {}

    def call():
        st["fd"] = os.open(path, os.O_RDWR)

    def failed(rc):
        assert rc == errno.ENOMEM, h.errname(rc)

    def ok():
        os.close(st.pop("fd"))

    fi.walk(inj, klog, RESULT, f"open {node}", armed(call), failed, ok)
    assert b.disable() == 0, "a failed open left a hold"


def test_mmap(inj, klog, mkbuf):
    """mmap of /dev/hugedma/NAME: a failed one maps nothing and holds nothing."""
    b = mkbuf(page_size="2M", size=f"{NR * 2}M")
    assert b.enable() == 0
    length = NR * h.SZ_2M
    fd = os.open(devnode(b.name), os.O_RDWR)
    st = {}

    def op(arm):
        try:
            arm(True)
            p = libc.mmap(None, length, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED,
                          fd, 0)
            e = ctypes.get_errno() if p == MAP_FAILED else 0
        finally:
            arm(False)
        st["p"] = None if e else p
        return e

    def failed(rc):
        assert rc == errno.ENOMEM, h.errname(rc)
        assert str(devnode(b.name)) not in h.read("/proc/self/maps"), "a failed mmap mapped"

    def ok():
        ctypes.memset(st["p"], 0x5a, 4096)
        assert libc.munmap(st["p"], length) == 0

    try:
        fi.walk(inj, klog, RESULT, "mmap", op, failed, ok)
    finally:
        os.close(fd)
    assert b.disable() == 0, "a hold leaked"


def test_disable(inj, klog, mkbuf):
    """hugedma's disable allocates nothing; a write that fails before it (configfs's
    buffer for the written value) leaves the buffer enabled, pages and all."""
    b = mkbuf(page_size="2M", size=f"{NR * 2}M")
    base = free2m()

    def prepare():
        if b.read("state") != "enabled":
            assert b.enable() == 0

    def failed(rc):
        assert rc == errno.ENOMEM, h.errname(rc)
        assert b.read("state") == "enabled" and b.read("enable") == "1"
        assert b.sysfs("nr_pages").strip() == str(NR)
        assert devnode(b.name).exists()
        assert free2m()[0] == base[0] - NR

    def ok():
        assert b.read("state") == "disabled"
        assert_unpublished(b)
        assert h.wait_for(lambda: free2m() == base, timeout=5)

    fi.walk(inj, klog, RESULT, "disable", write_op(b.dir / "enable", "0"), failed, ok,
            prepare=prepare)


# ------------------------------------------------------------------ dma-buf export


def test_export(inj, klog, mkbuf):
    b = mkbuf(page_size="2M", size=f"{NR * 2}M")
    base = free2m()
    st = {"bfd": -1, "dfd": -1}

    def prepare():
        if b.read("state") != "enabled":
            assert b.enable() == 0
        if st["bfd"] < 0:
            st["bfd"] = os.open(devnode(b.name), os.O_RDWR)

    def op(arm):
        raw = bytearray(h.EXPORT.pack(16, os.O_RDWR | os.O_CLOEXEC, 0, 0))
        rc = armed(lambda: fcntl.ioctl(st["bfd"], h.IOC_EXPORT, raw))(arm)
        if rc == 0:
            st["dfd"] = h.EXPORT.unpack(raw)[2]
        return rc

    def no_hold():
        """Nothing but the fd kept the buffer: once closed, it disables."""
        os.close(st["bfd"])
        st["bfd"] = -1
        assert b.disable() == 0, "a hold or reference leaked"
        assert h.wait_for(lambda: free2m() == base, timeout=5)

    def failed(rc):
        assert rc in (errno.ENOMEM, errno.EMFILE, errno.ENFILE), h.errname(rc)
        no_hold()

    def ok():
        dfd = st["dfd"]
        assert f"name:\t{b.name}" in h.read(f"/proc/self/fdinfo/{dfd}")
        assert b.disable() == errno.EBUSY
        os.close(dfd)
        st["dfd"] = -1
        no_hold()

    try:
        fi.walk(inj, klog, RESULT, "export", op, failed, ok, prepare=prepare)
    finally:
        for k in ("dfd", "bfd"):
            if st[k] >= 0:
                os.close(st[k])


# ------------------------------------------------------------------ import


@pytest.mark.parametrize("pages", [2, 8, 32])
def test_import(inj, klog, pages):
    name = "fimp"
    base = free2m()
    st = {"p": None, "cfd": -1}

    def prepare():
        st["p"] = huge_map(pages)
        st["cfd"] = os.open(CONTROL, os.O_RDWR)

    def op(arm):
        raw = bytearray(IMPORT.pack(64, 0, st["p"], pages * h.SZ_2M, name.encode()))
        return armed(lambda: fcntl.ioctl(st["cfd"], IOC_IMPORT, raw))(arm)

    def unwind():
        """Close the importer, unmap: every pin must be gone, every page back."""
        os.close(st["cfd"])
        st["cfd"] = -1
        libc.munmap(st["p"], pages * h.SZ_2M)
        st["p"] = None
        assert not h.Buffer(name).dev.exists(), "the imported buffer outlived its importer"
        assert h.wait_for(lambda: free2m() == base, timeout=5), \
            f"a pinned page leaked: {free2m()} != {base}"

    def failed(rc):
        assert rc in (errno.ENOMEM, errno.EFAULT, errno.ENOSPC), h.errname(rc)
        assert not h.Buffer(name).dev.exists()
        unwind()

    def ok():
        b = h.Buffer(name)
        assert b.sysfs("source").strip() == "user" and b.sysfs("nr_pages").strip() == str(pages)
        unwind()

    try:
        fi.walk(inj, klog, RESULT, f"import({pages} pages)", op, failed, ok, prepare=prepare)
    finally:
        if st["cfd"] >= 0:
            os.close(st["cfd"])
        if st["p"]:
            libc.munmap(st["p"], pages * h.SZ_2M)


# ------------------------------------------------------------------ attach (edu)


@pytest.fixture(scope="module")
def edu_dev():
    bdf = h.edu_bdf()
    if not bdf:
        pytest.skip("no edu device: run in a guest started with tests/vm/run --edu")
    h.load()
    e = h.Edu(bdf)
    yield e
    r = e.unload()      # DMA-API debug reports mappings a driver leaves behind
    assert r.returncode == 0, r.stderr


def test_attach_mkdir(inj, klog, mkbuf, edu_dev):
    b = mkbuf(page_size="2M", size=f"{NR * 2}M")
    att = b.dir / "attachments" / edu_dev.bdf

    def failed(rc):
        assert rc == errno.ENOMEM, h.errname(rc)
        assert not att.exists()

    def ok():
        assert h.read(att / "state").strip() == "disabled"
        os.rmdir(att)

    fi.walk(inj, klog, RESULT, "attach-mkdir", armed(lambda: os.mkdir(att)), failed, ok)


@pytest.mark.parametrize("nr", [NR, MAP_NR])
def test_attach_enable(inj, klog, mkbuf, edu_dev, attach, nr):
    bdf = edu_dev.bdf
    b = mkbuf(page_size="2M", size=f"{nr * 2}M")
    att = b.dir / "attachments" / bdf
    attach(b, bdf)
    base = h.dma_entries(bdf)
    sysdir = b.dev / "attachments" / bdf

    def prepare():
        if b.read("state") != "enabled":
            assert b.enable() == 0

    def failed(rc):
        assert rc in (errno.ENOMEM, errno.ENOSPC, errno.EIO), h.errname(rc)
        assert h.read(att / "state").strip() == "disabled"
        assert h.read(att / "enable").strip() == "0"
        assert not sysdir.exists(), "a failed map left its sysfs directory"
        assert h.dma_entries(bdf) == base, "a failed map left DMA mappings behind"
        assert b.disable() == 0, "a failed map keeps the buffer enabled"

    def ok():
        assert h.read(att / "state").strip() == "mapped"
        assert int(h.read(sysdir / "nr_segments")) > 0
        assert h.dma_entries(bdf) > base
        assert h.write(att / "enable", "0") == 0
        assert not sysdir.exists() and h.dma_entries(bdf) == base
        assert b.disable() == 0

    fi.walk(inj, klog, RESULT, f"attach-enable({nr} pages)", write_op(att / "enable", "1"),
            failed, ok, prepare=prepare)


@pytest.mark.parametrize("nr", [NR, MAP_NR])
def test_kernel_api_map(inj, klog, mkbuf, edu_dev, nr):
    """hugedma_get() + hugedma_map() from a driver (edu's HOLD ioctl)."""
    bdf = edu_dev.bdf
    b = mkbuf(page_size="2M", size=f"{nr * 2}M")
    base = h.dma_entries(bdf)
    sysdir = b.dev / "attachments" / bdf

    def prepare():
        if b.read("state") != "enabled":
            assert b.enable() == 0

    def op(arm):
        raw = bytearray(h.XFER.pack(b.name.encode(), -1, h.LEN, 0, 0, 0, 0))
        return armed(lambda: fcntl.ioctl(edu_dev.fd, h.EDU_HOLD, raw))(arm)

    def failed(rc):
        assert rc in (errno.ENOMEM, errno.ENOSPC, errno.EIO), h.errname(rc)
        assert not sysdir.exists()
        assert h.dma_entries(bdf) == base
        assert b.disable() == 0, "a failed hugedma_map() keeps the buffer enabled"

    def ok():
        assert h.read(sysdir / "state").strip() == "mapped"
        assert b.disable() == errno.EBUSY
        fcntl.ioctl(edu_dev.fd, h.EDU_RELEASE)
        assert h.dma_entries(bdf) == base
        assert b.disable() == 0

    try:
        fi.walk(inj, klog, RESULT, f"kernel-api-map({nr} pages)", op, failed, ok, prepare=prepare)
    finally:
        fcntl.ioctl(edu_dev.fd, h.EDU_RELEASE)


@pytest.mark.parametrize("nr", [NR, MAP_NR])
def test_dmabuf_map(inj, klog, mkbuf, edu_dev, nr):
    """A driver maps an exported dma-buf (dma_buf_attach() and
    dma_buf_map_attachment() through edu's DMABUF ioctl, which then DMAs a
    page of it): a failure anywhere leaves no mapping and no attachment."""
    bdf = edu_dev.bdf
    b = mkbuf(page_size="2M", size=f"{nr * 2}M")
    assert b.enable() == 0
    base = h.dma_entries(bdf)
    bfd = os.open(devnode(b.name), os.O_RDWR)
    raw = bytearray(h.EXPORT.pack(16, os.O_RDWR | os.O_CLOEXEC, 0, 0))
    fcntl.ioctl(bfd, h.IOC_EXPORT, raw)
    dfd = h.EXPORT.unpack(raw)[2]

    def op(arm):
        raw = bytearray(h.XFER.pack(b"", dfd, h.LEN, 0, h.LEN, 0, 0))
        return armed(lambda: fcntl.ioctl(edu_dev.fd, h.EDU_DMABUF, raw))(arm)

    def failed(rc):
        assert rc in (errno.ENOMEM, errno.ENOSPC, errno.EIO), h.errname(rc)
        assert h.dma_entries(bdf) == base, "a failed dma-buf map left DMA mappings behind"
        assert not (b.dev / "attachments" / bdf).exists()

    def ok():
        assert h.dma_entries(bdf) == base
        assert not (b.dev / "attachments" / bdf).exists()

    try:
        fi.walk(inj, klog, RESULT, f"dmabuf-map({nr} pages)", op, failed, ok)
    finally:
        os.close(dfd)
        os.close(bfd)
    assert b.disable() == 0, "a hold or reference leaked"


def test_figures(inj):
    """The run's totals (printed by the module fixture): every walk above ran to
    its end, so this is every allocation call the operations make."""
    print("\nfault injection:", RESULT.summary())
    h.record_figure("faults injected", RESULT.injected)
    h.record_figure("fault points (call chains)", len(RESULT.sites))
    h.record_figure("fault points in hugedma", len(RESULT.ours))
    assert RESULT.injected >= 1000, RESULT.summary()
    assert RESULT.ours, "no failure was injected inside hugedma itself"

