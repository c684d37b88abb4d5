# SPDX-License-Identifier: GPL-2.0
"""KUnit: hugedma_kunit.ko (module/kunit.c) tests the module's pure logic (parsing,
the state table, DMA extents) inside a kernel with CONFIG_KUNIT, the debug kernel.

One pytest case per KUnit case, collected from module/kunit.c's KUNIT_CASE lists;
each passes only when the kernel reported "ok" for it in
/sys/kernel/debug/kunit/SUITE/results (KTAP).  6.1 keeps 512 bytes of log per
case, so a failing case's own line may be cut from debugfs: the kernel log, which
has every line, is the fallback.  Marked `debug`: Debian kernels have no KUnit,
and their tiers deselect this file (-m "not debug") rather than skip it.
"""
import os
import pathlib
import re
import subprocess

import pytest

import hugedma_test as h

pytestmark = pytest.mark.debug

SOURCE = h.REPO / "module" / "kunit.c"
KO = pathlib.Path(os.environ.get("HUGEDMA_KUNIT_KO", h.MODULE.parent / "hugedma_kunit.ko"))
DEBUGFS = pathlib.Path("/sys/kernel/debug/kunit")
RESULT = re.compile(r"^(?P<indent>\s*)(?P<ok>ok|not ok) (?P<num>\d+) (?:- )?(?P<name>\S+)"
                    r"(?:\s+#\s*(?P<directive>.*))?$")


def cases_in_source():
    """[(suite, case)] from module/kunit.c's kunit_case arrays and suites."""
    text = SOURCE.read_text()
    arrays = {m.group(1): re.findall(r"KUNIT_CASE\((\w+)\)", m.group(2))
              for m in re.finditer(r"struct kunit_case (\w+)\[\] = \{(.*?)\n\};", text, re.S)}
    out = []
    for m in re.finditer(r"struct kunit_suite \w+ = \{(.*?)\n\};", text, re.S):
        name = re.search(r'\.name = "(\w+)"', m.group(1)).group(1)
        cases = re.search(r"\.test_cases = (\w+)", m.group(1)).group(1)
        out += [(name, c) for c in arrays[cases]]
    return out


CASES = cases_in_source()


def parse_ktap(text):
    """{case: (ok, directive)} for the cases of one suite's results (indent 4),
    and the suite's own line (indent 0) under the key None."""
    found = {}
    for line in text.splitlines():
        m = RESULT.match(line.replace("\t", "    "))
        if not m:
            continue
        depth = len(m.group("indent"))
        if depth == 0:
            found[None] = (m.group("ok") == "ok", m.group("directive"))
        elif depth == 4:  # deeper lines are parameters of a case
            found[m.group("name")] = (m.group("ok") == "ok", m.group("directive"))
    return found


def kernel_has_kunit():
    """KUnit built in, or its module loadable or loaded."""
    if DEBUGFS.is_dir() or pathlib.Path("/sys/module/kunit").exists():
        return True
    with open("/proc/kallsyms") as f:
        if any(line.rstrip().endswith(" kunit_run_tests") for line in f):
            return True
    r = subprocess.run(["modprobe", "-n", "kunit"], capture_output=True)
    return r.returncode == 0


@pytest.fixture(scope="module")
def kunit_results():
    """Load hugedma_kunit.ko once (its suites run at load), collect every suite's
    results and the kernel log of the run, unload it."""
    if not kernel_has_kunit():
        pytest.skip(f"the running kernel ({os.uname().release}) has no KUnit (CONFIG_KUNIT)")
    if not DEBUGFS.is_dir():
        subprocess.run(["modprobe", "kunit"], capture_output=True)
    assert DEBUGFS.is_dir(), (f"the kernel has KUnit but no {DEBUGFS}: CONFIG_KUNIT_DEBUGFS "
                              "is off or debugfs is not mounted")
    assert KO.exists(), (f"{KO} is not built: the kernel has KUnit, so tests/kernel/build "
                         "for it builds hugedma_kunit.ko (Kbuild, CONFIG_KUNIT)")
    if pathlib.Path("/sys/module/hugedma_kunit").exists():
        subprocess.run(["rmmod", "hugedma_kunit"], check=True)
    log = h.KernelLog()
    try:
        subprocess.run(["insmod", str(KO)], check=True)
        try:
            suites = {s for s, _ in CASES}
            results = {}
            for s in suites:
                f = DEBUGFS / s / "results"
                assert f.exists(), f"no {f}: suite {s} was not registered"
                results[s] = f.read_text()
        finally:
            subprocess.run(["rmmod", "hugedma_kunit"], check=True)
        kmsg = "\n".join(log.lines())
    finally:
        log.close()
    out = os.environ.get("HUGEDMA_VM_OUT")
    if out and os.path.isdir(out):
        with open(os.path.join(out, "kunit.ktap"), "w") as f:
            f.write("\n".join(results[s] for s in sorted(results)))
    return results, kmsg


def kmsg_suite(kmsg, suite):
    """The lines of one suite's run in the kernel log (from its Subtest line to its
    own result line), without the printk prefixes."""
    lines, inside = [], False
    for line in kmsg.splitlines():
        line = re.sub(r"^hugedma_kunit: ", "", line)
        if re.match(rf"^\s*# Subtest: {suite}$", line):
            inside = True
        if inside:
            lines.append(line)
            if RESULT.match(line) and re.match(rf"^(ok|not ok) \d+ (- )?{suite}\b", line):
                break
    return "\n".join(lines)


def test_every_suite_passed(kunit_results):
    """The suites' own verdicts, and a count for the record."""
    results, _ = kunit_results
    for suite, text in results.items():
        found = parse_ktap(text)
        assert None in found, f"{suite}: no suite result line:\n{text}"
        assert found[None][0], f"{suite}: not ok:\n{text}"
    print(f"KUnit: {len(CASES)} cases in {len(results)} suites passed")


@pytest.mark.parametrize("suite,case", CASES, ids=[f"{s}.{c}" for s, c in CASES])
def test_kunit_case(kunit_results, suite, case):
    results, kmsg = kunit_results
    found = parse_ktap(results[suite])
    if case not in found:  # cut from the 512-byte debugfs log: the kernel log has it
        found = parse_ktap(kmsg_suite(kmsg, suite))
    assert case in found, (f"{suite}.{case}: no result in {DEBUGFS}/{suite}/results "
                           f"nor the kernel log:\n{results[suite]}")
    ok, directive = found[case]
    detail = kmsg_suite(kmsg, suite)
    assert ok, f"{suite}.{case}: not ok\n{detail}"
    assert not (directive or "").upper().startswith("SKIP"), f"{suite}.{case}: {directive}"
