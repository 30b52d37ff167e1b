"""One JSON object per log line, with the process name, and no secrets."""

import io
import json
import logging

import pytest
import structlog

from millionscale.obs.logging import configure_logging, redact


@pytest.fixture
def captured():
    stream = io.StringIO()
    configure_logging("web-1", stream=stream)
    yield stream
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    logging.getLogger().handlers.clear()


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_structlog_events_are_json_lines_with_the_process_name(captured):
    structlog.get_logger().info("request served", status=200)

    (line,) = lines(captured)
    assert line["event"] == "request served"
    assert line["status"] == 200
    assert line["process"] == "web-1"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")


def test_standard_library_loggers_come_out_the_same_way(captured):
    logging.getLogger("uvicorn.error").warning("worker timeout")

    (line,) = lines(captured)
    assert line["event"] == "worker timeout"
    assert line["level"] == "warning"
    assert line["process"] == "web-1"


def test_credentials_in_urls_and_secret_named_fields_are_redacted(captured):
    structlog.get_logger().info(
        "connecting to postgresql://app:hunter2@db:5432/photos",
        password="hunter2",
        dsn="redis://:s3cret@127.0.0.1:6379/0",
    )

    text = captured.getvalue()
    assert "hunter2" not in text
    assert "s3cret" not in text
    (line,) = lines(captured)
    assert line["event"] == "connecting to postgresql://***@db:5432/photos"
    assert line["password"] == "***"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nats://token@127.0.0.1:4222", "nats://***@127.0.0.1:4222"),
        ("http://example.test/path", "http://example.test/path"),
        ("no url here", "no url here"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected
