# SPDX-License-Identifier: GPL-2.0
"""hugedmactl, the administration tool: every subcommand run as a real binary, its
--json output parsed, its exit codes (0, 1 with the kernel's errno and the refusing
attribute, 2 for usage), and save/restore: round trip, idempotence, --dry-run, and a
failed restore that leaves nothing behind.

The attach/detach tests need QEMU's edu device (tests/vm/run --edu; marked edu), with
the hugedma_edu test driver bound so that, as with a real consumer, the device's DMA
mask is its driver's (64 bits), not the 32-bit default of a device without a driver."""
import errno
import fcntl
import json
import os
import pathlib
import subprocess
import threading
import time

import pytest

import hugedma_test as h

pytestmark = pytest.mark.userspace

TOOL = h.REPO / "userspace" / "hugedmactl"
LOCK = pathlib.Path("/run/hugedma/hugedmactl.lock")


def run(*args, timeout=120):
    return subprocess.run([str(TOOL), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def ok(*args):
    r = run(*args)
    assert r.returncode == 0, f"hugedmactl {' '.join(map(str, args))}: rc {r.returncode}\n{r.stderr}"
    return r


def js(*args):
    return json.loads(ok("--json", *args).stdout)


def free2m():
    return h.pool(h.SZ_2M)["free_hugepages"]


def remove_everything(name):
    """Undo whatever a test's hugedmactl runs left: attachments, enable, directory."""
    d = h.BUFFERS / name
    if not d.exists():
        return
    att = d / "attachments"
    for a in sorted(att.iterdir()) if att.exists() else []:
        h.write(a / "enable", "0")
        os.rmdir(a)
    h.write(d / "enable", "0")
    os.rmdir(d)


@pytest.fixture
def names():
    """Factory of fresh buffer names; every buffer of those names is removed after the test."""
    made = []

    def make():
        made.append(f"ctl{os.getpid() % 1000}-{len(made)}")
        return made[-1]

    yield make
    for n in reversed(made):
        remove_everything(n)


def stripped_show(name):
    """show --json without what a fresh allocation changes: addresses, users,
    how the mapped bytes fall into segments (adjacent pages merge, so without
    an IOMMU the segments follow where the new pages landed), and, for a buffer
    of any node, the node its pages landed on (the writer's, in a NUMA guest)."""
    s = js("show", name)
    s.pop("phys_addrs")
    s.pop("users")
    if s["numa_node"] == -1:
        s.pop("pages_node")
    for a in s["attachments"]:
        a["segments"] = sum(seg["length"] for seg in a["segments"] or [])
        a.pop("nr_segments")
    return s


# ---------------------------------------------------------------- usage: exit 2

@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["create", "x"],                                # --size is required
    ["create", "x", "--size", "2M", "--bogus"],     # unknown option
    ["create", "--size", "2M"],                     # no name
    ["destroy"],
    ["enable", "a", "b"],
    ["show", "--bogus"],
    ["list", "extra"],
    ["attach", "x"],
    ["attach", "x", "0000:00:00.0", "--sideways"],
    ["detach", "x"],
    ["restore"],
    ["restore", "--frob", "f"],
    ["save", "a", "b"],
    ["show", "a/b"],
    ["clear", "extra"],
    ["clear", "--force"],
    ["check", "extra"],
    ["help", "nosuch"],
    ["help", "save", "restore"],
    ["--version", "extra"],
    ["restore", "--replace"],                       # no FILE
    ["save", "--backups"],
    ["save", "--backups", "x", "f"],
    ["save", "--backups", "-1", "f"],
    ["save", "--backups", "100", "f"],
    ["pool", "extra"],
    ["pool", "set"],
    ["pool", "set", "1G"],
    ["pool", "set", "3G", "1"],
    ["pool", "set", "2M", "x"],
    ["pool", "set", "2M", "-1"],
    ["pool", "set", "2M", "1k"],
    ["pool", "set", "2M", "0x10"],
    ["pool", "set", "2M", "0:"],
    ["pool", "set", "2M", ":1"],
    ["pool", "set", "2M", "a:1"],
    ["pool", "set", "2M", "4096:1"],                # no such node
    ["pool", "set", "2M", "0:1", "0:2"],            # a node twice
    ["pool", "set", "2M", "1", "0:1"],              # the whole pool and a node
])
def test_usage_errors_exit_2(args):
    r = run(*args)
    assert r.returncode == 2, r
    assert "usage:" in r.stderr
    assert r.stdout == ""


def test_help_exits_0():
    r = run("--help")
    assert r.returncode == 0 and "restore" in r.stdout


def test_version_is_the_package_version():
    want = next(ln.split('"')[1] for ln in (h.REPO / "dkms.conf").read_text().splitlines()
                if ln.startswith("PACKAGE_VERSION="))
    assert ok("--version").stdout == f"hugedmactl {want}\n"


@pytest.mark.parametrize("cmd", ["create", "clear", "pool", "save", "restore", "check",
                                 "help"])
def test_help_command_and_command_help_agree(cmd):
    r = ok("help", cmd)
    assert r.stdout.startswith(f"usage: hugedmactl [--json] {cmd}")
    assert "hugedmactl(8)" in r.stdout
    assert ok(cmd, "--help").stdout == r.stdout      # COMMAND --help, nothing done


# ---------------------------------------------------------------- create, show, list, destroy

def test_create_show_list_destroy(names):
    name = names()
    free = free2m()
    r = ok("create", name, "--size", "6M", "--page-size", "2M")
    assert free2m() == free - 3
    assert h.read(h.BUFFERS / name / "state").strip() == "enabled"

    listed = {b["name"]: b for b in js("list")["buffers"]}
    b = listed[name]
    assert b == {**b, "state": "enabled", "enabled": True, "size": 6 << 20,
                 "page_size": h.SZ_2M, "numa_node": -1, "nr_pages": 3, "source": "pool",
                 "configfs": True}
    assert name in ok("list").stdout

    s = js("show", name)
    phys = [int(x, 16) for x in h.read(h.CLASS / name / "phys_addrs").split()]
    assert [int(x, 16) for x in s["phys_addrs"]] == phys
    assert s["nr_pages"] == 3 and s["attachments"] == [] and s["users"] == []
    human = ok("show", name).stdout
    assert "6M" in human and f"0x{phys[0]:016x}" in human

    r = ok("destroy", name)
    assert not (h.BUFFERS / name).exists()
    assert free2m() == free
    assert r.stderr == ""


def test_show_lists_users(names, mkbuf):
    b = mkbuf(size="2M", page_size="2M")
    assert b.enable() == 0
    fd = os.open(f"/dev/hugedma/{b.name}", os.O_RDONLY)
    try:
        users = js("show", b.name)["users"]
        assert {"pid": os.getpid(), "comm": pathlib.Path("/proc/self/comm").read_text().strip()} \
            in users
        r = run("disable", b.name)
        assert r.returncode == 1
        assert f"{h.BUFFERS}/{b.name}/enable: Device or resource busy" in r.stderr
    finally:
        os.close(fd)
    ok("disable", b.name)


def test_enable_disable(mkbuf):
    b = mkbuf(size="4M", page_size="2M")
    free = free2m()
    ok("enable", b.name)
    ok("enable", b.name)        # the current value succeeds
    assert b.read("state") == "enabled" and free2m() == free - 2
    ok("disable", b.name)
    assert b.read("state") == "disabled" and free2m() == free
    assert js("disable", b.name)["ok"] is True


@pytest.mark.parametrize("opts, attr, err", [
    (["--size", "1.5G"], "size", "Invalid argument"),
    (["--size", "abc"], "size", "Invalid argument"),
    (["--size", "0"], "size", "Invalid argument"),
    (["--size", "3M", "--page-size", "2M"], "size", "Invalid argument"),
    (["--size", "99999999999T"], "size", "Numerical result out of range"),
    (["--size", "2M", "--page-size", "4M"], "page_size", "Invalid argument"),
    (["--size", "2M", "--page-size", "2M", "--node", "2147483647"], "numa_node",
     "No such device"),
    (["--size", "2M", "--page-size", "2M", "--node", "-2"], "numa_node", "Invalid argument"),
])
def test_create_bad_values_name_the_attribute(names, opts, attr, err):
    name = names()
    r = run("create", name, *opts)
    assert r.returncode == 1, r
    assert f"hugedmactl: {h.BUFFERS}/{name}/{attr}: {err}\n" in r.stderr
    assert not (h.BUFFERS / name).exists(), "a failed create left its directory"


def schema_refusals():
    """Every refused write the schema lists for size, page_size and numa_node (the
    buffers issue's bad values), as create options: (attribute, value, errno, options
    that set what the example's `given` sets first).  hugedmactl writes page_size,
    size, numa_node in that order, as `given` needs."""
    schema = json.loads((h.REPO / "configfs-schema" / "hugedma.json").read_text())
    opt = {"size": "--size", "page_size": "--page-size", "numa_node": "--node"}
    cases = []
    for e in schema["entries"]:
        attr = e["path"].rsplit("/", 1)[1]
        if not e["path"].startswith(f"{h.BUFFERS}/<name>/") or attr not in opt:
            continue
        for x in e.get("examples", []):
            given = dict(x.get("given", []))
            if attr in given:
                continue        # a second write of the same attribute: not one create
            opts = {"size": "2M", "page_size": "2M"} if attr == "numa_node" else {}
            opts.update(given)
            if attr == "page_size":
                opts.pop("size", None)      # page_size is written before size
            opts[attr] = x["value"]
            args = [a for k, v in opts.items() for a in (opt[k], v)]
            if "--size" not in args:
                args += ["--size", "2M"]    # required; written after the refused page_size
            cases.append(pytest.param(attr, args, x["errno"],
                                      id=f"{attr}={x['value']!r}"))
    return cases


@pytest.mark.parametrize("attr, args, err", schema_refusals())
def test_every_refused_value_of_the_schema_is_the_kernels_refusal(names, attr, args, err):
    """Values go to the kernel as given (bytes: 0xa0 stays one byte), and the kernel's
    errno comes back with the attribute that refused it."""
    name = names()
    argv = [str(TOOL), "create", name] + args
    r = subprocess.run([a.encode("latin-1") for a in argv], capture_output=True, timeout=60)
    stderr = r.stderr.decode(errors="replace")
    assert r.returncode == 1, stderr
    want = f"hugedmactl: {h.BUFFERS}/{name}/{attr}: {os.strerror(getattr(errno, err))}\n"
    assert want in stderr, stderr
    assert not (h.BUFFERS / name).exists(), "a failed create left its directory"


def test_create_bad_name_is_the_kernels_refusal():
    r = run("create", "Bad", "--size", "2M", "--page-size", "2M")
    assert r.returncode == 1
    assert f"{h.BUFFERS}/Bad: Invalid argument" in r.stderr


def test_create_beyond_the_pool_keeps_nothing(names):
    name = names()
    free = free2m()
    r = run("--json", "create", name, "--size", f"{(free + 1) * 2}M", "--page-size", "2M")
    assert r.returncode == 1
    assert f"{h.BUFFERS}/{name}/enable: No space left on device" in r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["error"]["errno"] == "ENOSPC"
    assert out["error"]["path"] == f"{h.BUFFERS}/{name}/enable"
    assert [u["path"] for u in out["rolled_back"]] == [str(h.BUFFERS / name)]
    assert not (h.BUFFERS / name).exists() and free2m() == free


def test_create_exists(names):
    name = names()
    ok("create", name, "--size", "2M", "--page-size", "2M")
    r = run("create", name, "--size", "2M", "--page-size", "2M")
    assert r.returncode == 1 and f"{h.BUFFERS}/{name}: File exists" in r.stderr
    assert h.read(h.BUFFERS / name / "state").strip() == "enabled", "the original was touched"


def test_create_on_node_0(names):
    name = names()
    ok("create", name, "--size", "2M", "--page-size", "2M", "--node", "0")
    s = js("show", name)
    assert s["numa_node"] == 0 and s["pages_node"] == 0


@pytest.mark.parametrize("args", [["show", "nosuch"], ["enable", "nosuch"],
                                  ["disable", "nosuch"], ["destroy", "nosuch"],
                                  ["detach", "nosuch", "0000:00:00.0"]])
def test_unknown_buffer_exit_1(args):
    r = run(*args)
    assert r.returncode == 1
    assert f"{h.BUFFERS}/nosuch" in r.stderr and "No such file or directory" in r.stderr


def as_nobody(*args):
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           str(TOOL), *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def test_not_root_is_explained(names):
    name = names()
    r = as_nobody("create", name, "--size", "2M")
    assert r.returncode == 1 and "needs root" in r.stderr
    assert not (h.BUFFERS / name).exists()
    r = as_nobody("--json", "list")
    assert r.returncode == 0 and "buffers" in json.loads(r.stdout)


@pytest.mark.parametrize("args", [["destroy", "{b}"], ["enable", "{b}"], ["disable", "{b}"],
                                  ["attach", "{b}", "0000:00:00.0"],
                                  ["detach", "{b}", "0000:00:00.0"], ["restore", "{cfg}"],
                                  ["restore", "--replace", "{cfg}"], ["clear"],
                                  ["pool", "set", "2M", "1"]])
def test_every_change_as_non_root_says_root_is_needed(mkbuf, tmp_path, args):
    """Each command that changes something, refused before it touches anything."""
    b = mkbuf(size="2M", page_size="2M")
    assert b.enable() == 0
    cfg = saved(tmp_path, {"format": "hugedma-config/1", "buffers": []})
    tmp_path.chmod(0o755)
    cfg.chmod(0o644)
    r = as_nobody(*[a.format(b=b.name, cfg=cfg) for a in args])
    assert r.returncode == 1, r
    assert "needs root" in r.stderr, r.stderr
    assert b.read("state") == "enabled"
    assert not (b.dir / "attachments" / "0000:00:00.0").exists()


def test_show_as_non_root_explains_the_missing_addresses(mkbuf):
    b = mkbuf(size="2M", page_size="2M")
    assert b.enable() == 0
    r = as_nobody("show", b.name)
    assert r.returncode == 0, r.stderr
    assert "root" in r.stdout + r.stderr, (r.stdout, r.stderr)


# ---------------------------------------------------------------- pool

def test_pool(mkbuf):
    b = mkbuf(size="6M", page_size="2M")
    assert b.enable() == 0
    p = {x["page_size"]: x for x in js("pool")["pools"]}
    assert set(p) == {h.SZ_1G, h.SZ_2M}
    for ps, x in p.items():
        kernel = h.pool(ps)
        assert (x["total"], x["free"], x["reserved"], x["surplus"]) == (
            kernel["nr_hugepages"], kernel["free_hugepages"], kernel["resv_hugepages"],
            kernel["surplus_hugepages"])
        assert [n["node"] for n in x["nodes"]] == h.node_ids()
        for n in x["nodes"]:
            assert n["free"] == h.node_free(n["node"], ps)
    assert p[h.SZ_2M]["hugedma"] == 3 and p[h.SZ_1G]["hugedma"] == 0
    assert sum(n["hugedma"] for n in p[h.SZ_2M]["nodes"]) == 3
    human = ok("pool").stdout
    assert human.splitlines()[0].split() == ["PAGE", "NODE", "TOTAL", "FREE", "RESV",
                                             "SURPLUS", "HUGEDMA"]


def test_pool_prints_the_kubelet_reservation(mkbuf):
    """Per node, the pages hugedma holds as the kubelet's flags take them: the
    Memory Manager's --reserved-memory and --system-reserved, in Kubernetes
    quantities (6 MiB of 2 MB pages: hugepages-2Mi=6Mi)."""
    empty = {"reserved_memory": [], "system_reserved": None, "spanning_nodes": []}
    assert js("pool")["kubelet"] == empty
    assert "kubelet: hugedma holds no pages: nothing to reserve\n" in ok("pool").stdout
    b = mkbuf(size="6M", page_size="2M")
    assert b.enable() == 0
    node = int(b.sysfs("numa_node"))
    k = js("pool")["kubelet"]
    text = ok("pool").stdout
    if node < 0:    # pages on several nodes: named, not counted per node
        assert k == {**empty, "spanning_nodes": [b.name]}
        assert f"kubelet: buffer {b.name} has pages on several nodes" in text
        return
    assert k == {"reserved_memory": [f"{node}:hugepages-2Mi=6Mi"],
                 "system_reserved": "hugepages-2Mi=6Mi", "spanning_nodes": []}
    assert (f"  --reserved-memory {node}:hugepages-2Mi=6Mi --system-reserved=hugepages-2Mi=6Mi\n"
            in text), text
    assert "can take neither" in text
    assert b.disable() == 0
    assert js("pool")["kubelet"] == empty


def nr2m():
    return h.pool(h.SZ_2M)["nr_hugepages"]


@pytest.fixture
def pool2m_kept():
    """The 2 MB pool's size, put back node by node after the test whatever it did."""
    nr = nr2m()
    per_node = {n: h.node_pool(n, h.SZ_2M)["nr_hugepages"] for n in h.node_ids()}
    yield nr
    for n, count in per_node.items():
        h.write(h.NODES / f"node{n}" / "hugepages" / h.PAGE_DIRS[h.SZ_2M] / "nr_hugepages",
                str(count))
    assert nr2m() == nr


def test_pool_set_grows_and_shrinks(pool2m_kept):
    nr = pool2m_kept
    out = js("pool", "set", "2M", nr + 4)
    assert out == {"page_size": h.SZ_2M, "ok": True,
                   "pools": [{"node": -1, "requested": nr + 4, "obtained": nr + 4}]}
    assert nr2m() == nr + 4
    r = ok("pool", "set", "2M", nr)
    assert r.stdout == f"2M all nodes: {nr} pages\n"
    node = h.node_ids()[0]
    on_node = h.node_pool(node, h.SZ_2M)["nr_hugepages"]
    out = js("pool", "set", "2M", f"{node}:{on_node + 2}")
    assert out["pools"] == [{"node": node, "requested": on_node + 2, "obtained": on_node + 2}]
    assert h.node_pool(node, h.SZ_2M)["nr_hugepages"] == on_node + 2
    assert nr2m() == nr + 2


def test_pool_set_never_below_what_buffers_hold(names, pool2m_kept):
    a = names()
    ok("create", a, "--size", "8M", "--page-size", "2M")
    held = 4
    free = free2m()
    nr = pool2m_kept
    used_by_others = nr - free - held
    r = run("pool", "set", "2M", held - 1)
    assert r.returncode == 1
    assert f"hugedma's buffers hold {held} 2M pages; the pool cannot shrink to {held - 1}" \
        in r.stderr
    node = json.loads(ok("--json", "show", a).stdout)["pages_node"]
    r = run("pool", "set", "2M", f"{node}:0")
    assert r.returncode == 1 and f"on node {node}" in r.stderr, r.stderr
    assert nr2m() == nr and free2m() == free                     # nothing changed
    # exactly what is held and used: allowed, and the pool keeps its used pages
    r = ok("pool", "set", "2M", held + used_by_others)
    assert nr2m() == held + used_by_others and free2m() == 0


def test_pool_set_reports_pages_it_cannot_free(pool2m_kept):
    """Pages in use by a hugetlb mapping (not hugedma's) cannot be freed: the pool
    keeps them, and pool set says so with both numbers and exit status 1."""
    import mmap
    nr = pool2m_kept
    used = nr - free2m()
    m = mmap.mmap(-1, 4 * h.SZ_2M, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS |
                  h.MAP_HUGETLB | (21 << h.MAP_HUGE_SHIFT))
    try:
        for off in range(0, 4 * h.SZ_2M, h.SZ_2M):
            m[off] = 1                                             # fault each page in
        r = run("--json", "pool", "set", "2M", used)
        assert r.returncode == 1
        assert f"asked for {used} pages, the pool keeps {used + 4}" in r.stderr, r.stderr
        out = json.loads(r.stdout)
        assert out["ok"] is False and out["pools"][0]["obtained"] == used + 4
    finally:
        m.close()


# ---------------------------------------------------------------- concurrency

def test_concurrent_runs(names):
    todo = [names() for _ in range(6)]
    free = free2m()
    results = [None] * len(todo)

    def go(i):
        results[i] = run("create", todo[i], "--size", "2M", "--page-size", "2M")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(todo))]
    for t in threads:
        t.start()
    for _ in range(3):
        assert run("list").returncode == 0
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [0] * len(todo), [r.stderr for r in results]
    assert free2m() == free - len(todo)


def test_changes_wait_for_the_lock(names):
    name = names()
    LOCK.parent.mkdir(exist_ok=True)
    with open(LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        p = subprocess.Popen([str(TOOL), "create", name, "--size", "2M", "--page-size", "2M"])
        time.sleep(1.0)
        assert p.poll() is None, "create ran while another hugedmactl held the lock"
        assert not (h.BUFFERS / name).exists()
        fcntl.flock(f, fcntl.LOCK_UN)
    assert p.wait(timeout=60) == 0
    assert (h.BUFFERS / name).exists()


# ---------------------------------------------------------------- save and restore

def saved(tmp_path, data, name="config.json"):
    p = tmp_path / name
    p.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return p


def test_save_restore_round_trip(names, tmp_path):
    a, b = names(), names()
    ok("create", a, "--size", "4M", "--page-size", "2M", "--node", "0")
    ok("create", b, "--size", "6M", "--page-size", "2M")
    ok("disable", b)
    before = {n: stripped_show(n) for n in (a, b)}
    free = free2m()

    cfg = tmp_path / "hugedma.json"
    ok("save", cfg)
    data = json.loads(cfg.read_text())
    assert data["format"] == "hugedma-config/1"
    mine = [x for x in data["buffers"] if x["name"] in (a, b)]
    assert mine == [
        {"name": a, "size": 4 << 20, "page_size": h.SZ_2M, "numa_node": 0, "enable": True,
         "attachments": []},
        {"name": b, "size": 6 << 20, "page_size": h.SZ_2M, "numa_node": -1, "enable": False,
         "attachments": []},
    ]
    assert json.loads(ok("save").stdout) == data      # stdout without FILE

    ok("destroy", a)
    ok("destroy", b)
    assert free2m() == free + 2

    dry = js("restore", "--dry-run", cfg)
    assert dry["ok"] and dry["dry_run"]
    assert {"action": "create", "buffer": a} in dry["actions"]
    assert {"action": "enable", "buffer": a} in dry["actions"]
    assert not (h.BUFFERS / a).exists() and not (h.BUFFERS / b).exists()
    assert free2m() == free + 2, "--dry-run changed the pool"

    r = ok("restore", cfg)
    assert f"create {a}" in r.stdout and f"enable {a}" in r.stdout
    assert {n: stripped_show(n) for n in (a, b)} == before
    assert free2m() == free

    again = js("restore", cfg)        # idempotent: nothing to do the second time
    assert again["ok"]
    assert {"action": "unchanged", "buffer": a} in again["actions"]
    assert {"action": "unchanged", "buffer": b} in again["actions"]
    assert all(x["action"] == "unchanged" for x in again["actions"]), again
    assert {n: stripped_show(n) for n in (a, b)} == before and free2m() == free


def test_contiguous_create_save_restore(names, tmp_path):
    """create --contiguous sets the attribute; show says it; save writes it (only when
    set) and restore makes it again, and changes a disabled buffer's back."""
    a, b = names(), names()
    ok("create", a, "--size", "4M", "--page-size", "2M", "--contiguous")
    ok("create", b, "--size", "4M", "--page-size", "2M")
    assert h.read(h.BUFFERS / a / "contiguous").strip() == "1"
    assert h.read(h.BUFFERS / b / "contiguous").strip() == "0"
    assert int(h.read(h.CLASS / a / "nr_extents")) == 1
    assert js("show", a)["contiguous"] is True and js("show", b)["contiguous"] is False
    assert "contiguous   yes" in ok("show", a).stdout
    cfg = tmp_path / "hugedma.json"
    ok("save", cfg)
    mine = {x["name"]: x for x in json.loads(cfg.read_text())["buffers"] if x["name"] in (a, b)}
    assert mine[a]["contiguous"] is True and "contiguous" not in mine[b]
    ok("destroy", a)
    ok("disable", b)
    assert h.write(h.BUFFERS / b / "contiguous", "1") == 0
    ok("restore", cfg)
    assert h.read(h.BUFFERS / a / "contiguous").strip() == "1"
    assert h.read(h.BUFFERS / b / "contiguous").strip() == "0"
    assert h.read(h.BUFFERS / a / "state").strip() == "enabled"
    bad = saved(tmp_path, {"format": "hugedma-config/1", "buffers": [
        {"name": a, "size": "2M", "page_size": "2M", "contiguous": 1}]}, "bad.json")
    r = run("restore", bad)
    assert r.returncode == 1 and ".contiguous: must be true or false" in r.stderr, r.stderr


def show_all_but_addresses():
    """show --json of every buffer, by name, without physical and bus addresses."""
    out = {}
    for b in js("list")["buffers"]:
        s = js("show", b["name"])
        s.pop("phys_addrs")
        for a in s["attachments"]:
            for seg in a["segments"] or []:
                seg.pop("addr")
        out[b["name"]] = s
    return out


def test_save_restore_on_a_fresh_module_load(names, tmp_path):
    """Save, rmmod, insmod, restore: every buffer's show --json is as it was, physical
    addresses excepted; buffers of both page sizes, on node 0 and any, enabled and not."""
    a, b, c, d = names(), names(), names(), names()
    ok("create", a, "--size", "4M", "--page-size", "2M", "--node", "0")
    ok("create", b, "--size", "6M", "--page-size", "2M")
    ok("disable", b)
    ok("create", c, "--size", "2G", "--page-size", "1G", "--node", "0")
    ok("disable", c)
    ok("create", d, "--size", "2M", "--page-size", "2M")
    before = show_all_but_addresses()
    assert set(before) == {a, b, c, d}
    assert [before[n]["state"] for n in (a, b, c, d)] == ["enabled", "disabled", "disabled",
                                                           "enabled"]
    cfg = tmp_path / "config.json"
    ok("save", cfg)

    assert h.unload() == 0
    h.load()
    assert js("list")["buffers"] == []

    r = js("restore", cfg)
    assert r["ok"] and not r["rolled_back"], r
    assert show_all_but_addresses() == before


def restore_stdin(*args, text):
    r = subprocess.run([str(TOOL), "--json", "restore", *args, "-"], input=text,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_show_json_restores_as_it_is(names):
    """What show --json prints of a buffer, restore takes back (on standard input): a
    destroyed buffer comes back as it was, and a live one is left unchanged."""
    a, b = names(), names()
    ok("create", a, "--size", "4M", "--page-size", "2M", "--node", "0")
    ok("create", b, "--size", "2M", "--page-size", "2M")
    ok("disable", b)
    for n in (a, b):
        before = stripped_show(n)
        shown = ok("--json", "show", n).stdout
        assert restore_stdin(text=shown)["actions"] == [{"action": "unchanged", "buffer": n}]
        ok("destroy", n)
        dry = restore_stdin("--dry-run", text=shown)
        assert dry["dry_run"] and not (h.BUFFERS / n).exists()
        out = restore_stdin(text=shown)
        assert out["ok"] and not out["rolled_back"], out
        assert stripped_show(n) == before


def test_restore_refuses_what_show_says_it_cannot_take(names, tmp_path):
    """A shown buffer whose "enable" and "enabled" disagree, or an imported one."""
    a = names()
    ok("create", a, "--size", "2M", "--page-size", "2M")
    shown = js("show", a)
    for change, where in (({"enable": False}, '"enable" and "enabled" disagree'),
                          ({"source": "user", "configfs": False}, "an imported buffer")):
        cfg = saved(tmp_path, {**shown, **change})
        r = run("restore", "--dry-run", cfg)
        assert r.returncode == 1 and f"{cfg}: buffers[0] ({a})" in r.stderr and \
            where in r.stderr, r.stderr


def test_restore_changes_a_disabled_buffer_to_match(names, tmp_path):
    a = names()
    ok("create", a, "--size", "2M", "--page-size", "2M")
    ok("disable", a)
    cfg = saved(tmp_path, {"format": "hugedma-config/1", "buffers": [
        {"name": a, "size": "8M", "page_size": "2M", "enable": True}]})
    out = js("restore", cfg)
    assert {"action": "set", "buffer": a, "value": "size"} in out["actions"]
    assert js("show", a)["nr_pages"] == 4


def test_restore_beyond_the_pool_changes_nothing(names, tmp_path):
    a, b = names(), names()
    free = free2m()
    cfg = saved(tmp_path, {"format": "hugedma-config/1", "buffers": [
        {"name": a, "size": 2 << 20, "page_size": h.SZ_2M, "enable": True},
        {"name": b, "size": free * (2 << 20), "page_size": h.SZ_2M, "enable": True}]})
    for args in (["--dry-run", cfg], [cfg]):
        r = run("restore", *args)
        assert r.returncode == 1
        assert f"free unreserved 2 MB pages, the configuration needs {free + 1}" in r.stderr
        # the location: the buffers that would take the pages, with how many each
        assert f"{cfg}: needed by buffers[0] ({a}): 1, buffers[1] ({b}): {free}\n" in r.stderr
        nr = h.pool(h.SZ_2M)["nr_hugepages"] + 1
        assert (f"to fix: boot with 'hugepagesz=2M hugepages={nr}' on the kernel command line, "
                f"or now: echo {nr} > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
                ) in r.stderr
        assert not (h.BUFFERS / a).exists() and not (h.BUFFERS / b).exists()
        assert free2m() == free


def test_failed_restore_rolls_back_what_it_did(names, tmp_path):
    """The kernel refuses the third buffer's size (more than RAM) after the first two
    were created and enabled: both are disabled and removed again."""
    a, b, c = names(), names(), names()
    pre = names()
    ok("create", pre, "--size", "2M", "--page-size", "2M")    # not this run's: stays
    free = free2m()
    cfg = saved(tmp_path, {"format": "hugedma-config/1", "buffers": [
        {"name": pre, "size": 2 << 20, "page_size": h.SZ_2M, "enable": True},
        {"name": a, "size": 2 << 20, "page_size": h.SZ_2M, "enable": True},
        {"name": b, "size": 4 << 20, "page_size": h.SZ_2M, "enable": True},
        {"name": c, "size": "1024T", "page_size": h.SZ_2M, "enable": False}]})
    r = run("--json", "restore", cfg)
    assert r.returncode == 1
    assert f"hugedmactl: {h.BUFFERS}/{c}/size: Numerical result out of range" in r.stderr
    assert "restore failed after:" in r.stderr and f"create {a}" in r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["error"]["errno"] == "ERANGE"
    assert [x["action"] for x in out["actions"]] == [
        "unchanged", "create", "enable", "create", "enable", "create"]
    assert all(u["ok"] for u in out["rolled_back"]) and len(out["rolled_back"]) == 5
    for n in (a, b, c):
        assert not (h.BUFFERS / n).exists(), f"{n} left behind"
    assert h.read(h.BUFFERS / pre / "state").strip() == "enabled"
    assert free2m() == free


@pytest.mark.parametrize("text, where", [
    ('{"format": "hugedma-config/1", "buffers": [\n  {"name": "x",\n  }\n', "line 3"),
    ('[]', "top level: must be an object"),
    ('{"format": "hugedma-config/1", "buffers": [], "extra": 1}', "unknown key 'extra'"),
    ('{"format": "other/1", "buffers": []}', '"format" must be'),
    ('{"format": "hugedma-config/1", "buffers": [{"name": "d1", "size": 2097152, '
     '"page_size": 2097152, "colour": "red"}]}', "buffers[0]: unknown key 'colour'"),
    ('{"format": "hugedma-config/1", "buffers": [{"name": "d1", "size": 2097152, '
     '"page_size": 2097152}, {"name": "d1", "size": 2097152, "page_size": 2097152}]}',
     "buffers[1].name: duplicate buffer name 'd1'"),
    ('{"format": "hugedma-config/1", "buffers": [{"name": "Bad", "size": 2097152}]}',
     "buffers[0].name"),
    ('{"format": "hugedma-config/1", "buffers": [{"name": "d1", "size": "1.5G"}]}',
     "buffers[0] (d1).size"),
    ('{"format": "hugedma-config/1", "buffers": [{"name": "d1", "size": 3145728, '
     '"page_size": 2097152}]}', "not a multiple of the page size"),
    ('{"format": "hugedma-config/1", "buffers": [{"name": "d1", "size": 2097152, '
     '"page_size": 2097152, "numa_node": 63}]}', "node 63 does not exist"),
    ('{"format": "hugedma-config/1", "buffers": [{"name": "d1", "size": 2097152, '
     '"page_size": 4096}]}', "buffers[0] (d1).page_size"),
    ('{"format": "hugedma-config/1", "buffers": [{"name": "d1", "size": 2097152, '
     '"page_size": 2097152, "attachments": [{"bdf": "0000:42:00.0"}]}]}',
     "attachment 0000:42:00.0: no such PCI device"),
    ('{"format": "hugedma-config/1", "buffers": [{"name": "d1", "size": 2097152, '
     '"page_size": 2097152, "attachments": [{"bdf": "0000:00:1F.0"}]}]}', '"bdf" must be'),
])
def test_restore_bad_files_name_the_problem(tmp_path, text, where):
    before = sorted(p.name for p in h.BUFFERS.iterdir())
    cfg = saved(tmp_path, text)
    for dry in (["--dry-run"], []):
        r = run("restore", *dry, cfg)
        assert r.returncode == 1, r
        assert f"hugedmactl: {cfg}: " in r.stderr and where in r.stderr, r.stderr
        assert sorted(p.name for p in h.BUFFERS.iterdir()) == before


def test_restore_unreadable_file(tmp_path):
    r = run("restore", tmp_path / "missing.json")
    assert r.returncode == 1
    assert f"{tmp_path}/missing.json: No such file or directory" in r.stderr
    d = tmp_path / "adir"
    d.mkdir()
    r = run("restore", d)
    assert r.returncode == 1 and "Is a directory" in r.stderr


def test_save_keeps_rotated_backups(names, tmp_path):
    a = names()
    cfg = tmp_path / "config.json"
    versions = []
    for size in ("2M", "4M", "6M", "8M", "10M"):
        if (h.BUFFERS / a).exists():
            ok("destroy", a)
        ok("create", a, "--size", size, "--page-size", "2M")
        ok("save", cfg)
        versions.append(cfg.read_text())
    assert cfg.read_text() == versions[-1]
    # the default keeps three: the newest replaced file is .1
    for k in (1, 2, 3):
        assert (tmp_path / f"config.json.{k}").read_text() == versions[-1 - k]
    assert not (tmp_path / "config.json.4").exists()
    # the same configuration again: neither the file nor the backups move
    ok("save", cfg)
    assert (tmp_path / "config.json.1").read_text() == versions[-2]
    # --backups 1 keeps one (older ones are left as they are), 0 keeps none
    ok("destroy", a)
    ok("create", a, "--size", "12M", "--page-size", "2M")
    ok("save", "--backups", "1", cfg)
    assert (tmp_path / "config.json.1").read_text() == versions[-1]
    other = tmp_path / "other.json"
    ok("save", "--backups", "0", other)
    ok("destroy", a)
    ok("save", "--backups", "0", other)
    assert not (tmp_path / "other.json.1").exists()


@pytest.mark.parametrize("where", ["nosuchdir/config.json", "/proc/hugedma-config.json"])
def test_save_to_a_file_that_cannot_be_written(names, tmp_path, where):
    path = tmp_path / where if not where.startswith("/") else pathlib.Path(where)
    r = run("save", path)
    assert r.returncode == 1
    assert r.stderr.startswith(f"hugedmactl: {path}"), r.stderr
    assert not path.exists()


def only_ours(*mine):
    """clear and restore --replace act on every configfs buffer: the test runs alone."""
    others = {p.name for p in h.BUFFERS.iterdir()} - set(mine)
    assert not others, f"buffers not made by this test exist: {sorted(others)}"


def test_clear_refuses_while_in_use_then_removes_all(names):
    a, b = names(), names()
    only_ours()
    free = free2m()
    ok("create", a, "--size", "4M", "--page-size", "2M")
    ok("create", b, "--size", "2M", "--page-size", "2M")
    ok("disable", b)
    fd = os.open(f"/dev/hugedma/{a}", os.O_RDWR)
    try:
        r = run("clear")
        assert r.returncode == 1
        assert f"clear: {a} is in use: pid {os.getpid()} (python3)" in r.stderr, r.stderr
        assert "nothing was removed" in r.stderr
        assert (h.BUFFERS / a).exists() and (h.BUFFERS / b).exists()
        assert free2m() == free - 2
    finally:
        os.close(fd)
    out = js("clear", "--dry-run")
    assert out["dry_run"] is True and out["ok"] is True
    assert sorted(x["buffer"] for x in out["actions"]) == sorted([a, b])
    assert (h.BUFFERS / a).exists() and free2m() == free - 2
    r = ok("clear")
    assert f"destroy {a}" in r.stdout and f"destroy {b}" in r.stdout, r.stdout
    assert not (h.BUFFERS / a).exists() and not (h.BUFFERS / b).exists()
    assert free2m() == free
    assert js("clear") == {"ok": True, "actions": [], "rolled_back": []}


def test_provision_stop_clears_when_asked(names, tmp_path):
    a = names()
    only_ours()
    cfg = tmp_path / "config.json"
    ok("create", a, "--size", "2M", "--page-size", "2M")
    defaults = tmp_path / "default-hugedma"
    defaults.write_text(f"HUGEDMA_CONFIG={cfg}\nHUGEDMA_SAVE_ON_STOP=yes\n"
                        "HUGEDMA_CLEAR_ON_STOP=yes\n")
    env = {**os.environ, "HUGEDMA_DEFAULTS": str(defaults), "HUGEDMACTL": str(TOOL),
           "MODPROBE": "/bin/false"}
    r = subprocess.run(["/bin/sh", str(PROVISION), "stop"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert a in [b["name"] for b in json.loads(cfg.read_text())["buffers"]]   # saved first
    assert not (h.BUFFERS / a).exists()                                       # then cleared


def test_restore_replace_removes_what_the_file_lacks(names, tmp_path):
    keep, drop, new = names(), names(), names()
    only_ours()
    ok("create", keep, "--size", "2M", "--page-size", "2M")
    ok("create", drop, "--size", "4M", "--page-size", "2M")
    free = free2m()
    cfg = saved(tmp_path, {"format": "hugedma-config/1", "buffers": [
        {"name": keep, "size": h.SZ_2M, "page_size": h.SZ_2M},
        {"name": new, "size": 2 * h.SZ_2M, "page_size": h.SZ_2M}]})
    out = js("restore", "--dry-run", "--replace", cfg)
    assert [(x["action"], x["buffer"]) for x in out["actions"]] == [
        ("destroy", drop), ("unchanged", keep), ("create", new), ("enable", new)]
    assert (h.BUFFERS / drop).exists() and free2m() == free
    # without --replace the buffer the file lacks stays
    assert "destroy" not in ok("restore", "--dry-run", cfg).stdout
    # the pool check counts the pages the removal frees: 2 free pages would do
    r = ok("restore", "--replace", cfg)
    assert f"destroy {drop}" in r.stdout and f"create {new}" in r.stdout, r.stdout
    assert sorted(p.name for p in h.BUFFERS.iterdir()) == sorted([keep, new])
    assert free2m() == free + 2 - 2
    assert "unchanged" in ok("restore", "--replace", cfg).stdout     # again: nothing to do


def test_restore_replace_refuses_to_remove_a_buffer_in_use(names, tmp_path):
    keep, busy = names(), names()
    only_ours()
    ok("create", keep, "--size", "2M", "--page-size", "2M")
    ok("create", busy, "--size", "2M", "--page-size", "2M")
    free = free2m()
    cfg = saved(tmp_path, {"format": "hugedma-config/1", "buffers": [
        {"name": keep, "size": h.SZ_2M, "page_size": h.SZ_2M}]})
    fd = os.open(f"/dev/hugedma/{busy}", os.O_RDWR)
    try:
        for dry in (["--dry-run"], []):
            r = run("restore", "--replace", *dry, cfg)
            assert r.returncode == 1
            assert f"{busy}: not in the file, and in use (pid {os.getpid()}" in r.stderr, r.stderr
            assert (h.BUFFERS / busy).exists() and free2m() == free
    finally:
        os.close(fd)


def test_failed_restore_replace_puts_back_what_it_removed(names, tmp_path):
    """The removal succeeds, then the kernel refuses a size: the removed buffer is
    made, configured and enabled again, on its node, with its pages."""
    drop, a, bad = names(), names(), names()
    only_ours()
    node = h.node_ids()[0]
    ok("create", drop, "--size", "6M", "--page-size", "2M", "--node", node)
    before = stripped_show(drop)
    free = free2m()
    cfg = saved(tmp_path, {"format": "hugedma-config/1", "buffers": [
        {"name": a, "size": h.SZ_2M, "page_size": h.SZ_2M},
        {"name": bad, "size": "1024T", "page_size": h.SZ_2M, "enable": False}]})
    r = run("--json", "restore", "--replace", cfg)
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["actions"][:2] == [{"action": "disable", "buffer": drop},
                                  {"action": "destroy", "buffer": drop}], out["actions"]
    assert all(u["ok"] for u in out["rolled_back"]), out["rolled_back"]
    assert "mkdir" in [u["action"] for u in out["rolled_back"]]
    assert not (h.BUFFERS / a).exists() and not (h.BUFFERS / bad).exists()
    assert stripped_show(drop) == before
    assert free2m() == free


def test_check_reports_a_working_machine(names):
    a = names()
    ok("create", a, "--size", "2M", "--page-size", "2M")
    r = run("check")
    out = json.loads(run("--json", "check").stdout)
    levels = {(c["check"], c["level"]) for c in out["checks"]}
    assert {("module", "ok"), ("configfs", "ok"), ("buffer", "ok")} <= levels, levels
    assert ("pool", "ok") in levels
    assert any(c["check"] == "iommu" for c in out["checks"])
    assert any(c["check"] == "buffer" and c["detail"].startswith(f"{a}: enabled, 1 pages")
               for c in out["checks"]), out["checks"]
    assert r.returncode == (1 if out["problems"] else 0)
    assert out["ok"] is (out["problems"] == 0)
    assert r.stdout.endswith(f"{out['problems']} problem(s)\n")
    if not pathlib.Path("/etc/hugedma/group-access").exists():
        assert out["problems"] == 0 and r.returncode == 0, r.stdout


def test_check_finds_group_access_that_cannot_work(names):
    """Group access asked for, while the node is not the group's (no udev here, or
    no group at all): a problem, exit status 1."""
    a = names()
    ok("create", a, "--size", "2M", "--page-size", "2M")
    flag = pathlib.Path("/etc/hugedma/group-access")
    assert not flag.exists()
    made_dir = not flag.parent.exists()
    flag.parent.mkdir(exist_ok=True)
    flag.touch()
    try:
        r = run("check")
        assert r.returncode == 1
        assert any(ln.startswith("problem  access") for ln in r.stdout.splitlines()), r.stdout
    finally:
        flag.unlink()
        if made_dir:
            flag.parent.rmdir()


# ---------------------------------------------------------------- attachments (edu)



@pytest.fixture(scope="module")
def edu_driver():
    """The test driver bound to edu for this file's attach tests."""
    h.load()
    loaded = pathlib.Path("/sys/module/hugedma_edu").exists()
    if not loaded:
        subprocess.run(["insmod", str(h.EDU_KO)], check=True)
    yield
    if not loaded:
        subprocess.run(["rmmod", "hugedma_edu"], check=True)


@pytest.fixture
def bdf(edu_driver):
    b = h.edu_bdf()
    assert b, "no edu device: run in a guest started with tests/vm/run --edu"
    return b


@pytest.mark.edu
def test_attach_show_detach(names, bdf):
    name = names()
    ok("create", name, "--size", "4M", "--page-size", "2M")
    out = js("attach", name, bdf, "--direction", "to_device")
    assert out["ok"] and [x["action"] for x in out["actions"]] == ["attach", "direction", "map"]
    ok("attach", name, bdf, "--direction", "to_device")      # again: nothing to do
    att = h.BUFFERS / name / "attachments" / bdf
    assert h.read(att / "state").strip() == "mapped"

    (a,) = js("show", name)["attachments"]
    pub = h.CLASS / name / "attachments" / bdf
    assert a["bdf"] == bdf and a["configfs"] and a["enable"] is True
    assert a["state"] == "mapped" and a["direction"] == "to_device"
    assert a["iommu"] == h.read(pub / "iommu").strip()
    assert a["nr_segments"] == int(h.read(pub / "nr_segments"))
    assert [int(s["addr"], 16) for s in a["segments"]] == \
        [int(x, 16) for x in h.read(pub / "dma_addrs").split()]
    assert sum(s["length"] for s in a["segments"]) == 4 << 20
    assert f"attachment {bdf}: state mapped, direction to_device" in ok("show", name).stdout

    r = run("disable", name)
    assert r.returncode == 1 and "enable: Device or resource busy" in r.stderr
    ok("detach", name, bdf)
    assert not att.exists()
    r = run("detach", name, bdf)
    assert r.returncode == 1 and f"{att}: No such file or directory" in r.stderr
    ok("destroy", name)


@pytest.mark.edu
@pytest.mark.parametrize("dev, err", [("0000:00:1F.0", "Invalid argument"),
                                      ("0000:42:00.0", "No such device"),
                                      ("foo", "Invalid argument")])
def test_attach_refused(names, dev, err):
    name = names()
    ok("create", name, "--size", "2M", "--page-size", "2M")
    r = run("attach", name, dev)
    assert r.returncode == 1
    assert f"{h.BUFFERS}/{name}/attachments/{dev}: {err}" in r.stderr


# ---------------------------------------------------------------- create --near

def numa_node_of(bdf):
    return int(h.read(f"/sys/bus/pci/devices/{bdf}/numa_node"))


@pytest.mark.parametrize("dev, rc, msg", [
    ("foo", 2, "'foo' is not a PCI device name (DDDD:BB:DD.F"),
    ("0000:00:3.0", 2, "is not a PCI device name"),       # not the kernel's spelling
    ("0000:00:03.0x", 2, "is not a PCI device name"),
    ("0000:00:1F.0", 2, "is not a PCI device name"),      # upper case
    ("0000:00:20.0", 2, "is not a PCI device name"),      # slot > 0x1f
    ("../../devices", 2, "is not a PCI device name"),
    ("", 2, "is not a PCI device name"),
    ("0000:42:00.0", 1, "there is no PCI device 0000:42:00.0"),
    ("10000:00:10.0", 1, "there is no PCI device 10000:00:10.0"),   # VMD domains parse
])
def test_create_near_bad_device_creates_nothing(names, dev, rc, msg):
    name = names()
    r = run("create", name, "--size", "2M", "--page-size", "2M", "--near", dev, "--node", "0")
    assert r.returncode == rc, r.stderr
    assert msg in r.stderr
    assert not (h.BUFFERS / name).exists()


@pytest.mark.edu
def test_create_near(names, bdf):
    """--near takes the device's node, strictly; a device without one needs --node,
    and a --node that disagrees with the device's is refused: nothing is created."""
    node = numa_node_of(bdf)
    name = names()
    if node < 0:
        r = run("create", name, "--size", "2M", "--page-size", "2M", "--near", bdf)
        assert r.returncode == 1
        assert f"--near: {bdf} reports no NUMA node (numa_node -1); give --node N too" in r.stderr
        assert not (h.BUFFERS / name).exists()
        ok("create", name, "--size", "2M", "--page-size", "2M", "--near", bdf, "--node", "0")
        s = js("show", name)
        assert s["numa_node"] == 0 and s["pages_node"] == 0
    else:
        other = next(n for n in h.node_ids() if n != node)
        r = run("create", name, "--size", "2M", "--page-size", "2M", "--near", bdf,
                "--node", other)
        assert r.returncode == 1
        assert f"--node {other} disagrees with --near {bdf}, which is on node {node}" in r.stderr
        assert not (h.BUFFERS / name).exists()
        ok("create", name, "--size", "2M", "--page-size", "2M", "--near", bdf)
        s = js("show", name)
        assert s["numa_node"] == node and s["pages_node"] == node
        name2 = names()
        ok("create", name2, "--size", "2M", "--page-size", "2M", "--near", bdf, "--node", node)
        assert js("show", name2)["numa_node"] == node
    # the strict node refuses a pool without pages there, taking nothing
    name3 = names()
    free = free2m()
    r = run("create", name3, "--size", f"{(free + 1) * 2}M", "--page-size", "2M", "--near",
            bdf, *(["--node", "0"] if node < 0 else []))
    assert r.returncode == 1 and "No space left on device" in r.stderr
    assert not (h.BUFFERS / name3).exists() and free2m() == free


@pytest.mark.numa
@pytest.mark.edu
def test_create_near_a_device_on_a_node(names, bdf):
    """The NUMA guest's edu sits on node 1 (tests/vm/run --edu-node 1): the buffer's
    pages all come from there, and the device's attachment is mapped from there."""
    node = numa_node_of(bdf)
    assert node == 1, "needs edu on node 1 (tests/vm/run --edu-node 1)"
    name = names()
    ok("create", name, "--size", "4M", "--page-size", "2M", "--near", bdf)
    s = js("show", name)
    assert s["numa_node"] == 1 and s["pages_node"] == 1
    assert all(h.pfn_node(int(a, 16) >> 12) == 1 for a in s["phys_addrs"])
    ok("attach", name, bdf)
    assert h.read(h.BUFFERS / name / "attachments" / bdf / "state").strip() == "mapped"


@pytest.mark.edu
def test_attach_waits_for_a_driver_and_check_says_so(names, bdf):
    """attach to edu with no driver bound: the attachment waits (check: a note), is
    mapped when hugedma_edu binds (check: ok), and a driver whose limits refuse the
    map leaves it waiting while bound (check: a problem, exit 1)."""
    drv = pathlib.Path("/sys/bus/pci/drivers/hugedma_edu")
    seg = pathlib.Path("/sys/module/hugedma_edu/parameters/max_seg_size")
    name = names()
    ok("create", name, "--size", "4M", "--page-size", "2M")
    assert h.write(drv / "unbind", bdf) == 0
    try:
        ok("attach", name, bdf)
        att = h.BUFFERS / name / "attachments" / bdf
        assert h.read(att / "state").strip() == "waiting"

        def checks():
            out = json.loads(run("--json", "check").stdout)
            return [(c["level"], c["detail"]) for c in out["checks"]
                    if c["check"] == "attachment" and c["detail"].startswith(f"{name}/")]

        assert checks() == [("note", f"{name}/{bdf}: waiting for a driver to bind (mapped then)")]
        assert h.write(seg, "2048") == 0
        assert h.write(drv / "bind", bdf) == 0
        assert h.read(att / "state").strip() == "waiting"
        (level, detail), = checks()
        assert level == "problem" and "driver hugedma_edu is bound" in detail, detail
        assert run("check").returncode == 1
        assert h.write(drv / "unbind", bdf) == 0
        assert h.write(seg, str(1 << 30)) == 0
        assert h.write(drv / "bind", bdf) == 0
        assert h.read(att / "state").strip() == "mapped"
        assert checks() == []
        ok("detach", name, bdf)
    finally:
        h.write(seg, str(1 << 30))
        if not (pathlib.Path(f"/sys/bus/pci/devices/{bdf}/driver")).exists():
            h.write(drv / "bind", bdf)


@pytest.mark.edu
def test_attach_bad_direction_keeps_nothing(names, bdf):
    name = names()
    ok("create", name, "--size", "2M", "--page-size", "2M")
    r = run("attach", name, bdf, "--direction", "sideways")
    assert r.returncode == 1
    assert f"{h.BUFFERS}/{name}/attachments/{bdf}/direction: Invalid argument" in r.stderr
    assert not (h.BUFFERS / name / "attachments" / bdf).exists()


@pytest.mark.edu
def test_destroy_detaches_first(names, bdf):
    name = names()
    ok("create", name, "--size", "2M", "--page-size", "2M")
    ok("attach", name, bdf)
    out = js("destroy", name)
    assert [x["action"] for x in out["actions"]] == ["detach", "disable", "destroy"]
    assert not (h.BUFFERS / name).exists()


@pytest.mark.edu
def test_save_restore_with_attachments(names, bdf, tmp_path):
    a, b = names(), names()
    ok("create", a, "--size", "4M", "--page-size", "2M")
    ok("attach", a, bdf, "--direction", "from_device")
    ok("create", b, "--size", "2M", "--page-size", "2M")
    os.mkdir(h.BUFFERS / b / "attachments" / bdf)            # named, not mapped
    before = {n: stripped_show(n) for n in (a, b)}
    cfg = tmp_path / "c.json"
    ok("save", cfg)
    mine = {x["name"]: x for x in json.loads(cfg.read_text())["buffers"]}
    assert mine[a]["attachments"] == [{"bdf": bdf, "direction": "from_device", "enable": True}]
    assert mine[b]["attachments"] == [{"bdf": bdf, "direction": "bidirectional",
                                       "enable": False}]
    ok("destroy", a)
    ok("destroy", b)
    dry = js("restore", "--dry-run", cfg)
    assert {"action": "attach", "buffer": a, "bdf": bdf} in dry["actions"]
    assert not (h.BUFFERS / a).exists()
    ok("restore", cfg)
    assert {n: stripped_show(n) for n in (a, b)} == before
    again = js("restore", cfg)
    assert all(x["action"] == "unchanged" for x in again["actions"]), again


@pytest.mark.edu
def test_show_json_restores_attachments(names, bdf):
    """show --json of a buffer with a mapped attachment restores to the same buffer."""
    a = names()
    ok("create", a, "--size", "4M", "--page-size", "2M")
    ok("attach", a, bdf, "--direction", "to_device")
    before = stripped_show(a)
    shown = ok("--json", "show", a).stdout
    ok("destroy", a)
    out = restore_stdin(text=shown)
    assert {"action": "attach", "buffer": a, "bdf": bdf} in out["actions"], out
    assert stripped_show(a) == before


@pytest.mark.edu
def test_failed_restore_unmaps_what_it_mapped(names, bdf, tmp_path):
    a, c = names(), names()
    free = free2m()
    cfg = saved(tmp_path, {"format": "hugedma-config/1", "buffers": [
        {"name": a, "size": 2 << 20, "page_size": h.SZ_2M, "enable": True,
         "attachments": [{"bdf": bdf, "direction": "to_device", "enable": True}]},
        {"name": c, "size": "1024T", "page_size": h.SZ_2M, "enable": False}]})
    r = run("restore", cfg)
    assert r.returncode == 1 and "size: Numerical result out of range" in r.stderr
    assert not (h.BUFFERS / a).exists() and not (h.BUFFERS / c).exists()
    assert free2m() == free


@pytest.mark.edu
def test_restore_replace_detaches_what_the_file_lacks(names, bdf, tmp_path):
    a = names()
    only_ours(a)
    ok("create", a, "--size", "4M", "--page-size", "2M")
    ok("attach", a, bdf)
    cfg = saved(tmp_path, {"format": "hugedma-config/1", "buffers": [
        {"name": a, "size": 2 * h.SZ_2M, "page_size": h.SZ_2M, "attachments": []}]})
    assert (h.BUFFERS / a / "attachments" / bdf).exists()
    r = ok("restore", "--replace", cfg)
    assert f"detach {a} {bdf}" in r.stdout, r.stdout
    assert not (h.BUFFERS / a / "attachments" / bdf).exists()
    assert h.read(h.BUFFERS / a / "state").strip() == "enabled"


# ---------------------------------------------------------------- boot-time provisioning

PROVISION = h.REPO / "admin" / "hugedma-provision"


def provision(tmp_path, action, config, save="no"):
    defaults = tmp_path / "default-hugedma"
    defaults.write_text(f"HUGEDMA_CONFIG={config}\nHUGEDMA_SAVE_ON_STOP={save}\n"
                        f"HUGEDMA_CDI_SPEC={tmp_path / 'cdi.json'}\n")
    env = {**os.environ, "HUGEDMA_DEFAULTS": str(defaults), "HUGEDMACTL": str(TOOL),
           "HUGEDMA_CDI": str(h.REPO / "admin" / "hugedma-cdi"),
           "MODPROBE": "/bin/false"}     # the module is loaded already (pool_guard)
    return subprocess.run(["/bin/sh", str(PROVISION), action], capture_output=True,
                          text=True, env=env, timeout=120)


def test_provision_start_stop_check(names, tmp_path):
    assert PROVISION.exists(), "admin/hugedma-provision is not built (make userspace)"
    a = names()
    cfg = tmp_path / "etc" / "config.json"
    assert provision(tmp_path, "start", cfg).returncode == 0       # no file: nothing to do
    ok("create", a, "--size", "4M", "--page-size", "2M")
    r = provision(tmp_path, "stop", cfg)                           # not asked to save
    assert r.returncode == 0 and not cfg.exists()
    r = provision(tmp_path, "stop", cfg, save="yes")
    assert r.returncode == 0, r.stderr
    assert a in [b["name"] for b in json.loads(cfg.read_text())["buffers"]]
    ok("destroy", a)
    assert provision(tmp_path, "check", cfg).returncode == 0
    assert not (h.BUFFERS / a).exists()
    r = provision(tmp_path, "start", cfg)
    assert r.returncode == 0, r.stderr
    assert f"create {a}" in r.stdout
    assert h.read(h.BUFFERS / a / "state").strip() == "enabled"
    # then the CDI spec of what is enabled (HUGEDMA_CDI_SPEC)
    spec = json.loads((tmp_path / "cdi.json").read_text())
    assert [d["name"] for d in spec["devices"]] == [a, "control"]
    assert provision(tmp_path, "start", cfg).returncode == 0      # again: unchanged
    assert provision(tmp_path, "bogus", cfg).returncode == 2


def test_provision_short_pool_prints_the_fix(names, tmp_path):
    a = names()
    free1g = h.pool(h.SZ_1G)["free_hugepages"]
    cfg = saved(tmp_path, {"format": "hugedma-config/1", "buffers": [
        {"name": a, "size": f"{free1g + 1}G", "page_size": "1G"}]})
    for action in ("check", "start"):
        r = provision(tmp_path, action, cfg)
        assert r.returncode == 1
        nr = h.pool(h.SZ_1G)["nr_hugepages"] + 1
        assert f"hugepagesz=1G hugepages={nr}" in r.stderr
        assert "nothing was changed" in r.stderr
        assert not (h.BUFFERS / a).exists()
