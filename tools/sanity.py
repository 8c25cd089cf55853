"""Run `ansible-test sanity` on the collection, offline (`make sanity`).

Two things stand between ansible-test and a machine that reaches only the package registries:

1. Each sanity test runs in a fresh virtualenv that ansible-test seeds with pip by running a `get-pip.py` it
   downloads from ci-files.testing.ansible.com. It looks in `~/.ansible/test/cache/get_pip_<version>.py`
   first, so this tool writes a small stand-in there that does what get-pip does (install pip with the
   arguments ansible-test passes) from the pip wheel of exactly that version, fetched from PyPI by pip.
   The requirements of each sanity test then come from PyPI as usual.
2. validate-modules, import and pylint must resolve the collections we depend on (amazon.aws doc fragments and
   module_utils) inside the same `ansible_collections/` tree as ours. They come from the `ansible` package in
   the virtualenv, not from Galaxy, so the tool lays out a temporary tree outside the repository: a copy of the
   collection's files (tracked and untracked, ignoring what .gitignore ignores) plus links to the dependencies.
   Outside the repository, because inside it ansible-test lists files through git and the tree would be ignored.

    .venv/bin/python tools/sanity.py [ansible-test sanity options, e.g. --test validate-modules]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLLECTION = Path("collections/ansible_collections/org/platform")
CACHE = Path.home() / ".ansible" / "test" / "cache"

GET_PIP_STAND_IN = '''"""Stand-in for get-pip.py {version}, written by org.platform's tools/sanity.py.

It installs pip from the wheel beside it ({wheel_name}) with the arguments ansible-test gives get-pip.
"""
import runpy
import sys

# get-pip's own options, which pip itself does not take.
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.path.insert(0, {wheel!r})
sys.argv = ["pip", "install", "--no-index", "--find-links", {wheel_dir!r}, "--upgrade", "--force-reinstall", *args]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
'''


def pip_version() -> str:
    """The pip version ansible-test seeds its virtualenvs with, for this Python."""
    from ansible_test._internal.python_requirements import get_venv_packages

    class _Python:  # get_venv_packages reads only `.version`
        version = f"{sys.version_info.major}.{sys.version_info.minor}"

    return get_venv_packages(_Python())["pip"]  # type: ignore[arg-type]


def bootstrap_pip(cache: Path = CACHE) -> Path:
    """Write ansible-test's pip bootstrap into ``cache`` from the PyPI wheel; return its path.

    The wheel is downloaded once (into ``cache/pip-wheels``); after that the bootstrap needs no network.
    """
    version = pip_version()
    wheel_dir = cache / "pip-wheels"
    wheel_dir.mkdir(parents=True, exist_ok=True)
    wheels = sorted(wheel_dir.glob(f"pip-{version}-*.whl"))
    if not wheels:
        download = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
                str(wheel_dir),
                f"pip=={version}",
            ],
            check=False,
        )
        if download.returncode != 0:
            raise SystemExit(
                f"tools/sanity.py: could not download the pip {version} wheel from the package index "
                f"(pip download exited {download.returncode}); put pip-{version}-py3-none-any.whl into {wheel_dir}"
            )
        wheels = sorted(wheel_dir.glob(f"pip-{version}-*.whl"))
    if not wheels:
        raise SystemExit(f"tools/sanity.py: no pip {version} wheel in {wheel_dir} after downloading it")
    target = cache / f"get_pip_{version.replace('.', '_')}.py"
    text = GET_PIP_STAND_IN.format(
        version=version, wheel_name=wheels[0].name, wheel=str(wheels[0]), wheel_dir=str(wheel_dir)
    )
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


def collection_files() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", str(COLLECTION)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [name for name in listing.split("\0") if name and (REPO / name).is_file()]


def dependency_root() -> Path:
    """The ansible_collections directory of the `ansible` package in this Python."""
    import ansible_collections.amazon.aws as amazon_aws  # the bundle ships every dependency we declare

    return Path(next(iter(amazon_aws.__path__))).resolve().parents[1]


def dependencies() -> list[str]:
    import yaml

    galaxy = yaml.safe_load((REPO / COLLECTION / "galaxy.yml").read_text())
    return sorted(galaxy.get("dependencies") or {})


def main(argv: list[str]) -> int:
    bootstrap_pip()
    with tempfile.TemporaryDirectory(prefix="org-platform-sanity.") as tmp:
        tree = Path(tmp) / "ansible_collections"
        target = tree / "org" / "platform"
        for name in collection_files():
            relative = Path(name).relative_to(COLLECTION)
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / relative)
        source = dependency_root()
        for fqcn in dependencies():
            namespace, name = fqcn.split(".")
            (tree / namespace).mkdir(parents=True, exist_ok=True)
            (tree / namespace / name).symlink_to(source / namespace / name)
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        command = [
            str(Path(sys.executable).parent / "ansible-test"),
            "sanity",
            "--venv",
            "--python",
            f"{sys.version_info.major}.{sys.version_info.minor}",
            "--color",
            "no",
            *argv,
        ]
        return subprocess.run(command, cwd=target, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
