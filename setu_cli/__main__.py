import sys

from setu_cli.main import main

sys.exit(main())
