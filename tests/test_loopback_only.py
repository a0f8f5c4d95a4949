"""The suite's network guard (``conftest.loopback_only``) refuses what it should, and only that."""

from __future__ import annotations

import socket

import pytest


def test_a_connection_beyond_loopback_is_refused_before_it_leaves() -> None:
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="only connects to"):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed


def test_loopback_connections_still_work() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            accepted, _ = server.accept()
            accepted.close()
