"""Calls the example's streaming methods over WebSocket with the Python `websockets` client, a
WebSocket implementation that shares no code with ours (docs/reference.md section 13.1).
Usage: websocket_client.py HOST:PORT TOKEN. Prints one JSON object: what each case saw, for
tests/websocket.rs to compare."""

import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

ADDR, TOKEN = sys.argv[1], sys.argv[2]


def url(path):
    return f"ws://{ADDR}{path}"


async def frames_until_closed(ws):
    """Every frame the server sends until it closes, as JSON, then the close code and reason."""
    frames = []
    try:
        async for text in ws:
            frames.append(json.loads(text))
    except ConnectionClosed:
        # A close code other than 1000 ends the iteration with this error.
        pass
    await ws.wait_closed()
    return {"frames": frames, "close": [ws.close_code, ws.close_reason]}


async def client_stream():
    # ImportUsers: two users, the half-close (an empty frame), one answer, the status.
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with connect(url("/v1/users:import"), additional_headers=headers) as ws:
        for user in ["wsa", "wsb"]:
            await ws.send(json.dumps({"userId": user, "user": {"displayName": user.upper(), "email": f"{user}@example.com"}}))
        await ws.send("")
        return await frames_until_closed(ws)


async def bidi_interleaved():
    # LookupUsers: each answer is read before the next message goes (full duplex; NDJSON over
    # one HTTP request could not do this).
    async with connect(url("/v1/users:lookup")) as ws:
        answers = []
        for name in ["users/wsa", "users/wsb", "users/nobody"]:
            await ws.send(json.dumps({"name": name}))
            answers.append(json.loads(await ws.recv()))
        await ws.send("")
        return {"answers": answers, **(await frames_until_closed(ws))}


async def one_call(path, *frames):
    async with connect(url(path)) as ws:
        for frame in frames:
            await ws.send(frame)
        return await frames_until_closed(ws)


async def refused(path, headers=None):
    try:
        async with connect(url(path), additional_headers=headers or {}):
            return "upgraded"
    except InvalidStatus as e:
        return {"http": e.response.status_code, "body": json.loads(e.response.body)}


async def vanish():
    # One exchange, then the TCP connection goes without a close frame.
    ws = await connect(url("/v1/users:lookup"))
    await ws.send(json.dumps({"name": "users/wsa"}))
    answer = json.loads(await ws.recv())
    ws.transport.abort()
    return answer["result"]["name"]


async def main():
    seen = {}
    seen["clientStream"] = await client_stream()
    seen["bidi"] = await bidi_interleaved()
    seen["error"] = await one_call("/v1/users:lookup", json.dumps({"name": ""}))
    seen["malformed"] = await one_call("/v1/users:lookup", "{not json")
    seen["binary"] = await one_call("/v1/users:lookup", b'{"name": "users/wsa"}')
    seen["oversized"] = await one_call(
        "/v1/users:lookup", json.dumps({"name": "x" * 2000})
    )
    seen["deadline"] = await one_call("/v1/users:lookup?grpc-timeout=300m")
    seen["unauthenticated"] = await refused("/v1/users:import")
    seen["unknownRoute"] = await refused("/v1/nowhere")
    seen["badTimeout"] = await refused("/v1/users:lookup?grpc-timeout=soon")
    seen["vanished"] = await vanish()
    print(json.dumps(seen))


asyncio.run(main())
