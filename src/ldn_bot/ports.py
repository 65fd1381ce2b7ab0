"""Ports the servers listen on: found free, checked, or bound before anything heavy loads."""

from __future__ import annotations

import errno
import socket


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (for tests and child servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PortInUse(RuntimeError):
    """A port serve needs is held by another program."""

    def __init__(self, port: int, option: str) -> None:
        super().__init__(f"port {port} is in use by another program: choose {option} or stop it")
        self.port = port


def check_port_free(port: int, *, host: str = "127.0.0.1", option: str = "--port") -> None:
    """Raise `PortInUse` when another program listens on `host:port`.

    With SO_REUSEADDR, as the servers bind: connections of a previous run left in
    TIME_WAIT do not count, a listening socket does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(port, option) from None
            raise


def listening_socket(host: str, port: int) -> socket.socket:
    """`host:port` bound for a server to listen on; `PortInUse` when another program has it.

    Binding here, before anything heavy loads, leaves no moment for another program to
    take the port between the check and the server's start.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(port, "--port") from None
        raise
    return sock
