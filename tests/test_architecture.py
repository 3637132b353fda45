"""The package's shape: no import cycles, and no module importing a later stage of the pipeline.
Every import counts, including those inside functions and under TYPE_CHECKING."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "letterforge"

# The stages in the order a day runs them; a module may import its own stage and earlier ones.
STAGES: list[tuple[str, set[str]]] = [
    # shared by every stage: records, settings, money, dates, file names and permissions, the ledger's store
    ("foundation", {"__init__", "diagnostics", "money", "records", "kinds", "calendars", "filenames", "permissions",
                    "phrasing", "readers", "config", "ledger", "shipped", "caches"}),
    ("load", {"validation", "latefees", "workspace"}),  # latefees: the base-rates file and the fee rules
    ("statements", {"statements"}),
    ("escalation", {"escalation"}),
    ("planning", {"planning", "dayplan"}),
    ("drafts", {"addressing", "annexes", "clauses", "clausecheck", "model", "drafts", "delivery", "sms"}),
    ("rendering", {"fonts", "pdffonts", "pdfinfo", "proof", "templating", "pdfrender", "docxrender", "rendering", "rendertask",
                   "doctor", "letters", "letterfacts", "executors", "printpack"}),
    ("outputs", {"archive", "outputs", "sealing"}),  # sealing: issued PDFs signed before they are archived
    ("ledger", {"issuing", "recovery", "emailing", "bounces", "evidence", "sms_notices"}),  # sent after issue, recorded
    # the façade and what stands on it: commands, reports
    ("facade", {"pipeline", "batch", "clerk", "ledgercheck", "reports", "cli", "__main__"}),
]


def imports_of(path: Path) -> set[str]:
    """The letterforge modules a file imports, wherever in the file the import is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "letterforge":
                found |= {alias.name for alias in node.names if (PACKAGE / f"{alias.name}.py").is_file()}
            elif node.module.startswith("letterforge."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("letterforge.")}
    found.discard(path.stem)
    return found


def import_graph() -> dict[str, set[str]]:
    return {path.stem: imports_of(path) for path in sorted(PACKAGE.glob("*.py"))}


def stage_of() -> dict[str, int]:
    return {module: number for number, (_, modules) in enumerate(STAGES) for module in modules}


def test_every_module_has_a_stage():
    stages = stage_of()
    missing = sorted(set(import_graph()) - set(stages))
    assert not missing, f"modules in no stage (add them to STAGES in {Path(__file__).name}): {missing}"
    assert sum(len(modules) for _, modules in STAGES) == len(stages), "a module is in two stages"
    assert not set(stages) - set(import_graph()), "STAGES names a module that does not exist"


def test_no_module_imports_a_later_stage():
    stages = stage_of()
    names = [name for name, _ in STAGES]
    wrong = [f"{module} ({names[stages[module]]}) imports {other} ({names[stages[other]]})"
             for module, imported in import_graph().items() if module in stages
             for other in sorted(imported) if other in stages and stages[other] > stages[module]]
    assert not wrong, "\n".join(wrong)


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path of modules, or [] when there is none."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = "open"
        path.append(module)
        for other in sorted(graph.get(module, ())):
            if state.get(other) == "open":
                return path[path.index(other):] + [other]
            if other not in state and (cycle := visit(other)):
                return cycle
        state[module] = "done"
        path.pop()
        return []

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return []


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert not cycle, " -> ".join(cycle)


def test_the_checks_see_function_level_imports_and_cycles(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("import os\n\ndef late():\n    from letterforge.pipeline import run_batch\n"
                      "    import letterforge.ledger\n    return run_batch\n", encoding="utf-8")
    assert imports_of(module) == {"pipeline", "ledger"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []



def test_the_cli_imports_only_the_facade_and_the_reports():
    # and the vocabulary its options offer (letter kinds, ledger statuses): two small foundation
    # modules, so that `letterforge --help` starts without loading the stages
    allowed = {"pipeline", "reports", "diagnostics", "kinds", "records"}
    assert imports_of(PACKAGE / "cli.py") <= allowed, sorted(imports_of(PACKAGE / "cli.py") - allowed)


def test_the_facade_gives_what_it_says():
    import letterforge.pipeline as pipeline

    assert [name for name in pipeline.__all__ if not hasattr(pipeline, name)] == []
