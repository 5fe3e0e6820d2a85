"""The package's layout: imports flow one way, the runtime never loads the tools, and only
config.py touches the environment (docs/code.md). Source checks only: no model, no index."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "src" / "scoqa"
#: The parts of the package, lowest first: a part may import the parts before it, never one after.
LAYERS = ("config", "text", "lexical", "ingest", "index", "search", "qa", "engine", "api", "interfaces", "tools")


def part_of(module: str) -> str:
    """The part of the package ``module`` (a dotted name under ``scoqa``) belongs to; ``""`` for the
    package root itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def package_imports(path: Path) -> list[tuple[str, list[str], bool]]:
    """Every import of a scoqa module in ``path``: (module imported, names taken from it, whether
    the import runs when the module is imported, i.e. is not inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside |= {id(child) for child in ast.walk(node) if child is not node}
    found = []
    for node in ast.walk(tree):
        at_import = id(node) not in inside
        if isinstance(node, ast.Import):
            found += [(a.name, [], at_import) for a in node.names if a.name.split(".")[0] == "scoqa"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "scoqa":
                continue
            names = [a.name for a in node.names]
            if node.module is None or target == "scoqa":  # `from . import store` imports modules
                submodules = [n for n in names if (PACKAGE.joinpath(*target.split(".")[1:], n)).exists()
                              or (PACKAGE.joinpath(*target.split(".")[1:], f"{n}.py")).exists()]
                found += [(f"{target}.{n}", [], at_import) for n in submodules]
                names = [n for n in names if n not in submodules]
                if not names:
                    continue
            found.append((target, names, at_import))
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def test_every_part_of_the_package_is_a_known_layer() -> None:
    assert {part_of(module_name(p)) for p in SOURCES} == set(LAYERS)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path: Path) -> None:
    source = part_of(module_name(path))
    wrong = []
    for target, names, at_import in package_imports(path):
        part = part_of(target)
        if part == "":  # the package root: its version only (the public API is for users)
            if names != ["__version__"]:
                wrong.append(f"{target} {names}")
        elif LAYERS.index(part) > LAYERS.index(source):
            # The CLI's eval and bench commands import the tools inside the command, and only there.
            if not (source == "interfaces" and part == "tools" and not at_import):
                wrong.append(target)
    assert not wrong, f"{module_name(path)} ({source}) imports a part above it: {wrong}"


def test_the_named_directions_are_absent() -> None:
    """The rules of the layout, spelled out (each is implied by the layer order above)."""
    forbidden = {
        "index": {"search", "qa", "engine", "api", "interfaces", "tools"},
        "search": {"qa", "engine", "api", "interfaces", "tools"},
        "qa": {"engine", "api", "interfaces", "tools"},
    }
    found = sorted(
        (module_name(p), target)
        for p in SOURCES
        for target, _, _ in package_imports(p)
        if part_of(target) in forbidden.get(part_of(module_name(p)), set())
    )
    assert found == []


#: The index folder on disk: what it holds in memory, its files, the atomic swap, its entry points.
STORAGE = ("errors", "faiss_index", "files", "runs", "swap", "store")


def test_storage_imports_no_ranking_code() -> None:
    imported = {target for name in STORAGE for target, _, _ in package_imports(PACKAGE / "index" / f"{name}.py")}
    # scoqa.config for import_bm25s (bm25s loaded as scoqa loads it everywhere)
    allowed = {"scoqa", "scoqa.config", "scoqa.ingest.chunk", *(f"scoqa.index.{name}" for name in STORAGE)}
    assert imported <= allowed, imported


def test_importing_scoqa_loads_no_tool_and_no_interface() -> None:
    code = "import scoqa, sys; print('\\n'.join(sorted(m for m in sys.modules if m.startswith('scoqa'))))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded = result.stdout.split()
    assert "scoqa.api" in loaded and "scoqa.qa.answer" in loaded  # the check sees the runtime
    assert [m for m in loaded if m.startswith(("scoqa.tools", "scoqa.interfaces"))] == []


def test_without_an_endpoint_no_language_model_client_is_loaded() -> None:
    """The openai client (and the generative modules) load only when SCOQA_LLM_URL is set."""
    code = ("import sys; import scoqa, scoqa.interfaces.app, scoqa.interfaces.cli; "
            "print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] == 'openai' or m.startswith('scoqa.qa.generate'))))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOQA_LLM")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                            env=env)
    assert result.stdout.split() == []
    code = code.replace("import scoqa,", "import scoqa.qa.generate, scoqa,")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                            env=env)
    assert "scoqa.qa.generate" in result.stdout.split()  # the check sees what it looks for


def environment_uses(path: Path) -> list[str]:
    """Lines of ``path`` that read or set the environment (``os.environ``, ``getenv`` and the like)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv", "putenv", "unsetenv"):
            found.append(f"{path.name}:{node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and any(
            a.name in ("environ", "environb", "getenv", "putenv", "unsetenv") for a in node.names
        ):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_only_config_touches_the_environment() -> None:
    files = [*SOURCES, PACKAGE / "__init__.py", ROOT / "app.py"]
    assert [line for p in files if p != PACKAGE / "config.py" for line in environment_uses(p)] == []
    assert environment_uses(PACKAGE / "config.py")  # the check finds what it looks for
