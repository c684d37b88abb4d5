# SPDX-License-Identifier: GPL-2.0
"""Slurm: a buffer per job through admin/slurm, under Debian's own slurmctld, slurmd and
munged (installed on the host by tests/deps, started here once for the file on one node
named after the guest, with a generated slurm.conf, a gres.conf written by
`hugedmactl slurm gres` and a munge key made in the guest).

Jobs are submitted as `nobody` with `--comment=hugedma=SIZE,...` (admin/slurm/README):
job_submit.lua checks the request at submission and counts it as GRES hugedma:2m:BYTES,
the prolog makes slurm-JOBID (attached to the named device, its node given to the job's
user alone), the TaskProlog names it to the job, the epilog removes it whether the job
completed, failed or was cancelled.  A request the node cannot meet (an unknown device,
a pool emptied behind Slurm's back) fails the job before its program starts, with the
reason in its output, and leaves the node in service; one no node's pool can hold, or a
malformed one, is refused by sbatch.  2 MB pages throughout: 1 GB pages add nothing to
what Slurm does."""
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

import hugedma_test as h

pytestmark = pytest.mark.userspace

TOOL = h.REPO / "userspace" / "hugedmactl"
ADMIN = h.REPO / "admin" / "slurm"
STATE = pathlib.Path("/run/hugedma/slurm")
NODE = "hugedma-guest"
USER, UID = "nobody", 65534
OTHER_UID = 65533
STATIC = "static0"
DONE = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
        "BOOT_FAIL", "DEADLINE", "PREEMPTED")

# the job's program: maps its buffer, writes and reads every 2 MB page, and reports
JOB = r"""#!/bin/sh
echo started > "$MARK"
exec python3 - "$@" <<'EOF'
import ctypes, json, mmap, os, sys
dev, name = os.environ["HUGEDMA_DEVICE"], os.environ["HUGEDMA_BUFFER"]
size, ps = int(os.environ["EXPECT_SIZE"]), 2 << 20
st = os.stat(dev)
fd = os.open(dev, os.O_RDWR)
m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
bad = 0
for i in range(size // ps):
    for off in (i * ps, (i + 1) * ps - 8):
        m[off:off + 8] = (i * 7919 + off).to_bytes(8, "little")
for i in range(size // ps):
    for off in (i * ps, (i + 1) * ps - 8):
        bad += m[off:off + 8] != (i * 7919 + off).to_bytes(8, "little")
kps, hugetlb = None, 0
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
with open("/proc/self/smaps") as f:
    lines = f.read().splitlines()
for j, line in enumerate(lines):
    if "-" in line.split()[0] and int(line.split("-")[0], 16) == addr:
        for l in lines[j + 1:j + 25]:
            if l.startswith("KernelPageSize:"):
                kps = int(l.split()[1]) * 1024
            if l.startswith(("Shared_Hugetlb:", "Private_Hugetlb:")):
                hugetlb += int(l.split()[1]) * 1024
        break
print(json.dumps({"name": name, "uid": st.st_uid, "mode": st.st_mode & 0o7777,
                  "kernel_page_size": kps, "hugetlb": hugetlb, "bad": bad,
                  "job": os.environ["SLURM_JOB_ID"]}), flush=True)
if os.environ.get("HOLD"):
    open(os.environ["HOLD"], "w").write("mapped\n")
    import time
    time.sleep(600)
sys.exit(int(os.environ.get("EXIT", "0")))
EOF
"""


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def ctl(*args):
    return run([str(TOOL), *map(str, args)])


class Slurm:
    def __init__(self, d):
        self.dir = d
        self.conf = d / "slurm.conf"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))
        self.jobs = d / "jobs"

    def cmd(self, *args, user=None, timeout=120):
        return run(list(map(str, args)), timeout=timeout, env=self.env,
                   user=user, cwd=str(self.jobs))

    def ok(self, *args):
        r = self.cmd(*args)
        assert r.returncode == 0, f"{' '.join(map(str, args))}: {r.returncode}\n{r.stderr}"
        return r.stdout

    def node_state(self):
        return self.ok("sinfo", "-h", "-N", "-o", "%T").strip()

    def job_field(self, job, field):
        out = self.cmd("scontrol", "-o", "show", "job", job).stdout
        m = re.search(rf"\b{field}=(\S*)", out)
        return m.group(1) if m else None

    def sbatch(self, comment, size=None, wait=True, env=None, extra=()):
        """Submit JOB as nobody; returns (CompletedProcess, job id or None, out path)."""
        n = len(list(self.jobs.glob("job*.sh")))
        script = self.jobs / f"job{n}.sh"
        script.write_text(JOB)
        script.chmod(0o755)
        out = self.jobs / f"job{n}.out"
        mark = self.jobs / f"job{n}.started"
        exports = f"ALL,MARK={mark},EXPECT_SIZE={size or 0}"
        for k, v in (env or {}).items():
            exports += f",{k}={v}"
        args = ["sbatch", "--parsable", "-o", out, "-e", out, f"--export={exports}",
                *extra]
        if comment is not None:
            args.append(f"--comment={comment}")
        r = self.cmd(*args, script, user=UID, timeout=300)
        job = r.stdout.strip().split(";")[0] if r.returncode == 0 else None
        if wait and job:
            # as sbatch --wait, without its back-off of up to 10 s between polls
            assert h.wait_for(lambda: self.job_field(job, "JobState") in DONE,
                              timeout=240, interval=0.2), \
                f"job {job}: {self.job_field(job, 'JobState')}"
            code = self.job_field(job, "ExitCode")
            r.returncode = int(code.split(":")[0]) or int(code.split(":")[1])
        return r, job, out, mark


def slurm_count(n):
    """A count as gres.conf writes it: the largest of Slurm's 1024-fold suffixes."""
    for suffix in ("", "K", "M", "G", "T"):
        if n % 1024 or suffix == "T":
            return f"{n}{suffix}"
        n //= 1024


def job_buffers():
    return sorted(p.name for p in h.BUFFERS.iterdir() if p.name.startswith("slurm-")) \
        if h.BUFFERS.exists() else []


def assert_nothing_left():
    assert job_buffers() == [], "a job's buffer outlived it"
    assert not list(pathlib.Path("/dev/hugedma").glob("slurm-*"))
    assert not STATE.exists() or not list(STATE.iterdir()), \
        f"state left in {STATE}: {list(STATE.iterdir())}"


def wait_gone(s, job, timeout=120):
    """Wait until the job has left the queue and its epilog has run."""
    assert h.wait_for(lambda: s.job_field(job, "JobState") not in
                      ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED")
                      and not job_buffers() and not (STATE / f"{job}.buffer").exists(),
                      timeout=timeout, interval=0.2), \
        f"job {job} still {s.job_field(job, 'JobState')}; buffers {job_buffers()}"


def wrapper(path, target, env):
    path.write_text("#!/bin/sh\n" + "".join(f"export {k}={v}\n" for k, v in env.items())
                    + f"exec {target}\n")
    path.chmod(0o755)


@pytest.fixture(scope="module")
def slurm():
    for prog in ("slurmctld", "slurmd", "sbatch", "munged"):
        assert shutil.which(prog) or os.path.exists(f"/usr/sbin/{prog}"), \
            f"{prog} is not installed (tests/deps installs slurmctld, slurmd, slurm-client, munge)"
    h.load()
    old_host = socket.gethostname()
    socket.sethostname(NODE)
    # the guest has no network: the node's name on the loopback interface (Slurm
    # resolves it), and a second loopback address, without which glibc's
    # AI_ADDRCONFIG finds no IPv4 configured and slurmctld no address to listen on
    hosts = pathlib.Path("/etc/hosts")
    old_hosts = hosts.read_text() if hosts.exists() else None
    hosts.write_text(f"127.0.0.1 {NODE} localhost\n" + (old_hosts or ""))
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"], capture_output=True)
    # slurmd 22.05 initialises its cgroup plugin whatever ProctrackType says
    cgroup = pathlib.Path("/sys/fs/cgroup")
    mounted_cgroup = False
    if not (cgroup / "cgroup.controllers").exists():
        subprocess.run(["mount", "-t", "cgroup2", "cgroup2", str(cgroup)], check=True)
        mounted_cgroup = True
    # IgnoreSystemd: slurmd makes its slurmstepd scope there itself
    (cgroup / "system.slice").mkdir(exist_ok=True)
    d = pathlib.Path(tempfile.mkdtemp(prefix="hugedma-slurm-", dir="/tmp"))
    d.chmod(0o755)
    s = Slurm(d)
    s.jobs.mkdir()
    s.jobs.chmod(0o1777)
    procs = []
    try:
        # munge: a key of its own, munged as the munge user on a socket of this run
        m = d / "munge"
        m.mkdir(mode=0o755)
        key = m / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        shutil.chown(m, "munge", "munge")
        shutil.chown(key, "munge", "munge")
        sock = m / "munge.socket"
        r = run(["runuser", "-u", "munge", "--", "/usr/sbin/munged", "--force",
                 f"--key-file={key}", f"--socket={sock}", f"--pid-file={m}/munged.pid",
                 f"--log-file={m}/munged.log", f"--seed-file={m}/munged.seed"])
        assert r.returncode == 0, f"munged: {r.stderr}"
        procs.append(m / "munged.pid")
        r = subprocess.run(f"munge -n -S {sock} | unmunge -S {sock}", shell=True,
                           capture_output=True, text=True)
        assert r.returncode == 0, f"munge round trip: {r.stderr}"

        # a static buffer, for the hugedma_buf line of gres.conf
        r = ctl("create", STATIC, "--size", "4M", "--page-size", "2M")
        assert r.returncode == 0, r.stderr
        g = json.loads(ctl("--json", "slurm", "gres", "--node-name", NODE).stdout)
        (d / "gres.conf").write_text("".join(e["line"] + "\n" for e in g["gres"]))
        env = {"HUGEDMACTL": TOOL}
        for f in ("prolog", "epilog", "taskprolog"):
            wrapper(d / f, ADMIN / f, env if f != "taskprolog" else {})
        shutil.copy(ADMIN / "job_submit.lua", d / "job_submit.lua")
        mem = h.mem_total() // (1 << 20)
        (d / "cgroup.conf").write_text("CgroupPlugin=cgroup/v2\nIgnoreSystemd=yes\n")
        (d / "slurm.conf").write_text(f"""\
ClusterName=hugedma
SlurmctldHost={NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldDebug=verbose
SlurmdDebug=verbose
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
PrologFlags=Alloc
Prolog={d}/prolog
Epilog={d}/epilog
TaskProlog={d}/taskprolog
JobSubmitPlugins=lua
GresTypes={g["slurm_conf_gres_types"]}
KillWait=2
MinJobAge=600
NodeName={NODE} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={mem // 2} Gres={g["slurm_conf_node_gres"]} State=UNKNOWN
PartitionName=batch Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
""")
        for sub in ("state", "spool"):
            (d / sub).mkdir()
        for daemon, args in (("slurmctld", ["-i"]), ("slurmd", ["-N", NODE])):
            r = run([f"/usr/sbin/{daemon}", "-f", str(s.conf), *args], env=s.env)
            assert r.returncode == 0, f"{daemon}: {r.stderr}"
            procs.append(d / f"{daemon}.pid")
        ok = h.wait_for(lambda: s.cmd("sinfo", "-h", "-N", "-o", "%T").stdout.strip()
                        == "idle", timeout=90, interval=0.5)
        assert ok, (f"the node did not come up: {s.cmd('sinfo', '-N').stdout}\n"
                    + (d / "slurmctld.log").read_text()[-3000:]
                    + (d / "slurmd.log").read_text()[-3000:])
        yield s
    finally:
        subprocess.run(["scancel", "--full", "-u", USER], env=s.env, capture_output=True)
        if s.conf.exists():
            h.wait_for(lambda: not s.cmd("squeue", "-h").stdout.strip(), timeout=60,
                       interval=0.5)
        for pid in reversed(procs):
            try:
                p = int(pid.read_text())
                os.kill(p, signal.SIGTERM)
            except (OSError, ValueError):
                continue
            h.wait_for(lambda: not os.path.exists(f"/proc/{p}"), timeout=30, interval=0.1)
        ctl("destroy", STATIC)
        for b in job_buffers():
            ctl("destroy", b)
        shutil.rmtree(STATE, ignore_errors=True)
        socket.sethostname(old_host)
        if old_hosts is not None:
            hosts.write_text(old_hosts)
        subprocess.run(["ip", "addr", "del", "127.0.0.2/8", "dev", "lo"], capture_output=True)
        if mounted_cgroup:
            subs = [p for p in cgroup.rglob("*") if p.is_dir()]
            for sub in sorted(subs, key=lambda p: -len(p.parts)):
                try:
                    sub.rmdir()
                except OSError:
                    pass
            subprocess.run(["umount", str(cgroup)], capture_output=True)
        for f in ("slurmctld.log", "slurmd.log"):
            if (d / f).exists():
                print(f"--- {f} (tail)\n" + (d / f).read_text()[-12000:])
        shutil.rmtree(d, ignore_errors=True)


def test_gres_lines(slurm):
    """`hugedmactl slurm gres` prints the free pool as count-only GRES in bytes per
    page size and the static buffer as a File GRES; slurmd took them (the node is up)
    and slurmctld counts them."""
    g = json.loads(ctl("--json", "slurm", "gres", "--node-name", NODE).stdout)
    by = {(e["name"], e["type"]): e for e in g["gres"]}
    assert by[("hugedma", "2m")]["count"] == h.free_pages(h.SZ_2M) * h.SZ_2M
    assert by[("hugedma", "1g")]["count"] == h.free_pages(h.SZ_1G) * h.SZ_1G
    assert by[("hugedma", "2m")]["line"] == (
        f"NodeName={NODE} Name=hugedma Type=2m Count={slurm_count(h.free_pages(h.SZ_2M) * h.SZ_2M)}"
        " Flags=CountOnly")
    assert by[("hugedma_buf", STATIC)]["file"] == f"/dev/hugedma/{STATIC}"
    text = ctl("slurm", "gres", "--node-name", NODE).stdout
    assert f"NodeName={NODE} Name=hugedma_buf Type={STATIC} File=/dev/hugedma/{STATIC}" in text
    assert "# slurm.conf: GresTypes=hugedma,hugedma_buf" in text
    node = slurm.ok("scontrol", "-o", "show", "node", NODE)
    assert "hugedma:2m:" in node and f"hugedma_buf:{STATIC}:1" in node, node
    for bad in (["slurm"], ["slurm", "gres", "extra"], ["slurm", "nodes"],
                ["slurm", "gres", "--node-name", "a b"]):
        r = ctl(*bad)
        assert r.returncode == 2 and "slurm" in r.stderr, (bad, r.returncode, r.stderr)


def test_static_buffer_by_gres(slurm):
    """A job asks for the statically provisioned buffer by name (its gres.conf line
    from hugedmactl slurm gres) and gets it; the prolog makes nothing for it."""
    out = slurm.jobs / "static.out"
    r = slurm.cmd("sbatch", "--parsable", f"--gres=hugedma_buf:{STATIC}:1", "-o", out,
                  "--wrap", "test -c /dev/hugedma/" + STATIC, user=UID)
    assert r.returncode == 0, r.stderr
    job = r.stdout.strip()
    assert h.wait_for(lambda: slurm.job_field(job, "JobState") in DONE, timeout=120,
                      interval=0.2)
    assert slurm.job_field(job, "JobState") == "COMPLETED", out.read_text()
    assert f"hugedma_buf:{STATIC}" in slurm.job_field(job, "TresPerNode")
    wait_gone(slurm, job)
    assert_nothing_left()
    assert h.Buffer(STATIC).read("enable") == "1"


def test_job_maps_its_buffer(slurm):
    """A job gets slurm-JOBID of the size it asked for, its own (uid, 0600), maps it
    with 2 MB page-table entries (smaps: KernelPageSize, the whole size as hugetlb
    memory) and reads back what it wrote in every page; after
    the job the buffer is gone and the pool whole (pool_guard)."""
    size = 16 << 20
    free = h.free_pages(h.SZ_2M)
    r, job, out, _ = slurm.sbatch(f"hugedma={size >> 20}M,page=2M", size)
    assert r.returncode == 0, f"{r.stderr}\n{out.read_text() if out.exists() else ''}"
    print(r.stderr)
    assert "hugedma: the job's 16M buffer of 2M pages needs GRES hugedma:2m:16777216 " \
        "on its node" in r.stderr, r.stderr
    res = json.loads(out.read_text().strip().splitlines()[-1])
    assert res == {"name": f"slurm-{job}", "uid": UID, "mode": 0o600,
                   "kernel_page_size": h.SZ_2M, "hugetlb": size, "bad": 0, "job": job}
    assert slurm.job_field(job, "JobState") == "COMPLETED"
    assert slurm.job_field(job, "TresPerNode") in ("gres:hugedma:2m:16777216",
                                                    "gres:hugedma:2m:16M",
                                                    "gres/hugedma:2m:16777216")
    wait_gone(slurm, job)
    assert_nothing_left()
    assert h.free_pages(h.SZ_2M) == free


def test_failed_job_leaves_nothing(slurm):
    """A job whose program fails still has its buffer removed by the epilog."""
    r, job, out, _ = slurm.sbatch("hugedma=4M,page=2M", 4 << 20, env={"EXIT": "3"})
    assert r.returncode != 0
    assert json.loads(out.read_text().strip().splitlines()[-1])["bad"] == 0
    assert slurm.job_field(job, "JobState") == "FAILED"
    assert slurm.job_field(job, "ExitCode") == "3:0"
    wait_gone(slurm, job)
    assert_nothing_left()


def test_cancelled_job_leaves_nothing(slurm, edu):
    """While the job runs its buffer is attached to the device it named (edu, with
    its driver bound: mapped), holds 2 MB huge frames, and only the job's user can
    open it; scancel mid-run, and the epilog removes it: the pool is whole again."""
    bdf = edu.bdf
    size = 8 << 20
    free = h.free_pages(h.SZ_2M)
    hold = slurm.jobs / "hold"
    r, job, out, mark = slurm.sbatch(f"hugedma=8M,page=2M,device={bdf},direction=to_device",
                                     size, wait=False, env={"HOLD": hold})
    assert r.returncode == 0, r.stderr
    try:
        assert h.wait_for(hold.exists, timeout=120, interval=0.2), \
            f"job {job}: {slurm.job_field(job, 'JobState')} {slurm.job_field(job, 'Reason')}\n" \
            + (out.read_text() if out.exists() else "")
        name = f"slurm-{job}"
        b = h.Buffer(name)
        assert b.read("size") == str(size) and b.read("enable") == "1"
        assert h.free_pages(h.SZ_2M) == free - size // h.SZ_2M
        assert h.check_huge_frames(b.phys_addrs(), h.SZ_2M) == []
        att = b.dev / "attachments" / bdf
        assert h.read(att / "state").strip() == "mapped"
        assert h.read(att / "direction").strip() == "to_device"
        st = os.stat(f"/dev/hugedma/{name}")
        assert (st.st_uid, st.st_mode & 0o7777) == (UID, 0o600)
        r = run(["python3", "-c", f"import os; os.open('/dev/hugedma/{name}', os.O_RDWR)"],
                user=OTHER_UID)
        assert r.returncode != 0 and "PermissionError" in r.stderr, r.stderr
    finally:
        slurm.ok("scancel", job)
    wait_gone(slurm, job)
    assert slurm.job_field(job, "JobState") == "CANCELLED"
    assert_nothing_left()
    assert h.free_pages(h.SZ_2M) == free
    assert slurm.node_state() == "idle"


def test_more_than_the_pool_is_refused_at_submission(slurm):
    """Slurm counts the pool as GRES: a job that asks for more than the node's pool
    holds is refused by sbatch, which says so; nothing is made."""
    size = (h.free_pages(h.SZ_2M) + 1) * h.SZ_2M
    r, job, out, mark = slurm.sbatch(f"hugedma={size >> 20}M,page=2M", size)
    print(r.stderr)
    assert r.returncode != 0 and job is None
    assert "Requested node configuration is not available" in r.stderr, r.stderr
    assert f"hugedma:2m:{size}" in r.stderr, r.stderr
    assert not mark.exists()
    assert_nothing_left()


@pytest.mark.parametrize("req,why", [
    ("hugedma=64Q,page=2M", "size '64Q' is not a size"),
    ("hugedma=,page=2M", "size '' is not a size"),
    ("hugedma=3M,page=2M", "size 3M is not a whole number of 2M pages"),
    ("hugedma=4M,page=4M", "page size '4M' is not 1G or 2M"),
    ("hugedma=4M,page=2M,device=03:00.0", "device '03:00.0' is not a PCI address"),
    ("hugedma=4M,page=2M,node=one", "NUMA node 'one' is not a node number"),
    ("hugedma=4M,page=2M,direction=up", "direction 'up' is not bidirectional"),
    ("hugedma=4M,page=2M,colour=red", "'colour=red' in '4M,page=2M,colour=red' is not"),
    ("hugedma=4M,page=2M hugedma=2M,page=2M", "the comment asks for two buffers; a job has one"),
])
def test_malformed_request_is_refused_at_submission(slurm, req, why):
    r, job, out, mark = slurm.sbatch(req, 4 << 20)
    assert r.returncode != 0 and job is None, r.stdout
    assert f"hugedma: {why}" in r.stderr, r.stderr
    assert_nothing_left()


def test_unknown_device_fails_the_job_before_it_starts(slurm):
    """A well-formed PCI address the node does not have: the job fails before its
    program runs, its output says why, nothing is made and the node stays in service."""
    r, job, out, mark = slurm.sbatch("hugedma=4M,page=2M,device=0000:7f:1f.7", 4 << 20)
    assert r.returncode != 0
    print(out.read_text())
    assert f"hugedma: job {job} on {NODE}: this node has no PCI device 0000:7f:1f.7" \
        in out.read_text()
    assert not mark.exists(), "the job's program ran"
    assert slurm.job_field(job, "JobState") == "FAILED"
    wait_gone(slurm, job)
    assert_nothing_left()
    assert slurm.node_state() == "idle"


def test_node_pool_short_fails_the_job_before_it_starts(slurm):
    """The pool emptied behind Slurm's back (pages taken after gres.conf was written):
    the prolog finds too few free pages, the job fails before its program runs with
    the numbers in its output, nothing is made and the node stays in service."""
    hold = "test-hold"
    free = h.free_pages(h.SZ_2M)
    r = ctl("create", hold, "--size", f"{(free - 4) * 2}M", "--page-size", "2M")
    assert r.returncode == 0, r.stderr
    try:
        r, job, out, mark = slurm.sbatch("hugedma=16M,page=2M", 16 << 20)
        assert r.returncode != 0
        assert (f"hugedma: job {job} on {NODE}: the 2M pool has 4 free pages; "
                "the job asked for 16M (8 pages)") in out.read_text(), out.read_text()
        assert not mark.exists(), "the job's program ran"
        wait_gone(slurm, job)
        assert_nothing_left()
        assert slurm.node_state() == "idle"
    finally:
        assert ctl("destroy", hold).returncode == 0
