"""Running the `engine` command in-process, and checking that a mistake fails the way the README promises."""

from click.testing import CliRunner

from engine.cli import main


def run_engine(*args, input=None):
    return CliRunner().invoke(main, [str(arg) for arg in args], input=input)


def assert_fails(result, *messages):
    """Exit status 1, no traceback, and every message in the output."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for message in messages:
        assert message in result.output
