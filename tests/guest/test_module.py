# SPDX-License-Identifier: GPL-2.0
"""Loading and unloading hugedma.ko: its roots appear and go, nothing is left behind."""
import os
import subprocess

import hugedma_test as h


def test_load_creates_roots(unloaded):
    assert not h.CONFIGFS.exists()
    subprocess.run(["insmod", str(h.MODULE)], check=True)
    assert h.CONFIGFS.is_dir()
    assert h.BUFFERS.is_dir()
    assert sorted(os.listdir(h.BUFFERS)) == []
    assert h.CLASS.is_dir()
    assert sorted(os.listdir(h.CLASS)) == []


def test_configfs_root_has_only_buffers():
    assert sorted(os.listdir(h.CONFIGFS)) == ["buffers"]


def test_rmmod_removes_roots(unloaded):
    h.load()
    assert subprocess.run(["rmmod", "hugedma"]).returncode == 0
    assert not h.loaded()
    assert not h.CONFIGFS.exists()
    assert not h.CLASS.exists()


def test_load_unload_cycles(unloaded):
    before = h.snapshot()
    for _ in range(3):
        h.load()
        assert h.unload() == 0
    assert h.snapshot() == before


def test_rmmod_refused_while_a_buffer_exists(mkbuf):
    mkbuf()
    r = subprocess.run(["rmmod", "hugedma"], capture_output=True, text=True)
    assert r.returncode != 0
    assert "in use" in r.stderr
    assert h.loaded()


def test_load_logs_nothing_alarming(unloaded):
    subprocess.run(["dmesg", "-C"], check=True)
    h.load()
    log = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    for bad in ("WARNING", "BUG", "Oops", "no 1 GB", "no 2 MB"):
        assert bad not in log, log
