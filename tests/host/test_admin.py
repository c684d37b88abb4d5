# SPDX-License-Identifier: GPL-2.0
"""The administration files as shipped, on the host (no module needed):

- hugedma.service passes `systemd-analyze verify` (make -C admin check) without a
  word, and the check has teeth: units with a bad directive fail it;
- `make install` staged with DESTDIR puts hugedmactl, hugedmactl(8), libhugedma(3)
  and a page per exported function, hugedma(7), the bash completion, the unit, the
  udev rule and hugedma-provision where they belong, and `make uninstall` takes
  them all away again (the module's own modules_install is left to DKMS and real
  machines: it needs a built module);
- the man pages, the completion and hugedmactl agree: every subcommand and option
  of `hugedmactl --help` is in hugedmactl(8) and in the completion, every exported
  library function is in libhugedma(3), every ioctl of the uapi header in hugedma(7).
"""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TOOL = REPO / "userspace" / "hugedmactl"


def make(*args, **kw):
    return subprocess.run(["make", "-s", *args], cwd=REPO, capture_output=True, text=True,
                          **kw)


@pytest.fixture(scope="module")
def built():
    r = make("-C", "userspace", "hugedmactl")
    assert r.returncode == 0, r.stderr
    r = make("-C", "admin")
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------- systemd unit

def test_unit_verifies(built):
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze is missing (Debian's systemd package)")
    r = make("-C", "admin", "check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr == "", r.stderr


@pytest.mark.parametrize("change, why", [
    (("Type=oneshot", "Type=oneshoot"), "service type"),     # a warning, exit 0
    (("ExecStart=@SBINDIR@/hugedmactl", "ExecStart=hugedmactl/x"), "executable"),
    (("[Install]", "[Instal]"), "Instal"),
])
def test_a_broken_unit_fails_the_check(built, tmp_path, change, why):
    """The check has teeth, warnings included: systemd-analyze exits 0 after
    'Failed to parse service type, ignoring'."""
    unit = (REPO / "admin" / "hugedma.service.in").read_text()
    assert change[0] in unit
    bad = tmp_path / "hugedma.service.in"
    bad.write_text(unit.replace(change[0], change[1]))
    r = make("-C", "admin", "check", f"UNIT_IN={bad}")
    assert r.returncode != 0, r
    assert why in r.stderr, r.stderr


# ---------------------------------------------------------------- staged install

INSTALLED = [
    "usr/sbin/hugedmactl",
    "usr/sbin/hugedma-provision",
    "usr/share/man/man8/hugedmactl.8",
    "usr/share/man/man8/hugedma-provision.8",
    "usr/share/man/man7/hugedma.7",
    "usr/share/man/man3/libhugedma.3",
    "usr/share/man/man3/hugedma_open.3",
    "usr/share/man/man3/hugedma_import_hugepages.3",
    "usr/share/bash-completion/completions/hugedmactl",
    "usr/include/hugedma.h",
    "usr/include/hugedma/uapi.h",
    "usr/lib/libhugedma.so.0",
    "usr/lib/pkgconfig/hugedma.pc",
    "lib/systemd/system/hugedma.service",
    "lib/udev/rules.d/60-hugedma.rules",
    "lib/udev/hugedma-cdi",
    "usr/lib/hugedma/slurm/prolog",
    "usr/lib/hugedma/slurm/epilog",
    "usr/lib/hugedma/slurm/taskprolog",
    "usr/lib/hugedma/slurm/job_submit.lua",
    "usr/lib/hugedma/slurm/README",
    "etc/default/hugedma",
]


@pytest.fixture
def rebuild_default():
    """Installing with PREFIX=/usr regenerates the tree's unit, script and .pc files
    for /usr: make them for the default PREFIX again afterwards."""
    yield
    make("-C", "admin")
    make("-C", "userspace/lib")


def test_staged_install_and_uninstall(built, rebuild_default, tmp_path):
    dest = tmp_path / "root"
    common = [f"DESTDIR={dest}", "PREFIX=/usr"]
    for args in (["-C", "userspace", "install"], ["-C", "admin", "install"],
                 ["install-docs"]):
        r = make(*args, *common)
        assert r.returncode == 0, r.stderr
    have = {str(p.relative_to(dest)) for p in dest.rglob("*") if not p.is_dir()}
    missing = [f for f in INSTALLED if f not in have]
    assert not missing, f"not installed: {missing}"
    assert (dest / "usr/share/man/man3/hugedma_open.3").read_text() == \
        ".so man3/libhugedma.3\n"
    assert "ExecStart=/usr/sbin/hugedmactl restore" in \
        (dest / "lib/systemd/system/hugedma.service").read_text()
    # slurmd runs the job scripts it is given: executable, and the tree's own
    for f in ("prolog", "epilog", "taskprolog", "job_submit.lua"):
        got = dest / "usr/lib/hugedma/slurm" / f
        assert got.read_bytes() == (REPO / "admin/slurm" / f).read_bytes(), f
        assert bool(got.stat().st_mode & 0o111) == (f != "job_submit.lua"), (f, oct(got.stat().st_mode))
    for page in ("man8/hugedmactl.8", "man8/hugedma-provision.8", "man7/hugedma.7",
                 "man3/libhugedma.3"):
        assert (dest / "usr/share/man" / page).read_bytes() == \
            (REPO / {"man8/hugedmactl.8": "userspace/hugedmactl.8",
                     "man8/hugedma-provision.8": "admin/hugedma-provision.8",
                     "man7/hugedma.7": "configfs-schema/hugedma.7",
                     "man3/libhugedma.3": "userspace/lib/libhugedma.3"}[page]).read_bytes()
    # man finds a function's page through its .so link
    r = subprocess.run(["man", "-M", str(dest / "usr/share/man"), "-Tutf8", "hugedma_map"],
                       capture_output=True, text=True, env={**os.environ, "MANWIDTH": "80"})
    assert r.returncode == 0 and r.stdout.startswith("LIBHUGEDMA(3)"), r.stderr

    for args in (["-C", "userspace", "uninstall"], ["-C", "admin", "uninstall"]):
        r = make(*args, *common)
        assert r.returncode == 0, r.stderr
    (dest / "usr/share/man/man7/hugedma.7").unlink()   # the top-level uninstall's part
    left = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if not p.is_dir())
    # the site's defaults file is configuration: kept, as dpkg keeps a conffile
    assert left == ["etc/default/hugedma"], left
    assert not (dest / "usr/lib/hugedma").exists(), "uninstall left the Slurm scripts' directory"


def test_uninstall_removes_the_top_level_page():
    r = make("-n", "uninstall", "DESTDIR=/x", "PREFIX=/usr", "KVER=0")
    assert "rm -f /x/usr/share/man/man7/hugedma.7" in r.stdout, r.stdout


# ---------------------------------------------------------------- agreement

def usage():
    r = subprocess.run([str(TOOL), "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    cmds, opts = set(), set()
    for line in r.stdout.splitlines()[1:]:
        for part in line.split("|"):
            words = part.split()
            if words and re.fullmatch(r"[a-z]+", words[0]):
                cmds.add(words[0])
        opts |= set(re.findall(r"--[a-z-]+", line))
    opts |= set(re.findall(r"--[a-z-]+", r.stdout.splitlines()[0]))
    return cmds, opts


def test_usage_man_page_and_completion_agree(built):
    cmds, opts = usage()
    assert {"create", "destroy", "enable", "disable", "list", "show", "attach", "detach",
            "pool", "save", "restore"} <= cmds
    man = (REPO / "userspace" / "hugedmactl.8").read_text().replace("\\-", "-")
    comp = (REPO / "userspace" / "hugedmactl.bash-completion").read_text()
    comp_cmds = set(re.search(r'local cmds="([^"]+)"', comp).group(1).split())
    assert comp_cmds == cmds
    # each command is in the tag of an item of COMMANDS
    section = man.split(".SH COMMANDS", 1)[1].split("\n.SH ", 1)[0].split("\n")
    tags = [section[i + 1] for i, line in enumerate(section) if line == ".TP"]
    tagged = {w for t in tags for w in re.findall(r"[a-z]+", re.sub(r"\\f.", " ", t))}
    assert cmds <= tagged, f"hugedmactl(8) COMMANDS lacks {cmds - tagged}"
    for o in opts:
        assert o in man, f"hugedmactl(8) lacks {o}"
        assert o in comp, f"the completion lacks {o}"


def test_every_exported_function_is_in_libhugedma_3():
    page = (REPO / "userspace" / "lib" / "libhugedma.3").read_text()
    name = page.split(".SH NAME", 1)[1].split("\\-", 1)[0]
    synopsis = page.split(".SH SYNOPSIS", 1)[1].split(".SH DESCRIPTION", 1)[0]
    body = page.split(".SH DESCRIPTION", 1)[1]
    for m in ("libhugedma.map", "libhugedma-hugetlbfs.map"):
        syms = re.findall(r"^\s+(hugedma_\w+);", (REPO / "userspace/lib" / m).read_text(),
                          re.M)
        assert syms
        for s in syms:
            assert re.search(rf"\b{s}\b", name), f"{s} is not in NAME"
            assert re.search(rf'\b{s}\(', synopsis), f"{s} is not in SYNOPSIS"
            assert f".BR {s} ()" in body, f"{s} is not described"


def test_every_ioctl_is_in_hugedma_7():
    header = (REPO / "module/include/uapi/hugedma.h").read_text()
    page = (REPO / "configfs-schema" / "hugedma.7").read_text()
    ioctls = re.findall(r"^#define\s+(HUGEDMA_IOC_\w+)\s+_IO", header, re.M)
    assert len(ioctls) >= 3
    for i in ioctls:
        assert f".SS {i}" in page.replace("\\_", "_"), i
