"""A device this PyTorch or machine cannot use is one line (ConfigError), never an AssertionError traceback."""

import pytest

torch = pytest.importorskip("torch", reason="the PyTorch adapter needs torch (pip install 'lossfilm[torch]')")

from lossfilm.format.errors import ConfigError  # noqa: E402
from lossfilm.torch import TorchLoss  # noqa: E402


def model():
    return torch.nn.Linear(3, 2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU: device='cuda' works here")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda", 1)])
def test_cuda_without_a_gpu_is_one_line(device):
    with pytest.raises(ConfigError, match="TorchLoss: device='cuda.*(built without CUDA|no CUDA GPU)") as info:
        TorchLoss(model(), (torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)), device=device)
    assert "\n" not in str(info.value) and "device='cpu'" in str(info.value)


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has an Apple GPU: device='mps' works")
def test_mps_without_an_apple_gpu_is_one_line():
    with pytest.raises(ConfigError, match="TorchLoss: device='mps', but") as info:
        TorchLoss(model(), (torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)), device="mps")
    assert "\n" not in str(info.value)


def test_a_device_that_is_not_one_is_one_line():
    with pytest.raises(ConfigError, match="is not a PyTorch device") as info:
        TorchLoss(model(), None, device="gpu")
    assert "\n" not in str(info.value)


def test_the_command_line_says_it_in_one_line(tmp_path, monkeypatch, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU: device='cuda' works here")
    import numpy as np

    from lossfilm.cli import main
    from lossfilm.format.trajectory import Trajectory

    Trajectory.from_snapshots([{"weight": np.full((2, 3), float(i)), "bias": np.zeros(2)} for i in range(2)]).save(
        tmp_path / "t.npz")
    (tmp_path / "gpu_loss.py").write_text(
        "import torch\nfrom lossfilm.torch import TorchLoss\n"
        "LOSS = TorchLoss(torch.nn.Linear(3, 2), (torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)), "
        "device='cuda')\n")
    monkeypatch.chdir(tmp_path)
    assert main(["landscape", "t.npz", "--loss", "gpu_loss.py:LOSS"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "device='cuda'" in err and "Traceback" not in err
