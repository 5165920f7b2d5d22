"""Effects: what an action does, the unit that policy rules are written against (DESIGN §2)."""
from __future__ import annotations

from .frozen import frozen, record
from .verdict import Risk

EFFECT_KINDS = ("exec", "read", "write", "delete", "network", "code", "leak", "upload", "persist", "discard",
                "install", "secret", "finding")
# Effects that are not one path or one host (DESIGN §2, docs/language.md §7): a credential or the
# environment printed (leak), a file sent over the network (upload), something installed to run later
# outside the session (persist), uncommitted work or shared history destroyed (discard), a package
# installed (install: its name, ecosystem and registry, docs/supply-chain.md).
CONCERN_KINDS = frozenset({"leak", "upload", "persist", "discard", "install"})


@frozen
class Effect:
    """One effect.  (A ``frozen`` class: effects are read in every matcher loop, where a slot read
    is several times cheaper than a record's property; segments and analyses are read far less.)

    exec:    program (normalised name), argv (normalised: argv[0] == program)
    read/write/delete: path (absolute, normalised; may contain glob characters when ``glob``)
    network: host
    code:    program holds the language, text the source
    leak:    text names what is printed (``the environment``, ``$AWS_SECRET_ACCESS_KEY``, ``a cloud access token``)
    upload:  path (the file sent; ``recursive`` for a tree), host (where; None when unknown)
    persist: text names the mechanism (``crontab``, ``systemd unit``)
    discard: text names what is lost (``uncommitted changes``, ``remote history``)
    install: a package installed (analysis/supplychain): program its ecosystem (``pypi``, ``npm`` ...),
             text its name (normalised as the registry compares names) or the URL or path it comes
             from, host the registry or host it comes from (None: a local path), operands[0] the word
    secret:  a credential the action carries (analysis/secretscan): text its format, program where it
             goes (network, file, message, tool, code, command), host or path, operands[0] where it is
    finding: an insecure-code finding of a detector (analysis/sourcecode/bandit_checks): text the rule
             id (``bandit:B301``), program the detector, operands[0] where it is (``line 3:5``)
    """

    kind: str
    program: str | None = None
    argv: tuple[str, ...] = ()
    operands: tuple[str, ...] = ()  # exec: argv[1:] less flags and flag values (subcommand first)
    flags: frozenset[str] = frozenset()  # exec: canonical flags, bundles split: {"-r", "-f", "--force"}
    path: str | None = None
    host: str | None = None
    text: str | None = None
    recursive: bool = False  # delete/write/read of a whole tree below path
    glob: bool = False  # path stands for everything a glob could match
    risk: Risk = Risk.UNKNOWN  # intrinsic risk from the command catalog (exec) or analysis
    why: str = ""  # what raised the risk, e.g. "git push --force rewrites shared history"
    known: bool = True  # exec: program is in the command catalog
    opaque: bool = False  # cannot be known statically (program from $VAR, eval of a variable...)
    segment: int = 0  # index of the segment it belongs to

    def describe(self) -> str:
        if self.kind == "exec":
            return "exec(" + " ".join(self.argv or ((self.program or "?"),)) + ")"
        if self.kind in ("read", "write", "delete"):
            tail = "/**" if self.recursive and self.path not in (None, "/") else ""
            return f"{self.kind}({self.path}{tail})"
        if self.kind == "network":
            return f"network({self.host or 'a host known only at run time'})"
        if self.kind == "upload":
            tail = "/**" if self.recursive and self.path not in (None, "/") else ""
            return f"upload({self.path or 'data'}{tail} -> {self.host or 'a host known only at run time'})"
        if self.kind == "secret":
            where = self.operands[0] if self.operands else "?"
            dest = f" -> {self.host or 'a host known only at run time'}" if self.program == "network" else \
                f" -> {self.path}" if self.path else ""
            return f"secret({self.text} in {where}{dest})"
        if self.kind == "install":
            source = f" from {self.host}" if self.host else ""
            return f"install({self.program}:{self.text}{source})"
        if self.kind == "finding":
            return f"finding({self.text} at {self.operands[0] if self.operands else '?'})"
        if self.kind in CONCERN_KINDS:
            return f"{self.kind}({self.text or '?'})"
        if self.kind == "tool":
            return f"tool({self.program})"
        if self.kind == "message":
            return "message"
        return f"code({self.program})"


@record
class Segment:
    """One simple command of a shell string, after unwrapping wrappers such as sudo or env."""

    text: str  # the source text of the simple command
    program: str | None  # normalised program name; None when opaque
    argv: tuple[str, ...]  # normalised argv of what finally runs (argv[0] == program)
    effects: tuple[Effect, ...]
    risk: Risk = Risk.UNKNOWN
    why: tuple[str, ...] = ()  # notes: what raised the risk, what was unwrapped
    opaque: bool = False
    opaque_reason: str = ""
    wrappers: tuple[str, ...] = ()  # e.g. ("sudo", "env")
    via: str = ""  # how it was reached: "", "$(...)", "bash -c", "python -c", "find -exec", ...
    pipeline: int = -1  # segments sharing a pipeline id >= 0 are joined by |, in order
    known: bool = True  # program is in the command catalog
    speculative: bool = False  # an unknown program's argument read as what it might run: asks, never denies


@record
class Analysis:
    """The result of analysing one action into segments and effects."""

    segments: tuple[Segment, ...]
    effects: tuple[Effect, ...]
    opaque: bool = False
    reasons: tuple[str, ...] = ()  # why it is opaque / what failed
    error: str | None = None  # a parse failure or internal error: fail closed
    structured: bool = False  # the exec_strict subset: one simple command, nothing else
    argv: tuple[str, ...] | None = None  # argv to run without a shell when structured
    warnings: tuple[str, ...] = ()
    # (value, marker) for every secret the action carries (analysis/secretscan): the verdict shows the
    # marker, never the value; longest value first
    redact: tuple[tuple[str, str], ...] = ()
