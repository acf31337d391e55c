"""The PyTorch adapter's tests run PyTorch on one thread.

Their models are tiny (tens to thousands of parameters), so PyTorch's
intra-op threads only wait on each other; on a 2-core machine that is busy
with other work, their spinning made these tests three times slower. No test
here checks a thread count; the cluster tests (tests/test_cluster.py) still
compare a client on PyTorch's default threads with one-thread workers.
"""

import sys

import pytest


@pytest.fixture(autouse=True)
def one_torch_thread():
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
