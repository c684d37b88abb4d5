# SPDX-License-Identifier: GPL-2.0
"""The Debian packages, installed and purged as an administrator would: `dpkg -i`
of what `make deb` built (hugedma-dkms, hugedma-tools, libhugedma0,
libhugedma-dev, libhugedma-hugetlbfs0, libhugedma-hugetlbfs-dev) onto the booted
default kernel, `modprobe hugedma` of the module DKMS installed, a buffer made
and removed with the packaged /usr/sbin/hugedmactl, then `dpkg --purge`: the
module is unloaded and gone, and the directories the packages touched hold the
same files as before.

DKMS under TCG compiles for ~9 minutes, so the host (tests/deb-build, run by
tests/check for the default kernel) builds the module from the package's own
/usr/src/hugedma-VERSION and packs it with `dkms mktarball`; here that tarball
is put in /usr/share/hugedma-dkms/, where Debian's DKMS postinst
(/usr/lib/dkms/common.postinst) loads a prebuilt module (`dkms ldtarball`)
instead of building one.  Everything after that is the packages' own maintainer
scripts: `dkms install` with its depmod, and on purge `dkms remove`.

What the guest provides for it, in its tmpfs overlay (the host's root is its
read-only lower layer, so dpkg's database and every file written stay in the
guest, as `/` being an overlay is checked first):
- /boot shows only the booted kernel: the host also has 6.12 installed for
  other tiers, and common.postinst builds for the newest kernel in /boot too;
- /lib/modules/KVER is a tmpfs copy holding modules.builtin*, the build link
  and the modules hugedma depends on: the depmod that `dkms install` and
  `dkms remove` run reads every module of the tree, ~2 minutes through 9p
  under TCG for Debian's 4000;
- man-db's trigger is off (/var/lib/man-db/auto-update, as its debconf
  question does): it reindexes every manual page.
The one entry allowed to appear is adduser's own lock file, /run/adduser, which
every addgroup leaves."""
import io
import os
import pathlib
import re
import shutil
import subprocess
import tarfile
import time

import pytest

import hugedma_test as h

pytestmark = [pytest.mark.deb, pytest.mark.userspace]

KVER = os.uname().release
VERSION = re.search(r'^PACKAGE_VERSION="([^"]+)"', (h.REPO / "dkms.conf").read_text(),
                    re.M).group(1)
DEBDIR = h.REPO / "build" / "deb"
TARBALL = DEBDIR / "dkms" / f"hugedma-{VERSION}.dkms.tar.gz"
PACKAGES = ["hugedma-dkms", "hugedma-tools", "libhugedma0", "libhugedma-dev",
            "libhugedma-hugetlbfs0", "libhugedma-hugetlbfs-dev"]
PREBUILT = pathlib.Path("/usr/share/hugedma-dkms")
MODDIR = pathlib.Path(f"/lib/modules/{KVER}")
DEST = MODDIR / "updates" / "dkms"
TOOL = pathlib.Path("/usr/sbin/hugedmactl")
ENV = {**os.environ, "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "DEBIAN_FRONTEND": "noninteractive"}


def sh(*args, timeout=900, check=True):
    r = subprocess.run(list(map(str, args)), capture_output=True, text=True,
                       timeout=timeout, env=ENV)
    if check and r.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def debs():
    found = {p: sorted(DEBDIR.glob(f"{p}_{VERSION}_*.deb")) for p in PACKAGES}
    missing = [p for p, f in found.items() if len(f) != 1]
    assert not missing, f"tests/deb-build has not built {missing} in {DEBDIR}"
    return [f[0] for f in found.values()]


def package_files(paths):
    """{path: is a directory} of everything the packages ship, from their data
    archives."""
    out = {}
    for deb in paths:
        data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True,
                              capture_output=True, timeout=60).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            for m in t.getmembers():
                path = "/" + m.name.lstrip("./").rstrip("/")
                if path != "/":
                    out[path] = m.isdir()
    return out


def listing(dirs, deep):
    """{directory: sorted entries} (None when absent); deep ones recursively."""
    snap = {}
    for d in sorted(dirs):
        p = pathlib.Path(d)
        snap[d] = sorted(os.listdir(p)) if p.is_dir() else None
    for d in deep:
        p = pathlib.Path(d)
        snap[f"{d}/**"] = sorted(str(q.relative_to(p)) for q in p.rglob("*")) \
            if p.is_dir() else None
    return snap


def build_id(path):
    """The GNU build ID note as /sys/module/NAME/notes shows it."""
    data = pathlib.Path(path).read_bytes()
    head = (4).to_bytes(4, "little") + (20).to_bytes(4, "little") + \
        (3).to_bytes(4, "little") + b"GNU\0"
    at = data.find(head)
    assert at >= 0, f"no GNU build ID note in {path}"
    return data[at:at + len(head) + 20]


def mount_tmpfs(path, fill):
    """Mount a tmpfs over path, filled by fill(tmpdir) from what path held."""
    stage = pathlib.Path(f"/tmp/deb-stage{str(path).replace('/', '-')}")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    fill(stage)
    sh("mount", "-t", "tmpfs", "-o", "mode=0755", "deb-test", path)
    sh("cp", "-a", f"{stage}/.", path)
    shutil.rmtree(stage)


@pytest.fixture
def guest_root(unloaded):
    """The guest's setup (module docstring); everything undone afterwards."""
    mounts = (pathlib.Path("/proc/mounts").read_text().splitlines())
    root = [m.split() for m in mounts if m.split()[1] == "/"]
    assert root and root[-1][2] == "overlay", \
        f"/ is not the guest's overlay ({root}): dpkg would write to the host"
    assert (MODDIR / "build" / "Makefile").exists(), f"no headers for {KVER}"
    assert shutil.which("dkms"), "dkms is not installed (tests/deps)"
    for p in PACKAGES:
        r = sh("dpkg-query", "-W", "-f=${Status}", p, check=False)
        assert "installed" not in r.stdout, f"{p} is installed before the test: {r.stdout}"

    def boot(stage):
        for f in (f"config-{KVER}", f"System.map-{KVER}", f"vmlinuz-{KVER}"):
            if (pathlib.Path("/boot") / f).exists():
                shutil.copy2(pathlib.Path("/boot") / f, stage / f)

    deps = sh("modinfo", "-F", "depends", build_ko()).stdout.strip()
    needed = [d for d in deps.split(",") if d]
    moddep = (MODDIR / "modules.dep").read_text()

    def modules(stage):
        for f in MODDIR.iterdir():
            if f.name.startswith("modules.builtin") or f.name == "modules.order" or \
                    f.is_symlink():
                sh("cp", "-a", f, stage / f.name)
        for name in needed:
            m = re.search(rf"^(\S*/{re.escape(name)}\.ko(?:\.\w+)?):", moddep, re.M)
            if m:  # not there: built in
                (stage / m.group(1)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(MODDIR / m.group(1), stage / m.group(1))

    auto = pathlib.Path("/var/lib/man-db/auto-update")
    had_auto = auto.exists()
    mount_tmpfs("/boot", boot)
    mount_tmpfs(MODDIR, modules)
    try:
        sh("depmod", "-a", KVER, timeout=120)
        if had_auto:
            auto.unlink()
        yield
    finally:
        if h.loaded():
            h.unload()
        left = [p for p in PACKAGES
                if "ok installed" in sh("dpkg-query", "-W", "-f=${Status}", p,
                                        check=False).stdout]
        if left:
            sh("dpkg", "--purge", *left, check=False)
        shutil.rmtree(PREBUILT, ignore_errors=True)
        if had_auto:
            auto.touch()
        sh("umount", MODDIR, check=False)
        sh("umount", "/boot", check=False)


def build_ko():
    """The module in the host's tarball (its build ID is checked against the one
    modprobe loads)."""
    with tarfile.open(TARBALL) as t:
        names = t.getnames()
        want = f"./dkms_main_tree/{KVER}/x86_64/module/hugedma.ko"
        assert want in names, f"{TARBALL} has no module for {KVER}: tests/deb-build {KVER}"
        out = pathlib.Path("/tmp/deb-prebuilt-hugedma.ko")
        out.write_bytes(t.extractfile(want).read())
    return out


def test_install_use_purge(guest_root):
    files = debs()
    shipped = package_files(files)
    # the directories the packages put files in or create, and what DKMS,
    # dpkg, debhelper's systemd helper and hugedmactl write to
    dirs = {str(pathlib.Path(p).parent) for p in shipped} | \
        {p for p, isdir in shipped.items() if isdir}
    dirs |= {"/etc", "/run", "/usr/share", "/var/lib", "/var/lib/dpkg/info", "/var/lib/systemd",
             "/etc/systemd/system/multi-user.target.wants"}
    deep = ["/var/lib/dkms", str(MODDIR), "/etc/hugedma", "/run/hugedma",
            f"/usr/src/hugedma-{VERSION}", "/var/lib/systemd/deb-systemd-helper-enabled"]
    before = listing(dirs, deep)
    assert before[f"/usr/src/hugedma-{VERSION}/**"] is None
    # a file of the packages already there (an earlier test's make install) would
    # be replaced and then purged: the comparison below would blame the packages
    there = sorted(p for p, isdir in shipped.items() if not isdir and os.path.lexists(p))
    assert not there, f"the guest has files of the packages before they are installed: {there}"

    PREBUILT.mkdir()
    shutil.copy2(TARBALL, PREBUILT / TARBALL.name)
    t = time.monotonic()
    r = sh("dpkg", "-i", *files)
    timings = {"dpkg -i": time.monotonic() - t}
    out = r.stdout + r.stderr
    assert f"Loading tarball for hugedma-{VERSION}" in out, out
    assert "Building initial module" not in out, out
    for p in PACKAGES:
        assert sh("dpkg-query", "-W", "-f=${Status}", p).stdout == "install ok installed", p
    # ldtarball copied the tarball's source over the package's: the same files
    sh("dpkg", "--verify", *PACKAGES)
    status = sh("dkms", "status", "-m", "hugedma", "-v", VERSION, "-k", KVER).stdout
    assert re.search(rf"hugedma/{re.escape(VERSION)}, {re.escape(KVER)}, \S+: installed",
                     status), status
    installed = sorted(DEST.glob("hugedma.ko*"))
    assert len(installed) == 1, installed
    assert "hugedma" in sh("getent", "group", "hugedma").stdout
    assert not pathlib.Path("/etc/systemd/system/multi-user.target.wants/"
                            "hugedma.service").exists(), "the package enabled hugedma.service"
    assert not h.loaded(), "installing the packages loaded the module"
    assert not h.BUFFERS.exists()

    sh("modprobe", "hugedma")
    assert h.loaded()
    loaded = pathlib.Path("/sys/module/hugedma/notes/.note.gnu.build-id").read_bytes()
    assert loaded == build_id(installed[0]), "modprobe did not load the module DKMS installed"
    assert loaded != build_id(h.MODULE), "DKMS's build and HUGEDMA_KO cannot be told apart"

    name = f"deb{os.getpid() % 1000}"
    free = h.pool(h.SZ_2M)["free_hugepages"]
    sh(TOOL, "create", name, "--size", "2M", "--page-size", "2M")
    assert h.read(h.BUFFERS / name / "state").strip() == "enabled"
    assert h.pool(h.SZ_2M)["free_hugepages"] == free - 1
    assert name in sh(TOOL, "list").stdout
    sh(TOOL, "destroy", name)
    assert not (h.BUFFERS / name).exists()
    assert h.pool(h.SZ_2M)["free_hugepages"] == free
    sh("modprobe", "-r", "hugedma")
    assert not h.loaded()

    t = time.monotonic()
    sh("dpkg", "--purge", *PACKAGES)
    timings["dpkg --purge"] = time.monotonic() - t
    for p in PACKAGES:
        assert "ok installed" not in sh("dpkg-query", "-W", "-f=${Status}", p,
                                        check=False).stdout, p
    assert not list(DEST.glob("hugedma.ko*")) if DEST.exists() else True
    assert "hugedma" not in sh("modprobe", "-n", "-v", "hugedma", check=False).stdout
    assert not h.loaded()
    # the prebuilt tarball was this test's; what dpkg and DKMS leave is the rest
    shutil.rmtree(PREBUILT)
    after = listing(dirs, deep)
    # adduser's own lock, which every addgroup leaves in /run (adduser 3.134)
    if after["/run"] is not None and "adduser" not in (before["/run"] or []):
        after["/run"] = [e for e in after["/run"] if e != "adduser"]
    changed = {d: (sorted(set(before[d] or []) ^ set(after[d] or [])), before[d] is None,
                   after[d] is None)
               for d in before if before[d] != after[d]}
    assert not changed, f"left behind or removed (entries, absent before, absent after): {changed}"
    print(f"{len(shipped)} packaged paths, {len(before)} directories compared; " +
          ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
