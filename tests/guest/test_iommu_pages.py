# SPDX-License-Identifier: GPL-2.0
"""IOMMU page size: an attachment of a buffer of 1 GB pages is mapped with 1 GB
IOMMU pages (one second-level PDPE per GB), one of 2 MB pages with 2 MB IOMMU
pages, counted in intel-iommu's own page tables (debugfs, the debug kernel's
CONFIG_INTEL_IOMMU_DEBUGFS).  QEMU's intel-iommu offers 2 MB and 1 GB
second-level pages; the kernel's iommu-dma gives a multi-GB scatterlist one
IOVA range aligned to its power-of-two size, so each 1 GB page lands on a 1 GB
IOVA boundary and intel-iommu takes the largest page both addresses allow.
The coherent-4M status quo is counted beside it as a figure (make bench prints
the same counts, bench/guest.py --iommu-pages)."""
import fcntl
import pathlib
import struct
import sys

import pytest

import hugedma_test as h

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import iommupt  # noqa: E402

pytestmark = [pytest.mark.debug, pytest.mark.edu, pytest.mark.iommu]

COHERENT = struct.Struct("=QQQQ")
COHERENT_ALLOC = (3 << 30) | (COHERENT.size << 16) | (ord("h") << 8) | 0x47
COHERENT_FREE = (ord("h") << 8) | 0x48


@pytest.fixture(autouse=True)
def debugfs():
    assert iommupt.available(), (
        f"{iommupt.DEBUGFS} is missing: this file needs the debug kernel "
        "(CONFIG_INTEL_IOMMU_DEBUGFS) booted with tests/vm/run --iommu")


def mapped(b, bdf):
    """{page size: entries} of the IOMMU leaves under b's attachment to bdf."""
    addrs, lens = h.segments(b, bdf)
    assert addrs, "the attachment has no DMA segments"
    return iommupt.count(bdf, list(zip(addrs, lens)))


def test_1g_pages_get_1g_iommu_pages(edu, mkbuf, attach):
    nr = h.pool(h.SZ_1G)["free_hugepages"]
    assert nr >= 2, "needs 2 free 1 GB pages (tests/vm/run --hugepages-1g 3)"
    b = mkbuf(page_size="1G", size="2G")
    assert b.enable() == 0
    assert attach(b, edu.bdf, enable=True) == 0
    by = mapped(b, edu.bdf)
    h.record_figure("iommu_entries_per_gb_hugedma_1g", sum(by.values()) / 2)
    assert by == {h.SZ_1G: 2}, f"2 GB of 1 GB pages mapped as {iommupt.describe(by)}"


def test_2m_pages_get_2m_iommu_pages(edu, mkbuf, attach):
    b = mkbuf(page_size="2M", size="64M")
    assert b.enable() == 0
    assert attach(b, edu.bdf, enable=True) == 0
    by = mapped(b, edu.bdf)
    assert by == {h.SZ_2M: 32}, f"64 MB of 2 MB pages mapped as {iommupt.describe(by)}"


def test_unmapped_attachment_leaves_no_entry(edu, mkbuf, attach):
    """The counting sees removal too: disabling the attachment drops its entries."""
    b = mkbuf(page_size="2M", size="8M")
    assert b.enable() == 0
    assert attach(b, edu.bdf, enable=True) == 0
    addrs, lens = h.segments(b, edu.bdf)
    assert iommupt.count(edu.bdf, list(zip(addrs, lens)))
    assert h.write(b.dir / "attachments" / edu.bdf / "enable", "0") == 0
    assert iommupt.count(edu.bdf, list(zip(addrs, lens))) == {}


def test_coherent_4m_figure(edu):
    """The status quo's entries per GB, for make bench's comparison: 64 MB of
    dma_alloc_coherent() chunks of 4 MB for edu."""
    before = set(iommupt.leaves(edu.bdf))
    raw = bytearray(COHERENT.pack(64 << 20, 4 << 20, 0, 0))
    fcntl.ioctl(edu.fd, COHERENT_ALLOC, raw)
    try:
        total, chunk, nr_chunks, _ = COHERENT.unpack(raw)
        assert chunk == 4 << 20 and nr_chunks == 16, (chunk, nr_chunks)
        by = {}
        for _, size in set(iommupt.leaves(edu.bdf)) - before:
            by[size] = by.get(size, 0) + 1
        n = sum(by.values())
        assert n, "16 coherent chunks mapped for edu, and no IOMMU entry for them"
        h.record_figure("iommu_entries_per_gb_coherent_4m", n * 16)
        print(f"coherent-4M: 64 MB mapped as {iommupt.describe(by)}")
    finally:
        fcntl.ioctl(edu.fd, COHERENT_FREE)
