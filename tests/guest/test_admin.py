# SPDX-License-Identifier: GPL-2.0
"""admin/ installed for real in the guest (its root is a throw-away overlay), and the
udev rule applied by udev itself:

- `make -C admin install` with no DESTDIR creates the group hugedma when it is
  absent, and installs the rule, the unit and hugedma-provision;
- /dev/hugedma/NAME stays root:root 0600 until the site opts in by creating
  /etc/hugedma/group-access, then udev gives it group hugedma and mode 0660;
  /dev/hugedma/control stays root-only either way.

`udevadm test` runs the rules the way systemd-udevd does for one device and, for
an add, applies the node's owner and mode; no udevd is running in the guest, so
nothing else changes."""
import grp
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

import hugedma_test as h

pytestmark = pytest.mark.userspace

RULE = pathlib.Path("/lib/udev/rules.d/60-hugedma.rules")
OPT_IN = pathlib.Path("/etc/hugedma/group-access")


@pytest.fixture(scope="module")
def installed():
    assert shutil.which("udevadm"), "udevadm is missing (Debian's udev package)"
    had_group = subprocess.run(["getent", "group", "hugedma"],
                               capture_output=True).returncode == 0
    assert not had_group, "the guest sees a hugedma group already: the test proves nothing"
    config = [p for p in (pathlib.Path("/etc/hugedma"), pathlib.Path("/etc/default/hugedma"))
              if not p.exists()]
    r = subprocess.run(["make", "-s", "-C", str(h.REPO / "admin"), "install"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "groupadd --system hugedma" in r.stdout
    yield grp.getgrnam("hugedma").gr_gid
    OPT_IN.unlink(missing_ok=True)
    # the guest's later tests (the Debian packages' purge) find what they would
    # on a machine without it: make uninstall, and what it leaves on purpose
    r = subprocess.run(["make", "-s", "-C", str(h.REPO / "admin"), "uninstall"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    for p in config:
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)
    subprocess.run(["groupdel", "hugedma"], check=True, timeout=60)


def udev_add(sysdir):
    r = subprocess.run(["udevadm", "test", "--action=add", str(sysdir)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr


def node(name):
    st = os.stat(f"/dev/hugedma/{name}")
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test_make_install_creates_the_group_and_installs_the_rule(installed):
    assert RULE.read_bytes() == (h.REPO / "admin" / "60-hugedma.rules").read_bytes()
    for f in ("/usr/local/sbin/hugedma-provision", "/lib/systemd/system/hugedma.service"):
        assert pathlib.Path(f).exists(), f
    again = subprocess.run(["make", "-s", "-C", str(h.REPO / "admin"), "install"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "groupadd" not in again.stdout, again


def test_udev_group_access_only_when_the_site_opts_in(installed, mkbuf):
    gid = installed
    b = mkbuf(size="2M", page_size="2M")
    assert b.enable() == 0
    OPT_IN.unlink(missing_ok=True)
    assert node(b.name) == (0, 0, 0o600)
    log = udev_add(h.CLASS / b.name)
    assert "60-hugedma.rules" in log, log[-2000:]
    assert node(b.name) == (0, 0, 0o600), "group access without the opt-in file"

    OPT_IN.parent.mkdir(exist_ok=True)
    OPT_IN.touch()
    udev_add(h.CLASS / b.name)
    assert node(b.name) == (0, gid, 0o660)
    # the control node, which imports (pins) a caller's memory, is not covered
    udev_add("/sys/class/misc/hugedma!control")
    assert node("control") == (0, 0, 0o600)

    # a member of the group opens the node; others still cannot
    member = subprocess.run(["setpriv", "--reuid=65534", f"--regid={gid}", "--clear-groups",
                             "dd", f"if=/dev/hugedma/{b.name}", "of=/dev/null", "count=0"],
                            capture_output=True, text=True)
    assert member.returncode == 0, member.stderr
    other = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "dd", f"if=/dev/hugedma/{b.name}", "of=/dev/null", "count=0"],
                           capture_output=True, text=True)
    assert other.returncode != 0 and "Permission denied" in other.stderr
    OPT_IN.unlink()
