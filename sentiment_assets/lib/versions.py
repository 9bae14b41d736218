"""Code and data versions: what Dagster compares to tell a stale asset from a fresh one.

Data versions come from content, so that an unchanged value leaves everything downstream fresh.
Code versions are derived from source, so that they change whenever the code computing an asset
does and nobody has to remember to bump them. An asset's code is its function, the definitions of
its module and of other `defs/` modules it uses (followed name by name), and every `model/` and
`lib/` module it reaches (whole, with their own imports, and the data files beside it that it
names, such as the stopword list). `defs/platform/` is wiring (storage, resources, metadata,
pools) and never counts. The source is read, never imported.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pydantic import BaseModel

PACKAGE = "sentiment_assets"
COMPUTING = (f"{PACKAGE}.model", f"{PACKAGE}.lib")
WIRING = f"{PACKAGE}.defs.platform"
_ROOT = Path(__file__).resolve().parents[1]
_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n]+)", re.M)
# A quoted file name (`"stopwords_english.txt"`): data a module may read from beside itself.
_FILE_NAME = re.compile(r"""["']([\w.-]+\.\w+)["']""")


def frame_version(frame: pd.DataFrame) -> str:
    """A table's data version: a sha256 over its column names and types and every row (not the
    index, which storage does not keep)."""
    import pandas as pd

    digest = hashlib.sha256(repr(list(frame.dtypes.items())).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def value_version(value: BaseModel) -> str:
    """A pydantic value's data version: a sha256 of its JSON."""
    return hashlib.sha256(value.model_dump_json().encode()).hexdigest()


def training_version(dataset_fingerprint: str, training: BaseModel) -> str:
    """The data version of candidates trained on a dataset with `training` settings: what they
    are trained from, not the runs they happened to be logged as, so that the same dataset and
    settings count as unchanged and new settings as a change."""
    digest = hashlib.sha256(f"{dataset_fingerprint}\n".encode())
    digest.update(training.model_dump_json().encode())
    return digest.hexdigest()


def code_version(module: str, name: str) -> str:
    """The version of the code behind `name` (a function) in `module` (a dotted name): the first 16
    hex digits of a sha256 over every piece of source it reaches."""
    pieces: set[tuple[str, str]] = set()
    todo = [(module, name)]
    while todo:
        piece = todo.pop()
        if piece in pieces:
            continue
        pieces.add(piece)
        todo += [p for p in _reaches(*piece) if p not in pieces]
    digest = hashlib.sha256()
    for piece_module, piece_name in sorted(pieces):
        digest.update(f"{piece_module}:{piece_name}\n".encode())
        digest.update(_piece_source(piece_module, piece_name).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class _Module:
    """A parsed module: its source's lines, its top-level definitions, and where its imported names
    come from (a name -> a module, or a module and a name in it)."""

    lines: list[str]
    definitions: dict[str, ast.stmt]
    imported: dict[str, tuple[str, str]]


@cache
def _reaches(module: str, name: str) -> list[tuple[str, str]]:
    """The pieces one piece uses directly; a whole module is the piece (module, "")."""
    if not name:
        return [(m, "") for m in _module_imports(module)]
    parsed = _parse(module)
    node = parsed.definitions[name]
    # Parameters and local variables shadow the module's names (an asset's input is named after
    # the upstream asset, defined in the same module).
    local = {n.arg for n in ast.walk(node) if isinstance(n, ast.arg)} | {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    found = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and inner.id != name and inner.id not in local:
            found.append(_resolve(module, parsed, inner.id))
        elif isinstance(inner, ast.Import | ast.ImportFrom):
            found += [(m, "") for m in _statement_modules(inner, module)]
    return [piece for piece in found if piece is not None and _counts(piece[0])]


def _resolve(module: str, parsed: _Module, name: str) -> tuple[str, str] | None:
    if name in parsed.definitions:
        return module, name
    if name not in parsed.imported:
        return None  # a builtin or a local variable
    source, attribute = parsed.imported[name]
    if not _counts(source):
        return None  # another package, or the wiring
    if source.startswith(COMPUTING) or not attribute:
        return source, ""
    return (source, attribute) if attribute in _parse(source).definitions else (source, "")


def _counts(module: str) -> bool:
    return module.startswith(PACKAGE) and not module.startswith(WIRING) and _path(module).is_file()


def _piece_source(module: str, name: str) -> str:
    if not name:
        return _text(module) + _data(module)
    parsed = _parse(module)
    node = parsed.definitions[name]
    return "\n".join(parsed.lines[node.lineno - 1 : node.end_lineno])


@cache
def _text(module: str) -> str:
    return _path(module).read_text()


def _data(module: str) -> str:
    """The files beside a module that it names (not Python), each with its name and content."""
    folder = _path(module).parent
    named = sorted(set(_FILE_NAME.findall(_text(module))))
    found = [folder / name for name in named if not name.endswith(".py")]
    return "".join(
        f"\n{path.name}\n{path.read_text(errors='replace')}" for path in found if path.is_file()
    )


@cache
def _parse(module: str) -> _Module:
    """A module parsed to follow its definitions; only `defs/` modules are (parsing is most of
    the cost, and `model/` and `lib/` modules count whole)."""
    source = _text(module)
    tree = ast.parse(source, filename=str(_path(module)))
    definitions: dict[str, ast.stmt] = {}
    imported: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            definitions[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                definitions |= {n.id: node for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import):
            # `import a.b` binds `a`, `import a.b as c` binds `c` to `a.b`.
            imported |= {
                (a.asname or a.name.split(".")[0]): (
                    a.name if a.asname else a.name.split(".")[0],
                    "",
                )
                for a in node.names
            }
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, module)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                imported[alias.asname or alias.name] = (
                    (submodule, "") if _path(submodule).is_file() else (base, alias.name)
                )
    return _Module(source.splitlines(), definitions, imported)


@cache
def _module_imports(module: str) -> frozenset[str]:
    """Every project module a whole module imports, anywhere in its source (function-local
    imports too), found by pattern rather than by parsing: an import in a string counts too."""
    text = re.sub(r"#[^\n]*", "", _text(module))
    names = []
    for dots, base, what in _FROM.findall(text):
        base = _absolute(base or None, len(dots), module)
        names += [base] + [
            f"{base}.{_imported_name(n)}" for n in what.strip("()").split(",") if n.strip()
        ]
    for what in _IMPORT.findall(text):
        names += [_imported_name(n) for n in what.split(",")]
    return frozenset(m for m in _with_packages(names) if _counts(m))


def _statement_modules(node: ast.Import | ast.ImportFrom, module: str) -> set[str]:
    """The project modules an import statement runs: the named ones, their packages, and the
    submodules a `from` names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = _absolute(node.module, node.level, module)
        names = [base] + [f"{base}.{alias.name}" for alias in node.names]
    return _with_packages(names)


def _imported_name(text: str) -> str:
    return text.split(" as ")[0].strip()


def _with_packages(names: list[str]) -> set[str]:
    """The project modules among `names`, with the packages importing each runs."""
    found = set()
    for name in names:
        parts = name.split(".")
        found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return {name for name in found if name.startswith(PACKAGE) and _path(name).is_file()}


def _absolute(name: str | None, level: int, module: str) -> str:
    if level == 0:
        return name or ""
    is_package = _path(module).name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{base}.{name}" if name else base


def _path(module: str) -> Path:
    if module.split(".")[0] != PACKAGE:
        return Path("/nonexistent")
    folder = _ROOT.joinpath(*module.split(".")[1:])
    return folder / "__init__.py" if folder.is_dir() else folder.with_suffix(".py")
