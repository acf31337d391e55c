"""The MNIST download, served from a local HTTP server: never the internet."""

import functools
import gzip
import hashlib
import http.server
import socket
import struct
import threading

import numpy as np
import pytest

import lossfilm.training.data.mnist
from lossfilm.format.errors import DataError
from lossfilm.training.data.datasets import load_data
from lossfilm.training.data.mnist import cache_directory, download_mnist


def idx_gz(array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.tobytes())


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    hits = None  # list of requested paths, set per server

    def do_GET(self):
        self.hits.append(self.path)
        super().do_GET()

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local server holding four tiny valid MNIST files; yields (url, hits)."""
    served = tmp_path / "served"
    served.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 3, 4)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 6),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 3, 4)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 4),
    }
    md5 = {}
    for name, array in arrays.items():
        payload = idx_gz(array)
        (served / name).write_bytes(payload)
        md5[name] = hashlib.md5(payload).hexdigest()
    monkeypatch.setattr(lossfilm.training.data.mnist, "MNIST_MD5", md5)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("LOSSFILM_CACHE", raising=False)
    monkeypatch.delenv("LOSSFILM_MNIST_URL", raising=False)

    hits = []
    handler = type("Handler", (CountingHandler,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_download_then_load_then_reuse_cache(mirror, tmp_path, monkeypatch):
    url, hits = mirror
    monkeypatch.setenv("LOSSFILM_MNIST_URL", url)
    cache = tmp_path / "cache"
    data = load_data("mnist", seed=0, cache_dir=cache)
    assert data.X_train.shape == (6, 12) and data.X_test.shape == (4, 12)
    assert data.source["split"] == "official" and data.source["spec"] == "mnist"
    assert sorted(hits) == sorted(f"/{name}" for name in lossfilm.training.data.mnist.MNIST_MD5)
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(lossfilm.training.data.mnist.MNIST_MD5)

    again = load_data("mnist", seed=0, cache_dir=cache)
    assert len(hits) == 4  # served from the cache
    np.testing.assert_array_equal(again.X_train, data.X_train)


def test_base_url_argument_and_cache_env(mirror, tmp_path, monkeypatch):
    url, hits = mirror
    monkeypatch.setenv("LOSSFILM_CACHE", str(tmp_path / "envcache"))
    folder = download_mnist(base_url=url.rstrip("/"))  # a missing trailing slash is fine
    assert folder == tmp_path / "envcache" / "mnist" and len(hits) == 4
    # the recorded source rebuilds the data from the cache alone
    source = load_data(folder).source
    assert source["split"] == "official"
    data = load_data("mnist")
    rebuilt = load_data(spec=data.source["spec"], seed=data.source["seed"],
                        test_fraction=data.source["test_fraction"])
    np.testing.assert_array_equal(rebuilt.y_test, data.y_test)
    assert len(hits) == 4


def test_hash_mismatch_is_a_data_error_and_leaves_no_file(mirror, tmp_path, monkeypatch):
    url, _ = mirror
    monkeypatch.setitem(lossfilm.training.data.mnist.MNIST_MD5, "t10k-labels-idx1-ubyte.gz", "0" * 32)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz failed its MD5 check.*--data") as info:
        download_mnist(tmp_path / "cache", base_url=url)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()


def test_unreachable_server_is_a_data_error(mirror, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DataError, match="cannot download .*--data DIR"):
        download_mnist(tmp_path / "cache", base_url=f"http://127.0.0.1:{port}/")


def test_missing_file_on_server_is_a_data_error(mirror, tmp_path):
    url, _ = mirror
    with pytest.raises(DataError, match="cannot download .*404"):
        download_mnist(tmp_path / "cache", base_url=url + "nowhere/")


def test_cache_directory_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSFILM_CACHE", str(tmp_path / "env"))
    assert cache_directory(tmp_path / "arg") == tmp_path / "arg" / "mnist"
    assert cache_directory() == tmp_path / "env" / "mnist"
    monkeypatch.delenv("LOSSFILM_CACHE")
    assert cache_directory().name == "mnist" and "lossfilm" in str(cache_directory())


def test_unwritable_cache_is_a_data_error(mirror, tmp_path):
    url, _ = mirror
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="cannot write the MNIST cache .*LOSSFILM_CACHE"):
        download_mnist(blocker, base_url=url)
