# SPDX-License-Identifier: GPL-2.0
"""tests/vm/run, the guest runner, seen from the host: exit codes, crashes, timeouts,
bad arguments and the memory/NUMA layouts it promises."""
import pathlib
import re
import subprocess
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
RUN = str(REPO / "tests" / "vm" / "run")


def run(*args, timeout=300):
    """The runner's result, and how long its guest took: without the time it
    waited for another guest to finish (it says how long, on stderr)."""
    t0 = time.monotonic()
    r = subprocess.run([RUN, *args], capture_output=True, text=True, timeout=timeout + 3600,
                       cwd=REPO)
    m = re.search(r"^tests/vm/run: waited (\d+) s for another guest$", r.stderr, re.M)
    return r, time.monotonic() - t0 - (int(m.group(1)) if m else 0)


def one_line_error(r):
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("tests/vm/run: ")
    return lines[0]


def test_command_status_output_and_cwd():
    r, _ = run("--", "sh", "-c", 'echo "out:$(pwd):$(id -u)"; echo err >&2; exit 7')
    assert r.returncode == 7
    assert f"out:{REPO}:0" in r.stdout
    assert "err" in r.stdout  # the guest's stderr is streamed with stdout


def test_arguments_with_spaces_and_quotes_arrive_intact():
    r, _ = run("--", "printf", "[%s]", "a b", "it's", "$HOME", "")
    assert r.returncode == 0
    assert r.stdout == "[a b][it's][$HOME][]"


def test_guest_sees_host_root_read_only_with_writable_overlay():
    r, _ = run("--", "sh", "-c",
               "test -x /usr/bin/python3 && touch /usr/hugedma-overlay && "
               "grep -q ' / overlay ' /proc/mounts && echo ok")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok" in r.stdout
    assert not pathlib.Path("/usr/hugedma-overlay").exists()


def test_crash_ends_quickly_with_console_log():
    r, took = run("--", "sh", "-c", "echo c > /proc/sysrq-trigger; sleep 60")
    assert r.returncode == 125
    assert took < 30, f"crash took {took:.0f} s to end the guest"
    m = re.search(r"console log: (\S+)", r.stderr)
    assert m, r.stderr
    assert "sysrq triggered crash" in pathlib.Path(m.group(1)).read_text()


def test_timeout_exits_124():
    r, took = run("--timeout", "15", "--", "sleep", "600")
    assert r.returncode == 124
    assert took < 35
    assert "timeout" in r.stderr


def test_hugepages_and_numa_layout_exact():
    r, _ = run("--numa", "0:4G:1,1:3G:2,2:2G:nocpu", "--", "sh", "-c",
               "for n in 0 1 2; do "
               "cat /sys/devices/system/node/node$n/hugepages/hugepages-1048576kB/nr_hugepages; "
               "cat /sys/devices/system/node/node$n/cpulist; done; "
               "dmesg | grep -c -E 'WARNING|BUG' || true")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[:7] == ["1", "0", "2", "1", "0", "", "0"]


def test_guest_fails_loudly_when_pages_are_not_reserved():
    # 4G of q35 RAM holds 4 GB, but only one whole free GB above the PCI hole
    r, _ = run("--mem", "4G", "--hugepages-1g", "2", "--", "true")
    assert r.returncode == 3
    assert "asked for 2 1 GB hugetlb pages" in r.stderr


def test_bad_arguments_exit_2_with_one_line():
    for args in (["--"], [], ["--kernel", "9.9.9-nope"], ["--hugepages-1g", "400", "--", "true"],
                 ["--bogus", "--", "true"], ["--smp", "x", "--", "true"],
                 ["--numa", "0:1G:5", "--", "true"], ["--mem", "4G", "--numa", "2", "--", "true"]):
        r, took = run(*args, timeout=30)
        assert r.returncode == 2, (args, r.stderr)
        one_line_error(r)
        assert took < 10
