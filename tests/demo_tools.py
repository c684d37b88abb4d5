# SPDX-License-Identifier: GPL-2.0
"""Helpers for tests/demo.sh (inside the guest): what a user-space driver would do.

  demo_tools.py map NAME        map /dev/hugedma/NAME, touch every byte, report
                                smaps' page size and the minor faults it took
  demo_tools.py addrs NAME BDF  each page's physical address beside the bus address
                                the device uses for it (from dma_addrs/dma_lengths)
  demo_tools.py dma NAME BDF    DMA a pattern through QEMU's edu device at the bus
                                addresses hugedma published for the attachment, in
                                every page, and check the bytes that came back
"""
import ctypes
import fcntl
import mmap
import os
import resource
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)


def read(path):
    with open(path) as f:
        return f.read()


def cmd_map(name):
    size = int(read(f"/sys/class/hugedma/{name}/size"))
    fd = os.open(f"/dev/hugedma/{name}", os.O_RDWR)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    ctypes.memset(addr, 0x5A, size)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    smaps = read("/proc/self/smaps").splitlines()
    kps = "?"
    for i, line in enumerate(smaps):
        if line.startswith(f"{addr:x}-"):
            kps = next(x.split(":")[1].strip() for x in smaps[i:] if x.startswith("KernelPageSize"))
            break
    print(f"mapped {size >> 30} GB at {addr:#x}: KernelPageSize {kps}, "
          f"{faults} minor faults to write every byte "
          f"(4 KB pages would take {size >> 12})")
    del m
    os.close(fd)


XFER = struct.Struct("=40siIQQQQ")
EDU_RAW = (3 << 30) | (XFER.size << 16) | (ord("h") << 8) | 0x40


def published(name, bdf):
    """phys_addrs, page size, and offset -> bus address from the attachment's arrays."""
    d = f"/sys/class/hugedma/{name}/attachments/{bdf}"
    addrs = [int(x, 16) for x in read(f"{d}/dma_addrs").split()]
    lens = [int(x) for x in read(f"{d}/dma_lengths").split()]
    phys = [int(x, 16) for x in read(f"/sys/class/hugedma/{name}/phys_addrs").split()]
    psize = int(read(f"/sys/class/hugedma/{name}/page_size"))

    def bus(off):
        pos = 0
        for a, n in zip(addrs, lens):
            if pos <= off < pos + n:
                return a + off - pos
            pos += n
        raise ValueError(off)
    return phys, psize, bus, len(addrs)


def cmd_addrs(name, bdf):
    phys, psize, bus, nseg = published(name, bdf)
    print(f"{len(phys)} pages of {psize >> 20} MB, {nseg} DMA segments for {bdf}")
    for i, p in enumerate(phys):
        print(f"  page {i}: phys {p:#014x}   bus {bus(i * psize):#014x}")


def cmd_dma(name, bdf):
    phys, psize, bus, _ = published(name, bdf)

    fd = os.open(f"/dev/hugedma/{name}", os.O_RDWR)
    m = mmap.mmap(fd, len(phys) * psize, mmap.MAP_SHARED)
    edu = os.open("/dev/hugedma-edu", os.O_RDWR)
    n = 4095
    for i, p in enumerate(phys):
        src, dst = i * psize + 4096, (i + 1) * psize - 8192
        pattern = bytes((i * 31 + k) & 0xFF for k in range(n))
        m[src:src + n] = pattern
        m[dst:dst + n] = bytes(n)
        raw = bytearray(XFER.pack(b"", -1, n, bus(src), bus(dst), 0, 0))
        fcntl.ioctl(edu, EDU_RAW, raw)
        ok = m[dst:dst + n] == pattern
        print(f"page {i}: phys {p + 4096:#014x}  bus {bus(src):#014x}  -> edu -> "
              f"bus {bus(dst):#014x}: {n} bytes {'intact' if ok else 'CORRUPTED'}")
        if not ok:
            sys.exit(1)
    os.close(edu)
    del m
    os.close(fd)


if __name__ == "__main__":
    if sys.argv[1:2] == ["map"] and len(sys.argv) == 3:
        cmd_map(sys.argv[2])
    elif sys.argv[1:2] == ["addrs"] and len(sys.argv) == 4:
        cmd_addrs(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["dma"] and len(sys.argv) == 4:
        cmd_dma(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
