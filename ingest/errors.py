"""The one error type for problems a user can cause while ingesting a file."""


class IngestError(Exception):
    """A file cannot be ingested; str() is one line naming the file and the reason."""

    def __init__(self, source: object, reason: str):
        super().__init__(str(source), reason)
        self.source = str(source)
        self.reason = " ".join(str(reason).split())  # one line, whatever the underlying library said

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


class StoreError(Exception):
    """The Chroma database cannot be used as asked (missing collection, unreachable server, bad --db); one line."""


class NoDatabaseError(StoreError):
    """An embedded --db with no database in it, opened by a command that must not create one (Store.open with
    create=False); its own class so that `ingest` with nothing to write can tell it from a --db it cannot use."""
