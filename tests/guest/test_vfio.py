# SPDX-License-Identifier: GPL-2.0
"""User-space drivers: a hugedma buffer in a VFIO container.

A device bound to vfio-pci is no configfs attachment (test_attach.py's
test_device_owned_by_vfio_is_refused: EBUSY, VFIO owns its IOMMU domain).  Its
user-space driver maps /dev/hugedma/NAME and then VFIO_IOMMU_MAP_DMA's the mapping
into its container (libhugedma's hugedma_vfio_map()).  tests/vfio/hugedma_vfio_edu
does that with QEMU's edu bound to vfio-pci behind intel-iommu and drives edu's DMA
engine through its BAR0; this file binds edu to vfio-pci around it (and back to
whatever had it), gives it a buffer of every free 1 GB page, and checks the pool
and the IOMMU's fault log around it.  Debian's kernels have no iommufd: the
program uses the type1 container.
"""
import os
import pathlib
import re
import subprocess

import pytest

import hugedma_test as h
from hugedma_test import IOMMU

pytestmark = [pytest.mark.edu, pytest.mark.iommu]

PROG = h.REPO / "tests" / "vfio" / "hugedma_vfio_edu"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$")
LEN = 4095		# the program's transfer size


def driver_of(bdf):
    link = pathlib.Path(f"/sys/bus/pci/devices/{bdf}/driver")
    return os.path.basename(os.readlink(link)) if link.exists() else None


@pytest.fixture
def vfio_edu():
    """edu bound to vfio-pci for the test; afterwards bound to the driver that had it
    (hugedma_edu when another file's edu fixture holds it) or, if none, left to
    whatever driver matches (none unless hugedma_edu is loaded)."""
    bdf = h.edu_bdf()
    assert bdf, "no edu device: run this file in a guest started with tests/vm/run --edu"
    assert IOMMU, "vfio-pci binds only behind an IOMMU (tests/vm/run --iommu)"
    for mod in ("vfio-pci", "vfio_iommu_type1"):
        subprocess.run(["modprobe", mod], check=True)
    dev = pathlib.Path(f"/sys/bus/pci/devices/{bdf}")
    prev = driver_of(bdf)
    if prev:
        assert h.write(dev / "driver" / "unbind", bdf) == 0
    assert h.write(dev / "driver_override", "vfio-pci") == 0
    try:
        assert h.write("/sys/bus/pci/drivers/vfio-pci/bind", bdf) == 0
        assert driver_of(bdf) == "vfio-pci"
        yield bdf
    finally:
        if driver_of(bdf) == "vfio-pci":
            h.write("/sys/bus/pci/drivers/vfio-pci/unbind", bdf)
        h.write(dev / "driver_override", "\n")
        if prev:
            h.write(f"/sys/bus/pci/drivers/{prev}/bind", bdf)
        else:
            h.write("/sys/bus/pci/drivers_probe", bdf)
    assert driver_of(bdf) == prev or (prev is None and driver_of(bdf) != "vfio-pci"), \
        f"{bdf} is bound to {driver_of(bdf)} after the test, was {prev}"


def check_output(stdout, stderr, returncode):
    """The program's TAP lines: every check passed, none skipped."""
    print(stdout, end="")
    print(stderr, end="")
    lines = stdout.splitlines()
    m = SUMMARY.match(lines[-1]) if lines else None
    assert m, f"{PROG.name} ended without a summary line (exit {returncode})"
    passed, failed, skipped = int(m[1]), int(m[2]), int(m[3] or 0)
    results = [ln for ln in lines if re.match(r"(not )?ok \d+ - ", ln)]
    not_ok = [ln for ln in results if ln.startswith("not ok")]
    assert len(results) == passed + failed + skipped, "the summary does not count the lines"
    assert failed == len(not_ok) == 0, "; ".join(not_ok)
    assert skipped == 0 and passed > 0 and returncode == 0, f"exit {returncode}"


def run(*args):
    """Run the program to its end; its stdout."""
    assert PROG.exists(), f"{PROG} is not built: run `make -C userspace check-build` on the host"
    p = subprocess.run([str(PROG), *map(str, args)], capture_output=True, text=True,
                       timeout=900)
    check_output(p.stdout, p.stderr, p.returncode)
    return p.stdout


def test_vfio_map_dma_of_a_buffer_drives_edu(vfio_edu, mkbuf):
    """Every free 1 GB page as one buffer, mapped into edu's VFIO container: the
    program's checks (bytes at both ends of every page both ways, no pool page
    taken by VFIO's pins, VmLck charged and returned by unmap and by close, faults
    outside the mapping and after the unmap, the helper's refusals), then the IOMMU's
    fault log names only the program's probes and the pool is whole again."""
    nr = h.pool(h.SZ_1G)["free_hugepages"]
    assert nr >= 1, "needs a guest with a free 1 GB page (--hugepages-1g)"
    before = h.snapshot()
    b = mkbuf(size=f"{nr}G")
    assert b.enable() == 0
    assert h.pool(h.SZ_1G)["free_hugepages"] == 0
    log = h.KernelLog()
    out = run(b.name, vfio_edu)
    lines = log.lines()
    log.close()

    m = re.search(r"^# IOVA (0x[0-9a-f]+)-(0x[0-9a-f]+)$", out, re.M)
    assert m, "the program did not say which IOVA it chose"
    iova, last = int(m[1], 16), int(m[2], 16)
    size = nr << 30
    assert last - iova + 1 == size
    probes = {iova + size, iova - (1 << 30), iova, (iova + size - LEN) & ~0xfff}
    # the DMAR lines name 00:10.0 (6.1, 6.12) or 0000:00:10.0 (7.2)
    domain, short = vfio_edu.split(":", 1)
    faults = [int(x, 16) for x in re.findall(
        rf"DMAR: \[DMA (?:Read|Write)[^\]]*\] Request device "
        rf"\[(?:{re.escape(domain)}:)?{re.escape(short)}\] "
        r"(?:PASID \w+ )?fault addr (?:0x)?([0-9a-f]+)", "\n".join(lines))]
    # the log is rate-limited and QEMU compresses faults: at least one, and only ours
    assert faults, "no DMAR fault of edu in the kernel log:\n" + "\n".join(lines[-20:])
    assert set(faults) <= probes, \
        f"faults at {sorted(map(hex, set(faults) - probes))} beside the probes"
    h.record_figure("vfio: DMAR faults logged", len(faults))

    # the program is gone, and with it its mapping and VFIO's pins: nothing holds
    # the buffer, and its pages go back to the pool whole
    assert h.pool(h.SZ_1G)["free_hugepages"] == 0
    assert b.disable() == 0
    assert h.wait_for_pool(before) == before


def test_buffer_disabled_under_a_vfio_mapping(vfio_edu, mkbuf):
    """The process lets go of the buffer (munmap, close) but keeps it mapped in its
    container: the buffer disables, but its page stays out of the pool, pinned by
    VFIO, and edu still reaches it without a fault; the container's unmap returns
    it to the pool."""
    before = h.snapshot()
    free = h.pool(h.SZ_1G)["free_hugepages"]
    assert free >= 1, "needs a guest with a free 1 GB page (--hugepages-1g)"
    b = mkbuf(size="1G")
    assert b.enable() == 0
    assert PROG.exists(), f"{PROG} is not built: run `make -C userspace check-build` on the host"
    p = subprocess.Popen([str(PROG), b.name, vfio_edu, "--hold"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = []
        for ln in p.stdout:
            out.append(ln)
            if ln.strip() == "# holding":
                break
        assert out and out[-1].strip() == "# holding", "".join(out)
        assert b.disable() == 0, "the buffer is still held by the process"
        after = h.pool(h.SZ_1G)
        assert after["free_hugepages"] == free - 1, "the pinned page went back to the pool"
        assert after["nr_hugepages"] == before[("all", h.SZ_1G)]["nr_hugepages"]
        rest, err = p.communicate("go\n", timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check_output("".join(out) + rest, err, p.returncode)
    assert h.wait_for_pool(before) == before, "the page did not come back after the unmap"
