# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node-side helpers of the RKE2 modules: the instance's own AWS credentials, S3 and SSM without boto3.

Runs on the EC2 node (the golden image has Python 3 but no boto3). Credentials come from the instance
metadata service (IMDSv2, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html);
requests are signed with Signature Version 4
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html) and go to the
regional endpoints, which the VPC's gateway (S3) and interface (SSM) endpoints answer.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import urllib.error
import urllib.parse

from ansible.module_utils.urls import open_url

IMDS_DEFAULT = "http://169.254.169.254/"
TIMEOUT_S = 20
CHUNK = 1 << 20


class NodeAwsError(Exception):
    """An AWS call from the node failed; the message names the call and never carries a secret."""


def _open(request: tuple, what: str, timeout: float = TIMEOUT_S):
    """Send (method, url, body, headers); no proxy (the VPC endpoints are reached directly)."""
    method, url, body, headers = request
    try:
        return open_url(url, data=body, headers=headers, method=method, timeout=timeout, use_proxy=False)
    except urllib.error.HTTPError as exc:
        body = exc.read()[:300].decode(errors="replace")
        raise NodeAwsError(f"{what}: HTTP {exc.code} {exc.reason} {body}".strip()) from None
    except (urllib.error.URLError, OSError) as exc:
        raise NodeAwsError(f"{what}: {getattr(exc, 'reason', exc)}") from None


def instance_credentials(imds_endpoint: str) -> dict:
    """AccessKeyId, SecretAccessKey and Token of the instance profile, through IMDSv2."""
    base = (imds_endpoint or IMDS_DEFAULT).rstrip("/") + "/latest/"
    put = ("PUT", base + "api/token", None, {"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    with _open(put, "instance metadata token") as answer:
        token = answer.read().decode()
    headers = {"X-aws-ec2-metadata-token": token}
    path = base + "meta-data/iam/security-credentials/"
    with _open(("GET", path, None, headers), "instance profile name") as answer:
        role = answer.read().decode().strip().splitlines()[0]
    with _open(("GET", path + role, None, headers), "instance profile credentials") as answer:
        creds = json.loads(answer.read().decode())
    return {k: creds[k] for k in ("AccessKeyId", "SecretAccessKey", "Token")}


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signed(method: str, url: str, service: str, region: str, creds: dict, body: bytes = b"", headers=None):
    """A SigV4-signed (method, url, body, headers) (payload hashed; query string already canonical)."""
    parsed = urllib.parse.urlsplit(url)
    now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - nodes may run Python 3.9
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    all_headers = {k.lower(): v for k, v in (headers or {}).items()}
    all_headers.update(
        {"host": parsed.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload,
         "x-amz-security-token": creds["Token"]}
    )  # fmt: skip
    names = ";".join(sorted(all_headers))
    canonical = "\n".join(
        [method, urllib.parse.quote(parsed.path or "/", safe="/~"), parsed.query,
         "".join(f"{k}:{str(all_headers[k]).strip()}\n" for k in sorted(all_headers)), names, payload]
    )  # fmt: skip
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + creds["SecretAccessKey"]).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    all_headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={creds['AccessKeyId']}/{scope}, SignedHeaders={names}, Signature={signature}"
    )
    return method, url, body or None, all_headers


def s3_url(endpoint: str, region: str, bucket: str, key: str) -> str:
    quoted = urllib.parse.quote(key, safe="/~")
    if endpoint:  # an endpoint override (the sandbox): path style, as the SDKs do for a custom endpoint
        return f"{endpoint.rstrip('/')}/{bucket}/{quoted}"
    return f"https://{bucket}.s3.{region}.amazonaws.com/{quoted}"


def s3_get(endpoint: str, region: str, creds: dict, bucket: str, key: str, dest: str | None = None):
    """GET s3://bucket/key: the bytes, or streamed to dest (sha256 returned)."""
    request = signed("GET", s3_url(endpoint, region, bucket, key), "s3", region, creds)
    digest = hashlib.sha256()
    with _open(request, f"s3://{bucket}/{key}", timeout=120) as answer:
        if dest is None:
            return answer.read()
        tmp = dest + ".part"
        with open(tmp, "wb") as out:
            while chunk := answer.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        os.replace(tmp, dest)
    return digest.hexdigest()


def ssm_secure_parameter(endpoint: str, region: str, creds: dict, name: str) -> str:
    """The decrypted value of an SSM parameter (GetParameter, WithDecryption)."""
    url = (endpoint.rstrip("/") + "/") if endpoint else f"https://ssm.{region}.amazonaws.com/"
    body = json.dumps({"Name": name, "WithDecryption": True}).encode()
    headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameter"}
    with _open(signed("POST", url, "ssm", region, creds, body, headers), f"SSM GetParameter {name}") as answer:
        parameter = json.loads(answer.read().decode())["Parameter"]
    if parameter.get("Type") != "SecureString":
        raise NodeAwsError(f"SSM parameter {name} is a {parameter.get('Type')}, not a SecureString")
    return parameter["Value"]


def parse_checksums(text: str) -> dict[str, str]:
    """`sha256  name` lines of a release's sha256sum-<arch>.txt."""
    sums = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 64:
            sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def file_sha256(path: str) -> str | None:
    if not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
