"""The stream contract: the one place the data pipeline and the socket servers meet in code.

Group names, the payload and frame of every server message type (encoded once), publishing,
the snapshot store and the watch set. Both sides import this package; it imports neither
(an import contract in pyproject.toml checks that), only Django, Channels and Redis.
"""
