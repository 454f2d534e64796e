"""Figure: a discriminator trained against a frozen generator approaches D* (Goodfellow et al. 2014, Prop. 1).

    python tools/figure_optimal_d.py                      # writes docs/images/optimal_discriminator.png

p_data is ``jaxgen.data.toy.mixture1d`` (N(-2, 0.5^2) + N(2, 0.5^2)) / 2; G is frozen at
``G(z) = 1.5 z + 0.5``, ``z ~ N(0, 1)``, so p_g = N(0.5, 1.5^2). A small MLP D is trained on fresh
samples of both (the settings of ``tests/research/test_optimal_discriminator.py``). Left: the densities,
D* and the trained D. Right: the minibatch estimate of V(G, D) during training against
``-log 4 + 2 JSD(p_data || p_g)``, the value at D* (Theorem 1). Prints the numbers.
"""

from __future__ import annotations

import argparse
import math
import os

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from jaxgen.data import toy
from jaxgen.research import optimal_discriminator as od

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "images", "optimal_discriminator.png"))
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    p_data, p_g = toy.mixture1d(), od.affine_generator(1.5, 0.5)
    model = od.MLPDiscriminator((32, 32))
    params, values = od.train_discriminator(jax.random.key(args.seed), model, p_data.sample, p_g.sample,
                                            steps=args.steps, batch_size=args.batch_size,
                                            learning_rate=args.learning_rate)
    x = jnp.linspace(-8.0, 8.0, 2001)[:, None]
    d_logits = model.apply({"params": params}, x)
    d_star_logits = od.optimal_logits(p_data.log_prob, p_g.log_prob, x)
    v_trained = float(od.value(d_logits, p_data.log_prob, p_g.log_prob, x))
    v_star = float(od.value(d_star_logits, p_data.log_prob, p_g.log_prob, x))
    jsd = float(od.jsd(p_data.log_prob, p_g.log_prob, x))
    bound = -math.log(4.0) + 2.0 * jsd
    mass = 0.5 * (jnp.exp(p_data.log_prob(x)) + jnp.exp(p_g.log_prob(x))) > 0.02
    max_err = float(jnp.max(jnp.where(mass, jnp.abs(jax.nn.sigmoid(d_logits) - jax.nn.sigmoid(d_star_logits)), 0.0)))
    print(f"JSD = {jsd:.6f}  -log4 + 2 JSD = {bound:.6f}  V(G, D*) = {v_star:.6f}  V(G, D_trained) = {v_trained:.6f}")
    print(f"max |D - D*| where (p_data + p_g)/2 > 0.02: {max_err:.4f}")

    xs = np.asarray(x[:, 0])
    fig, (ax, ax_v) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    ax.fill_between(xs, np.exp(p_data.log_prob(x)), alpha=0.3, color="tab:blue", label="$p_{data}$")
    ax.fill_between(xs, np.exp(p_g.log_prob(x)), alpha=0.3, color="tab:orange", label="$p_g$: $G(z) = 1.5z + 0.5$")
    ax.plot(xs, jax.nn.sigmoid(d_star_logits), "k", lw=2, label="$D^* = p_{data} / (p_{data} + p_g)$")
    ax.plot(xs, jax.nn.sigmoid(d_logits), "--", color="tab:red", lw=2,
            label=f"trained D (max |D - D*| = {max_err:.3f} where mass)")
    ax.set(xlim=(-6, 6), ylim=(0, 1.3), xlabel="x", ylabel="density  /  D(x)")
    ax.legend(loc="upper center", ncol=2, fontsize=8, framealpha=0.9)
    ax.set_title(f"$V(G, D_{{trained}})$ = {v_trained:.4f},  $V(G, D^*)$ = {v_star:.4f},  "
                 f"$-\\log 4 + 2\\,JSD$ = {bound:.4f}", fontsize=10)

    window = 50
    smooth = np.convolve(np.asarray(values), np.ones(window) / window, mode="valid")
    ax_v.plot(np.asarray(values), color="tab:red", alpha=0.25, lw=0.5, label="minibatch $-$d_loss")
    ax_v.plot(np.arange(window - 1, len(values)), smooth, color="tab:red", label=f"mean of {window} steps")
    ax_v.axhline(bound, color="k", label=f"$-\\log 4 + 2\\,JSD$ = {bound:.4f}")
    ax_v.axhline(-math.log(4.0), color="gray", ls=":", label="$-\\log 4$ (p_g = p_data)")
    ax_v.set(xlabel="D step (G frozen)", ylabel="V(G, D)", ylim=(-1.45, -0.8))
    ax_v.legend(loc="lower right", fontsize=8)
    ax_v.set_title(f"JSD($p_{{data}}$ ‖ $p_g$) = {jsd:.4f} nats", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
