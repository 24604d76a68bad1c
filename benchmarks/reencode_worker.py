"""``python -m benchmarks.reencode_worker <celery worker arguments>``: a Celery worker of the
portal whose processing cleans images by re-encoding them (``rendering.clean_original``), as it
did before lossless cleaning, so the processing benchmark can measure both paths in one run.

The swap lives in this benchmark process only (the lossless types emptied before the worker
forks its pool); the product has no setting for it.
"""

import sys

from celery.__main__ import main

from files.pipeline import cleaning

if __name__ == "__main__":
    cleaning.LOSSLESS_TYPES = ()
    sys.argv = ["celery", *sys.argv[1:]]
    main()
