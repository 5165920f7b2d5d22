"""What the benchmark files share: generated policies and the labelled command corpus."""
from pathlib import Path


def generated_policy(n: int) -> str:
    """n rules over distinct programs and paths, as a large organisation's policy would have."""
    lines = []
    for i in range(n):
        if i % 2:
            lines.append(f"rule gen.exec.{i}: deny exec tool{i} sub{i % 7} ... --flag{i % 5} ...")
        else:
            lines.append(f'rule gen.path.{i}: deny write in ["/srv/data{i}/**"]')
    return "\n".join(lines)


CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "commands-dev.tsv"


def corpus_rows() -> list[tuple[str, str, str]]:
    """(command, expected, category) for every row of the labelled command corpus."""
    out = []
    with CORPUS.open(encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                out.append((parts[0], parts[1], parts[2]))
    return out
