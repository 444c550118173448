"""Helpers shared by the command-line tests."""

from graphdistill.cli import main


def run_cli(args, capsys):
    """Run the ``graphdistill`` command in-process; return (exit code, stdout, stderr)."""
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err
