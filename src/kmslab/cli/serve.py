"""``kmslab serve``: the local KMS on an HTTP endpoint (:mod:`kmslab.server`)."""

from __future__ import annotations

import argparse

from kmslab.kms import LocalKMS
from kmslab.server import KMSServer

__all__ = ["HELP", "configure", "run"]

HELP = "serve a local KMS over HTTP for the AWS CLI and other SDKs (--endpoint-url)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any free)")
    parser.add_argument("--region", default="us-east-1", help="Region in the ARNs")


def run(args: argparse.Namespace) -> int:
    """``kmslab serve``: serve until Ctrl-C."""
    server = KMSServer(LocalKMS(region=args.region), args.host, args.port)
    print(f"kmslab: local KMS on {server.url} (Ctrl-C to stop)")
    print(f"  aws kms list-keys --endpoint-url {server.url} --region {args.region}")
    print(f"  export AWS_ENDPOINT_URL_KMS={server.url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
