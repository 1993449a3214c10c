#!/usr/bin/env python3
"""TCP proxy on 127.0.0.1 that adds a fixed one-way delay to each direction.

    delay-proxy.py --target HOST:PORT [--delay-ms MS] [--port PORT]
                   [--max-seconds S] [--cut-after-bytes N] [--rate-mbit R]

Every chunk read from one side is written to the other side MS milliseconds
after it arrived, in order, so a 25 ms delay gives a 50 ms round trip.  The
bandwidth is not limited unless --rate-mbit is given: chunks in flight
overlap, only their latency grows.  With --rate-mbit R each direction
passes at most R megabits per second, as a link of that speed would.

On start the proxy prints the port it listens on as one line on stdout and
flushes it, so a caller can read that line and connect.  It exits when its
parent process dies, after --max-seconds (default 3600), or on SIGTERM.

--cut-after-bytes N: on the first connection only, forward the first N bytes
from the server to the client, then close both sides of that connection.  The
tests use this to drop a connection in the middle of a FETCH.  Later
connections are forwarded whole.
"""

import argparse
import asyncio
import os
import signal
import sys
import time

CHUNK = 65536
# Chunks waiting for their delivery time, per direction.  This only pushes
# back when the receiving side reads slower than the sender writes.
QUEUE_CHUNKS = 1024


class Cut:
    """Shared state of the --cut-after-bytes mode."""

    def __init__(self, limit):
        self.limit = limit
        self.used = False


async def pump(reader, writer, delay, budget=None, rate=None):
    """Copy reader to writer, delaying each chunk by @delay seconds.

    @budget is None or a one-element list holding the number of bytes still
    allowed; when it runs out the copy stops after forwarding exactly that
    many bytes.  Returns True when the copy stopped because of the budget.
    """
    queue = asyncio.Queue(QUEUE_CHUNKS)
    loop = asyncio.get_running_loop()

    async def read_side():
        cut = False
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                if budget is not None:
                    if len(data) >= budget[0]:
                        data = data[:budget[0]]
                        budget[0] = 0
                        cut = True
                    else:
                        budget[0] -= len(data)
                if data:
                    await queue.put((loop.time() + delay, data))
                if cut:
                    break
        except (ConnectionError, OSError):
            pass
        await queue.put((loop.time() + delay, None))
        return cut

    async def write_side():
        free_at = 0.0  # when the link has sent what went before
        try:
            while True:
                due, data = await queue.get()
                if data is not None and rate is not None:
                    due = max(due, free_at)
                    free_at = due + len(data) * 8 / rate
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            # The receiver is gone; keep draining the queue so the reader
            # side is never blocked on a full queue.
            while True:
                _, data = await queue.get()
                if data is None:
                    break

    reading = asyncio.create_task(read_side())
    await write_side()
    return await reading


def close(writer):
    try:
        writer.close()
    except (ConnectionError, OSError, RuntimeError):
        pass


async def handle(client_reader, client_writer, args, cut):
    try:
        await forward(client_reader, client_writer, args, cut)
    except asyncio.CancelledError:
        # The proxy is shutting down; connections still open are dropped.
        close(client_writer)


async def forward(client_reader, client_writer, args, cut):
    try:
        server_reader, server_writer = await asyncio.open_connection(
            args.host, args.target_port)
    except OSError as e:
        print(f"delay-proxy: cannot connect to target: {e}", file=sys.stderr)
        close(client_writer)
        return

    budget = None
    if cut.limit is not None and not cut.used:
        cut.used = True
        budget = [cut.limit]

    rate = args.rate_mbit * 1e6 if args.rate_mbit else None
    up = asyncio.create_task(
        pump(client_reader, server_writer, args.delay, rate=rate))
    down = asyncio.create_task(
        pump(server_reader, client_writer, args.delay, budget, rate))

    done, _ = await asyncio.wait({up, down},
                                 return_when=asyncio.FIRST_COMPLETED)
    if down in done and down.result():
        # The cut: drop both sides at once, without a clean shutdown.
        for w in (client_writer, server_writer):
            transport = w.transport
            if transport is not None:
                transport.abort()
        up.cancel()
        return
    # One direction hit EOF: pass the half-close on and let the other
    # direction finish delivering what is still in flight.
    for task, w in ((up, server_writer), (down, client_writer)):
        if task in done:
            try:
                if w.can_write_eof():
                    w.write_eof()
            except (ConnectionError, OSError, RuntimeError):
                pass
    await asyncio.wait({up, down})
    close(client_writer)
    close(server_writer)


async def watchdog(deadline, parent):
    while True:
        await asyncio.sleep(0.5)
        if os.getppid() != parent:
            return "parent exited"
        if time.monotonic() > deadline:
            return "max-seconds reached"


async def main_async(args):
    cut = Cut(args.cut_after_bytes)
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args, cut), "127.0.0.1", args.port)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    dog = asyncio.create_task(
        watchdog(time.monotonic() + args.max_seconds, args.parent))
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({dog, stopper}, return_when=asyncio.FIRST_COMPLETED)
    server.close()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", required=True, help="HOST:PORT to forward to")
    p.add_argument("--delay-ms", type=float, default=25.0,
                   help="one-way delay per direction in ms (default 25)")
    p.add_argument("--port", type=int, default=0,
                   help="port to listen on (default: a free one)")
    p.add_argument("--max-seconds", type=float, default=3600.0,
                   help="exit after this many seconds (default 3600)")
    p.add_argument("--cut-after-bytes", type=int, default=None,
                   help="first connection: close after N server bytes")
    p.add_argument("--rate-mbit", type=float, default=None,
                   help="limit each direction to R megabits per second")
    args = p.parse_args()
    host, sep, port = args.target.rpartition(":")
    if not sep or not host or not port.isdigit():
        p.error("--target must be HOST:PORT")
    if args.delay_ms < 0 or args.max_seconds <= 0:
        p.error("--delay-ms must be >= 0 and --max-seconds > 0")
    if args.cut_after_bytes is not None and args.cut_after_bytes < 0:
        p.error("--cut-after-bytes must be >= 0")
    if args.rate_mbit is not None and args.rate_mbit <= 0:
        p.error("--rate-mbit must be > 0")
    args.host = host
    args.target_port = int(port)
    args.delay = args.delay_ms / 1000.0
    args.parent = os.getppid()
    return args


def main():
    args = parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
