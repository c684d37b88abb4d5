#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench's IOMMU page-size table, inside a guest of the debug kernel
(bench/run --iommu-pages): how many intel-iommu page-table entries map one GB
of each row's memory for edu, and of which size, counted in the IOMMU's own
page tables (bench/iommupt.py, CONFIG_INTEL_IOMMU_DEBUGFS).

Rows (N = the free 1 GB pages at start):
  hugedma         configfs buffer of N GB of 1 GB pages, attached to edu
  hugedma-2M      configfs buffer of 1 GB of 2 MB pages, attached to edu
  kernel-hugetlb  MAP_HUGETLB|MAP_HUGE_1GB of N GB pinned with hugedma's import
                  ioctl, mapped for edu through the in-kernel API
  coherent-4M     hugedma_edu's dma_alloc_coherent() of N GB in 4 MB chunks,
                  after the 1 GB pool is given back to the page allocator

Writes table.md to $HUGEDMA_VM_OUT (and stdout).  Nothing is timed.
"""
import fcntl
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import guest as g  # noqa: E402
import iommupt  # noqa: E402


def per_gb(by, gb):
    return {s: n / gb for s, n in by.items()}


def fmt(by, gb):
    if not by:
        return "—", "—"
    return f"{sum(by.values()) / gb:.6g}", iommupt.describe(by)


def attached(name, bdf, gb):
    d = g.CFG / name / "attachments" / bdf
    os.mkdir(d)
    try:
        assert g.write(d / "enable", "1") == 0, f"{name}: attachment refused"
        a = g.CLS / name / "attachments" / bdf
        ranges = list(zip((int(x, 16) for x in g.read(a / "dma_addrs").split()),
                          (int(x) for x in g.read(a / "dma_lengths").split())))
        return iommupt.count(bdf, ranges)
    finally:
        g.write(d / "enable", "0")
        os.rmdir(d)


def buffer(name, page_size, size):
    d = g.CFG / name
    os.mkdir(d)
    assert g.write(d / "page_size", page_size) == 0
    assert g.write(d / "size", size) == 0
    err = g.write(d / "enable", "1")
    if err:
        os.rmdir(d)
        raise RuntimeError(f"{name}: enable: {os.strerror(err)}")
    return d


def drop(d):
    g.write(d / "enable", "0")
    os.rmdir(d)


def main():
    if not iommupt.available():
        sys.exit(f"bench: {iommupt.DEBUGFS} is missing: boot the debug kernel "
                 "(bench/run --iommu-pages does)")
    if not pathlib.Path("/sys/module/hugedma").exists():
        subprocess.run(["insmod", g.HUGEDMA_KO], check=True)
    edu = g.Edu()
    if edu.mode() != "translated":
        sys.exit("bench: edu is not behind the IOMMU (tests/vm/run --iommu)")
    edu.load()
    n = g.pool()["free_hugepages"]
    nr_1g = g.pool()["nr_hugepages"]
    assert n >= 1, "no free 1 GB pages"
    rows = {}
    try:
        d = buffer("iopt", "1G", f"{n}G")
        rows["hugedma"] = (attached("iopt", edu.bdf, n), n)
        drop(d)

        g.write(g.HP2M / "nr_hugepages", 512 + 64)
        d = buffer("iopt2m", "2M", "1G")
        rows["hugedma-2M"] = (attached("iopt2m", edu.bdf, 1), 1)
        drop(d)
        g.write(g.HP2M / "nr_hugepages", 0)

        h = g.Held("hugetlb", n, "imp")
        try:
            raw = bytearray(g.XFER.pack(b"imp", -1, 0, 0, 0, 0, 0))
            fcntl.ioctl(edu.fd, g.EDU_HOLD, raw)
            try:
                a = g.CLS / "imp" / "attachments" / edu.bdf
                ranges = list(zip((int(x, 16) for x in g.read(a / "dma_addrs").split()),
                                  (int(x) for x in g.read(a / "dma_lengths").split())))
                rows["kernel-hugetlb"] = (iommupt.count(edu.bdf, ranges), n)
            finally:
                fcntl.ioctl(edu.fd, g.EDU_RELEASE)
        finally:
            h.release()
        g.wait_pool(n)

        g.write(g.HP1G / "nr_hugepages", 0)
        before = set(iommupt.leaves(edu.bdf))
        h = g.Held("coherent", n * g.GB, 4 << 20)
        try:
            by = {}
            for _, size in set(iommupt.leaves(edu.bdf)) - before:
                by[size] = by.get(size, 0) + 1
            rows["coherent-4M"] = (by, n)
            chunk = int(h.vals["chunk"])
        finally:
            h.release()
    finally:
        g.write(g.HP1G / "nr_hugepages", nr_1g)
        edu.unload()
    subprocess.run(["rmmod", "hugedma"], check=True)

    out = [f"| IOMMU page-table entries for edu, {n} GB (debug kernel) | entries/GB | of which |",
           "|---|---:|---|"]
    for name, (by, gb) in rows.items():
        e, what = fmt(by, gb)
        out.append(f"| {name} | {e} | {what} |")
    notes = ["Counted in intel-iommu's second-level page tables "
             "(debugfs domain_translation_struct): a 1 GB IOMMU page is one PDPE, "
             "a 2 MB page one PDE, a 4 KB page one PTE; QEMU's intel-iommu offers 2 MB "
             "and 1 GB pages."]
    if chunk != 4 << 20:
        notes.append(f"coherent-4M: 4 MB chunks failed; {chunk >> 10} KB chunks")
    t = "\n".join(out + [""] + [f"- {x}" for x in notes]) + "\n"
    outdir = pathlib.Path(os.environ.get("HUGEDMA_VM_OUT", "."))
    (outdir / "table.md").write_text(t)
    print(t)


if __name__ == "__main__":
    main()
