"""``tqse serve [--host 127.0.0.1] [--port 8080] [-n MODEL | --checkpoint DIR]``: the web page (docs/SERVE.md)."""

from __future__ import annotations

import argparse
import logging

from tqse.serve.service import ServeConfig

log = logging.getLogger("tqse.serve")


def register(subparsers) -> None:
    d = ServeConfig()
    p = subparsers.add_parser(
        "serve", help="a local web page: upload a mixture, describe a sound, listen and compare",
        description="Serve a web page (and a JSON API) that extracts sounds with one model. Listens on "
                    "localhost only unless --host says otherwise. Example: tqse serve --port 8080",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default=d.host, help="address to listen on (0.0.0.0 = every interface: "
                   "reachable from other machines, without authentication)")
    p.add_argument("--port", type=int, default=d.port, help="TCP port (0 = any free port)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("-n", "--name", dest="model", help="model name (or directory); default: the default model")
    which.add_argument("--checkpoint", dest="model", help="model directory")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--max-upload-mb", type=float, default=d.max_upload_mb, help="largest request body")
    p.add_argument("--max-seconds", type=float, default=d.max_seconds, help="longest mixture or audio query")
    p.add_argument("--max-queue", type=int, default=d.max_queue,
                   help="extractions waiting or running at once; more are refused with 503")
    p.add_argument("--result-ttl", type=float, default=d.result_ttl_s, dest="result_ttl_s",
                   help="seconds results stay downloadable")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqse.serve.server import serve

    config = ServeConfig(host=args.host, port=args.port, model=args.model, device=args.device,
                         max_upload_mb=args.max_upload_mb, max_seconds=args.max_seconds,
                         max_queue=args.max_queue, result_ttl_s=args.result_ttl_s)
    serve(config)
    return 0
