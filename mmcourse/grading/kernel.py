"""A submission's own Jupyter kernel, and proxies through which the grader calls the objects that live in it.

The student's code only ever runs in the kernel. The grader (this process) sends a call's arguments there, the
kernel calls the student's function and sends back the result, and the checker judges it here, where nothing the
submission did can reach it: redefining a checker, patching ``CheckResult`` or printing ``PASS`` in the notebook
changes the kernel, not the grader. Results come back through ``torch.save`` and are read with ``torch.load(...,
weights_only=True)`` and a short allowlist of NumPy types, so a crafted result cannot run code here either; a result
that is not plain data (a module, a class instance) stays in the kernel and comes back as a :class:`RemoteObject`.
"""
from __future__ import annotations

import ast
import base64
import io
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

__all__ = ["SubmissionKernel", "RemoteObject", "KernelDied", "KernelTimeout", "RemoteError"]

try:
    from numpy._core import multiarray as _multiarray   # NumPy 2
except ImportError:  # NumPy 1.26
    from numpy.core import multiarray as _multiarray

# What a pickled NumPy array or scalar refers to, beyond what torch's weights-only loader takes (torch ≥ 2.5).
_SAFE_GLOBALS = [_multiarray._reconstruct, np.ndarray, np.dtype, _multiarray.scalar, frozenset,
                 set, complex, slice, range,
                 *(type(np.dtype(t)) for t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
                                               np.int64, np.uint8, np.bool_, np.complex64, np.complex128))]

# Defined in the kernel under a random name once the submission has run. ``describe`` sends plain data back
# (``torch.save``) and keeps anything else in the kernel, under a key the grader calls or reads through.
_BOOTSTRAP = r'''
class {name}:
    import base64 as _b64, io as _io
    store = {{}}

    @classmethod
    def describe(cls, value):
        import torch
        if value is NotImplemented:
            return ("notimplemented",)
        key = len(cls.store)
        cls.store[key] = value
        if callable(value):
            return ("handle", key, type(value).__name__, True)
        buffer = cls._io.BytesIO()
        try:
            torch.save(value, buffer)
        except Exception:
            return ("handle", key, type(value).__name__, False)
        return ("value", cls._b64.b64encode(buffer.getvalue()).decode(), key)

    @classmethod
    def call(cls, key, payload):
        import pickle, torch
        args, kwargs, grad = pickle.loads(cls._b64.b64decode(payload))
        try:
            with torch.set_grad_enabled(grad):
                result = cls.store[key](*args, **kwargs)
        except NotImplementedError as err:
            return ("raised", "NotImplementedError", str(err))
        except Exception as err:
            return ("raised", type(err).__name__, str(err))
        return cls.describe(result) + (cls.arguments_after(args),)

    @classmethod
    def arguments_after(cls, args):
        """What the call left in its tensor and module arguments, for the grader's copies (in-place changes)."""
        import torch
        after = []
        for arg in args:
            if isinstance(arg, torch.Tensor):
                after.append(arg.detach().clone())
            elif isinstance(arg, torch.nn.Module):
                after.append({{"state": {{k: v.detach().clone() for k, v in arg.state_dict().items()}},
                               "requires_grad": [p.requires_grad for p in arg.parameters()]}})
            else:
                after.append(None)
        buffer = cls._io.BytesIO()
        torch.save(after, buffer)
        return cls._b64.b64encode(buffer.getvalue()).decode()

    @classmethod
    def attribute(cls, key, name):
        try:
            return cls.describe(getattr(cls.store[key], name))
        except Exception as err:
            return ("raised", type(err).__name__, str(err))

    @classmethod
    def evaluate(cls, expression):
        try:
            return cls.describe(eval(expression, globals()))
        except Exception as err:
            return ("raised", type(err).__name__, str(err))
'''


class KernelDied(RuntimeError):
    """The submission's kernel stopped (e.g. ``os._exit``, a crash, out of memory)."""


class KernelTimeout(TimeoutError):
    """The submission used up its time limit."""


class RemoteError(Exception):
    """An exception raised by the student's code in the kernel; ``str(err)`` is ``"Type: message"``."""


def _remote_exception(type_name: str, message: str) -> Exception:
    """The kernel's exception as the same built-in class where there is one, so that checkers' messages read as
    they do in the notebook ("raised ValueError: ..."); ``NotImplementedError`` marks an exercise not attempted."""
    builtin = __builtins__.get(type_name) if isinstance(__builtins__, dict) else getattr(__builtins__, type_name, None)
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        try:
            return builtin(message)
        except Exception:  # an exception class whose constructor wants other arguments
            pass
    return type(type_name, (RemoteError,), {})(message)


def _apply_in_place(args: tuple, after: list) -> None:
    """Give the grader's tensor and module arguments what the student's function left in its copies, so that a
    checker sees an in-place change (a frozen encoder, a tensor filled in place) as it would in the notebook."""
    with torch.no_grad():
        for arg, new in zip(args, after):
            if isinstance(arg, torch.Tensor) and isinstance(new, torch.Tensor) and new.shape == arg.shape:
                arg.copy_(new)
            elif isinstance(arg, torch.nn.Module) and isinstance(new, dict):
                arg.load_state_dict(new["state"])
                for parameter, flag in zip(arg.parameters(), new["requires_grad"]):
                    parameter.requires_grad_(bool(flag))


class RemoteObject:
    """A stand-in for an object that lives in the submission's kernel: calling it calls the object there, and an
    attribute is read there. The arguments travel by cloudpickle; the result comes back as data or as another proxy."""

    def __init__(self, kernel: SubmissionKernel, key: int, type_name: str, is_callable: bool):
        self._kernel, self._key, self._type_name, self._callable = kernel, key, type_name, is_callable

    def __call__(self, *args, **kwargs):
        if not self._callable:
            raise TypeError(f"'{self._type_name}' object is not callable")
        import cloudpickle   # the checkers pass local functions too (a toy language model's step)

        payload = base64.b64encode(cloudpickle.dumps((args, kwargs, torch.is_grad_enabled()))).decode()
        answer = self._kernel._ask(f"{self._kernel._name}.call({self._key}, {payload!r})")
        if answer[0] != "raised":
            _apply_in_place(args, self._kernel._load(answer[-1]))
            answer = answer[:-1]
        return self._kernel._receive(answer)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._kernel._receive(self._kernel._ask(f"{self._kernel._name}.attribute({self._key}, {name!r})"))

    def __repr__(self) -> str:
        return f"<{self._type_name} in the submission's kernel>"


class SubmissionKernel:
    """A fresh Python kernel in ``cwd`` that runs one submission before a ``deadline`` (``time.monotonic()``).

    Use as a context manager; :meth:`run_cell` executes a cell, :meth:`get` returns what an expression evaluates
    to in the kernel (plain data, or a :class:`RemoteObject`). Both raise :class:`KernelTimeout` past the deadline
    and :class:`KernelDied` if the kernel stops.
    """

    def __init__(self, cwd: Path, deadline: float, kernel_name: str = "python3"):
        self.cwd, self.deadline, self.kernel_name = Path(cwd), deadline, kernel_name
        self._name = f"_grader_{secrets.token_hex(8)}"
        self._bootstrapped = False

    def __enter__(self) -> SubmissionKernel:
        from jupyter_client import KernelManager

        # Local sockets in a private folder (an absolute path: the kernel runs in another directory), not TCP.
        self._sockets = tempfile.mkdtemp(prefix="mmcourse-grade-")
        self.manager = KernelManager(kernel_name=self.kernel_name, transport="ipc", ip=f"{self._sockets}/kernel")
        self.manager.start_kernel(cwd=str(self.cwd))
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=max(1.0, min(60.0, self.deadline - time.monotonic())))
        return self

    def __exit__(self, *exc) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        shutil.rmtree(self._sockets, ignore_errors=True)

    def _drain_outputs(self) -> None:
        """Drop the kernel's outputs: they are not graded, and unread they would pile up in memory."""
        while self.client.iopub_channel.msg_ready():
            self.client.iopub_channel.get_msg(timeout=0.01)

    def _reply(self, msg_id: str) -> dict:
        """Wait for the reply to ``msg_id``, draining the output channel, until the deadline."""
        while True:
            self._drain_outputs()
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.manager.interrupt_kernel()
                raise KernelTimeout("the submission ran past its time limit")
            try:
                reply = self.client.get_shell_msg(timeout=min(0.5, left))
            except Exception:  # queue.Empty: nothing yet
                if not self.manager.is_alive():
                    raise KernelDied("the kernel died") from None
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]

    def run_cell(self, source: str) -> str | None:
        """Execute a cell; ``None`` if it ran, else the error it raised (``"Type: message"``)."""
        # stop_on_error=False: a failing cell must not make the kernel abort the grader's next requests
        content = self._reply(self.client.execute(source, store_history=True, allow_stdin=False,
                                                  stop_on_error=False))
        return None if content["status"] == "ok" else f"{content.get('ename')}: {content.get('evalue')}"

    def _ask(self, expression: str):
        """The tuple that a bootstrap method returns in the kernel."""
        if not self._bootstrapped:
            error = self.run_cell(_BOOTSTRAP.format(name=self._name))
            if error:
                raise KernelDied(f"the grader could not set up the kernel: {error}")
            self._bootstrapped = True
        content = self._reply(self.client.execute("", silent=True, user_expressions={"r": expression},
                                                  stop_on_error=False))
        result = content.get("user_expressions", {}).get("r", {})
        if result.get("status") != "ok":
            raise RemoteError(f"{result.get('ename')}: {result.get('evalue')}")
        return ast.literal_eval(result["data"]["text/plain"])

    def _receive(self, answer: tuple):
        kind = answer[0]
        if kind == "notimplemented":
            return NotImplemented
        if kind == "raised":
            raise _remote_exception(answer[1], answer[2])
        if kind == "handle":
            return RemoteObject(self, answer[1], answer[2], answer[3])
        try:
            return self._load(answer[1])
        except Exception:  # data of a type the allowlist does not take: keep it in the kernel
            return RemoteObject(self, answer[2], "object", False)

    @staticmethod
    def _load(data: str):
        """Plain data saved by ``torch.save`` in the kernel, read without running any code it might name."""
        with torch.serialization.safe_globals(_SAFE_GLOBALS):
            return torch.load(io.BytesIO(base64.b64decode(data)), weights_only=True)

    def get(self, expression: str):
        """The value of ``expression`` in the kernel (see :class:`SubmissionKernel`); the exception it raised
        there, re-raised here, if it fails."""
        return self._receive(self._ask(f"{self._name}.evaluate({expression!r})"))
