"""Every connection the data tier's clients make to a node gives up on a node that
answers nothing (a data center cut off) within a second, and says so in libpq's own
terms; a setting the user wrote in the URL wins."""

from psycopg.conninfo import conninfo_to_dict

from millionscale.db.pools import NETWORK_OPTIONS, network_dsn


def test_the_options_go_into_the_connection_string():
    params = conninfo_to_dict(network_dsn("postgresql://app:secret@10.0.0.5:5432/photos"))

    assert params["tcp_user_timeout"] == "750"  # ms unacknowledged, then the kernel gives up
    assert params["keepalives"] == "1"
    assert params["connect_timeout"] == "2"
    assert (params["host"], params["port"], params["dbname"]) == ("10.0.0.5", "5432", "photos")


def test_the_users_own_settings_win():
    params = conninfo_to_dict(network_dsn("host=/run/pg dbname=photos tcp_user_timeout=5000"))

    assert params["tcp_user_timeout"] == "5000"
    assert set(NETWORK_OPTIONS) <= set(params)


def test_the_check_timeouts_outlast_the_kernels():
    # The failover monitor's and the router's checks time out after 1 s; the kernel must
    # have given up first, or the timeout cancels a query on a node that cannot hear it.
    assert NETWORK_OPTIONS["tcp_user_timeout"] < 1000
