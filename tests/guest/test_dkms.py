# SPDX-License-Identifier: GPL-2.0
"""DKMS, as README's real-machine install does it, against the booted kernel's headers:
`make dkms-source` copies the module's source to /usr/src/hugedma-VERSION, then
`dkms add`, `dkms build -k $(uname -r)`, `dkms install -k $(uname -r)`; modprobe
loads the module DKMS installed (its path from modinfo -n, its build ID in the
running kernel's notes), a 2 MB buffer is enabled and disabled with it, and
`dkms remove` takes it all away again.

Everything written lands in the guest's tmpfs overlay, so nothing reaches the host.
It needs the running kernel's headers at /lib/modules/$(uname -r)/build, which the
Debian kernels installed on the host (6.1, 6.12) have; the newest Debian kernel
(tests/kernel/sid) is built in a chroot and its module tree is bound read-only.
It is slow under TCG: on 6.1, 856 s (dkms build 541 s; dkms install and remove
each run depmod over the whole module tree, ~2 min).  So tests/check runs it on
the default kernel only and deselects it (-m "not dkms") elsewhere rather than
skip it; it prints its timings with pytest -s."""
import lzma
import os
import pathlib
import re
import shutil
import subprocess
import time

import pytest

import hugedma_test as h

pytestmark = pytest.mark.dkms

TOOL = h.REPO / "userspace" / "hugedmactl"
KVER = os.uname().release
HEADERS = pathlib.Path(f"/lib/modules/{KVER}/build")
VERSION = re.search(r'^PACKAGE_VERSION="([^"]+)"', (h.REPO / "dkms.conf").read_text(),
                    re.M).group(1)
SRC = pathlib.Path(f"/usr/src/hugedma-{VERSION}")
TREE = pathlib.Path(f"/var/lib/dkms/hugedma/{VERSION}")
DEST = pathlib.Path(f"/lib/modules/{KVER}/updates/dkms")


def sh(*args, timeout=1500, check=True):
    r = subprocess.run(list(map(str, args)), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        log = TREE / "build" / "make.log"
        extra = f"\n--- {log}:\n{log.read_text()[-4000:]}" if log.exists() else ""
        pytest.fail(f"{' '.join(map(str, args))}: exit {r.returncode}\n{r.stdout}\n"
                    f"{r.stderr}{extra}")
    return r


def build_id(elf_bytes):
    """The raw .note.gnu.build-id note, as /sys/module/NAME/notes shows it: found
    by its header (namesz 4, descsz 20, NT_GNU_BUILD_ID 3, "GNU\\0")."""
    head = (4).to_bytes(4, "little") + (20).to_bytes(4, "little") + \
        (3).to_bytes(4, "little") + b"GNU\0"
    at = elf_bytes.find(head)
    assert at >= 0, "no GNU build ID note"
    return elf_bytes[at:at + len(head) + 20]


def module_bytes(path):
    data = pathlib.Path(path).read_bytes()
    return lzma.decompress(data) if str(path).endswith(".xz") else data


def test_dkms_add_build_install_load_remove(unloaded):
    if not (HEADERS / "Makefile").exists():
        pytest.skip(f"no headers for the running kernel at {HEADERS}")
    assert shutil.which("dkms"), "dkms is not installed (tests/deps)"
    assert not TREE.exists() and not SRC.exists(), "DKMS already knows hugedma"

    timings = {}
    t = time.monotonic()
    sh("make", "-s", "-C", h.REPO, "dkms-source")
    assert (SRC / "dkms.conf").exists() and (SRC / "module" / "main.c").exists()
    assert not (SRC / "tests").exists() and not list(SRC.rglob("*.o"))
    sh("dkms", "add", "-m", "hugedma", "-v", VERSION)
    assert "added" in sh("dkms", "status", "-m", "hugedma", "-v", VERSION).stdout
    try:
        t = time.monotonic()
        sh("dkms", "build", "-m", "hugedma", "-v", VERSION, "-k", KVER)
        timings["build"] = time.monotonic() - t
        sh("dkms", "install", "-m", "hugedma", "-v", VERSION, "-k", KVER)
        status = sh("dkms", "status", "-m", "hugedma", "-v", VERSION, "-k", KVER).stdout
        assert re.search(rf"hugedma/{re.escape(VERSION)}, {re.escape(KVER)}, \S+: installed",
                         status), status

        path = sh("modinfo", "-n", "hugedma").stdout.strip()
        assert pathlib.Path(path).parent == DEST, f"modinfo -n hugedma: {path}"
        assert re.fullmatch(r"hugedma\.ko(\.xz|\.zst|\.gz)?", pathlib.Path(path).name)
        assert sh("modinfo", "-F", "vermagic", path).stdout.split()[0] == KVER

        sh("modprobe", "hugedma")
        assert h.loaded()
        loaded = (pathlib.Path("/sys/module/hugedma/notes/.note.gnu.build-id")).read_bytes()
        assert loaded == build_id(module_bytes(path)), \
            "the loaded hugedma is not the one DKMS installed"
        assert loaded != build_id(h.MODULE.read_bytes()), \
            "DKMS's build and HUGEDMA_KO cannot be told apart"

        name = f"dkms{os.getpid() % 1000}"
        free = h.pool(h.SZ_2M)["free_hugepages"]
        r = sh(TOOL, "create", name, "--size", "2M", "--page-size", "2M")
        assert h.read(h.BUFFERS / name / "state").strip() == "enabled", r.stdout
        assert h.pool(h.SZ_2M)["free_hugepages"] == free - 1
        assert len(h.read(h.CLASS / name / "phys_addrs").split()) == 1
        sh(TOOL, "destroy", name)
        assert h.pool(h.SZ_2M)["free_hugepages"] == free
        sh("modprobe", "-r", "hugedma")
        assert not h.loaded()
    finally:
        if h.loaded():
            h.unload()
        t = time.monotonic()
        sh("dkms", "remove", "-m", "hugedma", "-v", VERSION, "--all")
        timings["remove"] = time.monotonic() - t
    assert not TREE.exists()
    assert not list(DEST.glob("hugedma.ko*")) if DEST.exists() else True
    assert sh("modinfo", "-n", "hugedma", check=False).returncode != 0
    print(" ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
