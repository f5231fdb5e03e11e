import os

# Tests never read the developer's own Spacelift variables.
for _name in list(os.environ):
    if _name.startswith("SPACELIFT_") and _name != "SPACELIFT_PYTHON":
        del os.environ[_name]
