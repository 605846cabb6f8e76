"""UFLDL's network on XOR: build it, gradient-check it, train it by batch gradient descent.

    python examples/xor.py
"""

import numpy as np

import deltaprop as dp

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])

# UFLDL's tutorial: sigmoid units, J = (1/m) sum 1/2 ||h(x) - y||^2 + lambda/2 sum W^2
net = dp.Network.layered([2, 3, 1], hidden="sigmoid", output="sigmoid", cost="squared", seed=0)
print(net)

report = dp.gradcheck(net, X, Y)
print(report)
if not report.passed:
    raise SystemExit("gradient check failed")

# batch gradient descent: W := W - alpha dJ/dW, b := b - alpha dJ/db, on the flat vector
alpha = 2.0
for epoch in range(1, 3001):
    J, grad = net.cost_and_gradient(X, Y)
    net.params -= alpha * grad
    if epoch in (1, 10, 100, 500, 1000, 2000, 3000):
        print(f"epoch {epoch:5d}  J = {J:.6f}")

h = net.predict(X)
for x, y, out in zip(X, Y, h):
    print(f"x = {x}  y = {y[0]:.0f}  h(x) = {out[0]:.3f}")
print("XOR learned" if np.all((h > 0.5) == (Y > 0.5)) else "XOR not learned yet")
