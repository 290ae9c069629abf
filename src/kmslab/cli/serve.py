"""``kmslab serve``: the local KMS on an HTTP endpoint (:mod:`kmslab.server`).

The command builds the LocalKMS and hands it to the server, so where the keys live is
decided here. Startup errors (port in use, invalid port, not an address) print one line
and exit with status 2, as argparse does for bad arguments.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from kmslab.exceptions import ServerStartError, StoreError
from kmslab.kms import LocalKMS
from kmslab.server import KMSServer

if TYPE_CHECKING:
    from kmslab.kms.store import Store

__all__ = ["DEFAULT_PORT", "HELP", "configure", "run"]

HELP = "serve a local KMS over HTTP for the AWS CLI and other SDKs (--endpoint-url)"

DEFAULT_PORT = 8080


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", default=None, help=f"port (default {DEFAULT_PORT}; 0 = any free port)"
    )
    parser.add_argument(
        "--region",
        default="us-east-1",
        help="the Region to start with (default us-east-1); a request signed for another "
        "Region reaches that Region of the same account",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another name clients may use in the Host header (repeatable); "
        "localhost, 127.0.0.1, [::1] and the bound address are always allowed",
    )
    parser.add_argument(
        "--store",
        metavar="PATH",
        help="keep keys in this SQLite file (and PATH.root-key) so they survive restarts; "
        "default: in memory",
    )


def _port(value: str | None) -> int:
    if value is None:
        return DEFAULT_PORT
    try:
        return int(value)
    except ValueError:
        raise ServerStartError(f"invalid port {value!r}: choose one from 0 to 65535") from None


def _start(args: argparse.Namespace) -> KMSServer:
    port = _port(args.port)
    try:
        kms = LocalKMS(region=args.region, store=args.store)
    except (StoreError, ValueError) as exc:  # store in use, root key missing; no Region name
        raise ServerStartError(str(exc)) from None
    try:
        return KMSServer(kms, args.host, port, allowed_hosts=args.allow_host)
    except ServerStartError as exc:
        kms.close()
        if args.port is None:  # the default was taken: say how to choose another
            raise ServerStartError(
                f"{exc}; choose another with --port N (--port 0 picks a free one)"
            ) from None
        raise


def _print_identities(kms: LocalKMS) -> None:
    """Which access key ID acts as which IAM identity (any other: the administrator role)."""
    iam = kms.iam
    others = [p for p in iam.principals if p is not iam.default]
    print(f"  the access key chooses who calls (any other: {iam.default.caller_arn}):")
    for principal in others:
        print(f"    AWS_ACCESS_KEY_ID={principal.access_key_id}  {principal.caller_arn}")


def _count(kms: LocalKMS) -> str:
    """ "N keys in M Regions": every Region of the account the store holds, not only the
    one served first (a request signed for another Region reaches that one)."""
    regions = kms.aws_account.regions
    keys = sum(len(region.keys) for region in regions.values())
    return f"{_plural(keys, 'key')} in {_plural(len(regions), 'Region')}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """``kill`` (SIGTERM) stops the server as Ctrl-C does: the store is closed cleanly (its
    WAL checkpointed into the database file, its lock released). A second one kills."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """``kmslab serve``: serve until Ctrl-C or SIGTERM."""
    try:
        server = _start(args)
    except ServerStartError as exc:
        print(f"kmslab serve: {exc}", file=sys.stderr)
        return 2
    if server.exposed:
        print(
            f"kmslab serve: WARNING: {server.url} is reachable from other machines, and this "
            "server has no authentication: anyone who can connect can use and delete its keys.",
            file=sys.stderr,
        )
    store = server.kms.store
    if store is not None:
        print(f"kmslab: keys kept in {store.path} ({_count(server.kms)})")
        before, after = store.migrated
        if 0 < before < after:
            print(f"kmslab: store schema migrated from version {before} to {after}")
    print(f"kmslab: local KMS on {server.url} (Ctrl-C to stop)")
    print(f"  aws kms list-keys --endpoint-url {server.url} --region {args.region}")
    print(f"  export AWS_ENDPOINT_URL_KMS={server.url}")
    _print_identities(server.kms)
    sys.stdout.flush()
    if threading.current_thread() is threading.main_thread():  # signals go to the main thread
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        server.kms.close()  # the store, if any: its clock saved, its lock released
        if store is not None:
            _warn_if_wal_kept(store)
    return 0


def _warn_if_wal_kept(store: Store) -> None:
    """The checkpoint at close failed: a copy of PATH alone (the README's backup) would
    miss the latest changes, or be malformed. Say which file to keep."""
    wal = store.path.with_name(store.path.name + "-wal")
    try:
        kept = wal.stat().st_size > 0
    except OSError:
        kept = False
    if kept and store.checkpoint_failed is not None:
        print(
            f"kmslab serve: the store's latest changes are still in {wal} (the checkpoint "
            f"failed: {store.checkpoint_failed}); keep that file with {store.path}.",
            file=sys.stderr,
        )
