# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a Terraform directory offline: parse every ``*.tf`` file with python-hcl2 into a ``TerraformModule``.

The stack runner uses it to refuse a stack before any command runs (no backend block, undeclared variables,
unknown outputs); the static checks in ``devtools/tf_static.py`` build on the same loader.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class TerraformStaticError(Exception):
    """A configuration cannot be read (missing directory, HCL syntax error)."""


@dataclass
class TerraformModule:
    """The blocks of one Terraform directory, keyed the way Terraform addresses them."""

    path: Path
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # "aws_vpc.this" -> body
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # "aws_ami.golden" -> body
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)  # "tags" -> body
    providers: list[dict[str, Any]] = field(default_factory=list)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_root(self) -> bool:
        """A stack (root module) configures its provider and backend; a reusable module does not."""
        return bool(self.providers) or any("backend" in block for block in self.terraform)

    def resources_of(self, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        prefix = f"{resource_type}."
        for address, body in self.resources.items():
            if address.startswith(prefix):
                yield address, body

    def module_source(self, name: str) -> str:
        return str(self.modules.get(name, {}).get("source", ""))

    def child_module(self, name: str) -> TerraformModule | None:
        """The called module when its source is a local path, else None."""
        source = self.module_source(name)
        if not source.startswith(("./", "../")):
            return None
        return load_module((self.path / source).resolve())


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------


def parse_hcl(text: str, origin: str = "<string>") -> dict[str, Any]:
    """Parse HCL text into python-hcl2's dict form, quotes stripped, blocks as lists of dicts."""
    import hcl2
    from hcl2 import SerializationOptions

    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    try:
        return hcl2.loads(text, serialization_options=options)
    except Exception as error:  # python-hcl2 raises lark errors of several kinds
        raise TerraformStaticError(f"{origin}: HCL does not parse: {error}") from error


def _blocks(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [block for block in document.get(kind, []) if isinstance(block, dict)]


def load_module(path: Path | str) -> TerraformModule:
    """Parse every ``*.tf`` file directly in ``path`` (not recursive) into one TerraformModule."""
    directory = Path(path)
    if not directory.is_dir():
        raise TerraformStaticError(f"{directory}: not a directory")
    module = TerraformModule(path=directory)
    for tf_file in sorted(directory.glob("*.tf")):
        module.files.append(tf_file)
        document = parse_hcl(tf_file.read_text(encoding="utf-8"), str(tf_file))
        for block in _blocks(document, "variable"):
            module.variables.update(block)
        for block in _blocks(document, "output"):
            module.outputs.update(block)
        for block in _blocks(document, "locals"):
            module.locals.update(block)
        for block in _blocks(document, "module"):
            module.modules.update(block)
        for kind, target in (("resource", module.resources), ("data", module.data)):
            for block in _blocks(document, kind):
                for resource_type, named in block.items():
                    for resource_name, body in named.items():
                        target[f"{resource_type}.{resource_name}"] = body
        module.providers.extend(_blocks(document, "provider"))
        module.terraform.extend(_blocks(document, "terraform"))
    if not module.files:
        raise TerraformStaticError(f"{directory}: no .tf files")
    return module
