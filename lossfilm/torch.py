"""PyTorch support (``pip install 'lossfilm[torch]'``): film your own ``nn.Module``.

Record the run with :class:`lossfilm.Recorder` (it takes the module
itself), then evaluate the landscape with :class:`TorchLoss`, which runs
the model at many grid nodes per call (``torch.func.functional_call`` under
``torch.vmap``, no gradients, float32, on ``device=``)::

    import lossfilm, lossfilm.torch

    with lossfilm.Recorder("trajectory.npz", every=5) as rec:
        for step, (x, y) in enumerate(loader):
            ...  # your training step
            rec.record(model, loss=loss.item(), step=step)
    landscape = lossfilm.Landscape.from_trajectory(
        rec.trajectory, loss_fn=lossfilm.torch.TorchLoss(model, test_loader), samples=2000)
    lossfilm.film("descent", landscape, "descent.mp4")

The code lives in :mod:`lossfilm.training.adapters.torch_model`; this module is its
public name. Importing it needs PyTorch.
"""

try:
    import torch as _torch  # noqa: F401  (fail here, in words, rather than deep inside an evaluation)
except ImportError as exc:  # pragma: no cover - only without the extra
    raise ImportError("lossfilm.torch needs PyTorch: pip install 'lossfilm[torch]' "
                      "(README: installing PyTorch for CPU or GPU)") from exc

from lossfilm.training.adapters.torch_model import TorchEvaluation, TorchPlaneLoss, TorchLoss

__all__ = ["TorchLoss", "TorchEvaluation", "TorchPlaneLoss"]
