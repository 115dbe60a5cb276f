"""`engine eval` (placeholder until the evaluation modules land)."""

import click

from engine.errors import EngineError


@click.command()
@click.argument("benchmark")
def eval_command(benchmark):
    """Evaluate a model bundle on a retrieval benchmark."""
    raise EngineError(f"engine eval {benchmark}: evaluation is not implemented yet")
