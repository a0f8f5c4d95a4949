"""Run untrusted, model-written Python against its tests without letting it harm the harness.

Model answers to coding benchmarks are arbitrary code: they can loop forever, exhaust memory,
reach the network or overwrite files. Each run therefore happens in a fresh interpreter
(``sys.executable -I -B``) in its own session and temporary working directory, under several
independent layers, so that one failing layer does not open the others:

* kernel resource limits (CPU seconds, address space, file size, no core dumps), set with
  ``resource.setrlimit`` by the child's bootstrap before it reads the untrusted code (not in a
  ``preexec_fn``, which is unsafe when checks run in threads, as the benchmark's do);
* a wall-clock timeout that kills the whole process group;
* on Linux, a private network namespace (``unshare --user --net``, or ``unshare --net`` where
  only that works) in which only a downed loopback exists;
* an audit hook (``sys.addaudithook``) installed in the child before the untrusted code runs. Audit
  hooks cannot be removed from Python code, so unlike a monkeypatched ``socket`` they survive
  ``importlib.reload``: the hook refuses every socket operation, process creation, signals to
  other processes, ``ctypes`` symbol and memory access, and any file write, rename, removal or
  permission change outside the temporary directory.

The audit hook is best effort against deliberate escapes (native extensions already loaded can
bypass it); it is meant to stop mistakes and casual misuse, not a determined attacker.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SandboxResult", "network_namespace_prefix", "run_python"]

_TAIL_CHARS = 2000
_MAX_FILE_BYTES = 64 * 1024 * 1024

# Runs inside the child. It reads a nonce from stdin before any untrusted code exists, so a
# program that calls `sys.exit(0)` or `os._exit(0)` before its tests finish does not pass by
# mistake: only the bootstrap prints the nonce, after the whole program returned. (Code written
# to cheat could still find the nonce in this frame; see the module's threat model.)
_CHILD_BOOTSTRAP = r"""
import os
import resource
import sys


def _limit_resources(cpu_seconds, memory_bytes, file_bytes):
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _install_guard(root):
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    allowed_devices = (os.devnull,)
    # event -> (position of a path argument, position of the dir_fd it is relative to or None)
    path_events = {
        "os.remove": ((0, 1),),
        "os.rmdir": ((0, 1),),
        "os.mkdir": ((0, 2),),
        "os.rename": ((0, 2), (1, 3)),
        "os.link": ((0, 2), (1, 3)),
        "os.symlink": ((1, 2),),
        "os.chmod": ((0, 2),),
        "os.chown": ((0, 3),),
        "os.utime": ((0, 3),),
        "os.truncate": ((0, None),),
        "shutil.rmtree": ((0, 1),),
    }
    refused_prefixes = (
        "socket.", "subprocess.", "ctypes.", "os.exec", "os.spawn", "os.posix_spawn"
    )
    refused_events = {"os.system", "os.fork", "os.forkpty", "os.kill", "os.killpg", "pty.spawn"}
    # Loading a library is harmless and numpy needs it; reaching its symbols is what is refused.
    allowed_events = {"ctypes.dlopen"}

    def resolve(path, dir_fd):
        # Descriptors, and paths relative to one, are resolved through /proc so that fchmod and
        # shutil.rmtree inside the sandbox keep working; without /proc they are refused.
        if isinstance(path, int):
            path, dir_fd = "/proc/self/fd/%d" % path, None
        path = os.fsdecode(path)
        if dir_fd is not None and dir_fd >= 0 and not os.path.isabs(path):
            path = os.path.join(os.readlink("/proc/self/fd/%d" % dir_fd), path)
        return os.path.realpath(path)

    def inside(path, dir_fd=None):
        try:
            real = resolve(path, dir_fd)
        except (OSError, TypeError, ValueError):
            return False
        return real == root or real.startswith(root + os.sep) or real in allowed_devices

    def refuse(what):
        raise PermissionError("sandbox: %s refused" % what)

    def hook(event, args):
        if event == "open":
            path, _mode, flags = args
            if isinstance(path, int):
                return
            if flags is not None and flags & write_flags:
                if not inside(path):
                    refuse("write outside the working directory (%s)" % (path,))
            elif not inside(path) and os.path.isdir(path):
                # A directory descriptor from outside would let dir_fd-relative calls, whose
                # audit events carry no directory, write anywhere.
                refuse("opening a directory outside the working directory (%s)" % (path,))
        elif event in path_events:
            for path_at, dir_fd_at in path_events[event]:
                dir_fd = None if dir_fd_at is None else args[dir_fd_at]
                if not inside(args[path_at], dir_fd):
                    refuse("%s outside the working directory (%s)" % (event, args[path_at]))
        elif event in refused_events or (
            event.startswith(refused_prefixes) and event not in allowed_events
        ):
            refuse(event.replace("socket.", "network access: socket."))

    sys.addaudithook(hook)


def _main():
    _limit_resources(*(int(limit) for limit in sys.argv[2:5]))
    nonce = sys.stdin.readline().strip()
    with open(sys.argv[1], encoding="utf-8") as handle:
        source = handle.read()
    _install_guard(os.path.realpath(os.getcwd()))
    code = compile(source, "solution.py", "exec")
    exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
    sys.stdout.flush()
    os.write(1, ("\n" + nonce + "\n").encode())


_main()
"""


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """Outcome of one sandboxed run; ``error`` is None exactly when the run passed."""

    passed: bool
    timed_out: bool
    error: str | None
    stdout_tail: str


@functools.cache
def network_namespace_prefix() -> tuple[str, ...]:
    """The command prefix that gives the child its own empty network namespace, or ``()``.

    Probed once per process because whether user or network namespaces may be created depends
    on the kernel, its sysctls, AppArmor and our privileges, none of which change while running.
    """
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return ()
    for prefix in (("unshare", "--user", "--net"), ("unshare", "--net")):
        try:
            probe = subprocess.run(
                [*prefix, sys.executable, "-I", "-c", "pass"],
                capture_output=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return prefix
    return ()


def _tail(path: Path) -> str:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 4 * _TAIL_CHARS))
        return handle.read().decode("utf-8", errors="replace")


def _failure_reason(returncode: int, stderr: str) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    if returncode == 0:
        return "the program exited before its tests finished"
    return lines[-1][:500] if lines else f"exit status {returncode}"


def run_python(
    code: str, tests: str, *, timeout_s: float = 10.0, memory_mb: int = 1024
) -> SandboxResult:
    """Run ``code`` followed by ``tests`` in a sandboxed child; it passes if it finishes cleanly.

    Raises ``ValueError`` for a non-positive limit, since a zero limit would only ever report
    failures that are the caller's mistake, not the code's.
    """
    if timeout_s <= 0 or memory_mb <= 0:
        raise ValueError("timeout_s and memory_mb must be positive")
    nonce = secrets.token_hex(16)
    cpu_seconds = math.ceil(timeout_s) + 1
    with tempfile.TemporaryDirectory(prefix="nsed-sandbox-") as tmp:
        workdir = Path(tmp)
        program = workdir / "solution.py"
        program.write_text(f"{code}\n\n{tests}\n", encoding="utf-8")
        stdout_path, stderr_path = workdir / ".stdout", workdir / ".stderr"
        env = {"HOME": tmp, "TMPDIR": tmp, "PATH": os.defpath, "LANG": "C.UTF-8"}
        argv = [*network_namespace_prefix(), sys.executable, "-I", "-B", "-c", _CHILD_BOOTSTRAP]
        limits = [str(cpu_seconds), str(memory_mb * 1024 * 1024), str(_MAX_FILE_BYTES)]
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            proc = subprocess.Popen(
                [*argv, str(program), *limits],
                cwd=tmp,
                env=env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            try:
                proc.communicate(input=f"{nonce}\n".encode(), timeout=timeout_s)
                wall_timeout = False
            except subprocess.TimeoutExpired:
                wall_timeout = True
                # The child leads its own session, so its pid is the group id of everything it
                # started; the group is still alive here because the child is not reaped yet.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        stdout, stderr = _tail(stdout_path), _tail(stderr_path)
    returncode = proc.returncode
    finished = returncode == 0 and stdout.endswith(f"\n{nonce}\n")
    stdout = stdout.removesuffix(f"\n{nonce}\n")[-_TAIL_CHARS:]
    timed_out = wall_timeout or returncode == -signal.SIGXCPU
    if finished and not wall_timeout:
        return SandboxResult(passed=True, timed_out=False, error=None, stdout_tail=stdout)
    error = f"timed out after {timeout_s:g}s" if timed_out else _failure_reason(returncode, stderr)
    return SandboxResult(passed=False, timed_out=timed_out, error=error, stdout_tail=stdout)
