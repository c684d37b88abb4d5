# SPDX-License-Identifier: GPL-2.0
"""/dev/hugedma/NAME: the device node's life, mmap with huge page-table entries, the
attacks that must not replace a published page, the users that keep a buffer enabled,
and the info ioctl."""
import ctypes
import errno
import fcntl
import mmap
import os
import resource
import stat

import pytest

import hugedma_test as h
from hugedma_test import INFO, IOC_INFO, MAP_FAILED, cmmap, frames, libc, touch

MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2
MADV_REMOVE, MADV_DONTNEED = 9, 4
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2


def smaps_kernel_page_kb(addr):
    lines = h.read("/proc/self/smaps").splitlines()
    for i, l in enumerate(lines):
        start = int(l.split("-")[0], 16) if "-" in l.split()[0] else None
        if start == addr:
            for m in lines[i + 1:]:
                if m.startswith("KernelPageSize:"):
                    return int(m.split()[1])
    raise AssertionError(f"no smaps entry at {addr:#x}")


def devnode(b):
    return f"/dev/hugedma/{b.name}"


@pytest.fixture
def buf2m(mkbuf):
    b = mkbuf(page_size="2M", size="8M")
    assert b.enable() == 0
    return b


# ----------------------------------------------------------------- the node


def test_node_exists_only_while_enabled(mkbuf):
    b = mkbuf(page_size="2M", size="4M")
    assert not os.path.exists(devnode(b))
    assert b.enable() == 0
    st = os.stat(devnode(b))
    assert stat.S_ISCHR(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert (st.st_uid, st.st_gid) == (0, 0)
    major, minor = map(int, b.sysfs("dev").split(":"))
    assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (major, minor)
    assert b.disable() == 0
    assert not os.path.exists(devnode(b))


def test_control_is_a_reserved_name():
    with pytest.raises(OSError) as e:
        os.mkdir(h.BUFFERS / "control")
    assert e.value.errno == errno.EINVAL


def test_open_keeps_buffer_enabled(buf2m):
    fd = os.open(devnode(buf2m), os.O_RDWR)
    try:
        assert buf2m.disable() == errno.EBUSY
        with pytest.raises(OSError) as e:
            os.rmdir(buf2m.dir)
        assert e.value.errno == errno.EBUSY
        assert buf2m.read("state") == "enabled"
    finally:
        os.close(fd)
    assert buf2m.disable() == 0


def test_mapping_outlives_fd_and_keeps_buffer_enabled(buf2m):
    fd = os.open(devnode(buf2m), os.O_RDWR)
    m = mmap.mmap(fd, 8 << 20, mmap.MAP_SHARED)
    os.close(fd)
    assert buf2m.disable() == errno.EBUSY
    m[0:5] = b"hello"
    m.close()
    assert buf2m.disable() == 0


def test_rmmod_refused_while_mapped(buf2m):
    import subprocess
    fd = os.open(devnode(buf2m), os.O_RDWR)
    m = mmap.mmap(fd, 2 << 20, mmap.MAP_SHARED)
    os.close(fd)
    assert subprocess.run(["rmmod", "hugedma"], capture_output=True).returncode != 0
    m.close()


# ----------------------------------------------------------------- mmap


def test_mmap_maps_the_published_pages_with_huge_entries(buf2m):
    fd = os.open(devnode(buf2m), os.O_RDWR)
    try:
        p, err = cmmap(8 << 20, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd)
        assert err == 0
        assert p % h.SZ_2M == 0
        touch(p, 4, h.SZ_2M, b"x")
        assert frames(p, 4, h.SZ_2M) == buf2m.phys_addrs()
        assert smaps_kernel_page_kb(p) == 2048
        libc.munmap(p, 8 << 20)
    finally:
        os.close(fd)


def test_mmap_at_offset(buf2m):
    fd = os.open(devnode(buf2m), os.O_RDWR)
    try:
        p, err = cmmap(4 << 20, mmap.PROT_READ, mmap.MAP_SHARED, fd, offset=4 << 20)
        assert err == 0
        touch(p, 2, h.SZ_2M)
        assert frames(p, 2, h.SZ_2M) == buf2m.phys_addrs()[2:4]
        libc.munmap(p, 4 << 20)
    finally:
        os.close(fd)


@pytest.mark.parametrize("length,offset,flags", [
    (8 << 20, 0, mmap.MAP_PRIVATE),
    (4096, 0, mmap.MAP_SHARED),                    # not whole pages
    (3 << 20, 0, mmap.MAP_SHARED),
    (2 << 20, 4096, mmap.MAP_SHARED),              # misaligned offset
    (2 << 20, 1 << 20, mmap.MAP_SHARED),
    (10 << 20, 0, mmap.MAP_SHARED),                # past the end
    (2 << 20, 8 << 20, mmap.MAP_SHARED),
    (4 << 20, 6 << 20, mmap.MAP_SHARED),
    (2 << 20, (1 << 62), mmap.MAP_SHARED),         # offset overflow
])
def test_mmap_bad_requests_einval(buf2m, length, offset, flags):
    fd = os.open(devnode(buf2m), os.O_RDWR)
    try:
        p, err = cmmap(length, mmap.PROT_READ, flags, fd, offset=offset)
        assert (p, err) == (None, errno.EINVAL)
    finally:
        os.close(fd)


def test_mmap_fixed_misaligned_address_einval(buf2m):
    fd = os.open(devnode(buf2m), os.O_RDWR)
    try:
        anon, _ = cmmap(8 << 20, 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1)
        addr = (anon + h.SZ_2M) // h.SZ_2M * h.SZ_2M + h.PAGE_SIZE
        p, err = cmmap(2 << 20, mmap.PROT_READ, mmap.MAP_SHARED | 0x10, fd, addr=addr)
        assert (p, err) == (None, errno.EINVAL)
        libc.munmap(anon, 8 << 20)
    finally:
        os.close(fd)


def test_readonly_open_cannot_map_writable(buf2m):
    fd = os.open(devnode(buf2m), os.O_RDONLY)
    try:
        p, err = cmmap(2 << 20, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd)
        assert (p, err) == (None, errno.EACCES)
        p, err = cmmap(2 << 20, mmap.PROT_READ, mmap.MAP_SHARED, fd)
        assert err == 0
        libc.munmap(p, 2 << 20)
    finally:
        os.close(fd)


def dirty_whole_pool(page_size, byte):
    """Write byte into every free pool page of page_size through a user mapping."""
    free = h.pool(page_size)["free_hugepages"]
    if not free:
        return []
    flag = (30 if page_size == h.SZ_1G else 21) << 26
    p, err = cmmap(free * page_size, mmap.PROT_READ | mmap.PROT_WRITE,
                   mmap.MAP_SHARED | mmap.MAP_ANONYMOUS | 0x40000 | flag, -1)
    assert err == 0, os.strerror(err)
    ctypes.memset(p, byte, free * page_size)
    addrs = frames(p, free, page_size)
    libc.munmap(p, free * page_size)
    return addrs


def test_pages_are_zeroed_before_they_are_published(mkbuf):
    dirtied = dirty_whole_pool(h.SZ_2M, 0xA5)
    nr = min(len(dirtied), 32)
    assert nr >= 4, "the 2 MB pool is too small for this test"
    b = mkbuf(page_size="2M", size=nr * h.SZ_2M)
    assert b.enable() == 0
    got = b.phys_addrs()
    assert set(got) <= set(dirtied), "the buffer got pages the test did not dirty"
    fd = os.open(devnode(b), os.O_RDONLY)
    try:
        m = mmap.mmap(fd, nr * h.SZ_2M, mmap.MAP_SHARED, mmap.PROT_READ)
        assert m[:] == bytes(nr * h.SZ_2M)
        m.close()
    finally:
        os.close(fd)


# ----------------------------------------------------------------- attacks


@pytest.fixture
def mapped(buf2m):
    """A writable shared mapping of the whole 8 MB buffer, touched."""
    fd = os.open(devnode(buf2m), os.O_RDWR)
    p, err = cmmap(8 << 20, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd)
    assert err == 0
    touch(p, 4, h.SZ_2M, b"A")
    yield buf2m, fd, p
    libc.munmap(p, 8 << 20)
    os.close(fd)


def assert_unchanged(b, p, before):
    assert b.phys_addrs() == before
    touch(p, 4, h.SZ_2M)
    assert frames(p, 4, h.SZ_2M) == before


def test_madv_remove_cannot_punch_a_page(mapped):
    b, fd, p = mapped
    before = b.phys_addrs()
    assert libc.madvise(p, h.SZ_2M, MADV_REMOVE) == -1
    assert ctypes.get_errno() in (errno.EBADF, errno.EPERM)
    assert ctypes.c_char.from_address(p).value == b"A"
    assert_unchanged(b, p, before)


def test_madv_dontneed_refaults_the_same_page(mapped):
    b, fd, p = mapped
    before = b.phys_addrs()
    if h.kernel_before(5, 18):          # MADV_DONTNEED takes hugetlb mappings from 5.18
        assert libc.madvise(p, 8 << 20, MADV_DONTNEED) == -1
        assert ctypes.get_errno() == errno.EINVAL
        assert_unchanged(b, p, before)
        return
    assert libc.madvise(p, 8 << 20, MADV_DONTNEED) == 0
    assert ctypes.c_char.from_address(p).value == b"A"
    assert_unchanged(b, p, before)


def test_fallocate_through_map_files_is_refused(mapped):
    b, fd, p = mapped
    before = b.phys_addrs()
    link = f"/proc/self/map_files/{p:x}-{p + (8 << 20):x}"
    with pytest.raises(OSError) as e:
        os.open(link, os.O_RDWR)
    assert e.value.errno == errno.EPERM
    ro = os.open(link, os.O_RDONLY)
    try:
        assert libc.fallocate(ro, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, h.SZ_2M) == -1
        assert ctypes.get_errno() in (errno.EBADF, errno.EPERM)
        with pytest.raises(OSError):
            os.ftruncate(ro, 0)
        with pytest.raises(OSError):
            os.truncate(link, 0)
    finally:
        os.close(ro)
    assert_unchanged(b, p, before)


def test_fallocate_on_the_char_device_is_refused(mapped):
    b, fd, p = mapped
    before = b.phys_addrs()
    assert libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, h.SZ_2M) == -1
    assert_unchanged(b, p, before)


def test_mremap_moves_but_keeps_the_pages(mapped):
    b, fd, p = mapped
    before = b.phys_addrs()
    # grow: refused for a hugetlb mapping
    q = libc.mremap(p, 8 << 20, 16 << 20, MREMAP_MAYMOVE, None)
    assert q == MAP_FAILED
    # move to another 2 MB-aligned place
    anon, _ = cmmap(16 << 20, 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1)
    dest = (anon + h.SZ_2M - 1) // h.SZ_2M * h.SZ_2M
    q = libc.mremap(p, 8 << 20, 8 << 20, MREMAP_MAYMOVE | MREMAP_FIXED, dest)
    if h.kernel_before(5, 16):          # hugetlb mappings move from 5.16
        assert q == MAP_FAILED and ctypes.get_errno() == errno.EINVAL
        libc.munmap(anon, 16 << 20)
        assert_unchanged(b, p, before)
        return
    assert q == dest
    try:
        assert ctypes.c_char.from_address(q).value == b"A"
        assert_unchanged(b, q, before)
    finally:
        # put it back for the fixture's munmap
        libc.mremap(q, 8 << 20, 8 << 20, MREMAP_MAYMOVE | MREMAP_FIXED, p)
        libc.munmap(anon, 16 << 20)


def test_mprotect_and_half_munmap_keep_the_pages(mapped):
    b, fd, p = mapped
    before = b.phys_addrs()
    assert libc.mprotect(p, 8 << 20, mmap.PROT_READ) == 0
    assert libc.mprotect(p, 8 << 20, mmap.PROT_READ | mmap.PROT_WRITE) == 0
    assert libc.munmap(p + (4 << 20), 4 << 20) == 0
    touch(p, 2, h.SZ_2M)
    assert frames(p, 2, h.SZ_2M) == before[:2]
    assert b.phys_addrs() == before
    q, err = cmmap(4 << 20, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED | 0x10, fd,
                   offset=4 << 20, addr=p + (4 << 20))
    assert q == p + (4 << 20)
    assert_unchanged(b, p, before)


def test_fork_child_shares_the_pages(mapped):
    b, fd, p = mapped
    before = b.phys_addrs()
    pid = os.fork()
    if pid == 0:
        ok = False
        try:  # never return into pytest from the child
            touch(p, 4, h.SZ_2M)  # fork copies no PTEs of shared mappings
            ok = frames(p, 4, h.SZ_2M) == before
            ctypes.c_char.from_address(p + 100).value = b"C"
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert ctypes.c_char.from_address(p + 100).value == b"C"
    assert_unchanged(b, p, before)


# ----------------------------------------------------------------- info ioctl


def info(fd, argsz=88, flags=0, extra=0):
    buf = bytearray(INFO.pack(argsz, flags, 0, 0, 0, 0, 0, 0, 0, b"") + bytes(extra))
    fcntl.ioctl(fd, IOC_INFO, buf)
    return INFO.unpack_from(buf), buf


def test_info_ioctl(buf2m):
    fd = os.open(devnode(buf2m), os.O_RDONLY)
    try:
        (argsz, flags, size, psize, nr, node, state, source, _, name), _ = info(fd)
        assert argsz == 88
        assert (size, psize, nr) == (8 << 20, h.SZ_2M, 4)
        assert node == int(buf2m.sysfs("numa_node"))
        assert state == 2 and source == 0
        assert name.rstrip(b"\0").decode() == buf2m.name
        # a newer caller's larger struct: the tail is left alone, argsz says 88
        (argsz, *_), raw = info(fd, argsz=120, extra=32)
        assert argsz == 88
        assert raw[88:] == bytes(32)
    finally:
        os.close(fd)


@pytest.mark.parametrize("argsz,flags,err", [(0, 0, errno.EINVAL), (87, 0, errno.EINVAL),
                                             (88, 1, errno.EINVAL)])
def test_info_ioctl_bad_struct(buf2m, argsz, flags, err):
    fd = os.open(devnode(buf2m), os.O_RDONLY)
    try:
        with pytest.raises(OSError) as e:
            info(fd, argsz=argsz, flags=flags)
        assert e.value.errno == err
    finally:
        os.close(fd)


def test_info_ioctl_bad_pointer_and_command(buf2m):
    fd = os.open(devnode(buf2m), os.O_RDONLY)
    try:
        assert libc.ioctl(fd, IOC_INFO, 16) == -1
        assert ctypes.get_errno() == errno.EFAULT
        assert libc.ioctl(fd, (0xB8 << 8) | 0x7F, 0) == -1
        assert ctypes.get_errno() == errno.ENOTTY
    finally:
        os.close(fd)


# ----------------------------------------------------------------- 1 GB pages


def test_gigantic_mapping_one_fault_per_gigabyte(mkbuf):
    nr = h.pool(h.SZ_1G)["free_hugepages"]
    assert nr >= 3, "this test needs a guest with at least 3 free 1 GB pages"
    b = mkbuf(size=f"{nr}G")
    assert b.enable() == 0
    fd = os.open(devnode(b), os.O_RDWR)
    try:
        p, err = cmmap(nr << 30, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd)
        assert err == 0
        assert p % h.SZ_1G == 0
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        ctypes.memset(p, 0x7A, nr << 30)  # every byte
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        print(f"{nr} GB touched with {faults} minor faults")
        assert faults <= nr * 4, f"{faults} faults for {nr} GB: not 1 GB entries"
        assert smaps_kernel_page_kb(p) == 1048576
        assert frames(p, nr, h.SZ_1G) == b.phys_addrs()
        libc.munmap(p, nr << 30)
    finally:
        os.close(fd)
