"""The README's record-and-resume loop, with numpy only (no torch): run it, kill it, run it again.

    python numpy_example.py --db runs.sqlite --steps 50
"""

import argparse

import numpy as np

from feature_density import DensityRecorder, NoCheckpointError, Store, load_state

parser = argparse.ArgumentParser()
parser.add_argument("--db", default="runs.sqlite")
parser.add_argument("--run", default="numpy-example")
parser.add_argument("--features", type=int, default=32)
parser.add_argument("--steps", type=int, default=50)
parser.add_argument("--every", type=int, default=5)
args = parser.parse_args()

Store(args.db).create(args.run, features=args.features, exist_ok=True)
counts, vectors = np.zeros(args.features, dtype=np.int64), 0

# Resume: the exact state of the latest checkpoint; start from scratch only if there is none yet.
try:
    state = load_state(args.run, db=args.db)
    counts, vectors, start = state["neuron_fired_count"], state["num_activation_vectors"], state["step"] + 1
except NoCheckpointError:
    start = 1

with DensityRecorder(args.run, db=args.db, every=args.every) as recorder:
    for step in range(start, args.steps + 1):
        rng = np.random.default_rng(step)  # this step's activations: [batch, features]
        activations = rng.standard_normal((16, args.features)) - np.linspace(0, 3, args.features)
        counts += (activations > 0).sum(axis=0)
        vectors += len(activations)
        recorder.record(step, counts, vectors)   # every 5th step; the last one when the block ends
print(f"run '{args.run}': steps {start} to {args.steps}, {vectors} vectors")
