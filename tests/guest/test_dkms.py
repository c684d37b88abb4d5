# SPDX-License-Identifier: GPL-2.0
"""DKMS, as README's real-machine install does it, against the booted kernel's
headers.  The host half (tests/dkms-build, run by tests/check for the default
kernel) stages the source as `make dkms-source` does and runs `dkms add` and
`dkms build -k KVER` in private trees under build/dkms: the same compile under
TCG took ~9 minutes.  Here, in the guest, `dkms install -k $(uname -r)` puts that
build into the guest's own module tree; the module DKMS installed is loaded (its
build ID checked against the running kernel's notes), a 2 MB buffer is enabled
and disabled with it, and `dkms remove` takes it all away again.

Everything written lands in the guest's tmpfs overlay, so nothing reaches the
host.  install and remove run with --no-depmod, and the module is loaded with
insmod from the path DKMS installed: depmod over a whole Debian module tree
through 9p costs ~2 minutes a call under TCG and is DKMS's generic step, not
hugedma's.  tests/check runs this on the default kernel only and deselects it
(-m "not dkms") elsewhere rather than skip it."""
import lzma
import os
import pathlib
import re
import shutil
import subprocess
import time

import pytest

import hugedma_test as h

pytestmark = [pytest.mark.dkms, pytest.mark.userspace]

TOOL = h.REPO / "userspace" / "hugedmactl"
KVER = os.uname().release
HEADERS = pathlib.Path(f"/lib/modules/{KVER}/build")
VERSION = re.search(r'^PACKAGE_VERSION="([^"]+)"', (h.REPO / "dkms.conf").read_text(),
                    re.M).group(1)
DKMS = h.REPO / "build" / "dkms"
SRC = DKMS / "stage" / "usr" / "src"
TREE = DKMS / "tree"
BUILT = TREE / "hugedma" / VERSION / KVER
DEST = pathlib.Path(f"/lib/modules/{KVER}/updates/dkms")
TREES = ["--sourcetree", SRC, "--dkmstree", TREE]


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


def test_dkms_install_load_remove(unloaded):
    assert (HEADERS / "Makefile").exists(), f"no headers for the running kernel at {HEADERS}"
    assert shutil.which("dkms"), "dkms is not installed (tests/deps)"
    assert BUILT.exists(), f"tests/dkms-build {KVER} has not built {BUILT}"
    status = sh("dkms", "status", "-m", "hugedma", "-v", VERSION, "-k", KVER, *TREES).stdout
    assert re.search(rf"hugedma/{re.escape(VERSION)}, {re.escape(KVER)}, \S+: built", status), \
        status
    src = SRC / f"hugedma-{VERSION}"
    assert (src / "dkms.conf").exists() and (src / "module" / "main.c").exists()
    assert not (src / "tests").exists() and not list(src.rglob("*.o"))

    timings = {}
    try:
        t = time.monotonic()
        sh("dkms", "install", "--no-depmod", "-m", "hugedma", "-v", VERSION, "-k", KVER, *TREES)
        timings["install"] = time.monotonic() - t
        status = sh("dkms", "status", "-m", "hugedma", "-v", VERSION, "-k", KVER, *TREES).stdout
        assert re.search(rf"hugedma/{re.escape(VERSION)}, {re.escape(KVER)}, \S+: installed",
                         status), status
        found = sorted(DEST.glob("hugedma.ko*"))
        assert len(found) == 1, f"{DEST}: {found}"
        path = found[0]
        assert re.fullmatch(r"hugedma\.ko(\.xz|\.zst|\.gz)?", path.name)
        assert sh("modinfo", "-F", "vermagic", path).stdout.split()[0] == KVER

        sh("insmod", path)
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
        sh("rmmod", "hugedma")
        assert not h.loaded()
    finally:
        if h.loaded():
            h.unload()
        t = time.monotonic()
        sh("dkms", "remove", "--no-depmod", "-m", "hugedma", "-v", VERSION, "--all", *TREES)
        timings["remove"] = time.monotonic() - t
    assert not (TREE / "hugedma").exists()
    assert not list(DEST.glob("hugedma.ko*")) if DEST.exists() else True
    print(" ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
