"""Multi-process training with PyTorch DDP under ``torchrun`` (gloo on CPU, NCCL on GPU).

Without torchrun's environment everything here is a no-op on a single process.
"""

import hashlib
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def setup() -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    if world == 1:
        return 0, 1, torch.device("cuda" if cuda else "cpu")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return dist.get_rank(), world, torch.device("cuda", local) if cuda else torch.device("cpu")


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def wrap(model: torch.nn.Module, ignore: list[str]) -> torch.nn.Module:
    """``model`` in DDP when distributed. Parameters named in ``ignore`` (the aux quantiles,
    which get no gradient from the forward pass and would stall DDP's reduction) are left
    out; ``average_gradients`` keeps them in sync."""
    if not active():
        return model
    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, ignore)
    return DistributedDataParallel(model)


def any_true(flag: bool, device: torch.device) -> bool:
    """True on every rank if ``flag`` is true on any (so all ranks stop together)."""
    if not active():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def average_gradients(params) -> None:
    """All-reduce the gradients of parameters DDP does not see (the aux quantiles)."""
    if not active():
        return
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= dist.get_world_size()


def parameter_digest(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer, in order (equal digests = replicas in sync)."""
    h = hashlib.sha256()
    for name, v in model.state_dict().items():
        h.update(name.encode())
        h.update(v.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def gather_digests(model: torch.nn.Module) -> list[str]:
    """Every rank's ``parameter_digest`` (just this process's without DDP)."""
    digest = parameter_digest(model)
    if not active():
        return [digest]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, digest)
    return out


def cleanup() -> None:
    if active():
        dist.destroy_process_group()
