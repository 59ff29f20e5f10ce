"""Raw YAML data (after `include:` merging) into a validated `TaskConfig`.

Each section has its own small function; each check names the file, the
field path and what was expected (see `benchmark.config.fields`).
"""

from __future__ import annotations

import inspect
import itertools
import math
import types
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence

from benchmark.columns import PARAMETERS, SAMPLED_PREFIX, columns
from benchmark.config.catalog import REPRESENTATIONS, Catalog
from benchmark.config.fields import (
    FieldPath,
    Sources,
    check_keys,
    describe,
    format_path,
    is_number,
    unique,
)
from benchmark.config.runs import canonical_json
from benchmark.config.schema import (
    MAX_ARTIFACT_MB,
    MAX_ATTEMPTS,
    MAX_RUN_TIMEOUT_S,
    PRECISIONS,
    XLA_CHOICES,
    DatasetConfig,
    EvaluationConfig,
    ExecutionConfig,
    LeaderboardConfig,
    ModelConfig,
    Scalar,
    TaskConfig,
    TrainingConfig,
)
from benchmark.errors import ArgumentError, ConfigWarning, UserInputError
from benchmark.evaluation.part import PARTS
from benchmark.evaluation.run import resolved_settings
from benchmark.registry import suggest
from benchmark.task_names import MAX_NAME_LENGTH, RESERVED_TASK_NAMES, task_name_problem

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_RUNS",
    "MAX_SEED",
    "MAX_STEPS",
    "RESERVED_TASK_NAMES",
    "TOP_LEVEL_KEYS",
    "WARN_RUNS",
    "parse_task",
    "task_name_problem",
]

# Seeds go into the training loop's int32 stateless seeds and into
# `RandomState(seed + offset)` (below 2**32), so they are 0 .. 2**31 - 1.
MAX_SEED = 2**31 - 1
# Training: a billion steps is far beyond any study (300,000), and one batch of
# 64 x 64 images must fit in memory.
MAX_STEPS = 1_000_000_000
MAX_BATCH_SIZE = 65_536
# Adam's step size: far above any useful one (1e-4 .. 1e-2), and below float32's overflow.
MAX_LEARNING_RATE = 10.0
# A task above WARN_RUNS runs gets a warning (counted before the sweep is expanded);
# above MAX_RUNS it is refused at once: a million runs of a minute each are two GPU-years,
# and checking every configuration of a larger sweep would itself take minutes.
WARN_RUNS = 100_000
MAX_RUNS = 1_000_000

TOP_LEVEL_KEYS = (
    "name",
    "description",
    "include",
    "dataset",
    "models",
    "sweep",
    "seeds",
    "training",
    "evaluation",
    "leaderboard",
    "execution",
)

# A sweep point's values, each with the field path it was written at.
_Point = dict[str, tuple[Scalar, FieldPath]]


def parse_task(raw: object, sources: Sources, catalog: Catalog) -> TaskConfig:
    """Validates merged task data; the first mistake raises `UserInputError`."""
    data = sources.mapping(raw, ())
    check_keys(
        sources,
        data,
        (),
        allowed=TOP_LEVEL_KEYS,
        required=("name", "dataset", "models", "seeds", "training", "evaluation"),
    )
    name = sources.string(data["name"], ("name",), identifier=True)
    problem = task_name_problem(name)
    if problem is not None:
        raise sources.error(("name",), problem)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise sources.error(("description",), f"expected text, got {describe(description)}")

    seeds = _seeds(data["seeds"], sources)
    _check_run_count(data, len(seeds), sources)
    training = _training(data["training"], sources)
    evaluation = _evaluation(data["evaluation"], sources, catalog)
    dataset, observation_shape, combinations = _dataset(data["dataset"], sources, catalog)
    task_sweep = _sweep(data["sweep"], ("sweep",), sources, catalog) if "sweep" in data else [{}]
    models = _models(data["models"], task_sweep, sources, catalog, observation_shape)
    if evaluation.latent_scores:
        _check_latent_score_sizes(data, evaluation, models, dataset, combinations, sources, catalog)
    _warn_merged_entries(models, sources)
    arg_names = _argument_names(models, task_sweep, dataset)
    leaderboard = _leaderboard(data.get("leaderboard", {}), arg_names, evaluation, sources)
    _check_rows_tell_configurations_apart(models, leaderboard.rows, sources)
    return TaskConfig(
        name=name,
        description=description.strip(),
        dataset=dataset,
        models=tuple(m for m, _ in models),
        sweep=tuple(_values(p) for p in task_sweep),
        seeds=seeds,
        training=training,
        evaluation=evaluation,
        leaderboard=leaderboard,
        source=str(sources.default),
        execution=_execution(data.get("execution", {}), sources),
    )


def _values(point: _Point) -> dict[str, Scalar]:
    return {key: value for key, (value, _) in point.items()}


# ---- dataset ---------------------------------------------------------------------------------


def _dataset(
    raw: object, sources: Sources, catalog: Catalog
) -> tuple[DatasetConfig, tuple[int, ...] | None, int | None]:
    """The data set and, when its class can say so cheaply, its observation shape and
    its number of factor combinations (`GroundTruthData.num_combinations`)."""
    path: FieldPath = ("dataset",)
    data = sources.mapping(raw, path)
    check_keys(sources, data, path, allowed=("name", "args"), required=("name",))
    name = sources.choice(data["name"], (*path, "name"), catalog.datasets, "data set")
    located = _args(data.get("args", {}), (*path, "args"), sources, None)
    args = _values(located)
    target = catalog.dataset_targets.get(name)
    shape = combinations = None
    if target is not None:
        _check_call(target, located, path, sources)
        validate = getattr(target, "validate_args", None)
        if validate is not None:
            shape = _declared_check(lambda: validate(**args), located, path, sources)
        count = getattr(target, "num_combinations", None)
        if count is not None:
            combinations = _declared_check(lambda: count(**args), located, path, sources)
    return DatasetConfig(name=name, args=args), shape, combinations


def _check_latent_score_sizes(
    data: Mapping[str, object],
    evaluation: EvaluationConfig,
    models: list[tuple[ModelConfig, list[_Point]]],
    dataset: DatasetConfig,
    combinations: int | None,
    sources: Sources,
    catalog: Catalog,
) -> None:
    """Latent-score settings that cannot work for some configuration fail here, not after training.

    - The total correlation needs `min(tc_sample_size, num_points)` points of a
      data set with at least that many distinct images (Chen et al.'s
      stratified weights assume N >= M).
    - A sampled family (IAF) needs `posterior_samples` above its number of
      latents (an invertible sample covariance per input).
    """
    settings = {**catalog.latent_score_defaults, **evaluation.settings_for("latent_scores")}

    def where(name: str) -> tuple[FieldPath, str]:
        raw = data["evaluation"].get("settings") or {}  # type: ignore[union-attr]
        if isinstance(raw.get("latent_scores"), Mapping) and name in raw["latent_scores"]:
            return ("evaluation", "settings", "latent_scores", name), ""
        if name in raw:
            return ("evaluation", "settings", name), ""
        return ("evaluation", "settings", "latent_scores", name), " (the default)"

    if combinations is not None and "tc_sample_size" in settings and "num_points" in settings:
        needed = min(int(settings["tc_sample_size"]), int(settings["num_points"]))  # type: ignore[arg-type]
        if needed > combinations:
            path, default = where("tc_sample_size")
            raise sources.error(
                path,
                f"expected at most the {combinations:,} distinct images of data set "
                f"{dataset.name!r} (the total correlation draws min(tc_sample_size, num_points) "
                f"= {needed:,} distinct points), got {settings['tc_sample_size']}{default}; "
                "set it lower, or latent_scores: false",
            )
    draws = settings.get("posterior_samples")
    if draws is None:
        return
    for index, (model, points) in enumerate(models):
        defaults = catalog.model_defaults.get(model.entry, {})
        for point in points:
            args = {**model.args, **_values(point)}
            family = args.get("posterior", defaults.get("posterior"))
            latent_dim = args.get("latent_dim", defaults.get("latent_dim"))
            if family not in catalog.sampled_posteriors or not isinstance(latent_dim, int):
                continue
            if int(draws) <= latent_dim:  # type: ignore[arg-type]
                path, default = where("posterior_samples")
                raise sources.error(
                    path,
                    f"expected more than the {latent_dim} latents of models[{index}] "
                    f"({model.entry}, posterior {family}: its moments are sample estimates and "
                    f"need an invertible sample covariance), got {draws}{default}",
                )


def _declared_check(
    check: Callable[[], object],
    args: dict[str, tuple[Scalar, FieldPath]],
    path: FieldPath,
    sources: Sources,
) -> typing.Any:
    """Runs a data set's or entry's own argument check; its error points at the field to blame."""
    try:
        return check()
    except ArgumentError as error:
        where = (
            args[error.argument][1] if error.argument in args else (*path, "args", error.argument)
        )
        raise sources.error(where, error.detail) from None
    except UserInputError as error:
        # One argument: it is the one to blame (and the file that set it is named).
        where = next(iter(args.values()))[1] if len(args) == 1 else (*path, "args")
        raise sources.error(where, str(error)) from None


def _args(raw: object, path: FieldPath, sources: Sources, catalog: Catalog | None) -> _Point:
    """Keyword arguments with their field paths: numbers, strings, booleans, or lists of those
    (e.g. `pair: [posX, posY]`); for a model (`catalog` given), a `posterior` mapping is a
    family with its options (`_posterior_items`)."""
    data = sources.mapping({} if raw is None else raw, path)
    args: _Point = {}
    for key, value in data.items():
        for name, item, where in _argument_items(key, value, (*path, key), sources, catalog):
            args[name] = (item, where)
    return args


def _argument_value(value: object, where: FieldPath, sources: Sources) -> Scalar:
    """One argument's value: a scalar, or a list of scalars."""
    if isinstance(value, list | tuple):
        items = sources.sequence(value, where)
        return [sources.scalar(v, (*where, i)) for i, v in enumerate(items)]  # type: ignore[return-value]
    return sources.scalar(value, where)


def _argument_items(
    key: str, value: object, where: FieldPath, sources: Sources, catalog: Catalog | None
) -> list[tuple[str, Scalar, FieldPath]]:
    """`(name, value, path)` of the arguments one written `key: value` stands for."""
    if catalog is not None and key == "posterior" and isinstance(value, Mapping):
        return _posterior_items(value, where, sources, catalog)
    return [(key, _argument_value(value, where, sources), where)]


def _posterior_items(
    raw: Mapping[str, object], where: FieldPath, sources: Sources, catalog: Catalog
) -> list[tuple[str, Scalar, FieldPath]]:
    """`posterior: {family: iaf, iaf_steps: 2}`: the family and its options, as model arguments.

    The same run as writing `posterior: iaf` and `iaf_steps: 2` among the
    arguments (same run id); a key the family does not take is refused here,
    naming the options it does take.
    """
    data = sources.mapping(raw, where)
    if "family" not in data:
        raise sources.error(
            where, "expected a family name (posterior: NAME) or a mapping with a 'family' key"
        )
    family = sources.choice(
        data["family"], (*where, "family"), catalog.posteriors, "posterior family"
    )
    options = catalog.family_options.get(family)
    if options is not None:
        for key in data:
            if key != "family" and key not in options:
                takes = ", ".join(options) if options else "no options"
                raise sources.error(
                    (*where, key),
                    f"unknown option{suggest(key, list(options))} of posterior family "
                    f"{family!r}; it takes {takes}",
                )
    items = [("posterior", family, (*where, "family"))]
    for key, value in data.items():
        if key != "family":
            items.append((key, _argument_value(value, (*where, key), sources), (*where, key)))
    return items


# ---- sweep -----------------------------------------------------------------------------------


def _sweep(raw: object, path: FieldPath, sources: Sources, catalog: Catalog) -> list[_Point]:
    """Sweep points: a mapping of lists (Cartesian product, in file order) or a list of mappings.

    A `posterior` value may be a family with options (`{family: iaf, iaf_steps: 2}`);
    its options become arguments of that point only.
    """
    if isinstance(raw, Mapping):
        data = sources.mapping(raw, path)
        if not data:
            return [{}]
        axes: list[list[list[tuple[str, Scalar, FieldPath]]]] = []
        for key, values in data.items():
            items = sources.sequence(values, (*path, key))
            groups = [
                _sweep_items(key, v, (*path, key, i), sources, catalog) for i, v in enumerate(items)
            ]
            _same_kind([g[0][1] for g in groups], (*path, key), sources)
            unique(sources, [{k: v for k, v, _ in g} for g in groups], (*path, key), key=_canonical)
            axes.append(groups)
        return [_merged(combo, sources) for combo in itertools.product(*axes)]
    if isinstance(raw, list | tuple):
        items = sources.sequence(raw, path)
        points = []
        for i, item in enumerate(items):
            point = sources.mapping(item, (*path, i))
            if not point:
                raise sources.error((*path, i), "expected at least one argument: value")
            groups = [_sweep_items(k, v, (*path, i, k), sources, catalog) for k, v in point.items()]
            points.append(_merged(groups, sources))
        unique(sources, [_values(p) for p in points], path, key=_canonical)
        return points
    raise sources.error(
        path,
        "expected a mapping of argument -> list of values (all combinations) "
        f"or a list of mappings (one per point), got {describe(raw)}",
    )


def _sweep_items(
    key: str, value: object, where: FieldPath, sources: Sources, catalog: Catalog
) -> list[tuple[str, Scalar, FieldPath]]:
    """One swept value: a scalar, or a posterior family with its options."""
    if key == "posterior" and isinstance(value, Mapping):
        return _posterior_items(value, where, sources, catalog)
    return [(key, sources.scalar(value, where), where)]


def _merged(groups: Sequence[list[tuple[str, Scalar, FieldPath]]], sources: Sources) -> _Point:
    """One sweep point from its values' arguments; an argument set twice is an error."""
    point: _Point = {}
    for group in groups:
        for key, value, where in group:
            if key in point:
                raise sources.error(
                    where,
                    f"{key!r} is also set at {format_path(point[key][1])}; set it in one place",
                )
            point[key] = (value, where)
    return point


def _sweep_size(raw: object) -> int:
    """How many points a raw sweep expands into, counted without expanding it (0 if malformed)."""
    if isinstance(raw, Mapping):
        sizes = [len(v) if isinstance(v, list | tuple) else 0 for v in raw.values()]
        return math.prod(sizes) if sizes else 1
    if isinstance(raw, list | tuple):
        return len(raw)
    return 0


def _check_run_count(data: Mapping[str, object], num_seeds: int, sources: Sources) -> None:
    """Warns above `WARN_RUNS` runs and refuses above `MAX_RUNS`, before any sweep is expanded."""
    task_points = _sweep_size(data["sweep"]) if "sweep" in data else 1
    models = data["models"] if isinstance(data["models"], list | tuple) else []
    points = 0
    for model in models:
        own = model.get("sweep") if isinstance(model, Mapping) else None
        points += _sweep_size(own) if own is not None else task_points
    runs = points * num_seeds
    if runs > MAX_RUNS:
        raise sources.error(
            ("sweep",) if "sweep" in data else ("models",),
            f"expected at most {MAX_RUNS:,} runs, got {runs:,} "
            f"({points:,} configurations x {num_seeds:,} seeds)",
        )
    if runs > WARN_RUNS:
        warnings.warn(
            f"{sources.display(('sweep',))}: the task expands into {runs:,} runs "
            f"({points:,} configurations x {num_seeds:,} seeds), more than {WARN_RUNS:,}",
            ConfigWarning,
            stacklevel=3,
        )


def _kind(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true or false"
    return "a number" if is_number(value) else "a string"


def _same_kind(values: list[Scalar], path: FieldPath, sources: Sources) -> None:
    """All values of one swept argument are numbers, or all strings, or all booleans."""
    expected = _kind(values[0])
    for i, value in enumerate(values):
        if _kind(value) != expected:
            raise sources.error((*path, i), f"expected {expected}, got {describe(value)}")


def _canonical(value: object) -> str:
    """Equal-looking values compare equal: 1 and 1.0 are the same sweep value."""
    if isinstance(value, float) and value.is_integer():
        return repr(int(value))
    if isinstance(value, Mapping):
        return repr(sorted((k, _canonical(v)) for k, v in value.items()))
    return repr(value)


# ---- models ----------------------------------------------------------------------------------


def _models(
    raw: object,
    task_sweep: list[_Point],
    sources: Sources,
    catalog: Catalog,
    observation_shape: tuple[int, ...] | None = None,
) -> list[tuple[ModelConfig, list[_Point]]]:
    items = sources.sequence(raw, ("models",))
    models = []
    for i, item in enumerate(items):
        path: FieldPath = ("models", i)
        data = sources.mapping(item, path)
        check_keys(
            sources, data, path, allowed=("entry", "args", "sweep", "label"), required=("entry",)
        )
        entry = sources.choice(
            data["entry"], (*path, "entry"), catalog.model_entries, "model entry"
        )
        fixed = _args(data.get("args", {}), (*path, "args"), sources, catalog)
        args = _values(fixed)
        label = sources.string(data["label"], (*path, "label")) if "label" in data else ""
        own = _sweep(data["sweep"], (*path, "sweep"), sources, catalog) if "sweep" in data else None
        points = own if own is not None else task_sweep
        for point in points:
            for key, (_, where) in point.items():
                if key in args:
                    raise sources.error(
                        where,
                        f"{key!r} is both swept here and fixed in {format_path(fixed[key][1])}; "
                        "set it in one place",
                    )
            _check_model_args(entry, {**fixed, **point}, path, sources, catalog, observation_shape)
        models.append(
            (
                ModelConfig(
                    entry=entry,
                    args=args,
                    sweep=None if own is None else tuple(_values(p) for p in own),
                    label=label,
                ),
                points,
            )
        )
    labels = [m.display_name + repr(sorted(m.args.items())) for m, _ in models]
    unique(sources, labels, ("models",), key=str)
    return models


def _check_model_args(
    entry: str,
    args: dict[str, tuple[Scalar, FieldPath]],
    path: FieldPath,
    sources: Sources,
    catalog: Catalog,
    observation_shape: tuple[int, ...] | None = None,
) -> None:
    if "posterior" in args:
        value, where = args["posterior"]
        sources.choice(value, where, catalog.posteriors, "posterior family")
    target = catalog.model_targets.get(entry)
    if target is not None:
        _check_call(target, args, path, sources, supplied=("observation_shape",))
        validate = getattr(target, "validate_args", None)
        if validate is not None:
            values = {k: v for k, (v, _) in args.items()}
            _declared_check(lambda: validate(observation_shape, **values), args, path, sources)


def _warn_merged_entries(models: list[tuple[ModelConfig, list[_Point]]], sources: Sources) -> None:
    """One warning per configuration that two model entries both ask for (they are one run)."""
    first: dict[str, tuple[int, ModelConfig]] = {}
    for index, (model, points) in enumerate(models):
        for point in points:
            key = canonical_json([model.entry, {**model.args, **_values(point)}])
            if key not in first:
                first[key] = (index, model)
                continue
            earlier_index, earlier = first[key]
            if earlier_index == index:
                continue
            shown = " ".join(f"{k}={v}" for k, v in {**model.args, **_values(point)}.items())
            warnings.warn(
                f"{sources.display(('models', index))}: models[{index}] (label "
                f"{model.display_name!r}) asks for the same configuration as "
                f"models[{earlier_index}] (label {earlier.display_name!r}): {model.entry} "
                f"{shown}; they are one run, listed under {earlier.display_name!r}",
                ConfigWarning,
                stacklevel=2,
            )


def _check_call(
    target: Callable[..., object],
    args: dict[str, tuple[Scalar, FieldPath]],
    path: FieldPath,
    sources: Sources,
    *,
    supplied: tuple[str, ...] = (),
) -> None:
    """Argument names against the target's signature, values against its type annotations.

    `supplied` names arguments the pipeline passes itself (e.g. a model's
    `observation_shape`); they may not appear in a task file.
    """
    parameters = _keyword_parameters(target)
    if parameters is None:
        return
    allowed = [name for name in parameters if name not in supplied]
    for key, (_, where) in args.items():
        if key not in allowed:
            raise sources.error(
                where,
                f"unknown argument{suggest(key, allowed)}; allowed: {', '.join(allowed) or '(none)'}",
            )
    for name, (required, _) in parameters.items():
        if required and name not in supplied and name not in args:
            raise sources.error((*path, "args", name), "required, but missing")
    for key, (value, where) in args.items():
        annotation = parameters[key][1]
        if annotation is not None and not _matches(value, annotation):
            raise sources.error(where, f"expected {_expected(annotation)}, got {describe(value)}")


def _keyword_parameters(
    target: Callable[..., object],
) -> dict[str, tuple[bool, object | None]] | None:
    """`{name: (required, annotation)}` of the keywords `target` accepts.

    For a class whose `__init__` takes `**kwargs`, the parents' `__init__`
    parameters are followed along the MRO (they receive the `**kwargs`),
    until a class that names what its `**kwargs` take (a classmethod
    `var_keyword_names()`, e.g. `VAE`'s posterior-family options). None when
    the accepted names cannot be known (no signature, or `**kwargs` that lead
    nowhere).
    """
    owners: list[object] = [target]
    if inspect.isclass(target):
        owners = [k for k in target.__mro__ if "__init__" in vars(k)]
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    found: dict[str, tuple[bool, object | None]] = {}
    for owner in owners:
        function = vars(owner)["__init__"] if inspect.isclass(owner) else owner
        if function is object.__init__:
            return found  # object takes no keywords: what was found is all there is
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            return None
        hints = _type_hints(function)
        for name, param in params.items():
            if name == "self" or param.kind not in kinds or name in found:
                continue
            found[name] = (param.default is inspect.Parameter.empty, hints.get(name))
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return found
        if inspect.isclass(owner) and "var_keyword_names" in vars(owner):
            for name in owner.var_keyword_names():
                found.setdefault(name, (False, None))
            return found
    return None


def _type_hints(function: Callable[..., object]) -> dict[str, object]:
    try:
        return typing.get_type_hints(function)
    except Exception:  # unresolvable annotations: leave the values to the constructor
        return {}


def _matches(value: Scalar, annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    if annotation is typing.Any or annotation is object:
        return True
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in typing.get_args(annotation))
    if annotation is float:
        return is_number(value)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if annotation is type(None):
        return False
    return True  # containers, classes: not expressible in a task file, let the constructor judge


def _expected(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        parts = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(_expected(a) for a in parts)
    names = {float: "a number", int: "an integer", bool: "true or false", str: "a string"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))  # type: ignore[call-overload]


# ---- seeds, training, evaluation, leaderboard -------------------------------------------------


def _seeds(raw: object, sources: Sources) -> tuple[int, ...]:
    """A list of seeds, or a count `n` meaning seeds 0 .. n-1."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return tuple(range(sources.integer(raw, ("seeds",), minimum=1, maximum=MAX_RUNS)))
    items = sources.sequence(raw, ("seeds",))
    if len(items) > MAX_RUNS:
        raise sources.error(("seeds",), f"expected at most {MAX_RUNS:,} seeds, got {len(items):,}")
    seeds = [
        sources.integer(s, ("seeds", i), minimum=0, maximum=MAX_SEED) for i, s in enumerate(items)
    ]
    unique(sources, seeds, ("seeds",))
    return tuple(seeds)


def _training(raw: object, sources: Sources) -> TrainingConfig:
    path: FieldPath = ("training",)
    data = sources.mapping(raw, path)
    keys = (
        "steps",
        "batch_size",
        "learning_rate",
        "checkpoint_every",
        "log_every",
        "convergence_tolerance",
        "stop_when_converged",
        "precision",
        "min_steps",
        "trajectory_points",
        "xla",
    )
    check_keys(sources, data, path, allowed=keys, required=("steps",))
    values: dict[str, object] = {}
    for key in keys:
        if key not in data:
            continue
        if key == "learning_rate":
            values[key] = sources.number(
                data[key], (*path, key), positive=True, maximum=MAX_LEARNING_RATE
            )
        elif key == "convergence_tolerance":
            tolerance = sources.number(data[key], (*path, key), positive=True)
            if tolerance > 1e6:
                raise sources.error(
                    (*path, key),
                    f"expected nats per 1,000 steps in (0, 1e6], e.g. 0.25, got {tolerance!r}",
                )
            values[key] = tolerance
        elif key == "stop_when_converged":
            values[key] = sources.boolean(data[key], (*path, key))
        elif key == "precision":
            values[key] = sources.choice(data[key], (*path, key), PRECISIONS, "precision")
        elif key == "xla":
            # YAML 1.1 reads a bare on/off (and true/false) as a boolean
            raw_xla = data[key]
            if isinstance(raw_xla, bool):
                raw_xla = "on" if raw_xla else "off"
            values[key] = sources.choice(raw_xla, (*path, key), XLA_CHOICES, "xla setting")
        else:
            minimum = 0 if key in ("min_steps", "trajectory_points") else 1
            maximum = {"batch_size": MAX_BATCH_SIZE, "trajectory_points": 100}.get(key, MAX_STEPS)
            values[key] = sources.integer(data[key], (*path, key), minimum=minimum, maximum=maximum)
    min_steps = values.get("min_steps", 0)
    if min_steps > values["steps"]:  # type: ignore[operator]
        raise sources.error(
            (*path, "min_steps"),
            f"expected at most training.steps ({values['steps']}), got {min_steps}",
        )
    return TrainingConfig(**values)  # type: ignore[arg-type]


def _execution(raw: object, sources: Sources) -> ExecutionConfig:
    """`execution: {run_timeout: 3600, max_attempts: 3, max_artifact_mb: 100}` (all optional)."""
    path: FieldPath = ("execution",)
    data = sources.mapping({} if raw is None else raw, path)
    check_keys(sources, data, path, allowed=("run_timeout", "max_attempts", "max_artifact_mb"))
    values: dict[str, object] = {}
    if data.get("run_timeout") is not None:
        values["run_timeout"] = sources.number(
            data["run_timeout"], (*path, "run_timeout"), positive=True, maximum=MAX_RUN_TIMEOUT_S
        )
    if "max_attempts" in data:
        values["max_attempts"] = sources.integer(
            data["max_attempts"], (*path, "max_attempts"), minimum=1, maximum=MAX_ATTEMPTS
        )
    if "max_artifact_mb" in data:
        values["max_artifact_mb"] = sources.number(
            data["max_artifact_mb"],
            (*path, "max_artifact_mb"),
            positive=True,
            maximum=MAX_ARTIFACT_MB,
        )
    return ExecutionConfig(**values)  # type: ignore[arg-type]


def _evaluation(raw: object, sources: Sources, catalog: Catalog) -> EvaluationConfig:
    path: FieldPath = ("evaluation",)
    data = sources.mapping(raw, path)
    check_keys(
        sources,
        data,
        path,
        allowed=("metrics", "representation", "settings", "latent_scores"),
        required=("metrics",),
    )
    items = sources.sequence(data["metrics"], (*path, "metrics"), nonempty=False)
    metrics = [
        sources.choice(m, (*path, "metrics", i), catalog.metrics, "metric")
        for i, m in enumerate(items)
    ]
    unique(sources, metrics, (*path, "metrics"))
    reps_raw = sources.sequence(data.get("representation", ["mean"]), (*path, "representation"))
    reps = [
        sources.choice(r, (*path, "representation", i), REPRESENTATIONS, "representation")
        for i, r in enumerate(reps_raw)
    ]
    unique(sources, reps, (*path, "representation"))
    settings = _settings(data.get("settings") or {}, (*path, "settings"), metrics, sources, catalog)
    latent = data.get("latent_scores", True)
    latent_scores = sources.boolean(latent, (*path, "latent_scores"))
    if not metrics and not latent_scores:
        raise sources.error(
            (*path, "metrics"), "nothing to evaluate: list metrics or set latent_scores: true"
        )
    return EvaluationConfig(
        metrics=tuple(metrics),
        representation=tuple(reps),
        settings=settings,
        latent_scores=latent_scores,
    )


def _settings(
    raw: object, path: FieldPath, metrics: list[str], sources: Sources, catalog: Catalog
) -> dict[str, Scalar | dict[str, Scalar]]:
    """Global settings (`num_train: 10000`), and per-metric ones (`dci: {num_train: 2000}`)."""
    data = sources.mapping(raw, path)
    settings: dict[str, Scalar | dict[str, Scalar]] = {}
    for key, value in data.items():
        where = (*path, key)
        if isinstance(value, Mapping):
            owners = [*metrics, "latent_scores"]
            if key not in owners:
                raise sources.error(
                    where,
                    f"per-metric settings for {key!r}, which this task does not compute"
                    f"{suggest(key, owners)}; computed: {', '.join(owners)}",
                )
            known = catalog.metric_settings.get(key, catalog.evaluation_settings)
            inner = sources.mapping(value, where)
            for name in inner:
                _known_setting(name, (*where, name), known, sources)
            settings[key] = {
                n: _setting_value(n, v, (*where, n), [key], sources, catalog)
                for n, v in inner.items()
            }
        else:
            _known_setting(key, where, catalog.evaluation_settings, sources)
            owners = [*metrics, "latent_scores"]
            settings[key] = _setting_value(key, value, where, owners, sources, catalog)
    return settings


def _setting_value(
    name: str,
    value: object,
    where: FieldPath,
    owners: list[str],
    sources: Sources,
    catalog: Catalog,
) -> Scalar:
    """A setting's value, checked by the declared check of every owner that takes it."""
    checked = sources.scalar(value, where)
    for owner in owners:
        check = catalog.setting_checks.get(owner, {}).get(name)
        if check is not None:
            try:
                check(name, checked)
            except ArgumentError as error:
                raise sources.error(where, error.detail) from None
    return checked


def _known_setting(name: str, where: FieldPath, known: tuple[str, ...], sources: Sources) -> None:
    if name not in known:
        raise sources.error(
            where, f"unknown setting{suggest(name, list(known))}; known: {', '.join(known)}"
        )


def _argument_names(
    models: list[tuple[ModelConfig, list[_Point]]], task_sweep: list[_Point], dataset: DatasetConfig
) -> list[str]:
    names: list[str] = []
    for model, points in models:
        for key in [*model.args, *(k for p in points for k in p)]:
            if key not in names:
                names.append(key)
    for key in dataset.args:
        if key not in names:
            names.append(key)
    return names


def _leaderboard(
    raw: object, arg_names: list[str], evaluation: EvaluationConfig, sources: Sources
) -> LeaderboardConfig:
    path: FieldPath = ("leaderboard",)
    data = sources.mapping(raw or {}, path)
    check_keys(sources, data, path, allowed=("rows", "main_metric", "plot_against"))
    default = LeaderboardConfig()
    fields = ["entry", "dataset", "sweep", *arg_names]
    if "rows" in data:
        items = sources.sequence(data["rows"], (*path, "rows"))
        rows = tuple(
            sources.choice(r, (*path, "rows", i), fields, "row field") for i, r in enumerate(items)
        )
        unique(sources, list(rows), (*path, "rows"))
    else:
        rows = tuple(r for r in default.rows if r in fields)
    main = _main_metric(
        data.get("main_metric", default.main_metric), (*path, "main_metric"), evaluation, sources
    )
    plot_against = default.plot_against
    if "plot_against" in data:
        plot_against = sources.choice(
            data["plot_against"], (*path, "plot_against"), arg_names, "model argument"
        )
    return LeaderboardConfig(rows=rows, main_metric=main, plot_against=plot_against)


def _check_rows_tell_configurations_apart(
    models: list[tuple[ModelConfig, list[_Point]]], rows: tuple[str, ...], sources: Sources
) -> None:
    """Refuses rows under which two different configurations would share a row.

    A row's runs are summarised as seeds of one configuration (mean and
    interval), so configurations that differ in an argument the rows leave
    out (say `iaf_steps`, swept inside a posterior mapping) must not meet there.
    """
    seen: dict[tuple[str, ...], tuple[int, str, dict[str, Scalar]]] = {}
    for index, (model, points) in enumerate(models):
        for point in points:
            args = {**model.args, **_values(point)}
            key = tuple(
                model.display_name
                if field == "entry"
                else _canonical(_values(point))
                if field == "sweep"
                else _canonical(args.get(field))
                for field in rows
                if field != "dataset"
            )
            configuration = canonical_json([model.entry, args])
            if key not in seen:
                seen[key] = (index, configuration, args)
                continue
            other_index, other_configuration, other_args = seen[key]
            if other_configuration == configuration:
                continue  # the same run, asked for twice (warned about separately)
            differing = [
                name
                for name in dict.fromkeys([*other_args, *args])
                if _canonical(other_args.get(name)) != _canonical(args.get(name))
            ] or ["entry"]
            which = (
                f"two configurations of models[{index}]"
                if other_index == index
                else f"configurations of models[{other_index}] and models[{index}]"
            )
            raise sources.error(
                ("leaderboard", "rows"),
                f"{which} differ in {', '.join(differing)} but would share one row "
                f"({', '.join(rows)}), where "
                f"their runs would be averaged as if they were seeds; add {differing[0]!r} "
                "(or 'sweep') to the rows",
            )


def _main_metric(
    raw: object, path: FieldPath, evaluation: EvaluationConfig, sources: Sources
) -> str:
    catalogue = columns()
    keys = [c.key for c in catalogue if c.group != PARAMETERS]  # model sizes are not rankings
    if "sampled" in evaluation.representation:
        keys += [SAMPLED_PREFIX + c.key for c in catalogue if c.metric]  # not training's
    key = sources.string(raw, path)
    if key not in keys:
        close = [k for k in keys if k.startswith(key + "_")]
        hint = f" (did you mean {', '.join(repr(k) for k in close)}?)" if close else ""
        raise sources.error(
            path,
            f"unknown score key {key!r}{hint or suggest(key, keys)}; known: {', '.join(keys)}",
        )
    column = next(c for c in catalogue if c.key == key.removeprefix(SAMPLED_PREFIX))
    if column.metric in PARTS:
        part = PARTS.get(column.metric)
        settings = resolved_settings(evaluation)  # the settings the run will see
        if not part.runs_when(evaluation, settings):
            raise sources.error(
                path,
                f"{key!r} is not computed by this task's evaluation; evaluation part "
                f"{part.name!r} runs with {part.switched_on_by}",
            )
    elif column.metric and column.metric not in evaluation.metrics:
        raise sources.error(
            path,
            f"{key!r} is not computed by this task's evaluation; "
            f"add {column.metric!r} to evaluation.metrics",
        )
    return key
