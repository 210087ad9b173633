#!/usr/bin/env python3
"""A matchday client in Python, and a smoke test of a running server.

Usage: python smoke.py ws://127.0.0.1:7001/ws
       python smoke.py wss://127.0.0.1:7001/ws [CA_FILE]   (TLS; CA_FILE: a CA to trust, e.g. the
                                                        development CA `matchday up --tls` prints)
Needs: pip install websockets msgpack

It speaks both frame formats the server accepts -- MessagePack binary frames and JSON text frames --
and checks, in each: ping; register; login; balance equal to the sign-up grant; resume with the
token on a new connection; code 4 for profile before login, 3 for an unknown msgId, 2 for garbage
bytes and 7 for a body of the wrong shape. Exits non-zero on the first failure.
"""
import asyncio
import json
import secrets
import ssl
import sys

import msgpack
import websockets


class Client:
    """One WebSocket connection; `fmt` is "msgpack" (binary frames) or "json" (text frames)."""

    def __init__(self, ws, fmt):
        self.ws, self.fmt, self.seq = ws, fmt, 0

    async def send_raw(self, data):
        await self.ws.send(data)

    async def recv(self):
        data = await asyncio.wait_for(self.ws.recv(), timeout=15)
        if self.fmt == "json":
            assert isinstance(data, str), f"a JSON client gets text frames, got {data!r}"
            head, body = json.loads(data)
        else:
            assert isinstance(data, bytes), f"a MessagePack client gets binary frames, got {data!r}"
            head, body = msgpack.unpackb(data)
        return head, body

    async def call(self, msg_id, body):
        self.seq += 1
        frame = [{"id": msg_id, "seq": self.seq}, body]
        await self.ws.send(json.dumps(frame) if self.fmt == "json" else msgpack.packb(frame))
        head, reply = await self.recv()
        assert head["id"] == msg_id and head["seq"] == self.seq, f"reply {head} does not match request {frame}"
        return head["code"], reply


def check(what, got, want):
    if got != want:
        raise SystemExit(f"FAIL {what}: got {got!r}, want {want!r}")
    print(f"ok   {what}")


async def run(url, fmt, tls):
    name = f"py_{fmt}_{secrets.token_hex(4)}"
    password = "s3cret-pass"
    async with websockets.connect(url, ssl=tls) as ws:
        c = Client(ws, fmt)
        code, body = await c.call(100, {})
        check(f"[{fmt}] ping", (code, isinstance(body.get("ts"), int)), (0, True))
        check(f"[{fmt}] profile before login is code 4", (await c.call(201, {}))[0], 4)
        check(f"[{fmt}] unknown msgId is code 3", (await c.call(999, {}))[0], 3)
        check(f"[{fmt}] body of the wrong shape is code 7", (await c.call(101, {"username": 42}))[0], 7)
        await c.send_raw(b"\xc1 definitely not a frame" if fmt == "msgpack" else "[not json")
        head, _ = await c.recv()
        check(f"[{fmt}] garbage is code 2", head["code"], 2)
        code, body = await c.call(101, {"username": name, "password": password})
        check(f"[{fmt}] register", (code, isinstance(body.get("user_id"), int)), (0, True))
        uid = body["user_id"]
        code, body = await c.call(102, {"username": name, "password": password})
        check(f"[{fmt}] login", (code, body.get("user_id")), (0, uid))
        token, grant = body["token"], body["balance"]
        code, body = await c.call(202, {})
        check(f"[{fmt}] balance equals the sign-up grant", (code, body), (0, {"balance": grant}))
        check(f"[{fmt}] the grant is positive", grant > 0, True)
        check(f"[{fmt}] unknown msgId after login is code 3", (await c.call(999, {}))[0], 3)
    async with websockets.connect(url, ssl=tls) as ws:
        c = Client(ws, fmt)
        code, body = await c.call(103, {"token": token})
        check(f"[{fmt}] resume on a new connection", (code, body.get("user_id"), body.get("balance")), (0, uid, grant))
        code, body = await c.call(201, {})
        check(f"[{fmt}] profile after resume", (code, body.get("username")), (0, name))


async def main():
    url = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:7001/ws"
    # wss://: the system's trust store, plus the CA file given (a private or development CA).
    tls = None
    if url.startswith("wss://"):
        tls = ssl.create_default_context(cafile=sys.argv[2] if len(sys.argv) > 2 else None)
    for fmt in ("msgpack", "json"):
        await run(url, fmt, tls)
    print("all checks passed")


if __name__ == "__main__":
    asyncio.run(main())
