"""Find the Debian mirror (and its keyring) in the host's apt sources.

The mirror is read at run time, never written into the project: a clone on
another network uses its own. deb822 files (``/etc/apt/sources.list.d/*.sources``)
are read first, then the one-line ``sources.list`` files. The first enabled
``deb`` entry for a Debian release suite (not ``-security``, which lives on
another archive) with the ``main`` component wins. ``RAWMMAP_DEBIAN_MIRROR``
(and ``RAWMMAP_DEBIAN_KEYRING``) override it, for Ubuntu hosts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEBIAN_SUITES",
    "DEFAULT_KEYRING",
    "Entry",
    "Mirror",
    "MirrorNotFound",
    "find_mirror",
    "parse_deb822",
    "parse_one_line",
]

#: The keyring debian-archive-keyring installs (it signs every release suite).
DEFAULT_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

#: Debian codenames that name the main archive (suffixes like -updates allowed).
DEBIAN_SUITES = (
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "duke",
    "sid",
    "unstable",
    "testing",
    "stable",
    "oldstable",
)


class MirrorNotFound(LookupError):
    """No Debian main-archive entry in the host's apt sources."""


@dataclass(frozen=True)
class Mirror:
    """A Debian archive URI and what to verify its Release files with."""

    uri: str
    #: Keyring paths, or one embedded ASCII-armoured key block.
    signed_by: str = DEFAULT_KEYRING


@dataclass(frozen=True)
class Entry:
    uris: list[str]
    suites: list[str]
    components: list[str]
    types: list[str]
    enabled: bool
    signed_by: str


def _is_debian_main_suite(suite: str) -> bool:
    base = suite.split("-", 1)[0].split("/", 1)[0]
    return base in DEBIAN_SUITES and not suite.endswith("-security") and "/" not in suite


def _chosen(entries: Iterable[Entry]) -> Mirror | None:
    for entry in entries:
        if not entry.enabled or "deb" not in entry.types or "main" not in entry.components:
            continue
        if not any(_is_debian_main_suite(suite) for suite in entry.suites):
            continue
        for uri in entry.uris:
            if uri:
                return Mirror(uri.rstrip("/"), entry.signed_by or DEFAULT_KEYRING)
    return None


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    fields: dict[str, str] = {}
    current = ""
    for raw_line in text.splitlines():
        line = raw_line.rstrip()
        if line.startswith("#"):
            continue
        if not line.strip():
            if fields:
                yield fields
            fields, current = {}, ""
            continue
        if line[0] in " \t":
            if current:
                fields[current] += "\n" + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon:
            continue
        current = name.strip().lower()
        fields[current] = value.strip()
    if fields:
        yield fields


def parse_deb822(text: str) -> list[Entry]:
    """Return the entries of a deb822 ``.sources`` file."""
    entries = []
    for fields in _deb822_stanzas(text):
        entries.append(
            Entry(
                uris=fields.get("uris", "").split(),
                suites=fields.get("suites", "").split(),
                components=fields.get("components", "").split(),
                types=fields.get("types", "").split(),
                enabled=fields.get("enabled", "yes").lower() != "no",
                # A multi-line Signed-By is an embedded key; keep it as it is.
                signed_by=fields.get("signed-by", "").strip(),
            )
        )
    return entries


_ONE_LINE = re.compile(r"^\s*(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(.*)$")


def parse_one_line(text: str) -> list[Entry]:
    """Return the entries of a one-line-style ``sources.list``."""
    entries = []
    for raw_line in text.splitlines():
        line = raw_line.split("#", 1)[0]
        match = _ONE_LINE.match(line)
        if not match:
            continue
        kind, options, uri, suite, rest = match.groups()
        signed_by = ""
        for option in (options or "").split():
            name, _, value = option.partition("=")
            if name == "signed-by":
                signed_by = " ".join(value.split(","))
        entries.append(
            Entry([uri], [suite], rest.split(), [kind], enabled=True, signed_by=signed_by)
        )
    return entries


def find_mirror(etc: Path = Path("/etc/apt")) -> Mirror:
    """Return the Debian mirror: the environment's, else the host's apt sources'.

    Raises:
        MirrorNotFound: no override and no Debian main entry under ``etc``.
    """
    override = os.environ.get("RAWMMAP_DEBIAN_MIRROR")
    keyring = os.environ.get("RAWMMAP_DEBIAN_KEYRING")
    if override:
        return Mirror(override.rstrip("/"), keyring or DEFAULT_KEYRING)
    files = sorted((etc / "sources.list.d").glob("*.sources"))
    for path in files:
        mirror = _chosen(parse_deb822(_read(path)))
        if mirror:
            return Mirror(mirror.uri, keyring or mirror.signed_by)
    lists = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]
    for path in lists:
        mirror = _chosen(parse_one_line(_read(path)))
        if mirror:
            return Mirror(mirror.uri, keyring or mirror.signed_by)
    raise MirrorNotFound(
        f"no Debian main-archive entry in {etc}/sources.list.d/*.sources or "
        f"{etc}/sources.list; set RAWMMAP_DEBIAN_MIRROR to a Debian mirror URI"
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
