"""``circle15 serve [CONFIG]``: the command's arguments, and the studio it starts."""

from __future__ import annotations

import argparse
import sys
import threading
import webbrowser
from pathlib import Path

from .. import __version__
from ..errors import Circle15Error, ConfigError
from ._extra import require_studio_extra

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_serve_parser(sub) -> argparse.ArgumentParser:
    """Add the ``serve`` subcommand to the ``circle15`` parser's subparsers."""
    serve = sub.add_parser(
        "serve",
        help="open the planning studio: click sites on a map and watch coverage, "
        "gaps and the index change (no CONFIG: the Zhenhai demo)",
    )
    serve.add_argument(
        "config",
        nargs="?",
        type=Path,
        help="study TOML file; omit it to use the embedded Zhenhai demo",
    )
    serve.add_argument(
        "--scenario", type=Path, help="scenario TOML to start from (its edits can be undone)"
    )
    serve.add_argument(
        "--port", type=int, default=8765, help="port to listen on (default 8765; 0: any free port)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only)",
    )
    serve.add_argument(
        "--out",
        type=Path,
        help="output folder for saved scenarios and exports (default: out/<study name>)",
    )
    serve.add_argument(
        "--no-browser", action="store_true", help="do not open the page in a web browser"
    )
    serve.add_argument("--quiet", action="store_true", help="no progress messages")
    serve.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return serve


def run_serve_command(args: argparse.Namespace) -> int:
    """Load and run the study, start the studio and serve until Ctrl-C."""
    require_studio_extra()
    from .server import listen

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port}: give a port between 1 and 65535 (0: any)")
    try:  # before the study loads: a taken port is known at once
        sock = listen(args.host, args.port)
    except OSError as exc:
        raise Circle15Error(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc});"
            " another program may use the port: try --port 0 for a free "
            "one"
        ) from None
    try:
        return _serve(args, sock)
    finally:
        sock.close()


def _serve(args: argparse.Namespace, sock) -> int:
    from ..progress import Progress
    from ..study import Study
    from .app import create_app
    from .server import serve_forever, url_of
    from .studio import Studio

    progress = Progress(enabled=not args.quiet)
    study = Study.from_config(args.config, progress) if args.config else Study.demo(progress)
    result = study.run()
    studio = Studio.from_study(study, out_dir=args.out, result=result)
    studio.study_arg = str(args.config) if args.config else ""
    if args.scenario:
        with progress.step(f"applying the scenario {args.scenario}"):
            studio.load_scenario_file(args.scenario)
    with progress.step("preparing the page"):
        studio.study()
    url = url_of(sock)
    hosts = None if args.host in LOOPBACK else ["*"]
    app = create_app(studio, allowed_hosts=hosts)
    print(f"circle15 {__version__}: {result.title}")
    if result.synthetic:
        print("NOTE: synthetic demo data — " + result.notice)
    for line in result.diagnostics.get("warnings", []):
        print(f"WARNING: {line}")  # as circle15 run prints them
    if hosts is not None:
        print(
            f"WARNING: listening on {args.host}: anyone who can reach this computer can "
            "edit the studio and write into its output folder; it has no login"
        )
    print(f"studio at {url} (output folder {studio.out_dir}); Ctrl-C to stop", flush=True)
    if not args.no_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        serve_forever(app, sock)
    except KeyboardInterrupt:
        pass
    print("studio stopped", file=sys.stderr)
    return 0
