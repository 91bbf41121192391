"""One module per AWS behaviour the sandbox simulates; each registers its reconcilers and
request hooks on import (see ``cloudkata.sandbox.control``)."""
