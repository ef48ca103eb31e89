"""Shared test setup: one torch thread (the lockstep search swings wildly with two on 2 cores)."""

import os

import torch

os.environ.setdefault("MUZERO_LITE_QUICK", "1")
torch.set_num_threads(1)
