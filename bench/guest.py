#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench, inside the guest: every figure of one table, measured in one boot.

Run by bench/run through tests/vm/run (--iommu --edu, 2 vCPUs, the 1 GB pool).
Loads hugedma (HUGEDMA_KO) and the edu test driver (HUGEDMA_EDU_KO), measures
the four rows, then the control path, and writes results.json and table.md to
$HUGEDMA_VM_OUT (and the table to stdout).  Never asserts a time.

Rows (N = every free 1 GB page at start):
  hugedma         configfs buffer of N GB: enable 1, then enable 0
  hugedma, contiguous 1
                  the same with contiguous 1 (its own repetitions, after the others)
  kernel-hugetlb  MAP_HUGETLB|MAP_HUGE_1GB of N GB touched by one thread, then
                  pinned with hugedma's import ioctl; close + munmap
  coherent-4M     hugedma_edu's dma_alloc_coherent() of N GB in 4 MB chunks
                  (the largest order that works), after the 1 GB pool is
                  given back to the page allocator; COHERENT_FREE
  udmabuf         /dev/udmabuf from a 1 GB hugetlb memfd of N GB (where the
                  kernel has it); close

Before anything else, the first enable after boot (contiguous 0) of N GB gives the
physically contiguous runs from a fresh pool (its own table; its time includes the
host's first touch of the guest's memory).

DMA segments are counted for edu twice in the same boot: behind intel-iommu
(a DMA domain: IOVAs), then with edu's IOMMU group switched to an identity
domain (bus address = physical address, as without an IOMMU).
"""
import argparse
import fcntl
import json
import os
import pathlib
import stat
import statistics
import struct
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
HDBENCH = HERE / "hdbench"
HUGEDMA_KO = os.environ.get("HUGEDMA_KO", str(REPO / "hugedma.ko"))
EDU_KO = os.environ.get("HUGEDMA_EDU_KO", str(REPO / "tests/drivers/hugedma_edu.ko"))
HP = pathlib.Path("/sys/kernel/mm/hugepages")
HP1G, HP2M = HP / "hugepages-1048576kB", HP / "hugepages-2048kB"
CFG = pathlib.Path("/sys/kernel/config/hugedma/buffers")
CLS = pathlib.Path("/sys/class/hugedma")
GB, MB2 = 1 << 30, 2 << 20

XFER = struct.Struct("=40siIQQQQ")
_IOW = lambda nr, size: (1 << 30) | (size << 16) | (ord("h") << 8) | nr  # noqa: E731
EDU_HOLD = _IOW(0x43, XFER.size)
EDU_RELEASE = (ord("h") << 8) | 0x44
EDU_SET_DMA = _IOW(0x45, 16)


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def read(p):
    with open(p) as f:
        return f.read()


def write(p, v):
    """Write v to p; 0 or the errno."""
    try:
        fd = os.open(p, os.O_WRONLY)
    except OSError as e:
        return e.errno
    try:
        os.write(fd, str(v).encode())
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def pool(d=HP1G):
    return {c: int(read(d / c)) for c in ("nr_hugepages", "free_hugepages", "resv_hugepages")}


def wait_pool(free, d=HP1G, timeout=60):
    end = time.monotonic() + timeout
    while pool(d)["free_hugepages"] != free and time.monotonic() < end:
        time.sleep(0.05)
    if pool(d)["free_hugepages"] != free:
        raise RuntimeError(f"pool did not come back: {pool(d)} (want {free} free)")


def runs(addrs, size):
    """Physically contiguous runs of pages of `size` at `addrs`, in order."""
    n = 0
    for i, a in enumerate(addrs):
        if i == 0 or a != addrs[i - 1] + size:
            n += 1
    return n


def kv(lines):
    out = {}
    for line in lines:
        if "=" in line:
            k, v = line.strip().split("=", 1)
            out[k] = v
    return out


class Held:
    """An hdbench subcommand that holds its pages until release()."""

    def __init__(self, *args):
        self.p = subprocess.Popen([str(HDBENCH), *map(str, args)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        lines = []
        for line in self.p.stdout:
            if line.strip() == "ready":
                break
            lines.append(line)
        else:
            self.p.wait()
            raise RuntimeError(f"hdbench {' '.join(map(str, args))} failed ({self.p.returncode})")
        self.vals = kv(lines)

    def release(self):
        out, _ = self.p.communicate("go\n")
        if self.p.returncode:
            raise RuntimeError(f"hdbench teardown failed ({self.p.returncode})")
        return kv(out.splitlines())


def hdbench(*args):
    r = subprocess.run([str(HDBENCH), *map(str, args)], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"hdbench {args}: {r.stderr.strip()}")
    return kv(r.stdout.splitlines())


class Edu:
    """hugedma_edu bound to the edu device, and the device's IOMMU group."""

    def __init__(self):
        self.bdf = next(d.name for d in pathlib.Path("/sys/bus/pci/devices").iterdir()
                        if read(d / "vendor").strip() == "0x1234"
                        and read(d / "device").strip() == "0x11e8")
        grp = pathlib.Path(f"/sys/bus/pci/devices/{self.bdf}/iommu_group")
        self.group_type = grp.resolve() / "type" if grp.exists() else None
        self.fd = -1

    def mode(self):
        if not self.group_type:
            return "direct"
        t = read(self.group_type).strip()
        return "direct" if t == "identity" else "translated"

    def load(self):
        subprocess.run(["insmod", EDU_KO], check=True)
        self.fd = os.open("/dev/hugedma-edu", os.O_RDWR)
        # the largest max segment size the DMA API can express (4 GB - 1)
        fcntl.ioctl(self.fd, EDU_SET_DMA, struct.pack("=QQ", 64, 0xFFFFFFFF))

    def unload(self):
        os.close(self.fd)
        self.fd = -1
        subprocess.run(["rmmod", "hugedma_edu"], check=True)

    def switchable(self):
        """Whether the group's domain type can be changed at run time (5.11 on:
        the file is writable; root's access() would say yes to any mode)."""
        return bool(self.group_type and self.group_type.stat().st_mode & stat.S_IWUSR)

    def switch(self, kind):
        """Put edu's IOMMU group in a DMA ("DMA") or identity domain."""
        self.unload()
        err = write(self.group_type, kind)
        if err:
            raise RuntimeError(f"{self.group_type} <- {kind}: {os.strerror(err)}")
        self.load()
        log(f"edu's IOMMU group is now {read(self.group_type).strip()}")

    def segments(self, name):
        """nr_segments of a kernel-API mapping of buffer `name` for edu."""
        raw = bytearray(XFER.pack(name.encode(), -1, 0, 0, 0, 0, 0))
        fcntl.ioctl(self.fd, EDU_HOLD, raw)
        try:
            return int(read(CLS / name / "attachments" / self.bdf / "nr_segments"))
        finally:
            fcntl.ioctl(self.fd, EDU_RELEASE)


class Bench:
    def __init__(self, args):
        self.args = args
        self.edu = Edu()
        self.rows = {r: {"prov": [], "teardown": [], "faults": [], "runs": [], "segs": {}}
                     for r in ("hugedma", "hugedma, contiguous 1", "kernel-hugetlb",
                               "coherent-4M", "udmabuf")}
        self.fresh = None
        self.notes = []
        self.n = 0

    def rec(self, row, **kw):
        self.rows.setdefault(row, {"prov": [], "teardown": [], "faults": [], "runs": [],
                                   "segs": {}})
        for k, v in kw.items():
            self.rows[row][k].append(v)

    # ------------------------------------------------------------ rows

    def hugedma(self, segs, contiguous=0, row="hugedma"):
        n = self.n
        d = CFG / "bench"
        os.mkdir(d)
        try:
            assert write(d / "size", f"{n}G") == 0
            assert write(d / "contiguous", str(contiguous)) == 0
            t = time.monotonic()
            err = write(d / "enable", "1")
            prov = time.monotonic() - t
            if err:
                raise RuntimeError(f"enable: {os.strerror(err)}")
            addrs = [int(x, 16) for x in read(CLS / "bench" / "phys_addrs").split()]
            nr_ext = int(read(CLS / "bench" / "nr_extents"))
            r = runs(addrs, GB)
            if nr_ext != r:
                self.notes.append(f"hugedma: nr_extents {nr_ext} != {r} runs in phys_addrs")
            f = int(hdbench("touch", "/dev/hugedma/bench", n * GB)["faults"])
            if segs:
                self.rows["hugedma"]["segs"][segs] = self.edu.segments("bench")
            t = time.monotonic()
            assert write(d / "enable", "0") == 0
            self.rec(row, prov=prov, teardown=time.monotonic() - t, faults=f, runs=r)
            log(f"{row}: {prov:.2f} s, phys {[hex(a) for a in addrs]}")
        finally:
            write(d / "enable", "0")
            os.rmdir(d)

    def hugetlb(self, segs):
        n, free = self.n, pool()["free_hugepages"]
        h = Held("hugetlb", n, "imp")
        try:
            addrs = [int(x, 16) for x in h.vals["phys"].split(",")]
            if segs:
                self.rows["kernel-hugetlb"]["segs"][segs] = self.edu.segments("imp")
        finally:
            out = h.release()
        wait_pool(free)
        self.rec("kernel-hugetlb", prov=float(h.vals["prov_s"]),
                 teardown=float(out["teardown_s"]), faults=int(h.vals["faults"]),
                 runs=runs(addrs, GB))
        log(f"kernel-hugetlb: {float(h.vals['prov_s']):.2f} s, phys {[hex(a) for a in addrs]}")

    def udmabuf(self, segs):
        if not pathlib.Path("/dev/udmabuf").exists():
            subprocess.run(["modprobe", "udmabuf"], capture_output=True)
        if not pathlib.Path("/dev/udmabuf").exists():
            return False
        n, free = self.n, pool()["free_hugepages"]
        # udmabuf refuses more than size_limit_mb (64 MB by default) per buffer
        limit = pathlib.Path("/sys/module/udmabuf/parameters/size_limit_mb")
        if limit.exists() and int(limit.read_text()) < n * 1024:
            limit.write_text(str(n * 1024))
        try:
            h = Held("udmabuf", n)
        except RuntimeError as e:
            wait_pool(free)
            self.notes.append(f"udmabuf: a dma-buf of {n} GB could not be made ({e})")
            return False
        out = h.release()
        wait_pool(free)
        addrs = [int(x, 16) for x in h.vals["phys"].split(",")]
        if segs and "segments" in h.vals:
            self.rows["udmabuf"]["segs"][segs] = int(h.vals["segments"])
        self.rec("udmabuf", prov=float(h.vals["prov_s"]), teardown=float(out["teardown_s"]),
                 runs=runs(addrs, GB))
        return True

    def coherent(self, segs):
        h = Held("coherent", self.n * GB, 4 << 20)
        out = h.release()
        chunk = int(h.vals["chunk"])
        if chunk != 4 << 20:
            self.notes.append(f"coherent-4M: 4 MB chunks failed; {chunk >> 10} KB chunks")
        if segs:
            self.rows["coherent-4M"]["segs"][segs] = int(h.vals["segments"])
        self.rec("coherent-4M", prov=float(h.vals["prov_s"]), teardown=float(out["teardown_s"]),
                 faults=int(h.vals["faults"]), runs=int(h.vals["runs"]))

    # ------------------------------------------------------------ control path

    def control(self, k):
        """k buffers of one 2 MB page each: enable all, then disable all."""
        write(HP2M / "nr_hugepages", k + 64)
        if pool(HP2M)["free_hugepages"] < k:
            self.notes.append(f"control path: only {pool(HP2M)['free_hugepages']} 2 MB pages")
            k = pool(HP2M)["free_hugepages"]
        names = [f"c{i}" for i in range(k)]
        for nm in names:
            os.mkdir(CFG / nm)
            assert write(CFG / nm / "page_size", "2M") == 0
            assert write(CFG / nm / "size", "2M") == 0
        slab0, free0 = meminfo()
        en = []
        for nm in names:
            t = time.monotonic()
            err = write(CFG / nm / "enable", "1")
            en.append(time.monotonic() - t)
            assert err == 0, os.strerror(err)
        slab1, free1 = meminfo()
        dis = []
        for nm in reversed(names):
            t = time.monotonic()
            assert write(CFG / nm / "enable", "0") == 0
            dis.append(time.monotonic() - t)
        for nm in names:
            os.rmdir(CFG / nm)
        dis.reverse()   # dis[i]: buffer i's disable, with i + 1 buffers enabled
        lo = max(1, min(100, k // 4))     # the first and last quarter, at most 100
        ctl = {"buffers": k,
               "enable_at_low": statistics.median(en[:lo]),
               "enable_at_high": statistics.median(en[-lo:]),
               "disable_at_low": statistics.median(dis[:lo]),
               "disable_at_high": statistics.median(dis[-lo:]),
               "low": lo,
               "slab_per_buffer": (slab1 - slab0) / k,
               "mem_per_buffer": (free0 - free1) / k}
        # per page: one buffer of k pages against one of a single page
        d = CFG / "pp"
        os.mkdir(d)
        assert write(d / "page_size", "2M") == 0
        per = []
        for pages in (1, k):
            assert write(d / "size", str(pages * MB2)) == 0
            s0, f0 = meminfo()
            assert write(d / "enable", "1") == 0
            s1, f1 = meminfo()
            assert write(d / "enable", "0") == 0
            per.append((s1 - s0, f0 - f1))
        os.rmdir(d)
        ctl["slab_per_page"] = (per[1][0] - per[0][0]) / (k - 1) if k > 1 else 0
        ctl["mem_per_page"] = (per[1][1] - per[0][1]) / (k - 1) if k > 1 else 0
        write(HP2M / "nr_hugepages", 0)
        return ctl

    # ------------------------------------------------------------ the run

    def run(self):
        a = self.args
        self.n = pool()["free_hugepages"]
        assert self.n >= 1, "no 1 GB pages"
        log(f"{self.n} x 1 GB pages, {os.cpu_count()} CPUs, edu at {self.edu.bdf}, "
            f"{self.edu.mode()}")
        # the first enable after boot: the fresh pool's order (its time includes
        # the host's first touch of the guest's RAM, so it is no row's figure)
        self.hugedma(None, row="fresh")
        fresh = self.rows.pop("fresh")
        self.fresh = {k: fresh[k][0] for k in ("prov", "runs")}
        # untimed: the host's first touch of the guest's RAM is no row's cost
        hdbench("warm", self.n)
        self.edu.load()
        first = self.edu.mode()
        other = "direct" if first == "translated" else None
        if other and not self.edu.switchable():
            other = None
            self.notes.append("edu direct: this kernel's IOMMU group type is read-only "
                              "(writable from 5.11), so edu stays translated: column not measured")
        have_udmabuf = True
        # reps - 1 repetitions with edu behind the IOMMU, the last one with an
        # identity domain (or all of them when there is no IOMMU)
        reps_first = max(1, a.reps - 1) if other else a.reps
        for rep in range(reps_first):
            seg = first if rep == 0 else None
            self.hugedma(seg)
            self.hugetlb(seg)
            have_udmabuf = have_udmabuf and self.udmabuf(seg)
        if other:
            self.edu.switch("identity")
            self.hugedma(other)
            self.hugetlb(other)
            if have_udmabuf:
                self.udmabuf(other)
        # contiguous 1 apart, after the others, so that their pools are as before
        for rep in range(a.reps):
            self.hugedma(None, contiguous=1, row="hugedma, contiguous 1")
        if not have_udmabuf:
            self.notes.append("udmabuf: this kernel has no CONFIG_UDMABUF (Debian's 6.1 does "
                              "not; 6.12 and newer do): row not measured")
        # coherent memory comes from the page allocator: give the 1 GB pool back
        write(HP1G / "nr_hugepages", 0)
        for rep in range(a.reps):
            self.coherent(self.edu.mode() if rep == 0 else None)
        if other:
            self.edu.switch("DMA")
            self.coherent(first)
            # the translated repetition's time is not in the median (another path)
            for k in ("prov", "teardown", "faults", "runs"):
                self.rows["coherent-4M"][k].pop()
        ctl = self.control(a.control)
        self.edu.unload()
        return ctl


def meminfo():
    """(Slab kB, MemFree kB) from /proc/meminfo."""
    m = {}
    for line in read("/proc/meminfo").splitlines():
        k, v = line.split(":")
        m[k] = int(v.split()[0])
    return m["Slab"] * 1024, m["MemFree"] * 1024


def med(xs):
    return statistics.median(xs) if xs else None


def table(b, ctl):
    n = b.n
    base = med(b.rows["kernel-hugetlb"]["prov"])
    out = [f"| {n} GB, median of {b.args.reps} | provisioning (s) | ratio to kernel-hugetlb "
           "| teardown (s) | DMA segments/GB, edu + IOMMU | DMA segments/GB, edu direct "
           "| user faults/GB, touching every 4 KB | physically contiguous runs |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def f(x, fmt):
        return "—" if x is None else format(x, fmt)

    for name, r in b.rows.items():
        prov = med(r["prov"])
        faults = med(r["faults"])
        segs = r["segs"]
        out.append(
            f"| {name} | {f(prov, '.2f')} | "
            f"{f(prov / base if prov is not None and base else None, '.2f')} | "
            f"{f(med(r['teardown']), '.3f')} | "
            f"{f(segs['translated'] / n if 'translated' in segs else None, '.3g')} | "
            f"{f(segs['direct'] / n if 'direct' in segs else None, '.3g')} | "
            f"{f(faults / n if faults is not None else None, '.6g')} | "
            f"{f(med(r['runs']), '.0f')} |")
    fr = b.fresh
    out += ["",
            f"| {n} GB from a fresh pool (the first enable after boot, contiguous 0) "
            "| physically contiguous runs | provisioning (s, the host's first touch included) |",
            "|---|---:|---:|",
            f"| hugedma | {fr['runs']} | {fr['prov']:.2f} |"]
    out += ["",
            f"| control path, {ctl['buffers']} buffers of one 2 MB page | enable (ms/op) "
            "| disable (ms/op) |",
            "|---|---:|---:|",
            f"| at {ctl['low']} buffers | {ctl['enable_at_low'] * 1e3:.2f} "
            f"| {ctl['disable_at_low'] * 1e3:.2f} |",
            f"| at {ctl['buffers']} buffers | {ctl['enable_at_high'] * 1e3:.2f} "
            f"| {ctl['disable_at_high'] * 1e3:.2f} |",
            "",
            f"Module memory: {ctl['slab_per_buffer'] / 1024:.1f} KiB slab "
            f"({ctl['mem_per_buffer'] / 1024:.1f} KiB in all) per enabled buffer; "
            f"{ctl['slab_per_page']:.0f} B slab ({ctl['mem_per_page']:.0f} B in all) "
            "per page (/proc/meminfo Slab and MemFree deltas)."]
    notes = ["coherent-4M faults: its mmap (as dma_mmap_coherent()) builds every 4 KB PTE "
             "at mmap time: 0 faults, 262144 PTEs per GB.",
             "kernel-hugetlb's DMA segments are those of its pages pinned through hugedma's "
             "import ioctl (hugedma builds that sg_table too).",
             "edu's max segment size is set to 4 GB - 1 (the most the DMA API can express) "
             "and its segment boundary is PCI's default 4 GB: no segment is longer "
             "than 3 GB of whole 1 GB pages."] + b.notes
    out += [""] + [f"- {x}" for x in notes]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--control", type=int, default=1000)
    a = ap.parse_args()
    if not pathlib.Path("/sys/module/hugedma").exists():
        subprocess.run(["insmod", HUGEDMA_KO], check=True)
    nr_1g = pool()["nr_hugepages"]
    b = Bench(a)
    try:
        ctl = b.run()
    finally:
        # best effort: 1 GB pages given back to the page allocator may not
        # come back once coherent-4M has used that memory
        write(HP1G / "nr_hugepages", nr_1g)
    subprocess.run(["rmmod", "hugedma"], check=True)
    t = table(b, ctl)
    outdir = pathlib.Path(os.environ.get("HUGEDMA_VM_OUT", "."))
    (outdir / "table.md").write_text(t)
    (outdir / "results.json").write_text(json.dumps(
        {"gb": b.n, "reps": a.reps, "rows": b.rows, "fresh": b.fresh, "control": ctl,
         "notes": b.notes,
         "kernel": os.uname().release, "cpus": os.cpu_count()}, indent=1))
    print(t)


if __name__ == "__main__":
    main()
