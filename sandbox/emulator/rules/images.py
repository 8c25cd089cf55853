"""EC2 images: RegisterImage as AWS does it, plus a seeding hook for image states moto cannot reach.

moto 5.2's RegisterImage keeps only Name and Description: the image has no architecture, no tags and is
``available`` at once. The golden-AMI logic filters by architecture and by tags, so this rule makes
RegisterImage honour what the real API takes:

* ``Architecture`` (default ``x86_64`` as on AWS), ``RootDeviceName``, ``VirtualizationType`` (default ``hvm``);
* ``TagSpecifications`` for ``image`` (tags appear on the image in the same call, as on AWS);
* ``ImdsSupport`` (``v2.0``), readable with DescribeImageAttribute ``imdsSupport`` and settable once with
  ModifyImageAttribute ``ImdsSupport`` (moto 5.2 raises on the first and ignores the second).

It also adds one sandbox-only hook so tests can seed states a real account reaches only over time.
Image tags whose key starts with ``sandbox:`` are consumed (never stored) and set:

* ``sandbox:state``          the image state, e.g. ``pending``, ``failed``, ``disabled`` (default ``available``);
* ``sandbox:owner``          ``amazon`` makes the image an Amazon-owned public image (owner 137112412989,
                             alias ``amazon``) like the official AL2023 images; otherwise an account id;
* ``sandbox:creation-date``  ISO-8601 creation time, to seed old images or CreationDate ties.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

SANDBOX_TAG_PREFIX = "sandbox:"
AMAZON_OWNER_ID = "137112412989"
_VALID_STATES = {"pending", "available", "invalid", "deregistered", "transient", "failed", "error", "disabled"}


def _parse_creation_date(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _apply_seed(image: Any, seed: dict[str, str]) -> None:
    state = seed.get("state")
    if state is not None:
        if state not in _VALID_STATES:
            raise ValueError(f"sandbox:state must be one of {sorted(_VALID_STATES)}, not {state!r}")
        image.state = state
    owner = seed.get("owner")
    if owner == "amazon":
        image.owner_id = AMAZON_OWNER_ID
        image.owner_alias = "amazon"
        if {"Group": "all"} not in image.launch_permissions:
            image.launch_permissions.append({"Group": "all"})
    elif owner:
        image.owner_id = owner
    if "creation-date" in seed:
        image.creation_date = _parse_creation_date(seed["creation-date"])


def install() -> None:
    """Replace moto's RegisterImage response handler with one that keeps architecture and tags."""
    from moto.core.responses import ActionResult, EmptyResult
    from moto.ec2.models.amis import Ami
    from moto.ec2.responses.amis import AmisResponse

    if getattr(AmisResponse.register_image, "_org_platform_rule", False):
        return
    Ami.imds = None  # type: ignore[attr-defined]  # DescribeImageAttribute imdsSupport reads ami.imds
    original_modify = AmisResponse.modify_image_attribute

    def register_image(self: AmisResponse) -> ActionResult:
        name = self._get_param("Name")
        description = self._get_param("Description", "")
        tag_specifications = self._get_param("TagSpecifications", [])
        self.error_on_dryrun()

        tags: dict[str, str] = {}
        seed: dict[str, str] = {}
        for specification in tag_specifications:
            if specification.get("ResourceType") != "image":
                continue
            for tag in specification.get("Tags", []):
                key, value = tag["Key"], tag.get("Value", "")
                if key.startswith(SANDBOX_TAG_PREFIX):
                    seed[key[len(SANDBOX_TAG_PREFIX) :]] = value
                else:
                    tags[key] = value

        image = self.ec2_backend.register_image(name, description)
        image.architecture = self._get_param("Architecture") or "x86_64"
        image.virtualization_type = self._get_param("VirtualizationType") or "hvm"
        image.root_device_name = self._get_param("RootDeviceName") or image.root_device_name
        image.root_device_type = "ebs"
        image.imds = self._get_param("ImdsSupport") or None
        for key, value in tags.items():
            image.add_tag(key, value)
        _apply_seed(image, seed)
        return ActionResult({"ImageId": image.id})

    def modify_image_attribute(self: AmisResponse) -> Any:
        imds_support = self._get_param("ImdsSupport", {})
        value = imds_support.get("Value") if isinstance(imds_support, dict) else imds_support
        if value:
            self.error_on_dryrun()
            image = self.ec2_backend.describe_images(ami_ids=[self._get_param("ImageId")])[0]
            image.imds = value
            return EmptyResult()
        return original_modify(self)

    register_image._org_platform_rule = True  # type: ignore[attr-defined]
    AmisResponse.register_image = register_image  # type: ignore[method-assign]
    AmisResponse.modify_image_attribute = modify_image_attribute  # type: ignore[method-assign]
