# SPDX-License-Identifier: GPL-2.0
"""Helpers for hugedma's guest tests: configfs/sysfs access, pool counters, page facts,
mappings through libc, the ioctls, and QEMU's edu device with its test driver.  Test
files share code through this module and conftest.py only, never by importing each
other.

Everything here reads the kernel's own files; nothing trusts the module's claims
about itself except where a test says it does.
"""
import ctypes
import errno
import fcntl
import json
import mmap
import os
import pathlib
import re
import struct
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
MODULE = pathlib.Path(os.environ.get("HUGEDMA_KO", REPO / "hugedma.ko"))
CONFIGFS = pathlib.Path("/sys/kernel/config/hugedma")
BUFFERS = CONFIGFS / "buffers"
CLASS = pathlib.Path("/sys/class/hugedma")
HUGEPAGES = pathlib.Path("/sys/kernel/mm/hugepages")
NODES = pathlib.Path("/sys/devices/system/node")

SZ_2M = 2 << 20
SZ_1G = 1 << 30
PAGE_DIRS = {SZ_1G: "hugepages-1048576kB", SZ_2M: "hugepages-2048kB"}
COUNTERS = ("nr_hugepages", "free_hugepages", "resv_hugepages", "surplus_hugepages")
NODE_COUNTERS = ("nr_hugepages", "free_hugepages", "surplus_hugepages")


def read(path):
    return pathlib.Path(path).read_text()


def write(path, value):
    """Write value in one write(2); return 0 or the errno the kernel returned."""
    data = value if isinstance(value, bytes) else str(value).encode()
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def kernel_before(major, minor):
    """Whether the guest's kernel is older than major.minor: for the tests of a
    kernel behaviour that changed at that release (README's kernel matrix)."""
    rel = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return (int(rel.group(1)), int(rel.group(2))) < (major, minor)


def errname(code):
    return errno.errorcode.get(code, str(code)) if code else "OK"


def try_call(fn, *args):
    """fn(*args) (a system call): 0, or the errno it failed with."""
    try:
        fn(*args)
        return 0
    except OSError as e:
        return e.errno


# ---------------------------------------------------------------- module

def loaded():
    return pathlib.Path("/sys/module/hugedma").exists()


def load():
    if not loaded():
        subprocess.run(["insmod", str(MODULE)], check=True)


def load_heaps():
    """The module loaded with dma_heaps=1 (test_heap.py): reloaded unless it is already."""
    param = pathlib.Path("/sys/module/hugedma/parameters/dma_heaps")
    if loaded() and param.exists() and read(param).strip() == "Y":
        return
    assert unload() == 0
    subprocess.run(["insmod", str(MODULE), "dma_heaps=1"], check=True)


def kernel_exports(sym):
    """Whether the booted kernel exports sym to modules (its __ksymtab_ entry)."""
    with open("/proc/kallsyms") as f:
        return any(ln.split()[2:3] == [f"__ksymtab_{sym}"] for ln in f)


HEAPS = {SZ_1G: "hugedma-1g", SZ_2M: "hugedma-2m"}


def heaps_registered():
    """hugedma registered its dma-heaps: it holds itself loaded for good (heap.c)."""
    return loaded() and any(pathlib.Path(f"/dev/dma_heap/{n}").exists() for n in HEAPS.values())


def unload():
    """Remove every buffer, then the module. Returns rmmod's exit code."""
    if not loaded():
        return 0
    for d in sorted(BUFFERS.iterdir()) if BUFFERS.exists() else []:
        if d.is_dir():
            write(d / "enable", "0")
            os.rmdir(d)
    return subprocess.run(["rmmod", "hugedma"]).returncode


# ---------------------------------------------------------------- pool

def pool(page_size=SZ_1G):
    d = HUGEPAGES / PAGE_DIRS[page_size]
    return {c: int(read(d / c)) for c in COUNTERS}


def node_ids():
    return sorted(int(p.name[4:]) for p in NODES.glob("node[0-9]*"))


def node_pool(node, page_size=SZ_1G):
    d = NODES / f"node{node}" / "hugepages" / PAGE_DIRS[page_size]
    return {c: int(read(d / c)) for c in NODE_COUNTERS}


def node_free(node, page_size=SZ_1G):
    return node_pool(node, page_size)["free_hugepages"]


def node_has_cpus(node):
    return read(NODES / f"node{node}" / "cpulist").strip() != ""


def mem_total():
    """totalram in bytes, as the module's size limit sees it (MemTotal)."""
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


def snapshot():
    """Every pool counter of both page sizes, globally and per node."""
    snap = {}
    for ps in PAGE_DIRS:
        snap[("all", ps)] = pool(ps)
        for n in node_ids():
            snap[(n, ps)] = node_pool(n, ps)
    return snap


def wait_for_pool(expected, timeout=10.0):
    """Pool pages freed by a deferred fput may come back a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        now = snapshot()
        if now == expected or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


# ---------------------------------------------------------------- pages

KPF_COMPOUND_HEAD = 15
KPF_COMPOUND_TAIL = 16
KPF_HUGE = 17
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def kpageflags(pfn):
    with open("/proc/kpageflags", "rb") as f:
        f.seek(pfn * 8)
        return int.from_bytes(f.read(8), "little")


def pfn_node(pfn):
    """The node whose memory blocks hold this frame, from sysfs memory blocks, or
    (a kernel without memory hotplug: the debug kernel) from the zones' spans."""
    if not pathlib.Path("/sys/devices/system/memory/block_size_bytes").exists():
        return _zone_node(pfn)
    block = int(read("/sys/devices/system/memory/block_size_bytes"), 16)
    phys = pfn * PAGE_SIZE
    mem = pathlib.Path(f"/sys/devices/system/memory/memory{phys // block}")
    nodes = [p.name for p in mem.glob("node[0-9]*")]
    assert len(nodes) == 1, f"memory block of {phys:#x} has nodes {nodes}"
    return int(nodes[0][4:])


def _zone_node(pfn):
    """The node of the zone in /proc/zoneinfo whose span holds this frame."""
    zones = []                                    # [node, spanned, start_pfn]
    for ln in read("/proc/zoneinfo").splitlines():
        m = re.match(r"Node (\d+), zone", ln)
        f = ln.split()
        if m:
            zones.append([int(m.group(1)), 0, 0])
        elif zones and f[:1] == ["spanned"]:
            zones[-1][1] = int(f[1])
        elif zones and f[:1] == ["start_pfn:"]:
            zones[-1][2] = int(f[1])
    nodes = {n for n, spanned, start in zones if start <= pfn < start + spanned}
    assert len(nodes) == 1, f"frame {pfn:#x} is in the zones of nodes {nodes}"
    return nodes.pop()


# ---------------------------------------------------------------- buffers

class Buffer:
    """One configfs buffer directory and, while enabled, its class device."""

    def __init__(self, name):
        self.name = name
        self.dir = BUFFERS / name
        self.dev = CLASS / name

    def write(self, attr, value):
        return write(self.dir / attr, value)

    def read(self, attr):
        return read(self.dir / attr).strip()

    def sysfs(self, attr):
        return read(self.dev / attr)

    def phys_addrs(self):
        return [int(x, 16) for x in self.sysfs("phys_addrs").split()]

    def enable(self):
        return self.write("enable", "1")

    def disable(self):
        return self.write("enable", "0")

    def remove(self):
        if self.dir.exists():
            self.disable()
            os.rmdir(self.dir)


# ---------------------------------------------------------------- kernel log

def dmesg_clear():
    """Clears the ring buffer, which the session collects for the host at its end:
    prefer KernelLog, which reads only what is new."""
    subprocess.run(["dmesg", "-C"], check=True)


def dmesg():
    return subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout


def reject_lines(log, name=None):
    """The 'rejected' lines of a kernel log, optionally for one buffer name only."""
    lines = [ln for ln in log.splitlines() if "hugedma: " in ln and ": rejected " in ln]
    if name is not None:
        lines = [ln for ln in lines if f"hugedma: {name}: rejected " in ln]
    return lines


def record_figure(name, value):
    """Report a figure of the run (faults injected, race iterations, inputs
    rejected, ...): a "name value" line in the results share, which tests/check
    prints per tier.  Also printed, for runs by hand."""
    print(f"figure: {name} = {value}")
    out = os.environ.get("HUGEDMA_VM_OUT")
    if out and os.path.isdir(out):
        with open(os.path.join(out, "figures.txt"), "a") as f:
            f.write(f"{name} {value}\n")


# What the kernel's checkers print when something is wrong: KASAN, lockdep,
# DEBUG_ATOMIC_SLEEP, DEBUG_VM/DEBUG_LIST, kmemleak, DMA-API debug, WARN_ON, BUG_ON,
# oopses, refcount and UBSAN reports.  Any of these in the guest's log fails the
# test file that was running (conftest), on every kernel.
SPLAT_RE = re.compile(
    r"BUG: |kernel BUG at|WARNING: |\bKASAN\b|UBSAN: |possible (circular|recursive) locking"
    r"|inconsistent lock state|suspicious RCU usage|DMA-API: |Oops|general protection fault"
    r"|list_(add|del) corruption|refcount_t: |kmemleak: \d+ new suspected"
    r"|INFO: task .* blocked for more than")


# Reports the booted kernel gives without hugedma (stock_kernel_splats()):
# not ours to fail on, but never silently ignored either (conftest prints them).
STOCK_ALLOW = None


def splats(lines, allow=None):
    """The lines of a kernel log that report a kernel bug (SPLAT_RE), but for
    those the regular expression `allow` or STOCK_ALLOW matches."""
    return [ln for ln in lines if SPLAT_RE.search(ln)
            and not (allow and allow.search(ln))
            and not (STOCK_ALLOW and STOCK_ALLOW.search(ln))]


def stock_kernel_splats():
    """What the booted kernel reports, with hugedma not loaded, for the hugetlb
    operations the tests make of their own mappings: split a MAP_HUGETLB mapping
    of 2 MB pages by unmapping its middle page.  Debian's 6.1.192 (its
    linux-source-6.1, hence the debug kernel) backports hugetlb_split() into
    __vma_adjust() ahead of i_mmap_lock_write(), so with lockdep every split of
    any hugetlb VMA warns from i_mmap_assert_write_locked().  Returns the report
    lines (empty on a kernel without the bug, or when no 2 MB page is free)."""
    if free_pages(SZ_2M) < 3:
        return []
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    with KernelLog() as log:
        addr = libc.mmap(None, 3 * SZ_2M, mmap.PROT_READ | mmap.PROT_WRITE,
                         mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_HUGETLB
                         | (21 << MAP_HUGE_SHIFT), -1, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            return []
        ctypes.memset(addr, 1, 3 * SZ_2M)
        libc.munmap(addr + SZ_2M, SZ_2M)
        libc.munmap(addr, 3 * SZ_2M)
        time.sleep(0.2)
        return splats(log.lines())


def allow_stock_splats(lines):
    """Let the tests' log checks pass the reports in lines (stock_kernel_splats):
    each is matched by where it comes from ("at FILE:LINE FUNCTION+")."""
    global STOCK_ALLOW
    where = sorted({m.group(0) for ln in lines for m in [re.search(r" at \S+:\d+ \w+\+", ln)]
                    if m})
    if where:
        STOCK_ALLOW = re.compile("|".join(re.escape(w) for w in where))


class KernelLog:
    """The kernel log from now on, read through /dev/kmsg (clears nothing, so the
    log the session collects for the host stays whole)."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def lines(self):
        """Messages logged since the last call (or since creation)."""
        out = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                return out
            except BrokenPipeError:  # records overwritten before we read them
                continue
            msg = rec.decode(errors="replace").partition(";")[2]
            out.append(msg.split("\n")[0])

    def rejects(self, name=None):
        return reject_lines("\n".join(self.lines()), name)

    def close(self):
        os.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def logged(action, want, n=1):
    """The kernel log lines action leaves that satisfy want.  The log is
    rate-limited (a burst of 10 per 5 s, shared by every rejected write), so if
    fewer than n came, wait one interval and try again (action must be one that
    changes nothing, as a rejected write)."""
    for wait in (0, 5.5):
        time.sleep(wait)
        with KernelLog() as log:
            action()
            lines = [ln for ln in log.lines() if want(ln)]
        if len(lines) >= n:
            return lines
    return lines


# ---------------------------------------------------------------- tracefs

TRACING = pathlib.Path("/sys/kernel/tracing")


def tracefs():
    """tracefs, mounted, with the recording of task names off, for the tests'
    kprobe events.  With it on (the default), enabling or disabling any event
    hooks or unhooks sched_switch, live-patching __schedule, where the other
    vCPU keeps passing: under QEMU TCG (7.2) that vCPU was once left at the
    patched instruction with interrupts off, and the patching CPU waited for it
    until the soft-lockup watchdog ended the guest (CI, numa-direct@6.1, in
    SyncProbe.close()).  The tests read no task name from the trace."""
    if not (TRACING / "kprobe_events").exists():
        subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACING)], check=False)
    assert (TRACING / "kprobe_events").exists(), "no tracefs kprobe_events (CONFIG_KPROBE_EVENTS)"
    assert write(TRACING / "options/record-cmd", "0") == 0
    return TRACING


# ---------------------------------------------------------------- user-space hugetlb mappings

MAP_HUGETLB = 0x40000
MAP_HUGE_SHIFT = 26
PAGE_SHIFTS = {SZ_1G: 30, SZ_2M: 21}
PM_PRESENT = 1 << 63
PM_PFN_MASK = (1 << 55) - 1


def pagemap_pfns(addr, length, step):
    """PFN behind each `step`-sized piece of [addr, addr+length) of this process.

    Reads /proc/self/pagemap (PFNs are only shown to CAP_SYS_ADMIN); a piece not
    present gives None.
    """
    pfns = []
    with open("/proc/self/pagemap", "rb") as f:
        for off in range(0, length, step):
            f.seek((addr + off) // PAGE_SIZE * 8)
            e = int.from_bytes(f.read(8), "little")
            pfns.append(e & PM_PFN_MASK if e & PM_PRESENT else None)
    return pfns


class HugeMapping:
    """A MAP_SHARED|MAP_ANONYMOUS|MAP_HUGETLB mapping of nr pages of page_size.

    Every page is touched (written, so the kernel takes it from the pool) and its
    physical address read back from /proc/self/pagemap: `.phys` lists them in
    mapping order.  With pattern=b"...", that pattern is written at the start,
    middle and end of every page.  Use as a context manager; leaving it unmaps,
    which returns the pages to the pool.  With touch=False the pages are only
    reserved (resv_hugepages), which keeps them from every other user, hugedma
    included, without the cost of zeroing them.
    """

    def __init__(self, page_size, nr, pattern=None, touch=True):
        self.page_size = page_size
        self.nr = nr
        self.phys = None
        # MAP_SHARED reserves all nr pages now (resv_hugepages), or fails
        self.map = mmap.mmap(-1, page_size * nr,
                             flags=mmap.MAP_SHARED | MAP_HUGETLB |
                             (PAGE_SHIFTS[page_size] << MAP_HUGE_SHIFT),
                             prot=mmap.PROT_READ | mmap.PROT_WRITE)
        try:
            ref = ctypes.c_char.from_buffer(self.map)
            self.addr = ctypes.addressof(ref)
            del ref  # an exported buffer would keep close() from unmapping
            if not touch:  # reserved only: no page taken, none zeroed
                return
            for i in range(nr):
                base = i * page_size
                if pattern:
                    for off in (0, page_size // 2, page_size - len(pattern)):
                        self.map[base + off:base + off + len(pattern)] = pattern
                else:
                    self.map[base] = 0x5a
            pfns = pagemap_pfns(self.addr, page_size * nr, page_size)
            assert None not in pfns, "a touched huge page is not present"
            self.phys = [p * PAGE_SIZE for p in pfns]
        except BaseException:
            self.map.close()
            raise

    def close(self):
        if not self.map.closed:
            self.map.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def free_pages(page_size):
    """Pool pages of page_size a new mapping (or buffer) can still take."""
    p = pool(page_size)
    return p["free_hugepages"] - p["resv_hugepages"]


def check_huge_frames(addrs, page_size):
    """Independent facts about frames claimed to be huge pages of page_size.

    /proc/kpageflags must show each as the head of a compound huge page whose next
    and last base frames are its tails; each is aligned to page_size; all distinct.
    Returns a list of problems (empty when all is well).
    """
    bad = []
    if len(set(addrs)) != len(addrs):
        bad.append("duplicate addresses")
    for a in addrs:
        if a % page_size:
            bad.append(f"{a:#x} is not aligned to {page_size:#x}")
            continue
        pfn = a // PAGE_SIZE
        head = kpageflags(pfn)
        if not (head >> KPF_HUGE) & 1 or not (head >> KPF_COMPOUND_HEAD) & 1:
            bad.append(f"{a:#x}: kpageflags {head:#x} lacks HUGE|COMPOUND_HEAD")
        for tail_pfn in (pfn + 1, pfn + page_size // PAGE_SIZE - 1):
            tail = kpageflags(tail_pfn)
            if not (tail >> KPF_HUGE) & 1 or not (tail >> KPF_COMPOUND_TAIL) & 1:
                bad.append(f"{a:#x}: frame {tail_pfn:#x} kpageflags {tail:#x} "
                           "lacks HUGE|COMPOUND_TAIL")
    return bad


def wait_for(predicate, timeout=30.0, interval=0.01):
    """Poll until predicate() is true; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------- writers in child processes

_CHILD_WRITER = r"""
import ctypes, json, os, signal, sys
a = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
if a.get("cgroup"):
    with open(os.path.join(a["cgroup"], "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
if a["sigusr1_handler"]:
    signal.signal(signal.SIGUSR1, lambda signum, frame: None)
if a["membind"] is not None:
    mask = (ctypes.c_ulong * 16)()
    for n in a["membind"]:
        mask[n // 64] |= 1 << (n % 64)
    # set_mempolicy(MPOL_BIND, nodemask, maxnode): x86-64 syscall 238
    if libc.syscall(238, 2, mask, ctypes.c_ulong(16 * 64 + 1)) != 0:
        print("set_mempolicy", ctypes.get_errno(), flush=True)
        sys.exit(1)
if a.get("rlimit_as"):
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (a["rlimit_as"], a["rlimit_as"]))
value = a["value"].encode()
fd = os.open(a["path"], os.O_WRONLY)
print("ready", flush=True)
# libc's write: no PEP 475 retry, so EINTR reaches us
ret = libc.write(fd, value, len(value))
print(ret, ctypes.get_errno(), flush=True)
"""


class ChildWriter:
    """One write(2) of value to path from a child process, through libc (no retry on EINTR).

    membind: node ids for set_mempolicy(MPOL_BIND) before the write;
    sigusr1_handler: install a Python SIGUSR1 handler (so SIGUSR1 is handled, not fatal);
    rlimit_as: an RLIMIT_AS in bytes for the writer;
    cgroup: a cgroup v2 directory the writer moves itself into first.
    """

    def __init__(self, path, value, membind=None, sigusr1_handler=False, rlimit_as=None,
                 cgroup=None):
        args = {"path": str(path), "value": str(value), "membind": membind,
                "sigusr1_handler": sigusr1_handler, "rlimit_as": rlimit_as,
                "cgroup": str(cgroup) if cgroup else None}
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD_WRITER, json.dumps(args)],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.proc.wait()
            raise RuntimeError(f"child writer did not start: {line!r}")

    def running(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def result(self, timeout=600):
        """(write's return value, errno) once the child is done; None if it was killed."""
        # not communicate(timeout=...): it reads the pipe itself and would miss what
        # the readline() of "ready" already buffered (a child that answers at once)
        self.proc.wait(timeout=timeout)
        out = self.proc.stdout.read()
        if self.proc.returncode != 0:
            return None
        ret, err = out.split()
        return int(ret), int(err) if int(ret) < 0 else 0

    def kill(self):
        if self.running():
            self.proc.kill()
        self.proc.wait()


# ---------------------------------------------------------------- NUMA

def node_list(which):
    """Node ids of /sys/devices/system/node/<which> (online, has_memory, has_cpu...)."""
    out = []
    for part in read(NODES / which).strip().split(","):
        if part:
            lo, _, hi = part.partition("-")
            out += range(int(lo), int(hi or lo) + 1)
    return out


def pages_by_node(addrs):
    """{node: number of the pages at these physical addresses on it}, from sysfs."""
    count = {}
    for a in addrs:
        n = pfn_node(a // PAGE_SIZE)
        count[n] = count.get(n, 0) + 1
    return count


def expected_pool(before, page_size, taken):
    """The snapshot `before` with taken[node] fewer free pages of page_size on each
    node (and their sum fewer in total); nothing else changed."""
    want = {k: dict(v) for k, v in before.items()}
    for node, n in taken.items():
        want[(node, page_size)]["free_hugepages"] -= n
        want[("all", page_size)]["free_hugepages"] -= n
    return want


def set_node_pages(node, page_size, nr):
    """Resize one node's persistent pool; returns the node's nr_hugepages after."""
    p = NODES / f"node{node}" / "hugepages" / PAGE_DIRS[page_size] / "nr_hugepages"
    write(p, str(nr))
    return int(read(p))


# ---------------------------------------------------------------- root without capabilities

PR_CAPBSET_DROP = 24
CAP = {"CAP_IPC_LOCK": 14, "CAP_SYS_ADMIN": 21}


def run_without_caps(code, drop=(), rlimits=None, args=(), timeout=120):
    """Run Python `code` as root in a new process whose bounding set lacks the
    capabilities named in `drop` (so, after its exec, it has none of them: a
    container's root), with `rlimits` ({resource.RLIMIT_*: bytes}) set.  The code
    prints one JSON value on its last line, which is returned; `args` are its
    sys.argv[1:].  hugedma_test is importable there."""
    import resource

    def pre():
        libc = ctypes.CDLL(None, use_errno=True)
        for name in drop:
            if libc.prctl(PR_CAPBSET_DROP, CAP[name], 0, 0, 0):
                raise OSError(ctypes.get_errno(), f"PR_CAPBSET_DROP {name}")
        for res, value in (rlimits or {}).items():
            resource.setrlimit(res, (value, value))

    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(__file__).parent))
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                       preexec_fn=pre, env=env, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


# each path: ["open" or "read", errno or 0]
READ_EACH = r"""
import json, os, sys
out = {}
for path in sys.argv[1:]:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        out[path] = ["open", e.errno]
        continue
    try:
        os.read(fd, 4096)
        out[path] = ["read", 0]
    except OSError as e:
        out[path] = ["read", e.errno]
    finally:
        os.close(fd)
print(json.dumps(out))
"""


# ---------------------------------------------------------------- mappings through libc

# libc's own mmap and friends: addresses, flags and errnos that Python's mmap
# module does not give (MAP_FIXED, unaligned hints, a failure's errno)
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mremap.restype = ctypes.c_void_p
libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
                        ctypes.c_void_p]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
MAP_FAILED = ctypes.c_void_p(-1).value
HUGE_FLAG = {ps: shift << MAP_HUGE_SHIFT for ps, shift in PAGE_SHIFTS.items()}


def cmmap(length, prot, flags, fd, offset=0, addr=None):
    """libc's mmap: (address, 0), or (None, errno)."""
    p = libc.mmap(addr, length, prot, flags, fd, offset)
    if p == MAP_FAILED:
        return None, ctypes.get_errno()
    return p, 0


def pagemap_pfn(addr):
    with open("/proc/self/pagemap", "rb") as f:
        f.seek((addr // PAGE_SIZE) * 8)
        e = int.from_bytes(f.read(8), "little")
    assert e >> 63, f"{addr:#x} not present"
    return e & ((1 << 55) - 1)


def frames(addr, nr, page_size):
    """Physical address of each page of a mapping at addr, from pagemap."""
    return [pagemap_pfn(addr + i * page_size) * PAGE_SIZE for i in range(nr)]


def touch(addr, nr, page_size, value=None):
    for i in range(nr):
        p = ctypes.c_char.from_address(addr + i * page_size)
        if value is None:
            _ = p.value
        else:
            p.value = value


# ---------------------------------------------------------------- the device nodes' ioctls

IOC_INFO = (0xB8 << 8) | 0x00  # _IO(0xB8, 0)
INFO = struct.Struct("=IIQQQiIII40s")
assert INFO.size == 88
IOC_EXPORT = (0xB8 << 8) | 0x01
EXPORT = struct.Struct("=IIiI")         # the first version: the whole buffer
EXPORT_V1 = struct.Struct("=IIiIQQ")    # with offset and length
assert EXPORT_V1.size == 32
CONTROL = "/dev/hugedma/control"
IOC_IMPORT = (0xB8 << 8) | 0x10
IMPORT = struct.Struct("=IIQQ40s")
assert IMPORT.size == 64


def export(buf_fd, flags=os.O_RDWR | os.O_CLOEXEC):
    """A dma-buf fd exported from a buffer's fd (the first version's struct)."""
    raw = bytearray(EXPORT.pack(16, flags, 0, 0))
    fcntl.ioctl(buf_fd, IOC_EXPORT, raw)
    return EXPORT.unpack(raw)[2]


def export_range(buf_fd, offset, length, flags=os.O_RDWR | os.O_CLOEXEC):
    """A dma-buf fd of length bytes of the buffer from offset (0, 0: all of it)."""
    raw = bytearray(EXPORT_V1.pack(32, flags, 0, 0, offset, length))
    fcntl.ioctl(buf_fd, IOC_EXPORT, raw)
    return EXPORT_V1.unpack(raw)[2]


def dmabuf_size(dfd):
    """The dma-buf's size, from the kernel's own fdinfo."""
    m = re.search(r"^size:\s+(\d+)$", read(f"/proc/self/fdinfo/{dfd}"), re.M)
    assert m, f"no size in the fdinfo of fd {dfd}"
    return int(m.group(1))


# <linux/dma-buf.h>: DMA_BUF_IOCTL_SYNC, _IOW('b', 0, struct dma_buf_sync { __u64 flags; })
DMA_BUF_IOCTL_SYNC = (1 << 30) | (8 << 16) | (ord("b") << 8) | 0
SYNC_READ, SYNC_WRITE, SYNC_START, SYNC_END = 1, 2, 0, 4


def dmabuf_sync(dfd, flags):
    """DMA_BUF_IOCTL_SYNC: 0 or the errno."""
    return try_call(fcntl.ioctl, dfd, DMA_BUF_IOCTL_SYNC, struct.pack("=Q", flags))


def map_dmabuf(dfd, length, page_size, prot=mmap.PROT_READ | mmap.PROT_WRITE, offset=0):
    """mmap of a dma-buf at a page_size-aligned address (the dma-buf core aligns
    nothing: MAP_FIXED inside a reserved window).  (address, 0) or (None, errno)."""
    win, err = cmmap(length + page_size, 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1)
    assert err == 0, os.strerror(err)
    at = (win + page_size - 1) // page_size * page_size
    libc.munmap(win, length + page_size)
    return cmmap(length, prot, mmap.MAP_SHARED | 0x10, dfd, offset, addr=at)


def huge_map(nr, page_size=SZ_2M, shared=True):
    """nr user hugetlb pages of page_size, touched (taken from the pool): the
    address, for libc.munmap."""
    flags = (mmap.MAP_SHARED if shared else mmap.MAP_PRIVATE) | mmap.MAP_ANONYMOUS
    p, err = cmmap(nr * page_size, mmap.PROT_READ | mmap.PROT_WRITE,
                   flags | MAP_HUGETLB | HUGE_FLAG[page_size], -1)
    assert err == 0, os.strerror(err)
    touch(p, nr, page_size, b"u")
    return p


def do_import(fd, name, addr, length, argsz=64, flags=0, extra=b""):
    """HUGEDMA_IOC_IMPORT on the control fd: 0 or the errno."""
    raw = bytearray(IMPORT.pack(argsz, flags, addr, length, name.encode()) + extra)
    try:
        fcntl.ioctl(fd, IOC_IMPORT, raw)
        return 0
    except OSError as e:
        return e.errno


# ---------------------------------------------------------------- module loading

SYS_DELETE_MODULE, SYS_FINIT_MODULE = 176, 313


# ---------------------------------------------------------------- PCI and the edu device

PCI = pathlib.Path("/sys/bus/pci/devices")


def pci_device():
    """The first PCI device (every guest has one): a target for attachments that
    are never mapped."""
    devs = sorted(p.name for p in PCI.iterdir())
    assert devs, "the guest has no PCI device to attach to"
    return devs[0]


def edu_bdf():
    """QEMU's edu device (tests/vm/run --edu), or None."""
    for d in sorted(PCI.iterdir()):
        if read(d / "vendor").strip() == "0x1234" and read(d / "device").strip() == "0x11e8":
            return d.name
    return None


IOMMU = any(pathlib.Path("/sys/class/iommu").glob("*")) if pathlib.Path(
    "/sys/class/iommu").exists() else False

# hugedma_edu (tests/drivers), the test driver bound to edu, and its ioctls
EDU_KO = pathlib.Path(os.environ.get("HUGEDMA_EDU_KO", REPO / "tests" / "drivers" / "hugedma_edu.ko"))
XFER = struct.Struct("=40siIQQQQ")
_IOWR = lambda nr, size: (3 << 30) | (size << 16) | (ord("h") << 8) | nr  # noqa: E731
_IOW = lambda nr, size: (1 << 30) | (size << 16) | (ord("h") << 8) | nr  # noqa: E731
EDU_RAW, EDU_KAPI, EDU_DMABUF = (_IOWR(n, XFER.size) for n in (0x40, 0x41, 0x42))
EDU_HOLD = _IOW(0x43, XFER.size)
EDU_RELEASE = (ord("h") << 8) | 0x44
EDU_SET_DMA = _IOW(0x45, 16)
EDU_READ = _IOWR(0x46, XFER.size)
EDU_WRITE = _IOWR(0x4A, XFER.size)
LEN = 4095  # edu's window is 4 KB, and QEMU 7.2 aborts at exactly 4096
# dma-buf mappings edu holds (at most 4), a round trip through the first, and vmap
EDU_DMABUF_ATTACH = _IOW(0x4B, 8)
EDU_DMABUF_XFER = _IOWR(0x4C, XFER.size)
EDU_DMABUF_DETACH = (ord("h") << 8) | 0x4D
VMAP = struct.Struct("=iIQQQ")
EDU_VMAP = _IOW(0x4E, VMAP.size)
DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE = 0, 1, 2


def edu_dmabuf_attach(fd, dfd, direction=DMA_BIDIRECTIONAL):
    """edu attaches dma-buf dfd and maps it, until EDU_DMABUF_DETACH: 0 or the errno."""
    return try_call(fcntl.ioctl, fd, EDU_DMABUF_ATTACH, struct.pack("=ii", dfd, direction))


def edu_vmap(fd, dfd, offset, data=None, length=0):
    """edu vmaps dma-buf dfd and reads length bytes at offset of it (data None)
    or writes data there: (0, bytes read or None) or (errno, None)."""
    buf = ctypes.create_string_buffer(data if data is not None else length)
    n = len(data) if data is not None else length
    raw = VMAP.pack(dfd, data is not None, offset, n, ctypes.addressof(buf))
    err = try_call(fcntl.ioctl, fd, EDU_VMAP, raw)
    if err:
        return err, None
    return 0, (None if data is not None else buf.raw[:n])

SEEN_IOVAS = set()  # every bus address a test learnt (test_attach checks them unmapped after it)


def xfer(fd, cmd, name="", dmafd=-1, src=0, dst=0, length=LEN):
    raw = bytearray(XFER.pack(name.encode(), dmafd, length, src, dst, 0, 0))
    try:
        fcntl.ioctl(fd, cmd, raw)
    except OSError as e:
        return e.errno, None, None
    _, _, _, _, _, sdma, ddma = XFER.unpack(raw)
    if cmd in (EDU_KAPI, EDU_DMABUF):
        SEEN_IOVAS.update((sdma, ddma))
    return 0, sdma, ddma


def dmar_faults():
    """Fault events raised by the IOMMU: its interrupt count (the log is rate-limited)."""
    n = 0
    for line in read("/proc/interrupts").splitlines():
        if "dmar" in line.lower():
            n += sum(int(x) for x in line.split()[1:] if x.isdigit())
    return n


def dma_faults(fd, cmd, iova, tries=3):
    """Whether edu's DMA at iova (cmd EDU_READ reads it, EDU_WRITE writes edu's window
    there) makes the IOMMU raise a fault interrupt.  The kernel rate-limits its DMAR
    log lines, so the interrupt count is the witness; and QEMU's VT-d model raises no
    interrupt for a fault while an earlier one of the same device is still pending
    ("compression of faults"), so a probe that raised none is repeated, spaced, after
    the pending fault has had time to clear.  A mapped IOVA never faults, however
    often it is tried: the repetition cannot make a live mapping pass."""
    for _ in range(tries):
        before = dmar_faults()
        raw = bytearray(XFER.pack(b"", -1, LEN, iova, iova, 0, 0))
        fcntl.ioctl(fd, cmd, raw)
        if wait_for(lambda: dmar_faults() > before, timeout=2):
            return True
        time.sleep(0.5)
    return False


def set_dma(fd, bits, max_seg):
    fcntl.ioctl(fd, EDU_SET_DMA, struct.pack("=QQ", bits, max_seg))


class Edu:
    """The test driver bound to edu, and an open /dev/hugedma-edu."""

    def __init__(self, bdf):
        self.bdf = bdf
        self.fd = -1
        self.load()

    def load(self):
        subprocess.run(["insmod", str(EDU_KO)], check=True)
        self.fd = os.open("/dev/hugedma-edu", os.O_RDWR)
        set_dma(self.fd, 64, 1 << 30)

    def unload(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        return subprocess.run(["rmmod", "hugedma_edu"], capture_output=True, text=True)

    # tests unpack it as (fd, bdf); fd is read at unpacking time
    def __iter__(self):
        return iter((self.fd, self.bdf))


# ---------------------------------------------------------------- DMA lists

def segments(b, att):
    """An attachment's DMA list from sysfs: (addresses, lengths); the first
    addresses join SEEN_IOVAS."""
    d = b.dev / "attachments" / att
    addrs = [int(x, 16) for x in read(d / "dma_addrs").split()]
    lens = [int(x) for x in read(d / "dma_lengths").split()]
    SEEN_IOVAS.update(addrs[:4])
    return addrs, lens


def bus_of(addrs, lens, off):
    """The bus address of buffer offset off in a DMA list (addresses, lengths),
    for a transfer of LEN bytes that must not straddle two segments."""
    pos = 0
    for a, n in zip(addrs, lens):
        if pos <= off and off + LEN <= pos + n:
            return a + off - pos
        pos += n
    raise AssertionError(f"offset {off:#x} straddles DMA segments")


def dma_entries(bdf):
    """The device's live DMA mappings, from DMA-API debug's own list (0 on a
    kernel without it)."""
    dump = pathlib.Path("/sys/kernel/debug/dma-api/dump")
    if not dump.exists():
        return 0
    return sum(1 for ln in read(dump).splitlines() if ln.startswith(bdf + " "))
