# SPDX-License-Identifier: GPL-2.0
"""Physical order and contiguity: a buffer whose pages the pool can give as one run
comes out as one extent in ascending physical order, on every fill path (kthreads on
every CPU, on a node's CPUs, the writer itself); `contiguous` 1 makes that a
requirement, found by trying (take every free page, look, give back) since hugedma
cannot read the pool's free lists.

The pool's order is set up by the tests themselves: a buffer freed by hugedma leaves
its pages on top of the free list highest first, and a user mapping that faults them
in address order and unmaps them leaves them lowest first; the module must get both
right.  A fragmented pool is made by a user mapping holding every other page.
Physical addresses come from the buffer's phys_addrs and are checked against
/proc/kpageflags; 2 MB pages throughout but one 1 GB test.
"""
import errno
import mmap

import pytest

import hugedma_test as h

SZ_2M, SZ_1G = h.SZ_2M, h.SZ_1G
PFN_2M = SZ_2M // h.PAGE_SIZE

# (numa_node, the writer's MPOL_BIND): the three ways a buffer is filled
ROUTES = [("-1", None), ("0", None), ("-1", [0])]
ROUTE_IDS = ["all-cpus", "node-kthread", "writer-context"]


def enable(b, membind):
    """Enable b, from a child writer bound to `membind` if given: 0 or the errno."""
    if membind is None:
        return b.enable()
    w = h.ChildWriter(b.dir / "enable", "1", membind=membind)
    try:
        ret, err = w.result()
    finally:
        w.kill()
    return err if ret < 0 else 0


def runs(addrs, page_size):
    return 1 + sum(1 for a, b in zip(addrs, addrs[1:]) if b != a + page_size)


def assert_one_ascending_extent(b, nr, page_size=SZ_2M):
    addrs = b.phys_addrs()
    assert len(addrs) == nr
    assert not h.check_huge_frames(addrs, page_size)
    assert addrs == [addrs[0] + i * page_size for i in range(nr)], \
        f"not one ascending run: {[hex(a) for a in addrs]}"
    assert int(b.sysfs("nr_extents")) == 1
    assert [int(x, 16) for x in b.sysfs("extent_addrs").split()] == [addrs[0]]
    assert b.sysfs("extent_lengths").split() == [str(nr * page_size)]


def need_2m(n):
    have = h.free_pages(SZ_2M)
    if have < n:
        pytest.skip(f"needs {n} free 2 MB pool pages, the guest has {have} "
                    "(run with --hugepages-2m 512)")


def seed_run(mkbuf, nr, reverse):
    """Leave a run of nr pages on top of the 2 MB pool's free list: a contiguous
    buffer's pages, freed by hugedma (highest address on top), or, with reverse,
    then faulted by a user mapping in address order and unmapped (lowest on top)."""
    s = mkbuf(size=nr * SZ_2M, page_size="2M")
    assert s.write("contiguous", "1") == 0
    assert s.enable() == 0
    addrs = s.phys_addrs()
    assert s.disable() == 0
    if reverse:
        with h.HugeMapping(SZ_2M, nr) as m:
            got = m.phys
        # the user took the run highest first: that is what it frees last
        assert got == sorted(addrs, reverse=True), "the pool did not hand the run back on top"
    return sorted(addrs)


# ======================================================================= the attribute

def test_contiguous_default_and_accepted(mkbuf):
    b = mkbuf()
    assert b.read("contiguous") == "0"
    for value, want in (("1", "1"), ("0\n", "0"), (" 1 \n", "1"), ("0", "0")):
        assert b.write("contiguous", value) == 0, repr(value)
        assert b.read("contiguous") == want


@pytest.mark.parametrize("value", ["2", "-1", "yes", "true", "01", "1 1", "0x1", "1\x00"])
def test_contiguous_rejected(mkbuf, value):
    """Anything but 0 or 1 is EINVAL, logged once, and changes nothing."""
    b = mkbuf()
    assert b.write("contiguous", "1") == 0

    def write():
        assert b.write("contiguous", value) == errno.EINVAL

    lines = h.logged(write, lambda ln: ln in h.reject_lines(ln, b.name))
    assert len(lines) == 1 and "rejected contiguous" in lines[0] and "EINVAL" in lines[0], lines
    assert b.read("contiguous") == "1"


def test_contiguous_busy_while_enabled(mkbuf, pool_guard):
    need_2m(2)
    b = mkbuf(size="4M", page_size="2M")
    assert b.enable() == 0

    def writes():
        for value in ("1", "0"):
            assert b.write("contiguous", value) == errno.EBUSY

    lines = h.logged(writes, lambda ln: ln in h.reject_lines(ln, b.name), n=2)
    assert len(lines) == 2 and all("rejected contiguous" in ln and "EBUSY" in ln
                                   for ln in lines), lines
    assert b.read("contiguous") == "0"
    assert b.disable() == 0
    assert b.write("contiguous", "1") == 0


# ======================================================================= order

@pytest.mark.parametrize("contiguous", ["0", "1"])
@pytest.mark.parametrize("reverse", [False, True], ids=["freed-by-hugedma", "reversed-by-user"])
@pytest.mark.parametrize("node,membind", ROUTES, ids=ROUTE_IDS)
def test_run_on_top_comes_out_as_one_extent(mkbuf, pool_guard, node, membind, reverse,
                                            contiguous):
    """Whichever way round the pool holds a run, every fill path puts it in the buffer
    in ascending physical order, one extent, with contiguous 0 as with 1."""
    nr = 8
    need_2m(nr + 4)
    run = seed_run(mkbuf, nr + 4, reverse)
    before = h.snapshot()
    b = mkbuf(size=nr * SZ_2M, page_size="2M", node=node)
    assert b.write("contiguous", contiguous) == 0
    assert enable(b, membind) == 0
    assert_one_ascending_extent(b, nr)
    # the top of the free list: the highest nr of the run, or the lowest nr
    want = run[:nr] if reverse else run[-nr:]
    assert b.phys_addrs() == want
    assert h.free_pages(SZ_2M) == before[("all", SZ_2M)]["free_hugepages"] - \
        before[("all", SZ_2M)]["resv_hugepages"] - nr
    assert b.disable() == 0


@pytest.mark.parametrize("node,membind", ROUTES, ids=ROUTE_IDS)
def test_untouched_pool_contiguous(mkbuf, pool_guard, node, membind):
    """The pool as the earlier tests left it: a contiguous buffer is one extent."""
    need_2m(16)
    b = mkbuf(size=16 * SZ_2M, page_size="2M", node=node)
    assert b.write("contiguous", "1") == 0
    assert enable(b, membind) == 0
    assert_one_ascending_extent(b, 16)
    assert b.disable() == 0


@pytest.mark.gigantic(2)
def test_one_extent_1g(mkbuf, pool_guard):
    """1 GB pages, both ways round: a run of two on top comes out in order."""
    if h.free_pages(SZ_1G) < 2:
        pytest.skip("needs 2 free 1 GB pool pages (run with --hugepages-1g 3)")
    b = mkbuf(size="2G")
    assert b.write("contiguous", "1") == 0
    assert b.enable() == 0
    assert_one_ascending_extent(b, 2, SZ_1G)
    run = b.phys_addrs()
    assert b.disable() == 0
    with h.HugeMapping(SZ_1G, 2) as m:     # take them highest first, free lowest on top
        assert m.phys == run[::-1]
    assert b.write("contiguous", "0") == 0
    assert b.enable() == 0
    assert b.phys_addrs() == run
    assert int(b.sysfs("nr_extents")) == 1
    assert b.disable() == 0


# ======================================================================= a fragmented pool

class Fragmented:
    """Every free 2 MB page taken by a user mapping, then every other one (by physical
    address) given back: no two free pool pages are adjacent.  give_back(a) frees the
    held page at physical address a too."""

    def __init__(self):
        self.nr = h.free_pages(SZ_2M)
        self.m = h.HugeMapping(SZ_2M, self.nr)
        self.index = {a: i for i, a in enumerate(self.m.phys)}
        self.held = set()
        for a, i in self.index.items():
            if (a // SZ_2M) % 2:
                self.held.add(a)
            else:
                self.m.map.madvise(mmap.MADV_REMOVE, i * SZ_2M, SZ_2M)
        self.free = set(self.index) - self.held

    def give_back(self, a):
        self.m.map.madvise(mmap.MADV_REMOVE, self.index[a] * SZ_2M, SZ_2M)
        self.held.discard(a)
        self.free.add(a)

    def close(self):
        self.m.close()


@pytest.fixture
def fragmented(pool_guard):
    need_2m(16)
    f = Fragmented()
    yield f
    f.close()


@pytest.mark.parametrize("node,membind", ROUTES, ids=ROUTE_IDS)
def test_fragmented_pool_refuses_contiguous(mkbuf, fragmented, node, membind):
    """No two free pages adjacent: contiguous 1 fails with ENOSPC having taken
    nothing, and the log says the longest run it found; contiguous 0 takes two
    pages as two extents."""
    assert len(fragmented.free) >= 2
    before = h.snapshot()
    b = mkbuf(size="4M", page_size="2M", node=node)
    assert b.write("contiguous", "1") == 0
    with h.KernelLog() as log:
        assert enable(b, membind) == errno.ENOSPC
        lines = [ln for ln in log.lines() if f"hugedma: {b.name}: contiguous:" in ln]
    assert h.wait_for_pool(before) == before, "the refused enable kept pool pages"
    assert b.read("state") == "disabled" and not b.dev.exists()
    assert len(lines) == 1, lines
    assert "no run of 2 physically contiguous pages" in lines[0], lines
    assert lines[0].endswith("free pages is 1"), lines
    assert f"its {len(fragmented.free)} free pages" in lines[0], lines
    assert b.write("contiguous", "0") == 0
    assert enable(b, membind) == 0
    assert int(b.sysfs("nr_extents")) == 2
    assert b.disable() == 0


@pytest.mark.parametrize("node,membind", ROUTES, ids=ROUTE_IDS)
def test_fragmented_pool_search_finds_the_run(mkbuf, fragmented, node, membind):
    """One run of three among isolated free pages: contiguous 1 finds it wherever it
    is on the free list and puts it in order; every other page goes back."""
    f = fragmented
    mid = next(a for a in sorted(f.held) if a - SZ_2M in f.free and a + SZ_2M in f.free)
    f.give_back(mid)
    before = h.snapshot()
    b = mkbuf(size="6M", page_size="2M", node=node)
    assert b.write("contiguous", "1") == 0
    assert enable(b, membind) == 0
    assert_one_ascending_extent(b, 3)
    assert b.phys_addrs() == [mid - SZ_2M, mid, mid + SZ_2M]
    now = h.snapshot()
    assert now[("all", SZ_2M)]["free_hugepages"] == \
        before[("all", SZ_2M)]["free_hugepages"] - 3
    assert b.disable() == 0
    assert h.wait_for_pool(before) == before


# ======================================================================= NUMA

@pytest.mark.numa
def test_contiguous_is_per_node(mkbuf, pool_guard):
    """contiguous 1 on a node looks for the run on that node only: every node with
    CPUs fills one extent there; a memory-only node under the writer's MPOL_BIND
    too."""
    mem = h.node_list("has_memory")
    if len(mem) < 2:
        pytest.skip(f"needs two or more NUMA nodes with memory, has {mem}")
    tried = 0
    for n in mem:
        if h.node_free(n, SZ_2M) < 4:
            continue
        b = mkbuf(size="8M", page_size="2M", node=str(n))
        assert b.write("contiguous", "1") == 0
        assert enable(b, None if h.node_has_cpus(n) else [n]) == 0
        assert_one_ascending_extent(b, 4)
        assert set(h.pages_by_node(b.phys_addrs())) == {n}
        assert b.disable() == 0
        tried += 1
    if tried < 2:
        pytest.skip("needs 4 free 2 MB pages on two nodes (tests/vm/run --numa ... "
                    "--hugepages-2m 256)")
