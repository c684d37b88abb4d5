# SPDX-License-Identifier: GPL-2.0
"""Fixtures for tests that run inside the hugedma test guest (tests/vm/run).

- every test starts with the module loaded (unless it asks for `unloaded`);
- every test ends with the hugetlb pool counters, global and per node, exactly
  as they were before it (after its buffers are removed);
- the session ends by removing the module and checking the pool once more;
- with HUGEDMA_STRICT=1 (make check) a skipped test fails the run: a suite that
  skips its core cases has not passed.
"""
import os
import pathlib
import subprocess

import pytest

import hugedma_test as h

STRICT = os.environ.get("HUGEDMA_STRICT") == "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "numa: needs a guest with two or more NUMA nodes")
    config.addinivalue_line("markers", "gigantic(n): needs n free 1 GB pool pages")
    config.addinivalue_line("markers", "edu: needs QEMU's edu device (tests/vm/run --edu)")
    config.addinivalue_line("markers", "movable: needs part of the 2 MB pool in ZONE_MOVABLE "
                            "(tests/vm/run --append movablecore=...): make check's movable tier")
    config.addinivalue_line("markers", "iommu: needs an IOMMU (tests/vm/run --iommu)")
    config.addinivalue_line("markers", "debug: needs the debug kernel (tests/kernel/debug: "
                            "KUnit, fault injection); Debian-kernel tiers deselect it")
    config.addinivalue_line("markers", "kmemleak: a leak run: needs the debug kernel booted "
                            "with kmemleak=on (tier debug-leaks)")
    config.addinivalue_line("markers", "dkms: needs the booted kernel's headers in "
                            "/lib/modules/$(uname -r)/build (Debian-packaged kernels)")
    config.addinivalue_line("markers", "deb: installs and purges the Debian packages that "
                            "tests/deb-build made for the booted kernel (build/deb)")
    config.addinivalue_line("markers", "races: the multi-process stress test "
                            "(HUGEDMA_RACE_SECONDS, default 30)")
    config.addinivalue_line("markers", "faultwalk: the fault-injection walk (test_faults.py, "
                            "debug kernel; a few minutes)")
    config.addinivalue_line("markers", "table: one case of a table of input values for the "
                            "module's parsing (the same code on every kernel): the default "
                            "kernel runs the tables; KUnit and the fuzz test cover the parser "
                            "under the debug kernel")
    config.addinivalue_line("markers", "fuzz: the hostile-input test: the default and the "
                            "debug kernel")
    config.addinivalue_line("markers", "dmaheap: needs hugedma's dma-heaps, so a kernel that "
                            "exports dma_heap_add() (7.2): deselected elsewhere")
    config.addinivalue_line("markers", "userspace: the user-space tools' own tests (hugedmactl, "
                            "libhugedma, make install, DKMS): run on the default kernel only")


def pytest_collection_modifyitems(config, items):
    if not pathlib.Path("/run/hugedma-vm").exists() and not os.environ.get("HUGEDMA_VM"):
        skip = pytest.mark.skip(reason="not inside a hugedma test guest (use tests/vm/run)")
        for item in items:
            item.add_marker(skip)
        return
    # test_heap.py last: registering the dma-heaps holds the module loaded for
    # good (module/heap.c), so no later test could unload or reload it
    items.sort(key=lambda item: item.fspath.basename == "test_heap.py")
    # tests of the heaps themselves only where the kernel exports dma_heap_add()
    # (not 6.1, 6.12, 5.10): deselected there, not skipped (HUGEDMA_STRICT);
    # test_heap.py's load test checks those kernels' side
    if not h.kernel_exports("dma_heap_add"):
        gone = [item for item in items if item.get_closest_marker("dmaheap")]
        if gone:
            items[:] = [item for item in items if not item.get_closest_marker("dmaheap")]
            config.hook.pytest_deselected(items=gone)
            tr = config.pluginmanager.get_plugin("terminalreporter")
            if tr:
                tr.write_line(f"deselected {len(gone)} dmaheap tests: this kernel does not "
                              "export dma_heap_add()")


def pytest_runtest_logstart(nodeid, location):
    """Name each test in the kernel log before it starts: when the guest crashes
    (a panic, a soft lockup, a hung task), its console log then says which test
    was running, and tests/check prints that with the crash."""
    try:
        with open("/dev/kmsg", "w") as kmsg:
            kmsg.write(f"<6>hugedma-tests: {nodeid}\n")
    except OSError:
        pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under HUGEDMA_STRICT=1: {reason}"


@pytest.fixture(scope="module", autouse=True)
def kernel_log_clean(request):
    """Fail the test file if the kernel reported a bug while it ran (h.SPLAT_RE:
    KASAN, lockdep, WARNING, BUG, DMA-API debug, ...): the log is read after every
    file, so a splat is charged to the file that caused it.  A file that provokes
    a report on purpose names it in a module-level KERNEL_LOG_ALLOW regex."""
    log = h.KernelLog()
    yield
    bad = h.splats(log.lines(), getattr(request.module, "KERNEL_LOG_ALLOW", None))
    log.close()
    if bad:
        pytest.fail(f"the kernel reported bugs during {request.module.__name__}:\n"
                    + "\n".join(bad[:40]), pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def session_pool():
    """Load once; at the end unload and find the pool as it was at the start."""
    assert h.MODULE.exists(), f"{h.MODULE} is not built (make)"
    if h.loaded():
        assert h.unload() == 0
    stock = h.stock_kernel_splats()
    if stock:
        print("\nthe booted kernel reports these without hugedma; the log checks pass them:\n"
              + "\n".join(stock))
        h.record_figure("stock-kernel reports passed", len(stock))
        h.allow_stock_splats(stock)
    kmemleak = pathlib.Path("/sys/kernel/debug/kmemleak")
    if kmemleak.exists():
        # kmemleak's own thread scans a minute after boot and every 10 minutes;
        # the leak test scans when it needs to (EPERM when kmemleak is off)
        h.write(kmemleak, "scan=off")
    before = h.snapshot()
    yield before
    log = h.KernelLog()
    if h.heaps_registered():
        # test_heap.py registered the dma-heaps: the module holds itself for
        # good and rmmod is refused; every buffer must be gone all the same
        assert h.unload() != 0, "rmmod removed a module with registered dma-heaps"
        assert not list(h.CLASS.iterdir()), "buffers left at the end of the session"
    else:
        assert h.unload() == 0, "rmmod failed at the end of the session"
    bad = h.splats(log.lines())
    log.close()
    assert not bad, "the kernel reported bugs while unloading:\n" + "\n".join(bad)
    after = h.wait_for_pool(before)
    assert after == before, "the hugetlb pool differs after unload"


@pytest.fixture(autouse=True)
def pool_guard(request, session_pool):
    """Check the pool around every test (this fixture is torn down last)."""
    if "unloaded" not in request.fixturenames:
        h.load()
    before = h.snapshot()
    yield before
    after = h.wait_for_pool(before)
    assert after == before, "hugetlb pool counters changed across the test"


@pytest.fixture
def unloaded():
    """The module is not loaded when the test starts; it may load it."""
    assert h.unload() == 0
    yield
    if h.loaded():
        assert h.unload() == 0


_counter = [0]


@pytest.fixture
def mkbuf():
    """Factory: mkbuf(name=None, size=None, page_size=None, node=None) -> h.Buffer.

    Attributes given are written (and must be accepted).  Every buffer made is
    disabled and removed after the test, before pool_guard checks the pool.
    """
    made = []

    def make(name=None, size=None, page_size=None, node=None):
        if name is None:
            _counter[0] += 1
            name = f"t{os.getpid()}-{_counter[0]}"
        b = h.Buffer(name)
        os.mkdir(b.dir)
        made.append(b)
        for attr, val in (("page_size", page_size), ("size", size), ("numa_node", node)):
            if val is not None:
                rc = b.write(attr, val)
                assert rc == 0, f"{attr}={val!r}: {h.errname(rc)}"
        return b

    yield make
    for b in reversed(made):
        b.remove()


@pytest.fixture
def attach(mkbuf):
    """Factory: attach(b, bdf, enable=False) -> 0 or the errno of writing 1 to enable.

    Makes configfs attachments/<bdf> of buffer b; every attachment made is
    unmapped and removed after the test, before its buffer."""
    made = []

    def make(b, bdf, enable=False):
        d = b.dir / "attachments" / bdf
        os.mkdir(d)
        made.append(d)
        return h.write(d / "enable", "1") if enable else 0

    yield make
    for d in reversed(made):
        if d.exists():
            h.write(d / "enable", "0")
            os.rmdir(d)


@pytest.fixture(scope="module")
def edu_mod():
    """hugedma_edu bound to QEMU's edu device, for the test file (h.Edu)."""
    bdf = h.edu_bdf()
    assert bdf, "no edu device: run this file in a guest started with tests/vm/run --edu"
    h.load()
    e = h.Edu(bdf)
    yield e
    r = e.unload()
    assert r.returncode == 0, r.stderr


@pytest.fixture
def edu(edu_mod):
    """edu_mod, loaded (a test may have unloaded it), with the full DMA mask and
    1 GB segments; unpacks as (fd, bdf)."""
    if edu_mod.fd < 0:
        edu_mod.load()
    h.set_dma(edu_mod.fd, 64, 1 << 30)
    return edu_mod


@pytest.fixture
def edu_attachment(edu, mkbuf, attach):
    """Factory: edu_attachment(size="4M") -> (b, att): an enabled buffer of 2 MB
    pages and its configfs attachment for the edu device (attach), not mapped."""
    def make(size="4M"):
        b = mkbuf(page_size="2M", size=size)
        assert b.enable() == 0
        attach(b, edu.bdf)
        return b, b.dir / "attachments" / edu.bdf

    return make


def pytest_sessionfinish(session, exitstatus):
    """Collected kernel log for the host (the results share), if there is one."""
    out = os.environ.get("HUGEDMA_VM_OUT")
    if out and os.path.isdir(out):
        with open(os.path.join(out, "dmesg.txt"), "wb") as f:
            f.write(subprocess.run(["dmesg"], capture_output=True).stdout)
