"""Load TOML presets and user files into validated pydantic models, with one-line errors.

Presets ship inside the package (``d2oflux/presets/<kind>/<name>.toml``); a path to a user's own TOML
file works the same way as a preset name.
"""

from __future__ import annotations

import tomllib
import types
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from .errors import ConfigError, read_text_file, suggest

Model = TypeVar("Model", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for configuration models: unknown keys are errors, values are immutable, numbers finite.

    ``nan`` and ``inf`` (valid TOML) are refused for every float field, inside lists and tables too; so are
    a string or a boolean where only a number goes (pydantic would read ``"592"`` as 592 and ``true`` as 1).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and _text_for_number(field.annotation, value):
            raise ValueError("expected a number, not a string or true/false")
        return value


_NUMBER_TYPES = (int, float)


def _text_for_number(annotation: Any, value: Any) -> bool:
    """Whether ``value`` holds a string or bool where ``annotation`` allows only numbers (also in tuples/lists)."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if annotation in _NUMBER_TYPES:
        return isinstance(value, str | bool)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return len(options) == 1 and _text_for_number(options[0], value)
    if origin in (tuple, list) and isinstance(value, list | tuple):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return any(_text_for_number(a, v) for a, v in zip(args, value, strict=False))
        return bool(args) and any(_text_for_number(args[0], v) for v in value)
    return False


def preset_names(kind: str) -> list[str]:
    """Names of the presets of one kind (``"detectors"`` or ``"facilities"``)."""
    folder = resources.files("d2oflux") / "presets" / kind
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def read_preset_text(kind: str, name_or_path: str | Path) -> tuple[str, str]:
    """Return ``(label, toml_text)`` for a preset name or a path to a TOML file.

    A preset name wins over a file or folder of that name in the working folder (a figure written with
    ``-o csi``, a data folder ``lar/``); ``./csi`` names the file.
    """
    singular = {"detectors": "detector", "facilities": "facility", "datasets": "dataset"}.get(kind, kind)
    text_path = Path(name_or_path)
    names = preset_names(kind)
    is_preset = str(name_or_path) in names
    if not is_preset and (str(name_or_path).endswith(".toml") or text_path.exists()):
        return str(text_path), read_text_file(text_path, f"{singular} file", "a TOML file")
    if not is_preset:
        raise ConfigError(
            f"unknown {singular} '{name_or_path}'{suggest(str(name_or_path), names)}; "
            f"presets: {', '.join(names)}, or give a path to a .toml file"
        )
    resource = resources.files("d2oflux") / "presets" / kind / f"{name_or_path}.toml"
    return str(name_or_path), resource.read_text(encoding="utf-8")


def parse_toml(label: str, text: str) -> dict[str, Any]:
    """Parse TOML text, turning syntax errors into :class:`ConfigError`."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: malformed TOML: {exc}") from None


def validate(model: type[Model], data: dict[str, Any], label: str) -> Model:
    """Validate ``data`` into ``model``; the first problem becomes a one-line :class:`ConfigError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{label}: {describe_validation_error(model, exc)}") from None


def describe_validation_error(model: type[BaseModel], exc: ValidationError) -> str:
    """One readable line for the first error of a pydantic ``ValidationError``."""
    errors = exc.errors()
    # an unknown (misspelt) key explains a "missing" one, so report it first
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(p) for p in err["loc"]]
    where = ".".join(loc) if loc else "(top level)"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        key = loc[-1]
        return f"unknown key '{where}'{suggest(key, allowed)}; allowed keys here: {', '.join(sorted(allowed))}"
    if err["type"] == "missing":
        return f"missing required key '{where}'"
    msg = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    if isinstance(value, dict):  # a check of a whole table: the message names the keys
        return f"'{where}': {msg}" if loc else msg
    shown = repr(value)
    return f"'{where}': {msg} (got {shown if len(shown) <= 80 else shown[:77] + '...'})"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the sub-model found by following ``loc`` (list indices are skipped)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _inner_model(field.annotation)
    return list(getattr(current, "model_fields", {}).keys())


def _inner_model(annotation: Any) -> Any:
    """The pydantic model inside an annotation such as ``list[Region]`` or ``Response | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
