"""The layering, checked on the source: every import of a project module (top-level or inside a function) must point
down or sideways, and no chain of imports may come back to where it started.

    index/  files → index on disk          imports only index/
    rag/    question → cited answer        imports index/ and rag/
    ui/     the browser chat               imports rag/ and index/
    eval/   offline evaluation             imports rag/, index/ (never ui/: it drives the server over HTTP)
    rag/cli.py, the entry point            may import anything; nothing imports it
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("index", "rag", "ui", "eval", "prompts")
ENTRY_POINTS = {"rag.cli"}
ALLOWED = {"index": {"index"}, "rag": {"index", "rag"}, "ui": {"index", "rag", "ui"},
           "eval": {"index", "rag", "eval"}, "prompts": set()}


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in (ROOT / pkg).rglob("*.py"):
            parts = f.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = f
    return out


def imports(path: Path, known: set[str]) -> set[str]:
    """Project modules a file imports, anywhere in it; `from pkg import mod` counts as importing pkg.mod."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                     for a in node.names]
        else:
            continue
        for n in names:
            while n and n not in known:
                n = n.rpartition(".")[0]
            if n:
                found.add(n)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports(p, known) - {m} for m, p in mods.items()}


def upward(g: dict[str, set[str]]) -> list[str]:
    bad = []
    for m, deps in g.items():
        for d in deps:
            if d in ENTRY_POINTS:
                bad.append(f"{m} -> {d} (nothing may import the entry point)")
            elif m not in ENTRY_POINTS and d.split(".")[0] not in ALLOWED[m.split(".")[0]]:
                bad.append(f"{m} -> {d}")
    return sorted(bad)


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def package_cycles(g: dict[str, set[str]]) -> list[list[str]]:
    pg: dict[str, set[str]] = {}
    for m, deps in g.items():
        if m in ENTRY_POINTS:
            continue
        pg.setdefault(m.split(".")[0], set()).update(d.split(".")[0] for d in deps if d not in ENTRY_POINTS)
    return cycles({p: ds - {p} for p, ds in pg.items()})


def test_imports_point_downward_only():
    assert upward(graph()) == []


def test_no_import_circle_between_modules_or_packages():
    g = graph()
    assert cycles(g) == []
    assert package_cycles(g) == []


def test_the_checker_can_fail():
    g = {"index.store": {"rag.models"}, "rag.models": {"rag.provision.e5"}, "rag.provision.e5": {"rag.models"},
         "ui.app": {"rag.cli"}, "rag.cli": set()}
    assert upward(g) == ["index.store -> rag.models", "ui.app -> rag.cli (nothing may import the entry point)"]
    assert cycles(g) == [["rag.models", "rag.provision.e5"]]
    assert package_cycles({"index.a": {"rag.b"}, "rag.b": {"index.c"}, "index.c": set()}) == [["index", "rag"]]
