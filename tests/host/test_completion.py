# SPDX-License-Identifier: GPL-2.0
"""hugedmactl's bash completion, sourced into a real bash and called the way bash
calls it (COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT), against a fake /sys
(HUGEDMA_SYSROOT) with buffers, an imported buffer, attachments, PCI devices and
NUMA nodes.  Needs no module: it reads directories only."""
import pathlib
import shlex
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = REPO / "userspace" / "hugedmactl.bash-completion"


@pytest.fixture(scope="module")
def sysroot(tmp_path_factory):
    root = tmp_path_factory.mktemp("sysroot")
    cfg = root / "sys/kernel/config/hugedma/buffers"
    for d in ("dma0/attachments/0000:00:03.0", "dma0/attachments/0000:00:04.0",
              "dma1/attachments", "rx-ring/attachments"):
        (cfg / d).mkdir(parents=True)
    for d in ("dma0", "imported0"):
        (root / "sys/class/hugedma" / d).mkdir(parents=True)
    for d in ("0000:00:00.0", "0000:00:03.0", "0000:00:1f.2", "0001:00:00.0"):
        (root / "sys/bus/pci/devices" / d).mkdir(parents=True)
    for d in ("node0", "node1", "possible", "power"):
        (root / "sys/devices/system/node" / d).mkdir(parents=True)
    return root


def complete(line, sysroot, files_in=None):
    """COMPREPLY for the command line `line`, the cursor at its end."""
    words = shlex.split(line)
    if line.endswith(" "):
        words.append("")
    script = f"""
        source {shlex.quote(str(SCRIPT))}
        [ "$(complete -p hugedmactl)" = "complete -F _hugedmactl hugedmactl" ] || exit 3
        COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})
        COMP_CWORD={len(words) - 1}
        COMP_LINE={shlex.quote(line)}
        COMP_POINT={len(line)}
        _hugedmactl hugedmactl {shlex.quote(words[-1])} {shlex.quote(words[-2])}
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                       text=True, cwd=files_in, env={"HUGEDMA_SYSROOT": str(sysroot),
                                                     "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r
    assert r.stderr == "", r.stderr
    return sorted(x for x in r.stdout.split("\n") if x)


CMDS = ["attach", "cdi", "check", "clear", "create", "destroy", "detach", "disable", "enable",
        "help", "list", "pool", "restore", "save", "show", "slurm"]


@pytest.mark.parametrize("line, want", [
    ("hugedmactl ", CMDS + ["--help", "--json", "--version"]),
    ("hugedmactl d", ["destroy", "detach", "disable"]),
    ("hugedmactl c", ["cdi", "check", "clear", "create"]),
    ("hugedmactl help ", CMDS),
    ("hugedmactl slurm ", ["gres"]),
    ("hugedmactl slurm gres -", ["--json", "--node-name"]),
    ("hugedmactl slurm gres --node-name ", []),
    ("hugedmactl help re", ["restore"]),
    ("hugedmactl help restore ", []),
    ("hugedmactl clear -", ["--dry-run", "--json"]),
    ("hugedmactl check ", []),
    ("hugedmactl cdi -", ["--json", "--output"]),
    ("hugedmactl cdi ", []),
    ("hugedmactl pool s", ["set"]),
    ("hugedmactl pool set ", ["1G", "2M"]),
    ("hugedmactl pool set 1G ", ["0:", "1:"]),
    ("hugedmactl pool set 1G 0:2 ", ["0:", "1:"]),
    ("hugedmactl pool set 1G 0:", []),
    ("hugedmactl save -", ["--backups", "--json"]),
    ("hugedmactl save --backups ", []),
    ("hugedmactl --json s", ["save", "show", "slurm"]),
    ("hugedmactl -", ["--help", "--json", "--version"]),
    ("hugedmactl destroy ", ["dma0", "dma1", "rx-ring"]),
    ("hugedmactl enable d", ["dma0", "dma1"]),
    ("hugedmactl --json disable r", ["rx-ring"]),
    ("hugedmactl show ", ["dma0", "dma1", "imported0", "rx-ring"]),
    ("hugedmactl show dma0 ", []),
    ("hugedmactl list ", []),
    ("hugedmactl pool ", ["set"]),
    ("hugedmactl create ", []),
    ("hugedmactl create x -", ["--contiguous", "--json", "--near", "--node", "--page-size",
                               "--size"]),
    ("hugedmactl create x --size 2M --near ", ["0000:00:00.0", "0000:00:03.0", "0000:00:1f.2",
                                               "0001:00:00.0"]),
    ("hugedmactl create x --near=0001", ["0001:00:00.0"]),
    ("hugedmactl create x --near 0000:00:03.0 -", ["--contiguous", "--json", "--near", "--node",
                                                   "--page-size", "--size"]),
    ("hugedmactl create x --size ", []),
    ("hugedmactl create x --size 2M --page-size ", ["1G", "2M"]),
    ("hugedmactl create x --node ", ["-1", "0", "1"]),
    ("hugedmactl create x --node=", ["-1", "0", "1"]),
    ("hugedmactl create x --page-size=2", ["2M"]),
    ("hugedmactl attach ", ["dma0", "dma1", "rx-ring"]),
    ("hugedmactl attach dma1 ", ["0000:00:00.0", "0000:00:03.0", "0000:00:1f.2",
                                 "0001:00:00.0"]),
    ("hugedmactl attach dma1 0001", ["0001:00:00.0"]),
    ("hugedmactl attach dma1 0000:00:1 --direction ", ["bidirectional", "from_device",
                                                       "to_device"]),
    ("hugedmactl attach --direction to_device dma1 0", ["0000:00:00.0", "0000:00:03.0",
                                                         "0000:00:1f.2", "0001:00:00.0"]),
    ("hugedmactl attach dma1 0000:00:03.0 --direction t", ["to_device"]),
    ("hugedmactl attach dma1 0000:00:03.0 -", ["--direction", "--json"]),
    ("hugedmactl detach dma0 ", ["0000:00:03.0", "0000:00:04.0"]),
    ("hugedmactl detach dma1 ", []),
    ("hugedmactl detach nosuch ", []),
    ("hugedmactl detach ../.. ", []),
    ("hugedmactl restore -", ["--dry-run", "--json", "--replace"]),
])
def test_completion(sysroot, line, want):
    assert complete(line, sysroot) == sorted(want)


def test_bdf_after_a_colon_completes_the_part_bash_replaces(sysroot):
    """bash splits words at ':' (COMP_WORDBREAKS): the replies are what follows the
    last colon of the word, so 0000:00:1<TAB> becomes 0000:00:1f.2."""
    assert complete("hugedmactl attach dma1 0000:00:1", sysroot) == ["1f.2"]
    assert complete("hugedmactl detach dma0 0000:00:0", sysroot) == ["03.0", "04.0"]
    assert complete("hugedmactl attach --direction to_device dma1 0000:00:0", sysroot) == \
        ["00.0", "03.0"]


def test_save_and_restore_complete_files(sysroot, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "conf.d").mkdir()
    assert complete("hugedmactl restore co", sysroot, tmp_path) == ["conf.d", "config.json"]
    assert complete("hugedmactl save c", sysroot, tmp_path) == ["conf.d", "config.json"]
    assert complete("hugedmactl restore --dry-run co", sysroot, tmp_path) == \
        ["conf.d", "config.json"]
    assert complete("hugedmactl save x.json ", sysroot, tmp_path) == []
    assert complete("hugedmactl cdi --output co", sysroot, tmp_path) == \
        ["conf.d", "config.json"]
    assert complete("hugedmactl cdi --output=co", sysroot, tmp_path) == \
        ["conf.d", "config.json"]


def test_no_module_loaded(tmp_path):
    """No configfs, no class: nothing to offer, and no error."""
    assert complete("hugedmactl show ", tmp_path) == []
    assert complete("hugedmactl attach dma0 ", tmp_path) == []
