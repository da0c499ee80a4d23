"""A training loop with the reference torchmetrics metric, recorded into a store and resumable,
on one process or under torch.distributed (launch with torchrun, or set RANK, WORLD_SIZE,
MASTER_ADDR and MASTER_PORT):

    python torchmetrics_example.py --db runs.sqlite
    torchrun --nproc-per-node 2 torchmetrics_example.py --db runs.sqlite --ranks each

Activations are synthetic and depend only on (step, rank), so any two runs over the same steps
see the same data. With --log FILE, rank 0 appends the synced state and ``compute()`` at every
recorded step (JSON lines), for comparison with the store.
"""

import argparse
import datetime
import json
import os
import time

import torch

from feature_density import Store
from feature_density.torchmetrics import MetricRecorder, restore
from feature_density_metric import FeatureDensityMetric, synthetic_activations

parser = argparse.ArgumentParser()
parser.add_argument("--db", default="runs.sqlite")
parser.add_argument("--run", default="torchmetrics-example")
parser.add_argument("--features", type=int, default=64)
parser.add_argument("--steps", type=int, default=40)
parser.add_argument("--every", type=int, default=2)
parser.add_argument("--ranks", choices=["each", "zero"], default="each")
parser.add_argument("--pause", type=float, default=0.0, help="seconds per step (to leave time for a kill)")
parser.add_argument("--log", help="rank 0 appends the synced state at each recorded step here")
args = parser.parse_args()

distributed = "WORLD_SIZE" in os.environ
if distributed:
    torch.distributed.init_process_group("gloo", timeout=datetime.timedelta(seconds=20))
rank = torch.distributed.get_rank() if distributed else 0
world_size = torch.distributed.get_world_size() if distributed else 1
if rank == 0:
    Store(args.db).create(args.run, features=args.features, exist_ok=True)
if distributed:
    torch.distributed.barrier()


metric = FeatureDensityMetric(args.features)
# Resume: the exact stored state (or 0 when nothing is recorded yet).
start = max(restore(metric, args.run, db=args.db), 1)
with MetricRecorder(metric, args.run, db=args.db, every=args.every, ranks=args.ranks) as recorder:
    for step in range(start, args.steps + 1):
        acts = synthetic_activations(step, rank, args.features)
        metric.update(acts)
        if distributed:  # the ranks train together: a collective every step, as DDP's gradients
            loss = acts.clamp(min=0).mean()
            torch.distributed.all_reduce(loss)
        recorder.record(step)
        if args.log and step % args.every == 0:
            density = metric.compute()  # synced across ranks
            with metric.sync_context():
                counts = metric.neuron_fired_count.tolist()
                vectors = int(metric.num_activation_vectors)
            if rank == 0:
                with open(args.log, "a") as log:
                    log.write(json.dumps({"step": step, "counts": counts, "vectors": vectors,
                                          "density": density.tolist()}) + "\n")
        time.sleep(args.pause)
if distributed:
    torch.distributed.destroy_process_group()
if rank == 0:
    print(f"rank 0: trained steps {start} to {args.steps} of run '{args.run}'")
