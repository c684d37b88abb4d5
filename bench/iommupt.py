# SPDX-License-Identifier: GPL-2.0
"""The IOMMU page-table entries that map a device's IOVAs, read from intel-iommu's
debugfs (CONFIG_INTEL_IOMMU_DEBUGFS: the debug kernel, tests/kernel/debug.config).

In 6.1 /sys/kernel/debug/iommu/intel/domain_translation_struct lists, per IOMMU
group, "Device BDF @PGD" and then one line per leaf entry of its DMA domain:

    0x<IOVA PFN> |  <PML5E> <PML4E> <PDPE> <PDE> <PTE>

The deepest non-zero entry on a line is the leaf: a PDPE is a 1 GB page, a PDE a
2 MB page, a PTE a 4 KB page.  Used by tests/guest/test_iommu_pages.py and by
bench/guest.py --iommu-pages.
"""
import pathlib

DEBUGFS = pathlib.Path("/sys/kernel/debug/iommu/intel/domain_translation_struct")
SIZES = {2: 1 << 30, 3: 2 << 20, 4: 4 << 10}  # column of the leaf -> page size
NAMES = {1 << 30: "1G", 2 << 20: "2M", 4 << 10: "4K"}


def available():
    return DEBUGFS.exists()


def leaves(bdf):
    """[(iova, page size)] of every present leaf entry in bdf's domain."""
    out, mine = [], False
    for line in DEBUGFS.read_text().splitlines():
        if line.startswith("Device "):
            mine = line.split()[1] == bdf
            continue
        if not mine or "|" not in line:
            continue
        pfn, rest = line.split("|", 1)
        cols = [int(x, 16) for x in rest.split()]
        # cols: PML5E PML4E PDPE PDE PTE; the leaf is the last non-zero one
        leaf = max(i for i, v in enumerate(cols) if v)
        if leaf not in SIZES:
            raise ValueError(f"a leaf above a PDPE in: {line!r}")
        out.append((int(pfn, 16) << 12, SIZES[leaf]))
    return out


def count(bdf, ranges):
    """{page size: entries} of bdf's leaves inside the (start, length) ranges."""
    by = {}
    for iova, size in leaves(bdf):
        if any(a <= iova < a + n for a, n in ranges):
            by[size] = by.get(size, 0) + 1
    return by


def describe(by):
    """'2 x 1G' or '512 x 2M + 1 x 4K'."""
    return " + ".join(f"{by[s]} x {NAMES[s]}" for s in sorted(by, reverse=True)) or "none"
