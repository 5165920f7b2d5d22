"""The compiled-policy cache: the CLI and the hook start without parsing (issue 5 §5).

A process that decides one action must not spend its life loading the parser, the TOML schema
validator and the config layering just to rebuild a policy that has not changed since the last
run.  ``load_policy`` keeps what is costly to rebuild and safe to pickle -- the effective Settings,
the parsed, validated ASTs with their source texts and warnings, and the path globs' regex
translations -- in the private cache of ``policylang.cache``; on a hit only the cheap back half of
the compiler (``compile.link_policy``: RE2 objects, CEL closures, the rule index, which do not
pickle) runs.

An entry is found by a key over everything that can change the result before any file is read:
the arguments, the working directory, ``HOME`` and every ``POLICYLANG_*`` variable, the Python
version, and a fingerprint of the package's own files (code, grammar, presets, schemas, the
built-in policy: name, size and modification time).  The loader reads more files than the
arguments name (an admin file, ``policy_files``, ``.policylang/*.policy``), so while an entry is
built every file read is recorded with a sha256 of its bytes, and every directory listing with
its result; a hit re-reads and re-hashes each of them, so an edit, a new file or a deleted one is
a miss.  What is not checked: a change to the package that keeps every file's size and mtime.

Fail closed: an entry that is torn, of another format or key, fails its own sha256, or does not
hold the types expected is ignored and rebuilt -- never used in part.  A config with an error is
never cached (its diagnostics come from a full load every time).  ``POLICYLANG_NO_CACHE=1`` (or
no private cache directory) turns the cache off.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Sequence

from .. import cache
from ..frozen import frozen
from .reads import MISSING, RECORDER, Dependency, note_file, unchanged

if TYPE_CHECKING:
    from ..lang.nodes import PolicyFile
    from ..diagnostics import Diagnostic
    from ..engine.policy import Policy
    from ..engine.pathsets import PathPattern
    from ..settings import Settings
    from ..source import Source

NAME = "policy"
FORMAT = 3  # bump when the layout of an entry changes
MAGIC = "policylang-compiled-policy"
MAX_ENTRIES = 64  # entries kept (one per working directory and set of options); the oldest go first
MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024

# ---- the key ------------------------------------------------------------------------------------

_STAMPED = (".py", ".lark", ".toml", ".policy", ".json")


def _package_dirs() -> list[str]:
    """The package's directories: every subpackage with its data, and presets and schemas (presets/
    and schemas/ are mapped into the package from elsewhere in a source checkout, so they are looked
    up)."""
    dirs: list[str] = []
    _walk(_root(), dirs, None)
    return dirs + _mapped_dirs()


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _mapped_dirs() -> list[str]:
    """presets/ and schemas/ where they are not directories of the package (a source checkout)."""
    root_package = __package__.partition(".")[0]
    here = _root()
    dirs: list[str] = []
    for sub in ("presets", "schemas"):
        inside = os.path.join(here, sub)
        if os.path.isfile(os.path.join(inside, "__init__.py")):  # an installed package: already walked
            continue
        from importlib.util import find_spec

        try:
            spec = find_spec(f"{root_package}.{sub}")
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            dirs.extend(spec.submodule_search_locations)
    return dirs


def _walk(d: str, dirs: list[str], parts: list[str] | None, recurse: bool = True) -> None:
    """``d`` and (with ``recurse``) its subdirectories but ``__pycache__``, depth first in name
    order, into ``dirs``; with ``parts``, the stamp of each file that shapes a policy, from the
    same listing (one ``scandir`` a directory)."""
    dirs.append(d)
    try:
        with os.scandir(d) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        if parts is not None:
            parts.append(f"{d}:-")
        return
    subdirs = []
    for e in entries:
        if parts is not None and e.name.endswith(_STAMPED):
            try:
                st = e.stat()
            except OSError:
                continue
            parts.append(f"{d}/{e.name}:{st.st_size}:{st.st_mtime_ns}")
        if recurse and e.name != "__pycache__" and e.is_dir(follow_symlinks=False):
            subdirs.append(e.path)
    for sub in subdirs:
        _walk(sub, dirs, parts)


def code_fingerprint() -> str:
    """Name, size and mtime of every file of the package that shapes a compiled policy."""
    parts: list[str] = []
    dirs: list[str] = []
    _walk(_root(), dirs, parts)
    for d in _mapped_dirs():
        _walk(d, dirs, parts, recurse=False)
    return "\n".join(parts)


def cache_key(config: str | os.PathLike[str] | None, preset: str | Sequence[str] | None, mode: str | None,
              policy_files: Sequence[str | os.PathLike[str]], *, cwd: str, env: dict[str, str]) -> str:
    """The key of the entry for these arguments in this directory and environment."""
    preset_part = preset if preset is None or isinstance(preset, str) else tuple(preset)
    args = repr((None if config is None else os.fspath(config), preset_part, mode,
                 tuple(os.fspath(f) for f in policy_files)))
    variables = repr(sorted((k, v) for k, v in env.items() if k.startswith("POLICYLANG_") or k == "HOME"))
    return cache.key_of(MAGIC, str(FORMAT), sys.version, args, cwd, variables, code_fingerprint())


# ---- load ---------------------------------------------------------------------------------------

def load_policy(config: str | os.PathLike[str] | None = None, *, preset: str | Sequence[str] | None = None,
                mode: str | None = None, policy_files: Sequence[str | os.PathLike[str]] = ()) -> Policy:
    """The policy ``policylang.load`` would compile for these arguments, from the cache when an
    entry for them exists and none of the files it was built from has changed.

    Raises PolicyError (errors in the config or the policy) and OSError or UnicodeDecodeError (a
    file of ``policy_files`` cannot be read), like a load without the cache.
    """
    return load_policy_and_files(config, preset=preset, mode=mode, policy_files=policy_files)[0]


def load_policy_and_files(config: str | os.PathLike[str] | None = None, *, preset: str | Sequence[str] | None = None,
                          mode: str | None = None, policy_files: Sequence[str | os.PathLike[str]] = ()
                          ) -> tuple[Policy, tuple[str, ...]]:
    """``load_policy``, and the files the policy was loaded from (absolute paths, in the order they
    were read: the config, an admin file, policy files), for output that names them."""
    key = None
    if cache.cache_dir() is not None:
        key = cache_key(config, preset, mode, policy_files, cwd=os.getcwd(), env=dict(os.environ))
        hit = _checked_entry(cache.load(NAME, key), key)
        if hit is not None:
            from ..lang.compile import link_policy
            from ..engine.pathsets import learn
            from ..sandbox.backends import with_backend

            deps, settings, files, texts, diagnostics, patterns = hit
            settings = with_backend(settings)  # the tools on PATH are not in the key: looked up again
            _touch(key)
            learn(patterns)  # the glob translations of the build: linking then compiles only RE2 sets
            return (link_policy(files, texts, diagnostics, settings, protect=_files_read(deps)),
                    read_files(deps))
    recorded: list[Dependency] = []
    token = RECORDER.set(recorded)
    try:
        policy, checked = _compile(config, preset, mode, policy_files, recorded)
    finally:
        RECORDER.reset(token)
    if key is not None:
        from ..engine.pathsets import known_patterns

        payload = cache.dumps((tuple(recorded), *checked, known_patterns()), protocol=cache.PROTOCOL)
        cache.store(NAME, key, (MAGIC, FORMAT, key, cache.digest(payload), payload))
        _prune()
    return policy, read_files(recorded)


def read_files(deps: Sequence[Dependency]) -> tuple[str, ...]:
    """The files of ``deps`` that were read (not those looked for and missing), each once."""
    return tuple(dict.fromkeys(where for kind, where, _, digest in deps if kind == "file" and digest != MISSING))


def compile_uncached(config: str | os.PathLike[str] | None, preset: str | Sequence[str] | None, mode: str | None,
                     policy_files: Sequence[str | os.PathLike[str]]) -> Policy:
    """The policy ``load_policy`` builds, compiled without the cache (``policylang.load``)."""
    return _compile(config, preset, mode, policy_files, [])[0]


@frozen
class Layers:
    """What a load finds before anything is compiled: the effective settings, the policy sources
    (lowest layer first), the files read (self-protection covers them) and the loader's warnings a
    compiled policy keeps.  An adapter that compiles more text on top of a config (the security
    analyzer's user-layer policy) keeps this and links it again."""

    settings: Settings
    sources: tuple[Source | PolicyFile, ...]
    protect: tuple[str, ...]
    notes: tuple[Diagnostic, ...]


def load_layers(config: str | os.PathLike[str] | None, preset: str | Sequence[str] | None, mode: str | None,
                policy_files: Sequence[str | os.PathLike[str]], recorded: list[Dependency] | None = None) -> Layers:
    """The settings and sources ``policylang.load`` compiles, and the files it read.  Raises
    PolicyError (config errors) and OSError (a file of ``policy_files`` cannot be read)."""
    from ..source import Source
    from .loader import load_config

    recorded = [] if recorded is None else recorded
    token = RECORDER.set(recorded) if RECORDER.get() is not recorded else None
    try:
        loaded = load_config(config, preset=preset, mode=mode)
        sources: list[Source | PolicyFile] = list(loaded.sources)
        for f in policy_files:
            sources.append(Source(os.fspath(f), read_policy_file(os.fspath(f)), layer="user"))
    finally:
        if token is not None:
            RECORDER.reset(token)
    # a project policy left out for want of approval: the policy's own warnings say so
    notes = tuple(d for d in loaded.diagnostics if d.code == "project-policy-unapproved")
    return Layers(loaded.settings, tuple(sources), tuple(_files_read(recorded)), notes)


def link_layers(layers: Layers, sources: Sequence[Source | PolicyFile] | None = None,
                settings: Settings | None = None
                ) -> tuple[Policy, tuple[Settings, tuple[PolicyFile, ...], dict[str, Source], tuple[Diagnostic, ...]]]:
    """Compile ``sources`` (default: the layers' own) under ``settings`` (default: the layers'), with
    the layers' self-protection and warnings; the policy and what the cache keeps of the build.
    Raises PolicyError."""
    from ..lang.compile import check_sources, gc_paused, link_policy

    settings = layers.settings if settings is None else settings
    with gc_paused():
        files, texts, checked = check_sources(layers.sources if sources is None else sources)
    diagnostics = [*checked, *layers.notes]
    policy = link_policy(files, texts, diagnostics, settings, protect=layers.protect)
    return policy, (settings, tuple(files), texts, tuple(diagnostics))


def _compile(config: str | os.PathLike[str] | None, preset: str | Sequence[str] | None, mode: str | None,
             policy_files: Sequence[str | os.PathLike[str]], recorded: list[Dependency]
             ) -> tuple[Policy, tuple[Settings, tuple[PolicyFile, ...], dict[str, Source], tuple[Diagnostic, ...]]]:
    return link_layers(load_layers(config, preset, mode, policy_files, recorded))


def read_policy_file(path: str) -> str:
    """The text of a policy file named by an argument (recorded as a dependency of the entry).
    Raises OSError (``inputs.InputError`` for a FIFO, a device, a file over the limit or bytes that
    are not UTF-8)."""
    from ..inputs import MAX_POLICY_BYTES, decode_utf8, read_bytes

    try:
        raw = read_bytes(path, MAX_POLICY_BYTES)  # InputError (an OSError) for a FIFO or a huge file
    except OSError:
        note_file(path, MAX_POLICY_FILE_BYTES + 1, None)
        raise
    # the whole file is the input, so the whole file is hashed: a limit shorter than the file
    # would let an edit past it reuse the old entry
    note_file(path, len(raw) + 1, raw)
    # as open(path, encoding="utf-8") reads it: universal newlines
    return decode_utf8(raw, path).replace("\r\n", "\n").replace("\r", "\n")


def _checked_entry(entry: Any, key: str
                   ) -> tuple[tuple[Dependency, ...], Settings, tuple[PolicyFile, ...], dict[str, Source],
                              tuple[Diagnostic, ...], tuple[PathPattern, ...]] | None:
    """The entry's contents when it is whole, ours, for ``key``, and every file it was built from is
    unchanged; else None."""
    if not (isinstance(entry, tuple) and len(entry) == 5 and entry[0] == MAGIC and entry[1] == FORMAT
            and entry[2] == key and isinstance(entry[4], bytes) and entry[3] == cache.digest(entry[4])):
        return None
    try:
        deps, settings, files, texts, diagnostics, patterns = cache.loads(entry[4])
    except Exception:
        return None
    from ..lang.nodes import PolicyFile
    from ..diagnostics import Diagnostic
    from ..engine.pathsets import PathPattern
    from ..settings import Settings
    from ..source import Source

    if not (isinstance(deps, tuple) and isinstance(settings, Settings)
            and isinstance(files, tuple) and all(isinstance(f, PolicyFile) for f in files)
            and isinstance(texts, dict) and all(isinstance(k, str) and isinstance(v, Source) for k, v in texts.items())
            and isinstance(diagnostics, tuple) and all(isinstance(d, Diagnostic) for d in diagnostics)
            and isinstance(patterns, tuple) and all(isinstance(p, PathPattern) for p in patterns)):
        return None
    for dep in deps:
        if not (isinstance(dep, tuple) and len(dep) == 4 and unchanged(dep)):
            return None
    return deps, settings, files, texts, diagnostics, patterns


def _files_read(deps: Sequence[Any]) -> list[str]:
    """The files a load read (config, admin file, policy files): self-protection covers them."""
    return [d[1] for d in deps if isinstance(d, tuple) and len(d) == 4 and d[0] == "file" and d[3] != "-"]


def _touch(key: str) -> None:
    path = cache.path_for(NAME, key)
    if path is not None:
        try:
            os.utime(path, follow_symlinks=False)
        except OSError:
            pass


def _prune() -> None:
    """Keep the newest MAX_ENTRIES entries (by last use)."""
    d = cache.cache_dir()
    if d is None:
        return
    try:
        entries = [e for e in os.scandir(d) if e.name.startswith(NAME + "-") and e.name.endswith(".pickle")]
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=_mtime, reverse=True)
        for e in entries[MAX_ENTRIES:]:
            os.unlink(e.path)
    except OSError:
        pass


def _mtime(entry: os.DirEntry[str]) -> int:
    try:
        return entry.stat().st_mtime_ns
    except OSError:
        return 0


def dependencies(config: str | os.PathLike[str] | None = None, *, preset: str | Sequence[str] | None = None,
                 mode: str | None = None, policy_files: Sequence[str | os.PathLike[str]] = ()) -> tuple[Dependency, ...]:
    """The files and listings the entry for these arguments (in this directory and environment)
    was built from; empty when there is no such entry."""
    key = cache_key(config, preset, mode, policy_files, cwd=os.getcwd(), env=dict(os.environ))
    entry = cache.load(NAME, key)
    if isinstance(entry, tuple) and len(entry) == 5 and isinstance(entry[4], bytes):
        try:
            deps = cache.loads(entry[4])[0]
        except Exception:
            return ()
        if isinstance(deps, tuple):
            return deps
    return ()
