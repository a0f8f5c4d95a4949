"""The sandbox must contain every way model-written code can misbehave, and still run good code."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from nsed_graph.bench.datasets import load_dataset
from nsed_graph.bench.sandbox import network_namespace_prefix, run_python


def test_infinite_loop_is_killed_at_the_wall_timeout() -> None:
    started = time.monotonic()
    result = run_python("while True:\n    pass", "", timeout_s=1.0)
    assert result.timed_out
    assert not result.passed
    assert result.error == "timed out after 1s"
    assert time.monotonic() - started < 5


def test_memory_bomb_is_stopped_by_the_address_space_limit() -> None:
    result = run_python("hog = bytearray(4 * 1024**3)", "", memory_mb=256)
    assert not result.passed
    assert not result.timed_out
    assert result.error is not None
    assert "MemoryError" in result.error


def test_network_connection_to_a_listening_socket_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        code = (
            "import socket\n"
            f"with socket.create_connection(('127.0.0.1', {port}), timeout=2) as s:\n"
            "    s.sendall(b'leak')\n"
        )
        result = run_python(code, "")
        assert not result.passed
        assert result.error is not None
        assert "network access" in result.error
        with pytest.raises(TimeoutError):
            server.accept()


def test_network_namespace_has_only_loopback() -> None:
    if not network_namespace_prefix():
        pytest.skip("no network namespace can be created here")
    code = "interfaces = [line.split(':')[0].strip() for line in open('/proc/self/net/dev')][2:]"
    result = run_python(code, "assert interfaces == ['lo'], interfaces")
    assert result.passed, result.error


def test_write_outside_the_temporary_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    result = run_python(f"open({str(target)!r}, 'w').write('x')", "")
    assert not result.passed
    assert result.error is not None
    assert "write outside the working directory" in result.error
    assert not target.exists()


def test_removing_a_file_outside_the_temporary_directory_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "keep.txt"
    victim.write_text("keep")
    result = run_python(f"import os\nos.remove({str(victim)!r})", "")
    assert not result.passed
    assert victim.read_text() == "keep"


def test_writes_inside_the_working_directory_work_and_it_is_removed_after() -> None:
    code = (
        "import os, shutil\n"
        "os.makedirs('scratch/deep')\n"
        "open('scratch/deep/file', 'w').close()\n"
        "shutil.rmtree('scratch')\n"
        "open('notes.txt', 'w').write('kept')\n"
        "print(os.getcwd())"
    )
    result = run_python(code, "assert open('notes.txt').read() == 'kept'")
    assert result.passed, result.error
    workdir = Path(result.stdout_tail.strip())
    assert workdir.name.startswith("nsed-sandbox-")
    assert not workdir.exists()


def test_exiting_before_the_tests_run_is_a_failure() -> None:
    result = run_python("import os\nos._exit(0)", "assert False")
    assert not result.passed
    assert result.error == "the program exited before its tests finished"


def test_starting_a_process_is_refused() -> None:
    result = run_python("import subprocess\nsubprocess.run(['true'])", "")
    assert not result.passed
    assert result.error is not None
    assert "subprocess.Popen refused" in result.error


def test_mbpp_solution_passes_and_a_wrong_one_fails() -> None:
    item = load_dataset("mbpp")[1]
    assert item.tests is not None
    assert run_python(item.answer, item.tests).passed
    wrong = run_python("def sort_matrix(M):\n    return M", item.tests)
    assert not wrong.passed
    assert wrong.error == "AssertionError"


def test_non_positive_limits_are_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        run_python("pass", "", timeout_s=0)
