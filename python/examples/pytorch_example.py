"""A plain PyTorch SAE training loop whose feature density is counted on the activations' own
device (the GPU when there is one) and recorded every N steps; resumable with --resume, which
loads the model checkpoint saved at the last recorded step and the store's state at that step.

    python pytorch_example.py --db runs.sqlite --steps 60
    python pytorch_example.py --db runs.sqlite --steps 100 --resume
"""

import argparse
import os

import torch

from feature_density import Store
from feature_density.tracker import DensityTracker

parser = argparse.ArgumentParser()
parser.add_argument("--db", default="runs.sqlite")
parser.add_argument("--run", default="pytorch-example")
parser.add_argument("--checkpoint", default="sae.pt", help="the model checkpoint, saved at every recorded step")
parser.add_argument("--steps", type=int, default=60)
parser.add_argument("--every", type=int, default=10)
parser.add_argument("--resume", action="store_true")
args = parser.parse_args()

d_in, d_sae = 16, 128
device = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(0)
encoder, decoder = torch.nn.Linear(d_in, d_sae).to(device), torch.nn.Linear(d_sae, d_in).to(device)
parameters = list(encoder.parameters()) + list(decoder.parameters())
optimizer = torch.optim.Adam(parameters, lr=1e-3)
Store(args.db).create(args.run, features=d_sae, exist_ok=True)

with DensityTracker(args.run, db=args.db, every=args.every, resume=args.resume) as tracker:
    if tracker.start > 0:  # the model as it was at the step the metric resumes from
        saved = torch.load(args.checkpoint)
        assert saved["step"] == tracker.start - 1, "the model and metric checkpoints must be of the same step"
        encoder.load_state_dict(saved["encoder"]), decoder.load_state_dict(saved["decoder"])
        optimizer.load_state_dict(saved["optimizer"])
    for step in range(max(tracker.start, 1), args.steps + 1):
        batch = torch.randn(64, d_in, generator=torch.Generator().manual_seed(step)).to(device)
        acts = torch.relu(encoder(batch))
        tracker.update(acts)                                  # counts stay on acts.device
        loss = (decoder(acts) - batch).pow(2).mean() + 3e-3 * acts.abs().sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if tracker.step(step) or step == args.steps:          # sent every N steps
            tracker.flush()                                   # stored before the model says so
            torch.save({"step": step, "encoder": encoder.state_dict(), "decoder": decoder.state_dict(),
                        "optimizer": optimizer.state_dict()}, args.checkpoint + ".partial")
            os.replace(args.checkpoint + ".partial", args.checkpoint)
print(f"run '{args.run}': trained to step {args.steps}; {tracker.vectors} vectors")
