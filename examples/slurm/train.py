"""One task of examples/slurm/sweep.sbatch: a small SAE on synthetic activations, its feature
density recorded to a node-local store and mirrored to a shared folder.

    python train.py --run l1-1e-3-seed-0 --db /tmp/l1-1e-3-seed-0.sqlite --mirror mirrors --l1 1e-3
"""

import argparse

import torch

from feature_density import DensityRecorder

parser = argparse.ArgumentParser()
parser.add_argument("--run", required=True)
parser.add_argument("--db", required=True, help="the store, on node-local disk")
parser.add_argument("--mirror", required=True, help="the shared folder its mirror is kept in")
parser.add_argument("--mirror-every", type=float, default=60, help="seconds between mirror snapshots")
parser.add_argument("--l1", type=float, default=1e-3)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--steps", type=int, default=2000)
parser.add_argument("--every", type=int, default=50, help="record the density every this many steps")
args = parser.parse_args()

d_in, d_sae, batch = 64, 512, 256
torch.manual_seed(args.seed)
encoder, decoder = torch.nn.Linear(d_in, d_sae), torch.nn.Linear(d_sae, d_in)
optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
fired = torch.zeros(d_sae, dtype=torch.int64)  # the metric's state: exact counts
vectors = 0

with DensityRecorder(args.run, db=args.db, every=args.every, mirror=args.mirror, mirror_every=args.mirror_every) as recorder:
    for step in range(1, args.steps + 1):
        x = torch.randn(batch, d_in)
        acts = torch.relu(encoder(x))
        loss = (decoder(acts) - x).pow(2).mean() + args.l1 * acts.abs().sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        fired += (acts.detach() > 0).sum(dim=0)
        vectors += batch
        recorder.record(step, fired, vectors)
print(f"run '{args.run}': {args.steps} steps, {vectors} vectors")
