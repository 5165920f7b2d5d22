"""Generated policies shared by the benchmark files."""


def generated_policy(n: int) -> str:
    """n rules over distinct programs and paths, as a large organisation's policy would have."""
    lines = []
    for i in range(n):
        if i % 2:
            lines.append(f"rule gen.exec.{i}: deny exec tool{i} sub{i % 7} ... --flag{i % 5} ...")
        else:
            lines.append(f'rule gen.path.{i}: deny write in ["/srv/data{i}/**"]')
    return "\n".join(lines)
