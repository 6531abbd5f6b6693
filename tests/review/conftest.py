from tests.api.conftest import account, bearer, meter, owner, token  # noqa: F401
