"""The sandbox's AWS emulator: moto server plus the AWS rules our logic depends on.

moto alone is too forgiving for some of what we test (the list is in sandbox/emulator/README.md):
the modules in ``sandbox.emulator.rules`` add those rules to moto's backends before the server starts.
Each rule module exposes ``install() -> None``; ``install_rules()`` loads them all in name order.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading

from sandbox.emulator import rules as _rules_package


def install_rules() -> list[str]:
    """Import every module in sandbox.emulator.rules and call its install(); return their names."""
    installed = []
    for info in sorted(pkgutil.iter_modules(_rules_package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_rules_package.__name__}.{info.name}")
        module.install()
        installed.append(info.name)
    return installed


def serialize_requests() -> None:
    """Let the server handle one request at a time.

    moto's backends are plain dicts without locks, and its server is threaded: parallel Terraform
    clients (several stacks at once) hit races where a write is stored but the request still fails, the
    SDK retries, and the retry meets its own first write (a DynamoDB state lock "held" by the very
    process asking for it). AWS serialises conditional writes per item; a global lock around moto's
    WSGI dispatcher gives the same guarantee here at no cost that matters on loopback.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if getattr(DomainDispatcherApplication.__call__, "_org_platform_serialized", False):
        return
    original = DomainDispatcherApplication.__call__
    lock = threading.RLock()

    def __call__(self, environ, start_response):
        with lock:
            # Materialise the response inside the lock: the body is built from backend state.
            return list(original(self, environ, start_response))

    __call__._org_platform_serialized = True
    DomainDispatcherApplication.__call__ = __call__
