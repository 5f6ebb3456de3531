"""The emulator process: `python -m sandbox.server` serves moto, with the sandbox's emulation extensions,
on 127.0.0.1 only, and a stand-in for the API's /health beside it. Once both listen, it prints
one JSON line: {"endpoint": "http://127.0.0.1:<port>", "health_url": "http://127.0.0.1:<port>/health"}."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any

HOST = "127.0.0.1"  # never another address: the emulator accepts any credentials


def seed_hosted_zone(zone_id: str, domain: str) -> None:
    """The public hosted zone exists before the first deploy (the stacks name it by id)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.route53.models import route53_backends

    backend = route53_backends[DEFAULT_ACCOUNT_ID]["aws"]
    zone = backend.create_hosted_zone(f"{domain}.", private_zone=False, comment="sandbox: the account's public zone")
    backend.zones.pop(zone.resource_id)
    zone.resource_id = zone_id
    backend.zones[zone_id] = zone


def health_app(region: str, cluster: str, service: str) -> Any:
    """The API container's /health, standing in for it: 200 unless a failing release runs.
    `/health` answers for the service in the primary region, `/<region>/health` in another."""
    from moto.core import DEFAULT_ACCOUNT_ID

    from sandbox.emulation import app_healthy, service_images

    primary = region

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        parts = environ.get("PATH_INFO", "").strip("/").split("/")
        if parts[-1] != "health" or len(parts) > 2:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        where = parts[0] if len(parts) == 2 else primary
        healthy = app_healthy(DEFAULT_ACCOUNT_ID, where, cluster, service)
        body = {"status": "ok" if healthy else "failing", "images": service_images(DEFAULT_ACCOUNT_ID, where, cluster, service)}
        start_response("200 OK" if healthy else "503 Service Unavailable", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return app


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.server")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--hosted-zone", metavar="ID=DOMAIN", action="append", default=[])
    parser.add_argument("--app", metavar="REGION/CLUSTER/SERVICE", required=True, help="the service the stand-in /health reports on")
    parser.add_argument("--failing-tag", action="append", default=[], help="image tag of a release whose /health fails")
    parser.add_argument("--label", default="", help="where its log is: tells this emulator apart in a process list")
    args = parser.parse_args(argv)

    import warnings

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import WSGIRequestHandler, make_server

    from sandbox import emulation

    # moto warns for every type it does not model; the report lists them instead.
    warnings.simplefilter("ignore")
    logging.getLogger("moto").setLevel(logging.ERROR)
    emulation.install()
    emulation.FAILING_TAGS.update(args.failing_tag)
    for item in args.hosted_zone:
        zone_id, _, domain = item.partition("=")
        seed_hosted_zone(zone_id, domain)

    class Quiet(MotoRequestHandler):
        def log_request(self, *_: Any) -> None:
            pass

    class QuietHealth(WSGIRequestHandler):
        def log_request(self, *_: Any) -> None:
            pass

    server = make_server(HOST, args.port, DomainDispatcherApplication(create_backend_app), threaded=True, request_handler=Quiet)
    region, cluster, service = args.app.split("/")
    health = make_server(HOST, 0, health_app(region, cluster, service), threaded=True, request_handler=QuietHealth)
    endpoint = f"http://{HOST}:{server.server_port}"
    emulation.ENDPOINT["url"] = endpoint
    threading.Thread(target=health.serve_forever, daemon=True).start()
    # SIGTERM (sandbox down, or the runner's cleanup) ends serve_forever as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    print(json.dumps({"endpoint": endpoint, "health_url": f"http://{HOST}:{health.server_port}/health"}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        health.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
