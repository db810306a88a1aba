"""Caps on reading one list file, by default (SCREENING_LIST_* settings override them).

Apart from config.py, which imports pydantic-settings: the processes that parse list files
take their caps from here without that import (about 0.17 s of CPU each, at every start).
Files come from the network, hostile until parsed; the largest real publication (OFAC
SDN_ADVANCED.XML, about 120 MB) sets the floor.
"""

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_STRING_CHARS = 100_000
MAX_ROWS = 1_000_000
MAX_COLUMNS = 256
PARSE_SECONDS = 120.0
PARSE_MEMORY_BYTES = 2 * 1024 * 1024 * 1024
