"""`python -m semdigest` is the `semdigest` command."""

from .cli import console

console()
