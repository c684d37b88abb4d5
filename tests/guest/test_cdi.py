# SPDX-License-Identifier: GPL-2.0
"""Containers get buffers by name: `hugedmactl cdi` writes a Container Device
Interface spec, and the real runtime applies it.

- the spec (cdiVersion 0.5.0, kind hugedma.io/buffer) has one device per enabled
  buffer and `control`, and validates against CDI's own JSON schema as Debian
  ships it (golang-github-container-orchestrated-devices-container-device-interface-dev,
  the library Debian's podman is built with); names CDI cannot carry are left
  out with a warning;
- Debian 12's podman (4.3) with crun, a container from a root directory of its
  own (busybox-static and tests/cdi/hugedma_cdi_probe, no image, no network),
  `--device hugedma.io/buffer=NAME`: inside, the probe opens the node, maps the
  buffer with 1 GB page-table entries and reads what the host wrote, and the host
  reads what it wrote; container root (podman's default capabilities) reads no
  physical or bus address; a container without the device has no node, and one
  that makes the node itself (CAP_MKNOD added) is refused by the device cgroup;
- the file is replaced atomically, and a path that cannot be written is an
  error naming it, with no file and no temporary file left; no module, no spec;
- the udev rule: systemd-udevd started in the guest (no systemd there), and
  the spec follows a buffer's node as it appears and goes; the helper the rule
  runs, also called directly as udev would for a remove and once the module is gone.

The guest has no systemd and a tmpfs under everything: podman runs with
`--cgroup-manager cgroupfs --events-backend none`, its storage in /tmp (vfs),
cgroup2 mounted for the test and unmounted after it."""
import json
import mmap
import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import time

import jsonschema
import pytest

import hugedma_test as h

pytestmark = pytest.mark.userspace

TOOL = h.REPO / "userspace" / "hugedmactl"
PROBE = h.REPO / "tests" / "cdi" / "hugedma_cdi_probe"
HELPER_IN = h.REPO / "admin" / "hugedma-cdi.in"
RULES = h.REPO / "admin" / "60-hugedma.rules"
SPEC = pathlib.Path("/var/run/cdi/hugedma.json")
CDI_SCHEMA = pathlib.Path("/usr/share/gocode/src/github.com/container-orchestrated-devices/"
                          "container-device-interface/schema")
CGROUP = pathlib.Path("/sys/fs/cgroup")
# CDI's device-name rule (its library's ValidateDeviceName), which the schema lacks
CDI_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?$")


def run(*args, timeout=120, env=None):
    return subprocess.run([str(TOOL), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def ok(*args):
    r = run(*args)
    assert r.returncode == 0, f"hugedmactl {' '.join(map(str, args))}: rc {r.returncode}\n{r.stderr}"
    return r


def validator():
    schema = json.loads((CDI_SCHEMA / "schema.json").read_text())
    resolver = jsonschema.RefResolver(base_uri=CDI_SCHEMA.as_uri() + "/", referrer=schema)
    return jsonschema.Draft7Validator(schema, resolver=resolver)


def check_spec(spec):
    """Valid for the schema, and for what the schema does not say: CDI's name
    rule, and (its env items' "ref" is not a $ref) NAME=value variables."""
    validator().validate(spec)
    assert spec["cdiVersion"] == "0.5.0" and spec["kind"] == "hugedma.io/buffer"
    for d in spec["devices"]:
        assert CDI_NAME.match(d["name"]), d["name"]
        for v in d["containerEdits"].get("env", []):
            assert v.index("=") > 0, v
        for n in d["containerEdits"]["deviceNodes"]:
            assert "major" not in n and "minor" not in n, n
    return {d["name"]: d["containerEdits"] for d in spec["devices"]}


@pytest.fixture
def spec_file():
    """The default spec path, empty before and after the test."""
    SPEC.unlink(missing_ok=True)
    yield SPEC
    SPEC.unlink(missing_ok=True)


def test_the_schema_is_debians_and_catches_a_broken_spec():
    """The validator reads the schema Debian ships (with its relative $ref to
    defs.json) and refuses what CDI refuses: a check that can fail."""
    assert (CDI_SCHEMA / "defs.json").exists(), "Debian's CDI -dev package is missing (tests/deps)"
    good = {"cdiVersion": "0.5.0", "kind": "hugedma.io/buffer",
            "devices": [{"name": "a", "containerEdits": {"deviceNodes": [{"path": "/dev/x"}]}}]}
    validator().validate(good)
    for bad in ({"kind": "x", "devices": []},
                {**good, "devices": [{"name": "a"}]},
                {**good, "devices": [{"name": "a", "containerEdits": {
                    "deviceNodes": [{"path": "/dev/x", "major": "1"}]}}]},
                {**good, "devices": [{"name": "a", "containerEdits": {
                    "deviceNodes": [{"permissions": "rw"}]}}]}):
        with pytest.raises(jsonschema.ValidationError):
            validator().validate(bad)


def test_spec_has_every_enabled_buffer_and_control(mkbuf, spec_file):
    a = mkbuf(name="cdi-a", size="2M", page_size="2M")
    mkbuf(name="cdi-b", size="2M", page_size="2M")      # disabled: no node, no device
    c = mkbuf(name="cdi-c-", size="2M", page_size="2M")     # CDI names end alphanumeric
    d = mkbuf(name="cdi_d", size="4M", page_size="2M")
    for x in (a, c, d):
        assert x.enable() == 0
    r = ok("cdi")
    assert "buffer 'cdi-c-' left out of the spec: CDI device names end with a letter or digit" \
        in r.stderr, r.stderr
    assert "cdi-b" not in r.stderr
    assert r.stdout.splitlines() == [
        "hugedma.io/buffer=cdi-a /dev/hugedma/cdi-a",
        "hugedma.io/buffer=cdi_d /dev/hugedma/cdi_d",
        "hugedma.io/buffer=control /dev/hugedma/control"], r.stdout
    st = spec_file.stat()
    assert stat.S_IMODE(st.st_mode) == 0o644 and st.st_uid == 0
    assert sorted(os.listdir(spec_file.parent)) == ["hugedma.json"]   # no temporary file
    devs = check_spec(json.loads(spec_file.read_text()))
    assert list(devs) == ["cdi-a", "cdi_d", "control"]
    assert devs["cdi-a"] == {"env": ["HUGEDMA_BUFFER_CDI_A=cdi-a"], "deviceNodes": [
        {"path": "/dev/hugedma/cdi-a", "type": "c", "permissions": "rw"}]}
    assert devs["cdi_d"]["env"] == ["HUGEDMA_BUFFER_CDI_D=cdi_d"]
    assert devs["control"] == {"env": ["HUGEDMA_CONTROL=/dev/hugedma/control"], "deviceNodes": [
        {"path": "/dev/hugedma/control", "type": "c", "permissions": "rw"}]}

    # to standard output: the same spec; --json: what was written, and what not
    assert json.loads(ok("cdi", "--output", "-").stdout) == json.loads(spec_file.read_text())
    out = json.loads(ok("--json", "cdi").stdout)
    assert out["ok"] and out["path"] == str(spec_file) and out["kind"] == "hugedma.io/buffer"
    assert [x["name"] for x in out["devices"]] == ["cdi-a", "cdi_d", "control"]
    assert out["left_out"] == [{"name": "cdi-c-",
                                "reason": "CDI device names end with a letter or digit"}]

    # disabled: the device goes with the node
    assert a.disable() == 0
    ok("cdi")
    assert list(check_spec(json.loads(spec_file.read_text()))) == ["cdi_d", "control"]


def test_two_buffers_whose_variables_would_collide(mkbuf):
    """cdi-x and cdi_x make the same HUGEDMA_BUFFER_CDI_X: CDI keeps the last
    value of a variable two devices set, so the second goes without one, said."""
    for n in ("cdi-x", "cdi_x"):
        assert mkbuf(name=n, size="2M", page_size="2M").enable() == 0
    r = ok("cdi", "--output", "-")
    assert "buffer 'cdi_x' has no HUGEDMA_BUFFER_CDI_X: it is buffer 'cdi-x''s" in r.stderr
    devs = check_spec(json.loads(r.stdout))
    assert devs["cdi-x"]["env"] == ["HUGEDMA_BUFFER_CDI_X=cdi-x"]
    assert "env" not in devs["cdi_x"] and devs["cdi_x"]["deviceNodes"]


@pytest.mark.parametrize("args, msg", [
    (["--output"], "--output needs a FILE"),
    (["--output", ""], "--output needs a FILE"),
    (["-o"], "--output needs a FILE"),
    (["extra"], "unknown argument 'extra'"),
    (["--output", "-", "--bogus"], "unknown argument '--bogus'"),
])
def test_usage_errors(args, msg, spec_file):
    r = run("cdi", *args)
    assert r.returncode == 2 and msg in r.stderr, r
    assert not spec_file.exists()


def test_an_output_that_cannot_be_written_names_it_and_leaves_nothing(mkbuf, tmp_path):
    assert mkbuf(size="2M", page_size="2M").enable() == 0
    gone = tmp_path / "no-such-dir" / "hugedma.json"
    r = run("cdi", "--output", gone)
    assert r.returncode == 1, r
    assert f"cannot write {gone}: No such file or directory" in r.stderr, r.stderr
    # a directory in the way: the temporary file was made, and is removed again
    (tmp_path / "d.json").mkdir()
    before = sorted(os.listdir(tmp_path))
    r = run("cdi", "--output", tmp_path / "d.json")
    assert r.returncode == 1 and f"cannot write {tmp_path / 'd.json'}: Is a directory" \
        in r.stderr, r.stderr
    assert sorted(os.listdir(tmp_path)) == before
    # a directory no one may write, as a user who is not root
    (tmp_path / "ro").mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        str(TOOL), "cdi", "--output", str(tmp_path / "ro" / "x.json")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and f"cannot write {tmp_path / 'ro' / 'x.json'}: Permission denied" \
        in r.stderr, r
    assert os.listdir(tmp_path / "ro") == []


def test_no_module_no_spec(unloaded, spec_file):
    r = run("cdi")
    assert r.returncode == 1, r
    assert "/dev/hugedma/control: No such file or directory: is the hugedma module loaded?" \
        in r.stderr, r.stderr
    assert not spec_file.exists()


# ---------------------------------------------------------------- podman

@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    """podman(*run_args, cmd=[...]) -> {key: value} of the probe's output, run in a
    container from a root directory that holds busybox and the probe."""
    assert shutil.which("podman") and shutil.which("crun"), "podman and crun: tests/deps"
    assert PROBE.exists(), f"{PROBE} is not built (make -C userspace check-build)"
    mounted = False
    if not (CGROUP / "cgroup.controllers").exists():
        subprocess.run(["mount", "-t", "cgroup2", "none", str(CGROUP)], check=True)
        mounted = True
    top = tmp_path_factory.mktemp("podman")
    rootfs = top / "rootfs"
    for d in ("bin", "dev", "proc", "sys", "etc", "tmp"):
        (rootfs / d).mkdir(parents=True)
    shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
    os.symlink("busybox", rootfs / "bin" / "sh")
    shutil.copy(PROBE, rootfs / "probe")
    base = ["podman", "--root", str(top / "root"), "--runroot", str(top / "run"),
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
            "--events-backend", "none", "--runtime", "crun"]

    def go(*run_args, cmd, check=True):
        r = subprocess.run([*base, "run", "--rm", "--network", "none", *run_args,
                            "--rootfs", str(rootfs), *cmd],
                           capture_output=True, text=True, timeout=300)
        if not check:
            return r
        assert r.returncode == 0, f"podman: rc {r.returncode}\n{r.stdout}\n{r.stderr}"
        return dict(ln.split("=", 1) for ln in r.stdout.splitlines() if "=" in ln)

    yield go
    if mounted:
        subprocess.run(["umount", str(CGROUP)], check=False)


def test_a_container_maps_its_buffer_with_1g_entries_and_sees_the_host(
        podman, mkbuf, spec_file):
    b = mkbuf(name="cdi-big", size="1G", page_size="1G")
    assert b.enable() == 0
    fd = os.open(f"/dev/hugedma/{b.name}", os.O_RDWR)
    try:
        m = mmap.mmap(fd, h.SZ_1G, mmap.MAP_SHARED)
        m[0:6] = b"host-0"
        m[h.SZ_1G // 2:h.SZ_1G // 2 + 32] = bytes(32)
        ok("cdi")
        check_spec(json.loads(spec_file.read_text()))
        out = podman("--device", f"hugedma.io/buffer={b.name}", cmd=["/probe", "map", b.name])
        assert out["env"] == b.name
        assert out["open"] == "OK" and out["map"] == "OK", out
        assert int(out["size"]) == h.SZ_1G and int(out["kernel_page_kb"]) == 1 << 20
        assert out["page0"] == "host-0"
        assert m[h.SZ_1G // 2:h.SZ_1G // 2 + 11] == b"container-0"
        m.close()
    finally:
        os.close(fd)
    # container root has no CAP_SYS_ADMIN: no physical address by any route
    assert out["phys_addrs"] == "EPERM" and out["extent_addrs"] == "EPERM", out
    assert out["lib_phys_addrs"] == "EPERM"
    assert out["pagemap_present"] == "1" and out["pagemap_pfn"] == "0", out


def test_a_container_without_the_device_cannot_reach_it(podman, mkbuf, spec_file):
    mine = mkbuf(name="cdi-mine", size="2M", page_size="2M")
    other = mkbuf(name="cdi-other", size="2M", page_size="2M")
    assert mine.enable() == 0 and other.enable() == 0
    ok("cdi")
    st = os.stat(f"/dev/hugedma/{other.name}")
    major, minor = str(os.major(st.st_rdev)), str(os.minor(st.st_rdev))
    # no device asked for: no node
    out = podman(cmd=["/probe", "open", f"/dev/hugedma/{other.name}"])
    assert out == {"open": "ENOENT"}
    # given one buffer, the other's node made by hand (CAP_MKNOD added): the
    # device cgroup refuses it, while the given one opens
    out = podman("--cap-add", "MKNOD", "--device", f"hugedma.io/buffer={mine.name}",
                 cmd=["/probe", "mknod", "/dev/stolen", major, minor])
    assert out == {"mknod": "OK", "open": "EPERM"}, out
    out = podman("--device", f"hugedma.io/buffer={mine.name}",
                 cmd=["/probe", "open", f"/dev/hugedma/{mine.name}"])
    assert out == {"open": "OK"}


def test_the_control_device_is_there_to_import(podman, spec_file):
    ok("cdi")
    out = podman("--device", "hugedma.io/buffer=control", cmd=["/probe", "open",
                                                                "/dev/hugedma/control"])
    assert out == {"open": "OK"}


def test_a_buffer_the_spec_left_out_is_refused_by_podman(podman, mkbuf, spec_file):
    """A name CDI cannot carry is not in the spec: podman says it knows no such
    device, and runs nothing."""
    b = mkbuf(name="cdi-end-", size="2M", page_size="2M")
    assert b.enable() == 0
    ok("cdi")
    r = podman("--device", f"hugedma.io/buffer={b.name}", cmd=["/probe", "open", "/dev/null"],
               check=False)
    assert r.returncode != 0 and "open=" not in r.stdout, r
    assert "hugedma.io/buffer=cdi-end-" in r.stderr, r.stderr


# ---------------------------------------------------------------- udev

@pytest.fixture
def helper():
    """admin/hugedma-cdi where make install puts it (/lib/udev, where udev's RUN
    finds it), calling this tree's hugedmactl; removed after the test."""
    path = pathlib.Path("/lib/udev/hugedma-cdi")
    assert not path.exists(), f"{path} exists already: the test would not know whose it is"
    path.write_text(HELPER_IN.read_text().replace("@SBINDIR@/hugedmactl", str(TOOL)))
    path.chmod(0o755)
    yield path
    path.unlink()


def test_the_helper_follows_the_nodes_and_the_module(helper, mkbuf, spec_file, tmp_path):
    """The helper as udev runs it: an add rewrites the spec; a remove waits for
    the device's sysfs directory to go first; with the module gone, no spec."""
    b = mkbuf(name="cdi-h", size="2M", page_size="2M")
    assert b.enable() == 0
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ACTION": "add",
           "DEVPATH": f"/devices/virtual/hugedma/{b.name}"}
    r = subprocess.run([str(helper)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert list(check_spec(json.loads(spec_file.read_text()))) == ["cdi-h", "control"]
    assert b.disable() == 0
    r = subprocess.run([str(helper)], env={**env, "ACTION": "remove"}, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert list(check_spec(json.loads(spec_file.read_text()))) == ["control"]
    # HUGEDMA_CDI_SPEC empty in the defaults: nothing written
    spec_file.unlink()
    defaults = tmp_path / "default-hugedma"
    defaults.write_text("HUGEDMA_CDI_SPEC=\n")
    r = subprocess.run([str(helper)], env={**env, "HUGEDMA_DEFAULTS": str(defaults)},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not spec_file.exists(), r.stderr
    ok("cdi")
    b.remove()
    assert h.unload() == 0
    r = subprocess.run([str(helper)], env={**env, "ACTION": "remove",
                                           "DEVPATH": "/devices/virtual/misc/hugedma!control"},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not spec_file.exists(), r.stderr
    h.load()


def wait_spec(names, timeout=30):
    def now():
        try:
            return list(check_spec(json.loads(SPEC.read_text())))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
    h.wait_for(lambda: now() == names, timeout=timeout, interval=0.1)
    return now()


def test_udevd_keeps_the_spec_true(helper, mkbuf, spec_file):
    """systemd-udevd itself, with the rule: the spec follows the nodes without
    anyone running hugedmactl cdi."""
    udevd = "/lib/systemd/systemd-udevd"
    assert os.access(udevd, os.X_OK), "systemd-udevd is missing (Debian's udev package)"
    rule = pathlib.Path("/etc/udev/rules.d/60-hugedma.rules")
    assert not rule.exists()
    rule.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(RULES, rule)
    proc = subprocess.Popen([udevd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        time.sleep(1)
        assert proc.poll() is None, f"systemd-udevd exited: {proc.stderr.read()}"
        b = mkbuf(name="cdi-u", size="2M", page_size="2M")
        assert b.enable() == 0
        assert wait_spec(["cdi-u", "control"]) == ["cdi-u", "control"]
        c = mkbuf(name="cdi-v", size="2M", page_size="2M")
        assert c.enable() == 0
        assert wait_spec(["cdi-u", "cdi-v", "control"]) == ["cdi-u", "cdi-v", "control"]
        assert b.disable() == 0
        assert wait_spec(["cdi-v", "control"]) == ["cdi-v", "control"]
        c.remove()
        b.remove()
        assert wait_spec(["control"]) == ["control"]
        # the module goes: so does the spec
        assert h.unload() == 0
        assert h.wait_for(lambda: not SPEC.exists(), timeout=30, interval=0.1)
        h.load()
        assert wait_spec(["control"]) == ["control"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        rule.unlink()


# ---------------------------------------------------------------- last: edu stays loaded

def test_container_root_reads_no_bus_address(podman, edu_attachment, spec_file):
    """An attached buffer's bus addresses are no more the container's than its
    physical ones.  Last in the file: hugedma_edu, loaded from here on, keeps
    the module from being unloaded by the tests above."""
    b, att = edu_attachment()
    assert h.write(att / "enable", "1") == 0
    ok("cdi")
    out = podman("--device", f"hugedma.io/buffer={b.name}", cmd=["/probe", "map", b.name])
    assert out["map"] == "OK" and int(out["kernel_page_kb"]) == 2048, out
    assert out[f"dma_addrs:{att.name}"] == "EPERM", out
    assert out["phys_addrs"] == "EPERM" and out["lib_phys_addrs"] == "EPERM", out
