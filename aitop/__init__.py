"""aitop: `top` for AI coding agents.

This module must stay empty of imports: `aitop hook` imports the package on Claude
Code's critical path for every hook event.
"""

__version__ = "0.1.0"
