#!/usr/bin/env python3
"""A TCP proxy with latency: forwards 127.0.0.1:LISTEN to 127.0.0.1:TARGET
and delivers every chunk DELAY_MS milliseconds after it arrived, in each
direction, keeping the order (a WAN link without loss). Prints "ready"
once listening.

delayproxy.py LISTEN TARGET DELAY_MS"""
import asyncio
import sys

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
delay = int(sys.argv[3]) / 1000.0


async def pipe(reader, writer):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    task = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(65536)
            await queue.put((loop.time() + delay, data or None))
            if not data:
                break
    except (ConnectionError, OSError):
        await queue.put((loop.time() + delay, None))
    try:
        await task
    except (ConnectionError, OSError):
        pass


async def on_client(creader, cwriter):
    try:
        treader, twriter = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pipe(creader, twriter), pipe(treader, cwriter),
                         return_exceptions=True)


async def main():
    server = await asyncio.start_server(on_client, "127.0.0.1", listen_port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
