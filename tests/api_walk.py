"""The public API walk: every public name of ``mmcourse``, called the way a careless user would (issue 15, item 3).

This module is the harness; ``test_public_api_errors.py`` holds the tests and the table of accepted values. The walk
collects every callable in every module's ``__all__`` (so a new public name is covered without editing anything),
finds one valid call of it, and then calls it again with one argument spoiled at a time:

* the valid call comes from the docstring examples: the examples of the name itself (or, failing that, any other
  docstring example of the package that calls it) are run with a trace hook that stops at the first call of the
  name and keeps its arguments; a class is covered through its constructor and, for an ``nn.Module``, through its
  first ``forward`` call in the examples. A function whose only arguments are functions (an exercise checker takes
  the reader's solution) is called with a stub solution;
* the spoiled arguments come from a table keyed by the kind of the valid value (:func:`spoilings`): a NaN in a
  float array, a wrong rank, zero rows, a wrong type, mismatched batch sizes between two arrays that had the same
  number of rows, integers out of range; containers (``(inputs, labels)``, a list of modalities) are spoiled inside.

A spoiled call passes when it raises a ``ValueError`` or ``TypeError`` whose traceback ends inside ``mmcourse`` (the
package's own check at the door, not an error from deep inside torch, NumPy or Python). A call that returns is a
failure for the kinds of spoiling that no function of the package can accept (``must``); for the others (a string
that is not a known option, a negative number, a value that is merely odd) returning is allowed, but an obscure
error is not. A call that runs longer than :data:`TIME_LIMIT` seconds of CPU has gone past the door and counts as a
call that returned.

Every name is walked in a child process (``os.fork``): the calls cannot change the state of the test worker, and a
call interrupted by the time limit (perhaps in the middle of one of torch's lazy imports) ends its process, so that
the next call starts from a clean copy of the parent.
"""
from __future__ import annotations

import contextlib
import copy
import doctest
import functools
import importlib
import inspect
import io
import math
import os
import pkgutil
import select
import signal
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

import mmcourse

PACKAGE_DIR = os.path.dirname(os.path.abspath(mmcourse.__file__))
TIME_LIMIT = 1.0  # seconds of CPU time; a spoiled call still running after this has accepted its input
BASE_TIME_LIMIT = 10.0  # the valid call of each name
WALL_LIMIT = 120.0  # seconds of wall-clock time for one call, for a call that waits rather than computes

# Modules the walk leaves out, with the reason.
NOT_COVERED = {
    "mmcourse.book": "the book's build tooling: its functions rewrite notebooks and copy files in the repository",
    "mmcourse.grading": "the grading runner starts Jupyter kernels and subprocesses; tested in test_grading.py",
}


# ----------------------------------------------------------------------------------------------------------------
# The public names
# ----------------------------------------------------------------------------------------------------------------

def _skipped_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in NOT_COVERED)


@functools.lru_cache(maxsize=None)
def public_names() -> dict[str, object]:
    """``{"module.name": object}`` for every callable in every ``__all__`` under ``mmcourse``, each object once
    (under the module that defines it)."""
    found: dict[int, tuple[str, object]] = {}
    modules = [mmcourse] + [importlib.import_module(m.name)
                            for m in pkgutil.walk_packages(mmcourse.__path__, "mmcourse.")
                            if not _skipped_module(m.name)]
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not callable(obj) or id(obj) in found:
                continue
            home = getattr(obj, "__module__", None) or module.__name__
            if not home.startswith("mmcourse") or _skipped_module(home):
                home = module.__name__
            found[id(obj)] = (f"{home}.{name}", obj)
    return dict(sorted(found.values(), key=lambda kv: kv[0]))


# ----------------------------------------------------------------------------------------------------------------
# One valid call per name, from the docstring examples
# ----------------------------------------------------------------------------------------------------------------

class _Captured(Exception):
    """Raised by the trace hook at the first call of the target: the example stops there."""


@dataclass
class Call:
    """A call ``fn(*args, **kwargs)`` of the target ``name`` (``fn`` is a bound ``forward`` for a module)."""
    name: str
    fn: object
    args: list
    kwargs: dict
    params: list = field(default_factory=list)  # (label, "args" index or kwargs key) of each argument


def _function_of(target) -> object | None:
    f = inspect.unwrap(target)
    return f if hasattr(f, "__code__") else None


@functools.lru_cache(maxsize=None)
def _example_blocks() -> list[tuple[str, dict, list]]:
    """Every docstring of the package that has examples: (text of the sources, globals, examples)."""
    blocks = []
    seen: set[tuple[str, str]] = set()
    modules = {getattr(o, "__module__", None) for o in public_names().values()}
    for modname in sorted(m for m in modules if m and m.startswith("mmcourse")):
        module = sys.modules[modname]
        finder = doctest.DocTestFinder(exclude_empty=True)
        for test in finder.find(module):
            key = (modname, test.name)
            if key in seen or not test.examples:
                continue
            seen.add(key)
            blocks.append((test.name, module.__dict__, test.examples))
    return blocks


def _bound_locals(code, frame_locals: dict, skip_self: bool) -> tuple[list, dict, list] | None:
    """Rebuild ``(args, kwargs, params)`` from the locals of a frame at its first line."""
    n_pos = code.co_argcount
    n_posonly = code.co_posonlyargcount
    n_kwonly = code.co_kwonlyargcount
    names = code.co_varnames[: n_pos + n_kwonly]
    args, kwargs, params = [], {}, []
    start = 1 if skip_self else 0
    for i, name in enumerate(names[:n_pos]):
        if i < start:
            continue
        if name not in frame_locals:
            return None
        if i < n_posonly:
            params.append((name, len(args)))
            args.append(frame_locals[name])
        else:
            params.append((name, name))
            kwargs[name] = frame_locals[name]
    for name in names[n_pos:]:
        params.append((name, name))
        kwargs[name] = frame_locals[name]
    flags = code.co_flags
    idx = n_pos + n_kwonly
    if flags & inspect.CO_VARARGS:
        star = frame_locals.get(code.co_varnames[idx], ())
        idx += 1
        # variadic positionals: pass everything positionally, in order
        pos = [frame_locals[n] for n in names[start:n_pos]] + list(star)
        params = [(n, i) for i, n in enumerate(names[start:n_pos])] + \
                 [(f"*{code.co_varnames[idx - 1]}[{j}]", n_pos - start + j) for j in range(len(star))] + \
                 [(n, n) for n in names[n_pos:]]
        args = pos
        kwargs = {n: frame_locals[n] for n in names[n_pos:]}
    if flags & inspect.CO_VARKEYWORDS:
        extra = frame_locals.get(code.co_varnames[idx], {}) or {}
        for k, v in extra.items():
            params.append((k, k))
            kwargs[k] = v
    return args, kwargs, params


def _capture(name: str, target, code, want_self_type=None) -> tuple[list, dict, list, object] | None:
    """Run the docstring examples that mention the target until one calls ``code``; return its arguments."""
    short = name.rsplit(".", 1)[1]
    own = [b for b in _example_blocks() if b[0].endswith("." + short) or b[0] == short]
    others = [b for b in _example_blocks() if b not in own
              and any(short in e.source for e in b[2])]
    for _, globs, examples in own + others:
        got = []

        def tracer(frame, event, arg):
            if event == "call" and frame.f_code is code:
                self_obj = frame.f_locals.get("self")
                if want_self_type is not None and type(self_obj) is not want_self_type:
                    return None
                got.append((dict(frame.f_locals), self_obj))
                raise _Captured
            return None

        namespace = dict(globs)
        old = sys.gettrace()
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for example in examples:
                    sys.settrace(tracer)
                    try:
                        exec(compile(example.source, name, "single"), namespace)
                    except _Captured:
                        pass
                    except Exception:  # noqa: BLE001 - an example meant to raise, or one we cannot replay
                        if example.exc_msg is None and not got:
                            break
                    finally:
                        sys.settrace(old)
                    if got:
                        break
        finally:
            sys.settrace(old)
        if got:
            frame_locals, self_obj = got[0]
            bound = _bound_locals(code, frame_locals, skip_self=want_self_type is not None)
            if bound is not None:
                try:
                    bound = copy.deepcopy(bound)
                except Exception:  # noqa: BLE001 - keep the originals when they cannot be copied
                    pass
                return (*bound, self_obj)
    return None


@functools.lru_cache(maxsize=None)
def valid_calls(name: str) -> tuple[Call, ...]:
    """The valid calls of a public name: one for a function; the constructor and ``forward`` for a class."""
    target = public_names()[name]
    calls = []
    if inspect.isclass(target) and _is_record(target):
        return ()
    if inspect.isclass(target):
        init = target.__dict__.get("__init__")
        if init is None:  # an inherited constructor (a dataclass defines its own)
            init = next((c.__dict__["__init__"] for c in target.__mro__[1:] if "__init__" in c.__dict__), None)
        f = _function_of(init) if init is not None else None
        if f is not None and f is not object.__init__:
            got = _capture(name, target, f.__code__, want_self_type=target)
            if got is not None:
                args, kwargs, params, _ = got
                calls.append(Call(name, target, args, kwargs, params))
        if issubclass(target, nn.Module) and "forward" in _own_or_inherited_in_package(target):
            fwd = _function_of(_own_or_inherited_in_package(target)["forward"])
            got = _capture(name, target, fwd.__code__, want_self_type=target)
            if got is not None:
                args, kwargs, params, module = got
                calls.append(Call(name + ".forward", module, args, kwargs, params))
    else:
        f = _function_of(target)
        if f is not None:
            got = _capture(name, target, f.__code__)
            if got is not None:
                args, kwargs, params, _ = got
                calls.append(Call(name, target, args, kwargs, params))
            else:
                calls += _stub_solution_call(name, target)
    return tuple(calls)


def _stub_solution(*args, **kwargs):
    """A reader's solution that is not written yet: it returns nothing."""
    return None


def _stub_solution_call(name: str, target) -> list[Call]:
    """A function whose required arguments are all functions (an exercise checker takes the reader's solution),
    called with stub solutions."""
    required = [p for p in inspect.signature(target).parameters.values()
                if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not required or not all(str(p.annotation).startswith("Callable") for p in required):
        return []
    return [Call(name, target, [_stub_solution] * len(required), {}, [(p.name, i) for i, p in enumerate(required)])]


def _is_record(cls) -> bool:
    """A result record (a dataclass without ``__post_init__``, a NamedTuple): it holds results, checks nothing."""
    if hasattr(cls, "_fields") and issubclass(cls, tuple):
        return True
    return hasattr(cls, "__dataclass_fields__") and not hasattr(cls, "__post_init__") \
        and "__init__" not in {k for c in cls.__mro__[1:] if c.__module__.startswith("mmcourse") for k in c.__dict__}


def _own_or_inherited_in_package(cls) -> dict:
    for c in cls.__mro__:
        if c.__module__.startswith("mmcourse") and "forward" in c.__dict__:
            return {"forward": c.__dict__["forward"]}
    return {}


# ----------------------------------------------------------------------------------------------------------------
# The table of bad values
# ----------------------------------------------------------------------------------------------------------------

WRONG_TYPE = "abc"  # what a careless user passes for an array or a number
NO_NAN = "no NaN"  # ``must`` for zero rows: an empty result is fine, a NaN (the mean of nothing) is not


def _is_array(v) -> bool:
    return isinstance(v, (torch.Tensor, np.ndarray)) and not isinstance(v, np.str_)


def _numeric(v) -> bool:
    if isinstance(v, torch.Tensor):
        return v.dtype != torch.bool and not v.is_complex()
    return isinstance(v, np.ndarray) and v.dtype.kind in "iuf"


def _floating(v) -> bool:
    if isinstance(v, torch.Tensor):
        return v.is_floating_point()
    return isinstance(v, np.ndarray) and v.dtype.kind == "f"


def _integer_array(v) -> bool:
    if isinstance(v, torch.Tensor):
        return v.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)
    return isinstance(v, np.ndarray) and v.dtype.kind in "iu"


def _with_nan(v):
    return _set_first(v, float("nan"))


def _size(v) -> int:
    return int(v.size) if isinstance(v, np.ndarray) else v.numel()


def _set_first(v, value):
    v = v.detach().clone() if isinstance(v, torch.Tensor) else v.copy()
    v.reshape(-1)[0] = value
    return v


def _leaf_mutations(v, label: str) -> list[tuple[str, object, bool]]:
    """``(kind, bad value, must raise)`` for one value."""
    out = []
    if isinstance(v, bool) or v is None:
        return out
    if _is_array(v):
        out.append(("wrong type", WRONG_TYPE, True))
        if not _numeric(v):
            return out
        if v.ndim >= 1 and v.shape[0] > 0:
            out.append(("empty", v[:0], NO_NAN))
        out.append(("rank + 1", v[None], False))
        if v.ndim >= 1:
            out.append(("rank 0", v.reshape(-1)[0].clone() if isinstance(v, torch.Tensor) else v.reshape(-1)[0],
                        False))
        if _floating(v) and _size(v) > 0:
            out.append(("NaN", _with_nan(v), True))
        if _integer_array(v) and _size(v) > 0 and (v.min() >= 0):
            out.append(("negative integer", _set_first(v, -1), False))
            out.append(("integer too large", _set_first(v, int(v.max()) + 1000), False))
        return out
    if isinstance(v, (int, np.integer)):
        out.append(("wrong type", WRONG_TYPE, True))
        out.append(("float for int", float(v) + 0.5, False))
        if v >= 0:
            out.append(("negative integer", -3, False))
        return out
    if isinstance(v, (float, np.floating)):
        out.append(("wrong type", WRONG_TYPE, True))
        if math.isfinite(v):
            out.append(("NaN", float("nan"), True))
        return out
    if isinstance(v, str):
        out.append(("wrong type", 12345, False))
        if not any(p in label.lower() for p in ("path", "dir", "file", "root", "folder", "dest")):
            out.append(("unknown string", "no-such-option", False))
        return out
    if isinstance(v, nn.Module):
        out.append(("wrong type", WRONG_TYPE, True))
        return out
    if isinstance(v, (list, tuple)) and v and all(_is_array(x) for x in v):
        out.append(("wrong type", WRONG_TYPE, True))
        out.append(("empty list", type(v)() if isinstance(v, list) else (), True))
        return out
    if callable(v) and not isinstance(v, type):
        out.append(("not callable", 42, True))
    return out


def _paths(v, depth=0):
    """Paths into nested lists/tuples/dicts (two levels): () for v itself."""
    yield ()
    if depth >= 2:
        return
    if isinstance(v, (list, tuple)) and len(v) <= 8:
        for i, x in enumerate(v):
            for p in _paths(x, depth + 1):
                yield (i, *p)
    elif isinstance(v, dict) and len(v) <= 8 and all(isinstance(k, str) for k in v):
        for k, x in v.items():
            for p in _paths(x, depth + 1):
                yield (k, *p)


def _get(v, path):
    for p in path:
        v = v[p]
    return v


def _put(v, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(v, dict):
        out = dict(v)
        out[head] = _put(v[head], rest, new)
        return out
    items = list(v)
    items[head] = _put(items[head], rest, new)
    if isinstance(v, tuple):
        return type(v)(*items) if hasattr(v, "_fields") else tuple(items)
    return items


def _path_label(label, path):
    return label + "".join(f"[{p!r}]" for p in path)


@dataclass
class Spoiled:
    kind: str
    where: str  # the argument (and the place inside it)
    must: bool
    args: list
    kwargs: dict


def _slot_get(call: Call, slot):
    return call.args[slot] if isinstance(slot, int) else call.kwargs[slot]


def _with_slot(call: Call, slot, value) -> tuple[list, dict]:
    args, kwargs = list(call.args), dict(call.kwargs)
    if isinstance(slot, int):
        args[slot] = value
    else:
        kwargs[slot] = value
    return args, kwargs


def spoilings(call: Call) -> list[Spoiled]:
    """Every spoiled version of a valid call: one argument (or one place inside it) changed at a time."""
    out = []
    rows: dict[int, list[tuple[object, tuple]]] = {}
    for label, slot in call.params:
        value = _slot_get(call, slot)
        for path in _paths(value):
            leaf = _get(value, path)
            for kind, bad, must in _leaf_mutations(leaf, label):
                args, kwargs = _with_slot(call, slot, _put(value, path, bad))
                out.append(Spoiled(kind, _path_label(label, path), must, args, kwargs))
            if _is_array(leaf) and _numeric(leaf) and leaf.ndim >= 1 and leaf.shape[0] > 1:
                rows.setdefault(int(leaf.shape[0]), []).append((slot, path, label))
    # mismatched batch sizes: two arrays had the same number of rows; drop the last row of one of them
    for n, places in rows.items():
        if len(places) < 2:
            continue
        for slot, path, label in places:
            value = _slot_get(call, slot)
            leaf = _get(value, path)
            args, kwargs = _with_slot(call, slot, _put(value, path, leaf[: n - 1]))
            out.append(Spoiled("mismatched batch", _path_label(label, path), True, args, kwargs))
    return out



# ----------------------------------------------------------------------------------------------------------------
# Running the calls of one name, in a child process
# ----------------------------------------------------------------------------------------------------------------

class _TimeUp(BaseException):
    """Raised by the alarm: the call went past the door (BaseException, so no ``except Exception`` eats it)."""


def _alarm(signum, frame):
    raise _TimeUp


def _in_package(exc: BaseException) -> bool:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return False
    return os.path.abspath(last.tb_frame.f_code.co_filename).startswith(PACKAGE_DIR + os.sep)


def _has_nan(value, depth=0) -> bool:
    if depth > 3:
        return False
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    if isinstance(value, torch.Tensor):
        return bool(value.is_floating_point() and torch.isnan(value.detach()).any())
    if isinstance(value, np.ndarray):
        return bool(value.dtype.kind == "f" and np.isnan(value).any())
    if isinstance(value, (list, tuple)):
        return any(_has_nan(v, depth + 1) for v in value[:100])
    if isinstance(value, dict):
        return any(_has_nan(v, depth + 1) for v in list(value.values())[:100])
    if hasattr(value, "__dataclass_fields__"):
        return any(_has_nan(getattr(value, f, None), depth + 1) for f in value.__dataclass_fields__)
    return False


def run_call(fn, args, kwargs, limit: float = TIME_LIMIT) -> tuple[str, BaseException | None]:
    """``("returned" | "returned NaN" | "timed out" | "clean" | "obscure", exception)`` for one call, in this
    process, with a limit of CPU time (not wall-clock time: a loaded machine does not change the outcome)."""
    try:
        args, kwargs = copy.deepcopy((args, kwargs))
    except Exception:  # noqa: BLE001 - keep the originals when they cannot be copied
        pass
    torch.manual_seed(0)
    np.random.seed(0)
    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, limit)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(*args, **kwargs)
    except _TimeUp:
        return "timed out", None
    except (ValueError, TypeError) as exc:
        signal.setitimer(signal.ITIMER_PROF, 0)
        return ("clean" if _in_package(exc) else "obscure"), exc
    except Exception as exc:  # noqa: BLE001 - that is what the walk looks for
        signal.setitimer(signal.ITIMER_PROF, 0)
        return "obscure", exc
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
    try:
        return ("returned NaN" if _has_nan(result) else "returned"), None
    except Exception:  # noqa: BLE001 - a result we cannot inspect
        return "returned", None


def describe(exc: BaseException | None) -> str:
    """``"ErrorType at file:line: message"`` for an exception."""
    if exc is None:
        return ""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    where = ""
    if last is not None:
        f = last.tb_frame.f_code.co_filename
        shown = os.path.relpath(f, os.path.dirname(PACKAGE_DIR)) if f.startswith(PACKAGE_DIR) else os.path.basename(f)
        where = f" at {shown}:{last.tb_lineno}"
    return f"{type(exc).__name__}{where}: {str(exc)[:160]}".replace("\n", " ")


def _child(call: Call, spoiled: list[Spoiled], start: int, out: int) -> None:
    """In the child: run the valid call (``start == -1``) and then the spoiled calls from ``start``, writing one line
    ``index<TAB>status<TAB>description`` per call; end the process after a call that ran out of time."""
    try:
        for i in range(start, len(spoiled)):
            if i == -1:
                status, exc = run_call(call.fn, call.args, call.kwargs, limit=BASE_TIME_LIMIT)
            else:
                status, exc = run_call(call.fn, spoiled[i].args, spoiled[i].kwargs)
            os.write(out, f"{i}\t{status}\t{describe(exc)}\n".encode())
            if status == "timed out" or (i == -1 and status in ("clean", "obscure")):
                break
    except BaseException as exc:  # noqa: BLE001 - SystemExit and the like: report and end
        os.write(out, f"{i}\tobscure\t{describe(exc)}\n".encode())
    finally:
        os._exit(0)


def _read_child(pid: int, read: int, first: int) -> dict[int, tuple[str, str]]:
    """The lines a child writes, as ``{index: (status, description)}``; a child that stays silent for longer than
    :data:`WALL_LIMIT` is killed and its current call counted as timed out, one that dies as an obscure error."""
    got: dict[int, tuple[str, str]] = {}
    buffer = b""
    expected = first
    with os.fdopen(read, "rb", buffering=0) as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], WALL_LIMIT)
            if not ready:
                os.kill(pid, signal.SIGKILL)
                got[expected] = ("timed out", f"no answer after {WALL_LIMIT:.0f} s of wall-clock time")
                break
            chunk = pipe.read(65536)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                index, status, what = line.decode().split("\t", 2)
                got[int(index)] = (status, what)
                expected = int(index) + 1
    _, code = os.waitpid(pid, 0)
    if expected not in got and not any(s == "timed out" for s, _ in got.values()) and code != 0:
        got[expected] = ("obscure", f"the process died (wait status {code})")
    return got


def outcomes(call: Call, spoiled: list[Spoiled]) -> dict[int, tuple[str, str]] | None:
    """``{index: (status, description)}`` for every spoiled call, or ``None`` when the valid call does not return
    (an example that depends on state: there is nothing to compare with)."""
    results: dict[int, tuple[str, str]] = {}
    start = -1  # the valid call first: it fills the dataset cache, so that spoiled calls run as far as in a warm one
    while start < len(spoiled):
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            _child(call, spoiled, start, write)
        os.close(write)
        got = _read_child(pid, read, start)
        if start == -1 and got.get(-1, ("obscure",))[0] in ("clean", "obscure"):
            return None
        results.update(got)
        start = max(max(got), start) + 1 if got else start + 1
    results.pop(-1, None)
    return results


def problems(call: Call, accepted: Callable[[tuple[str, str, str]], bool] = lambda key: False
             ) -> list[tuple[tuple[str, str, str], str]]:
    """The spoiled calls of ``call`` that fail the bar, as ``((name, argument, kind), what happened)``; ``accepted``
    says which spoilings are valid input for the name."""
    spoiled = [s for s in spoilings(call) if not accepted((call.name, s.where, s.kind))]
    results = outcomes(call, spoiled)
    if results is None:
        return []
    found = []
    for i, s in enumerate(spoiled):
        status, what = results.get(i, ("obscure", "the process gave no answer"))
        key = (call.name, s.where, s.kind)
        returned = status.startswith("returned") or status == "timed out"
        if status == "obscure":
            found.append((key, "obscure error: " + what))
        elif returned and s.must is True:
            found.append((key, "returned without error" if status != "timed out" else "ran past the time limit"))
        elif status == "returned NaN" and s.must == NO_NAN:
            found.append((key, "returned NaN without error"))
    return found


def main(accepted: Callable[[tuple[str, str, str]], bool] = lambda key: False) -> None:
    """Print the walk's failures (``'name': ('argument: kind', ...)``) and, on stderr, what each one did."""
    import argparse
    import collections
    import tempfile

    parser = argparse.ArgumentParser(description="Print the public API walk's failures.")
    parser.add_argument("--only", nargs="*", default=[], metavar="PREFIX",
                        help="walk only the names that start with one of these (e.g. mmcourse.reasoning)")
    parser.add_argument("--missing", action="store_true", help="list the names that have no valid call instead")
    options = parser.parse_args()
    os.chdir(tempfile.mkdtemp())
    chosen = [n for n in public_names() if not options.only or n.startswith(tuple(options.only))]
    if options.missing:
        print("\n".join(n for n in chosen if not valid_calls(n) and not _is_record(public_names()[n])))
        return
    gaps = collections.defaultdict(list)
    for n in chosen:
        for c in valid_calls(n):
            for key, what in problems(c, accepted):
                gaps[key[0]].append(f"{key[1]}: {key[2]}")
                print("#", key, what, file=sys.stderr)
    for n, entries in gaps.items():
        print(f"    {n!r}: (")
        for e in entries:
            print(f"        {e!r},")
        print("    ),")
