"""Reading task files: YAML, `include:` of shared defaults, and finding shipped tasks by name.

`include: defaults.yaml` (or a list of files) names files relative to the
including file. They are merged in order, then the including file on top:
mappings merge key by key (recursively), any other value (lists included)
replaces the included one. Errors name the file a field came from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

import benchmark
from benchmark.config.catalog import Catalog, default_catalog
from benchmark.config.fields import FieldPath, Sources, describe
from benchmark.config.schema import TaskConfig
from benchmark.config.validate import parse_task
from benchmark.errors import UserInputError
from benchmark.registry import suggest

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "TASKS_DIR",
    "YAMLLimitError",
    "ShippedTask",
    "load_task",
    "read_task_data",
    "resolve_task_path",
    "shipped_tasks",
]

TASKS_DIR = Path(benchmark.__file__).resolve().parent.parent / "tasks"


# Limits on one task file, checked while it is read, before anything is expanded: a task
# file is a few hundred nodes; these refuse alias bombs, deep nesting and huge files in
# milliseconds with one line, instead of a MemoryError or RecursionError later.
MAX_FILE_BYTES = 10_000_000
MAX_NODES = 100_000  # an alias counts as the nodes it stands for
MAX_DEPTH = 64


class YAMLLimitError(yaml.MarkedYAMLError):
    """A task file over one of the limits above (reported without "invalid YAML")."""


class _Loader(yaml.SafeLoader):
    """Safe YAML with three fixes: `1e-4` is a float (not a string), duplicate keys are errors,
    and the file is composed within `MAX_NODES` (aliases expanded) and `MAX_DEPTH`."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._sizes: dict[int, int] = {}  # id(node) -> nodes it stands for, once composed

    def _count(self, nodes: int, mark: yaml.Mark) -> None:
        """Adds `nodes` to the file's count; over `MAX_NODES` stops reading at `mark`."""
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise YAMLLimitError(
                None,
                None,
                f"more than {MAX_NODES:,} values (aliases count as what they repeat); "
                "a task file is far smaller",
                mark,
            )

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        """One node, counted (an alias as the size of its anchor's node) before it is built."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:
                if id(target) not in self._sizes:
                    raise YAMLLimitError(
                        None,
                        None,
                        f"alias *{event.anchor} refers to a value that contains it",
                        event.start_mark,
                    )
                self._count(self._sizes[id(target)], event.start_mark)
            return super().compose_node(parent, index)
        mark = self.peek_event().start_mark
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YAMLLimitError(
                None,
                None,
                f"nested more than {MAX_DEPTH} levels deep; a task file is flatter",
                mark,
            )
        before = self._nodes
        self._count(1, mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = self._nodes - before
        return node


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:float"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[object, yaml.Mark] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            kind = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
            raise yaml.constructor.ConstructorError(
                None, None, f"{kind} used as a key; keys are names", key_node.start_mark
            )
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {seen[key].line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_text(path: Path) -> str:
    """The file's text; a missing, unreadable, non-regular or too large file is one line."""
    try:
        if not path.is_file():
            if path.exists():
                raise UserInputError(
                    f"{_display(path)}: not a regular file (a task is a YAML file)"
                )
            raise UserInputError(f"{_display(path)}: no such task file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UserInputError(
                f"{_display(path)}: {size:,} bytes; a task file is at most {MAX_FILE_BYTES:,}"
            )
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserInputError(f"{_display(path)}: no such task file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserInputError(f"{_display(path)}: cannot read the file ({error})") from None


def _read_yaml(path: Path) -> object:
    text = _read_text(path)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = error.problem or error.context or "invalid YAML"
        kind = "" if isinstance(error, YAMLLimitError) else "invalid YAML: "
        raise UserInputError(f"{_display(path)}: {where}{kind}{problem}") from None
    except yaml.YAMLError as error:
        raise UserInputError(f"{_display(path)}: invalid YAML: {error}") from None


def _node_paths(value: object, prefix: FieldPath) -> list[FieldPath]:
    """Paths of every mapping key under `value` (list items inherit their list's file)."""
    paths = [prefix]
    if isinstance(value, Mapping):
        for key, item in value.items():
            paths.extend(_node_paths(item, (*prefix, key)))
    return paths


def _merge(
    base: dict, base_origins: dict[FieldPath, Path], top: Mapping, top_file: Path
) -> tuple[dict, dict[FieldPath, Path]]:
    """`top` over `base`, recursively for mappings; origins follow the values."""
    merged = dict(base)
    origins = dict(base_origins)

    def put(target: dict, key: str, value: object, path: FieldPath) -> None:
        if isinstance(value, Mapping) and isinstance(target.get(key), Mapping):
            inner = dict(target[key])
            for k, v in value.items():
                put(inner, k, v, (*path, k))
            target[key] = inner
            return
        for stale in [p for p in origins if p[: len(path)] == path]:
            del origins[stale]
        target[key] = value
        origins.update({p: top_file for p in _node_paths(value, path)})

    for key, value in top.items():
        put(merged, key, value, (key,))
    return merged, origins


def read_task_data(path: Path, _chain: tuple[Path, ...] = ()) -> tuple[dict, dict[FieldPath, Path]]:
    """The merged raw data of a task file and the file each field came from."""
    path = path.resolve()
    if path in _chain:
        cycle = " -> ".join(_display(p) for p in (*_chain, path))
        raise UserInputError(f"{_display(_chain[-1])}: include: files include each other: {cycle}")
    raw = _read_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise UserInputError(
            f"{_display(path)}: (top level): expected a mapping of task fields, got {describe(raw)}"
        )
    raw = dict(raw)
    merged: dict = {}
    origins: dict[FieldPath, Path] = {}
    includes = raw.pop("include", None)
    if includes is not None:
        names = [includes] if isinstance(includes, str) else includes
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise UserInputError(
                f"{_display(path)}: include: expected a file name or a list of file names, "
                f"got {describe(includes)}"
            )
        for i, name in enumerate(names):
            included = path.parent / name
            if not included.is_file():
                field = "include" if isinstance(includes, str) else f"include[{i}]"
                raise UserInputError(
                    f"{_display(path)}: {field}: no such file {name!r} "
                    f"(looked in {_display(path.parent)}/)"
                )
            data, data_origins = read_task_data(included, (*_chain, path))
            merged, origins = _merge(merged, origins, data, included)
            origins.update({p: f for p, f in data_origins.items()})
    return _merge(merged, origins, raw, path)


@dataclass(frozen=True)
class ShippedTask:
    """A task file in the repository's `tasks/` folder."""

    name: str
    path: Path
    description: str


def shipped_tasks(directory: Path = TASKS_DIR) -> list[ShippedTask]:
    """Task files in `directory` (files without a `name:` are shared defaults, not tasks)."""
    tasks = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            raw = _read_yaml(path)
        except UserInputError:
            continue
        if isinstance(raw, Mapping) and isinstance(raw.get("name"), str):
            description = raw.get("description") if isinstance(raw.get("description"), str) else ""
            tasks.append(ShippedTask(raw["name"], path, " ".join(str(description).split())))
    return tasks


def resolve_task_path(task: str | Path, directory: Path = TASKS_DIR) -> Path:
    """A shipped task's name (`quick`) or a path to a YAML file, as a path."""
    text = str(task)
    candidate = Path(text)
    if candidate.suffix in (".yaml", ".yml") or "/" in text or candidate.is_file():
        if not candidate.is_file():
            if candidate.exists():
                raise UserInputError(f"{text}: not a regular file (a task is a YAML file)")
            raise UserInputError(f"{text}: no such task file")
        return candidate
    if (directory / f"{text}.yaml").is_file():
        return directory / f"{text}.yaml"
    tasks = shipped_tasks(directory)
    for shipped in tasks:
        if shipped.name == text:
            return shipped.path
    names = [t.name for t in tasks]
    raise UserInputError(
        f"unknown task {text!r}{suggest(text, names)}; shipped tasks: "
        f"{', '.join(names) or '(none)'}; or give the path to a YAML file"
    )


def load_task(task: str | Path, catalog: Catalog | None = None) -> TaskConfig:
    """Reads, merges and validates a task (a shipped name or a YAML path).

    `catalog` defaults to the live registries (`default_catalog()`).
    """
    path = resolve_task_path(task)
    data, origins = read_task_data(path)
    sources = Sources(path.resolve(), origins)
    config = parse_task(data, sources, catalog if catalog is not None else default_catalog())
    return config
