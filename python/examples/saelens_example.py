"""Train a small SAE with SAELens on synthetic data (CPU, no model download) and record its
feature density into a store with one line, then compare the store with SAELens' own
sparsity.safetensors.

    python saelens_example.py --db runs.sqlite --out saelens-output
"""

import argparse

import torch
from sae_lens import LoggingConfig, StandardTrainingSAEConfig
from sae_lens.synthetic.synthetic_model import SyntheticModelConfig
from sae_lens.synthetic.synthetic_sae_runner import SyntheticSAERunner, SyntheticSAERunnerConfig

from feature_density import Store, saelens

parser = argparse.ArgumentParser()
parser.add_argument("--db", default="runs.sqlite")
parser.add_argument("--run", default="saelens-synthetic")
parser.add_argument("--out", default="saelens-output")
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--window", type=int, default=100, help="SAELens' feature_sampling_window")
parser.add_argument("--every", type=int, default=10)
args = parser.parse_args()

d_sae, batch = 512, 256
torch.manual_seed(0)
config = SyntheticSAERunnerConfig(
    synthetic_model=SyntheticModelConfig(num_features=256, hidden_dim=32, seed=1),
    sae=StandardTrainingSAEConfig(d_in=32, d_sae=d_sae, l1_coefficient=50.0),
    training_samples=args.steps * batch, batch_size=batch, feature_sampling_window=args.window, lr=3e-3,
    checkpoint_path=None, output_path=args.out, eval_samples=0, run_final_eval=False,
    n_batches_for_norm_estimate=10, logger=LoggingConfig(log_to_wandb=False),
)
runner = SyntheticSAERunner(config)
store = Store(args.db)
store.create(args.run, features=d_sae, exist_ok=True)

# The integration: one line to attach, one to close.
with saelens.attach(runner.sae, args.run, db=args.db, every=args.every):
    runner.run()

window = store.window(args.run, args.steps - args.window, args.steps)
dead = store.dead(args.run, args.steps - args.window, args.steps)["features"]
print(f"run '{args.run}': {window['vectors']} vectors in SAELens' last window (steps {window['from']} to "
      f"{window['to']}), {len(dead)} of {d_sae} features dead; SAELens wrote {args.out}/sparsity.safetensors")
