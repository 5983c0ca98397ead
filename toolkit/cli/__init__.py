"""The ``toolkit`` command line: thin click commands over the library, one module per group.

:mod:`toolkit.cli.app` holds the group, the entry point and the mapping of errors to exit
codes; importing this package registers every command on it.
"""

from toolkit.cli import detection, info, latent_space, reports, synthesis
from toolkit.cli.app import cli, main

__all__ = ["cli", "detection", "info", "latent_space", "main", "reports", "synthesis"]
