"""Which addresses count as this machine only (standard library only: the command line checks ``--host`` before
it imports the web stack)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a bind address or a ``Host`` header's name, without port; IPv6 with or without
    brackets) is a loopback address: ``localhost``, ``127.0.0.0/8`` or ``::1``. ``0.0.0.0`` and ``::`` (every
    interface) are not."""
    name = host.strip().lower().strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
