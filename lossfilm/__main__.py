import sys

from lossfilm.cli import main

sys.exit(main())
