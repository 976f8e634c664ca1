from anthropic_otel.record.errors import api_error_type, error_type


class APIStatusError(Exception):
    def __init__(self, body: object) -> None:
        super().__init__("status error")
        self.body = body


class APIConnectionError(Exception):
    pass


class APITimeoutError(APIConnectionError):
    pass


def test_api_body_wins_over_the_exception_class() -> None:
    err = APIStatusError({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert error_type(err) == "overloaded_error"


def test_bare_error_object_body() -> None:
    # Some SDK versions hand the inner error object as `body`.
    assert api_error_type({"type": "rate_limit_error", "message": "slow down"}) == "rate_limit_error"


def test_timeout_before_connection_error() -> None:
    assert error_type(APITimeoutError()) == "timeout"
    assert error_type(APIConnectionError()) == "connection_error"


def test_unparsable_body_falls_back_to_class_name() -> None:
    assert error_type(APIStatusError("<html>bad gateway</html>")) == "APIStatusError"
    assert error_type(ValueError("x")) == "ValueError"
