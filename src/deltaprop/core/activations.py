"""Activation functions f and their derivatives f', as registered pairs.

Every activation maps the net input ``z`` of a block to its activation
``a = f(z)`` and, going backwards, turns dJ/da into dJ/dz. For the elementwise
functions that is the seed's ``delta = f'(z) * (...)``; softmax, the one
activation that is not elementwise, applies its Jacobian instead.

Each derivative is written in whatever form is cheapest and most accurate:
sigmoid's f'(z) = a (1 - a) and tanh's f'(z) = 1 - a^2 reuse the activation the
forward pass already computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import expit

__all__ = [
    "Activation",
    "get_activation",
    "register_activation",
    "available_activations",
]

ArrayFn = Callable[[np.ndarray], np.ndarray]
DerivFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Activation:
    """An activation f with its derivative f'.

    Parameters
    ----------
    name : str
        The name it is registered and saved under.
    f : callable
        ``f(z) -> a``, elementwise, for ``z`` of shape (n_samples, n_units).
    fprime : callable
        ``fprime(z, a) -> f'(z)``, elementwise; ``a`` is ``f(z)``, passed so that
        derivatives such as sigmoid's a (1 - a) need not recompute it.
    output_only : bool
        True for activations that may only be used on output blocks (softmax).
    elementwise : bool
        False for softmax, whose Jacobian couples the units of a block.
    init : {"glorot", "he"}
        The uniform initialisation family of a block of these units: Glorot's
        sqrt(6 / (fan_in + fan_out)) or He's sqrt(6 / fan_in) (relu-like units).
    kinked : bool
        True where f' jumps (relu's kink at 0): gradient checking counts the
        pre-activations near a kink, where finite differences are not derivatives.
    onnx : tuple (op_type, attributes) or None
        The ONNX operator computing f; None: the activation cannot be exported.
    kernel_code : int or None
        Its number in the compiled online kernel (:mod:`deltaprop.core.compiled`);
        None: networks using it take the NumPy path.
    formula, derivative : str
        f(z) and f'(z) as a reader sees them (explain pages, ``deltaprop explain``).
    """

    name: str
    f: ArrayFn
    fprime: DerivFn | None
    output_only: bool = False
    elementwise: bool = True
    f_into: Callable | None = None  # f_into(z, out): a = f(z) written into out (a buffer other than z)
    fprime_into: Callable | None = None  # fprime_into(z, a, out): f'(z) written into out
    init: str = "glorot"
    kinked: bool = False
    onnx: tuple | None = None
    kernel_code: int | None = None
    formula: str = "f(z)"
    derivative: str = "f'(z)"

    def init_bound(self, fan_in: float, fan_out: float) -> float:
        """Half-width of the uniform initialisation of a block of these units."""
        if self.init == "he":
            return float(np.sqrt(6.0 / fan_in))  # He: sqrt(6 / fan_in)
        return float(np.sqrt(6.0 / (fan_in + fan_out)))  # Glorot: sqrt(6 / (fan_in + fan_out))

    def backward(self, z: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        """dJ/dz from dJ/da = ``g``: f'(z) * g, or softmax's Jacobian-vector product."""
        if self.elementwise:
            return self.fprime(z, a) * g
        # softmax: da_i/dz_k = a_i (1[i=k] - a_k), so dJ/dz_k = a_k (g_k - sum_i g_i a_i)
        return a * (g - np.sum(g * a, axis=1, keepdims=True))

    def forward_into(self, z: np.ndarray, out: np.ndarray) -> np.ndarray:
        """a = f(z) into ``out`` without allocating (the training hot path)."""
        if self.f_into is not None:
            self.f_into(z, out)
        else:
            out[...] = self.f(z)
        return out

    def backward_into(self, z: np.ndarray, a: np.ndarray, g: np.ndarray, out: np.ndarray,
                      scratch: np.ndarray) -> np.ndarray:
        """out = f'(z) * g without allocating; ``out`` may be ``g``; ``scratch`` is a same-shape buffer."""
        if not self.elementwise:
            out[...] = self.backward(z, a, g)
        elif self.fprime_into is not None:
            fp = self.fprime_into(z, a, scratch)
            if fp is None:  # identity: f' = 1
                if out is not g:
                    out[...] = g
            else:
                np.multiply(g, fp, out=out)
        else:
            np.multiply(g, self.fprime(z, a), out=out)
        return out


# --- the built-in pairs -----------------------------------------------------------


def _sigmoid(z):
    return expit(z)  # 1 / (1 + e^-z), computed without overflow for any z


def _sigmoid_prime(z, a):
    return a * (1.0 - a)  # f'(z) = f(z) (1 - f(z))


def _tanh_prime(z, a):
    return 1.0 - a * a  # f'(z) = 1 - tanh(z)^2


def _identity(z):
    return z.copy()


def _identity_prime(z, a):
    return np.ones_like(z)


def _relu(z):
    return np.maximum(z, 0.0)


def _relu_prime(z, a):
    return (z > 0).astype(z.dtype)


_LEAK = 0.01


def _leaky_relu(z):
    return np.where(z > 0, z, z * _LEAK)


def _leaky_relu_prime(z, a):
    return np.where(z > 0, 1.0, _LEAK).astype(z.dtype)


def _softplus(z):
    return np.logaddexp(0.0, z).astype(z.dtype, copy=False)  # log(1 + e^z), stable


def _softplus_prime(z, a):
    return expit(z)  # d/dz log(1 + e^z) = sigmoid(z)


def _elu(z):
    # alpha = 1: z for z > 0, e^z - 1 otherwise; expm1 only sees z <= 0 so never overflows
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))


def _elu_prime(z, a):
    return np.where(z > 0, 1.0, a + 1.0).astype(z.dtype)  # e^z = a + 1 for z <= 0


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))  # shift by the row max: no overflow
    e /= e.sum(axis=1, keepdims=True)
    return e


# --- the same pairs, writing into preallocated buffers (used by the training loop) ---------


def _identity_into(z, out):
    if out is not z:
        np.copyto(out, z)


def _leaky_relu_into(z, out):
    np.multiply(z, _LEAK, out=out)
    np.maximum(z, out, out=out)  # max(z, 0.01 z) is z for z > 0, 0.01 z otherwise


def _elu_into(z, out):
    np.minimum(z, 0.0, out=out)
    np.expm1(out, out=out)
    np.maximum(out, z, out=out)  # e^z - 1 >= z everywhere, with equality at 0


def _softmax_into(z, out):
    np.subtract(z, z.max(axis=1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)


def _identity_prime_into(z, a, out):
    return None  # f' = 1: backward_into passes g through


def _sigmoid_into(z, out):
    # 1 / (1 + e^-z) in four vectorised passes (NumPy's SIMD exp; SciPy's expit is a scalar loop).
    # For z below about -88 (float32) or -709 (float64) e^-z is inf and the quotient exactly 0.
    with np.errstate(over="ignore"):
        np.negative(z, out=out)
        np.exp(out, out=out)
    np.add(out, 1.0, out=out)
    np.reciprocal(out, out=out)


def _tanh_into(z, out):
    np.tanh(z, out=out)


def _relu_into(z, out):
    np.maximum(z, 0.0, out=out)


def _softplus_into(z, out):
    np.logaddexp(0.0, z, out=out)


def _sigmoid_prime_into(z, a, out):
    np.subtract(1.0, a, out=out)
    out *= a
    return out


def _tanh_prime_into(z, a, out):
    np.multiply(a, a, out=out)
    np.subtract(1.0, out, out=out)
    return out


def _relu_prime_into(z, a, out):
    return np.greater(z, 0, out=out, casting="unsafe")


def _leaky_relu_prime_into(z, a, out):
    np.greater(z, 0, out=out, casting="unsafe")
    out *= 1.0 - _LEAK
    out += _LEAK
    return out


def _softplus_prime_into(z, a, out):
    return expit(z, out=out)


def _elu_prime_into(z, a, out):
    np.add(a, 1.0, out=out)
    return np.minimum(out, 1.0, out=out)  # 1 for z > 0 (where a + 1 > 1), e^z = a + 1 otherwise


_REGISTRY: dict[str, Activation] = {}
_BUILTIN = (
    Activation("identity", _identity, _identity_prime, f_into=_identity_into, fprime_into=_identity_prime_into,
               onnx=("Identity", {}), kernel_code=0, formula="z", derivative="1"),
    Activation("sigmoid", _sigmoid, _sigmoid_prime, f_into=_sigmoid_into, fprime_into=_sigmoid_prime_into,
               onnx=("Sigmoid", {}), kernel_code=1, formula="1 / (1 + e^-z)", derivative="f(z) (1 - f(z))"),
    Activation("tanh", np.tanh, _tanh_prime, f_into=_tanh_into, fprime_into=_tanh_prime_into,
               onnx=("Tanh", {}), kernel_code=2, formula="tanh(z)", derivative="1 - f(z)^2"),
    Activation("relu", _relu, _relu_prime, f_into=_relu_into, fprime_into=_relu_prime_into, init="he",
               kinked=True, onnx=("Relu", {}), kernel_code=3, formula="max(z, 0)", derivative="1 if z > 0 else 0"),
    Activation("leaky_relu", _leaky_relu, _leaky_relu_prime, f_into=_leaky_relu_into,
               fprime_into=_leaky_relu_prime_into, init="he", kinked=True, onnx=("LeakyRelu", {"alpha": _LEAK}),
               kernel_code=4, formula="z if z > 0 else 0.01 z", derivative="1 if z > 0 else 0.01"),
    Activation("softplus", _softplus, _softplus_prime, f_into=_softplus_into, fprime_into=_softplus_prime_into,
               onnx=("Softplus", {}), kernel_code=5, formula="log(1 + e^z)", derivative="1 / (1 + e^-z)"),
    Activation("elu", _elu, _elu_prime, f_into=_elu_into, fprime_into=_elu_prime_into, init="he",
               onnx=("Elu", {"alpha": 1.0}), kernel_code=6, formula="z if z > 0 else e^z - 1",
               derivative="1 if z > 0 else f(z) + 1"),
    Activation("softmax", _softmax, None, output_only=True, elementwise=False, f_into=_softmax_into,
               onnx=("Softmax", {"axis": 1}), kernel_code=7, formula="e^z_i / sum_k e^z_k",
               derivative="a_i (1[i=k] - a_k)"),
)
for _act in _BUILTIN:
    _REGISTRY[_act.name] = _act
BUILTIN_NAMES = tuple(a.name for a in _BUILTIN)


def _canonical(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register_activation(name: str, f: ArrayFn, fprime: DerivFn, *, overwrite: bool = False,
                        init: str = "glorot", kinked: bool = False, onnx: tuple | None = None,
                        formula: str | None = None, derivative: str | None = None) -> Activation:
    """Register a user-defined activation pair under ``name``.

    Parameters
    ----------
    name : str
        Name used in ``hidden=``/``output=`` and saved in model files.
    f : callable
        ``f(z) -> a``, elementwise on an ndarray of shape (n_samples, n_units).
    fprime : callable
        ``fprime(z, a) -> f'(z)``, elementwise, same shape.
    overwrite : bool, default False
        Allow replacing an existing user activation (built-ins are never replaced).
    init : {"glorot", "he"}, default "glorot"
        Initialisation family of blocks of these units.
    kinked : bool, default False
        True if f' jumps somewhere (gradient checking then reports points near 0).
    onnx : tuple (op_type, attributes), optional
        An ONNX operator that computes f, so that networks using it can be exported.
    formula, derivative : str, optional
        How explanations write f(z) and f'(z); default ``name(z)`` and ``name'(z)``.

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        If ``name`` is a built-in, or already registered and ``overwrite`` is False.
    TypeError
        If ``f`` or ``fprime`` is not callable.

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> act = dp.register_activation("cube", lambda z: z**3, lambda z, a: 3 * z**2, overwrite=True)
    >>> act.name
    'cube'
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"activation name must be a non-empty string, got {name!r}")
    if not callable(f) or not callable(fprime):
        raise TypeError("register_activation needs callables f(z) and fprime(z, a)")
    key = _canonical(name)
    if init not in ("glorot", "he"):
        raise ValueError(f"init must be 'glorot' or 'he', got {init!r}")
    if onnx is not None and not (isinstance(onnx, tuple) and len(onnx) == 2 and isinstance(onnx[0], str)
                                 and isinstance(onnx[1], dict)):
        raise ValueError(f"onnx must be a tuple (op_type, attributes dict) or None, got {onnx!r}")
    if key in BUILTIN_NAMES:
        raise ValueError(f"activation {key!r} is built in and cannot be replaced")
    if key in _REGISTRY and not overwrite:
        raise ValueError(f"activation {key!r} is already registered; pass overwrite=True to replace it")
    act = Activation(key, f, fprime, init=init, kinked=bool(kinked), onnx=onnx,
                     formula=formula or f"{key}(z)", derivative=derivative or f"{key}'(z)")
    _REGISTRY[key] = act
    return act


def get_activation(name: str | Activation) -> Activation:
    """Look up an activation by name (case-insensitive, '-' or '_').

    Raises
    ------
    ValueError
        If no activation of that name is registered; the message lists the known ones.
    """
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str):
        raise ValueError(f"activation must be a name such as 'sigmoid', got {type(name).__name__} {name!r}")
    key = _canonical(name)
    try:
        return _REGISTRY[key]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {', '.join(sorted(_REGISTRY))}"
        ) from None


def available_activations() -> list[str]:
    """Names of every registered activation, built-in and user-defined."""
    return sorted(_REGISTRY)
