# In the sandboxes src/learnflow/sandbox/rpc.py is shipped as the module _lf_rpc: check its users against it.
from learnflow.sandbox.rpc import *
