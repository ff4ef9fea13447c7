"""python -m cnnrt --cmake-dir | --include-dir | --library: where the C API lives (for build
scripts); anything else is the `cnnrt` command line."""

import sys

from . import c_api

FLAGS = {"--cmake-dir": c_api.cmake_dir, "--include-dir": c_api.include_dir, "--library": c_api.library_path}

if len(sys.argv) == 2 and sys.argv[1] in FLAGS:
    print(FLAGS[sys.argv[1]]())
else:
    from .cli import main
    sys.exit(main())
