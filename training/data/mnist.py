"""Download the four official MNIST files once, hash-checked, into a cache.

The files land in ``<cache>/mnist/`` where ``<cache>`` is, first found:
the ``cache_dir`` argument, the ``LOSSFILM_CACHE`` environment variable,
or the user cache folder ``pooch.os_cache("lossfilm")``. They come from
``base_url``, else ``LOSSFILM_MNIST_URL``, else :data:`DEFAULT_URL`.
A file already in the cache with the right MD5 is not downloaded again;
pooch writes each download to a temporary name and renames it into place
only after its hash matched.

Without internet, download the four ``.gz`` files by hand and pass the
folder holding them as the data spec (``--data DIR``) instead.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from lossfilm.format.errors import DataError

DEFAULT_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"

# MD5s of the official gzip files as published by torchvision; the two t10k
# ones were checked against independently obtained copies.
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

_MANUAL = ("download the four MNIST .gz files by hand into a folder and pass it as --data DIR, "
           "or set LOSSFILM_MNIST_URL to a mirror")


def cache_directory(cache_dir=None):
    """The folder the MNIST files are cached in (not created here).

    Examples
    --------
    >>> str(cache_directory("/tmp/lf")).replace(os.sep, "/")
    '/tmp/lf/mnist'
    """
    if cache_dir is None:
        cache_dir = os.environ.get("LOSSFILM_CACHE")
    if not cache_dir:
        import pooch  # deferred like download_mnist's: only when no cache folder is set

        cache_dir = pooch.os_cache("lossfilm")
    return Path(cache_dir).expanduser().absolute() / "mnist"


def download_mnist(cache_dir=None, base_url=None, progressbar=None):
    """Fetch the four official MNIST ``.gz`` files unless already cached.

    Parameters
    ----------
    cache_dir : str or os.PathLike, optional
        Cache root; see the module docstring for the default.
    base_url : str, optional
        URL of the folder holding the files; defaults to
        ``LOSSFILM_MNIST_URL`` or :data:`DEFAULT_URL`.
    progressbar : bool, optional
        Show a tqdm bar on stderr; by default only when stderr is a terminal.

    Returns
    -------
    pathlib.Path
        The folder holding the four files, ready for ``load_data(str(folder))``.

    Raises
    ------
    DataError
        If a file cannot be downloaded, fails its MD5 check, or the cache
        cannot be written.

    Examples
    --------
    >>> folder = download_mnist()  # doctest: +SKIP
    >>> sorted(p.name for p in folder.iterdir())[0]  # doctest: +SKIP
    't10k-images-idx3-ubyte.gz'
    """
    import pooch  # pooch and requests take ~70 ms to import: only when downloading
    import requests

    pooch.get_logger().setLevel(logging.WARNING)  # pooch logs every download at INFO
    base_url = base_url or os.environ.get("LOSSFILM_MNIST_URL") or DEFAULT_URL
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    folder = cache_directory(cache_dir)
    if progressbar is None:
        progressbar = sys.stderr.isatty()
    for name, md5 in MNIST_MD5.items():
        url = base_url + name
        try:
            pooch.retrieve(url, known_hash=f"md5:{md5}", fname=name, path=folder,
                           downloader=pooch.HTTPDownloader(progressbar=progressbar, timeout=60))
        except requests.RequestException as exc:  # before OSError: it is one
            raise DataError(f"cannot download {url} ({_reason(exc)}); {_MANUAL}") from exc
        except ValueError as exc:  # pooch's hash mismatch
            raise DataError(f"{url} failed its MD5 check (expected {md5}); {_MANUAL}") from exc
        except OSError as exc:
            raise DataError(
                f"cannot write the MNIST cache {folder} ({exc.strerror or exc}); "
                "set LOSSFILM_CACHE to a writable folder"
            ) from exc
    return folder


def _reason(exc):
    """A few words on why a request failed; requests' own messages run to several lines."""
    import requests  # loaded already: only download_mnist calls this

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason}"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "no connection; are you offline?"
    return " ".join(str(exc).split())[:120]
