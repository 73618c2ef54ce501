"""IOTPay SANDBOX: a stand-in for IOTPay's POS semi-integration gateway with virtual PAX terminals.

Test use only; it is not IOTPay. See README.md in this folder.
"""

from .config import SandboxConfig
from .server import RunningSandbox, run_server, start_sandbox

__all__ = ["RunningSandbox", "SandboxConfig", "run_server", "start_sandbox"]
