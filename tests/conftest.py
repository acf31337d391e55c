"""Shared pytest options."""


def pytest_addoption(parser):
    parser.addoption(
        "--regen-images", action="store_true", default=False,
        help="rewrite the cached reference images in tests/render/elements/images/ instead of comparing with them",
    )
