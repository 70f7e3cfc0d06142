"""Secrets by reference: a password or key is never written into a config file; the file names an
environment variable or a file that holds it (``{env: NAME}`` or ``{file: /path}``), read when the
secret is used. Inline ones (a password inside a URL, a literal webhook key) are refused with the
reference to use instead."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, model_validator

from config.base import StrictModel, UserPath


class SecretError(ValueError):
    """A referenced secret that is not there (an unset variable, an unreadable file)."""


class SecretRef(StrictModel):
    """Where a secret is: an environment variable or a file (its content, one trailing newline dropped)."""

    env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the environment variable that holds it.",
    )
    file: UserPath | None = Field(
        None, min_length=1, description="File that holds it (readable by haad only)."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env (a variable name) or file (a path)")
        return self

    def value(self) -> str:
        if self.env is not None:
            found = os.environ.get(self.env)
            if found is None:
                raise SecretError(f"environment variable {self.env} is not set")
            return found
        assert self.file is not None
        try:
            return Path(self.file).read_text().removesuffix("\n")
        except OSError as e:
            raise SecretError(f"cannot read the secret file {self.file}: {e.strerror}") from None


def has_password(url: str) -> bool:
    return urlsplit(url).password is not None


def no_inline_password(url: str, field: str) -> str:
    """``url`` when it carries no password; else a ValueError saying where the password goes."""
    if has_password(url):
        raise ValueError(
            f"no password inside the URL: keep it out of the config, in {field}: {{env: NAME}} or "
            f"{{file: PATH}} (user names may stay)"
        )
    return url


def with_password(url: str, password: SecretRef | None) -> str:
    """``url`` with the referenced password put in (for the library that opens it; never logged)."""
    if password is None:
        return url
    parts = urlsplit(url)
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(user, safe='')}:{quote(password.value(), safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
