"""``python -m sandbox.spacelift --profile medium --port 5050 [--latency-ms 50] …``"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from sandbox.serving import BackgroundServer
from sandbox.spacelift.account import PROFILES, Account
from sandbox.spacelift.faults import Faults
from sandbox.spacelift.server import DEFAULT_KEY_ID, DEFAULT_KEY_SECRET, SandboxSettings, SandboxSpacelift


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.spacelift", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument("--token-ttl", type=int, default=3600, help="seconds a JWT stays valid")
    parser.add_argument("--expired-token", choices=["empty", "unauthorized", "401"], default="empty")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument("--malformed-rate", type=float, default=0.0)
    parser.add_argument("--rate-limit-rps", type=float, default=0.0)
    parser.add_argument(
        "--rate-limit-mode", choices=["429", "429_retry_after", "rate_limit_error"], default="429"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=0.0, help="stop by itself after this long (0 = never)"
    )
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("the sandbox only listens on loopback addresses")

    faults = Faults(latency_ms=args.latency_ms, jitter_ms=args.jitter_ms, error_rate=args.error_rate,
                    drop_rate=args.drop_rate, malformed_rate=args.malformed_rate, rate_limit_rps=args.rate_limit_rps,
                    rate_limit_mode=args.rate_limit_mode)  # fmt: skip
    settings = SandboxSettings(token_ttl_seconds=args.token_ttl, expired_token_behavior=args.expired_token)
    account = Account(args.seed, args.profile, base_url=f"http://{args.host}:{args.port}")
    sandbox = SandboxSpacelift(account, settings, faults)
    server = BackgroundServer(sandbox.app, host=args.host, port=args.port, log_level="warning").start()
    print(f"sandbox Spacelift ({args.profile}, seed {args.seed}) on {server.url}/graphql", flush=True)
    print(f"  API key id {DEFAULT_KEY_ID}  secret {DEFAULT_KEY_SECRET}", flush=True)
    print(f"  counts {account.summary()}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait(args.max_seconds or None)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
