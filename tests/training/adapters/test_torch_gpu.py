"""The PyTorch adapter on a CUDA GPU (tests/gpu_checks.py's checks under pytest); skipped without one.

On a CPU-only machine (CI's CPU wheel of PyTorch) every GPU test here is
skipped with the reason, and the script itself is checked by a small dry run
on the CPU; ``python -m tests.gpu_checks`` runs the same checks in one go on
a CUDA machine and prints the numbers for the README.
"""

import pytest

torch = pytest.importorskip("torch", reason="the PyTorch adapter needs torch (pip install 'lossfilm[torch]')")

from tests import gpu_checks  # noqa: E402

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA GPU visible to PyTorch: the GPU checks need one (untested on GPU)")


def test_the_gpu_script_runs_its_checks_on_the_cpu_as_a_dry_run(monkeypatch, capsys):
    """Where no GPU is lent, the script itself is still checked: every check but the out-of-memory one, small."""
    monkeypatch.setattr(gpu_checks, "SIZES", dict(gpu_checks.SIZES))
    monkeypatch.setattr(gpu_checks, "DEVICE", gpu_checks.DEVICE)
    monkeypatch.setattr(gpu_checks, "NODES", 8)
    assert gpu_checks.main(["--dry-run", "--only", "grid", "--only", "hvp"]) == 0
    printed = capsys.readouterr().out
    assert "dry run on the CPU" in printed and "grid (" in printed and "hvp (" in printed


@needs_cuda
def test_the_grid_on_cuda_matches_the_cpu_at_1_16_and_64_nodes_per_call():
    rows = gpu_checks.grid_nodes_per_call()
    assert set(rows) == {1, 16, 64}
    for row in rows.values():
        assert row["max_rel_diff"] < 1e-4 and row["nodes_per_s"] > 0


@needs_cuda
def test_out_of_memory_halves_the_nodes_per_call_until_it_fits():
    result = gpu_checks.out_of_memory_halving()
    assert result["halved"] and result["settled"] >= 1 and result["max_rel_diff"] < 1e-4


@needs_cuda
def test_hessian_vector_products_on_cuda_match_the_cpu():
    for row in gpu_checks.hessian_vector_products().values():
        assert row["max_rel_diff"] < 1e-3


@needs_cuda
def test_a_resnet_style_model_has_its_nodes_per_second_measured():
    result = gpu_checks.resnet_nodes_per_second()
    assert result["nodes_per_s"][1] > 0 and result["nodes_per_s"][16] > 0
