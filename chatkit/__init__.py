"""chatkit: learn TCP network programming through a real multi-client IRC chat server.

The package is a sans-I/O core (protocol, sessions, rooms, commands) that never touches a
socket; the ``backends`` package drives it with threads, ``selectors`` or ``asyncio``.
"""

__version__ = "0.1.0"
