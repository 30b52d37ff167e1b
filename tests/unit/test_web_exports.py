"""The public names of millionscale.web are a deliberate list; each one resolves."""

import millionscale.web as web


def test_every_exported_name_exists():
    missing = [name for name in web.__all__ if not hasattr(web, name)]

    assert missing == []


def test_the_session_stores_and_the_shutdown_are_exported():
    assert {"SessionStore", "SessionUpdates", "PostgresSessionStore", "RedisSessionStore"} <= set(
        web.__all__
    )
    assert {"SessionChanges", "SessionCookie", "GracefulShutdown", "serve"} <= set(web.__all__)
