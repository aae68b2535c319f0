"""``python -m tanso_devstack run``: broker, every service, gateway and the demo tenant on one machine."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time
from pathlib import Path

from .broker import BOOTSTRAP_ENV, BrokerError, TansuBroker
from .demo import DemoAccount, DemoError, seed_demo
from .platform import Platform, PlatformError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tanso_devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the whole platform and the demo tenant; Ctrl-C stops it")
    run.add_argument("--data-dir", default="data", help="state: SQLite files, keys, logs (default: data)")
    run.add_argument("--port", type=int, default=8000, help="gateway port; services use the next six (default: 8000)")
    run.add_argument("--database-url", default=None,
                     help="URL template with {db}, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/{db} "
                          "(default: SQLite files in the data dir)")
    run.add_argument("--kafka-bootstrap", default=os.environ.get(BOOTSTRAP_ENV),
                     help=f"use this Kafka instead of starting Tansu (default: ${BOOTSTRAP_ENV})")
    run.add_argument("--broker-port", type=int, default=None, help="Tansu port (default: a free port)")
    run.add_argument("--no-demo", action="store_true", help="do not create the demo tenant")
    run.add_argument("--ready-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    return _run(args)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).resolve()
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, _raise_interrupt)
    broker: TansuBroker | None = None
    platform: Platform | None = None
    try:
        bootstrap = args.kafka_bootstrap
        if not bootstrap:
            print("Starting the Tansu broker (memory storage) …", flush=True)
            broker = TansuBroker(args.broker_port, log_path=logs / "tansu.log").start()
            bootstrap = broker.bootstrap
        print(f"Starting the services (logs in {logs}) …", flush=True)
        platform = Platform(data_dir, bootstrap, base_port=args.port, database_url=args.database_url,
                            ready_timeout=args.ready_timeout).start()
        account = None
        if not args.no_demo:
            try:
                account = seed_demo(platform.url, data_dir, progress=lambda line: print(line, flush=True))
            except DemoError as exc:
                print(f"\n!! Demo data incomplete / デモデータの作成に失敗しました:\n   {exc}\n", flush=True)
                account = _known_account(data_dir)
        _banner(platform, bootstrap, broker is not None, logs, account)
        _watch(platform)
    except KeyboardInterrupt:
        pass
    except (BrokerError, PlatformError) as exc:
        print(f"\nTanso could not start / 起動できませんでした:\n{exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the cleanup short
            signal.signal(sig, signal.SIG_IGN)
        print("\nStopping Tanso …", flush=True)
        try:
            if platform is not None:
                platform.stop()
        finally:
            if broker is not None:
                broker.stop()
        print(f"Stopped. State is kept in {data_dir} / 停止しました。", flush=True)
    return 0


def _known_account(data_dir: Path) -> DemoAccount | None:
    from .demo import load_state, state_path

    state = load_state(data_dir)
    if not state.get("tenant_created"):
        return None
    return DemoAccount(state["email"], state["password"], state.get("tenant_id"), state_path(data_dir))


def _banner(platform: Platform, bootstrap: str, tansu: bool, logs: Path, account: DemoAccount | None) -> None:
    lines = [
        "",
        "Tanso is running / Tanso が起動しました",
        f"  Gateway:   {platform.url}",
        f"  API docs:  {platform.url}/docs",
        f"  Kafka:     {bootstrap}" + (" (Tansu, memory only)" if tansu else ""),
        f"  Logs:      {logs}",
    ]
    if account:
        body = shlex.quote(f'{{"email": "{account.email}", "password": "{account.password}"}}')
        lines += [
            "",
            "Demo sign-in / デモ用サインイン:",
            f"  email:     {account.email}",
            f"  password:  {account.password}",
            f"  (saved in {account.state_path})",
            f"  curl -s -X POST {platform.url}/api/identity/token -H 'content-type: application/json' -d {body}",
        ]
    lines += ["", "Press Ctrl-C to stop / Ctrl-C で停止します。"]
    print("\n".join(lines), flush=True)


def _watch(platform: Platform) -> None:
    """Wait for Ctrl-C; say so once when a process dies on its own."""
    reported: set[str] = set()
    while True:
        time.sleep(1.0)
        for name, process in list(platform.processes.items()):
            if process.poll() is not None and name not in reported:
                reported.add(name)
                print(f"!! {name} exited with code {process.returncode}; see {platform.log_path(name)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
