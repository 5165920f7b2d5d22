"""Loading the catalog's TOML (data/*.toml, one file per family of programs) into command models.

Every key is checked: an unknown key, a bad risk, a rule without a reason or a name given twice is
a ``CatalogError`` that names the table.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ...verdict import Risk
from . import grammar
from .model import (
    CODECS,
    HANDLERS,
    CatalogError,
    CommandModel,
    Condition,
    Form,
    NetworkRule,
    Option,
    PathRule,
    RiskRule,
    Slot,
    flag_key,
)

_RISKS = {"low": Risk.LOW, "medium": Risk.MEDIUM, "high": Risk.HIGH, "critical": Risk.CRITICAL,
          "unknown": Risk.UNKNOWN}



_COMMAND_KEYS = frozenset({
    "risk", "summary", "names", "handler", "options", "posix", "posix_after", "abbrev", "single_dash_long",
    "first_operand_flags", "strict", "dashdash", "operands", "forms", "stdin", "language", "keys",
    "sub", "unknown_sub_risk", "rules", "paths", "network", "fetches", "decodes", "passthrough",
    "output", "in_shell", "help", "codec", "script_risk", "sends_input", *HANDLERS - {""}, "env", "installs",
})
_CONDITION_KEYS = frozenset({
    "flags", "all_flags", "no_flags", "operands", "operand_prefix", "operand_contains",
    "flag_value_contains", "dashdash", "min_operands", "max_operands", "operand_at",
})
_FORM_KEYS = _CONDITION_KEYS | {"stdin", "operands_are"}
_RULE_KEYS = _CONDITION_KEYS | {"risk", "why", "effect"}
_RULE_EFFECTS = ("leak", "persist", "discard")  # kinds a rule may add (upload comes from path:upload slots)
_PATH_KEYS = _CONDITION_KEYS | {"role", "from", "slice", "flags_from", "keys", "recursive",
                                "recursive_flags", "after", "local_only", "after_dashdash"}
_NETWORK_KEYS = _CONDITION_KEYS | {"from", "host", "flags_from"}
_PATH_SOURCES = frozenset({"operands", "flag", "kv", "cwd", "none", "url_basename"})
_NETWORK_SOURCES = frozenset({"urls", "host", "remote", "flag", "socat", "fixed", "unknown"})
# An installer's ``installs`` table (the supply-chain check, analysis/supplychain/installs.py).
_INSTALL_ECOSYSTEMS = frozenset({"pypi", "npm", "crates", "rubygems", "go", "debian", "homebrew"})
_INSTALL_FLAGS = ("package_flags", "from_flags", "git_flags", "file_flags", "index_flags", "extra_index_flags", "no_scripts_flags")
_INSTALL_KEYS = frozenset({"ecosystem", "words", "packages", "scripts", "index_variables", "extra_index_variables",
                           *_INSTALL_FLAGS})
# Tables of settings a model may carry for its handler (and env's lists of variables).
_SETTING_TABLES = (*sorted(HANDLERS - {""}), "env")


def _risk(value: Any, where: str) -> Risk:
    if not isinstance(value, str) or value not in _RISKS:
        raise CatalogError(f"{where}: risk must be one of {', '.join(_RISKS)}, not {value!r}")
    return _RISKS[value]


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"{where}: expected a string or a list of strings, not {value!r}")
    return tuple(value)


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    extra = set(table) - allowed
    if extra:
        raise CatalogError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")


Canon = Mapping[str, Option]


def _canon_set(names: Sequence[str], opts: Sequence[Canon]) -> frozenset[str]:
    """The canonical flags the spellings stand for, under the model's options (then its parents')."""
    out: set[str] = set()
    for n in names:
        k = flag_key(n)
        for o in opts:
            opt = o.get(k)
            if opt is not None:
                out |= opt.canon
                break
        else:
            out.add(k)
    return frozenset(out)


def _condition(t: Mapping[str, Any], aliases: Sequence[Canon], where: str) -> Condition:
    fvc = t.get("flag_value_contains", {})
    if not isinstance(fvc, dict):
        raise CatalogError(f"{where}: flag_value_contains must be a table")
    max_ops = t.get("max_operands")
    return Condition(
        flags=_canon_set(_strs(t.get("flags", []), where), aliases),
        all_flags=_canon_set(_strs(t.get("all_flags", []), where), aliases),
        no_flags=_canon_set(_strs(t.get("no_flags", []), where), aliases),
        operands=frozenset(o.casefold() for o in _strs(t.get("operands", []), where)),
        operand_prefix=tuple(o.casefold() for o in _strs(t.get("operand_prefix", []), where)),
        operand_contains=tuple(o.casefold() for o in _strs(t.get("operand_contains", []), where)),
        flag_value_contains=tuple(
            (next(iter(_canon_set((k,), aliases))), tuple(s.casefold() for s in _strs(v, where)))
            for k, v in fvc.items()),
        dashdash=t.get("dashdash"),
        min_operands=int(t.get("min_operands", 0)),
        max_operands=None if max_ops is None else int(max_ops),
        operand_at=_operand_at(t.get("operand_at", {}), where),
    )


def _operand_at(table: Any, where: str) -> tuple[tuple[int, frozenset[str]], ...]:
    if not isinstance(table, dict):
        raise CatalogError(f"{where}: operand_at must be a table of index = [words]")
    try:
        return tuple((int(k), frozenset(w.casefold() for w in _strs(v, where))) for k, v in table.items())
    except ValueError:
        raise CatalogError(f"{where}: operand_at keys are operand indices") from None


def _slice(text: str, where: str) -> tuple[int | None, int | None]:
    if ":" not in text:
        i = int(text)
        return i, (i + 1 if i != -1 else None)
    a, _, b = text.partition(":")
    try:
        return (int(a) if a else None), (int(b) if b else None)
    except ValueError:
        raise CatalogError(f"{where}: bad slice {text!r}") from None


def _model(name: str, t: Mapping[str, Any], where: str, parents: Sequence[Canon] = ()) -> CommandModel:
    if not isinstance(t, dict):
        raise CatalogError(f"{where}: expected a table")
    _check_keys(t, _COMMAND_KEYS, where)
    if "risk" not in t:
        raise CatalogError(f"{where}: missing risk")
    handler = t.get("handler", "")
    if handler not in HANDLERS:
        raise CatalogError(f"{where}: unknown handler {handler!r}")
    opts = grammar.options(t.get("options", []), where)
    canon = (opts, *parents)
    operands = grammar.slots(t["operands"], f"{where}.operands") if "operands" in t else ()
    stdin = _stdin(t.get("stdin", ""), f"{where}.stdin")
    forms = []
    for i, f in enumerate(t.get("forms", [])):
        w = f"{where}.forms[{i}]"
        _check_keys(f, _FORM_KEYS, w)
        if "operands_are" not in f:
            raise CatalogError(f"{w}: a form needs operands_are (the operand slots when it applies)")
        forms.append(Form(_condition(f, canon, w), grammar.slots(f["operands_are"], f"{w}.operands_are"),
                          _stdin(f["stdin"], f"{w}.stdin") if "stdin" in f else None))
    rules = []
    for i, r in enumerate(t.get("rules", [])):
        w = f"{where}.rules[{i}]"
        _check_keys(r, _RULE_KEYS, w)
        if "why" not in r:
            raise CatalogError(f"{w}: missing why")
        effect = r.get("effect")
        if effect is not None and effect not in _RULE_EFFECTS:
            raise CatalogError(f"{w}: effect {effect!r} is not one of {', '.join(_RULE_EFFECTS)}")
        rules.append(RiskRule(_condition(r, canon, w), _risk(r.get("risk"), w), r["why"], effect))
    paths = []
    for i, r in enumerate(t.get("paths", [])):
        w = f"{where}.paths[{i}]"
        _check_keys(r, _PATH_KEYS, w)
        role = r.get("role")
        if role not in ("read", "write", "delete", "upload"):
            raise CatalogError(f"{w}: role must be read, write, delete or upload, not {role!r}")
        src = r.get("from", "operands")
        if src not in _PATH_SOURCES:
            raise CatalogError(f"{w}: unknown from {src!r}")
        start, stop = _slice(r.get("slice", ":"), w)
        paths.append(PathRule(
            when=_condition(r, canon, w), role=role, source=src, start=start, stop=stop,
            flags_from=_canon_set(_strs(r.get("flags_from", []), w), canon),
            keys=_strs(r.get("keys", []), w), recursive=bool(r.get("recursive", False)),
            recursive_flags=_canon_set(_strs(r.get("recursive_flags", []), w), canon),
            after=r.get("after", ""), local_only=bool(r.get("local_only", False)),
            after_dashdash=bool(r.get("after_dashdash", False))))
    network = []
    for i, r in enumerate(t.get("network", [])):
        w = f"{where}.network[{i}]"
        _check_keys(r, _NETWORK_KEYS, w)
        src = r.get("from")
        if src not in _NETWORK_SOURCES:
            raise CatalogError(f"{w}: unknown from {src!r}")
        network.append(NetworkRule(_condition(r, canon, w), src, r.get("host"),
                                   _canon_set(_strs(r.get("flags_from", []), w), canon)))
    subs: dict[str, CommandModel] = {}
    for sub_name, sub_t in t.get("sub", {}).items():
        sub = _model(sub_name, sub_t, f"{where}.sub.{sub_name}", canon)
        for n in (sub_name, *_strs(sub_t.get("names", []), where)):
            subs[n.casefold()] = sub
    keys = t.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise CatalogError(f"{where}: keys must be a table of KEY = \"slot type\"")
    for k, v in keys.items():
        grammar.slot(v, f"{where}.keys.{k}")
    settings = {k: t[k] for k in _SETTING_TABLES if k in t}
    if "output" in t:
        if t["output"] not in ("echo", "printf", "variables"):
            raise CatalogError(f"{where}: output must be echo, printf or variables (it prints the variables named)")
        settings["output"] = t["output"]
    if t.get("in_shell"):
        settings["in_shell"] = True
    if t.get("sends_input"):
        settings["sends_input"] = True
    if "help" in t:
        settings["help"] = _strs(t["help"], f"{where}.help")
    if "script_risk" in t:
        settings["script_risk"] = _risk(t["script_risk"], f"{where}.script_risk")
    if "installs" in t:
        settings["installs"] = _installs(t["installs"], canon, f"{where}.installs")
    if "codec" in t:
        if t["codec"] not in CODECS:
            raise CatalogError(f"{where}: codec must be one of {', '.join(sorted(CODECS))}, not {t['codec']!r}")
        settings["codec"] = t["codec"]
    unknown_sub = t.get("unknown_sub_risk")
    model = CommandModel(
        name=name,
        risk=_risk(t["risk"], where),
        summary=str(t.get("summary", "")),
        handler=handler,
        options=opts,
        long_names=tuple(sorted(k for k in opts if k.startswith("--") or (len(k) > 2 and k[0] == "-"))),
        posix=bool(t.get("posix", False)),
        posix_after=_count(t.get("posix_after", 0), f"{where}.posix_after"),
        argv_at=_argv_at(operands),
        abbrev=bool(t.get("abbrev", True)),
        single_dash_long=bool(t.get("single_dash_long", False)),
        first_operand_flags=bool(t.get("first_operand_flags", False)),
        strict=bool(t.get("strict", True)),
        dashdash=bool(t.get("dashdash", True)),
        operands=operands,
        forms=tuple(forms),
        stdin=stdin,
        language=str(t.get("language", "")),
        keys={k.casefold(): v for k, v in keys.items()},
        subcommands=subs,
        unknown_sub_risk=None if unknown_sub is None else _risk(unknown_sub, where),
        rules=tuple(rules),
        paths=tuple(paths),
        network=tuple(network),
        fetches=bool(t.get("fetches", False)),
        decodes=_strs(t.get("decodes", []), where),
        passthrough=bool(t.get("passthrough", False)),
        settings=settings,
    )
    if not model.strict and grammar.runs_something(model.operands, model.options, model.stdin, model.forms):
        raise CatalogError(f"{where}: a command that runs what it is given must declare every option "
                           "(strict): an option it does not know could hide the command")
    return model


def _installs(t: Any, canon: Sequence[Canon], where: str) -> dict[str, Any]:
    """An ``installs`` table: its flags canonical, its words casefolded (catalog/data/README.md)."""
    if not isinstance(t, dict):
        raise CatalogError(f"{where}: expected a table")
    _check_keys(t, _INSTALL_KEYS, where)
    eco = t.get("ecosystem")
    if eco not in _INSTALL_ECOSYSTEMS:
        raise CatalogError(f"{where}: ecosystem must be one of {', '.join(sorted(_INSTALL_ECOSYSTEMS))}, not {eco!r}")
    packages = t.get("packages", "operands")
    if packages not in ("operands", "argv", "none"):
        raise CatalogError(f"{where}: packages must be operands, argv or none, not {packages!r}")
    out: dict[str, Any] = {"ecosystem": eco, "packages": packages, "scripts": bool(t.get("scripts", False))}
    if "words" in t:
        out["words"] = frozenset(w.casefold() for w in _strs(t["words"], where))
    for key in _INSTALL_FLAGS:
        names = _strs(t.get(key, []), f"{where}.{key}")
        flags = _canon_set(names, canon)
        unknown = [n for n in names if not any(flag_key(n) in o for o in canon)]
        if unknown:
            raise CatalogError(f"{where}.{key}: {', '.join(unknown)} is not an option of the command")
        out[key] = flags
    for key in ("index_variables", "extra_index_variables"):
        out[key] = _strs(t.get(key, []), f"{where}.{key}")
    return out


def _argv_at(operands: Sequence[Slot]) -> int | None:
    """The operand that starts the command a model runs (its argv slot), when the slots before it
    are fixed: there its options end, whatever its order (a program does not read the options of the
    command it runs, and reading them as its own would hide them)."""
    for k, slot in enumerate(operands):
        if slot.rest:
            return k
        if slot.repeat or slot.optional:
            return None
    return None


def _count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CatalogError(f"{where}: expected a number of operands, not {value!r}")
    return value


def _stdin(value: Any, where: str) -> str:
    if value in ("", "shell") or (isinstance(value, str) and value.startswith("code:") and len(value) > 5):
        return str(value)
    raise CatalogError(f"{where}: stdin is \"shell\" or \"code:LANG\", not {value!r}")


def load_catalog(texts: str | Sequence[tuple[str, str]]
                 ) -> tuple[dict[str, CommandModel], tuple[tuple[str, CommandModel], ...]]:
    """Parse catalog texts -- one text, or (file name, text) pairs -- into (name -> model, (prefix,
    model) families).  Raises CatalogError, naming the file and the table."""
    import tomllib  # only a rebuild parses TOML; a cache hit never imports it

    by_name: dict[str, CommandModel] = {}
    families: list[tuple[str, CommandModel]] = []
    for file, text in ((("commands.toml", texts),) if isinstance(texts, str) else texts):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(f"{file}: {exc}") from None
        for name, table in data.items():
            model = _model(name, table, name)
            for n in (name, *_strs(table.get("names", []), name)):
                if n.endswith("*"):
                    families.append((n[:-1].casefold(), model))
                else:
                    if n.casefold() in by_name:
                        raise CatalogError(f"{file}: {name}: the name {n!r} is already in the catalog")
                    by_name[n.casefold()] = model
    families.sort(key=lambda f: -len(f[0]))
    return by_name, tuple(families)
