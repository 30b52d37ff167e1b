"""The transport's pure parts: which targets are accepted, and how failures map to error kinds."""

import aiohttp
import pytest

from millionscale.bench.http import (
    HttpTransport,
    Response,
    classify_exception,
    classify_status,
    parse_target,
)
from millionscale.errors import ConfigError


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        (" https://localhost/app/ ", "https://localhost/app"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("http://Example.ORG", "http://example.org"),
    ],
)
def test_targets_become_base_urls_without_a_trailing_slash(url, base):
    assert parse_target(url) == base


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        pytest.param("127.0.0.1:8000", "http:// or https://", id="no-scheme"),
        pytest.param("ftp://127.0.0.1", "http:// or https://", id="ftp"),
        pytest.param("http://", "names no host", id="no-host"),
        pytest.param("http://127.0.0.1:99999", "not a valid URL", id="bad-port"),
        pytest.param("http://127.0.0.1:port", "not a valid URL", id="word-port"),
        pytest.param("http://u:p@127.0.0.1", "without credentials", id="credentials"),
        pytest.param("http://127.0.0.1/?a=1", "without credentials, query", id="query"),
        pytest.param("", "http:// or https://", id="empty"),
    ],
)
def test_bad_targets_are_config_errors_with_an_example(url, needle):
    with pytest.raises(ConfigError, match=needle) as caught:
        parse_target(url)

    assert "http://127.0.0.1:8000" in caught.value.hint or caught.value.hint


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, None),
        (201, None),
        (304, None),
        (401, "status_4xx"),
        (404, "status_4xx"),
        (500, "status_5xx"),
        (503, "status_5xx"),
    ],
)
def test_statuses_map_to_their_class(status, kind):
    assert classify_status(status) == kind
    assert Response(status=status, body=b"").error == kind


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        pytest.param(TimeoutError(), "timeout", id="asyncio-timeout"),
        pytest.param(aiohttp.ServerTimeoutError("read"), "timeout", id="server-timeout"),
        pytest.param(aiohttp.ConnectionTimeoutError("connect"), "timeout", id="connect-timeout"),
        pytest.param(aiohttp.ServerDisconnectedError(), "connect", id="disconnected"),
        pytest.param(ConnectionRefusedError(), "connect", id="refused"),
        pytest.param(aiohttp.ClientPayloadError("truncated"), "other", id="payload"),
        pytest.param(ValueError("bad"), "other", id="anything-else"),
    ],
)
def test_exceptions_map_to_error_kinds(error, kind):
    assert classify_exception(error) == kind


def test_a_body_that_is_not_json_reads_as_none():
    assert Response(status=200, body=b"<html>").json() is None
    assert Response(status=200, body=b'{"a": 1}').json() == {"a": 1}


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        pytest.param({"pool_limit": 0}, "at least 1 connection", id="no-pool"),
        pytest.param({"timeout_s": 0.0}, "request timeout", id="zero-timeout"),
        pytest.param({"timeout_s": float("nan")}, "request timeout", id="nan-timeout"),
    ],
)
def test_bad_pool_settings_are_config_errors(kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        HttpTransport("http://127.0.0.1:8000", **kwargs)
