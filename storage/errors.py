"""Errors the storage layer raises. Each message is a sentence a salesperson or an operator understands."""


class ProspectbotError(Exception):
    """Base of every error a user may be shown; str(error) is the sentence to show."""


class NotFound(ProspectbotError):
    pass


class ProspectNotFound(NotFound):
    def __init__(self, message: str = "This prospect no longer exists: someone may have deleted them.") -> None:
        super().__init__(message)


class CampaignNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f'There is no campaign named "{name}".')


class StaleProspect(ProspectbotError):
    """Someone else changed the prospect after the caller read it: nothing was written."""

    def __init__(self, prospect_id: int, current_version: int) -> None:
        super().__init__("Someone else changed this prospect since you opened it. Here is what it looks like now.")
        self.prospect_id = prospect_id
        self.current_version = current_version


class InvalidInput(ProspectbotError):
    pass


class NotAllowed(ProspectbotError):
    """The action is refused for who is asking or for the state things are in; nothing was written."""


class DatabaseUnavailable(ProspectbotError):
    pass


class SchemaOutOfDate(ProspectbotError):
    pass


class SecretKeyMismatch(ProspectbotError):
    pass
