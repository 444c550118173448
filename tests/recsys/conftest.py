import pytest


@pytest.fixture(scope="session")
def ml100k(data_root):
    from recsys import load_interactions

    return load_interactions("ml-100k", data_root)
