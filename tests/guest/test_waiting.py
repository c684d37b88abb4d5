# SPDX-License-Identifier: GPL-2.0
"""Attachments that follow the consuming driver's life: enabled for a device with no
driver bound, an attachment waits (state `waiting`, no bus addresses, nothing mapped),
is mapped with the limits the driver's probe set when it binds, goes back to waiting
when it unbinds and maps again on the next bind.  edu with and without an IOMMU (make
check runs this file in both guests)."""
import errno
import mmap
import os
import pathlib

import pytest

import hugedma_test as h
from hugedma_test import EDU_RAW, IOMMU, LEN, dma_entries, segments, xfer

pytestmark = pytest.mark.edu

DRV = pathlib.Path("/sys/bus/pci/drivers/hugedma_edu")
PARAMS = pathlib.Path("/sys/module/hugedma_edu/parameters")
DEFAULTS = {"dma_bits": "64", "max_seg_size": str(1 << 30), "seg_boundary": "0"}


def bound(bdf):
    return pathlib.Path(f"/sys/bus/pci/devices/{bdf}/driver").exists()


@pytest.fixture
def unbound(edu):
    """edu with no driver bound: yields its (fd, bdf); afterwards hugedma_edu's
    probe limits are back at their defaults and it is bound again."""
    fd, bdf = edu
    assert h.write(DRV / "unbind", bdf) == 0
    assert not bound(bdf)
    yield fd, bdf
    for p, v in DEFAULTS.items():
        h.write(PARAMS / p, v)
    if not bound(bdf):
        assert h.write(DRV / "bind", bdf) == 0


def states(b, bdf):
    """The attachment's state in configfs and in sysfs (None: no sysfs directory)."""
    d = b.dev / "attachments" / bdf
    return (h.read(b.dir / "attachments" / bdf / "state").strip(),
            h.read(d / "state").strip() if d.exists() else None)


def check_waiting(b, bdf):
    """Waiting: enabled, and its bus-address files say nothing."""
    assert states(b, bdf) == ("waiting", "waiting")
    assert h.read(b.dir / "attachments" / bdf / "enable").strip() == "1"
    d = b.dev / "attachments" / bdf
    assert h.read(d / "nr_segments").strip() == "0"
    for f in ("dma_addrs", "dma_lengths", "iommu"):
        assert h.read(d / f) == "", f"{f} of a waiting attachment is not empty"
    assert dma_entries(bdf) == 0, "DMA-API debug lists a mapping of a waiting attachment"


def round_trip(fd, b, bdf, m):
    """edu moves LEN bytes from the first page to the last through the published
    bus addresses; returns them."""
    addrs, lens = segments(b, bdf)
    assert sum(lens) == len(m)
    size = len(m)

    src, dst = 64, size - LEN - 64
    pattern = os.urandom(LEN)
    m[src:src + LEN] = pattern
    m[dst:dst + LEN] = bytes(LEN)
    err = xfer(fd, EDU_RAW, src=h.bus_of(addrs, lens, src), dst=h.bus_of(addrs, lens, dst))[0]
    assert err == 0, os.strerror(err)
    assert m[dst:dst + LEN] == pattern, "DMA at the published bus addresses went wrong"
    return addrs, lens


def test_waiting_attachment_follows_the_driver(unbound, mkbuf, attach):
    fd, bdf = unbound
    b = mkbuf(page_size="2M", size="8M")
    assert b.enable() == 0
    bfd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    m = mmap.mmap(bfd, 8 << 20, mmap.MAP_SHARED)
    att = b.dir / "attachments" / bdf
    try:
        attach(b, bdf)
        pool0 = h.snapshot()
        with h.KernelLog() as log:
            assert h.write(att / "enable", "1") == 0
            said = [ln for ln in log.lines() if f"{b.name}: {bdf}: " in ln]
        assert any("no driver bound" in ln for ln in said), said
        check_waiting(b, bdf)
        assert h.snapshot() == pool0, "waiting took pool pages"
        # enabled: it keeps the buffer enabled and its directory, as a mapped one
        assert h.write(att / "enable", "1") == 0
        assert h.write(att / "direction", "to_device") == errno.EBUSY
        assert b.disable() == errno.EBUSY
        with pytest.raises(OSError) as e:
            os.rmdir(att)
        assert e.value.errno == errno.EBUSY
        # a driver binds: mapped, and the device DMAs at the published addresses
        with h.KernelLog() as log:
            assert h.write(DRV / "bind", bdf) == 0
            said = [ln for ln in log.lines() if f"{b.name}: {bdf}: " in ln]
        assert any("driver hugedma_edu bound, mapped" in ln for ln in said), said
        assert states(b, bdf) == ("mapped", "mapped")
        assert h.read(b.dev / "attachments" / bdf / "iommu").strip() == \
            ("translated" if IOMMU else "direct")
        first = round_trip(fd, b, bdf, m)
        if not IOMMU:
            assert first[0][0] == b.phys_addrs()[0]
        # it unbinds: unmapped before the driver goes, waiting again
        assert h.write(DRV / "unbind", bdf) == 0
        check_waiting(b, bdf)
        assert h.snapshot() == pool0
        assert b.disable() == errno.EBUSY
        # and the next bind maps it again
        assert h.write(DRV / "bind", bdf) == 0
        assert states(b, bdf) == ("mapped", "mapped")
        round_trip(fd, b, bdf, m)
        assert h.write(att / "enable", "0") == 0
        assert states(b, bdf) == ("disabled", None)
    finally:
        m.close()
        os.close(bfd)
    assert b.disable() == 0


def test_disable_while_waiting(unbound, mkbuf, attach):
    """enable 0 of a waiting attachment: disabled, nothing left to map at the next
    bind, and the buffer can be disabled and its attachment removed."""
    _, bdf = unbound
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    att = b.dir / "attachments" / bdf
    attach(b, bdf, enable=True)
    check_waiting(b, bdf)
    assert h.write(att / "enable", "0") == 0
    assert states(b, bdf) == ("disabled", None)
    assert h.write(att / "enable", "0") == 0  # no-op
    assert h.write(DRV / "bind", bdf) == 0
    assert states(b, bdf) == ("disabled", None)
    assert dma_entries(bdf) == 0
    assert b.disable() == 0
    os.rmdir(att)


def test_buffer_disable_and_rmdir_while_waiting(unbound, mkbuf, attach):
    """A waiting attachment holds its buffer enabled and its directory (EBUSY),
    changing nothing; once disabled, both can go without a driver ever binding."""
    _, bdf = unbound
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    att = b.dir / "attachments" / bdf
    attach(b, bdf, enable=True)
    pool0 = h.snapshot()
    assert b.disable() == errno.EBUSY
    with pytest.raises(OSError) as e:
        os.rmdir(att)
    assert e.value.errno == errno.EBUSY
    with pytest.raises(OSError) as e:
        os.rmdir(b.dir)
    assert e.value.errno in (errno.EBUSY, errno.ENOTEMPTY)
    check_waiting(b, bdf)
    assert h.snapshot() == pool0
    assert h.write(att / "enable", "0") == 0
    os.rmdir(att)
    assert b.disable() == 0
    assert h.snapshot() != pool0  # the pages went back


def test_device_removal_while_waiting(unbound, mkbuf, attach):
    """The device goes while its attachment waits: removed for good, the buffer
    free to disable; the rescanned device's driver maps nothing of it."""
    _, bdf = unbound
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    att = b.dir / "attachments" / bdf
    attach(b, bdf, enable=True)
    try:
        assert h.write(f"/sys/bus/pci/devices/{bdf}/remove", "1") == 0
        assert states(b, bdf)[0] == "removed"
        assert h.write(att / "enable", "1") == errno.ENODEV
        assert b.disable() == 0
    finally:
        if not pathlib.Path(f"/sys/bus/pci/devices/{bdf}").exists():
            h.write("/sys/bus/pci/rescan", "1")
    assert h.wait_for(lambda: bound(bdf), timeout=10), "rescan did not bind hugedma_edu"
    assert states(b, bdf)[0] == "removed"
    assert h.write(att / "enable", "0") == 0


def test_the_drivers_limits_apply_at_bind(unbound, mkbuf, attach):
    """Mapped at bind, not before: the max segment size the driver's probe sets
    (64 KiB here) cuts the segments, not PCI's defaults of an unbound device."""
    _, bdf = unbound
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    attach(b, bdf, enable=True)
    assert h.write(PARAMS / "max_seg_size", str(64 << 10)) == 0
    assert h.write(DRV / "bind", bdf) == 0
    assert states(b, bdf) == ("mapped", "mapped")
    addrs, lens = segments(b, bdf)
    assert max(lens) <= 64 << 10 and sum(lens) == 4 << 20
    assert h.write(DRV / "unbind", bdf) == 0
    assert h.write(PARAMS / "max_seg_size", str(1 << 30)) == 0
    assert h.write(DRV / "bind", bdf) == 0
    addrs, lens = segments(b, bdf)
    assert max(lens) > 64 << 10, "the second driver's limits were not read"


def test_a_refused_map_at_bind_keeps_waiting(unbound, mkbuf, attach):
    """A driver whose limits refuse the buffer (its segment size below a page): one
    log line names buffer, device and the limit, and the attachment waits on for
    the next driver."""
    _, bdf = unbound
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    attach(b, bdf, enable=True)
    assert h.write(PARAMS / "max_seg_size", "2048") == 0
    with h.KernelLog() as log:
        assert h.write(DRV / "bind", bdf) == 0
        said = [ln for ln in log.lines() if f"{b.name}: {bdf}: " in ln and
                "IOTLB lazily" not in ln]  # before 5.15, said at every map (README)
    assert len(said) == 1, said
    assert "cannot map: the device's max segment size 2048 is below the page size" in said[0]
    assert said[0].endswith("-EINVAL")
    check_waiting(b, bdf)
    assert h.write(DRV / "unbind", bdf) == 0
    assert h.write(PARAMS / "max_seg_size", str(1 << 30)) == 0
    assert h.write(DRV / "bind", bdf) == 0
    assert states(b, bdf) == ("mapped", "mapped")
