"""A stand-in for `phishguard serve` in benchmarks/tail_at_75.py: the same aiohttp + uvloop stack, one process,
and a handler that does no scanning but spins the CPU for as long as the real scan of that message takes.

Usage: python benchmarks/straw_server.py COSTS.json
COSTS.json maps each message text to the CPU microseconds to spend on it (texts not in it get the mean).
Listens on 127.0.0.1, a free port, printed on stderr as ``listening on http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import json
import socket
import sys
import time

from aiohttp import web

ANSWER = b'{"verdict":"safe"}'


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        costs = {text: us * 1e-6 for text, us in json.load(f).items()}
    mean = sum(costs.values()) / max(1, len(costs))
    clock = time.thread_time

    async def scan(request: web.Request) -> web.Response:
        text = json.loads(await request.read())["text"]
        end = clock() + costs.get(text, mean)
        while clock() < end:  # the scan's CPU, without its memory traffic
            pass
        return web.Response(body=ANSWER, content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/scan", scan)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the service falls back to asyncio the same way
        pass
    web.run_app(app, sock=sock, print=None, access_log=None, handle_signals=True)


if __name__ == "__main__":
    main()
