"""Shared set-up for the whole suite.

The tests mirror the package: ``core/`` (the pure protocol), ``graph/`` (the LangGraph shell on
scripted models), ``broker/``, ``local/`` (embedded models and their server), ``cli/`` (the
``nsed`` commands and ensemble files), ``bench/`` (the harness) and ``docs/`` (README, docs and
examples). The helpers every folder uses (``panels``, ``scripts``, ``record_scenarios``) sit
beside this file; pytest puts this folder on ``sys.path`` when it loads it, so ``from panels
import panel`` works from any folder.

Every test runs with the network closed except loopback (``loopback_only``): the suite talks to
real servers only on 127.0.0.1, and a test that would reach further fails loudly instead of
depending on the machine it runs on.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if not isinstance(host, str):
        return False
    if host.casefold() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any connection of an internet socket to a host that is not loopback.

    Unix sockets (asyncio's self-pipe, for one) are left alone; subprocesses (the weight
    download through pip) are not affected, since they open their own sockets."""
    connect = socket.socket.connect
    connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise ConnectionRefusedError(
                f"the test suite only connects to loopback; this test tried {address!r}"
            )

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
