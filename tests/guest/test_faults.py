# SPDX-License-Identifier: GPL-2.0
"""Fault injection: every allocation that mkdir, enable, disable, attach (configfs and
the kernel API), dma-buf export and import make is failed in turn (failslab, then
fail_page_alloc, task-filtered to this thread; faultinject.py says how the walk
reaches each one).  After each forced failure the operation reports a clean errno,
nothing changed (attributes, sysfs, device nodes), and nothing leaked: pool pages
come back, pins go (an imported range returns to the pool on munmap), no DMA
mapping is left (DMA-API debug's own list of the device's mappings), no hold is
left (the buffer disables).  The debug kernel only (FAULT_INJECTION_DEBUG_FS);
the figures are printed at the end (pytest -s, or the junit's system-out).

Pool exhaustion (ENOSPC, nothing taken) and a signal during zeroing (EINTR, nothing
taken; SIGKILL) are test_buffers.py's, which the debug tier runs as well."""
import errno
import fcntl
import os
import pathlib
import time

import pytest

import faultinject as fi
import hugedma_test as h
import test_attach as ta
from test_chardev import libc
from test_import import CONTROL, IOC_IMPORT, IMPORT, huge_map

pytestmark = [pytest.mark.debug, pytest.mark.faultwalk]

NR = 4                                   # 2 MB pages per buffer
BUDGET = float(os.environ.get("HUGEDMA_FAULT_SECONDS", "170"))  # per walk set, soft
RESULT = fi.Walk()
START = []


def deadline():
    return START[0] + BUDGET


@pytest.fixture(scope="module")
def inj():
    if not fi.available():
        pytest.skip("needs a kernel with FAULT_INJECTION_DEBUG_FS, FAILSLAB and "
                    "FAIL_PAGE_ALLOC (the debug kernel: tests/kernel/debug)")
    i = fi.Injector()
    START.append(time.monotonic())
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
    assert not devnode(b.name).exists(), "the device node outlived the failure"


def write_op(path, value):
    def op(arm):
        fd = os.open(path, os.O_WRONLY)
        try:
            arm(True)
            os.write(fd, value.encode())
            return 0
        except OSError as e:
            return e.errno
        finally:
            arm(False)
            os.close(fd)
    return op


ATTRS = ("failslab", "fail_page_alloc")


# ------------------------------------------------------------------ buffers


@pytest.mark.parametrize("attr", ATTRS)
def test_mkdir(inj, klog, attr):
    b = h.Buffer("fmk")

    def op(arm):
        try:
            arm(True)
            os.mkdir(b.dir)
            return 0
        except OSError as e:
            return e.errno
        finally:
            arm(False)

    def failed(rc):
        assert not b.dir.exists()

    def ok():
        assert b.read("size") == "0" and b.read("state") == "disabled"
        os.rmdir(b.dir)

    fi.walk(inj, klog, RESULT, "mkdir", attr, op, failed, ok, deadline=deadline())


@pytest.mark.parametrize("attr", ATTRS)
@pytest.mark.parametrize("node", ["-1", "0"], ids=["writer", "kthread"])
def test_enable(inj, klog, mkbuf, attr, node):
    b = mkbuf(page_size="2M", size=f"{NR * 2}M", node=node)
    base = free2m()

    def failed(rc):
        assert rc in (errno.ENOMEM, errno.ENOSPC), h.errname(rc)
        assert b.read("enable") == "0" and b.read("state") == "disabled"
        assert_unpublished(b)
        assert h.wait_for(lambda: free2m() == base, timeout=5), (free2m(), base)

    def ok():
        assert b.read("state") == "enabled"
        assert b.sysfs("nr_pages").strip() == str(NR)
        addrs = b.phys_addrs()
        assert len(addrs) == NR and not h.check_huge_frames(addrs, h.SZ_2M)
        assert free2m()[0] == base[0] - NR
        if not devnode(b.name).exists():
            # device_add() ignores devtmpfs failures: the driver core's, not ours
            print(f"enable: device node missing after an absorbed failure: {b.name}")
        assert b.disable() == 0
        assert_unpublished(b)
        assert h.wait_for(lambda: free2m() == base, timeout=5)

    fi.walk(inj, klog, RESULT, f"enable(node {node})", attr,
            write_op(b.dir / "enable", "1"), failed, ok, deadline=deadline())


@pytest.mark.parametrize("attr", ATTRS)
def test_disable(inj, klog, mkbuf, attr):
    """Disable cannot fail for want of memory: every attempt disables."""
    b = mkbuf(page_size="2M", size=f"{NR * 2}M")
    base = free2m()

    def prepare():
        if b.read("state") != "enabled":
            assert b.enable() == 0

    def failed(rc):
        raise AssertionError(f"disable failed: {h.errname(rc)}")

    def ok():
        assert b.read("state") == "disabled"
        assert_unpublished(b)
        assert h.wait_for(lambda: free2m() == base, timeout=5)

    fi.walk(inj, klog, RESULT, "disable", attr, write_op(b.dir / "enable", "0"), failed, ok,
            prepare=prepare, deadline=deadline())


# ------------------------------------------------------------------ dma-buf export


@pytest.mark.parametrize("attr", ATTRS)
def test_export(inj, klog, mkbuf, attr):
    b = mkbuf(page_size="2M", size=f"{NR * 2}M")
    base = free2m()
    st = {"bfd": -1, "dfd": -1}

    def prepare():
        if b.read("state") != "enabled":
            assert b.enable() == 0
        if st["bfd"] < 0:
            st["bfd"] = os.open(devnode(b.name), os.O_RDWR)

    def op(arm):
        raw = bytearray(ta.EXPORT.pack(16, os.O_RDWR | os.O_CLOEXEC, 0, 0))
        try:
            arm(True)
            fcntl.ioctl(st["bfd"], ta.IOC_EXPORT, raw)
            arm(False)
            st["dfd"] = ta.EXPORT.unpack(raw)[2]
            return 0
        except OSError as e:
            return e.errno
        finally:
            arm(False)

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
        fi.walk(inj, klog, RESULT, "export", attr, op, failed, ok, prepare=prepare,
                deadline=deadline())
    finally:
        for k in ("dfd", "bfd"):
            if st[k] >= 0:
                os.close(st[k])


# ------------------------------------------------------------------ import


@pytest.mark.parametrize("attr", ATTRS)
def test_import(inj, klog, attr):
    name = "fimp"
    base = free2m()
    st = {"p": None, "cfd": -1}

    def prepare():
        st["p"] = huge_map(2)
        st["cfd"] = os.open(CONTROL, os.O_RDWR)

    def op(arm):
        raw = bytearray(IMPORT.pack(64, 0, st["p"], 2 * h.SZ_2M, name.encode()))
        try:
            arm(True)
            fcntl.ioctl(st["cfd"], IOC_IMPORT, raw)
            return 0
        except OSError as e:
            return e.errno
        finally:
            arm(False)

    def unwind():
        """Close the importer, unmap: every pin must be gone, every page back."""
        os.close(st["cfd"])
        st["cfd"] = -1
        libc.munmap(st["p"], 2 * h.SZ_2M)
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
        assert b.sysfs("source").strip() == "user" and b.sysfs("nr_pages").strip() == "2"
        unwind()

    try:
        fi.walk(inj, klog, RESULT, "import", attr, op, failed, ok, prepare=prepare,
                deadline=deadline())
    finally:
        if st["cfd"] >= 0:
            os.close(st["cfd"])
        if st["p"]:
            libc.munmap(st["p"], 2 * h.SZ_2M)


# ------------------------------------------------------------------ attach (edu)


@pytest.fixture(scope="module")
def edu_dev():
    bdf = ta.edu_bdf()
    if not bdf:
        pytest.skip("no edu device: run in a guest started with tests/vm/run --edu")
    h.load()
    e = ta.Edu(bdf)
    yield e
    r = e.unload()      # DMA-API debug reports mappings a driver leaves behind
    assert r.returncode == 0, r.stderr


def dma_entries(bdf):
    """The device's live DMA mappings, from DMA-API debug's own list."""
    dump = pathlib.Path(fi.DEBUGFS) / "dma-api" / "dump"
    return sum(1 for ln in h.read(dump).splitlines() if ln.startswith(bdf + " "))


@pytest.mark.parametrize("attr", ATTRS)
def test_attach_mkdir(inj, klog, mkbuf, edu_dev, attr):
    b = mkbuf(page_size="2M", size=f"{NR * 2}M")
    att = b.dir / "attachments" / edu_dev.bdf

    def op(arm):
        try:
            arm(True)
            os.mkdir(att)
            return 0
        except OSError as e:
            return e.errno
        finally:
            arm(False)

    def failed(rc):
        assert rc == errno.ENOMEM, h.errname(rc)
        assert not att.exists()

    def ok():
        assert h.read(att / "state").strip() == "disabled"
        os.rmdir(att)

    fi.walk(inj, klog, RESULT, "attach-mkdir", attr, op, failed, ok, deadline=deadline())


@pytest.mark.parametrize("attr", ATTRS)
def test_attach_enable(inj, klog, mkbuf, edu_dev, attr):
    bdf = edu_dev.bdf
    b = mkbuf(page_size="2M", size=f"{NR * 2}M")
    att = b.dir / "attachments" / bdf
    os.mkdir(att)
    base = dma_entries(bdf)
    sysdir = b.dev / "attachments" / bdf

    def prepare():
        if b.read("state") != "enabled":
            assert b.enable() == 0

    def failed(rc):
        assert rc in (errno.ENOMEM, errno.ENOSPC, errno.EIO), h.errname(rc)
        assert h.read(att / "state").strip() == "disabled"
        assert h.read(att / "enable").strip() == "0"
        assert not sysdir.exists(), "a failed map left its sysfs directory"
        assert dma_entries(bdf) == base, "a failed map left DMA mappings behind"
        assert b.disable() == 0, "a failed map keeps the buffer enabled"

    def ok():
        assert h.read(att / "state").strip() == "mapped"
        assert int(h.read(sysdir / "nr_segments")) > 0
        assert dma_entries(bdf) > base
        assert h.write(att / "enable", "0") == 0
        assert not sysdir.exists() and dma_entries(bdf) == base
        assert b.disable() == 0

    try:
        fi.walk(inj, klog, RESULT, "attach-enable", attr, write_op(att / "enable", "1"),
                failed, ok, prepare=prepare, deadline=deadline())
    finally:
        h.write(att / "enable", "0")
        os.rmdir(att)


@pytest.mark.parametrize("attr", ATTRS)
def test_kernel_api_map(inj, klog, mkbuf, edu_dev, attr):
    """hugedma_get() + hugedma_map() from a driver (edu's HOLD ioctl)."""
    bdf = edu_dev.bdf
    b = mkbuf(page_size="2M", size=f"{NR * 2}M")
    base = dma_entries(bdf)
    sysdir = b.dev / "attachments" / bdf

    def prepare():
        if b.read("state") != "enabled":
            assert b.enable() == 0

    def op(arm):
        raw = bytearray(ta.XFER.pack(b.name.encode(), -1, ta.LEN, 0, 0, 0, 0))
        try:
            arm(True)
            fcntl.ioctl(edu_dev.fd, ta.EDU_HOLD, raw)
            return 0
        except OSError as e:
            return e.errno
        finally:
            arm(False)

    def failed(rc):
        assert rc in (errno.ENOMEM, errno.ENOSPC, errno.EIO), h.errname(rc)
        assert not sysdir.exists()
        assert dma_entries(bdf) == base
        assert b.disable() == 0, "a failed hugedma_map() keeps the buffer enabled"

    def ok():
        assert h.read(sysdir / "state").strip() == "mapped"
        assert b.disable() == errno.EBUSY
        fcntl.ioctl(edu_dev.fd, ta.EDU_RELEASE)
        assert dma_entries(bdf) == base
        assert b.disable() == 0

    try:
        fi.walk(inj, klog, RESULT, "kernel-api-map", attr, op, failed, ok, prepare=prepare,
                deadline=deadline())
    finally:
        fcntl.ioctl(edu_dev.fd, ta.EDU_RELEASE)


def test_figures(inj):
    """The run's totals (printed by the module fixture); the goal is 1000 per run."""
    print("\nfault injection so far:", RESULT.summary())
    assert RESULT.injected > 0
    if time.monotonic() < deadline():
        assert RESULT.injected >= 1000, RESULT.summary()

