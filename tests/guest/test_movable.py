# SPDX-License-Identifier: GPL-2.0
"""Long-term pins: a buffer never holds a page of ZONE_MOVABLE.

make check's `movable` tier boots a guest with movablecore=, so that part of its 2 MB
pool (allocated movable at boot) sits in ZONE_MOVABLE: memory an administrator
expects to offline and hot-unplug, which a page a device writes into must never be.
hugedma pins its pages with FOLL_LONGTERM, and the pool hands such a pin no page of a
movable zone: with only movable pages free, an enable takes nothing (ENOSPC); with
others free, it takes those.  Before 5.13 the pin does not migrate, so hugedma
refuses a movable page it is handed (ENOSPC, and a line in the log).
"""
import ctypes
import mmap
import re

import pytest

import hugedma_test as h

pytestmark = pytest.mark.movable

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
MAP_HUGETLB, MAP_HUGE_2MB = 0x40000, 21 << 26


def movable_spans():
    """(first pfn, end pfn) of every populated Movable zone, from /proc/zoneinfo."""
    zones = []                                  # [zone name, spanned, start_pfn]
    for ln in h.read("/proc/zoneinfo").splitlines():
        m = re.match(r"Node \d+, zone\s+(\w+)", ln)
        f = ln.split()
        if m:
            zones.append([m.group(1), 0, 0])
        elif zones and f[:1] == ["spanned"]:
            zones[-1][1] = int(f[1])
        elif zones and f[:1] == ["start_pfn:"]:
            zones[-1][2] = int(f[1])
    return [(start, start + n) for name, n, start in zones if name == "Movable" and n]


def movable(phys, spans):
    pfn = phys // h.PAGE_SIZE
    return any(a <= pfn < b for a, b in spans)


def pagemap_phys(addr):
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(addr // h.PAGE_SIZE * 8)
        e = int.from_bytes(f.read(8), "little")
    assert e >> 63, f"page at {addr:#x} not present"
    return (e & ((1 << 55) - 1)) * h.PAGE_SIZE


@pytest.fixture
def held_pool():
    """Every free 2 MB pool page, faulted into a private mapping of this process:
    (address, [(physical address, movable?)]); what a test gives back returns to
    the pool, the rest at the end."""
    spans = movable_spans()
    assert spans, "needs a guest booted with movablecore= (make check's movable tier)"
    n = h.free_pages(h.SZ_2M)
    p = libc.mmap(None, n * h.SZ_2M, mmap.PROT_READ | mmap.PROT_WRITE,
                  mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0)
    assert p != ctypes.c_void_p(-1).value, ctypes.get_errno()
    pages = []
    for i in range(n):
        ctypes.c_char.from_address(p + i * h.SZ_2M).value = b"p"
        a = pagemap_phys(p + i * h.SZ_2M)
        pages.append((a, movable(a, spans)))
    kept = set(range(n))

    def give_back(which):
        for i in which:
            assert libc.munmap(p + i * h.SZ_2M, h.SZ_2M) == 0
            kept.discard(i)

    yield pages, give_back
    give_back(sorted(kept))


def test_only_movable_pages_free_enable_takes_nothing(mkbuf, pool_guard, held_pool):
    pages, give_back = held_pool
    mov = [i for i, (_, m) in enumerate(pages) if m]
    assert mov, "no 2 MB pool page in ZONE_MOVABLE: raise movablecore="
    give_back(mov)                      # the pool's free pages: all movable
    assert h.free_pages(h.SZ_2M) == len(mov)
    before = h.snapshot()
    b = mkbuf(page_size="2M", size="2M")
    log = h.KernelLog()
    rc = b.enable()
    assert h.errname(rc) == "ENOSPC", "a buffer took a page of ZONE_MOVABLE" if rc == 0 else rc
    assert b.read("state") == "disabled"
    assert h.snapshot() == before
    # before 5.13 the pin does not migrate: hugedma finds the page there and says so
    said = [ln for ln in log.lines() if "handed out a page of ZONE_MOVABLE" in ln]
    log.close()
    assert bool(said) == h.kernel_before(5, 13), said


def test_enable_takes_pages_outside_movable_zones(mkbuf, pool_guard, held_pool):
    pages, give_back = held_pool
    mov = [i for i, (_, m) in enumerate(pages) if m]
    other = [i for i, (_, m) in enumerate(pages) if not m]
    assert mov and len(other) >= 4, "needs 2 MB pool pages in and out of ZONE_MOVABLE"
    give_back(mov + other[:4])          # free: the movable ones first, and four others
    b = mkbuf(page_size="2M", size="8M")
    assert b.enable() == 0, "FOLL_LONGTERM found no pinnable page"
    spans = movable_spans()
    assert not [a for a in b.phys_addrs() if movable(a, spans)], "a page of ZONE_MOVABLE"
    assert b.disable() == 0


def test_zone_check_sees_movable_pages(held_pool):
    """The test's own instrument: a user mapping does take movable pool pages."""
    pages, _ = held_pool
    assert any(m for _, m in pages) and not all(m for _, m in pages), \
        "the guest's 2 MB pool is not split across ZONE_MOVABLE and the other zones"
