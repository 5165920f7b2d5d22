"""pytest plugin: record every action decided and every command analysed during the test run."""
import json, os, atexit

OUT = os.environ.get("GOLDEN_RECORD", "/tmp/golden/recorded.jsonl")
_seen = set()
_fh = open(OUT, "a", encoding="utf-8")
atexit.register(_fh.close)


def _env(e):
    return dict(e) if e is not None else None


def _ser(a):
    import policylang.actions as A
    t = type(a)
    if isinstance(a, str):
        return {"kind": "command", "command": a}
    if isinstance(a, (list, tuple)):
        return {"kind": "command", "command": list(a)}
    if t is A.Command:
        c = a.command
        return {"kind": "command", "command": list(c) if isinstance(c, tuple) else c, "cwd": a.cwd, "env": _env(a.env)}
    if t is A.FileOp:
        return {"kind": "file", "op": a.op, "path": a.path, "cwd": a.cwd, "env": _env(a.env)}
    if t is A.Fetch:
        return {"kind": "fetch", "url": a.url, "method": a.method}
    if t is A.Code:
        return {"kind": "code", "language": a.language, "source": a.source, "cwd": a.cwd, "env": _env(a.env)}
    if t is A.ToolCall:
        return {"kind": "tool", "name": a.name, "args": dict(a.args)}
    if t is A.Message:
        return {"kind": "message", "text": a.text, "direction": a.direction}
    return None


def _write(obj):
    try:
        line = json.dumps(obj, sort_keys=True, default=str)
    except Exception:
        return
    if line not in _seen:
        _seen.add(line)
        _fh.write(line + "\n")


def pytest_configure(config):
    import policylang.engine.policy as E
    import policylang.analysis.shell.analyser as S
    orig = E.Policy.decide

    def decide(self, action, context=None):
        try:
            s = _ser(action)
            if s is not None:
                _write({"action": s})
        except Exception:
            pass
        return orig(self, action, context)
    E.Policy.decide = decide
    orig_ac = S.analyse_command

    def analyse_command(text, *, cwd, env, home):
        _write({"shell": text, "cwd": cwd, "env": dict(env), "home": home})
        return orig_ac(text, cwd=cwd, env=env, home=home)
    S.analyse_command = analyse_command
    E.analyse_command = analyse_command
