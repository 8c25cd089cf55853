"""Stand-in for the SSM agent, run inside each node by the unit ``amazon-ssm-agent.service``.

Python standard library only (the node has python3, no boto3). Like the real agent it takes the
instance's own credentials from instance metadata (IMDSv2, at ``$AWS_EC2_METADATA_SERVICE_ENDPOINT``),
and reports to the SSM endpoint (``$AWS_ENDPOINT_URL_SSM``) with a SigV4-signed
``UpdateInstanceInformation`` every ``$SSM_AGENT_PING_S`` seconds; until that call succeeds the instance
is not ``Online`` in ``DescribeInstanceInformation``. Failures are logged and retried, never fatal.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import platform
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

AGENT_VERSION = "3.3.0.0-sandbox"


def imds(path: str, token: str | None = None, method: str = "GET") -> str:
    base = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"].rstrip("/")
    headers = {"X-aws-ec2-metadata-token-ttl-seconds": "300"} if method == "PUT" else {}
    if token:
        headers["X-aws-ec2-metadata-token"] = token
    request = urllib.request.Request(f"{base}/latest/{path}", method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - fixed scheme from config
        return response.read().decode()


def instance_credentials() -> tuple[str, dict]:
    token = imds("api/token", method="PUT")
    instance_id = imds("meta-data/instance-id", token)
    role = imds("meta-data/iam/security-credentials/", token).strip()
    creds = json.loads(imds(f"meta-data/iam/security-credentials/{role}", token))
    return instance_id, creds


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signed_request(url: str, region: str, target: str, body: bytes, creds: dict) -> urllib.request.Request:
    """A SigV4-signed AWS JSON 1.1 request for service ``ssm``."""
    parsed = urllib.parse.urlparse(url)
    now = datetime.datetime.now(datetime.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": parsed.netloc,
        "x-amz-date": amz_date,
        "x-amz-security-token": creds["Token"],
        "x-amz-target": target,
    }
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            "POST",
            parsed.path or "/",
            "",
            "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/ssm/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(("AWS4" + creds["SecretAccessKey"]).encode(), day)
    for part in (region, "ssm", "aws4_request"):
        key = _sign(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={creds['AccessKeyId']}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
    return urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http endpoint


def report(instance_id: str, creds: dict) -> None:
    url = os.environ["AWS_ENDPOINT_URL_SSM"].rstrip("/") + "/"
    region = os.environ.get("AWS_REGION", "us-east-1")
    body = json.dumps(
        {
            "InstanceId": instance_id,
            "AgentName": "amazon-ssm-agent",
            "AgentVersion": AGENT_VERSION,
            "AgentStatus": "Active",
            "PlatformType": "Linux",
            "PlatformName": "Debian GNU/Linux",
            "PlatformVersion": platform.release(),
            "ComputerName": platform.node(),
            "IPAddress": os.environ.get("NODE_PRIVATE_IP", ""),
        }
    ).encode()
    request = signed_request(url, region, "AmazonSSM.UpdateInstanceInformation", body, creds)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - fixed scheme from config
        response.read()


def main() -> int:
    interval = float(os.environ.get("SSM_AGENT_PING_S", "5"))
    registered = False
    while True:
        try:
            instance_id, creds = instance_credentials()
            report(instance_id, creds)
            if not registered:
                print(f"registered {instance_id} with SSM", flush=True)
                registered = True
        except (OSError, ValueError, KeyError, urllib.error.URLError) as exc:
            detail = exc.read().decode(errors="replace")[:300] if isinstance(exc, urllib.error.HTTPError) else ""
            print(f"cannot reach SSM: {exc} {detail}", file=sys.stderr, flush=True)
            registered = False
        # Until registered, retry every second (the real agent backs off too, but a sandbox boot is fast).
        time.sleep(interval if registered else min(interval, 1.0))


if __name__ == "__main__":
    sys.exit(main())
