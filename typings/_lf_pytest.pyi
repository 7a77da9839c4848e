# In the tester sandbox src/learnflow/sandbox/pytest_shim.py is shipped as the module _lf_pytest.
from learnflow.sandbox.pytest_shim import *
