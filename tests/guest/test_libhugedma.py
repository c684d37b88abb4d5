# SPDX-License-Identifier: GPL-2.0
"""libhugedma (userspace/lib): its C test programs against the module.

The programs are built on the host (`make -C userspace check-build`; the guest
sees the host's files read-only) and only run here.  Each prints TAP-style
"ok N - ..." lines and a last line "N passed, N failed"; a test passes when the
program exits 0, nothing failed and something passed.  Buffers come from the
mkbuf fixture; the programs get their names on the command line.
"""
import os
import re
import subprocess
import tempfile

import pytest

import hugedma_test as h

pytestmark = pytest.mark.userspace

LIB = h.REPO / "userspace" / "lib"
TESTS = LIB / "tests"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$")


def run(prog, *args, env=None):
    exe = TESTS / prog
    assert exe.exists(), f"{exe} is not built: run `make -C userspace check-build` on the host"
    full_env = dict(os.environ)
    for k in [k for k in full_env if k.startswith("HUGETLB_")]:
        del full_env[k]
    full_env.update(env or {})
    p = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                       env=full_env, timeout=600)
    print(p.stdout, end="")
    print(p.stderr, end="")
    lines = p.stdout.splitlines()
    m = SUMMARY.match(lines[-1]) if lines else None
    assert m, f"{prog} ended without a summary line (exit {p.returncode})"
    passed, failed, skipped = int(m[1]), int(m[2]), int(m[3] or 0)
    results = [ln for ln in lines if re.match(r"(not )?ok \d+ - ", ln)]
    not_ok = [ln for ln in results if ln.startswith("not ok")]
    assert len(results) == passed + failed + skipped, "the summary does not count the lines"
    assert failed == len(not_ok) == 0, f"{prog}: " + "; ".join(not_ok)
    assert p.returncode == 0, f"{prog} exited {p.returncode}"
    assert passed > 0
    if skipped:
        pytest.skip("; ".join(ln for ln in results if "# SKIP" in ln))
    return p


def kernel_default_page_size():
    for ln in h.read("/proc/meminfo").splitlines():
        if ln.startswith("Hugepagesize:"):
            return int(ln.split()[1]) << 10
    raise AssertionError("no Hugepagesize in /proc/meminfo")


def name(tag):
    return f"lib{os.getpid()}-{tag}"


def test_exported_symbols_and_sonames():
    """Only the version scripts' symbols are exported, under their versions."""
    for lib, script, first in (("libhugedma", "libhugedma.map", "HUGEDMA_0.1"),
                               ("libhugedma-hugetlbfs", "libhugedma-hugetlbfs.map",
                                "HUGEDMA_HUGETLBFS_0.1")):
        so = LIB / f"{lib}.so.0.1.0"
        assert os.readlink(LIB / f"{lib}.so.0") == f"{lib}.so.0.1.0"
        # each version node of the script, with the symbols it adds
        nodes = re.findall(r"^([\w.]+)\s*\{(.*?)\}", (LIB / script).read_text(), re.M | re.S)
        assert nodes and nodes[0][0] == first, nodes
        listed = {f"{sym}@@{version}" for version, body in nodes
                  for sym in re.findall(r"^\s+(hugedma_\w+);", body, re.M)}
        nm = subprocess.run(["nm", "-D", "--defined-only", str(so)], capture_output=True,
                            text=True, check=True).stdout.split("\n")
        exported = {ln.split()[2] for ln in nm if len(ln.split()) == 3 and
                    ln.split()[1] in "TDBRVW"}
        assert exported == listed, exported ^ listed
        dyn = subprocess.run(["readelf", "-d", str(so)], capture_output=True, text=True,
                             check=True).stdout
        assert f"Library soname: [{lib}.so.0]" in dyn
    core = subprocess.run(["readelf", "-d", str(LIB / "libhugedma.so.0.1.0")],
                          capture_output=True, text=True, check=True).stdout
    assert "hugetlbfs" not in core, "the core library must not need libhugetlbfs"


def test_sysfs_parsers():
    run("test_sysfs")


def test_schema_examples():
    """The library's name rule and size parser give every example of the schema its verdict."""
    run("test_schema", h.REPO / "configfs-schema" / "hugedma.json")


@pytest.mark.parametrize("gigantic", [False, True], ids=["2M", "1G"])
def test_device(mkbuf, gigantic):
    """open/query/map/phys_addrs on a pool buffer; 1 GB pages where the pool has them."""
    if gigantic:
        free = h.free_pages(h.SZ_1G)
        if free >= 2:
            page_size, size = h.SZ_1G, 2 * h.SZ_1G
        elif free == 1:
            page_size, size = h.SZ_1G, h.SZ_1G
        else:
            print("no free 1 GB pool page: 2 MB pages instead")
            page_size, size = h.SZ_2M, 16 * h.SZ_2M
    else:
        page_size, size = h.SZ_2M, 8 * h.SZ_2M
    b = mkbuf(page_size="1G" if page_size == h.SZ_1G else "2M", size=size)
    assert b.enable() == 0
    run("test_device", b.name, size, page_size)
    assert b.disable() == 0, "a library handle or mapping outlived the program"


def test_import(mkbuf):
    """hugedma_import() of the program's own MAP_HUGETLB memory."""
    taken = mkbuf(name=name("taken"))
    new = name("imp")
    run("test_import", new, taken.name)
    assert not (h.CLASS / new).exists()


def test_import_hugepages_default_size():
    """get_huge_pages() without configuration: the kernel's default huge page size."""
    ps = kernel_default_page_size()
    run("test_hugepages", name("ghp"), ps, 4)


def test_import_hugepages_1g():
    """HUGETLB_DEFAULT_PAGE_SIZE=1G with a 1 GB hugetlbfs mount: 1 GB pages."""
    if h.free_pages(h.SZ_1G) < 1:
        pytest.skip("needs one free 1 GB pool page")
    mnt = tempfile.mkdtemp(prefix="hugetlbfs-1g-")
    subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=1G", "none", mnt], check=True)
    try:
        run("test_hugepages", name("ghp1g"), h.SZ_1G, 1,
            env={"HUGETLB_DEFAULT_PAGE_SIZE": "1G", "HUGETLB_PATH": mnt})
    finally:
        subprocess.run(["umount", mnt], check=True)
        os.rmdir(mnt)


def test_import_hugepages_1g_without_mount_falls_back():
    """Documented libhugetlbfs behaviour: no 1 GB mount means the default size, warned."""
    ps = kernel_default_page_size()
    if ps == h.SZ_1G:
        pytest.skip("the kernel's default huge page size is 1 GB here")
    mounts = h.read("/proc/mounts")
    assert " hugetlbfs " not in mounts, "a hugetlbfs mount would change what is tested"
    p = run("test_hugepages", name("ghpfb"), ps, 2, env={"HUGETLB_DEFAULT_PAGE_SIZE": "1G"})
    assert "No mount point found for default huge page size" in p.stderr
