# SPDX-License-Identifier: GPL-2.0
"""Walking every allocation of one operation with the kernel's fault injection.

failslab and fail_page_alloc are set up with the task filter: only a task whose
/proc/<tid>/make-it-fail is 1 sees failures.  `times` is 1 (one failure per
attempt), `probability` 100.  `space` counts bytes in the kernel (should_fail()
subtracts each allocation's size), so it cannot name "the k-th allocation";
`interval` counts calls: with interval=k the k-th qualifying call fails once the
attribute's hidden counter is a multiple of k.  Before each attempt the counter
is brought to such a multiple by a priming loop of harmless system calls from
this thread (open of /dev/null for failslab, an 8 KB pipe round trip for
fail_page_alloc) until one of them takes the failure; then `times` is re-armed
and the operation runs with make-it-fail set, so its k-th allocation fails.
k = 1, 2, 3, ... until the operation runs through without taking the failure.

Every injected failure is dumped (verbose=2: a line and a stack trace, not
rate-limited); the trace's frames identify the failure point.
"""
import errno
import os
import re
import time

import hugedma_test as h

DEBUGFS = "/sys/kernel/debug"
ATTRS = ("failslab", "fail_page_alloc")
SPLAT = re.compile(r"BUG:|WARNING:|KASAN|Oops|general protection|possible recursive locking|"
                   r"possible circular locking|suspicious RCU|DMA-API:|"
                   r"inconsistent lock state|sleeping function called|"
                   r"Kernel memory leak detector disabled")


def available():
    return all(os.path.isdir(f"{DEBUGFS}/{a}") for a in ATTRS) and \
        os.path.exists("/proc/thread-self/make-it-fail")


def _w(path, value):
    rc = h.write(path, str(value))
    assert rc == 0, f"{path} <- {value}: {h.errname(rc)}"


class Site:
    """One failure point: the stack frames of the failing allocation's caller
    chain, from the first frame past the allocator up to the system call."""

    SKIP = re.compile(r"^(dump_stack|should_fail|should_failslab|__should_failslab|"
                      r"should_fail_alloc_page|__alloc_pages|alloc_pages|__get_free_pages|"
                      r"get_zeroed_page|slab_pre_alloc_hook|kmem_cache_alloc|"
                      r"__kmem_cache_alloc|kmalloc|__kmalloc|kmalloc_trace|"
                      r"kmalloc_node|__kmalloc_node|kvmalloc|kzalloc|kcalloc|"
                      r"prepare_alloc_pages|folio_alloc|__folio_alloc|alloc_slab_page|"
                      r"allocate_slab|new_slab|___slab_alloc|__slab_alloc|slab_alloc|"
                      r"__alloc_pages_node|alloc_pages_node|__kmalloc_node_track_caller|"
                      r"__kmalloc_track_caller|kmalloc_node_trace|kmem_cache_zalloc|"
                      r"fail_dump|\? )")

    @staticmethod
    def parse(lines):
        """Traces in kernel log lines: a list of frame tuples, one per failure."""
        traces, cur = [], None
        for ln in lines:
            s = ln.strip()
            if s.startswith("FAULT_INJECTION: forcing a failure"):
                cur = []
                traces.append(cur)
            elif cur is not None:
                if s.startswith("</TASK>") or s.startswith("entry_SYSCALL") or \
                        s.startswith("do_syscall_64"):
                    cur = None
                elif re.match(r"^[\w.]+\+0x[0-9a-f]+/0x[0-9a-f]+", s):
                    cur.append(s.split()[0] + (" " + s.split()[1] if "[" in s else ""))
        return [tuple(f for f in t if not Site.SKIP.match(f)) for t in traces]

    @staticmethod
    def ours(frames):
        """The innermost frame in hugedma (or its test driver), or None."""
        for f in frames:
            if "[hugedma" in f:
                return f
        return None


class Injector:
    """failslab / fail_page_alloc with the task filter, driven from this thread."""

    def __init__(self):
        self.mif = os.open("/proc/thread-self/make-it-fail", os.O_WRONLY)
        self.saved = {}
        for a in ATTRS:
            d = f"{DEBUGFS}/{a}"
            for k in os.listdir(d):
                try:
                    self.saved[f"{d}/{k}"] = h.read(f"{d}/{k}").strip()
                except OSError:
                    pass
            _w(f"{d}/probability", 0)
            _w(f"{d}/task-filter", "Y")
            _w(f"{d}/ignore-gfp-wait", "N")
            _w(f"{d}/space", 0)
            _w(f"{d}/times", 0)
            _w(f"{d}/verbose", 2)
        _w(f"{DEBUGFS}/fail_page_alloc/ignore-gfp-highmem", "N")
        _w(f"{DEBUGFS}/fail_page_alloc/min-order", 0)
        self.null = os.open("/dev/null", os.O_RDONLY)
        self.pipe = os.pipe2(os.O_NONBLOCK)

    def close(self):
        self.arm(False)
        for a in ATTRS:
            _w(f"{DEBUGFS}/{a}/probability", 0)
            _w(f"{DEBUGFS}/{a}/times", 0)
            _w(f"{DEBUGFS}/{a}/interval", 1)
        for path in ("task-filter", "ignore-gfp-wait", "verbose"):
            for a in ATTRS:
                p = f"{DEBUGFS}/{a}/{path}"
                if p in self.saved:
                    h.write(p, self.saved[p])
        for fd in (self.mif, self.null, *self.pipe):
            os.close(fd)

    def arm(self, on):
        os.write(self.mif, b"1" if on else b"0")

    def times(self, attr):
        """What is left of `times` (never while armed: opening allocates).
        Read from a fresh open: debugfs attribute files are not seekable."""
        return int(h.read(f"{DEBUGFS}/{attr}/times"))

    def _prime_once(self, attr):
        if attr == "failslab":
            try:
                os.close(os.open("/dev/null", os.O_RDONLY))
            except OSError:
                pass
        else:
            try:
                os.write(self.pipe[1], bytes(8192))
            except OSError:
                pass
            try:
                while os.read(self.pipe[0], 65536):
                    pass
            except OSError:
                pass

    def setup(self, attr, k):
        """Arm `attr` so that this thread's k-th allocation from now fails (once)."""
        other = [a for a in ATTRS if a != attr][0]
        d = f"{DEBUGFS}/{attr}"
        _w(f"{DEBUGFS}/{other}/probability", 0)
        _w(f"{d}/probability", 100)
        _w(f"{d}/space", 0)
        _w(f"{d}/interval", k)
        if k > 1:
            _w(f"{d}/verbose", 0)
            _w(f"{d}/times", 1)
            self.arm(True)
            for _ in range(100 * k):
                self._prime_once(attr)
                if self.times(attr) == 0:
                    break
            self.arm(False)
            assert self.times(attr) == 0, f"{attr}: priming for interval {k} never failed"
            _w(f"{d}/verbose", 2)
        _w(f"{d}/times", 1)

    def disarm(self, attr):
        _w(f"{DEBUGFS}/{attr}/times", 0)
        _w(f"{DEBUGFS}/{attr}/probability", 0)


class Walk:
    """Results of walks: injected failures, their sites, errnos."""

    def __init__(self):
        self.injected = 0
        self.tolerated = 0          # a failure the operation absorbed and still succeeded
        self.silent = 0             # __GFP_NOWARN allocations: failed without a trace
        self.sites = set()          # full caller chains
        self.ours = set()           # innermost hugedma frames
        self.errnos = {}
        self.per_op = {}
        self.splats = []

    def summary(self):
        return (f"{self.injected} failures injected ({self.tolerated} absorbed by a "
                f"successful operation, {self.silent} at __GFP_NOWARN allocations, which "
                f"leave no trace), {len(self.sites)} distinct failure points "
                f"(call chains), {len(self.ours)} distinct hugedma call sites; errnos "
                + ", ".join(f"{errno.errorcode.get(e, e)} x{n}" for e, n in
                            sorted(self.errnos.items())))


def walk(inj, klog, result, name, attr, op, check_failed, check_ok, prepare=None,
         max_steps=1500, deadline=None):
    """Fail the 1st, 2nd, ... allocation of op() in turn.

    prepare(): bring the object to the state before the operation (not injected).
    op(arm): runs the operation, calling arm(True) right before its system call
    and arm(False) right after; returns 0 or an errno.
    check_failed(rc): after a failed attempt: nothing changed, nothing leaked.
    check_ok(): after a successful attempt: the full result, then undo it.
    Returns the number of attempts that took a failure.
    """
    hits = 0
    for k in range(1, max_steps + 1):
        if prepare:
            prepare()
        inj.setup(attr, k)
        klog.lines()
        try:
            rc = op(inj.arm)
        finally:
            inj.arm(False)
        hit = inj.times(attr) == 0
        inj.disarm(attr)
        lines = klog.lines()
        bad = [ln for ln in lines if h_splat(ln)]
        assert not bad, f"{name}: kernel complained after failure #{k}:\n" + "\n".join(lines)
        if not hit:
            assert rc == 0, f"{name}: failed with {h.errname(rc)} without an injected fault"
            check_ok()
            break
        traces = Site.parse(lines)
        hits += 1
        result.injected += 1
        if traces:
            frames = traces[0]
            result.sites.add(frames)
            ours = Site.ours(frames)
            if ours:
                result.ours.add(ours)
            where = " <- ".join(frames[:6])
        else:
            # __GFP_NOWARN allocations fail silently (FAULT_NOWARN): no trace
            result.silent += 1
            where = "an allocation with __GFP_NOWARN (no trace)"
        if rc == 0:
            result.tolerated += 1
            check_ok()
        else:
            result.errnos[rc] = result.errnos.get(rc, 0) + 1
            try:
                check_failed(rc)
            except AssertionError as e:
                raise AssertionError(f"{name}: after failing allocation #{k} ({attr}) at "
                                     f"{where}: {e}") from e
        if deadline and time.monotonic() > deadline:
            print(f"{name}/{attr}: stopped at step {k} (time budget)")
            break
    else:
        raise AssertionError(f"{name}: still failing after {max_steps} steps")
    result.per_op[f"{name}/{attr}"] = hits
    return hits


def h_splat(line):
    return bool(SPLAT.search(line)) and "FAULT_INJECTION" not in line
