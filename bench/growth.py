"""stub."""


def main(argv: list[str]) -> None:
    raise NotImplementedError
