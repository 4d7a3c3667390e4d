"""Write docs/cli.md from the command line's own argument parser.

    python docs/make_cli.py
"""

import argparse
import os
from pathlib import Path

from tilecodec.cli import parser

OUT = Path(__file__).with_name("cli.md")


def reference() -> str:
    """The help text of ``tilecodec`` and of each subcommand, as markdown (100 columns)."""
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width
    root = parser()
    lines = ["# Command-line reference", "",
             "Generated from the argument parser by `python docs/make_cli.py`; `tilecodec COMMAND --help`",
             "prints the same.", "", "```text", root.format_help().rstrip(), "```"]
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                lines += ["", f"## `tilecodec {name}`", "", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    OUT.write_text(reference())
