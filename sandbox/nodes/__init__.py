"""Sandbox nodes: real systemd machines for the emulator's EC2 instances, in a VPC with no way out.

* ``image``: the cached debootstrap base image (the golden AMI's root volume);
* ``net``: the VPC's namespaces, bridge and veths; no default route, no NAT;
* ``endpoints``: the "VPC endpoints" (emulator, MariaDB, instance metadata) inside the VPC;
* ``imds``: the instance-metadata stand-in (IMDSv2);
* ``agent``: the SSM agent stand-in that runs in every node;
* ``machine``: one systemd-nspawn machine on an overlay;
* ``service``: the process that follows the emulator's instances (``python -m sandbox up --nodes``).
"""
