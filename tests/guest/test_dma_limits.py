# SPDX-License-Identifier: GPL-2.0
"""Mappings a device cannot take: each fails with its own errno (ERANGE for the DMA
mask, EINVAL for a segment limit below a page, E2BIG past HUGEDMA_MAX_SEGMENTS
segments) and one log line naming the buffer, the device and the limit, before
anything is mapped: no pool page, mapping or state changes.  edu with and without an
IOMMU (make check runs this file in both guests)."""
import errno
import fcntl
import os
import struct

import pytest

import hugedma_test as h
from hugedma_test import EDU_KAPI, IOMMU, dma_entries, segments, set_dma, xfer

pytestmark = pytest.mark.edu

MAX_SEGMENTS = 65536  # module/hugedma.h, documented in configfs-schema/hugedma.json
EDU_SET_BOUNDARY = (1 << 30) | (8 << 16) | (ord("h") << 8) | 0x4F


def set_boundary(fd, mask):
    fcntl.ioctl(fd, EDU_SET_BOUNDARY, struct.pack("=Q", mask))


@pytest.fixture
def limits(edu):
    """edu; its DMA mask, max segment size and segment boundary restored after."""
    yield edu
    set_dma(edu.fd, 64, 1 << 30)
    set_boundary(edu.fd, 0xFFFFFFFF)


def refused(b, bdf, err, *words):
    """Enabling b's attachment for bdf fails with err and one kernel log line that
    names the buffer, the device and contains words; nothing changes."""
    att = b.dir / "attachments" / bdf
    before = h.snapshot()
    with h.KernelLog() as log:
        assert h.write(att / "enable", "1") == err, h.errname(err)
        said = [ln for ln in log.lines() if b.name in ln and
                ("cannot map" in ln or ": rejected " in ln)]
    assert len(said) == 1, said
    line = said[0]
    assert f"{b.name}/{bdf}: rejected enable '1': -{errno.errorcode[err]}: " in line, line
    for w in words:
        assert w in line, (w, line)
    assert h.read(att / "state").strip() == "disabled"
    assert not (b.dev / "attachments" / bdf).exists()
    assert h.snapshot() == before
    assert dma_entries(bdf) == 0
    return line


def test_mask_too_narrow_for_the_buffer(limits, mkbuf, attach):
    """The issue's case: a 2 GB buffer for a device with a 32-bit DMA mask.  Behind
    the IOMMU no 2 GB IOVA range is free below 4 GB (the PCI hole and the MSI window
    are reserved), and a 1 GB mask cannot hold 2 GB at all; without one a page lies
    above a 28-bit mask."""
    fd, bdf = limits
    assert h.pool(h.SZ_1G)["free_hugepages"] >= 2, "needs 2 free 1 GB pages (--hugepages-1g)"
    b = mkbuf(size="2G")
    assert b.enable() == 0
    attach(b, bdf)
    if IOMMU:
        set_dma(fd, 32, 1 << 30)
        refused(b, bdf, errno.ERANGE, "the IOMMU has no free IOVA range of 2147483648 bytes",
                "below the device's DMA mask 0xffffffff")
        set_dma(fd, 30, 1 << 30)
        refused(b, bdf, errno.ERANGE, "2147483648 bytes do not fit below the device's DMA "
                "mask 0x3fffffff")
    else:
        set_dma(fd, 28, 1 << 30)
        refused(b, bdf, errno.ERANGE, "page 0 lies above the device's DMA mask 0xfffffff",
                "no IOMMU")
    # the same limits through the kernel API (one attachment per device: the
    # configfs one goes first): the same errno
    os.rmdir(b.dir / "attachments" / bdf)
    assert xfer(fd, EDU_KAPI, name=b.name)[0] == errno.ERANGE
    set_dma(fd, 64, 1 << 30)
    attach(b, bdf)
    assert h.write(b.dir / "attachments" / bdf / "enable", "1") == 0
    assert sum(segments(b, bdf)[1]) == 2 << 30
    assert h.write(b.dir / "attachments" / bdf / "enable", "0") == 0


def test_segment_limits_below_a_page(limits, mkbuf, attach):
    fd, bdf = limits
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    attach(b, bdf)
    set_dma(fd, 64, 2048)
    refused(b, bdf, errno.EINVAL, "the device's max segment size 2048 is below the page size")
    set_dma(fd, 64, 1 << 30)
    set_boundary(fd, 0x7FF)
    refused(b, bdf, errno.EINVAL, "the device's segment boundary mask 0x7ff is below the "
            "page size")


def test_segment_boundary_cuts_segments(limits, mkbuf, attach):
    """A 64 KiB boundary: no segment crosses one, whatever the max segment size."""
    fd, bdf = limits
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    attach(b, bdf)
    set_boundary(fd, 0xFFFF)
    assert h.write(b.dir / "attachments" / bdf / "enable", "1") == 0
    addrs, lens = segments(b, bdf)
    assert sum(lens) == 4 << 20
    assert all(a // (64 << 10) == (a + n - 1) // (64 << 10) for a, n in zip(addrs, lens))
    if not IOMMU:
        assert len(lens) == (4 << 20) // (64 << 10)
    assert h.write(b.dir / "attachments" / bdf / "enable", "0") == 0


def test_segment_table_limit(limits, mkbuf, attach):
    """4 KiB segments: 256 MB makes exactly MAX_SEGMENTS segments and maps; 2 MB more
    is E2BIG, logged with both segment limits, for configfs and the kernel API alike."""
    fd, bdf = limits
    set_dma(fd, 64, 4096)
    at = mkbuf(page_size="2M", size="256M")  # MAX_SEGMENTS * 4096
    assert at.enable() == 0
    attach(at, bdf, enable=False)
    assert h.write(at.dir / "attachments" / bdf / "enable", "1") == 0
    assert int(h.read(at.dev / "attachments" / bdf / "nr_segments")) == MAX_SEGMENTS
    addrs, lens = segments(at, bdf)
    assert len(addrs) == MAX_SEGMENTS and set(lens) == {4096}
    assert h.write(at.dir / "attachments" / bdf / "enable", "0") == 0
    at.disable()
    over = mkbuf(page_size="2M", size="258M")
    assert over.enable() == 0
    attach(over, bdf)
    n = MAX_SEGMENTS + h.SZ_2M // 4096
    refused(over, bdf, errno.E2BIG, "max segment size 4096 and segment boundary mask "
            f"0xffffffff cut {MAX_SEGMENTS * 4096 + h.SZ_2M} bytes into {n} segments, more "
            f"than {MAX_SEGMENTS}")
    os.rmdir(over.dir / "attachments" / bdf)
    assert xfer(fd, EDU_KAPI, name=over.name)[0] == errno.E2BIG
    # the boundary alone does it too
    set_dma(fd, 64, 1 << 30)
    set_boundary(fd, 0xFFF)
    attach(over, bdf)
    refused(over, bdf, errno.E2BIG, "max segment size 1073741824 and segment boundary mask "
            "0xfff", f"into {n} segments")
