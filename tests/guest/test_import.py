# SPDX-License-Identifier: GPL-2.0
"""Importing user hugetlb memory through /dev/hugedma/control: the seed question's own
flow (huge pages from user space, addresses from the driver), with pins that outlive
munmap and end with the importer and the last user."""
import ctypes
import errno
import fcntl
import mmap
import os

import pytest

import hugedma_test as h
from hugedma_test import (CONTROL, HUGE_FLAG, IMPORT, IOC_IMPORT, MAP_HUGETLB, cmmap, do_import,
                          frames, huge_map, libc, touch)

@pytest.fixture
def control():
    fd = os.open(CONTROL, os.O_RDWR)
    yield fd
    os.close(fd)


def test_control_node():
    st = os.stat(CONTROL)
    assert oct(st.st_mode & 0o777) == "0o600"


def test_import_publishes_the_user_pages(control):
    pool0 = h.pool(h.SZ_2M)["free_hugepages"]
    p = huge_map(4)
    assert h.pool(h.SZ_2M)["free_hugepages"] == pool0 - 4
    assert do_import(control, "imp", p, 4 * h.SZ_2M) == 0
    b = h.Buffer("imp")
    assert b.sysfs("source").strip() == "user"
    assert b.sysfs("nr_pages").strip() == "4"
    assert b.sysfs("page_size").strip() == str(h.SZ_2M)
    assert b.phys_addrs() == frames(p, 4, h.SZ_2M)
    assert not b.dir.exists()  # not a configfs buffer
    # munmap: the pins keep the pages out of the pool
    libc.munmap(p, 4 * h.SZ_2M)
    assert h.pool(h.SZ_2M)["free_hugepages"] == pool0 - 4
    for a in b.phys_addrs():
        assert h.kpageflags(a // h.PAGE_SIZE) & (1 << h.KPF_HUGE)


def test_import_ends_with_the_control_file():
    pool0 = h.pool(h.SZ_2M)["free_hugepages"]
    fd = os.open(CONTROL, os.O_RDWR)
    p = huge_map(2)
    assert do_import(fd, "imp2", p, 2 * h.SZ_2M) == 0
    libc.munmap(p, 2 * h.SZ_2M)
    assert h.Buffer("imp2").dev.exists()
    os.close(fd)
    assert not h.Buffer("imp2").dev.exists()
    assert h.pool(h.SZ_2M)["free_hugepages"] == pool0


def test_import_outlives_control_file_while_in_use():
    fd = os.open(CONTROL, os.O_RDWR)
    p = huge_map(2)
    assert do_import(fd, "imp3", p, 2 * h.SZ_2M) == 0
    libc.munmap(p, 2 * h.SZ_2M)
    user = os.open("/dev/hugedma/imp3", os.O_RDONLY)
    os.close(fd)
    assert h.Buffer("imp3").dev.exists(), "the last user has not let go yet"
    os.close(user)
    assert not h.Buffer("imp3").dev.exists()


def test_imported_buffer_cannot_be_mmapped_through_hugedma(control):
    p = huge_map(2)
    assert do_import(control, "imp4", p, 2 * h.SZ_2M) == 0
    fd = os.open("/dev/hugedma/imp4", os.O_RDWR)
    try:
        q, err = cmmap(2 * h.SZ_2M, mmap.PROT_READ, mmap.MAP_SHARED, fd)
        assert err == errno.ENODEV
    finally:
        os.close(fd)
        libc.munmap(p, 2 * h.SZ_2M)


def test_name_taken_eexist(control, mkbuf):
    mkbuf(name="taken")
    p = huge_map(1)
    try:
        assert do_import(control, "taken", p, h.SZ_2M) == errno.EEXIST
        assert do_import(control, "fresh", p, h.SZ_2M) == 0
        with pytest.raises(OSError) as e:
            os.mkdir(h.BUFFERS / "fresh")
        assert e.value.errno == errno.EEXIST
    finally:
        libc.munmap(p, h.SZ_2M)


def test_same_pages_twice_ebusy(control):
    p = huge_map(2)
    try:
        assert do_import(control, "once", p, 2 * h.SZ_2M) == 0
        assert do_import(control, "twice", p + h.SZ_2M, h.SZ_2M) == errno.EBUSY
    finally:
        libc.munmap(p, 2 * h.SZ_2M)


def test_fork_child_cannot_import_parents_range(control):
    p = huge_map(2)
    try:
        assert do_import(control, "parent", p, 2 * h.SZ_2M) == 0
        pid = os.fork()
        if pid == 0:
            code = 99
            try:
                code = do_import(control, "child", p, 2 * h.SZ_2M)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == errno.EBUSY
        assert not h.Buffer("child").dev.exists()
    finally:
        libc.munmap(p, 2 * h.SZ_2M)


def test_cannot_import_a_hugedma_buffer_mapping(control, mkbuf):
    b = mkbuf(page_size="2M", size="4M")
    assert b.enable() == 0
    fd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    try:
        p, err = cmmap(4 << 20, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd)
        assert err == 0
        touch(p, 2, h.SZ_2M)
        assert do_import(control, "steal", p, 4 << 20) == errno.EBUSY
        libc.munmap(p, 4 << 20)
    finally:
        os.close(fd)


def test_import_bad_ranges_einval(control):
    p = huge_map(2)
    anon, _ = cmmap(4 << 20, mmap.PROT_READ | mmap.PROT_WRITE,
                    mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1)
    try:
        for addr, length in ((p, 0),                      # empty
                             (p + 4096, h.SZ_2M),         # not page-aligned
                             (p, h.SZ_2M + 4096),
                             (p, 3 * h.SZ_2M),            # not fully mapped
                             (p - h.SZ_2M, 2 * h.SZ_2M),
                             (anon, h.SZ_2M),             # not hugetlb
                             (0, h.SZ_2M),
                             (p, (1 << 64) - h.SZ_2M)):   # overflowing length
            assert do_import(control, "bad", addr, length) == errno.EINVAL, (hex(addr), length)
        assert not h.Buffer("bad").dev.exists()
    finally:
        libc.munmap(p, 2 * h.SZ_2M)
        libc.munmap(anon, 4 << 20)


def test_import_read_only_range_eacces(control):
    p = huge_map(1)
    try:
        assert libc.mprotect(p, h.SZ_2M, mmap.PROT_READ) == 0
        assert do_import(control, "ro", p, h.SZ_2M) == errno.EACCES
    finally:
        libc.munmap(p, h.SZ_2M)


def test_import_mixed_page_sizes_einval(control):
    if h.pool(h.SZ_1G)["free_hugepages"] < 1:
        pytest.fail("needs one free 1 GB page")
    # reserve a 3 GB window, put 1 GB and 2 MB mappings next to each other in it
    win, _ = cmmap(3 << 30, 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x4000, -1)
    base = (win + h.SZ_1G - 1) // h.SZ_1G * h.SZ_1G
    g, err = cmmap(h.SZ_1G, mmap.PROT_READ | mmap.PROT_WRITE,
                   mmap.MAP_SHARED | mmap.MAP_ANONYMOUS | 0x10 | MAP_HUGETLB
                   | HUGE_FLAG[h.SZ_1G], -1, addr=base)
    assert err == 0
    m, err = cmmap(h.SZ_2M, mmap.PROT_READ | mmap.PROT_WRITE,
                   mmap.MAP_SHARED | mmap.MAP_ANONYMOUS | 0x10 | MAP_HUGETLB
                   | HUGE_FLAG[h.SZ_2M], -1, addr=base + h.SZ_1G)
    assert err == 0
    try:
        touch(g, 1, h.SZ_1G)
        touch(m, 1, h.SZ_2M)
        assert do_import(control, "mixed", base, h.SZ_1G + h.SZ_2M) == errno.EINVAL
    finally:
        libc.munmap(win, 3 << 30)


def test_import_gigantic_private_mapping(control):
    nr = h.pool(h.SZ_1G)["free_hugepages"]
    if nr < 1:
        pytest.fail("needs one free 1 GB page")
    p = huge_map(1, h.SZ_1G, shared=False)
    assert do_import(control, "gig", p, h.SZ_1G) == 0
    b = h.Buffer("gig")
    assert b.phys_addrs() == frames(p, 1, h.SZ_1G)
    assert b.sysfs("page_size").strip() == str(h.SZ_1G)
    libc.munmap(p, h.SZ_1G)
    assert b.dev.exists()


@pytest.mark.parametrize("argsz,flags,name,extra,err", [
    (63, 0, "x", b"", errno.EINVAL),
    (0, 0, "x", b"", errno.EINVAL),
    (64, 1, "x", b"", errno.EINVAL),
    (64, 0, "Bad", b"", errno.EINVAL),
    (64, 0, "", b"", errno.EINVAL),
    (64, 0, "control", b"", errno.EINVAL),
    (72, 0, "x", b"\0" * 7 + b"\1", errno.E2BIG),   # unknown non-zero tail
])
def test_import_bad_struct(control, argsz, flags, name, extra, err):
    p = huge_map(1)
    try:
        assert do_import(control, name, p, h.SZ_2M, argsz=argsz, flags=flags,
                         extra=extra) == err
    finally:
        libc.munmap(p, h.SZ_2M)


def test_import_bigger_struct_with_zero_tail(control):
    p = huge_map(1)
    try:
        assert do_import(control, "tail", p, h.SZ_2M, argsz=80, extra=bytes(16)) == 0
    finally:
        libc.munmap(p, h.SZ_2M)


def test_import_unterminated_name_and_bad_pointers(control):
    p = huge_map(1)
    try:
        raw = bytearray(IMPORT.pack(64, 0, p, h.SZ_2M, b"a" * 40))
        with pytest.raises(OSError) as e:
            fcntl.ioctl(control, IOC_IMPORT, raw)
        assert e.value.errno == errno.EINVAL
        assert libc.ioctl(control, IOC_IMPORT, 8) == -1
        assert ctypes.get_errno() == errno.EFAULT
        assert libc.ioctl(control, (0xB8 << 8) | 0x11, 0) == -1
        assert ctypes.get_errno() == errno.ENOTTY
    finally:
        libc.munmap(p, h.SZ_2M)


def test_rmmod_refused_while_control_is_open(control):
    import subprocess
    assert subprocess.run(["rmmod", "hugedma"], capture_output=True).returncode != 0


# an importer in a child process: argv n (2 MB pages), name; prints what it saw
_IMPORTER = r"""
import ctypes, fcntl, json, mmap, os, struct, sys
import hugedma_test as h
n, name = int(sys.argv[1]), sys.argv[2]
MAP_HUGETLB, MAP_HUGE_2MB = 0x40000, 21 << 26
m = mmap.mmap(-1, n * h.SZ_2M,
              flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB)
for i in range(n):
    m[i * h.SZ_2M] = 0x75
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))


def locked_kb():
    for line in h.read("/proc/self/status").splitlines():
        if line.startswith("VmLck:"):
            return int(line.split()[1])


out = {}
fd = os.open("/dev/hugedma/control", os.O_RDWR)
raw = bytearray(struct.pack("=IIQQ40s", 64, 0, addr, n * h.SZ_2M, name.encode()))
try:
    fcntl.ioctl(fd, (0xB8 << 8) | 0x10, raw)
    out["import"] = 0
except OSError as e:
    out["import"] = e.errno
out["locked_kb"] = locked_kb()
out["listed"] = os.path.exists(f"/sys/class/hugedma/{name}")
os.close(fd)  # the importer goes: the buffer ends, its pins with it
out["locked_kb_after"] = locked_kb()
print(json.dumps(out))
"""


def test_import_pins_are_charged_to_locked_memory():
    """Pins that outlive the mapping and the process are charged to the importer's
    locked memory, as RDMA's and VFIO's are: without CAP_IPC_LOCK, an import past
    RLIMIT_MEMLOCK fails with ENOMEM and takes nothing; within it, VmLck grows by
    the range and shrinks back when the buffer ends; CAP_IPC_LOCK lifts the limit
    (the charge stays)."""
    import resource
    limit = resource.RLIMIT_MEMLOCK
    before = h.snapshot()
    over = h.run_without_caps(_IMPORTER, drop=["CAP_IPC_LOCK"], rlimits={limit: h.SZ_2M},
                              args=[2, "limover"])
    assert over == {"import": errno.ENOMEM, "locked_kb": 0, "listed": False,
                    "locked_kb_after": 0}
    within = h.run_without_caps(_IMPORTER, drop=["CAP_IPC_LOCK"], rlimits={limit: 4 * h.SZ_2M},
                                args=[2, "limin"])
    assert within == {"import": 0, "locked_kb": 4096, "listed": True, "locked_kb_after": 0}
    capable = h.run_without_caps(_IMPORTER, rlimits={limit: h.SZ_2M}, args=[2, "limcap"])
    assert capable == {"import": 0, "locked_kb": 4096, "listed": True, "locked_kb_after": 0}
    assert h.wait_for_pool(before) == before
