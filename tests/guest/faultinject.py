# SPDX-License-Identifier: GPL-2.0
"""Walking every allocation of one operation with the kernel's fault injection.

The walk uses the per-task counter /proc/thread-self/fail-nth (what syzkaller
uses, Documentation/fault-injection/fault-injection.rst): writing N to it makes
this thread's N-th call into the fault-injection core fail, whatever its kind
(a slab allocation through failslab, a page allocation through fail_page_alloc),
regardless of `probability`; reading it back afterwards says whether the
operation got that far (0: the failure was injected; not 0: the operation made
fewer calls, and is walked through).  The counter is checked before anything
else in should_fail_ex(), so probability stays 0 and no other task ever fails.

failslab and fail_page_alloc are opened to every allocation (ignore-gfp-wait N,
ignore-gfp-highmem N, min-order 0): only their own gates decide whether a call
reaches the counter.  N = 1, 2, 3, ... until the operation runs through without
taking the failure.  Each injected failure is dumped (verbose=2: a line and a
stack trace, not rate-limited, to the log only: the console level is lowered for
the walk); the trace's frames identify the failure point.  Allocations made by
other tasks (the parallel fill's kthreads) are not reached this way.
"""
import errno
import glob
import os
import re

import hugedma_test as h

DEBUGFS = "/sys/kernel/debug"
ATTRS = ("failslab", "fail_page_alloc")

def available():
    return all(os.path.isdir(f"{DEBUGFS}/{a}") for a in ATTRS) and \
        os.path.exists("/proc/thread-self/fail-nth")


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
    """fail-nth for this thread, failslab and fail_page_alloc open to every call."""

    PRINTK = "/proc/sys/kernel/printk"

    def __init__(self):
        self.nth = os.open("/proc/thread-self/fail-nth", os.O_RDWR)
        self.saved = {}
        for a in ATTRS:
            d = f"{DEBUGFS}/{a}"
            for k in os.listdir(d):
                try:
                    self.saved[f"{d}/{k}"] = h.read(f"{d}/{k}").strip()
                except OSError:
                    pass
            _w(f"{d}/probability", 0)
            _w(f"{d}/ignore-gfp-wait", "N")
            _w(f"{d}/verbose", 2)
        _w(f"{DEBUGFS}/fail_page_alloc/ignore-gfp-highmem", "N")
        _w(f"{DEBUGFS}/fail_page_alloc/min-order", 0)
        self.saved[self.PRINTK] = h.read(self.PRINTK).strip()
        _w(self.PRINTK, 4)              # traces to the log, not the serial console
        self.n = 0
        self.armed = False
        self.left = None

    def close(self):
        self.arm(False)
        for p, v in self.saved.items():
            if p.rsplit("/", 1)[-1] in ("probability", "ignore-gfp-wait", "verbose",
                                          "ignore-gfp-highmem", "min-order", "printk"):
                h.write(p, v)
        os.close(self.nth)

    def arm(self, on):
        """arm(True): this thread's self.n-th call fails; arm(False): record in
        self.left how much of the count was left (0: the failure was injected)."""
        if on:
            self.left = None
            self.armed = True
            os.write(self.nth, str(self.n).encode())
        elif self.armed:
            self.armed = False
            self.left = int(os.pread(self.nth, 32, 0))
            if self.left:
                os.write(self.nth, b"0")


class TaskFilter:
    """For what kernel threads allocate on an operation's behalf (the parallel
    fill's workers), which no thread's fail-nth reaches: failslab or
    fail_page_alloc with the task filter.  kthreadd's make-it-fail is set for
    the operation, so every kthread it creates meanwhile inherits it
    (copy_process() copies the flag), kthreadd's own allocations for them
    included.  `interval` k fails the k-th call of those tasks once the
    attribute's call counter is a multiple of k: this thread gets it there
    first, with its own make-it-fail set, by harmless calls (an open of
    /dev/null; an 8 KB pipe round trip for pages) until one takes the failure;
    then `times` is re-armed to 1.  Which worker takes the k-th call may vary
    from run to run; every step is checked all the same."""

    KTHREADD = "/proc/2/make-it-fail"

    def __init__(self, attr):
        self.attr = attr
        self.d = f"{DEBUGFS}/{attr}"
        self.mif = os.open("/proc/thread-self/make-it-fail", os.O_WRONLY)
        self.pipe = os.pipe2(os.O_NONBLOCK)
        self.n = 0
        self.armed = False
        self.left = None

    def close(self):
        self.arm(False)
        _w(f"{self.d}/probability", 0)
        _w(f"{self.d}/times", 0)
        _w(f"{self.d}/interval", 1)
        _w(f"{self.d}/task-filter", "N")
        for fd in (self.mif, *self.pipe):
            os.close(fd)

    def _times(self):
        return int(h.read(f"{self.d}/times"))

    def _prime_once(self):
        os.write(self.mif, b"1")
        try:
            if self.attr == "failslab":
                os.close(os.open("/dev/null", os.O_RDONLY))
            else:
                os.write(self.pipe[1], bytes(8192))
                while os.read(self.pipe[0], 65536):
                    pass
        except OSError:
            pass
        finally:
            os.write(self.mif, b"0")

    def _setup(self):
        k = self.n
        _w(f"{self.d}/task-filter", "Y")
        _w(f"{self.d}/space", 0)
        _w(f"{self.d}/interval", k)
        _w(f"{self.d}/probability", 100)
        if k > 1:
            _w(f"{self.d}/verbose", 0)
            _w(f"{self.d}/times", 1)
            for _ in range(10 * k + 100):
                self._prime_once()
                if self._times() == 0:
                    break
            assert self._times() == 0, f"{self.attr}: priming for interval {k} never failed"
            _w(f"{self.d}/verbose", 2)
        _w(f"{self.d}/times", 1)

    def arm(self, on):
        """arm(True): kthreads created from now on fail their self.n-th call;
        arm(False): stop, and record in self.left what is left of `times`."""
        if on:
            self._setup()
            self.left = None
            self.armed = True
            _w(self.KTHREADD, 1)
        elif self.armed:
            self.armed = False
            _w(self.KTHREADD, 0)
            for p in glob.glob("/proc/[0-9]*/task/[0-9]*/make-it-fail"):
                try:
                    if h.read(p).strip() == "1":
                        h.write(p, "0")
                except OSError:
                    pass                # gone meanwhile
            self.left = self._times()
            _w(f"{self.d}/probability", 0)
            _w(f"{self.d}/times", 0)


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


def find_start(inj, klog, op, inside, undo, allow=None, margin=3):
    """The first call N of op() whose failure happens inside(frames): the calls
    before it are someone else's (the module loader's own, before hugedma's
    init).  Injects at N = 8, 16, 32, ... then bisects; starts `margin` calls
    early, since a failure without a trace (__GFP_NOWARN) cannot be placed.
    undo() runs after every probe (the operation may have gone through)."""
    def probe(k):
        inj.n = k
        klog.lines()
        try:
            op(inj.arm)
        finally:
            inj.arm(False)
        lines = klog.lines()
        bad = h.splats(lines, allow)
        assert not bad, f"kernel complained after failure #{k}:\n" + "\n".join(lines)
        undo()
        if inj.left:                    # the operation made fewer than k calls
            return True
        traces = Site.parse(lines)
        return bool(traces) and inside(traces[0])

    lo, hi = 0, 8
    while not probe(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if probe(mid):
            hi = mid
        else:
            lo = mid
    return max(1, hi - margin)


def walk(inj, klog, result, name, op, check_failed, check_ok, prepare=None,
         max_steps=3000, allow=None, start=1):
    """Fail the 1st, 2nd, ... allocation of op() in turn.

    prepare(): bring the object to the state before the operation (not injected).
    op(arm): runs the operation, calling arm(True) right before its system call
    and arm(False) right after; returns 0 or an errno.
    check_failed(rc): after a failed attempt: nothing changed, nothing leaked.
    check_ok(): after a successful attempt: the full result, then undo it.
    allow: a regular expression for kernel reports that are not hugedma's.
    start: the first call to fail (find_start()).
    Returns the number of attempts that took a failure.
    """
    hits = 0
    for k in range(start, start + max_steps):
        if prepare:
            prepare()
        inj.n = k
        klog.lines()
        try:
            rc = op(inj.arm)
        finally:
            inj.arm(False)
        assert inj.left is not None, f"{name}: the operation never armed the injector"
        hit = inj.left == 0
        lines = klog.lines()
        bad = h.splats(lines, allow)
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
        else:
            result.errnos[rc] = result.errnos.get(rc, 0) + 1
        try:
            if rc == 0:
                check_ok()
            else:
                check_failed(rc)
        except AssertionError as e:
            raise AssertionError(f"{name}: after failing call #{k} at {where} "
                                 f"({'absorbed' if rc == 0 else h.errname(rc)}): {e}\n"
                                 + "\n".join(lines)) from e
    else:
        raise AssertionError(f"{name}: still failing after {max_steps} steps")
    result.per_op[name] = hits
    return hits
