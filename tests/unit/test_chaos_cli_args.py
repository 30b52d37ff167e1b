"""Bad arguments to ``python -m millionscale.chaos`` exit with code 2 and one line why."""

import pytest

from millionscale.chaos.__main__ import TOKEN_ENV, main


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--upstream", "127.0.0.1:80"], "the following arguments are required: --listen"),
        (["--listen", "70000", "--upstream", "127.0.0.1:80"], "'70000' is not a port"),
        (["--listen", "x", "--upstream", "127.0.0.1:80"], "'x' is not a port"),
        (["--listen", "8000", "--upstream", "localhost"], "'localhost' is not HOST:PORT"),
        (["--listen", "8000", "--upstream", "h:0"], "'h:0' is not HOST:PORT"),
    ],
)
def test_argparse_refuses_a_bad_port_or_address(argv, said, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)

    assert exited.value.code == 2
    assert said in capsys.readouterr().err


@pytest.mark.parametrize(
    ("faults", "said"),
    [
        (["latency_ms=-1"], "error: latency_ms must be 0 to 600000, not -1"),
        (["latency"], "error: 'latency' is not KEY=VALUE"),
        (["jitter=wobbly"], "error: jitter must be 'uniform' or 'normal'"),
    ],
)
def test_a_bad_fault_exits_2_with_its_reason(faults, said, capsys):
    argv = ["--listen", "0", "--upstream", "127.0.0.1:80"]
    for fault in faults:
        argv += ["--fault", fault]

    code = main(argv)

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(said)
    assert "Traceback" not in err


def test_an_admin_port_without_a_token_exits_2(monkeypatch, capsys):
    monkeypatch.delenv(TOKEN_ENV, raising=False)

    code = main(["--listen", "0", "--upstream", "127.0.0.1:80", "--admin-port", "0"])

    assert code == 2
    assert "the admin API needs a token" in capsys.readouterr().err
