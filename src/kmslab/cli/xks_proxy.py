"""``kmslab xks-proxy``: an external key store proxy (AWS's XKS Proxy API) on 127.0.0.1."""

from __future__ import annotations

import argparse
import contextlib
import json

from kmslab.xks import XksProxy

__all__ = ["HELP", "configure", "run"]

HELP = "run an external key store proxy (XKS Proxy API) holding its own AES-256 keys"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0 = any free)")
    parser.add_argument(
        "--uri-path", default="/kms/xks/v1", help="XksProxyUriPath served (default /kms/xks/v1)"
    )
    parser.add_argument(
        "--key", action="append", default=[], metavar="ID", help="external key id (repeatable)"
    )


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; print the configuration a custom key store needs (the AWS KMS
    console's proxy configuration file, with the credential)."""
    proxy = XksProxy(uri_path=args.uri_path)
    for key_id in args.key or ["kmslab-external-key-1"]:
        proxy.keys.create(key_id)
    config = {
        "XksProxyUriPath": proxy.uri_path,
        "XksProxyAuthenticationCredential": proxy.authentication_credential,
    }

    def ready(p: XksProxy) -> None:
        print(f"kmslab: external key store proxy on http://{args.host}:{p.port} (Ctrl-C to stop)")
        print(f"  keys: {', '.join(sorted(p.keys.by_id))}")
        print(f"  proxy configuration: {json.dumps(config)}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        proxy.serve_forever(args.host, args.port, ready)
    return 0
