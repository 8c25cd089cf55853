"""The VPC endpoints: listeners inside the VPC's router namespace that reach the host's loopback services.

A listening socket belongs to the network namespace its creating thread was in when ``socket()`` ran, so
this process briefly enters the router namespace with setns(2), creates and binds its sockets, and goes
back; it then accepts connections inside the VPC and opens the upstream connection on the host's
loopback. Served on the endpoint address:

* ``:80``   the emulator (S3, SSM, ssmmessages, ec2messages, STS, Secrets Manager, KMS, EC2: one moto server);
* ``:3306`` MariaDB, standing in for the RDS instance in the db subnet;
* ``:8775`` the instance-metadata stand-in (``sandbox.nodes.imds``), which sees the caller's private IP.

Nothing else listens there, and the router namespace forwards nothing, so these are all a node can reach.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import socket
import threading
from collections.abc import Callable
from pathlib import Path

CLONE_NEWNET = 0x40000000
AWS_PORT = 80
MYSQL_PORT = 3306
IMDS_PORT = 8775
_LIBC = ctypes.CDLL(None, use_errno=True)
_SETNS_LOCK = threading.Lock()


def _setns(fd: int) -> None:
    if _LIBC.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def listen_in_netns(netns_path: Path, address: str, port: int, backlog: int = 64) -> socket.socket:
    """A TCP socket listening on address:port inside the network namespace at ``netns_path``."""
    with _SETNS_LOCK:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(netns_path, os.O_RDONLY)
        try:
            _setns(target)
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address, port))
                sock.listen(backlog)
            finally:
                _setns(own)
        finally:
            os.close(own)
            os.close(target)
    return sock


def _pump(a: socket.socket, b: socket.socket) -> None:
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    open_sides = 2
    try:
        while open_sides:
            for key, _ in sel.select(timeout=600):
                src, dst = key.fileobj, key.data
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(src)
                    open_sides -= 1
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    continue
                dst.sendall(data)
    except OSError:
        pass
    finally:
        sel.close()
        a.close()
        b.close()


class Forwarder:
    """Accepts on a listening socket (in the VPC) and relays each connection to an upstream (loopback)."""

    def __init__(self, listener: socket.socket, upstream: Callable[[], tuple[str, int] | None], name: str):
        self.listener = listener
        self.upstream = upstream
        self.name = name
        self.thread = threading.Thread(target=self._serve, name=f"forward-{name}", daemon=True)

    def start(self) -> Forwarder:
        self.thread.start()
        return self

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            target = self.upstream()
            if target is None:
                client.close()
                continue
            try:
                upstream = socket.create_connection(target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
