"""(placeholder until this subcommand lands)"""


def add_arguments(parser):
    pass


def run(args):
    from lossfilm.errors import ConfigError
    raise ConfigError("'still' is not available yet")
