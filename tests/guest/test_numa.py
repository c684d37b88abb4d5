# SPDX-License-Identifier: GPL-2.0
"""NUMA placement of buffer pages (needs a guest with two or more nodes), e.g.

    tests/vm/run --numa 0:4G:1,1:4G:2,2:2G:0:nocpu --hugepages-2m 256 -- \\
        python3 -m pytest -m numa tests/guest/test_numa.py

The design under test: numa_node=N on a node with CPUs -> a kthread bound to N
takes the pages; numa_node=-1 or a memory-only node -> the writer's own context
and memory policy.  Either way every page's node is checked and a strict buffer
fails with ENOSPC, giving everything back, rather than keep a page off its node.

Where a page is comes from sysfs memory blocks (h.pfn_node), never from the
module; pool counters are compared per node, exactly.
"""
import errno
import os
import pathlib
import subprocess
import types

import pytest

import hugedma_test as h

pytestmark = pytest.mark.numa

SZ_2M, SZ_1G = h.SZ_2M, h.SZ_1G


@pytest.fixture(scope="module")
def topo():
    mem = h.node_list("has_memory")
    if len(mem) < 2:
        pytest.skip(f"needs a guest with two or more NUMA nodes with memory, has {mem} "
                    "(tests/vm/run --numa ...)")
    cpu = [n for n in mem if h.node_has_cpus(n)]
    return types.SimpleNamespace(mem=mem, cpu=cpu,
                                 memonly=[n for n in mem if n not in cpu])


@pytest.fixture
def grow_2m():
    """ensure(node, n): the node has at least n free 2M pages, growing its pool if
    need be; the pool is shrunk back after the test.  Request it before mkbuf, so
    the buffers are gone before the pool shrinks."""
    changed = []

    def ensure(node, n):
        have = h.node_free(node, SZ_2M)
        if have >= n:
            return
        nr = h.node_pool(node, SZ_2M)["nr_hugepages"]
        changed.append((node, nr))
        h.set_node_pages(node, SZ_2M, nr + n - have)
        if h.node_free(node, SZ_2M) < n:
            pytest.skip(f"node {node} could not grow its 2M pool to {n} free pages")

    yield ensure
    for node, nr in reversed(changed):
        assert h.set_node_pages(node, SZ_2M, nr) == nr


def memonly_node(topo):
    if not topo.memonly:
        pytest.skip("needs a memory-only NUMA node (tests/vm/run --numa ...:nocpu)")
    return topo.memonly[0]


def node_of_all(addrs):
    by = h.pages_by_node(addrs)
    return next(iter(by)) if len(by) == 1 else -1


def strict_enable_ok(b, node, nr, ps, before, writer=None):
    """b (numa_node=node, nr pages of ps) enabled: check every page and counter."""
    if writer is None:
        assert h.errname(b.enable()) == "OK"
    else:
        assert writer.result() == (1, 0)
    addrs = b.phys_addrs()
    assert len(addrs) == nr
    assert h.check_huge_frames(addrs, ps) == []
    assert h.pages_by_node(addrs) == {node: nr}
    assert b.sysfs("numa_node") == f"{node}\n"
    assert h.snapshot() == h.expected_pool(before, ps, {node: nr})
    assert b.disable() == 0
    assert h.snapshot() == before


# ----------------------------------------------------------------------- attribute

def test_numa_node_values(topo, mkbuf):
    b = mkbuf()
    for n in topo.mem:
        assert b.write("numa_node", str(n)) == 0
        assert b.read("numa_node") == str(n)
    for n in list(range(64)) + [1000, 1023, 1024]:
        if n not in topo.mem:
            assert h.errname(b.write("numa_node", str(n))) == "ENODEV", n
            assert b.read("numa_node") == str(topo.mem[-1])
    assert b.write("numa_node", "-1") == 0


# ----------------------------------------------------------------------- strict, node with CPUs

def test_strict_2m_on_each_cpu_node(topo, grow_2m, mkbuf):
    """The kthread path: every page on the node, for each node with CPUs."""
    for n in topo.cpu:
        grow_2m(n, 8)
    for n in topo.cpu:
        before = h.snapshot()
        b = mkbuf(page_size="2M", size="16M", node=str(n))
        strict_enable_ok(b, n, 8, SZ_2M, before)


@pytest.mark.gigantic(1)
def test_strict_1g_whole_node_share(topo, mkbuf):
    cands = [n for n in topo.cpu if h.node_free(n, SZ_1G)]
    if not cands:
        pytest.skip("needs free 1 GB pages on a node with CPUs (--numa 0:4G:1,...)")
    n = max(cands, key=lambda x: h.node_free(x, SZ_1G))
    k = h.node_free(n, SZ_1G)
    before = h.snapshot()
    b = mkbuf(size=f"{k}G", node=str(n))
    strict_enable_ok(b, n, k, SZ_1G, before)


def test_strict_node_short_2m(topo, grow_2m, mkbuf):
    """A node asked for one page more than it has: ENOSPC, every node's pool intact,
    although other nodes have free pages (strict: no fallback)."""
    for n in topo.mem:
        grow_2m(n, 4)
    for n in topo.cpu:
        others = sum(h.node_free(m, SZ_2M) for m in topo.mem if m != n)
        assert others > 0, "precondition: other nodes have free 2M pages"
        before = h.snapshot()
        b = mkbuf(page_size="2M", size=str((h.node_free(n, SZ_2M) + 1) * SZ_2M),
                  node=str(n))
        assert h.errname(b.enable()) == "ENOSPC"
        assert b.read("state") == "disabled" and not b.dev.exists()
        assert h.snapshot() == before


@pytest.mark.gigantic(1)
def test_strict_node_short_1g(topo, mkbuf):
    cands = [n for n in topo.cpu
             if any(h.node_free(m, SZ_1G) for m in topo.mem if m != n)]
    if not cands:
        pytest.skip("needs 1 GB pages on a node other than a node with CPUs")
    n = min(cands, key=lambda x: h.node_free(x, SZ_1G))
    k = h.node_free(n, SZ_1G) + 1
    before = h.snapshot()
    b = mkbuf(size=f"{k}G", node=str(n))
    assert h.errname(b.enable()) == "ENOSPC"
    assert b.read("state") == "disabled" and not b.dev.exists()
    assert h.snapshot() == before


def test_kthread_ignores_the_writers_policy(topo, grow_2m, mkbuf):
    """numa_node=B (has CPUs) written by a task bound to node A: pages on B."""
    if len(topo.cpu) < 2:
        pytest.skip("needs two NUMA nodes with CPUs")
    a, b_node = topo.cpu[0], topo.cpu[1]
    grow_2m(b_node, 4)
    before = h.snapshot()
    b = mkbuf(page_size="2M", size="8M", node=str(b_node))
    w = h.ChildWriter(b.dir / "enable", "1", membind=[a])
    strict_enable_ok(b, b_node, 4, SZ_2M, before, writer=w)


# ----------------------------------------------------------------------- any node

def test_any_node_follows_the_writer(topo, grow_2m, mkbuf):
    """numa_node=-1 allocates in the writer's context: bound to node n, pages on n,
    and the device's numa_node names it."""
    for n in topo.mem:
        grow_2m(n, 2)
    for n in topo.mem:
        before = h.snapshot()
        b = mkbuf(page_size="2M", size="4M")
        w = h.ChildWriter(b.dir / "enable", "1", membind=[n])
        assert w.result() == (1, 0)
        addrs = b.phys_addrs()
        assert h.pages_by_node(addrs) == {n: 2}
        assert b.sysfs("numa_node") == f"{n}\n"
        assert h.snapshot() == h.expected_pool(before, SZ_2M, {n: 2})
        assert b.disable() == 0


def test_any_node_spans_nodes(topo, grow_2m, mkbuf):
    """The whole 2M pool with numa_node=-1: pages from every node that had free
    ones, exactly that many from each, and the device says -1 (mixed)."""
    for n in topo.mem:
        grow_2m(n, 2)
    free = {n: h.node_free(n, SZ_2M) for n in topo.mem}
    assert sum(1 for v in free.values() if v) >= 2, f"precondition: 2M pages on 2+ nodes: {free}"
    total = h.free_pages(SZ_2M)
    assert total == sum(free.values())
    before = h.snapshot()
    b = mkbuf(page_size="2M", size=str(total * SZ_2M))
    assert b.enable() == 0
    addrs = b.phys_addrs()
    assert h.check_huge_frames(addrs, SZ_2M) == []
    assert h.pages_by_node(addrs) == {n: v for n, v in free.items() if v}
    assert b.sysfs("numa_node") == "-1\n"
    assert h.snapshot() == h.expected_pool(before, SZ_2M, free)
    assert b.disable() == 0
    assert h.snapshot() == before
    # one page is on one node, and the device names that node
    assert b.write("size", "2M") == 0
    assert b.enable() == 0
    addrs = b.phys_addrs()
    assert b.sysfs("numa_node") == f"{node_of_all(addrs)}\n" != "-1\n"
    assert b.disable() == 0


# ----------------------------------------------------------------------- memory-only node

def test_memory_only_node_with_membind(topo, grow_2m, mkbuf):
    """A node without CPUs: the writer's MPOL_BIND to it puts every page there."""
    m = memonly_node(topo)
    grow_2m(m, 8)
    before = h.snapshot()
    b = mkbuf(page_size="2M", size="16M", node=str(m))
    w = h.ChildWriter(b.dir / "enable", "1", membind=[m])
    strict_enable_ok(b, m, 8, SZ_2M, before, writer=w)


def test_memory_only_node_bound_elsewhere(topo, grow_2m, mkbuf):
    """Writer bound to a node with CPUs, buffer strict on the memory-only node: the
    pages land off-node, so ENOSPC and everything back."""
    m = memonly_node(topo)
    other = topo.cpu[0]
    grow_2m(m, 2)
    grow_2m(other, 2)
    before = h.snapshot()
    b = mkbuf(page_size="2M", size="4M", node=str(m))
    w = h.ChildWriter(b.dir / "enable", "1", membind=[other])
    res = w.result()
    assert res is not None and h.errname(res[1]) == "ENOSPC", res
    assert b.read("state") == "disabled" and not b.dev.exists()
    assert h.snapshot() == before


def test_memory_only_node_without_policy(topo, grow_2m, mkbuf):
    """No policy: the writer's default (local node first) decides.  Never a page off
    the node: ENOSPC with the pool intact, or every page on it.  When every node
    with CPUs has free pages, local allocation cannot land on the memory-only node,
    so ENOSPC is the only right answer then."""
    m = memonly_node(topo)
    for n in [m] + topo.cpu:
        grow_2m(n, 2)
    local_free = all(h.node_free(n, SZ_2M) for n in topo.cpu)
    before = h.snapshot()
    b = mkbuf(page_size="2M", size="4M", node=str(m))
    rc = b.enable()
    if rc == 0:
        assert not local_free, "a default-policy writer got pages from a remote node"
        assert h.pages_by_node(b.phys_addrs()) == {m: 2}
        assert b.sysfs("numa_node") == f"{m}\n"
        assert b.disable() == 0
    else:
        assert h.errname(rc) == "ENOSPC"
        assert b.read("state") == "disabled" and not b.dev.exists()
    assert h.snapshot() == before


def test_memory_only_node_short(topo, grow_2m, mkbuf):
    """Bound to the memory-only node and asking one page more than it has: ENOSPC,
    all nodes' pools intact."""
    m = memonly_node(topo)
    grow_2m(m, 2)
    k = h.node_free(m, SZ_2M) + 1
    before = h.snapshot()
    b = mkbuf(page_size="2M", size=str(k * SZ_2M), node=str(m))
    w = h.ChildWriter(b.dir / "enable", "1", membind=[m])
    res = w.result()
    assert res is not None and res[0] == -1 and res[1] == errno.ENOSPC, res
    assert b.read("state") == "disabled" and not b.dev.exists()
    assert h.snapshot() == before
    assert os.path.isdir(b.dir)


# ----------------------------------------------------------------------- cpusets

CGROUP = pathlib.Path("/sys/fs/cgroup")


@pytest.fixture
def cpuset():
    """make(name, cpus): a cgroup v2 child with cpuset.cpus = cpus (cpuset.mems: every
    node, the parent's), for a ChildWriter to join; removed after the test."""
    if not (CGROUP / "cgroup.controllers").exists():
        subprocess.run(["mount", "-t", "cgroup2", "none", str(CGROUP)], check=True)
    assert "cpuset" in h.read(CGROUP / "cgroup.controllers").split()
    assert h.write(CGROUP / "cgroup.subtree_control", "+cpuset") == 0
    made = []

    def make(name, cpus):
        d = CGROUP / name
        os.mkdir(d)
        made.append(d)
        assert h.write(d / "cpuset.cpus", cpus) == 0, cpus
        return d

    yield make
    for d in reversed(made):
        assert h.wait_for(lambda: not h.read(d / "cgroup.procs").strip(), timeout=10)
        os.rmdir(d)


def node_cpus(n):
    return h.read(h.NODES / f"node{n}" / "cpulist").strip()


def test_cpuset_spanning_the_nodes_keeps_placement(topo, grow_2m, mkbuf, cpuset):
    """A writer in a cpuset of every CPU (systemd AllowedCPUs=, a Slurm job): joining
    the cpuset must not undo the workers' binding to the node's CPUs, or they fault
    from the other node's and a strict enable fails with ENOSPC."""
    cg = cpuset("hd-all", h.read("/sys/devices/system/cpu/online").strip())
    for n in topo.cpu:
        grow_2m(n, 16)
    for n in topo.cpu:
        before = h.snapshot()
        b = mkbuf(page_size="2M", size="32M", node=str(n))
        w = h.ChildWriter(b.dir / "enable", "1", cgroup=cg)
        strict_enable_ok(b, n, 16, SZ_2M, before, writer=w)


def test_cpuset_of_one_node(topo, grow_2m, mkbuf, cpuset):
    """A writer in a cpuset of node A's CPUs: a buffer strict on A is filled by
    workers on A's CPUs; one strict on node B (whose CPUs the writer may not use) is
    filled in the writer's own context, so its memory policy decides: bound to B,
    every page on B; without a policy, local pages are A's, so ENOSPC with the pool
    intact and a log line saying why."""
    if len(topo.cpu) < 2:
        pytest.skip("needs two NUMA nodes with CPUs (tests/vm/run --numa ...)")
    a, other = topo.cpu[0], topo.cpu[1]
    cg = cpuset("hd-one", node_cpus(a))
    grow_2m(a, 8)
    grow_2m(other, 8)
    before = h.snapshot()
    b = mkbuf(page_size="2M", size="16M", node=str(a))
    strict_enable_ok(b, a, 8, SZ_2M, before,
                     writer=h.ChildWriter(b.dir / "enable", "1", cgroup=cg))
    c = mkbuf(page_size="2M", size="16M", node=str(other))
    strict_enable_ok(c, other, 8, SZ_2M, before,
                     writer=h.ChildWriter(c.dir / "enable", "1", cgroup=cg, membind=[other]))
    log = h.KernelLog()
    try:
        res = h.ChildWriter(c.dir / "enable", "1", cgroup=cg).result()
        assert res is not None and h.errname(res[1]) == "ENOSPC", res
        assert c.read("state") == "disabled" and h.snapshot() == before
        assert f"no CPU of node {other}" in "\n".join(log.lines())
    finally:
        log.close()
