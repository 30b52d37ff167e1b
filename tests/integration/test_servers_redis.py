"""A throwaway Redis: real server, real client, a password required."""

import pytest
import redis as redis_py

from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


def test_serves_commands(redis: RunningServer):
    client = redis_py.Redis.from_url(redis.url)

    client.set("greeting", "hello", ex=60)

    assert client.get("greeting") == b"hello"
    assert 0 < client.ttl("greeting") <= 60
    client.close()


def test_refuses_clients_without_the_password(redis: RunningServer):
    client = redis_py.Redis(host=redis.host, port=redis.port)

    with pytest.raises(redis_py.AuthenticationError):
        client.get("anything")
    client.close()


def test_session_server_answers(redis_session: RunningServer):
    client = redis_py.Redis.from_url(redis_session.url)

    assert client.incr("session-counter") >= 1
    client.close()
