from tests.deploy.conftest import local_stack  # noqa: F401  (the deploy tests' stack factory)
