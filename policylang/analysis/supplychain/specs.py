"""What an installer's argument names: a package of the registry (and its version), or a source away
from it -- a URL, a git repository, a local path -- in each ecosystem's own spelling.

PyPI (PEP 508 and the installers' forms): ``name``, ``name[extra]==1.0; python_version<'3.12'``,
``name @ https://...``, ``name@1.0`` (poetry, uvx), ``git+https://...``, ``https://.../x.whl``,
``./dist/x.whl``, ``.``.  npm: ``name``, ``@scope/name@^1``, ``alias@npm:name@1``, ``github:user/repo``,
``user/repo`` (GitHub), ``git+ssh://...``, ``https://.../x.tgz``, ``file:../x``.  Cargo, RubyGems, Go,
Debian and Homebrew names with their version spellings, and Homebrew's third-party taps.
"""
from __future__ import annotations

import re
from typing import NamedTuple


class Spec(NamedTuple):
    """One thing an install names.

    kind: ``registry`` (a package of the registry), ``url`` (an archive from a URL), ``git`` (a
    repository), ``path`` (a local directory or archive), ``tap`` (a Homebrew formula of another
    tap), ``unknown`` (not a valid name: judged by the posture)."""

    kind: str
    name: str  # the package's name ("" when the source does not say)
    where: str = ""  # the URL, repository, path or tap
    host: str | None = None  # the host of a URL or repository


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_VCS_PREFIX = ("git+", "hg+", "svn+", "bzr+")
_PEP508 = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$", re.DOTALL)
_VERSION_START = ("==", ">=", "<=", "~=", "!=", "===", ">", "<", "(", ";", ",")
_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar", ".gem", ".deb", ".crate", ".rb")
_NPM_NAME = re.compile(r"^(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9._~-][a-z0-9._~-]*$", re.IGNORECASE)
_NPM_HOSTED = {"github": "github.com", "gitlab": "gitlab.com", "bitbucket": "bitbucket.org", "gist": "gist.github.com"}
_SIMPLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def url_host(url: str) -> str | None:
    """The host of a URL (``git@host:path`` too)."""
    m = _SCHEME.match(url)
    if m:
        rest = url[m.end():]
    elif url.startswith("git@"):
        rest = url[4:].replace(":", "/", 1)
    else:
        return None
    host = rest.split("/", 1)[0].rpartition("@")[2]
    if host.startswith("["):
        return host.partition("]")[0][1:] or None
    return host.partition(":")[0].lower() or None


def _source(word: str) -> Spec | None:
    """A URL, a repository or a local path, in the forms every ecosystem shares."""
    w = word.strip()
    low = w.lower()
    if low.startswith(_VCS_PREFIX) or low.startswith(("git://", "git@", "ssh://")):
        url = w.split("+", 1)[1] if low.startswith(_VCS_PREFIX) else w
        return Spec("git", "", w, url_host(url))
    if low.startswith("file:"):
        return Spec("path", "", w[7:] if low.startswith("file://") else w[5:])
    m = _SCHEME.match(w)
    if m:
        return Spec("url", "", w, url_host(w))
    if w in (".", "..") or w.startswith(("./", "../", "/", "~")) or low.endswith(_ARCHIVES):
        return Spec("path", "", w)
    return None


def parse_spec(ecosystem: str, word: str) -> Spec:
    """What ``word``, an argument of an install in ``ecosystem``, names."""
    parser = _PARSERS.get(ecosystem, _plain)
    return parser(word)


def _pypi(word: str) -> Spec:
    w = word.strip()
    m = _PEP508.match(w)
    if m and m.group(3).lstrip().startswith("@") and not m.group(3).lstrip().startswith("@@"):
        rest = m.group(3).lstrip()[1:].strip()
        src = _source(rest)
        if src is not None:  # name @ URL (PEP 508)
            return src._replace(name=m.group(1))
        if re.fullmatch(r"[\^~<>=!*.0-9A-Za-z,-]+", rest):  # poetry and uvx: name@1.0, name@^1.0, name@latest
            return Spec("registry", m.group(1))
        return Spec("unknown", m.group(1), w)
    src = _source(w)
    if src is not None:
        return src
    if m is None:
        return Spec("unknown", "", w)
    rest = m.group(3).strip()
    if rest and not rest.startswith(_VERSION_START):
        return Spec("unknown", m.group(1), w)
    return Spec("registry", m.group(1))


def _npm(word: str) -> Spec:
    w = word.strip()
    low = w.lower()
    head, colon, tail = w.partition(":")
    if colon and head.lower() in _NPM_HOSTED and not tail.startswith("//"):
        return Spec("git", "", w, _NPM_HOSTED[head.lower()])
    src = _source(w)
    if src is not None:
        return src
    # name@npm:other@range: the package installed is ``other``
    at = w.find("@", 1)
    name, version = (w[:at], w[at + 1:]) if at > 0 else (w, "")
    if version.lower().startswith("npm:"):
        return _npm(version[4:])
    if not name.startswith("@") and "/" in name:  # user/repo[#ref]: a GitHub repository
        return Spec("git", "", w, "github.com")
    if "#" in low or not _NPM_NAME.match(name):
        return Spec("unknown", name, w)
    return Spec("registry", name)


def _crates(word: str) -> Spec:
    src = _source(word)
    if src is not None:
        return src
    name = word.partition("@")[0]
    return Spec("registry", name) if re.fullmatch(r"[A-Za-z0-9_-]+", name) else Spec("unknown", name, word)


def _rubygems(word: str) -> Spec:
    src = _source(word)
    if src is not None:
        return src
    name = word.partition(":")[0]  # gem install name:version
    return Spec("registry", name) if _SIMPLE.match(name) else Spec("unknown", name, word)


def _go(word: str) -> Spec:
    w = word.strip()
    if w in (".", "..", "./...") or w.startswith(("./", "../", "/")):
        return Spec("path", "", w)
    module = w.partition("@")[0]
    if not re.fullmatch(r"[A-Za-z0-9._~/-]+", module) or module.startswith("-"):
        return Spec("unknown", module, w)
    host = module.split("/", 1)[0]
    if "." not in host:  # a standard-library or local package (go install cmd/...)
        return Spec("path", "", w)
    return Spec("registry", module, "", host.lower())


def _debian(word: str) -> Spec:
    src = _source(word)
    if src is not None:
        return src
    name = re.split(r"[=/]", word, maxsplit=1)[0]
    if name.endswith(("+", "-")) and len(name) > 1:  # apt install pkg- removes pkg
        name = name[:-1]
    return Spec("registry", name) if _SIMPLE.match(name) else Spec("unknown", name, word)


def _homebrew(word: str) -> Spec:
    src = _source(word)
    if src is not None:
        return src
    parts = word.split("/")
    if len(parts) == 3 and all(_SIMPLE.match(p) for p in parts):
        user, tap, formula = parts
        core = user.lower() == "homebrew" and tap.lower() in ("core", "cask")
        if core:
            return Spec("registry", formula)
        return Spec("tap", formula, f"{user}/{tap}", "github.com")
    return Spec("registry", word) if _SIMPLE.match(word) else Spec("unknown", word, word)


def _plain(word: str) -> Spec:
    src = _source(word)
    if src is not None:
        return src
    return Spec("registry", word) if _SIMPLE.match(word) else Spec("unknown", word, word)


_PARSERS = {"pypi": _pypi, "npm": _npm, "crates": _crates, "rubygems": _rubygems, "go": _go, "debian": _debian,
            "homebrew": _homebrew}


__all__ = ["Spec", "parse_spec", "url_host"]
