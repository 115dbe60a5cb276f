"""`python -m train [engine train's options]`: the training command alone, for launchers such as
`torchrun --nproc-per-node N -m train --data ... --out ...` (data-parallel: train.distributed)."""

import sys

import click

from engine.errors import EngineError
from train.cli import train_command


def main() -> None:
    try:
        train_command.main(prog_name="python -m train", standalone_mode=False)
    except EngineError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    except click.UsageError as err:
        click.echo(f"error: {err.format_message()} (see `python -m train --help`)", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
