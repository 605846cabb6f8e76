"""One declared schema for every JSON record deltaprop reads from a file.

Model files, checkpoints and ``--log-jsonl`` logs carry JSON written by deltaprop, but a file
may come from a stranger. Before any field is used, the whole record is validated against the
schema here (JSON Schema draft 7, compiled once by fastjsonschema: validating a 60,000-unit
graph takes 0.2 s where a generic validator took 5 s): every field's type, every number's range, every name
that selects behaviour (activation, cost, optimizer, schedule, bit generator, task, estimator
class) from a closed list. Numbers that do not fit a float64 (``1e999``) or are absurdly long
integers (``10**400``) are refused while the JSON is parsed. What fails is reported as one line
naming the file and the field.
"""

from __future__ import annotations

import json
import math

import fastjsonschema

__all__ = ["parse_json", "validate", "RecordError", "MAX_INT_DIGITS"]

MAX_INT_DIGITS = 40  # a 128-bit random state has 39 digits; nothing deltaprop writes is longer
_BIG = 2**63 - 1


class RecordError(ValueError):
    """A record that does not fit its schema; ``where`` is the field path, e.g. ``network.blocks[1].units``."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise RecordError("", f"the number {text[:20]} does not fit a 64-bit float")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise RecordError("", f"the integer {text[:20]}... has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _no_constant(name: str):
    raise RecordError("", f"{name} is not standard JSON")


def parse_json(text: str):
    """``json.loads`` that refuses NaN/Infinity, floats beyond float64 and integers of more than 40 digits.

    Raises
    ------
    RecordError
        For those numbers, for text that is not JSON, and for nesting too deep to parse.
    """
    try:
        return json.loads(text, parse_float=_finite_float, parse_int=_bounded_int, parse_constant=_no_constant)
    except RecordError:
        raise
    except RecursionError:
        raise RecordError("", "the JSON is nested too deeply") from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise RecordError("", f"not valid JSON ({exc})") from None


# --- the schema ----------------------------------------------------------------------------------

_NUM = {"type": "number"}
_NONNEG = {"type": "number", "minimum": 0}
_INT = {"type": "integer", "minimum": -_BIG, "maximum": _BIG}
_COUNT = {"type": "integer", "minimum": 0, "maximum": _BIG}
_NAME = {"type": "string", "maxLength": 200}
_TEXT = {"type": "string", "maxLength": 10000}
_SCALAR = {"type": ["string", "number", "boolean", "null"]}
_MAYBE_NUM = {"type": ["number", "null"]}


def _nullable(schema: dict) -> dict:
    if set(schema) == {"enum"}:
        return {"enum": [None, *schema["enum"]]}
    return {"anyOf": [{"type": "null"}, schema]}


_HINTS = {
    "activation": "; a user-defined activation must be registered (dp.register_activation) before loading",
    "cost": "; a user-defined cost must be registered (register_cost) before loading",
}


def _object(properties: dict, *, required: list | None = None, extra: bool = False) -> dict:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required, "additionalProperties": extra}


def _flat(values: dict) -> dict:
    """An object of scalars (or lists of scalars), as settings and hyperparameters are."""
    return {"type": "object", "maxProperties": 200, "propertyNames": {"maxLength": 200},
            "additionalProperties": {"anyOf": [values, {"type": "array", "maxItems": 10000, "items": values}]}}


HISTORY = _object({
    "records": {"type": "array", "items": _object({
        "epoch": _COUNT, "cost": _MAYBE_NUM, "val_cost": _MAYBE_NUM, "metric": _MAYBE_NUM,
        "learning_rate": _MAYBE_NUM, "seconds": _MAYBE_NUM,
    })},
    "metric_name": _nullable(_NAME),
    "stopped": _nullable({"enum": ["epochs", "early_stopping", "max_time", "callback", "interrupted", "converged"]}),
    "best_epoch": _nullable(_COUNT),
})


def _network(activations: list, costs: list) -> dict:
    return _object({
        "blocks": {"type": "array", "minItems": 2, "items": _object({
            "units": {"type": "integer", "minimum": 1, "maximum": 10**7},
            "activation": _nullable({"enum": activations}),
            "bias_mask": {"type": "boolean"},
        })},
        "edges": {"type": "array", "items": _object({"source": _COUNT, "target": _COUNT, "mask": {"type": "boolean"}})},
        "outputs": {"type": "array", "minItems": 1, "items": _COUNT},
        "output_columns": {"type": "array", "items": {"type": "array", "items": _COUNT}},
        "cost": {"enum": costs},
        "weight_decay": _NONNEG,
        "l1": _NONNEG,
        "dtype": {"enum": ["float32", "float64"]},
        "graph": _nullable(_object({
            "units": {"type": "array", "items": _object({
                "name": _NAME, "kind": {"enum": ["input", "unit"]}, "activation": _nullable({"enum": activations}),
                "bias": {"type": "boolean"},
            })},
            "edges": {"type": "array", "items": {"type": "array", "items": [_NAME, _NAME], "minItems": 2,
                                                  "maxItems": 2}},
            "outputs": {"type": "array", "items": _NAME},
        })),
    })


COLUMN = {"oneOf": [
    _object({"name": _TEXT, "kind": {"const": "number"}, "fill": _nullable({"type": "number"})}),
    _object({"name": _TEXT, "kind": {"const": "category"},
             "categories": {"type": "array", "minItems": 1, "maxItems": 100000, "items": _TEXT}}),
]}

MODEL = _object({
    "columns": _nullable({"type": "array", "minItems": 1, "items": COLUMN}),
    "task": {"enum": ["classification", "regression"]},
    "classes": _nullable({"type": "array", "minItems": 2, "items": {"type": ["string", "number"]}}),
    "feature_names": _nullable({"type": "array", "items": _TEXT}),
    "target_names": _nullable({"type": "array", "items": _TEXT}),
    "scaling": {"type": "boolean"},
    "target_scaling": {"type": "boolean"},
    "settings": _flat(_SCALAR),
    "metrics": _flat(_MAYBE_NUM),
    "history": _nullable(HISTORY),
}, required=["task", "classes", "feature_names", "target_names", "scaling", "target_scaling", "settings", "metrics",
             "history"])  # "columns" came later: older files have none


def _training(optimizers: list, schedules: list, generators: list) -> dict:
    return _object({
        "epoch": _COUNT,
        "optimizer": _object({"name": {"enum": optimizers}, "hyperparameters": _flat(_NUM), "t": _COUNT,
                              "initialized": {"type": "boolean"}}),
        "schedule": _object({"name": {"enum": schedules}, "hyperparameters": _flat(_NUM), "state": _flat(_SCALAR)}),
        "rng": {"type": "object", "maxProperties": 20, "required": ["bit_generator", "state"],
                "properties": {"bit_generator": {"enum": generators}}},
        "rng_type": {"enum": generators},
        "history": HISTORY,
        "split_seed": _COUNT,
        "best": _object({"cost": _MAYBE_NUM, "epoch": _nullable(_COUNT), "wait": _COUNT}),
        "pending": _nullable(_object({"lr": _NUM, "step": _COUNT, "total": _NUM, "batch_size": {"type": "integer",
                                      "minimum": 1, "maximum": _BIG}, "m": {"type": "integer", "minimum": 1,
                                                                             "maximum": _BIG}})),
    }, required=["epoch"])


ESTIMATOR = _object({
    "class": {"enum": ["DeltaClassifier", "DeltaRegressor"]},
    "params": _flat(_SCALAR),
    "fitted": _flat({"type": ["string", "number", "boolean", "null"]}),
    "history": _nullable(HISTORY),
})

LOG_RECORD = {"type": "object", "maxProperties": 50, "properties": {
    "epoch": _COUNT, "cost": _MAYBE_NUM, "val_cost": _MAYBE_NUM, "metric": _MAYBE_NUM,
    "learning_rate": _MAYBE_NUM, "seconds": _MAYBE_NUM,
}, "additionalProperties": _SCALAR}


def record_schema(kind: str, *, activations: list, costs: list, optimizers: list, schedules: list,
                  generators: list) -> dict:
    """The schema of a whole file record of ``kind`` ("network", "model", "checkpoint", "estimator")."""
    common = {"format": {"const": "deltaprop"}, "format_version": {"const": 1}, "deltaprop_version": _NAME,
              "kind": {"const": kind}, "checksum": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}
    fields = {"network": _network(activations, costs)}
    if kind in ("model", "checkpoint"):
        fields["model"] = MODEL
    if kind == "checkpoint":
        fields["training"] = _training(optimizers, schedules, generators)
        fields["config"] = _flat(_SCALAR)
    if kind == "estimator":
        fields["estimator"] = ESTIMATOR
    return _object({**common, **fields})


_COMPILED: dict = {}


def _compiled(schema: dict):
    key = json.dumps(schema, sort_keys=True)
    fn = _COMPILED.get(key)
    if fn is None:
        fn = _COMPILED[key] = fastjsonschema.compile(schema)
    return fn


def validate(record, schema: dict) -> None:
    """Raise :class:`RecordError` naming the first field that does not fit ``schema``."""
    try:
        _compiled(schema)(record)
    except fastjsonschema.JsonSchemaValueException as e:
        parts = [str(p) for p in (e.path or [])][1:]  # drop fastjsonschema's leading "data"
        where = ""
        for part in parts:
            where += f"[{part}]" if part.isdigit() else (f".{part}" if where else part)
        if e.rule == "enum":  # a name from a closed list: say which list
            key = next((p for p in reversed(parts) if not p.isdigit()), "value")
            known = ", ".join(str(v) for v in e.rule_definition if v is not None)
            value = e.value if not isinstance(e.value, str) else e.value[:100]
            message = f"unknown {key} {value!r}; expected one of {known}{_HINTS.get(key, '')}"
        else:
            message = e.message.replace("data." + ".".join(parts), "").replace("data", "").strip() or e.message
            message = message[:200]
        raise RecordError(where, message) from None
