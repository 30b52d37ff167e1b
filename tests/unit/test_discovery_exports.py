"""The public names of millionscale.discovery are a deliberate list; each one resolves."""

import millionscale.discovery as discovery


def test_the_exported_names_are_exactly_these_and_resolve():
    assert set(discovery.__all__) == {
        "HEALTH", "LEAVING", "Discovery", "Health", "Member", "RoleClaim", "RoleRegistry", "Scaled",
        "Snapshot",
        "StaticDiscovery", "connect", "HttpDiscovery", "TOKEN_FILE_ENV", "settle_claim", "follow",
    }  # fmt: skip
    assert all(hasattr(discovery, name) for name in discovery.__all__)
