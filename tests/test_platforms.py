"""Unit tests of tools/platforms' pure logic: apt sources, the target table, results.

Nothing here downloads or starts a platform.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

# tools/ is on mypy's path too (pyproject's mypy_path).
from platforms import aptsources, build, kernel, musl, results, targets
from platforms.debian import PrivateApt
from platforms.runner import _wrapper_text

DEB822 = """\
Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_deb822_entry_for_a_debian_suite_with_main_is_chosen(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    mirror = aptsources.find_mirror(tmp_path)
    assert mirror.uri == "http://mirror.example/debian"
    assert mirror.signed_by == "/usr/share/keyrings/debian-archive-keyring.gpg"


def test_security_only_and_disabled_entries_are_not_chosen() -> None:
    text = DEB822.split("\n\n")[1] + "\nTypes: deb\nURIs: http://off/\nSuites: sid\n"
    text += "Components: main\nEnabled: no\n"
    assert aptsources._chosen(aptsources.parse_deb822(text)) is None


def test_one_line_sources_with_signed_by_option() -> None:
    text = (
        "# deb http://commented/ bookworm main\n"
        "deb-src http://src/ bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian/ trixie main contrib\n"
    )
    mirror = aptsources._chosen(aptsources.parse_one_line(text))
    assert mirror == aptsources.Mirror("http://one.example/debian", "/k.gpg")


def test_ubuntu_sources_are_not_a_debian_mirror(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb http://archive.ubuntu.com/ubuntu noble main\n")
    with pytest.raises(aptsources.MirrorNotFound):
        aptsources.find_mirror(tmp_path)


def test_environment_overrides_the_host_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAWMMAP_DEBIAN_MIRROR", "http://override/debian/")
    assert aptsources.find_mirror(tmp_path).uri == "http://override/debian"


def test_private_sources_name_the_arch_and_suites(tmp_path: Path) -> None:
    apt = PrivateApt(tmp_path, "s390x", ["trixie"], aptsources.Mirror("http://m/debian"))
    text = apt.sources_text()
    assert "Architectures: s390x\n" in text
    assert "Suites: trixie\n" in text
    assert f"Dir::State::status={tmp_path / 'status'}" in apt.options
    assert "Types: deb\n" in text


def test_source_builds_read_the_source_lists_too(tmp_path: Path) -> None:
    mirror = aptsources.Mirror("http://m/debian")
    apt = PrivateApt(tmp_path, "amd64", ["trixie"], mirror, with_sources=True)
    assert "Types: deb deb-src\n" in apt.sources_text()


def test_free_threaded_target_is_built_with_disable_gil_in_a_root_of_its_own() -> None:
    target = targets.get_target("cpython3.13t")
    assert target.kind == "source"
    assert "--disable-gil" in target.configure
    assert target.rootfs_key == "amd64-trixie-python3.13-built-disable-gil"
    others = {t.rootfs_key for t in targets.TARGETS if t.name != "cpython3.13t"}
    assert target.rootfs_key not in others
    command = build.configure_command(Path("/c/usr"), target.configure)
    assert command[:2] == ["./configure", "--prefix=/c/usr"]
    assert "--without-ensurepip" in command and command[-1] == "--disable-gil"


def test_built_interpreter_wrapper_finds_its_root_from_its_own_path() -> None:
    text = build.wrapper_text("free-threaded", "python3.13t")
    assert text.startswith("#!/bin/sh\n")
    assert 'exec "$R/usr/bin/python3.13t" "$@"' in text


MUSL_SPECS = """\
*cpp_options:
-nostdinc -isystem /usr/include/i386-linux-musl -isystem include%s %(old_cpp_options)

*link_libgcc:
-L/usr/lib/i386-linux-musl -L .%s

*startfile:
%{shared:;static-pie:/usr/lib/i386-linux-musl/rcrt1.o; :/usr/lib/i386-linux-musl/Scrt1.o} \
/usr/lib/i386-linux-musl/crti.o crtbeginS.o%s

*link:
-dynamic-linker /lib/ld-musl-i386.so.1 -nostdlib %{shared:-shared}
"""


def test_musl_targets_are_source_builds_with_roots_of_their_own() -> None:
    """Both musl targets are ``source`` builds with a rootfs key of their own, not in CI."""
    x86_64, i386 = targets.get_target("musl-x86_64"), targets.get_target("musl-i386")
    assert (x86_64.kind, x86_64.libc, x86_64.arch) == ("source", "musl", "amd64")
    assert (i386.kind, i386.libc, i386.arch) == ("source", "musl", "i386")
    assert x86_64.rootfs_key == "amd64-trixie-python3.13-built-musl"
    assert i386.rootfs_key == "i386-trixie-python3.13-built-musl"
    keys = [target.rootfs_key for target in targets.TARGETS if target.kind == "source"]
    assert len(keys) == len(set(keys))
    # Not in CI: each takes about ten minutes to build from nothing.
    assert not x86_64.ci and not i386.ci


def test_musl_specs_point_into_the_tree_and_32_bit_links_elf_i386() -> None:
    """Every absolute path of the specs moves into the tree; i386 links with -m elf_i386."""
    tree = Path("/cache/musl")
    text = musl.rewrite_specs(MUSL_SPECS, tree, "elf_i386")
    assert "-isystem /cache/musl/usr/include/i386-linux-musl " in text
    assert "-L/cache/musl/usr/lib/i386-linux-musl " in text
    assert ":/cache/musl/usr/lib/i386-linux-musl/Scrt1.o}" in text
    assert " /cache/musl/usr/lib/i386-linux-musl/crti.o " in text
    assert "*link:\n-m elf_i386 -dynamic-linker /cache/musl/usr/lib/ld-musl-i386.so.1 " in text
    assert " /usr/" not in text and "/lib/ld-musl-i386.so.1 -nostdlib" in text
    assert "-m elf_i386" not in musl.rewrite_specs(MUSL_SPECS, tree)


def test_musl_compiler_wrapper_answers_print_multiarch_with_the_musl_triplet(
    tmp_path: Path,
) -> None:
    """The compiler wrapper names the musl triplet, not gcc's glibc one."""
    wrapper = tmp_path / "musl-gcc"
    wrapper.write_text(
        musl.compiler_wrapper_text(Path("/t/musl-gcc.specs"), "i386-linux-musl", "-m32")
    )
    wrapper.chmod(0o755)
    answer = subprocess.run(
        [str(wrapper), "-print-search-dirs", "--print-multiarch"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.stdout == "i386-linux-musl\n"
    assert 'exec "${REALGCC:-gcc}" -m32 "$@" -specs "/t/musl-gcc.specs"' in wrapper.read_text()


def test_musl_test_tools_are_musllinux_wheels_only(tmp_path: Path) -> None:
    """pip gets only wheels of the target's musllinux platform or pure Python ones."""
    command = build.pip_command(tmp_path, "3.13", musl.pip_platform("i386"), ["pytest"])
    assert command[1:4] == ["-m", "pip", "install"]
    assert "--only-binary=:all:" in command
    assert command[command.index("--target") + 1] == str(tmp_path)
    platforms = [command[i + 1] for i, word in enumerate(command) if word == "--platform"]
    assert platforms == ["musllinux_1_2_i686", "any"]
    assert musl.pip_platform("amd64") == "musllinux_1_2_x86_64"
    assert musl.host_packages("i386")[-1] == "gcc-multilib"
    assert "gcc-multilib" not in musl.host_packages("amd64")


def test_built_32_bit_wrapper_runs_under_setarch() -> None:
    """The i386 build's wrapper starts the interpreter under setarch i686."""
    text = build.wrapper_text("musl i386", "python3.13", ("setarch", "i686"))
    assert 'exec setarch i686 "$R/usr/bin/python3.13" "$@"' in text


def test_target_names_are_unique_and_ci_has_the_promised_subset() -> None:
    names = [target.name for target in targets.TARGETS]
    assert len(names) == len(set(names))
    ci = {target.name for target in targets.ci_targets()}
    assert {"cpython3.14", "i386", "s390x", "gvisor"} <= ci
    assert any(targets.get_target(name).kind == "qemu" for name in ci)


def test_every_qemu_target_has_a_qemu_cpu_and_natives_have_none() -> None:
    for target in targets.TARGETS:
        assert (target.qemu_target is not None) == (target.kind == "qemu"), target.name


def test_unknown_target_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"cpython3\.14"):
        targets.get_target("vax")


def test_i386_wrapper_runs_the_loader_under_setarch() -> None:
    text = _wrapper_text(targets.get_target("i386"), None)
    assert 'exec setarch i686 "$R/lib/ld-linux.so.2"' in text
    assert "$R/usr/lib/i386-linux-gnu" in text
    assert '"$R/usr/bin/python3.11" "$@"' in text


def test_qemu_wrapper_sets_argv0_to_itself(tmp_path: Path) -> None:
    text = _wrapper_text(targets.get_target("s390x"), tmp_path / "qemu-s390x")
    assert f'exec "{tmp_path / "qemu-s390x"}" -L "$R" -0 "$R/usr/bin/python-platform"' in text


PYTEST_OUTPUT = """\
....F..s [100%]
FAILED tests/test_region_edges.py::test_finalizer_during_collection_defers_the_unmap
SKIPPED [2] tests/test_raw.py:254: madvise(2) returned 0
SKIPPED [1] tests/test_probe.py:261: noreplace
1 failed, 858 passed, 65 skipped, 5 deselected in 12.64s
"""


def test_pytest_summary_counts_failures_and_skip_reasons() -> None:
    result = results.Result("cpython3.14")
    results.parse_pytest(result, PYTEST_OUTPUT, 1)
    assert result.counts == {"failed": 1, "passed": 858, "skipped": 65, "deselected": 5}
    assert result.failures == [PYTEST_OUTPUT.splitlines()[1]]
    assert result.skip_reasons == {"madvise(2) returned 0": 2, "noreplace": 1}
    assert result.failed


def test_pytest_output_without_summary_is_a_problem() -> None:
    result = results.Result("gvisor")
    results.parse_pytest(result, "....\nE   ImportError: no rawmmap\n", 2)
    assert result.problem == "E   ImportError: no rawmmap"
    assert result.failed


def test_probe_report_verdicts_keep_informational_apart() -> None:
    report = {
        "checks": [
            {"name": "a", "verdict": "pass"},
            {"name": "b", "verdict": "differs"},
            {"name": "c", "verdict": "differs", "informational": True},
            {"name": "d", "verdict": "skipped"},
        ]
    }
    result = results.Result("gvisor")
    results.parse_probe(result, json.dumps(report))
    assert result.probe_summary == {"pass": 1, "differs": 1, "informational": 1, "skipped": 1}
    assert result.probe_differs == ["b"]
    assert result.probe_informational == ["c"]


def test_probe_output_that_is_not_json_is_said() -> None:
    result = results.Result("x")
    assert results.parse_probe(result, "Traceback ...") == {}
    assert result.probe_status == "no JSON"


def test_result_round_trips_through_json_and_lands_in_the_table() -> None:
    result = results.Result("i386", python="3.11.2", machine="i686", how="native 32-bit")
    results.parse_pytest(result, "856 passed, 66 skipped in 13.0s\n", 0)
    again = results.result_from_json(json.loads(json.dumps(result.to_json())))
    assert again == result
    assert not again.failed
    table = results.format_markdown([again])
    assert "| i386 | native 32-bit (i686) | 3.11.2 | 856/0/66 |" in table
    assert "856/0/66 (passed/failed/skipped)" in results.format_line(again)


def test_initramfs_is_newc_cpio_with_init_and_trailer(tmp_path: Path) -> None:
    rootfs = tmp_path / "root"
    (rootfs / "usr/bin").mkdir(parents=True)
    (rootfs / "usr/bin/python3.11").write_bytes(b"ELF")
    (rootfs / "lib64").symlink_to("usr/lib64")
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "README.md").write_text("readme")
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"bb")
    archive = tmp_path / "initrd.cpio"
    kernel.build_initramfs(archive, rootfs, busybox, project, init="#!/bin/sh\n", about="")
    data = archive.read_bytes()
    names = []
    offset = 0
    while True:
        header = data[offset : offset + 110]
        assert header[:6] == b"070701"
        size, name_size = int(header[54:62], 16), int(header[94:102], 16)
        name = data[offset + 110 : offset + 110 + name_size - 1].decode()
        offset += (110 + name_size + 3) // 4 * 4
        if name == "TRAILER!!!":
            break
        names.append((name, data[offset : offset + size]))
        offset += (size + 3) // 4 * 4
    contents = dict(names)
    assert contents["init"] == b"#!/bin/sh\n"
    assert contents["lib64"] == b"usr/lib64"
    assert contents["project/README.md"] == b"readme"
    assert contents["usr/bin/python3.11"] == b"ELF"
    assert contents["bin/busybox"] == b"bb"
    assert not any(name.startswith("project/.git") for name in contents)


def test_console_steps_are_read_between_markers() -> None:
    console = (
        "[    0.1] noise\r\n@@platforms:about:begin@@\r\n3.11.2 x86_64 glibc 2.36\r\n"
        "@@platforms:about:end 0@@\r\n@@platforms:pytest:begin@@\r\n1 passed in 1s\r\n"
        "@@platforms:pytest:end 1@@\r\n"
    )
    steps = kernel.parse_console(console)
    assert steps["about"] == ("3.11.2 x86_64 glibc 2.36\n", 0)
    assert steps["pytest"] == ("1 passed in 1s\n", 1)
    assert "probe" not in steps


def test_kernel_images_are_found_in_boot_and_in_sid_modules_directory(tmp_path: Path) -> None:
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot/vmlinuz-6.1.0-50-cloud-amd64").write_bytes(b"")
    (tmp_path / "usr/lib/modules/7.2.13+deb14-cloud-amd64").mkdir(parents=True)
    (tmp_path / "usr/lib/modules/7.2.13+deb14-cloud-amd64/vmlinuz").write_bytes(b"")
    versions = [version for version, _ in kernel._images(tmp_path)]
    assert versions == ["6.1.0-50-cloud-amd64", "7.2.13+deb14-cloud-amd64"]


def test_table_prints_saved_results_in_target_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from platforms import cli

    for name, passed in (("gvisor", 5), ("cpython3.14", 7)):
        result = results.Result(name, counts={"passed": passed}, pytest_status=0)
        (tmp_path / f"{name}.result.json").write_text(json.dumps(result.to_json()))
    assert cli.main(["--cache", str(tmp_path), "--output", str(tmp_path), "table"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| c")]
    assert rows[0].startswith("| cpython3.14 |")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["--cache", str(tmp_path), "--output", str(empty), "table"]) == 2


def test_jobs_run_targets_at_once_and_keep_their_order(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from platforms import cli

    # A stand-in for the runner (this test starts no platform): each of two
    # targets waits for the other, so they only finish if both run at once.
    both = threading.Barrier(2, timeout=10)

    def run_target(target: targets.Target, options: object) -> results.Result:
        both.wait()
        return results.Result(target.name)

    monkeypatch.setattr(cli, "run_target", run_target)
    chosen = [targets.get_target("i386"), targets.get_target("cpython3.14")]
    ran = cli._run(chosen, options=None, jobs=2)  # type: ignore[arg-type]
    assert [result.target for result in ran] == ["i386", "cpython3.14"]


def test_jobs_below_one_is_refused_by_the_command_line() -> None:
    from platforms import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["all", "--jobs", "0"])
    assert exit_info.value.code == 2
