"""The built-in functions the evaluator folds offline, and the node for a call.

Every pure built-in function of Terraform is here, split by family into the ``hcl_fn_*``
modules (each with its own table, merged below). A function whose result depends on more than
its arguments (the clock, randomness, marks the evaluator does not track) is in
:data:`OFFLINE` and gives :class:`Unknown` naming it, as does any name not listed. ``try()``
and ``can()`` are not in the tables because they must see their arguments fail: they get the
argument nodes instead of values. The file functions (and templatefile) also get the scope,
which knows the module's directory. Each function converts its arguments the way HCL does (see
:mod:`hcl_values`, :mod:`hcl_fn_common`) and raises ``EvalError`` for a genuine error or
``Stop`` when an argument is not known; every argument is measured before the call and every
result bounded after it, so no call does unbounded work.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cache

from auditor.terraform import (
    hcl_fn_collections,
    hcl_fn_crypto,
    hcl_fn_encoding,
    hcl_fn_files,
    hcl_fn_format,
    hcl_fn_maps,
    hcl_fn_network,
    hcl_fn_numeric,
    hcl_fn_paths,
    hcl_fn_regex,
    hcl_fn_strings,
    hcl_fn_time,
    hcl_fn_types,
)
from auditor.terraform.hcl_fn_common import measure
from auditor.terraform.hcl_nodes import Node, bounded, guard, mk, unknown
from auditor.terraform.hcl_values import EvalError, Ref, Scope, Stop, to_list
from auditor.unknown import Unknown

FUNCTIONS: dict[str, Callable[..., object]] = {
    **hcl_fn_collections.FUNCTIONS, **hcl_fn_crypto.FUNCTIONS, **hcl_fn_encoding.FUNCTIONS,
    **hcl_fn_format.FUNCTIONS, **hcl_fn_maps.FUNCTIONS, **hcl_fn_network.FUNCTIONS,
    **hcl_fn_numeric.FUNCTIONS, **hcl_fn_paths.FUNCTIONS, **hcl_fn_regex.FUNCTIONS,
    **hcl_fn_strings.FUNCTIONS, **hcl_fn_time.FUNCTIONS, **hcl_fn_types.FUNCTIONS,
}


def _template(name: str) -> Callable[..., object]:
    def run(scope: Scope, *args: object) -> object:
        # Imported here: the template module extends the parser, which imports this module.
        from auditor.terraform import hcl_fn_template

        return hcl_fn_template.SCOPED[name](scope, *args)
    return run


# These take the scope first: it knows where the module's files are.
SCOPED: dict[str, Callable[..., object]] = {
    **hcl_fn_files.SCOPED,
    "templatefile": _template("templatefile"), "templatestring": _template("templatestring"),
}

OFFLINE = {  # built-in, but not a function of the arguments alone
    "timestamp": "it returns the time terraform runs",
    "plantimestamp": "it returns the time of the plan",
    "uuid": "it returns a random UUID",
    "bcrypt": "it hashes with a random salt",
    "base64gzip": "the exact bytes of Go's gzip are not reproduced",
    "issensitive": "sensitivity is not tracked offline",
    "ephemeralasnull": "ephemeral values are not tracked offline",
    "type": "it only exists in terraform console",
}
_ARITY = {"templatefile": 2, "templatestring": 2}  # the lazy wrappers take *args
# Known despite an unknown argument: coalesce("x", unknown) is "x", and lookup's default
# only matters when the key is missing.
_TAKES_UNKNOWN = {"coalesce", "coalescelist", "lookup"}


@cache
def _signature(name: str) -> inspect.Signature | None:
    if name in _ARITY:
        return None
    return inspect.signature(SCOPED.get(name) or FUNCTIONS[name])


def _check_arity(name: str, values: list[object]) -> None:
    sig = _signature(name)
    try:
        if sig is not None:
            sig.bind(*values)
        elif len(values) != _ARITY[name] + 1:
            raise TypeError
    except TypeError:
        given = len(values) - (name in SCOPED)
        raise EvalError(f"invalid call to {name}(): wrong number of arguments ({given})") \
            from None


def _try(args: list[Node]) -> Node:
    """The first argument that evaluates without an error. One whose value Terraform knows
    only at apply makes the result unknown, as Terraform's try() does: whether it would
    fail is not known yet."""
    def run(s: Scope) -> object:
        reasons = []
        for a in args:
            v = guard(a, s)
            if (pending := _pending(v)) is not None:
                raise Stop(pending)
            if not isinstance(v, Unknown):
                return v
            reasons.append(v.reason)
        raise Stop(Unknown(f"no try() argument could be evaluated: {'; '.join(reasons)}"))
    return mk(run, *args)


def _pending(v: object) -> Unknown | None:
    """A value known only at apply anywhere inside ``v``."""
    if isinstance(v, Unknown):
        return v if v.pending else None
    for item in v.values() if isinstance(v, dict) else v if isinstance(v, list) else ():
        if (found := _pending(item)) is not None:
            return found
    return None


def _can(arg: Node) -> Node:  # false only for a real error: an unknown value stays unknown
    def run(s: Scope) -> object:
        try:
            value = arg.run(s)
        except EvalError:
            return False
        if isinstance(value, Unknown):
            raise Stop(value)
        if isinstance(value, Ref):  # only known at apply time: whether it errors is too
            raise Stop(Unknown(f"can({value}) is {value.known}", ref=str(value), pending=True))
        return True
    return mk(run, arg)


def call(name: str, args: list[Node], expand: bool) -> Node:  # expand: f(a, list...)
    if name == "try":
        return _try(args)
    if name == "can":
        if len(args) != 1 or expand:
            return unknown("can() takes exactly one argument")
        return _can(args[0])
    if name in OFFLINE:
        return unknown(f"{name}() is not evaluated offline: {OFFLINE[name]}")
    fn = SCOPED.get(name) or FUNCTIONS.get(name)
    if fn is None:
        return unknown(f"function {name}() is not evaluated offline")
    scoped = name in SCOPED

    def run(s: Scope) -> object:
        values = [a.run(s) for a in args]
        if expand:  # spreads the last argument
            values[-1:] = to_list(values[-1])
        for value in values:
            if isinstance(value, Unknown) and name not in _TAKES_UNKNOWN:
                raise Stop(value)  # as in HCL: an unknown argument, an unknown result
            measure(value)  # a list repeating a huge string counts every repeat
        values = [s, *values] if scoped else values
        _check_arity(name, values)
        try:
            return bounded(fn(*values))
        except EvalError as exc:  # say which call failed, once
            why = exc.unknown.reason
            raise (exc if why.startswith((f"{name}(", "invalid call to")) else
                   EvalError(f"{name}(): {why}")) from None
        except (TypeError, ValueError, IndexError, KeyError, OverflowError) as exc:
            raise EvalError(f"invalid call to {name}(): {exc}") from None
        except RecursionError:  # backstop: values are kept shallow, see hcl_fn_encoding
            raise EvalError(f"{name}(): the value is nested too deeply") from None
    return mk(run, *args)
