"""Two evaluators, one truth: the indexed matcher agrees with the plain reference evaluator."""
from hypothesis import given, settings, strategies as st, HealthCheck

from policylang import Command, FileOp, Settings, from_text

CWD, ENV = "/home/u/proj", {"HOME": "/home/u"}
PROGRAMS = ["git", "rm", "ls", "cat", "curl", "tool1", "make"]
WORDS = ["push", "status", "log", "origin", "main", "build", "x", "deploy"]
FLAGS = ["-f", "-r", "-rf", "--force", "--recursive", "-v", "-la"]
DIRS = ["/etc", "/home/u/proj", "/home/u/proj/src", "/tmp", "/srv", "/home/u/.ssh"]
DECISIONS = ["allow", "sandbox", "ask", "deny"]

word = st.sampled_from(WORDS)
flag = st.sampled_from(FLAGS)
item = st.one_of(word, flag, st.just("?"), st.just("..."),
                 st.lists(word, min_size=2, max_size=3, unique=True).map(lambda ws: "{" + ", ".join(ws) + "}"),
                 st.lists(flag, min_size=2, max_size=3, unique=True).map(lambda fs: "{" + ", ".join(fs) + "}"))
program = st.one_of(st.sampled_from(PROGRAMS), st.just("?"),
                    st.lists(st.sampled_from(PROGRAMS), min_size=2, max_size=3, unique=True)
                    .map(lambda ps: "{" + ", ".join(ps) + "}"))
glob = st.builds(lambda d, tail: d + tail, st.sampled_from(DIRS), st.sampled_from(["/**", "/*", "", "/*.txt"]))
exec_target = st.builds(lambda p, items: "exec " + " ".join([p, *items]), program, st.lists(item, max_size=4))
path_target = st.builds(lambda k, rec, gs: f"{k}{' recursive' if rec else ''} in [" + ", ".join(f'"{g}"' for g in gs) + "]",
                        st.sampled_from(["read", "write", "delete"]), st.booleans(), st.lists(glob, min_size=1, max_size=3))
target = st.one_of(exec_target, path_target)
rule = st.tuples(st.sampled_from(DECISIONS), target, st.one_of(st.none(), exec_target),
                 st.sampled_from(["", "risk high", "risk low", "risk critical"]))


def render(rules):
    out = []
    for i, (decision, tgt, unless, risk) in enumerate(rules):
        line = f"rule r{i}: {decision} {tgt} {risk}"
        if unless and tgt.startswith("exec"):
            line += f"\n    unless {unless}"
        out.append(line)
    return "\n".join(out)


arg = st.one_of(word, flag, st.builds(lambda d, n: d + n, st.sampled_from(DIRS), st.sampled_from(["", "/a.txt", "/x"])))
command = st.builds(lambda p, args: " ".join([p, *args]), st.sampled_from(PROGRAMS), st.lists(arg, max_size=5))
commands = st.lists(command, min_size=1, max_size=3).map(lambda cs: " ; ".join(cs))
file_op = st.builds(lambda op, d, n: FileOp(op, d + n, cwd=CWD, env=ENV),
                    st.sampled_from(["read", "write", "edit", "delete"]), st.sampled_from(DIRS),
                    st.sampled_from(["", "/a.txt", "/b/c"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule, min_size=1, max_size=12), st.lists(st.one_of(commands, file_op), min_size=1, max_size=6),
       st.sampled_from(["approve", "execute"]))
def test_index_agrees_with_reference(rules, actions, mode):
    policy = from_text(render(rules), Settings(mode=mode, cache_size=0), builtin=False)
    for a in actions:
        action = Command(a, cwd=CWD, env=ENV) if isinstance(a, str) else a
        fast = policy.decide(action)
        ref = policy.reference_decide(action)
        assert fast.decision == ref.decision, (render(rules), a)
        assert set(fast.matched) == set(ref.matched), (render(rules), a)
        assert fast.risk == ref.risk
