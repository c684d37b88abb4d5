# SPDX-License-Identifier: GPL-2.0
"""libhugedma as a user installs it: `make -C userspace install DESTDIR=... PREFIX=...`,
then programs built with pkg-config against the staged tree, shared and static.

Nothing here touches hugedma itself (the host has no module loaded and never will):
the programs call only what fails before the kernel is asked, or fails with ENOENT
because /dev/hugedma does not exist."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PREFIX = "/opt/hugedma-test"

CORE_PROG = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <hugedma.h>

int main(void)
{
	struct hugedma *h = NULL;
	struct hugedma_control *ctl = NULL;
	struct hugedma_info info = { .argsz = sizeof(info) };
	int a = hugedma_open("Bad", O_RDONLY, &h);
	int b = hugedma_open("nonexistent", O_RDONLY, &h);
	int c = hugedma_query(h, &info);

	printf("%d %d %d %d\n", a, b, c, HUGEDMA_INFO_SIZE_VER0);
	hugedma_control_close(ctl);
	return !(a == -EINVAL && b == -ENOENT && c == -EINVAL);
}
"""

HUGETLBFS_PROG = r"""
#include <errno.h>
#include <stdio.h>
#include <hugedma-hugetlbfs.h>

int main(void)
{
	struct hugedma_import_handle *h = NULL;
	int a = hugedma_import_hugepages("x", 0, &h);

	printf("%d\n", a);
	hugedma_import_hugepages_release(h);
	return a != -EINVAL;
}
"""


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    root = tmp_path_factory.mktemp("stage")
    subprocess.run(["make", "-s", "-C", "userspace", "install", f"DESTDIR={root}",
                    f"PREFIX={PREFIX}"], cwd=REPO, check=True, capture_output=True)
    return root


def pkg_config(stage, *args):
    env = dict(os.environ, PKG_CONFIG_SYSROOT_DIR=str(stage),
               PKG_CONFIG_LIBDIR=f"{stage}{PREFIX}/lib/pkgconfig")
    return subprocess.run(["pkg-config", *args], env=env, capture_output=True, text=True,
                          check=True).stdout.split()


def test_installed_layout(stage):
    lib = stage / PREFIX.lstrip("/") / "lib"
    inc = stage / PREFIX.lstrip("/") / "include"
    for name in ("libhugedma", "libhugedma-hugetlbfs"):
        assert (lib / f"{name}.so.0.1.0").is_file()
        assert os.readlink(lib / f"{name}.so.0") == f"{name}.so.0.1.0"
        assert os.readlink(lib / f"{name}.so") == f"{name}.so.0"
        assert (lib / f"{name}.a").is_file()
    assert (inc / "hugedma.h").is_file() and (inc / "hugedma-hugetlbfs.h").is_file()
    assert (inc / "hugedma" / "uapi.h").read_text() == \
        (REPO / "module" / "include" / "uapi" / "hugedma.h").read_text()
    pc = (lib / "pkgconfig" / "hugedma.pc").read_text()
    assert f"libdir={PREFIX}/lib\n" in pc and f"includedir={PREFIX}/include\n" in pc
    assert (stage / PREFIX.lstrip("/") / "sbin" / "hugedmactl").is_file()


def test_pkg_config(stage):
    assert pkg_config(stage, "--modversion", "hugedma") == ["0.1.0"]
    assert pkg_config(stage, "--libs", "hugedma") == [f"-L{stage}{PREFIX}/lib", "-lhugedma"]
    libs = pkg_config(stage, "--libs", "hugedma-hugetlbfs")
    assert "-lhugedma-hugetlbfs" in libs and "-lhugedma" in libs
    assert "-lhugetlbfs" not in libs, "the shared object already needs it"
    assert "-lhugetlbfs" in pkg_config(stage, "--static", "--libs", "hugedma-hugetlbfs")


@pytest.mark.parametrize("module,prog,static", [
    ("hugedma", CORE_PROG, False),
    ("hugedma", CORE_PROG, True),
    ("hugedma-hugetlbfs", HUGETLBFS_PROG, False),
    ("hugedma-hugetlbfs", HUGETLBFS_PROG, True),
])
def test_consumer_builds_and_runs(stage, tmp_path, module, prog, static):
    src = tmp_path / "prog.c"
    src.write_text(prog)
    exe = tmp_path / "prog"
    flags = pkg_config(stage, "--cflags", module)
    libs = pkg_config(stage, *(["--static"] if static else []), "--libs", module)
    if static:  # our archives, the C library shared
        libs = ["-Wl,-Bstatic", *[x for x in libs if x.startswith("-lhugedma")],
                "-Wl,-Bdynamic", *[x for x in libs if not x.startswith("-lhugedma")]]
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", *flags,
                    "-o", str(exe), str(src), *libs], check=True)
    needed = subprocess.run(["readelf", "-d", str(exe)], capture_output=True, text=True,
                            check=True).stdout
    assert ("libhugedma" in needed) != static
    env = dict(os.environ, LD_LIBRARY_PATH=f"{stage}{PREFIX}/lib")
    r = subprocess.run([str(exe)], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
