# SPDX-License-Identifier: GPL-2.0
"""Races: processes hammer the same and different buffers at once for a while
(HUGEDMA_RACE_SECONDS, default 30; each worker also stops after
HUGEDMA_RACE_MAX_OPS operations): mkdir/size/enable/disable/rmdir, attach/detach
to edu through configfs, the kernel API's hold/release, mmap/munmap of
/dev/hugedma/NAME, dma-buf export/close, reads of every configfs and sysfs file,
and module unload attempts (hugedma_edu, then hugedma; what unloads is loaded
again).  Every error must be one the ABI documents for that race; afterwards the
tree is consistent, everything can be torn down, the pool and the device's DMA
mappings are back where they started, and the kernel log has no splat."""
import ctypes
import errno
import fcntl
import json
import mmap
import os
import pathlib
import random
import time

import pytest

import faultinject as fi
import hugedma_test as h

pytestmark = pytest.mark.races

SECONDS = float(os.environ.get("HUGEDMA_RACE_SECONDS", "30"))
MAX_OPS = int(os.environ.get("HUGEDMA_RACE_MAX_OPS", "1000000"))
SHARED = ("r0", "r1")
SIZE = 2 * h.SZ_2M

libc = ctypes.CDLL(None, use_errno=True)

E = errno
# what each operation may meet while others race it (the module may be gone too)
GONE = {E.ENOENT}
OK_ERRS = {
    "mkdir": {E.EEXIST} | GONE,
    "size": {E.EBUSY, E.EINVAL} | GONE,    # EINVAL: a new directory, 1 GB pages
    "enable": {E.EBUSY, E.ENOSPC, E.EINVAL} | GONE,   # EINVAL: no size yet
    "disable": {E.EBUSY} | GONE,
    "rmdir": {E.EBUSY, E.ENOTEMPTY} | GONE,
    "att_mkdir": {E.EEXIST} | GONE,
    "att_on": {E.EINVAL, E.ENODEV} | GONE,
    "att_off": GONE,
    "att_rmdir": {E.EBUSY} | GONE,
    "open": {E.ENODEV, E.ENXIO} | GONE,
    "mmap": set(),
    "export": set(),
    "hold": {E.ENODEV, E.ENOENT, E.EEXIST, E.EBUSY},
    "read": {E.ENODEV, E.EIO} | GONE,
    "rmmod": {E.EWOULDBLOCK, E.EBUSY, E.ENOENT},
}


def cfs(name):
    return h.BUFFERS / name


def attempt(stats, op, fn):
    """Run fn(); count it; an errno outside OK_ERRS[op] is recorded as a bug."""
    stats["ops"] += 1
    try:
        fn()
        stats["ok"][op] = stats["ok"].get(op, 0) + 1
        return True
    except OSError as e:
        if e.errno not in OK_ERRS[op]:
            stats["bad"].append(f"{op}: {errno.errorcode.get(e.errno, e.errno)} {e}")
        return False


def wr(path, value):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def worker_general(wid, bdf, stop, stats):
    rnd = random.Random(wid)
    own = f"w{wid}"
    names = SHARED + (own,)
    edu_fd = -1
    while time.monotonic() < stop and stats["ops"] < MAX_OPS:
        n = rnd.choice(names)
        d = cfs(n)
        r = rnd.random()
        if r < 0.12:
            attempt(stats, "mkdir", lambda: os.mkdir(d))
            attempt(stats, "size", lambda: (wr(d / "page_size", "2M"), wr(d / "size", "4M")))
        elif r < 0.30:
            attempt(stats, "enable", lambda: wr(d / "enable", "1"))
        elif r < 0.40:
            attempt(stats, "disable", lambda: wr(d / "enable", "0"))
        elif r < 0.46:
            attempt(stats, "rmdir", lambda: os.rmdir(d))
        elif r < 0.60 and bdf:
            a = d / "attachments" / bdf
            k = rnd.random()
            if k < 0.3:
                attempt(stats, "att_mkdir", lambda: os.mkdir(a))
            elif k < 0.6:
                attempt(stats, "att_on", lambda: wr(a / "enable", "1"))
            elif k < 0.85:
                attempt(stats, "att_off", lambda: wr(a / "enable", "0"))
            else:
                attempt(stats, "att_rmdir", lambda: os.rmdir(a))
        elif r < 0.66 and bdf:
            # the kernel API through edu's driver, which the unloader may remove
            if edu_fd < 0:
                try:
                    edu_fd = os.open("/dev/hugedma-edu", os.O_RDWR)
                except OSError:
                    continue
            raw = bytearray(h.XFER.pack(n.encode(), -1, h.LEN, 0, 0, 0, 0))
            if attempt(stats, "hold", lambda: fcntl.ioctl(edu_fd, h.EDU_HOLD, raw)):
                time.sleep(rnd.random() * 0.01)
                fcntl.ioctl(edu_fd, h.EDU_RELEASE)
            if rnd.random() < 0.3:
                os.close(edu_fd)
                edu_fd = -1
        else:
            fd = -1
            try:
                fd = os.open(f"/dev/hugedma/{n}", os.O_RDWR)
            except OSError as e:
                if e.errno not in OK_ERRS["open"]:
                    stats["bad"].append(f"open: {e}")
                stats["ops"] += 1
                continue
            try:
                if rnd.random() < 0.5:
                    def mapit():
                        m = mmap.mmap(fd, h.SZ_2M, mmap.MAP_SHARED)
                        m[0] = 1
                        m[h.SZ_2M - 1] = 2
                        if rnd.random() < 0.5:
                            attempt(stats, "disable", lambda: wr(d / "enable", "0"))
                        m.close()
                    attempt(stats, "mmap", mapit)
                else:
                    def exp():
                        dfd = h.export(fd)
                        if rnd.random() < 0.5:
                            os.close(fd_holder.pop())
                        os.close(dfd)
                    fd_holder = [fd]
                    attempt(stats, "export", exp)
                    fd = fd_holder[0] if fd_holder else -1
            finally:
                if fd >= 0:
                    os.close(fd)
    if edu_fd >= 0:
        os.close(edu_fd)


def read_all(stats):
    # the class directory holds symlinks: walk the devices themselves
    roots = [h.CONFIGFS, pathlib.Path("/sys/devices/virtual/hugedma")]
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = [x for x in dirnames if x not in ("subsystem", "power")]
            for f in filenames:
                p = os.path.join(dirpath, f)

                def rd(p=p):
                    try:
                        fd = os.open(p, os.O_RDONLY)
                    except OSError as e:
                        if e.errno == E.EACCES:
                            return
                        raise
                    try:
                        while os.read(fd, 65536):
                            pass
                    finally:
                        os.close(fd)
                attempt(stats, "read", rd)


def worker_reader(wid, bdf, stop, stats):
    while time.monotonic() < stop and stats["ops"] < MAX_OPS:
        read_all(stats)


def delete_module(name):
    if libc.syscall(h.SYS_DELETE_MODULE, name.encode(), os.O_NONBLOCK) == 0:
        return 0
    return ctypes.get_errno()


def finit_module(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.syscall(h.SYS_FINIT_MODULE, fd, b"", 0) == 0:
            return 0
        return ctypes.get_errno()
    finally:
        os.close(fd)


def worker_unloader(wid, bdf, stop, stats):
    """rmmod the edu driver now and then, and hugedma always: hugedma must refuse
    while anything exists; what does unload is loaded back at once."""
    rnd = random.Random(wid)
    while time.monotonic() < stop and stats["ops"] < MAX_OPS:
        edu_gone = False
        if bdf and rnd.random() < 0.1:
            rc = delete_module("hugedma_edu")
            stats["ops"] += 1
            if rc == 0:
                stats["ok"]["rmmod_edu"] = stats["ok"].get("rmmod_edu", 0) + 1
                edu_gone = True
            elif rc not in OK_ERRS["rmmod"]:
                stats["bad"].append(f"rmmod hugedma_edu: {errno.errorcode.get(rc, rc)}")
        rc = delete_module("hugedma")
        stats["ops"] += 1
        if rc == 0:
            stats["ok"]["rmmod"] = stats["ok"].get("rmmod", 0) + 1
            rc = finit_module(str(h.MODULE))
            if rc:
                stats["bad"].append(f"reload hugedma: {errno.errorcode.get(rc, rc)}")
        elif rc not in OK_ERRS["rmmod"]:
            stats["bad"].append(f"rmmod hugedma: {errno.errorcode.get(rc, rc)}")
        if edu_gone or (bdf and not pathlib.Path("/sys/module/hugedma_edu").exists()):
            time.sleep(rnd.random() * 0.2)
            rc = finit_module(str(h.EDU_KO))
            if rc and rc != E.EEXIST:
                stats["bad"].append(f"reload hugedma_edu: {errno.errorcode.get(rc, rc)}")
        time.sleep(rnd.random() * 0.05)


def run_workers(kinds, bdf, seconds):
    stop = time.monotonic() + seconds
    kids = []
    for wid, fn in enumerate(kinds):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            stats = {"ops": 0, "ok": {}, "bad": []}
            code = 0
            try:
                fn(wid, bdf, stop, stats)
            except BaseException as e:  # noqa: B902 - report, never escape the child
                stats["bad"].append(f"worker {fn.__name__} crashed: {e!r}")
                code = 1
            os.write(w, json.dumps(stats).encode())
            os._exit(code)
        os.close(w)
        kids.append((pid, r, fn.__name__))
    out = []
    for pid, r, name in kids:
        data = b""
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        s = json.loads(data) if data else {"ops": 0, "ok": {}, "bad": [f"{name}: no report"]}
        s["kind"] = name
        out.append(s)
    return out


def teardown_all(bdf):
    """Everything the workers left, removed: attachments, buffers."""
    if not h.loaded():
        h.load()
    for d in sorted(h.BUFFERS.iterdir()):
        if not d.is_dir():
            continue
        for a in (d / "attachments").iterdir() if (d / "attachments").exists() else []:
            h.write(a / "enable", "0")
            os.rmdir(a)
        assert h.write(d / "enable", "0") == 0, f"{d.name} does not disable"
        os.rmdir(d)


def check_consistent(bdf):
    """Every buffer directory's state agrees with sysfs and /dev; nothing else exists."""
    names = {d.name for d in h.BUFFERS.iterdir()} if h.BUFFERS.exists() else set()
    for n in names:
        b = h.Buffer(n)
        state = b.read("state")
        assert state in ("enabled", "disabled"), f"{n} stuck in {state}"
        if state == "enabled":
            assert b.dev.exists() and b.sysfs("nr_pages").strip() == "2"
            assert pathlib.Path(f"/dev/hugedma/{n}").exists()
        else:
            assert not b.dev.exists(), f"{n} is disabled but published"
        atts = b.dir / "attachments"
        for a in atts.iterdir():
            st = h.read(a / "state").strip()
            sysdir = b.dev / "attachments" / a.name
            assert (st in ("mapped", "waiting")) == sysdir.exists() or st == "removed", \
                (n, a.name, st)
            if st in ("mapped", "waiting"):
                assert state == "enabled"
            if st == "waiting":  # for a driver: the unloader's rmmod left edu without one
                assert not pathlib.Path(f"/sys/bus/pci/devices/{bdf}/driver").exists(), \
                    (n, a.name, "waiting with a driver bound")
    if h.CLASS.exists():
        extra = {p.name for p in h.CLASS.iterdir()} - names
        assert not extra, f"class devices without a buffer: {extra}"


def test_races(pool_guard):
    bdf = h.edu_bdf()
    if not bdf:
        pytest.skip("no edu device: run in a guest started with tests/vm/run --edu")
    need = (len(SHARED) + 4) * SIZE // h.SZ_2M
    assert h.free_pages(h.SZ_2M) >= need, f"needs {need} free 2 MB pages (--hugepages-2m)"
    h.load()
    if not pathlib.Path("/sys/module/hugedma_edu").exists():
        assert finit_module(str(h.EDU_KO)) == 0
    dump = pathlib.Path(fi.DEBUGFS) / "dma-api" / "dump"
    with h.KernelLog() as klog:
        t0 = time.monotonic()
        stats = run_workers([worker_general] * 4 + [worker_reader, worker_unloader],
                            bdf, SECONDS)
        took = time.monotonic() - t0
        lines = klog.lines()
        if not h.loaded():
            h.load()
        check_consistent(bdf)
        teardown_all(bdf)
        if pathlib.Path("/sys/module/hugedma_edu").exists():
            assert delete_module("hugedma_edu") == 0
        lines += klog.lines()
    total = sum(s["ops"] for s in stats)
    ok = {}
    for s in stats:
        for k, v in s["ok"].items():
            ok[k] = ok.get(k, 0) + v
    print(f"\nraces: {len(stats)} processes, {took:.0f} s, {total} operations "
          f"({', '.join(f'{k} {v}' for k, v in sorted(ok.items()))})")
    h.record_figure("race operations", total)
    h.record_figure("race processes", len(stats))
    h.record_figure("race seconds", round(took))
    out = os.environ.get("HUGEDMA_VM_OUT")
    if out and os.path.isdir(out):
        with open(os.path.join(out, "races.txt"), "w") as f:
            f.write(f"{len(stats)} processes, {took:.0f} s, {total} operations\n"
                    f"{json.dumps(ok, sort_keys=True)}\n")
    bad = [b for s in stats for b in s["bad"]]
    assert not bad, "unexpected errors:\n" + "\n".join(bad[:40])
    splats = h.splats(lines)
    assert not splats, "kernel log:\n" + "\n".join(splats[:40])
    assert total > 0 and ok.get("enable", 0) > 0 and ok.get("mmap", 0) > 0
    if dump.exists():
        left = [ln for ln in h.read(dump).splitlines() if ln.startswith(bdf + " ")]
        assert not left, f"DMA mappings of {bdf} left: {left[:5]}"
