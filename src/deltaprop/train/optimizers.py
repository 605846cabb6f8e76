"""Update rules on the flat parameter vector.

Every optimizer keeps its state in flat arrays of the same layout as ``net.params``,
so it can be checkpointed (``state_dict``) and restored bit for bit.

The rules, with theta the parameters, g = dJ/dtheta and eta the learning rate:

* ``sgd``       theta := theta - eta g                  (UFLDL: W := W - alpha dJ/dW;
                                                          batch size 1 is AIMA's w_ik := w_ik + eta a_i Delta_k)
* ``momentum``  v := mu v + g;  theta := theta - eta v
* ``nesterov``  v := mu v + g;  theta := theta - eta (g + mu v)
* ``adam``      m := b1 m + (1-b1) g;  v := b2 v + (1-b2) g^2;
                theta := theta - eta m_hat / (sqrt(v_hat) + eps)
* ``adamw``     theta := theta (1 - eta decay) on weights only, then the Adam step
* ``rprop``     iRPROP-: per-parameter steps grow by eta+ while g keeps its sign,
                shrink by eta- when it flips (and that g is zeroed); theta := theta - sign(g) step

L-BFGS is not an update rule but a solver over the whole J: :mod:`deltaprop.train.lbfgs`.
``get_optimizer("lbfgs")`` returns it, so ``dp.train(optimizer="lbfgs")`` still reads naturally.

The first five match ``torch.optim``'s SGD (momentum, nesterov), Adam, AdamW and Rprop.

Like optax's transforms, an optimizer has an explicit :meth:`Optimizer.init` that allocates
zeroed state (and resets the step count); ``deltaprop.train`` calls it at the start of every
fresh run on its own copy of the optimizer it was given, so no state leaks from one run into
another, and ``warm_start=True`` continues the state it left.
"""

from __future__ import annotations

import abc
import numbers

import numpy as np

from .lbfgs import LBFGS, check_positive as _positive

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "Adam",
    "AdamW",
    "Rprop",
    "LBFGS",
    "get_optimizer",
    "available_optimizers",
]


def _fraction(value, name: str) -> float:
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value < 1):
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


class Optimizer(abc.ABC):
    """Base class: an update rule with state in flat arrays.

    Parameters
    ----------
    learning_rate : float
        eta (alpha in UFLDL's tutorial). Must be > 0.

    Notes
    -----
    ``init(n, dtype)`` allocates zeroed state and resets the step count ``t``;
    ``step(params, grad, lr)`` updates ``params`` in place. ``full_batch`` optimizers are always given the whole data set.
    An optimizer whose update is linear in ``lr * grad`` may set ``folds_learning_rate``:
    the training loop then has the engine scale the gradient by eta along with its 1/m
    (no extra pass) and calls ``step_scaled(params, lr_times_grad)`` instead of ``step``.
    """

    name = "base"
    full_batch = False
    folds_learning_rate = False
    default_learning_rate = 0.01
    _state_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: float | None = None):
        lr = self.default_learning_rate if learning_rate is None else learning_rate
        self.learning_rate = _positive(lr, "learning_rate")
        self.t = 0  # steps taken
        self.n_params = None  # set by init

    def init(self, n_params: int, dtype, *, decay_mask: np.ndarray | None = None) -> "Optimizer":
        """Allocate zeroed state for ``n_params`` parameters and reset the step count.

        Parameters
        ----------
        n_params : int
        dtype : numpy dtype of the parameters
        decay_mask : ndarray of bool, shape (n_params,), optional
            Which parameters are weights (True) rather than biases; rules that decay
            weights (AdamW) use it, the others ignore it.
        """
        self.n_params = int(n_params)
        for s in self._state_names:
            setattr(self, s, np.zeros(n_params, dtype=dtype))
        self._buf = np.zeros(n_params, dtype=dtype)
        self.t = 0
        return self

    @property
    def n_state_arrays(self) -> int:
        """How many parameter-sized arrays the rule keeps (its state and one buffer)."""
        return len(self._state_names) + 1

    @property
    def initialized(self) -> bool:
        """True once :meth:`init` has allocated the state."""
        return self.n_params is not None

    def count_steps(self, n: int) -> None:
        """Record ``n`` steps taken outside :meth:`step` (the compiled online epoch of plain SGD)."""
        self.t += int(n)

    @abc.abstractmethod
    def step(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        """Update ``params`` in place from the gradient ``grad`` with learning rate ``lr``."""

    def step_scaled(self, params: np.ndarray, lr_times_grad: np.ndarray) -> None:
        """The update from eta g computed by the engine (called only where ``folds_learning_rate``,
        that is, where the update depends on eta and g only through eta g)."""
        self.step(params, lr_times_grad, 1.0)

    # --- checkpointing -------------------------------------------------------------

    def hyperparameters(self) -> dict:
        """The settings (JSON-able), enough to rebuild the optimizer with :func:`get_optimizer`."""
        return {"learning_rate": self.learning_rate}

    def state_dict(self) -> dict:
        """Arrays and counters that, with the hyperparameters, resume the optimizer exactly."""
        state = {"t": self.t}
        for s in self._state_names:
            state[s] = getattr(self, s).copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.t = int(state["t"])
        for s in self._state_names:
            arr = np.asarray(state[s])
            getattr(self, s)[...] = arr

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain gradient descent: theta := theta - eta g (UFLDL's batch rule; AIMA's online rule)."""

    name = "sgd"
    default_learning_rate = 0.1
    folds_learning_rate = True

    def step_scaled(self, params, lr_times_grad):
        self.t += 1
        params -= lr_times_grad  # W := W - alpha dJ/dW, alpha already applied with the 1/m: one pass

    def step(self, params, grad, lr):
        # Not SciPy's BLAS axpy, although it is one pass: NumPy and SciPy each load their own
        # OpenBLAS, and alternating the two thread pools on 2 cores slowed a W1 epoch 10x.
        self.t += 1
        np.multiply(grad, lr, out=self._buf)
        params -= self._buf  # W := W - alpha dJ/dW


class Momentum(Optimizer):
    """Heavy-ball momentum, as torch.optim.SGD(momentum=mu): v := mu v + g; theta -= eta v."""

    name = "momentum"
    default_learning_rate = 0.1
    _state_names = ("velocity",)

    def __init__(self, learning_rate=None, *, momentum: float = 0.9):
        super().__init__(learning_rate)
        self.momentum = _fraction(momentum, "momentum")

    def hyperparameters(self):
        return {**super().hyperparameters(), "momentum": self.momentum}

    def step(self, params, grad, lr):
        v = self.velocity
        if self.t == 0:
            v[...] = grad  # torch starts the buffer at the first gradient
        else:
            v *= self.momentum
            v += grad
        self.t += 1
        self._direction(grad)
        self._buf *= lr
        params -= self._buf

    def _direction(self, grad):
        self._buf[...] = self.velocity


class Nesterov(Momentum):
    """Nesterov momentum, as torch.optim.SGD(momentum=mu, nesterov=True): theta -= eta (g + mu v)."""

    name = "nesterov"

    def _direction(self, grad):
        np.multiply(self.velocity, self.momentum, out=self._buf)
        self._buf += grad


class Adam(Optimizer):
    """Adam (Kingma and Ba), with bias correction, as torch.optim.Adam."""

    name = "adam"
    default_learning_rate = 1e-3
    _state_names = ("m", "v")

    def __init__(self, learning_rate=None, *, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(learning_rate)
        self.beta1 = _fraction(beta1, "beta1")
        self.beta2 = _fraction(beta2, "beta2")
        self.eps = _positive(eps, "eps")

    def hyperparameters(self):
        return {**super().hyperparameters(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def step(self, params, grad, lr):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        m, v, buf = self.m, self.v, self._buf
        m *= b1
        np.multiply(grad, 1 - b1, out=buf)
        m += buf  # m := b1 m + (1 - b1) g
        v *= b2
        np.multiply(grad, grad, out=buf)
        buf *= 1 - b2
        v += buf  # v := b2 v + (1 - b2) g^2
        c1 = 1 - b1**self.t
        c2 = 1 - b2**self.t
        # theta := theta - eta m_hat / (sqrt(v_hat) + eps), with m_hat = m/c1, v_hat = v/c2
        np.sqrt(v, out=buf)
        buf *= 1 / np.sqrt(c2)
        buf += self.eps
        np.divide(m, buf, out=buf)
        buf *= lr / c1
        params -= buf


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), as torch.optim.AdamW.

    Parameters
    ----------
    weight_decay : float, default 0.01
        theta := theta (1 - eta weight_decay) before each Adam step. It is decoupled
        from the gradient and separate from the network's lambda (which is part of J).
        Applied to weights only, never to biases (UFLDL's rule): the training loop
        passes the network's weight mask to :meth:`init`.
    """

    name = "adamw"

    def __init__(self, learning_rate=None, *, weight_decay: float = 0.01, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(learning_rate, beta1=beta1, beta2=beta2, eps=eps)
        self.weight_decay = _positive(weight_decay, "weight_decay", allow_zero=True)
        self.decay_mask = None  # bool array: which parameters decay (None: all); set by init

    def init(self, n_params, dtype, *, decay_mask=None):
        super().init(n_params, dtype, decay_mask=decay_mask)
        if decay_mask is not None and np.shape(decay_mask) != (n_params,):
            raise ValueError(f"decay_mask must have shape ({n_params},), got {np.shape(decay_mask)}")
        self.decay_mask = None if decay_mask is None else np.asarray(decay_mask, dtype=bool)
        return self

    def hyperparameters(self):
        return {**super().hyperparameters(), "weight_decay": self.weight_decay}

    def step(self, params, grad, lr):
        if self.weight_decay:
            if self.decay_mask is None:
                params *= 1 - lr * self.weight_decay
            else:
                params[self.decay_mask] *= 1 - lr * self.weight_decay
        super().step(params, grad, lr)


class Rprop(Optimizer):
    """iRPROP- (Igel and Huesken), a full-batch method, as torch.optim.Rprop.

    Parameters
    ----------
    learning_rate : float, default 0.01
        The initial step size of every parameter.
    eta_minus, eta_plus : float, default 0.5, 1.2
    step_min, step_max : float, default 1e-6, 50
    """

    name = "rprop"
    full_batch = True
    default_learning_rate = 0.01
    _state_names = ("prev", "steps")

    def __init__(self, learning_rate=None, *, eta_minus=0.5, eta_plus=1.2, step_min=1e-6, step_max=50.0):
        super().__init__(learning_rate)
        self.eta_minus = _positive(eta_minus, "eta_minus")
        self.eta_plus = _positive(eta_plus, "eta_plus")
        if not self.eta_minus < 1 < self.eta_plus:
            raise ValueError(f"rprop needs eta_minus < 1 < eta_plus, got {eta_minus!r} and {eta_plus!r}")
        self.step_min = _positive(step_min, "step_min", allow_zero=True)
        self.step_max = _positive(step_max, "step_max")

    def hyperparameters(self):
        return {
            **super().hyperparameters(),
            "eta_minus": self.eta_minus,
            "eta_plus": self.eta_plus,
            "step_min": self.step_min,
            "step_max": self.step_max,
        }

    def step(self, params, grad, lr):
        if self.t == 0:
            self.steps[...] = lr
        self.t += 1
        sign = np.sign(grad * self.prev)
        factor = np.where(sign > 0, self.eta_plus, np.where(sign < 0, self.eta_minus, 1.0))
        self.steps *= factor
        np.clip(self.steps, self.step_min, self.step_max, out=self.steps)
        g = np.where(sign < 0, 0.0, grad).astype(grad.dtype)  # iRPROP-: forget g after a sign flip
        params -= np.sign(g) * self.steps
        self.prev[...] = g


_OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adam, AdamW, Rprop, LBFGS)}


def get_optimizer(name: str | Optimizer | LBFGS, learning_rate: float | None = None,
                  **options) -> Optimizer | LBFGS:
    """An optimizer from its name (``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``,
    ``"adamw"``, ``"rprop"``), the L-BFGS solver (``"lbfgs"``), or either passed through.

    Raises
    ------
    ValueError
        For an unknown name or a bad hyperparameter.
    """
    if isinstance(name, (Optimizer, LBFGS)):
        if learning_rate is not None:
            name.learning_rate = _positive(learning_rate, "learning_rate")
        return name
    if not isinstance(name, str):
        raise ValueError(f"optimizer must be a name or a deltaprop Optimizer, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "").replace("_", "")
    key = {"lbfgsb": "lbfgs", "gd": "sgd"}.get(key, key)
    if key not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(sorted(_OPTIMIZERS))}")
    try:
        return _OPTIMIZERS[key](learning_rate, **options)
    except TypeError as exc:
        raise ValueError(f"optimizer {key!r}: {exc}") from None


def available_optimizers() -> list[str]:
    """Names accepted by :func:`get_optimizer` and ``deltaprop.train(optimizer=...)``."""
    return sorted(_OPTIMIZERS)
