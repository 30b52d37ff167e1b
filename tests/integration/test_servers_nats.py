"""A throwaway NATS server with JetStream: real server, real client (nats-py)."""

import asyncio
import socket

import nats as nats_py
import pytest

from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


async def _publish_and_fetch(url: str) -> tuple[int, list[bytes]]:
    client = await nats_py.connect(url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = client.jetstream()
        # Names of its own: the session server is shared (the queue's JOBS stream owns
        # the subjects jobs.*.* there once a queued photo app has run on it).
        await js.add_stream(name="servers_check", subjects=["servers_check.>"])
        sent = [await js.publish("servers_check.resize", f"photo-{i}".encode()) for i in range(3)]
        sub = await js.pull_subscribe("servers_check.>", durable="servers_check")
        messages = await sub.fetch(3, timeout=5)
        for message in messages:
            await message.ack()
        return sent[-1].seq, [m.data for m in messages]
    finally:
        await client.close()


def test_jetstream_stores_and_delivers(nats: RunningServer):
    last_seq, bodies = asyncio.run(_publish_and_fetch(nats.url))

    assert last_seq == 3
    assert bodies == [b"photo-0", b"photo-1", b"photo-2"]


def test_refuses_clients_without_the_token(nats: RunningServer):
    # Spoken at the protocol level: nats-py leaks its socket on an auth failure.
    with socket.create_connection((nats.host, nats.port), timeout=5) as sock:
        greeting = sock.recv(4096)
        sock.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        reply = sock.recv(4096)

    assert greeting.startswith(b"INFO ")
    assert b"Authorization Violation" in reply


def test_session_server_answers(nats_session: RunningServer):
    last_seq, _ = asyncio.run(_publish_and_fetch(nats_session.url))

    assert last_seq == 3
